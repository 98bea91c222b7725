package echorpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
)

// serve answers one POST. The checks run in Flask-RPC's order, after the
// cross-origin check: no functions, instance session, instance host and
// address, content type, body, version, function, the function's own
// session, host and address, then the call.
func (rpc *RPC) serve(c echo.Context) error {
	r := c.Request()
	if !rpc.origin.allowed(r) {
		return reply(c, Version11, errCrossOrigin)
	}
	funcs := *rpc.funcs.Load()
	if len(funcs) == 0 {
		return reply(c, Version11, errNoFunctions)
	}

	var sess *sessions.Session
	if len(rpc.rules.session) > 0 {
		var failure *Error
		if sess, failure = rpc.checkSession(c, nil, rpc.rules.session); failure != nil {
			return reply(c, Version11, failure)
		}
	}
	if failure := checkPlace(c, rpc.rules); failure != nil {
		return reply(c, Version11, failure)
	}
	if !isJSON(r.Header.Get(echo.HeaderContentType)) {
		return reply(c, Version11, errNotJSON)
	}
	body, failure := readBody(c, rpc.config.BodyLimit)
	if failure != nil {
		return reply(c, Version11, failure)
	}
	if rpc.config.MaxBatch > 0 && isArray(body) {
		return rpc.serveBatch(c, funcs, sess, body)
	}
	req, failure := parseRequest(body, rpc.config.MaxDepth)
	if failure != nil {
		return reply(c, Version11, failure)
	}
	a := rpc.answer(c, funcs, &sess, &req)
	if a.written {
		return nil
	}
	return writeEnvelope(c, a)
}

// answer is the reply to one call.
type answer struct {
	version Version
	status  int
	ok      bool
	message string
	data    any
	written bool // the handler wrote its own response
}

func failed(v Version, e *Error) answer {
	return answer{version: v, status: e.status(), message: e.Message, data: e.Data}
}

// answer checks a parsed request against the function's rules and calls
// it. sess is the session loaded so far, if any; it is loaded at most once
// per HTTP request.
func (rpc *RPC) answer(c echo.Context, funcs map[string]*function, sess **sessions.Session, req *request) answer {
	if !req.versionOK {
		return failed(Version11, errVersion)
	}
	v := req.version
	if !req.hasFunc {
		return failed(v, errRequest)
	}
	var fn *function
	if req.funcEscape {
		fn = funcs[req.funcName]
	} else {
		fn = funcs[string(req.function)]
	}
	if fn == nil {
		return failed(v, errFunction)
	}
	if len(fn.rules.session) > 0 {
		var failure *Error
		if *sess, failure = rpc.checkSession(c, *sess, fn.rules.session); failure != nil {
			return failed(v, failure)
		}
	}
	if failure := checkPlace(c, fn.rules); failure != nil {
		return failed(v, failure)
	}
	timeout, ok := rpc.timeout(c.Request(), fn)
	if !ok {
		return failed(v, errTimeoutHeader)
	}

	data := json.RawMessage(req.data)
	if data == nil {
		data = json.RawMessage("null")
	}
	c.Set(FunctionKey, fn.nameValue)
	res := call(c, fn, data, timeout)
	if c.Response().Committed {
		if res.Err != nil {
			c.Logger().Errorf("echorpc: function %q: %v", fn.name, res.Err)
		}
		return answer{written: true}
	}
	if res.Err != nil {
		switch {
		case errors.Is(res.Err, context.DeadlineExceeded):
			c.Logger().Warnf("echorpc: function %q: %v", fn.name, res.Err)
			return failed(v, errDeadline)
		case errors.Is(res.Err, context.Canceled) && c.Request().Context().Err() != nil:
			c.Logger().Warnf("echorpc: function %q: the caller went away: %v", fn.name, res.Err)
		default:
			c.Logger().Errorf("echorpc: function %q: %v", fn.name, res.Err)
		}
		return failed(v, errInternal)
	}
	return answer{version: v, status: res.HTTPStatus(), ok: res.OK, message: res.Message, data: res.Data}
}

// TimeoutHeader carries the caller's deadline for one call, in whole
// milliseconds. The JS client sends its timeout option in it and the Go
// client the time left before its context's deadline.
const TimeoutHeader = "Wrpc-Timeout-Ms"

// timeout returns the call's bound: the function's timeout, shortened to the
// caller's TimeoutHeader (itself cut to Config.MaxTimeout). ok is false when
// the header is malformed.
func (rpc *RPC) timeout(r *http.Request, fn *function) (d time.Duration, ok bool) {
	d = fn.timeout
	h, has := r.Header[TimeoutHeader]
	if !has {
		return d, true
	}
	ms, err := strconv.ParseUint(h[0], 10, 32)
	if err != nil || ms == 0 || len(h) > 1 {
		return 0, false
	}
	asked := time.Duration(ms) * time.Millisecond
	if maxT := rpc.config.MaxTimeout; maxT > 0 && asked > maxT {
		asked = maxT
	}
	if d == 0 || asked < d {
		d = asked
	}
	return d, true
}

