package echorpc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"runtime/debug"

	"github.com/labstack/echo/v4"
)

// FunctionKey is the echo.Context key under which a call's function name
// is set (c.Get(echorpc.FunctionKey).(string)) once the request names a
// registered function, so that Echo's request logger and other
// middleware can report it:
//
//	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
//		LogURI: true, LogStatus: true,
//		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
//			fn, _ := c.Get(echorpc.FunctionKey).(string)
//			c.Logger().Infof("%s %s %d", v.URI, fn, v.Status)
//			return nil
//		},
//	}))
const FunctionKey = "echorpc.function"

// Call is one call, as interceptors see it.
type Call struct {
	// Function is the registered name of the function called.
	Function string
	// Data is the request's data, as raw JSON ("null" when absent).
	Data json.RawMessage
}

// Result is what a call produced.
type Result struct {
	// Response is the answer: ok, message and data.
	Response
	// Status is the HTTP status of an answer; 0 means 200.
	Status int
	// Err is an unexpected error, or a recovered panic: it is logged and
	// answered 500, or 504 when it is a context deadline.
	Err error
}

// HTTPStatus returns the HTTP status the result is answered with.
func (r Result) HTTPStatus() int {
	switch {
	case r.Err != nil && errors.Is(r.Err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case r.Err != nil:
		return http.StatusInternalServerError
	case r.Status == 0:
		return http.StatusOK
	}
	return r.Status
}

// Class sorts the result for metrics: "ok"; "failed" for an application
// failure (ok:false with a 2xx status); "invalid" for data the handler
// refused with a 4xx status; "deadline" for 504; "internal" for other
// errors and panics.
func (r Result) Class() string {
	switch s := r.HTTPStatus(); {
	case s == http.StatusGatewayTimeout:
		return "deadline"
	case s >= 500:
		return "internal"
	case s >= 400:
		return "invalid"
	case !r.OK:
		return "failed"
	}
	return "ok"
}

// CallFunc runs one call.
type CallFunc func(c echo.Context, call Call) Result

// Interceptor wraps calls: given the next CallFunc, it returns one that runs
// around it, as Echo middleware wraps handlers. It runs after the
// protocol's checks and the rules, for calls that reached a function, and
// sees a handler's panic as a Result with Err set.
//
//	timing := func(next echorpc.CallFunc) echorpc.CallFunc {
//		return func(c echo.Context, call echorpc.Call) echorpc.Result {
//			start := time.Now()
//			res := next(c, call)
//			c.Logger().Infof("%s took %v: %s", call.Function, time.Since(start), res.Class())
//			return res
//		}
//	}
type Interceptor func(next CallFunc) CallFunc

// WithInterceptors wraps these functions' calls, inside the instance's
// Config.Interceptors; the first given is outermost.
func WithInterceptors(interceptors ...Interceptor) Option {
	return func(s *scope) { s.intercept = append(s.intercept, interceptors...) }
}

// chain wraps h in the instance's and the function's interceptors, once,
// at registration. With none, a call costs one function call more.
func chain(h Handler, instance, function []Interceptor) CallFunc {
	next := func(c echo.Context, call Call) (res Result) {
		defer recoverResult(&res)
		return h.call(c, call.Data)
	}
	all := append(append([]Interceptor(nil), instance...), function...)
	for i := len(all) - 1; i >= 0; i-- {
		if all[i] == nil {
			panic("echorpc: a nil Interceptor")
		}
		next = all[i](next)
	}
	return next
}

// recoverResult turns a panic into a Result with Err set, so interceptors
// and the log see it. http.ErrAbortHandler is re-raised, so net/http
// aborts the connection as the handler asked.
func recoverResult(res *Result) {
	if p := recover(); p != nil {
		if p == http.ErrAbortHandler {
			panic(p)
		}
		*res = Result{Err: &panicError{value: p, stack: debug.Stack()}}
	}
}
