package echorpc

import (
	"github.com/labstack/echo/v4"
)

// edge is one way that calls reach the instance: a route, and how its
// requests become items. A new request shape is a new edge.
type edge struct {
	// get is set for GET and HEAD, whose data travels in the URL: admission
	// then runs no cross-origin check (only a query answers, and a query
	// changes nothing) and reads no body.
	get bool
	// decode turns the request's body (nil for get) into items, and picks
	// the writer of their answers; a failure refuses the whole request.
	decode func(x *exchange, body []byte) ([]item, writer, *Error)
	// files is set when the edge also takes a multipart call with files
	// (see multipart.go): admission then leaves the body to decode, which
	// finds it in x.parts.
	files bool
}

// The instance's edges:
//
//	POST Prefix            a weeRPC envelope, or a batch of them (an array)
//	POST Prefix/<name>     the function's data as the whole body
//	GET  Prefix/<name>     a query's data as ?data=<URL-encoded JSON>; HEAD too
var (
	routeEdge    = &edge{decode: decodeRoute, files: true}
	functionEdge = &edge{decode: decodeFunctionURL, files: true}
	queryEdge    = &edge{get: true, decode: decodeQuery}
)

// decodeRoute reads POST Prefix: one envelope, or a batch when the body is
// an array.
func decodeRoute(x *exchange, body []byte) ([]item, writer, *Error) {
	if x.parts != nil {
		return decodeParts(x, true)
	}
	if isArray(body) {
		return decodeBatch(x, body)
	}
	req, failure := parseRequest(body, x.rpc.config.MaxDepth)
	if failure != nil {
		return nil, nil, failure
	}
	x.one[0] = x.resolve(&req)
	return x.one[:], writeEnvelope, nil
}

// decodeBatch reads a JSON array of envelopes. Each item is checked on its
// own, so that one bad item refuses only itself; a stream cannot be one.
// The items run at once (batch.go); a caller that asks with Accept:
// text/event-stream gets each item's answer as soon as it is done
// (writeItemStream), any other the array (writeArray).
func decodeBatch(x *exchange, body []byte) ([]item, writer, *Error) {
	max := x.rpc.config.MaxBatch
	if max <= 0 {
		return nil, nil, errBatchOff
	}
	raws, failure := splitBatch(body, x.rpc.config.MaxDepth, max)
	if failure != nil {
		return nil, nil, failure
	}
	items := make([]item, len(raws))
	for i, raw := range raws {
		req, failure := parseRequest(raw, x.rpc.config.MaxDepth-1)
		if failure != nil {
			items[i] = item{v: v11, refused: failure}
			continue
		}
		items[i] = x.resolve(&req)
		if it := &items[i]; it.fn != nil && it.fn.stream && it.refused == nil {
			it.refused = errStreamInBatch
		}
	}
	x.batch = &batch{}
	if acceptsEventStream(x.c.Request()) {
		return items, writeItemStream, nil
	}
	return items, writeArray, nil
}

// resolve turns a parsed envelope into an item: its dialect, its function
// (looked up once, here) and its data.
func (x *exchange) resolve(req *request) item {
	switch {
	case !req.versionOK:
		return item{v: v11, refused: errVersion}
	case !req.hasFunc:
		return item{v: req.version, refused: errRequest}
	}
	fn := x.funcs[string(req.name)]
	if fn == nil {
		return item{v: req.version, refused: errFunction}
	}
	if fn.download { // a file answer is sent at the function's URL only
		return item{fn: fn, v: req.version, refused: x.errDownloadRoute(fn)}
	}
	return item{fn: fn, v: req.version, data: req.data}
}

// Every function whose name is made of letters, digits, "_" and "-" also
// has a URL of its own beside the weeRPC route, so that tools that know
// only REST (curl, OpenAPI clients, HTTP caches) can call it:
//
//	POST Prefix/add_numbers   body [1, 2]       the function's data, whole
//	GET  Prefix/add_numbers?data=%5B1%2C2%5D    only for a Query function
//
// Both answer the same envelope as the weeRPC route, through the same
// checks, rules, limits and interceptors. The files an instance serves
// (client.js, manifest.json, ...) have a "." in their names, so no
// function's URL can take their place.

// decodeFunctionURL reads POST Prefix/<name>: the body is the data.
func decodeFunctionURL(x *exchange, body []byte) ([]item, writer, *Error) {
	if x.parts != nil {
		return decodeParts(x, false)
	}
	fn := x.urlFunction(x.c)
	if fn == nil {
		return nil, nil, errFunction
	}
	data, failure := checkData(body, x.rpc.config.MaxDepth)
	x.one[0] = item{fn: fn, v: v11, data: data, refused: failure}
	return x.one[:], writeEnvelope, nil
}

// decodeQuery reads GET (or HEAD) Prefix/<name>?data=...: the function must
// be a query, and its data is the one data parameter.
func decodeQuery(x *exchange, _ []byte) ([]item, writer, *Error) {
	fn := x.urlFunction(x.c)
	if fn == nil {
		return nil, nil, errFunction
	}
	it := item{fn: fn, v: v11}
	switch values := x.c.QueryParams()["data"]; {
	case !fn.query:
		x.c.Response().Header()[echo.HeaderAllow] = allowFunction
		it.refused = errNotQuery
	case len(values) > 1:
		it.refused = errQueryData
	case len(values) == 1 && int64(len(values[0])) > x.rpc.config.BodyLimit:
		it.refused = errTooLarge
	case len(values) == 1:
		it.data, it.refused = checkData([]byte(values[0]), x.rpc.config.MaxDepth)
	}
	x.one[0] = it
	return x.one[:], writeQuery, nil
}

// urlFunction is the function that a function URL names, or nil.
func (x *exchange) urlFunction(c echo.Context) *function {
	name := c.Param("function")
	if !urlName(name) {
		return nil
	}
	return x.funcs[name]
}

// urlName reports whether a function's name can be a URL segment.
func urlName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkData checks a function URL's data (a request body, or the data
// parameter) as one strict JSON value; empty data is null.
func checkData(b []byte, maxDepth int) ([]byte, *Error) {
	s := scanner{b: b, maxDepth: maxDepth}
	s.skipSpace()
	if s.i == len(b) {
		return nil, nil
	}
	if err := s.value(1); err != nil {
		return nil, err
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	return b, nil
}
