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
	"runtime/debug"
	"strings"
	"sync"

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
	req, failure := parseRequest(body, rpc.config.MaxDepth)
	if failure != nil {
		return reply(c, Version11, failure)
	}
	if !req.versionOK {
		return reply(c, Version11, errVersion)
	}
	v := req.version
	if !req.hasFunc {
		return reply(c, v, errRequest)
	}
	var fn *function
	if req.funcEscape {
		fn = funcs[req.funcName]
	} else {
		fn = funcs[string(req.function)]
	}
	if fn == nil {
		return reply(c, v, errFunction)
	}
	if len(fn.rules.session) > 0 {
		if _, failure := rpc.checkSession(c, sess, fn.rules.session); failure != nil {
			return reply(c, v, failure)
		}
	}
	if failure := checkPlace(c, fn.rules); failure != nil {
		return reply(c, v, failure)
	}

	data := json.RawMessage(req.data)
	if data == nil {
		data = json.RawMessage("null")
	}
	out := call(c, fn, data)
	if c.Response().Committed {
		if out.err != nil {
			c.Logger().Errorf("echorpc: function %q: %v", fn.name, out.err)
		}
		return nil // the handler wrote its own response
	}
	if out.err != nil {
		switch {
		case errors.Is(out.err, context.DeadlineExceeded):
			c.Logger().Warnf("echorpc: function %q: %v", fn.name, out.err)
			return reply(c, v, errDeadline)
		case errors.Is(out.err, context.Canceled) && r.Context().Err() != nil:
			c.Logger().Warnf("echorpc: function %q: the caller went away: %v", fn.name, out.err)
		default:
			c.Logger().Errorf("echorpc: function %q: %v", fn.name, out.err)
		}
		return reply(c, v, errInternal)
	}
	status := out.status
	if status == 0 {
		status = http.StatusOK
	}
	return writeEnvelope(c, v, status, out.resp.OK, out.resp.Message, out.resp.Data)
}

// call runs the function with its deadline, turning a panic into a logged
// internal error. http.ErrAbortHandler is re-raised, so net/http aborts the
// connection as the handler asked.
func call(c echo.Context, fn *function, data json.RawMessage) (out outcome) {
	if fn.timeout > 0 {
		r := c.Request()
		ctx, cancel := context.WithTimeout(r.Context(), fn.timeout)
		defer cancel()
		c.SetRequest(r.WithContext(ctx))
		defer c.SetRequest(r)
	}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			out = outcome{err: &panicError{value: p, stack: debug.Stack()}}
		}
	}()
	return fn.handler.call(c, data)
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
	return writeEnvelope(c, v, e.status(), false, e.Message, e.Data)
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

// writeEnvelope writes the four-key envelope. Data is encoded with
// encoding/json; if it cannot be, the reply is a logged 500.
func writeEnvelope(c echo.Context, v Version, status int, ok bool, message string, data any) error {
	rb := replyPool.Get().(*replyBuffer)
	defer func() {
		if rb.buf.Cap() <= 64<<10 {
			rb.buf.Reset()
			replyPool.Put(rb)
		}
	}()
	b := &rb.buf
	b.Reset()
	okIndex := 0
	if ok {
		okIndex = 1
	}
	b.WriteString(envelopeHeads[v][okIndex])
	if message == "" {
		b.WriteString("null")
	} else {
		b.Write(appendString(b.AvailableBuffer(), message))
	}
	b.WriteString(`,"data":`)
	if data == nil {
		b.WriteString("null")
	} else if err := rb.enc.Encode(data); err != nil {
		c.Logger().Errorf("echorpc: reply data cannot be encoded as JSON: %v", err)
		b.Reset()
		b.WriteString(envelopeHeads[v][0])
		b.Write(appendString(b.AvailableBuffer(), errInternal.Message))
		b.WriteString(`,"data":null`)
		status = errInternal.Status
	} else {
		b.Truncate(b.Len() - 1) // the encoder's newline
	}
	b.WriteByte('}')

	res := c.Response()
	h := res.Header()
	h[echo.HeaderContentType] = headerJSON
	h[echo.HeaderXContentTypeOptions] = headerNoSniff
	h[echo.HeaderCacheControl] = headerNoStore
	res.WriteHeader(status)
	_, err := res.Write(b.Bytes())
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
