package echorpc

import (
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

// admit runs the checks that every request passes before it is decoded,
// in Flask-RPC's order after the cross-origin check, and returns its body
// (nil for a GET, whose data is in its URL). Load (MaxInFlight) is checked
// before, by serve.
func (x *exchange) admit(e *edge) ([]byte, *Error) {
	r := x.c.Request()
	ct := r.Header.Get(echo.HeaderContentType)
	multipart := e.files && isMultipart(ct)
	if multipart {
		closeUnlessRead(x.c) // multipart.go
	}
	if !e.get && !x.rpc.origin.allowed(r) {
		return nil, errCrossOrigin
	}
	if len(x.funcs) == 0 {
		return nil, errNoFunctions
	}
	if failure := x.who.check(&x.rpc.rules); failure != nil {
		return nil, failure
	}
	if e.get {
		return nil, nil
	}
	if multipart {
		return nil, x.openParts() // the edge reads the parts (multipart.go)
	}
	if !isJSON(ct) {
		return nil, errNotJSON
	}
	return readBody(x.c, x.rpc.config.BodyLimit)
}

// admitItems runs each item's own checks, once its function is known, on
// the request's goroutine (a batch's items run at once only after): the
// function's rules, the caller's deadline header and, for a stream, that
// the caller asked for one. run checks the deadline itself when the item
// starts. An item already refused, or that named no registered function,
// keeps its refusal.
func (x *exchange) admitItems(items []item) {
	for i := range items {
		if it := &items[i]; it.fn != nil && it.refused == nil {
			it.refused = x.admitItem(it.fn)
		}
	}
}

func (x *exchange) admitItem(fn *function) *Error {
	if failure := x.who.check(&fn.rules); failure != nil {
		return failure
	}
	if x.askedBad {
		return errTimeoutHeader
	}
	if fn.stream && !acceptsEventStream(x.c.Request()) {
		return errNotEventStream
	}
	return nil
}

// deadline is the one absolute deadline of a call of fn: the request's
// arrival plus the shorter of the function's timeout and the caller's, so
// every item of a batch shares it; zero when neither has one.
func (x *exchange) deadline(fn *function) time.Time {
	d := fn.timeout
	if x.asked > 0 && (d == 0 || x.asked < d) {
		d = x.asked
	}
	if d == 0 {
		return time.Time{}
	}
	return x.start.Add(d)
}

// askedTimeout reads the caller's timeoutHeader, cut to Config.MaxCallerTimeout.
// bad is set when it is malformed.
func (rpc *RPC) askedTimeout(r *http.Request) (d time.Duration, bad bool) {
	h, has := r.Header[timeoutHeader]
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

// acceptsEventStream reports whether the request asks for server-sent
// events: its Accept names text/event-stream with a q-value above zero (a
// q of 0 means "not acceptable", RFC 9110, section 12.4.2).
func acceptsEventStream(r *http.Request) bool {
	for _, v := range r.Header.Values(echo.HeaderAccept) {
		for _, part := range strings.Split(v, ",") {
			mt, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(mt), "text/event-stream") {
				return qValue(params) > 0
			}
		}
	}
	return false
}

// qValue reads the q parameter of a header element's parameters
// ("q=0.5;level=1"); 1 when there is none, 0 when it does not parse.
func qValue(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0
			}
			return q
		}
	}
	return 1
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
