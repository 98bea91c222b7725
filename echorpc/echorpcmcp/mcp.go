// Package echorpcmcp serves the functions of an echorpc instance as the
// tools of a Model Context Protocol (MCP) server, so that AI agents (Claude,
// VS Code's Copilot, any MCP client) can call them. It speaks MCP's
// Streamable HTTP transport through the official Go SDK
// (github.com/modelcontextprotocol/go-sdk), on an Echo route of the app's
// choosing:
//
//	rpc := echorpc.New(e.Group("/rpc/tester"), echorpc.Config{})
//	e.Any("/mcp", echorpcmcp.NewHandler(rpc, echorpcmcp.Config{}))
//
// # Tools for the caller
//
// Each function is a tool of the same name, described by its doc
// ([echorpc.WithDoc]) and by the JSON Schemas of its input and output, the
// manifest's. A [echorpc.Query] is marked read-only (readOnlyHint), and a
// query or an [echorpc.Idempotent] function idempotent (idempotentHint).
// tools/list answers for the caller, as the manifest does: a function
// whose rules (session, host, address) the caller does not pass is not
// listed, so a tool guarded by a session appears once the MCP client sends
// the session's cookie. The server is stateless (no Mcp-Session-Id): every
// request is answered for the cookies, host and address it comes with.
//
// MCP wants an object at the top of a tool's input and output. A function
// whose data is an object (a struct) takes the tool's arguments as its
// data, and one whose answer is a struct gives it as the tool's structured
// content; any other data (an array, a string, a pointer that may be nil,
// an untyped [echorpc.RawFunc]'s value) travels under the key "data":
// {"data": [1, 2, 3]}.
//
// # Calls through the pipeline
//
// tools/call runs the function as a POST of its data to the function's URL
// would: the same load shedding, cross-origin check, rules, body limit,
// interceptors (so metrics and traces see MCP calls), deadlines and field
// errors, for the caller of the MCP request (its cookies, host and
// address). A success answers the data as JSON text (then the envelope's
// message, when it has one) and as structured content. Every failure,
// a refusal included, is a tool error (isError), as MCP asks, so that the
// agent can read it: its first text is the envelope's message, its second
// the JSON of the status and the envelope's data, where field errors are
// {"status": 400, "data": {"errors": [{"path": "name", "rule":
// "required", "message": "is required"}]}}. What a function sets on its
// response (a cookie, a header) does not reach the MCP client.
//
// Streams ([echorpc.Stream]) are not tools: a stream may never end, and a
// tool call has one answer. Functions that take files ([echorpc.File]) or
// answer with one are not tools either: MCP carries JSON arguments, not
// multipart bodies. Call those at their URLs.
//
// # Origin
//
// MCP's specification asks a server to check the Origin of every request,
// against DNS rebinding. The handler applies the instance's own
// cross-origin check (Config.TrustedOrigins, InsecureSkipOriginCheck) to
// every request, whatever its method: a browser request from another site
// (an Origin of another host, or Sec-Fetch-Site: cross-site) is answered
// 403 with a JSON-RPC error, before the SDK reads it. MCP clients that are
// not browsers send no Origin and pass. A page on a rebound name is
// same-origin to the browser: the instance's Config.HostAuth is what
// refuses it, as on its RPC routes, and the SDK's own check refuses a
// request that reaches a loopback address with another Host.
package echorpcmcp

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/internal/adapter"
	"github.com/labstack/echo/v4"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Config configures an MCP handler.
type Config struct {
	// Name is the server's name in MCP's initialize answer.
	// Optional. Default the instance's Config.Name.
	Name string

	// Version is the server's version in MCP's initialize answer.
	// Optional. Default "1".
	Version string

	// Instructions tell the agent how to use the tools, in MCP's
	// initialize answer.
	// Optional. Default none.
	Instructions string

	// Logger receives the SDK's log.
	// Optional. Default none.
	Logger *slog.Logger
}

// mcpBodyOverhead is what a tools/call request adds to its arguments: the
// handler takes bodies of up to the instance's BodyLimit plus this, and
// the pipeline holds the data to BodyLimit.
const mcpBodyOverhead = 64 << 10

