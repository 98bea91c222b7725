package echorpc

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

// TimeoutHeader carries the caller's deadline for one request, in whole
// milliseconds. The JS client sends its timeout option in it and the Go
// client the time left before its context's deadline.
const TimeoutHeader = "Wrpc-Timeout-Ms"

// exchange is one POST to the instance, from admission to reply: every
// single call, batch item and stream goes through the same steps.
//
//	admit   origin, load, no functions, instance rules, content type, body
//	decode  the envelope (parseRequest), then version and function
//	rules   the function's own rules, then the deadline
//	call    the function through its interceptors
//	reply   one envelope in the request's dialect
//
// A refusal at any step is answered as an envelope and shown to the
// instance's interceptors (Call.Rejected).
type exchange struct {
	rpc   *RPC
	c     echo.Context
	funcs map[string]*function
	who   caller
	start time.Time
	// asked is the caller's deadline (TimeoutHeader, cut to MaxCallerTimeout);
	// 0 when none. askedBad is set when the header is malformed.
	asked    time.Duration
	askedBad bool
}

// serve answers POST Prefix.
func (rpc *RPC) serve(c echo.Context) error {
	x := exchange{rpc: rpc, c: c, who: caller{c: c, sessionName: rpc.config.SessionName}}
	if !rpc.inFlight.take(rpc.config.MaxInFlight) {
		c.Response().Header()[headerRetryAfter] = retryAfterOne
		return x.refuse(v11, nil, errOverloaded)
	}
	defer rpc.inFlight.give(rpc.config.MaxInFlight)
	body, failure := x.admit()
	if failure != nil {
		return x.refuse(v11, nil, failure)
	}
	if rpc.config.MaxBatch > 0 && isArray(body) {
		return x.serveBatch(body)
	}
	req, failure := parseRequest(body, rpc.config.MaxDepth)
	if failure != nil {
		return x.refuse(v11, nil, failure)
	}
	return x.reply(&req)
}

// reply runs one request and sends its envelope, unless the function wrote
// its own response (or streamed).
func (x *exchange) reply(req *request) error {
	v, res := x.run(req, false)
	if x.c.Response().Committed {
		return nil
	}
	return writeEnvelope(x.c, v, &res)
}

// admit runs the checks that come before the body is parsed, in Flask-RPC's
// order after the cross-origin check, and returns the body.
func (x *exchange) admit() ([]byte, *Error) {
	r := x.c.Request()
	x.start = time.Now()
	if !x.rpc.origin.allowed(r) {
		return nil, errCrossOrigin
	}
	if failure := x.enter(); failure != nil {
		return nil, failure
	}
	if !isJSON(r.Header.Get(echo.HeaderContentType)) {
		return nil, errNotJSON
	}
	return readBody(x.c, x.rpc.config.BodyLimit)
}

// enter runs the checks of every request, POST or GET: the instance has
// functions, and its rules hold. It also reads the caller's deadline.
func (x *exchange) enter() *Error {
	x.funcs = *x.rpc.funcs.Load()
	if len(x.funcs) == 0 {
		return errNoFunctions
	}
	if failure := x.who.check(&x.rpc.rules); failure != nil {
		return failure
	}
	x.asked, x.askedBad = x.rpc.askedTimeout(x.c.Request())
	return nil
}

// serveBatch answers a JSON array of requests with an array of envelopes in
// the same order. Each item goes through the same steps as a single call,
// under its own function's rules and the request's one deadline; its
// envelope carries its HTTP status as a fifth key, "status". The HTTP
// reply itself is 200.
func (x *exchange) serveBatch(body []byte) error {
	items, failure := splitBatch(body, x.rpc.config.MaxDepth, x.rpc.config.MaxBatch)
	if failure != nil {
		return x.refuse(v11, nil, failure)
	}
	rb := getReplyBuffer()
	defer rb.free()
	rb.buf.WriteByte('[')
	for i, item := range items {
		if i > 0 {
			rb.buf.WriteByte(',')
		}
		v, res := v11, Result{}
		if req, failure := parseRequest(item, x.rpc.config.MaxDepth-1); failure != nil {
			res = x.refusal(nil, failure)
		} else {
			v, res = x.run(&req, true)
		}
		if x.c.Response().Committed {
			x.c.Logger().Errorf("echorpc: a function wrote its own response inside a batch")
			return nil
		}
		rb.appendEnvelope(x.c, v, &res, true)
	}
	rb.buf.WriteByte(']')
	return writeJSON(x.c, http.StatusOK, headerNoStore, rb.buf.Bytes())
}

