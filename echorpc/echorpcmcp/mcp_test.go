package echorpcmcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/echorpcmcp"
	"github.com/go-playground/validator/v10"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type structValidator struct{ v *validator.Validate }

func (s structValidator) Validate(i any) error { return s.v.Struct(i) }

type Greeting struct {
	Name string `json:"name" validate:"required"`
}

type Hello struct {
	Text string `json:"text"`
}

// server is an app with an instance behind its MCP endpoint at /mcp, a
// login at /login, and a count of the calls its interceptor saw.
type server struct {
	*httptest.Server
	calls   atomic.Int64 // calls the interceptor saw, refusals included
	release chan struct{}
	started chan struct{}
}

func newServer(t *testing.T, config echorpc.Config) *server {
	t.Helper()
	s := &server{release: make(chan struct{}), started: make(chan struct{}, 1)}
	e := echo.New()
	e.Validator = structValidator{validator.New()}
	e.Use(session.Middleware(sessions.NewCookieStore([]byte("0123456789abcdef0123456789abcdef"))))
	e.GET("/login", func(c echo.Context) error {
		sess, _ := session.Get("session", c)
		sess.Values["logged_in"] = true
		if err := sess.Save(c.Request(), c.Response()); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
	config.Interceptors = append(config.Interceptors, func(next echorpc.CallFunc) echorpc.CallFunc {
		return func(c echo.Context, call echorpc.Call) echorpc.Result {
			s.calls.Add(1)
			return next(c, call)
		}
	})
	rpc := echorpc.New(e.Group("/rpc"), config)
	rpc.Functions(echorpc.Funcs{
		"hello": echorpc.Func(func(c echo.Context, in Greeting) (Hello, error) {
			return Hello{Text: "Hello " + in.Name + "!"}, nil
		}),
	}, echorpc.Idempotent(), echorpc.WithDoc("Greets."))
	rpc.Functions(echorpc.Funcs{
		"add": echorpc.Func(func(c echo.Context, in []float64) (float64, error) {
			return in[0] + in[1], nil
		}),
	}, echorpc.Query(0))
	rpc.Functions(echorpc.Funcs{
		"secret": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response {
			return echorpc.Success("a secret", "42")
		}),
	}, echorpc.WithSessionAuth("logged_in", true))
	rpc.Functions(echorpc.Funcs{
		"ticks": echorpc.Stream(func(c echo.Context, n int, send func(id string, item int) error) error { return send("", n) }),
	})
	rpc.Functions(echorpc.Funcs{
		"slow": echorpc.Func(func(c echo.Context, _ struct{}) (string, error) {
			s.started <- struct{}{}
			select {
			case <-s.release:
				return "done", nil
			case <-c.Request().Context().Done():
				return "", c.Request().Context().Err()
			}
		}),
	})
	rpc.Functions(echorpc.Funcs{
		"late": echorpc.Func(func(c echo.Context, _ struct{}) (string, error) {
			<-c.Request().Context().Done()
			return "", c.Request().Context().Err()
		}),
	}, echorpc.WithTimeout(time.Millisecond))
	e.Any("/mcp", echorpcmcp.NewHandler(rpc, echorpcmcp.Config{}))
	s.Server = httptest.NewServer(e)
	t.Cleanup(s.Close)
	return s
}

// connect connects the Go SDK's client to the server's MCP endpoint, with
// the cookies of jar (nil for none).
func connect(t *testing.T, s *server, jar http.CookieJar) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{
		Endpoint:   s.URL + "/mcp",
		HTTPClient: &http.Client{Jar: jar},
	}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { cs.Close() })
	return cs
}

func toolNames(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(t.Context(), nil)
	require.NoError(t, err)
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

func loggedIn(t *testing.T, s *server) http.CookieJar {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	res, err := (&http.Client{Jar: jar}).Get(s.URL + "/login")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	return jar
}

func TestListForTheCaller(t *testing.T) {
	s := newServer(t, echorpc.Config{})
	assert.Equal(t, []string{"add", "hello", "late", "slow"}, toolNames(t, connect(t, s, nil)),
		"no secret without the session, no stream")
	assert.Equal(t, []string{"add", "hello", "late", "secret", "slow"}, toolNames(t, connect(t, s, loggedIn(t, s))))
}

func TestToolDeclarations(t *testing.T) {
	s := newServer(t, echorpc.Config{})
	res, err := connect(t, s, nil).ListTools(t.Context(), nil)
	require.NoError(t, err)
	tools := map[string]*mcp.Tool{}
	for _, tool := range res.Tools {
		tools[tool.Name] = tool
	}
	schema := func(v any) string { b, _ := json.Marshal(v); return string(b) }

	hello := tools["hello"]
	assert.Equal(t, "Greets.", hello.Description)
	assert.JSONEq(t, `{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"$defs":{"Greeting":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}}}`, schema(hello.InputSchema))
	assert.JSONEq(t, `{"type":"object","properties":{"text":{"type":"string"}},"required":["text"],"$defs":{"Hello":{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}}}`, schema(hello.OutputSchema))
	assert.Equal(t, &mcp.ToolAnnotations{IdempotentHint: true}, hello.Annotations)

	add := tools["add"]
	assert.JSONEq(t, `{"type":"object","properties":{"data":{"type":"array","items":{"type":"number"}}},"required":["data"]}`, schema(add.InputSchema))
	assert.JSONEq(t, `{"type":"object","properties":{"data":{"type":"number"}},"required":["data"]}`, schema(add.OutputSchema))
	assert.Equal(t, &mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true}, add.Annotations)
}

