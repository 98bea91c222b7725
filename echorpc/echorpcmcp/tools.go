package echorpcmcp

import (
	"context"
	"net/http"
	"reflect"
	"sync"

	"github.com/echo-rpc/wrpc/echorpc/internal/describe"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// tool is one function as a tool: its declaration, and how its values
// travel (see describe.ToolSchemas).
type tool struct {
	tool    *mcp.Tool
	schemas describe.ToolSchemas
}

// toolKey is what a tool's declaration is made from.
type toolKey struct {
	name, doc         string
	in, out           reflect.Type
	query, idempotent bool
}

// toolCache keeps the tools made, so that a request does not build its
// schemas again; a function registered again under its name with another
// type or doc gets a new entry.
type toolCache struct{ m sync.Map } // toolKey → *tool

func (tc *toolCache) get(f *describe.Function, file reflect.Type) *tool {
	key := toolKey{name: f.Name, doc: f.Doc, in: f.In, out: f.Out, query: f.Query, idempotent: f.Idempotent}
	if t, ok := tc.m.Load(key); ok {
		return t.(*tool)
	}
	ts := describe.NewToolSchemas(f, file)
	t := &tool{schemas: ts, tool: &mcp.Tool{
		Name:         f.Name,
		Description:  f.Doc,
		InputSchema:  ts.Input,
		OutputSchema: ts.Output,
		Annotations: &mcp.ToolAnnotations{
			ReadOnlyHint:   f.Query,
			IdempotentHint: f.Query || f.Idempotent,
		},
	}}
	actual, _ := tc.m.LoadOrStore(key, t)
	return actual.(*tool)
}

// call is a tool's handler: the function's call through the pipeline, for
// the caller of the MCP request.
func (h *handler) call(t *tool) mcp.ToolHandler {
	name := t.tool.Name
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		x, _ := ctx.Value(exchangeKey{}).(*exchange)
		if x == nil { // the SDK ran the tool outside its request: never expected
			return failure(http.StatusInternalServerError, "Internal error.", nil), nil
		}
		data := dataOf(jsontext.Value(req.Params.Arguments), t.schemas.InputWrapped)
		status, envelope := h.rpc.Call(ctx, x.c, name, data)
		return result(status, envelope, t.schemas.OutputWrapped), nil
	}
}

// dataOf is a function's data from a tool's arguments: the arguments
// themselves, or their "data" member when the data is wrapped (absent
// arguments or member are null). Arguments of another shape go as they are,
// for the function to refuse.
func dataOf(args jsontext.Value, wrapped bool) []byte {
	if !wrapped || len(args) == 0 {
		return args
	}
	var members map[string]jsontext.Value
	if err := json.Unmarshal(args, &members); err != nil {
		return args
	}
	return members[describe.ToolDataKey]
}

// envelope is a weeRPC reply, as the pipeline answered a call.
type envelope struct {
	OK      bool           `json:"ok"`
	Message string         `json:"message"`
	Data    jsontext.Value `json:"data"`
}

// result turns a call's answer into the tool's: on success the data as
// JSON text (then the envelope's message, when it has one) and as
// structured content; a tool error otherwise.
func result(status int, body []byte, wrapped bool) *mcp.CallToolResult {
	var env envelope
	if err := json.Unmarshal(body, &env, json.RejectUnknownMembers(false)); err != nil {
		return failure(http.StatusInternalServerError, "Internal error: the call's answer is not an envelope.", nil)
	}
	data := env.Data
	if len(data) == 0 {
		data = jsontext.Value("null")
	}
	if !env.OK || status >= 300 {
		return failure(status, env.Message, data)
	}
	res := mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(data)}}}
	if env.Message != "" {
		res.Content = append(res.Content, &mcp.TextContent{Text: env.Message})
	}
	if wrapped {
		res.StructuredContent = map[string]jsontext.Value{describe.ToolDataKey: data}
	} else {
		res.StructuredContent = data
	}
	return &res
}

// failure is a tool error: the message, then the status and data as JSON.
func failure(status int, message string, data jsontext.Value) *mcp.CallToolResult {
	if data == nil {
		data = jsontext.Value("null")
	}
	detail, _ := json.Marshal(struct {
		Status int            `json:"status"`
		Data   jsontext.Value `json:"data"`
	}{status, data})
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{
		&mcp.TextContent{Text: message},
		&mcp.TextContent{Text: string(detail)},
	}}
}
