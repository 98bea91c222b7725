package echorpc

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// run runs one item: its own admission, then its function through the
// interceptors, under its deadline, and sets its settled answer. A refused
// item's answer is its refusal, as the interceptors return it.
func (x *exchange) run(it *item) {
	fn := it.fn
	deadline, bounded := time.Time{}, false
	if fn != nil {
		deadline, bounded = x.deadline(fn)
		if it.refused == nil {
			it.refused = x.admitItem(it, deadline, bounded)
		}
	}
	if it.refused != nil {
		it.res = x.refusal(fn, it.refused)
		return
	}
	if fn.stream {
		if !x.rpc.open.take(x.rpc.config.MaxStreams) {
			it.res = x.refusal(fn, errTooManyStreams)
			return
		}
		defer x.rpc.open.give(x.rpc.config.MaxStreams)
	}
	data := it.data
	if data == nil {
		data = nullJSON
	}
	x.c.Set(FunctionKey, fn.nameValue)
	it.res = x.call(fn, it.v, data, deadline, bounded)
	if hidden := settle(&it.res); hidden != nil { // an interceptor's own answer
		x.c.Logger().Errorf("echorpc: function %q: %v", fn.name, hidden)
	}
	if it.res.Err != nil {
		x.logError(fn, &it.res)
	}
}

var nullJSON = []byte("null")

// call runs fn through its interceptors, under its deadline.
func (x *exchange) call(fn *function, v dialect, data []byte, deadline time.Time, bounded bool) Result {
	if bounded {
		r := x.c.Request()
		ctx, cancel := context.WithDeadline(r.Context(), deadline)
		defer cancel()
		x.c.SetRequest(r.WithContext(ctx))
		defer x.c.SetRequest(r)
	}
	return fn.invoke(x.c, Call{Instance: x.rpc.path, Function: fn.name, Data: data, Stream: fn.stream, dialect: v, files: x.files, frames: x.frames})
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

// refusal is the answer to a request or item refused before its function
// ran, as the instance's interceptors return it (fn is nil when it named
// no registered function).
func (x *exchange) refusal(fn *function, e *Error) Result {
	call := Call{Instance: x.rpc.path, Rejected: true, refusal: e}
	if fn != nil {
		call.Function = fn.name
	}
	res := x.rpc.refuse(x.c, call)
	settle(&res)
	return res
}

// refused is the innermost step of a refusal's interceptor chain.
func refused(_ echo.Context, call Call) Result {
	e := call.refusal
	if e == nil { // an interceptor made up its own Call
		e = errInternal
	}
	return Result{Err: e}
}