// text is a result's texts, one a line.
func text(res *mcp.CallToolResult) string {
	var lines []string
	for _, c := range res.Content {
		lines = append(lines, c.(*mcp.TextContent).Text)
	}
	return strings.Join(lines, "\n")
}

func TestCallThroughThePipeline(t *testing.T) {
	s := newServer(t, echorpc.Config{})
	cs := connect(t, s, nil)
	tests := []struct {
		name         string
		givenTool    string
		givenArgs    any
		expectError  bool
		expectText   string
		expectStruct string
	}{
		{name: "object", givenTool: "hello", givenArgs: map[string]any{"name": "Ann"},
			expectText: `{"text":"Hello Ann!"}`, expectStruct: `{"text":"Hello Ann!"}`},
		{name: "wrapped", givenTool: "add", givenArgs: map[string]any{"data": []float64{1, 2}},
			expectText: `3`, expectStruct: `{"data":3}`},
		{name: "field-error", givenTool: "hello", givenArgs: map[string]any{}, expectError: true,
			expectText: "Invalid data: name is required.\n" + `{"status":400,"data":{"errors":[{"path":"name","rule":"required","message":"is required"}]}}`},
		{name: "type-error", givenTool: "add", givenArgs: map[string]any{"data": "x"}, expectError: true,
			expectText: "Invalid data: the data must be an array.\n" + `{"status":400,"data":{"errors":[{"path":"","rule":"type","param":"array","message":"must be an array"}]}}`},
		{name: "deadline", givenTool: "late", expectError: true,
			expectText: "Deadline exceeded.\n" + `{"status":504,"data":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tt.givenTool, Arguments: tt.givenArgs})
			require.NoError(t, err)
			assert.Equal(t, tt.expectError, res.IsError)
			assert.Equal(t, tt.expectText, text(res))
			if tt.expectStruct != "" {
				b, _ := json.Marshal(res.StructuredContent)
				assert.JSONEq(t, tt.expectStruct, string(b))
			}
		})
	}
	assert.Equal(t, int64(len(tests)), s.calls.Load(), "the interceptor saw every call")
}

func TestGuardedCall(t *testing.T) {
	s := newServer(t, echorpc.Config{})
	_, err := connect(t, s, nil).CallTool(t.Context(), &mcp.CallToolParams{Name: "secret"})
	assert.ErrorContains(t, err, "unknown tool", "not a tool for this caller")

	res, err := connect(t, s, loggedIn(t, s)).CallTool(t.Context(), &mcp.CallToolParams{Name: "secret"})
	require.NoError(t, err)
	assert.False(t, res.IsError)
	assert.Equal(t, "\"42\"\na secret", text(res))
}

func TestLoadShedding(t *testing.T) {
	s := newServer(t, echorpc.Config{MaxInFlight: 1})
	cs := connect(t, s, nil)
	done := make(chan *mcp.CallToolResult)
	go func() {
		res, _ := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "slow"})
		done <- res
	}()
	<-s.started
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "hello", Arguments: map[string]any{"name": "Ann"}})
	require.NoError(t, err)
	assert.True(t, res.IsError)
	assert.Equal(t, "Server is busy: try again later.\n"+`{"status":503,"data":null}`, text(res))
	close(s.release)
	assert.Equal(t, `"done"`, text(<-done))
}

func TestCrossOriginRefused(t *testing.T) {
	s := newServer(t, echorpc.Config{})
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	tests := []struct {
		name         string
		givenMethod  string
		givenHeaders map[string]string
		expectStatus int
	}{
		{"origin-of-another-site", http.MethodPost, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"sec-fetch-site-cross-site", http.MethodPost, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"get-cross-site", http.MethodGet, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, http.StatusForbidden},
		{"same-origin", http.MethodPost, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": s.URL}, http.StatusOK},
		{"no-browser", http.MethodPost, nil, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.givenMethod, s.URL+"/mcp", strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
			for k, v := range tt.givenHeaders {
				req.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			assert.Equal(t, tt.expectStatus, res.StatusCode)
			if tt.expectStatus == http.StatusForbidden {
				var rpcErr struct {
					Error struct{ Message string } `json:"error"`
				}
				require.NoError(t, json.NewDecoder(res.Body).Decode(&rpcErr))
				assert.Equal(t, "Forbidden: the request came from another origin.", rpcErr.Error.Message)
			}
		})
	}
}

// A function registered after the handler was made is a tool at once, and
// callers of the same functions, calling at once, share a server safely.
func TestLateFunctionsAndConcurrentCallers(t *testing.T) {
	e := echo.New()
	rpc := echorpc.New(e.Group("/rpc"), echorpc.Config{})
	rpc.Functions(echorpc.Funcs{"one": echorpc.Func(func(c echo.Context, in []int) (int, error) { return len(in), nil })})
	e.Any("/mcp", echorpcmcp.NewHandler(rpc, echorpcmcp.Config{}))
	srv := httptest.NewServer(e)
	defer srv.Close()
	s := &server{Server: srv}
	assert.Equal(t, []string{"one"}, toolNames(t, connect(t, s, nil)))
	rpc.Functions(echorpc.Funcs{"two": echorpc.Func(func(c echo.Context, in []int) (int, error) { return 2 * len(in), nil })})
	assert.Equal(t, []string{"one", "two"}, toolNames(t, connect(t, s, nil)))

	cs := connect(t, s, nil)
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "two", Arguments: map[string]any{"data": make([]int, i)}})
			if err == nil && text(res) != strconv.Itoa(2*i) {
				err = fmt.Errorf("call %d: %s", i, text(res))
			}
			errs <- err
		}()
	}
	for range 8 {
		assert.NoError(t, <-errs)
	}
}