// call runs the function, through its interceptors, with its deadline. A
// panic in an interceptor is recovered here as one in the handler is
// recovered inside them.
func call(c echo.Context, fn *function, data json.RawMessage, timeout time.Duration) (res Result) {
	if timeout > 0 {
		r := c.Request()
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		c.SetRequest(r.WithContext(ctx))
		defer c.SetRequest(r)
	}
	defer recoverResult(&res)
	return fn.invoke(c, Call{Function: fn.name, Data: data})
}

// panicError carries a recovered panic and its stack to the log.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string {
	return "panic: " + strings.TrimSpace(fmt.Sprint(p.value)) + "\n" + string(p.stack)
}

// checkSession loads the session (once per request: sess is the one already
// loaded, or nil) and applies the rules.
func (rpc *RPC) checkSession(c echo.Context, sess *sessions.Session, rules []sessionRule) (*sessions.Session, *Error) {
	if sess == nil {
		var err error
		if sess, err = loadSession(c, rpc.config.SessionName); err != nil {
			c.Logger().Error(err.Error())
			return nil, errInternal
		}
	}
	for _, rule := range rules {
		if !rule.holds(sess) {
			return sess, errUnauthorized
		}
	}
	return sess, nil
}

// checkPlace applies host and address rules.
func checkPlace(c echo.Context, rs rules) *Error {
	if len(rs.hosts) > 0 {
		if host := requestHost(c.Request()); !hostAllowed(rs.hosts, host) {
			return errForbidden(host)
		}
	}
	if len(rs.remote) > 0 {
		if addr, raw := remoteAddr(c); !remoteAllowed(rs.remote, addr) {
			return errForbidden(raw)
		}
	}
	return nil
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

// reply sends a protocol failure.
func reply(c echo.Context, v Version, e *Error) error {
	return writeEnvelope(c, failed(v, e))
}

// Reply headers, shared read-only slices so a reply sets them without
// allocating.
var (
	headerJSON    = []string{echo.MIMEApplicationJSON}
	headerNoSniff = []string{"nosniff"}
	headerNoStore = []string{"no-store"}
	headerAllow   = []string{"OPTIONS, POST"}
)

// replyBuffer is a reusable buffer with an encoder that writes into it.
type replyBuffer struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var replyPool = sync.Pool{New: func() any {
	b := new(replyBuffer)
	b.enc = json.NewEncoder(&b.buf)
	return b
}}

func getReplyBuffer() *replyBuffer {
	return replyPool.Get().(*replyBuffer)
}

func (rb *replyBuffer) free() {
	if rb.buf.Cap() <= 64<<10 {
		rb.buf.Reset()
		replyPool.Put(rb)
	}
}

// appendEnvelope appends a's four-key envelope, or five keys with its
// status when inBatch. Data is encoded with encoding/json; if it cannot be,
// the envelope is a logged internal error instead. It returns the status
// of what it appended.
func (rb *replyBuffer) appendEnvelope(c echo.Context, a answer, inBatch bool) int {
	b := &rb.buf
	start := b.Len()
	okIndex := 0
	if a.ok {
		okIndex = 1
	}
	b.WriteString(envelopeHeads[a.version][okIndex])
	if a.message == "" {
		b.WriteString("null")
	} else {
		b.Write(appendString(b.AvailableBuffer(), a.message))
	}
	b.WriteString(`,"data":`)
	if a.data == nil {
		b.WriteString("null")
	} else if err := rb.enc.Encode(a.data); err != nil {
		c.Logger().Errorf("echorpc: reply data cannot be encoded as JSON: %v", err)
		b.Truncate(start)
		return rb.appendEnvelope(c, failed(a.version, errInternal), inBatch)
	} else {
		b.Truncate(b.Len() - 1) // the encoder's newline
	}
	if inBatch {
		b.WriteString(`,"status":`)
		b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(a.status), 10))
	}
	b.WriteByte('}')
	return a.status
}

// writeEnvelope sends one answer.
func writeEnvelope(c echo.Context, a answer) error {
	rb := getReplyBuffer()
	defer rb.free()
	status := rb.appendEnvelope(c, a, false)
	return writeJSON(c, status, rb.buf.Bytes())
}

// writeJSON sends a JSON reply with the route's headers.
func writeJSON(c echo.Context, status int, body []byte) error {
	res := c.Response()
	h := res.Header()
	h[echo.HeaderContentType] = headerJSON
	h[echo.HeaderXContentTypeOptions] = headerNoSniff
	h[echo.HeaderCacheControl] = headerNoStore
	res.WriteHeader(status)
	_, err := res.Write(body)
	return err
}

// options answers a CORS-less OPTIONS: which methods the route takes.
func options(c echo.Context) error {
	c.Response().Header()[echo.HeaderAllow] = headerAllow
	return c.NoContent(http.StatusNoContent)
}

// methodNotAllowed answers every method but POST and OPTIONS.
func methodNotAllowed(c echo.Context) error {
	c.Response().Header()[echo.HeaderAllow] = headerAllow
	return reply(c, Version11, errMethod)
}
