package describe

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The OpenAPI 3.1 document, as typed structs. Fields are declared in the
// alphabetical order of their JSON names, so the document reads as a
// sorted one.
type (
	document struct {
		Components        components          `json:"components"`
		Info              info                `json:"info"`
		JSONSchemaDialect string              `json:"jsonSchemaDialect"`
		OpenAPI           string              `json:"openapi"`
		Paths             map[string]pathItem `json:"paths"`
	}
	info struct {
		Description string `json:"description"`
		Title       string `json:"title"`
		Version     string `json:"version"`
	}
	components struct {
		Schemas         map[string]schemaNode     `json:"schemas"`
		SecuritySchemes map[string]securityScheme `json:"securitySchemes"`
	}
	securityScheme struct {
		Description string `json:"description"`
		In          string `json:"in"`
		Name        string `json:"name"`
		Type        string `json:"type"`
	}
	pathItem struct {
		Get  *operation `json:"get,omitempty"`
		Post *operation `json:"post"`
	}
	operation struct {
		Description string                `json:"description,omitempty"`
		OperationID string                `json:"operationId"`
		Parameters  []parameter           `json:"parameters,omitempty"`
		RequestBody *requestBody          `json:"requestBody,omitempty"`
		Responses   map[string]response   `json:"responses"`
		Security    []map[string][]string `json:"security,omitempty"`
		Summary     string                `json:"summary,omitempty"`
		Tags        []string              `json:"tags"`
	}
	parameter struct {
		Description string      `json:"description"`
		In          string      `json:"in"`
		Name        string      `json:"name"`
		Required    bool        `json:"required"`
		Schema      queryString `json:"schema"`
	}
	// queryString is a string parameter that holds JSON.
	queryString struct {
		ContentMediaType string  `json:"contentMediaType"`
		ContentSchema    *Schema `json:"contentSchema"`
		Type             string  `json:"type"`
	}
	requestBody struct {
		Content  map[string]mediaType `json:"content"`
		Required bool                 `json:"required"`
	}
	response struct {
		Content     map[string]mediaType `json:"content,omitempty"`
		Description string               `json:"description"`
		Headers     map[string]header    `json:"headers,omitempty"`
	}
	mediaType struct {
		Encoding map[string]partEncoding `json:"encoding,omitempty"`
		Schema   schemaNode              `json:"schema"`
	}
	partEncoding struct {
		ContentType string `json:"contentType"`
	}
	header struct {
		Description string  `json:"description"`
		Required    bool    `json:"required,omitempty"`
		Schema      *Schema `json:"schema"`
	}

	// schemaNode is a schema in the document: a Go type's [Schema], an
	// envelope, or one of the few others below.
	schemaNode interface{ schemaNode() }
	// envelope is the schema of a weeRPC envelope.
	envelope struct {
		Description string         `json:"description,omitempty"`
		Properties  envelopeFields `json:"properties"`
		Required    []string       `json:"required"`
		Type        string         `json:"type"`
	}
	envelopeFields struct {
		Data    *Schema  `json:"data"`
		Message typeList `json:"message"`
		OK      constant `json:"ok"`
		Weerpc  constant `json:"weerpc"`
	}
	typeList struct {
		Type []string `json:"type"`
	}
	constant struct {
		Const any `json:"const"`
	}
	// either is an anyOf of schemas.
	either struct {
		AnyOf []schemaNode `json:"anyOf"`
	}
	// text is a string described in words.
	text struct {
		Description string `json:"description"`
		Type        string `json:"type"`
	}
)

func (*envelope) schemaNode() {}
func (*either) schemaNode()   {}
func (*text) schemaNode()     {}

var (
	envelopeKeys = []string{"weerpc", "ok", "message", "data"}
	failureRef   = &Schema{Ref: componentsRef + "Failure"}
	failure      = &envelope{
		Description: "A weeRPC envelope that fails: ok is false; message says why; data is the function's, or {\"errors\": [...]} for data that did not decode or validate.",
		Properties:  envelopeFields{Data: &Schema{}, Message: typeList{[]string{"string", "null"}}, OK: constant{false}, Weerpc: constant{1.1}},
		Required:    envelopeKeys,
		Type:        "object",
	}
)

