package echorpc

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

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

// Query declares these functions free of side effects: calling them reads
// and never writes, which is stronger than [Idempotent] (an idempotent
// function may write) and implies it. A query also answers
// GET Prefix/<name>?data=<URL-encoded JSON>, with an ETag computed from
// the reply (If-None-Match is answered 304) and Cache-Control
// "max-age=<maxAge>", "private" when a session rule guards it; with maxAge
// 0 the reply is "no-store". GET runs no cross-origin check, which is safe
// only because a query changes nothing: never declare a function that
// writes as a query. The manifest marks queries, and the JS client can use
// GET for them.
func Query(maxAge time.Duration) Option {
	return func(s *scope) {
		s.query, s.maxAge, s.idempotent = true, maxAge, true
	}
}

var (
	errNotQuery      = &Error{Status: http.StatusMethodNotAllowed, Message: "Method not allowed: this function is not a query; call it with POST."}
	errQueryData     = &Error{Status: http.StatusBadRequest, Message: "Invalid data: the data parameter must be given once."}
	headerAllowPost  = []string{"POST"}
	headerAllowQuery = []string{"GET, POST"}
)

// serveFunction answers POST and GET Prefix/<name>.
func (rpc *RPC) serveFunction(c echo.Context) error {
	x := exchange{rpc: rpc, c: c, who: caller{c: c, sessionName: rpc.config.SessionName}}
	if !rpc.inFlight.take(rpc.config.MaxInFlight) {
		c.Response().Header()[headerRetryAfter] = retryAfterOne
		return x.refuse(v11, nil, errOverloaded)
	}
	defer rpc.inFlight.give(rpc.config.MaxInFlight)
	name := c.Param("function")
	if c.Request().Method == http.MethodGet {
		return x.serveQuery(name)
	}
	body, failure := x.admit()
	if failure != nil {
		return x.refuse(v11, nil, failure)
	}
	data, failure := checkData(body, rpc.config.MaxDepth)
	if failure != nil {
		return x.refuse(v11, nil, failure)
	}
	req := functionRequest(name, data)
	return x.reply(&req)
}

// functionRequest is the weeRPC request that a function's URL stands for.
func functionRequest(name string, data []byte) request {
	if !urlName(name) {
		name = "" // not a name a URL can reach: Invalid function.
	}
	return request{version: v11, versionOK: true, hasFunc: true, funcEscape: true, funcName: name, data: data}
}

// serveQuery answers GET Prefix/<name>?data=... for a Query function.
func (x *exchange) serveQuery(name string) error {
	x.start = time.Now()
	if failure := x.enter(); failure != nil {
		return x.refuse(v11, nil, failure)
	}
	fn := x.funcs[name]
	if fn == nil || !urlName(name) {
		return x.refuse(v11, nil, errFunction)
	}
	if !fn.query {
		x.c.Response().Header()[echo.HeaderAllow] = headerAllowPost
		return x.refuse(v11, fn, errNotQuery)
	}
	var data []byte
	switch values := x.c.Request().URL.Query()["data"]; len(values) {
	case 0:
	case 1:
		if int64(len(values[0])) > x.rpc.config.BodyLimit {
			return x.refuse(v11, fn, errTooLarge)
		}
		var failure *Error
		if data, failure = checkData([]byte(values[0]), x.rpc.config.MaxDepth); failure != nil {
			return x.refuse(v11, fn, failure)
		}
	default:
		return x.refuse(v11, fn, errQueryData)
	}
	req := functionRequest(name, data)
	v, res := x.run(&req, false)
	if x.c.Response().Committed {
		return nil
	}
	rb := getReplyBuffer()
	defer rb.free()
	status := rb.appendEnvelope(x.c, v, &res, false)
	if status != http.StatusOK || !res.OK {
		return writeJSON(x.c, status, headerNoStore, rb.buf.Bytes())
	}
	sum := sha256.Sum256(rb.buf.Bytes())
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	h := x.c.Response().Header()
	h["Etag"] = []string{etag}
	if fn.sessionGuarded(&x.rpc.rules) {
		h[echo.HeaderVary] = []string{"Cookie"}
	}
	cacheControl := []string{fn.cacheControl(&x.rpc.rules)}
	if inm := x.c.Request().Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		h[echo.HeaderCacheControl] = cacheControl
		return x.c.NoContent(http.StatusNotModified)
	}
	return writeJSON(x.c, http.StatusOK, cacheControl, rb.buf.Bytes())
}

// cacheControl is a query's Cache-Control: "no-store" without a max age,
// and "private" when a session rule guards it.
func (fn *function) cacheControl(instance *rules) string {
	if fn.maxAge <= 0 {
		return "no-store"
	}
	scope := "public"
	if fn.sessionGuarded(instance) {
		scope = "private"
	}
	return scope + ", max-age=" + strconv.Itoa(int(fn.maxAge/time.Second))
}

// sessionGuarded reports whether a session rule, the instance's or the
// function's, guards fn: its answers differ by caller.
func (fn *function) sessionGuarded(instance *rules) bool {
	return len(instance.session) > 0 || len(fn.rules.session) > 0
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

// etagMatches reports whether an If-None-Match header names tag (or is
// "*"). Weak tags compare by their opaque part, as the weak comparison
// that If-None-Match uses requires.
func etagMatches(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == tag {
			return true
		}
	}
	return false
}
