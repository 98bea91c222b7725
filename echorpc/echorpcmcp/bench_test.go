package echorpcmcp_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/echorpcmcp"
	"github.com/labstack/echo/v4"
)

// The cost of a call over MCP next to the same call at the function's URL,
// in process (no network): go test -bench . ./echorpc/echorpcmcp. A tool
// call decodes JSON-RPC, makes the caller's server (its tools from the
// cached schemas) and runs the call through the same pipeline.
func BenchmarkCall(b *testing.B) {
	e := echo.New()
	rpc := echorpc.New(e.Group("/rpc"), echorpc.Config{})
	rpc.Functions(echorpc.Funcs{
		"hello": echorpc.Func(func(c echo.Context, in Greeting) (Hello, error) { return Hello{Text: "Hello " + in.Name + "!"}, nil }),
	})
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"} { // ten tools in all
		rpc.Functions(echorpc.Funcs{name: echorpc.Func(func(c echo.Context, in Greeting) (Hello, error) { return Hello{}, nil })})
	}
	e.Any("/mcp", echorpcmcp.NewHandler(rpc, echorpcmcp.Config{}))
	run := func(b *testing.B, path, body string, mcp bool) {
		for b.Loop() {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if mcp {
				req.Header.Set("Accept", "application/json, text/event-stream")
				req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Hello Ann!") && !strings.Contains(rec.Body.String(), `"tools"`) {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	}
	b.Run("function-url", func(b *testing.B) { run(b, "/rpc/hello", `{"name":"Ann"}`, false) })
	b.Run("mcp-tools-call", func(b *testing.B) {
		run(b, "/mcp", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hello","arguments":{"name":"Ann"}}}`, true)
	})
	b.Run("mcp-tools-list", func(b *testing.B) {
		run(b, "/mcp", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, true)
	})
}