// OpenAPI returns an OpenAPI 3.1 document of the URLs of the instance's
// functions: POST for each, GET for a query.
func OpenAPI(in Instance) ([]byte, error) {
	g := newGenerator(componentsRef, in.FileType)
	g.defs["Failure"] = &Schema{} // the failing envelope's: a Go type named Failure is Failure2 here
	paths := map[string]pathItem{}
	for i := range in.Functions {
		f := &in.Functions[i]
		if !f.URL {
			continue
		}
		item := pathItem{Post: newOperation(in, f, g, http.MethodPost)}
		if f.Query {
			item.Get = newOperation(in, f, g, http.MethodGet)
		}
		paths[in.Path+"/"+f.Name] = item
	}
	schemas := map[string]schemaNode{}
	for name, s := range g.defs {
		schemas[name] = s
	}
	schemas["Failure"] = failure
	doc := document{
		OpenAPI:           "3.1.0",
		JSONSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
		Info: info{
			Title:   in.Name,
			Version: "1.0.0",
			Description: "The functions of the weeRPC instance at " + in.Path + ", each at its own URL: POST its data as the whole JSON body; " +
				"a query also answers GET with the data URL-encoded in the data parameter. Every reply is a weeRPC envelope " +
				"{\"weerpc\": 1.1, \"ok\": ..., \"message\": ..., \"data\": ...}; an application failure is ok:false with HTTP 200.",
		},
		Paths: paths,
		Components: components{
			Schemas: schemas,
			SecuritySchemes: map[string]securityScheme{
				"session": {Type: "apiKey", In: "cookie", Name: in.SessionName,
					Description: "The session cookie; the functions that need one say which session keys they need."},
			},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

// operationID is the operationId of one method of a function's URL: the
// function's name for POST, and the name and ".get" for GET. A name at a
// URL has no ".", so no two operations share an id.
func operationID(name, method string) string {
	if method == http.MethodGet {
		return name + ".get"
	}
	return name
}

// newOperation describes one method of a function's URL.
func newOperation(in Instance, f *Function, g *generator, method string) *operation {
	input, output := g.of(f.In), g.of(f.Out)
	op := &operation{
		OperationID: operationID(f.Name, method),
		Tags:        []string{in.Name},
		Description: joinText(f.Doc, strings.Join(notes(f), " ")),
		Responses:   responses(in, f, method, output),
	}
	op.Summary, _, _ = strings.Cut(f.Doc, "\n")
	if f.sessionGuarded() {
		op.Security = []map[string][]string{{"session": {}}}
	}
	if method == http.MethodGet {
		op.Parameters = []parameter{{
			Name: "data", In: "query", Required: false,
			Description: "The function's data as JSON, URL-encoded; absent is null.",
			Schema:      queryString{Type: "string", ContentMediaType: "application/json", ContentSchema: input},
		}}
	} else {
		op.RequestBody = &requestBody{Required: false, Content: map[string]mediaType{"application/json": {Schema: input}}}
		if f.Files {
			op.RequestBody.Content["multipart/form-data"] = multipartBody(input)
		}
	}
	return op
}

// multipartBody is a file call's body at a function's URL: the data as
// JSON in its first part, "data", in which each file is {"$file": "<part
// name>"}, and each file a part of its own under a name of the caller's
// choosing.
func multipartBody(input *Schema) mediaType {
	return mediaType{
		Schema: &Schema{Type: "object", Required: []string{"data"},
			Properties:           map[string]*Schema{"data": input},
			AdditionalProperties: &Schema{Type: "string", Format: binaryFormat}},
		Encoding: map[string]partEncoding{"data": {ContentType: "application/json"}},
	}
}

// notes say in words what guards f and what kind of function it is.
func notes(f *Function) []string {
	var notes []string
	if f.sessionGuarded() {
		notes = append(notes, "Needs a session in which each of "+strings.Join(f.Rules.Session, ", ")+" holds an allowed value (401 otherwise).")
	}
	if f.Rules != nil && f.Rules.Host {
		notes = append(notes, "Answers only at the hosts the server allows (403 otherwise).")
	}
	if f.Rules != nil && f.Rules.Remote {
		notes = append(notes, "Answers only callers from the addresses the server allows (403 otherwise).")
	}
	if f.Query {
		notes = append(notes, "A query: free of side effects, so it also answers GET.")
	} else if f.Idempotent {
		notes = append(notes, "Idempotent: safe to retry.")
	}
	if f.Stream {
		notes = append(notes, "A stream: call it with Accept: text/event-stream; each item comes as a server-sent event holding an envelope.")
	}
	return notes
}

// responses lists what one method of f's URL can answer.
func responses(in Instance, f *Function, method string, output *Schema) map[string]response {
	rs := map[string]response{
		"200": answer(f, method, output),
		"400": fails("The data did not decode or validate (data.errors lists each problem), or the request was malformed."),
		"500": fails("The function failed unexpectedly."),
		"504": fails("The deadline passed (the function's timeout, or the caller's " + in.TimeoutHeader + ")."),
	}
	if method == http.MethodPost {
		rs["403"] = fails("A cross-origin browser request, or a host or address the function does not answer.")
		rs["413"] = fails("The body is larger than the instance's limit (" + strconv.FormatInt(in.BodyLimit, 10) + " bytes).")
		rs["415"] = fails("The body is not JSON.")
	} else {
		rs["304"] = response{Description: "Not modified: the reply's ETag matches If-None-Match.", Headers: cacheHeaders(f, true)}
		if f.placeGuarded() {
			rs["403"] = fails("A host or address the function does not answer.")
		}
	}
	if f.sessionGuarded() {
		rs["401"] = fails("The session does not hold what the function needs.")
	}
	if in.MaxInFlight > 0 || f.Stream && in.MaxStreams > 0 {
		busy := fails("The server is busy: try again after Retry-After.")
		busy.Headers = map[string]header{"Retry-After": {Description: "The seconds to wait before trying again.", Required: true, Schema: &Schema{Type: "integer", Minimum: &zero}}}
		rs["503"] = busy
	}
	if f.Stream {
		rs["406"] = fails("A stream called without Accept: text/event-stream.")
	}
	return rs
}

// cacheHeaders are the headers of a query's answer to GET: how long it
// may be kept, always there, and its entity tag, required when etag is set
// (an answer that fails has none).
func cacheHeaders(f *Function, etag bool) map[string]header {
	keep := "no-store: no answer is to be kept."
	if f.MaxAge > 0 {
		age := strconv.Itoa(int(f.MaxAge / time.Second))
		keep = "For an ok answer, max-age=" + age + " (" + age + " s): public when nothing about the caller can change the answer, private when it can (a rule, credentials, a header it varies by); no-store for any other answer."
	}
	return map[string]header{
		"Cache-Control": {Description: keep, Required: true, Schema: &Schema{Type: "string"}},
		"ETag": {Description: "The ok answer's entity tag: send it in If-None-Match to be answered 304 while the answer is the same. An answer that fails has none.",
			Required: etag, Schema: &Schema{Type: "string"}},
	}
}

// answer is the 200 response: the function's envelope, or for a stream
// its events too; a query's GET says how it may be cached.
func answer(f *Function, method string, output *Schema) response {
	success := &envelope{
		Properties: envelopeFields{Data: output, Message: typeList{[]string{"string", "null"}}, OK: constant{true}, Weerpc: constant{1.1}},
		Required:   envelopeKeys,
		Type:       "object",
	}
	content := map[string]mediaType{"application/json": {Schema: &either{AnyOf: []schemaNode{success, failureRef}}}}
	if f.Download {
		// The file's own bytes; a failure is still an envelope.
		content = map[string]mediaType{
			"application/octet-stream": {Schema: &Schema{Type: "string", Format: binaryFormat}},
			"application/json":         {Schema: failureRef},
		}
	}
	if f.Stream {
		content["text/event-stream"] = mediaType{Schema: &text{Type: "string",
			Description: "Events: \"id: <id>\" and \"data: <envelope>\" per item, then \"event: end\" or \"event: error\" with a failing envelope that carries its status."}}
	}
	r := response{Description: "The function's answer: ok with its data, or an application failure (ok:false).", Content: content}
	if method == http.MethodGet {
		r.Headers = cacheHeaders(f, false)
	}
	return r
}

func fails(why string) response {
	return response{Description: why, Content: map[string]mediaType{"application/json": {Schema: failureRef}}}
}
