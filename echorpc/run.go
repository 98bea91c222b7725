package echorpc

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// run runs one admitted item (see admitItem) on c, the request's context
// or, for a batch's item, its own (see batch.go): its function through the
// interceptors, under its deadline, and sets its settled answer. A refused
// item's answer is its refusal, as the interceptors return it; so is an
// item whose deadline passed before it started (a batch's item that waited
// for its turn).
func (x *exchange) run(c echo.Context, it *item) {
	fn := it.fn
	if fn != nil {
		it.deadline = x.deadline(fn)
		if it.refused == nil && !it.deadline.IsZero() && !time.Now().Before(it.deadline) {
			it.refused = errDeadline
		}
	}
	if it.refused != nil {
		it.res = x.refusal(c, fn, it.refused)
		return
	}
	if fn.stream {
		if !x.rpc.open.take(x.rpc.config.MaxStreams) {
			it.res = x.refusal(c, fn, errTooManyStreams)
			return
		}
		defer x.rpc.open.give(x.rpc.config.MaxStreams)
	}
	if it.data == nil {
		it.data = nullJSON
	}
	c.Set(FunctionKey, fn.nameValue)
	if fn.takesKeys() && x.runKeyed(c, it) { // idempotencykey.go
		return
	}
	x.invoke(c, it)
}

// invoke runs the item's function and sets its settled answer, its unexpected
// error logged.
//
// It, call and run take the item by pointer and set its answer in place: a
// stream's goroutine keeps their frames for the stream's life, so they
// carry no copy of it.
func (x *exchange) invoke(c echo.Context, it *item) {
	res := &it.res
	*res = x.call(c, it)
	if hidden := settle(res); hidden != nil { // an interceptor's own answer
		c.Logger().Errorf("echorpc: function %q: %v", it.fn.name, hidden)
	}
	if res.Err != nil {
		logError(c, it.fn, res)
	}
}

var nullJSON = []byte("null")

// call runs the item's function through its interceptors, under its deadline.
func (x *exchange) call(c echo.Context, it *item) Result {
	fn := it.fn
	if !it.deadline.IsZero() {
		r := c.Request()
		ctx, cancel := context.WithDeadline(r.Context(), it.deadline)
		defer cancel()
		c.SetRequest(r.WithContext(ctx))
		defer c.SetRequest(r)
	}
	return fn.invoke(c, Call{Instance: x.rpc.path, Function: fn.name, Data: it.data, Stream: fn.stream, dialect: it.v, files: x.files, frames: x.frames})
}

// logError logs a call's unexpected error by its kind, once.
func logError(c echo.Context, fn *function, res *Result) {
	switch {
	case res.Status == http.StatusGatewayTimeout, errors.Is(res.Err, errStreamStalled), errors.Is(res.Err, http.ErrServerClosed):
		c.Logger().Warnf("echorpc: function %q: %v", fn.name, res.Err)
	case errors.Is(res.Err, context.Canceled) && c.Request().Context().Err() != nil:
		c.Logger().Warnf("echorpc: function %q: the caller went away: %v", fn.name, res.Err)
	default:
		c.Logger().Errorf("echorpc: function %q: %v", fn.name, res.Err)
	}
}

// refusal is the answer to a request or item refused before its function
// ran, as the instance's interceptors see it on c (fn is nil when it named
// no registered function).
func (x *exchange) refusal(c echo.Context, fn *function, e *Error) Result {
	call := Call{Instance: x.rpc.path, Rejected: true, refusal: e}
	if fn != nil {
		call.Function = fn.name
	}
	res := x.rpc.refuse(c, call)
	settle(&res)
	return res
}

// refused is the innermost step of a refusal's interceptor chain, and of
// a replay's (see idempotencykey.go).
func refused(_ echo.Context, call Call) Result {
	if call.replayed != nil {
		return *call.replayed
	}
	e := call.refusal
	if e == nil { // an interceptor made up its own Call
		e = errInternal
	}
	return Result{Err: e}
}
