package echorpc

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// serveOpenAPI answers GET Prefix/openapi.json (with Config.Manifest): an
// OpenAPI 3.1 description of every function's URL (see [Query] and
// urls.go), with the same schemas as the manifest. Like client.d.ts, it
// is the same for every caller.
func (rpc *RPC) serveOpenAPI(c echo.Context) error {
	doc, err := rpc.openAPI()
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h[echo.HeaderCacheControl] = headerNoCache
	h[echo.HeaderXContentTypeOptions] = headerNoSniff
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, doc)
}

// openAPI builds the document.
func (rpc *RPC) openAPI() ([]byte, error) {
	fns, gen := rpc.describe(nil, true)
	funcs := *rpc.funcs.Load()
	paths := map[string]any{}
	for _, f := range fns {
		fn := funcs[f.Name]
		if fn == nil || !urlName(f.Name) {
			continue
		}
		item := map[string]any{"post": rpc.operation(f, fn, http.MethodPost)}
		if fn.query {
			item["get"] = rpc.operation(f, fn, http.MethodGet)
		}
		paths[rpc.path+"/"+f.Name] = item
	}
	schemas := map[string]any{
		"Failure": map[string]any{
			"type":        "object",
			"description": "A weeRPC envelope that fails: ok is false; message says why; data is the function's, or {\"errors\": [...]} for data that did not decode or validate.",
			"required":    []string{"weerpc", "ok", "message", "data"},
			"properties": map[string]any{
				"weerpc":  map[string]any{"const": 1.1},
				"ok":      map[string]any{"const": false},
				"message": map[string]any{"type": []string{"string", "null"}},
				"data":    map[string]any{},
			},
		},
	}
	for name, s := range gen.defs {
		schemas[name] = s
	}
	doc := map[string]any{
		"openapi":           "3.1.0",
		"jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
		"info": map[string]any{
			"title":   rpc.config.Name,
			"version": "1.0.0",
			"description": "The functions of the weeRPC instance at " + rpc.path + ", each at its own URL: POST its data as the whole JSON body; " +
				"a query also answers GET with the data URL-encoded in the data parameter. Every reply is a weeRPC envelope " +
				"{\"weerpc\": 1.1, \"ok\": ..., \"message\": ..., \"data\": ...}; an application failure is ok:false with HTTP 200.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": rpc.config.SessionName,
					"description": "The session cookie; the functions that need one say which session keys they need."},
			},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return []byte(strings.ReplaceAll(string(b), `"#/$defs/`, `"#/components/schemas/`)), nil
}

// operation describes one method of a function's URL.
func (rpc *RPC) operation(f description, fn *function, method string) map[string]any {
	op := map[string]any{
		"operationId": f.Name,
		"tags":        []string{rpc.config.Name},
	}
	if method == http.MethodGet {
		op["operationId"] = f.Name + "_get"
	}
	desc := f.Description
	if summary, _, _ := strings.Cut(desc, "\n"); summary != "" {
		op["summary"] = summary
	}
	var notes []string
	if f.Rules != nil && len(f.Rules.Session) > 0 {
		op["security"] = []map[string][]string{{"session": {}}}
		notes = append(notes, "Needs a session in which each of "+strings.Join(f.Rules.Session, ", ")+" holds an allowed value (401 otherwise).")
	}
	if f.Rules != nil && f.Rules.Host {
		notes = append(notes, "Answers only at the hosts the server allows (403 otherwise).")
	}
	if f.Rules != nil && f.Rules.Remote {
		notes = append(notes, "Answers only callers from the addresses the server allows (403 otherwise).")
	}
	if fn.query {
		notes = append(notes, "A query: free of side effects, so it also answers GET.")
	} else if f.Idempotent {
		notes = append(notes, "Idempotent: safe to retry.")
	}
	if fn.stream {
		notes = append(notes, "A stream: call it with Accept: text/event-stream; each item comes as a server-sent event holding an envelope.")
	}
	if d := strings.TrimSpace(desc + "\n\n" + strings.Join(notes, " ")); d != "" {
		op["description"] = d
	}
	input := map[string]any{"application/json": map[string]any{"schema": f.Input}}
	if method == http.MethodGet {
		op["parameters"] = []map[string]any{{
			"name": "data", "in": "query", "required": false,
			"description": "The function's data as JSON, URL-encoded; absent is null.",
			"schema":      map[string]any{"type": "string", "contentMediaType": "application/json", "contentSchema": f.Input},
		}}
	} else {
		op["requestBody"] = map[string]any{"required": false, "content": input}
	}

	success := map[string]any{
		"type":     "object",
		"required": []string{"weerpc", "ok", "message", "data"},
		"properties": map[string]any{
			"weerpc":  map[string]any{"const": 1.1},
			"ok":      map[string]any{"const": true},
			"message": map[string]any{"type": []string{"string", "null"}},
			"data":    f.Output,
		},
	}
	failure := map[string]any{"$ref": "#/components/schemas/Failure"}
	reply := map[string]any{"application/json": map[string]any{"schema": map[string]any{"anyOf": []any{success, failure}}}}
	if fn.stream {
		reply["text/event-stream"] = map[string]any{"schema": map[string]any{"type": "string",
			"description": "Events: \"id: <id>\" and \"data: <envelope>\" per item, then \"event: end\" or \"event: error\" with a failing envelope that carries its status."}}
	}
	fails := func(why string) map[string]any {
		return map[string]any{"description": why, "content": map[string]any{"application/json": map[string]any{"schema": failure}}}
	}
	responses := map[string]any{
		"200": map[string]any{"description": "The function's answer: ok with its data, or an application failure (ok:false).", "content": reply},
		"400": fails("The data did not decode or validate (data.errors lists each problem), or the request was malformed."),
		"500": fails("The function failed unexpectedly."),
		"504": fails("The deadline passed (the function's timeout, or the caller's " + TimeoutHeader + ")."),
	}
	if method == http.MethodPost {
		responses["403"] = fails("A cross-origin browser request, or a host or address the function does not answer.")
		responses["413"] = fails("The body is larger than the instance's limit (" + strconv.FormatInt(rpc.config.BodyLimit, 10) + " bytes).")
		responses["415"] = fails("The body is not JSON.")
	} else {
		responses["304"] = map[string]any{"description": "Not modified: the reply's ETag matches If-None-Match."}
		if f.Rules != nil && (f.Rules.Host || f.Rules.Remote) {
			responses["403"] = fails("A host or address the function does not answer.")
		}
	}
	if f.Rules != nil && len(f.Rules.Session) > 0 {
		responses["401"] = fails("The session does not hold what the function needs.")
	}
	if rpc.config.MaxInFlight > 0 || fn.stream && rpc.config.MaxStreams > 0 {
		responses["503"] = fails("The server is busy: try again after Retry-After.")
	}
	if fn.stream {
		responses["406"] = fails("A stream called without Accept: text/event-stream.")
	}
	op["responses"] = responses
	return op
}