// run takes one parsed request (a batch item when inBatch) through decode,
// rules and call, and returns its dialect and result.
func (x *exchange) run(req *request, inBatch bool) (dialect, Result) {
	if !req.versionOK {
		return v11, x.refusal(nil, errVersion)
	}
	v := req.version
	if !req.hasFunc {
		return v, x.refusal(nil, errRequest)
	}
	var fn *function
	if req.funcEscape {
		fn = x.funcs[req.funcName]
	} else {
		fn = x.funcs[string(req.function)]
	}
	if fn == nil {
		return v, x.refusal(nil, errFunction)
	}
	if failure := x.who.check(&fn.rules); failure != nil {
		return v, x.refusal(fn, failure)
	}
	if x.askedBad {
		return v, x.refusal(fn, errTimeoutHeader)
	}
	deadline, bounded := x.deadline(fn)
	if bounded && !time.Now().Before(deadline) {
		return v, x.refusal(fn, errDeadline)
	}
	if fn.stream {
		switch {
		case inBatch:
			return v, x.refusal(fn, errStreamInBatch)
		case !acceptsEventStream(x.c.Request()):
			return v, x.refusal(fn, errNotEventStream)
		}
		if !x.rpc.open.take(x.rpc.config.MaxStreams) {
			x.c.Response().Header()[headerRetryAfter] = retryAfterOne
			return v, x.refusal(fn, errTooManyStreams)
		}
		defer x.rpc.open.give(x.rpc.config.MaxStreams)
	}
	data := req.data
	if data == nil {
		data = nullJSON
	}
	x.c.Set(FunctionKey, fn.nameValue)
	res := x.call(fn, v, data, deadline, bounded)
	if res.Err != nil {
		x.logError(fn, &res)
	}
	return v, res
}

var nullJSON = []byte("null")

// deadline is the one absolute deadline of a call of fn: the request's
// arrival plus the shorter of the function's timeout and the caller's, so
// every item of a batch shares it.
func (x *exchange) deadline(fn *function) (time.Time, bool) {
	d := fn.timeout
	if x.asked > 0 && (d == 0 || x.asked < d) {
		d = x.asked
	}
	if d == 0 {
		return time.Time{}, false
	}
	return x.start.Add(d), true
}

// call runs fn through its interceptors, under its deadline.
func (x *exchange) call(fn *function, v dialect, data []byte, deadline time.Time, bounded bool) Result {
	if bounded {
		r := x.c.Request()
		ctx, cancel := context.WithDeadline(r.Context(), deadline)
		defer cancel()
		x.c.SetRequest(r.WithContext(ctx))
		defer x.c.SetRequest(r)
	}
	return fn.invoke(x.c, Call{Instance: x.rpc.path, Function: fn.name, Data: data, Stream: fn.stream, dialect: v})
}

// logError logs a call's unexpected error by its kind, once.
func (x *exchange) logError(fn *function, res *Result) {
	c := x.c
	switch {
	case res.Status == http.StatusGatewayTimeout, errors.Is(res.Err, errStreamStalled), errors.Is(res.Err, http.ErrServerClosed):
		c.Logger().Warnf("echorpc: function %q: %v", fn.name, res.Err)
	case errors.Is(res.Err, context.Canceled) && c.Request().Context().Err() != nil:
		c.Logger().Warnf("echorpc: function %q: the caller went away: %v", fn.name, res.Err)
	default:
		c.Logger().Errorf("echorpc: function %q: %v", fn.name, res.Err)
	}
}

// refusal is the result of a request refused before its function ran, as
// the instance's interceptors return it (fn is nil when the request named
// no registered function).
func (x *exchange) refusal(fn *function, e *Error) Result {
	call := Call{Instance: x.rpc.path, Rejected: true, refusal: e}
	if fn != nil {
		call.Function = fn.name
	}
	return x.rpc.refuse(x.c, call)
}

// refuse answers a refusal of the whole request.
func (x *exchange) refuse(v dialect, fn *function, e *Error) error {
	res := x.refusal(fn, e)
	return writeEnvelope(x.c, v, &res)
}

// refused is the innermost step of a refusal's interceptor chain.
func refused(_ echo.Context, call Call) Result {
	e := call.refusal
	if e == nil { // an interceptor made up its own Call
		e = errInternal
	}
	return Result{Response: Response{Message: e.Message, Data: e.Data}, Status: e.Status}
}

