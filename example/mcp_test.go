package main

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mcpApp is the example app, with a cookie jar logged in to it.
func mcpApp(t *testing.T) (srv *httptest.Server, loggedIn *cookiejar.Jar) {
	t.Helper()
	srv = serveApp(t, Config{DB: filepath.Join(t.TempDir(), "clients.db"), SessionKeys: testKeys})
	c := newCaller(t, srv)
	require.True(t, c.call("/rpc/auth/login", "login", "null", "").OK)
	return srv, c.http.Jar.(*cookiejar.Jar)
}

// goMCP connects the Go SDK's client to an MCP endpoint of the app, with
// the cookies of jar (nil for none).
func goMCP(t *testing.T, endpoint string, jar http.CookieJar) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "example-test", Version: "1"}, nil)
	cs, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: &http.Client{Jar: jar}}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { cs.Close() })
	return cs
}

func listed(t *testing.T, cs *mcp.ClientSession) []string {
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

func texts(res *mcp.CallToolResult) []string {
	var out []string
	for _, c := range res.Content {
		out = append(out, c.(*mcp.TextContent).Text)
	}
	return out
}

// The Go SDK's client lists the example's tools for its caller (the
// session-guarded one appears once its cookie is sent; streams are no
// tools) and calls them through the pipeline.
func TestMCPGoClient(t *testing.T) {
	srv, jar := mcpApp(t)
	open := []string{"add_numbers", "add_string", "add_string_auth_host"}
	assert.Equal(t, open, listed(t, goMCP(t, srv.URL+"/mcp/tester", nil)))
	assert.Equal(t, []string{"add_numbers", "add_string", "add_string_auth_host", "add_string_auth_session"},
		listed(t, goMCP(t, srv.URL+"/mcp/tester", jar)))

	tester := goMCP(t, srv.URL+"/mcp/tester", jar)
	res, err := tester.CallTool(t.Context(), &mcp.CallToolParams{Name: "add_numbers", Arguments: map[string]any{"data": []int{1, 2, 3}}})
	require.NoError(t, err)
	assert.False(t, res.IsError)
	assert.Equal(t, []string{"6", "add_numbers"}, texts(res), "the data, then the message")
	res, err = tester.CallTool(t.Context(), &mcp.CallToolParams{Name: "add_string_auth_session", Arguments: map[string]any{"data": "Ann"}})
	require.NoError(t, err)
	assert.Equal(t, []string{`"Hello Ann!"`, "add_string"}, texts(res))
	res, err = tester.CallTool(t.Context(), &mcp.CallToolParams{Name: "add_numbers", Arguments: map[string]any{"data": "x"}})
	require.NoError(t, err)
	assert.True(t, res.IsError, "Fail is a tool error")
	assert.Equal(t, []string{"Invalid data type.", `{"status":200,"data":{"data":"list"}}`}, texts(res))

	clients := goMCP(t, srv.URL+"/mcp/clients", nil)
	assert.Equal(t, []string{"create", "delete", "list", "read", "update"}, listed(t, clients), "no changes stream")
	res, err = clients.CallTool(t.Context(), &mcp.CallToolParams{Name: "create", Arguments: map[string]any{}})
	require.NoError(t, err)
	assert.True(t, res.IsError)
	assert.Equal(t, []string{"Invalid data: name is required.", `{"status":400,"data":{"errors":[{"path":"name","rule":"required","message":"is required"}]}}`}, texts(res))
	res, err = clients.CallTool(t.Context(), &mcp.CallToolParams{Name: "create", Arguments: map[string]any{"name": "Ada"}})
	require.NoError(t, err)
	require.False(t, res.IsError, texts(res))
	assert.Equal(t, "Ada", res.StructuredContent.(map[string]any)["name"])
	res, err = clients.CallTool(t.Context(), &mcp.CallToolParams{Name: "list"})
	require.NoError(t, err)
	require.False(t, res.IsError, texts(res))
	assert.Len(t, res.StructuredContent.(map[string]any)["data"], 1)
}

// tsResult is what testdata/mcp-client.mjs prints.
type tsResult struct {
	Server struct{ Name string }
	Tools  []struct {
		Name        string
		Annotations struct{ ReadOnlyHint, IdempotentHint bool }
		InputSchema map[string]any
	}
	Results []struct {
		IsError           bool
		Content           []struct{ Text string }
		StructuredContent any
		Thrown            string
	}
}

// runTSClient runs the TypeScript SDK's client (npm's
// @modelcontextprotocol/sdk, a devDependency) against endpoint.
func runTSClient(t *testing.T, endpoint, cookie string, calls string) tsResult {
	t.Helper()
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat("../node_modules/@modelcontextprotocol/sdk/package.json"); err != nil || statErr != nil {
		why := "the TypeScript MCP client needs node and the npm dev packages: run `make deps`"
		if os.Getenv("CI") != "" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	out, err := exec.CommandContext(t.Context(), node, "testdata/mcp-client.mjs", endpoint, cookie, calls).Output()
	if ee, ok := err.(*exec.ExitError); ok {
		t.Fatalf("mcp-client.mjs: %v\n%s", err, ee.Stderr)
	}
	require.NoError(t, err)
	var r tsResult
	require.NoError(t, json.Unmarshal(out, &r), string(out))
	return r
}

// The TypeScript SDK's client lists and calls the same tools: it checks
// the tools' schemas as it lists them, and each structured content against
// its tool's output schema.
func TestMCPTypeScriptClient(t *testing.T) {
	srv, jar := mcpApp(t)
	var cookie []string
	for _, c := range jar.Cookies(mustURL(t, srv.URL)) {
		cookie = append(cookie, c.Name+"="+c.Value)
	}
	names := func(r tsResult) []string {
		var out []string
		for _, tool := range r.Tools {
			out = append(out, tool.Name)
		}
		slices.Sort(out)
		return out
	}

	calls := `[{"name":"add_numbers","arguments":{"data":[1,2,3]}},{"name":"add_string_auth_session","arguments":{"data":"Ann"}}]`
	anonymous := runTSClient(t, srv.URL+"/mcp/tester", "", calls)
	assert.Equal(t, "TesterAPI", anonymous.Server.Name)
	assert.Equal(t, []string{"add_numbers", "add_string", "add_string_auth_host"}, names(anonymous))
	require.Len(t, anonymous.Results, 2)
	assert.Equal(t, "6", anonymous.Results[0].Content[0].Text)
	assert.Contains(t, anonymous.Results[1].Thrown, "unknown tool", "not a tool for this caller")

	withSession := runTSClient(t, srv.URL+"/mcp/tester", strings.Join(cookie, "; "), calls)
	assert.Equal(t, []string{"add_numbers", "add_string", "add_string_auth_host", "add_string_auth_session"}, names(withSession))
	require.Len(t, withSession.Results, 2)
	assert.False(t, withSession.Results[1].IsError)
	assert.Equal(t, `"Hello Ann!"`, withSession.Results[1].Content[0].Text)

	clients := runTSClient(t, srv.URL+"/mcp/clients", "", `[{"name":"create","arguments":{}},{"name":"create","arguments":{"name":"Ada"}},{"name":"list"}]`)
	for _, tool := range clients.Tools {
		switch tool.Name {
		case "list", "read":
			assert.True(t, tool.Annotations.ReadOnlyHint, tool.Name)
		default:
			assert.False(t, tool.Annotations.ReadOnlyHint, tool.Name)
		}
	}
	require.Len(t, clients.Results, 3)
	assert.True(t, clients.Results[0].IsError)
	assert.Equal(t, `{"status":400,"data":{"errors":[{"path":"name","rule":"required","message":"is required"}]}}`, clients.Results[0].Content[1].Text)
	assert.False(t, clients.Results[1].IsError, clients.Results[1].Content)
	assert.Equal(t, "Ada", clients.Results[1].StructuredContent.(map[string]any)["name"])
	assert.Len(t, clients.Results[2].StructuredContent.(map[string]any)["data"], 1)
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}
