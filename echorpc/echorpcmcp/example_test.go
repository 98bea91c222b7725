package echorpcmcp_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/echorpcmcp"
	"github.com/labstack/echo/v4"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// An instance's functions served as MCP tools at /mcp, listed and called
// by the Go SDK's client. A struct is the tool's arguments as it is; other
// data travels under "data".
func Example() {
	type Sum struct {
		Total float64 `json:"total"`
	}
	e := echo.New()
	rpc := echorpc.New(e.Group("/rpc"), echorpc.Config{})
	rpc.Functions(echorpc.Funcs{
		"add": echorpc.Func(func(c echo.Context, in []float64) (Sum, error) {
			var s Sum
			for _, n := range in {
				s.Total += n
			}
			return s, nil
		}),
	}, echorpc.Query(0), echorpc.WithDoc("Adds numbers."))
	e.Any("/mcp", echorpcmcp.NewHandler(rpc, echorpcmcp.Config{}))
	srv := httptest.NewServer(e)
	defer srv.Close()

	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "example", Version: "1"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp"}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer session.Close()

	tools, _ := session.ListTools(ctx, nil)
	for _, t := range tools.Tools {
		fmt.Println(t.Name, t.Description, "read-only:", t.Annotations.ReadOnlyHint)
	}
	res, _ := session.CallTool(ctx, &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"data": []float64{1, 2, 3}}})
	fmt.Println(res.Content[0].(*mcp.TextContent).Text, res.StructuredContent)
	res, _ = session.CallTool(ctx, &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"data": "one"}})
	fmt.Println(res.IsError, res.Content[0].(*mcp.TextContent).Text)
	// Output:
	// add Adds numbers. read-only: true
	// {"total":6} map[total:6]
	// true Invalid data: the data must be an array.
}
