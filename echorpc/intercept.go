package echorpc

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"

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
	// Instance is the path of the instance's route, such as "/rpc/tester".
	Instance string
	// Function is the registered name of the function called; "" when the
	// request was refused before it named a registered function.
	Function string
	// Data is the request's data, as raw JSON ("null" when absent; nil for
	// a request refused before its data was read).
	Data json.RawMessage
	// Rejected is set for a request that was refused before its function
	// ran (origin, rules, content type, body, version, unknown function,
	// limits, load shedding, an expired deadline): next then only returns
	// the refusal. Interceptors see every answer, refusals included.
	Rejected bool
	// Stream is set for a streaming function (see [Stream]): next returns
	// when the stream has ended, with Result.Items the number of items sent.
	Stream bool
	// Replayed is set for a call answered with the outcome stored under its
	// Idempotency-Key (see [Idempotent]): next returns that outcome, and
	// the function does not run again.
	Replayed bool

	refusal  *Error         // why a Rejected call was refused
	replayed *Result        // a Replayed call's stored answer
	dialect  dialect        // the request's
	files    *fileSet       // a multipart call's files
	frames   *channelStream // a stream's channel (channel.go)
}

// Result is what a call produced.
type Result struct {
	// Response is the answer: ok, message and data.
	Response
	// Status is the HTTP status of the answer. Interceptors see it set: the
	// call's status as it will be sent (504 for an exceeded deadline, 500
	// for an error or panic).
	Status int
	// Err is an unexpected error, or a recovered panic: it is logged and
	// answered 500, or 504 when it is a context deadline and 503 when the
	// server is shutting down; Message is then the message sent ("Internal
	// error."). An interceptor that returns an [*Error] (or an
	// *echo.HTTPError) in Err answers with it, as a typed handler's error
	// is answered:
	//
	//	return echorpc.Result{Err: &echorpc.Error{Status: http.StatusTooManyRequests, Message: "Slow down."}}
	Err error
	// Items is the number of items a stream sent.
	Items int
}

// Class sorts the result for metrics and traces: "ok"; "failed" for an
// application failure (ok:false with a 2xx status); for refusals and
// errors, by status: "invalid" (400 and other 4xx), "unauthorized" (401),
// "forbidden" (403), "not_found" (404), "method" (405, 406), "too_large"
// (413), "unsupported" (415), "overloaded" (429, 503), "deadline" (504),
// "internal" (500 and other 5xx).
func (r Result) Class() string {
	settle(&r)
	return classOf(r.Status, r.OK && r.Err == nil)
}

// CallFunc runs one call.
type CallFunc func(c echo.Context, call Call) Result

// Interceptor wraps calls: given the next CallFunc, it returns one that runs
// around it, as Echo middleware wraps handlers. It sees each call's
// function, data and result, a handler's panic as a Result with Err set,
// and also each refusal (Call.Rejected), so metrics and audit logs count
// every answer.
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

// chain wraps inner in interceptors, the first outermost, once, at
// registration. The innermost step recovers panics and settles the result
// (see settle), so every interceptor sees a final Result.
func chain(inner CallFunc, interceptors ...[]Interceptor) CallFunc {
	next := func(c echo.Context, call Call) (res Result) {
		defer func() {
			if hidden := settle(&res); hidden != nil {
				c.Logger().Errorf("echorpc: function %q: %v", call.Function, hidden)
			}
		}()
		defer recoverResult(&res)
		return inner(c, call)
	}
	var all []Interceptor
	for _, is := range interceptors {
		all = append(all, is...)
	}
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

// panicError carries a recovered panic and its stack to the log.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string {
	return "panic: " + strings.TrimSpace(fmt.Sprint(p.value)) + "\n" + string(p.stack)
}