// askedTimeout reads the caller's TimeoutHeader, cut to Config.MaxCallerTimeout.
// bad is set when it is malformed.
func (rpc *RPC) askedTimeout(r *http.Request) (d time.Duration, bad bool) {
	h, has := r.Header[TimeoutHeader]
	if !has {
		return 0, false
	}
	ms, err := strconv.ParseUint(h[0], 10, 32)
	if err != nil || ms == 0 || len(h) > 1 {
		return 0, true
	}
	d = time.Duration(ms) * time.Millisecond
	if maxT := rpc.config.MaxCallerTimeout; maxT > 0 && d > maxT {
		d = maxT
	}
	return d, false
}

// isJSON reports whether a Content-Type is JSON: application/json or a
// +json type, with no charset or UTF-8. The forms a browser can send
// without a preflight (text/plain, form encodings) never are.
func isJSON(ct string) bool {
	switch ct {
	case "application/json", "application/json; charset=utf-8", "application/json; charset=UTF-8", "application/json;charset=utf-8", "application/json;charset=UTF-8":
		return true
	case "":
		return false
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	if mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return false
	}
	for k, v := range params {
		if k != "charset" {
			continue
		}
		if !strings.EqualFold(v, "utf-8") && !strings.EqualFold(v, "utf8") {
			return false
		}
	}
	return true
}

// readBody reads the whole body through http.MaxBytesReader, so an
// over-limit body is refused while it is read (chunked ones too) and the
// connection is not reused for the rest of it.
func readBody(c echo.Context, limit int64) ([]byte, *Error) {
	r := c.Request()
	if r.ContentLength > limit {
		return nil, errTooLarge
	}
	body := http.MaxBytesReader(c.Response().Writer, r.Body, limit)
	var buf []byte
	if r.ContentLength >= 0 {
		buf = make([]byte, 0, r.ContentLength+1)
	} else {
		buf = make([]byte, 0, 512)
	}
	for {
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, errTooLarge
			}
			return nil, errReadBody
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// Reply headers, shared read-only slices so a reply sets them without
// allocating.
var (
	headerJSON       = []string{echo.MIMEApplicationJSON}
	headerNoSniff    = []string{"nosniff"}
	headerNoStore    = []string{"no-store"}
	headerAllow      = []string{"OPTIONS, POST"}
	headerRetryAfter = "Retry-After"
	retryAfterOne    = []string{"1"}
)

// writeEnvelope sends one answer. A result with an unexpected error is
// answered with the failure of its status; the error itself was logged.
func writeEnvelope(c echo.Context, v dialect, res *Result) error {
	rb := getReplyBuffer()
	defer rb.free()
	status := rb.appendEnvelope(c, v, res, false)
	return writeJSON(c, status, headerNoStore, rb.buf.Bytes())
}

// writeJSON sends a JSON reply with the route's headers and cacheControl
// (no-store but for a query's success).
func writeJSON(c echo.Context, status int, cacheControl []string, body []byte) error {
	res := c.Response()
	h := res.Header()
	h[echo.HeaderContentType] = headerJSON
	h[echo.HeaderXContentTypeOptions] = headerNoSniff
	h[echo.HeaderCacheControl] = cacheControl
	res.WriteHeader(status)
	_, err := res.Write(body)
	return err
}

// options answers a CORS-less OPTIONS: which methods the route takes.
func options(c echo.Context) error {
	c.Response().Header()[echo.HeaderAllow] = headerAllow
	return c.NoContent(http.StatusNoContent)
}

// methodNotAllowed answers the methods a route does not take (those not
// in allow) with the 405 envelope.
func (rpc *RPC) methodNotAllowed(allow []string) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header()[echo.HeaderAllow] = allow
		x := exchange{rpc: rpc, c: c}
		return x.refuse(v11, nil, errMethod)
	}
}

// slots counts what runs at once against a bound (MaxInFlight, MaxStreams).
type slots struct{ n atomic.Int64 }

// take takes a slot, or reports that all max are taken; max 0 or less is
// no bound.
func (s *slots) take(max int) bool {
	if max <= 0 {
		return true
	}
	if s.n.Add(1) > int64(max) {
		s.n.Add(-1)
		return false
	}
	return true
}

// give gives back a slot that take took.
func (s *slots) give(max int) {
	if max > 0 {
		s.n.Add(-1)
	}
}