// handler serves one instance's functions over MCP.
type handler struct {
	rpc    adapter.Instance
	config Config
	sdk    *mcp.StreamableHTTPHandler
	tools  toolCache
	// servers are the servers made, by the names of their tools.
	servers sync.Map // string → *mcp.Server
	kept    atomic.Int64
}

// NewHandler returns the Echo handler of an MCP endpoint that serves rpc's
// functions as tools, over the Streamable HTTP transport; register it for
// every method (e.Any), since the transport answers POST and refuses the
// others itself (405). The session middleware that the instance's session
// rules need must run on its route too, as for the instance's own routes.
func NewHandler(rpc *echorpc.RPC, config Config) echo.HandlerFunc {
	if rpc == nil {
		panic("echorpcmcp: NewHandler needs an *echorpc.RPC")
	}
	h := &handler{rpc: adapter.Of(rpc), config: config}
	whole := h.rpc.Describe(nil)
	if h.config.Name == "" {
		h.config.Name = whole.Name
	}
	if h.config.Version == "" {
		h.config.Version = "1"
	}
	h.sdk = mcp.NewStreamableHTTPHandler(h.server, &mcp.StreamableHTTPOptions{
		Stateless:                    true,
		JSONResponse:                 true,
		Logger:                       config.Logger,
		MaxRequestBodyBytes:          whole.BodyLimit + mcpBodyOverhead,
		PropagateRequestCancellation: true,
	})
	return h.serve
}

// exchangeKey is where a request's context holds its exchange.
type exchangeKey struct{}

// exchange is one MCP request: its Echo context, and the server made for
// its caller (the SDK asks for it more than once).
type exchange struct {
	c      echo.Context
	server *mcp.Server
}

func (h *handler) serve(c echo.Context) error {
	r := c.Request()
	if !h.rpc.CrossOriginAllowed(r) {
		return c.JSONBlob(http.StatusForbidden, crossOriginRefusal)
	}
	ctx := context.WithValue(r.Context(), exchangeKey{}, &exchange{c: c})
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	h.sdk.ServeHTTP(c.Response(), r.WithContext(ctx))
	return nil
}

// crossOriginRefusal is the body of a 403 to a cross-origin request: a
// JSON-RPC error with no id, as MCP's transport allows.
var crossOriginRefusal = []byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Forbidden: the request came from another origin."}}`)

// toolsOnly is what the server offers: tools, even when the caller may
// call none, and no list-changed notifications (a stateless server sends
// none; the list changes with the caller's session, asked anew).
var toolsOnly = &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}}

// server is the MCP server of one request: its tools are the functions its
// caller may call. Callers who may call the same functions share one
// server (the SDK checks each tool's schemas as it is added, which costs
// more than a call), kept for up to maxServers sets of functions.
func (h *handler) server(r *http.Request) *mcp.Server {
	x, _ := r.Context().Value(exchangeKey{}).(*exchange)
	if x == nil {
		return nil // not through serve: the SDK answers 400
	}
	if x.server != nil {
		return x.server
	}
	in := h.rpc.Describe(x.c)
	var key strings.Builder
	tools := make([]*tool, 0, len(in.Functions))
	for i := range in.Functions {
		f := &in.Functions[i]
		if f.Stream || f.Files || f.Download {
			continue
		}
		tools = append(tools, h.tools.get(f, in.FileType))
		key.WriteString(f.Name)
		key.WriteByte(0)
	}
	if s, ok := h.servers.Load(key.String()); ok {
		x.server = s.(*mcp.Server)
		return x.server
	}
	s := mcp.NewServer(&mcp.Implementation{Name: h.config.Name, Version: h.config.Version},
		&mcp.ServerOptions{Instructions: h.config.Instructions, Logger: h.config.Logger, Capabilities: toolsOnly})
	for _, t := range tools {
		s.AddTool(t.tool, h.call(t))
	}
	if h.kept.Add(1) <= maxServers {
		if actual, loaded := h.servers.LoadOrStore(key.String(), s); loaded {
			h.kept.Add(-1)
			s = actual.(*mcp.Server)
		}
	}
	x.server = s
	return s
}

// maxServers bounds the servers a handler keeps, one per set of functions
// that callers may call; past it, a server is made for each request.
const maxServers = 64
