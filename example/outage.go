package main

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/gomodule/redigo/redis"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"
)

// An engine that stops answering (a paused or dead Redis or PostgreSQL)
// costs a call at most one bounded wait, and the caller hears of it: 503
// with Retry-After, never a hang, a 500 or a stream that goes silent.

const (
	// redisTimeout bounds every Redis call: dialling, and each read and
	// write of a command. A healthy Redis answers in well under a
	// millisecond; one that has not answered in a second is not going to.
	redisTimeout = time.Second
	// storeTimeout bounds each database statement, from waiting for a
	// pooled connection (or dialling one) to reading its last row.
	storeTimeout = 3 * time.Second
	// retryAfter is the Retry-After of a 503 (seconds).
	retryAfter = "1"
)

// unavailableError is an engine that did not answer in time or could not
// be reached. The outages interceptor answers it 503, with Retry-After.
type unavailableError struct {
	engine string // "the session store", "the database"
	err    error
}

func (e *unavailableError) Error() string { return e.engine + " is not answering: " + e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

// message is what the caller is told: no addresses, no engine errors.
func (e *unavailableError) message() string {
	return strings.ToUpper(e.engine[:1]) + e.engine[1:] + " is not answering: try again shortly."
}

// outage returns err as an *unavailableError when it says that the engine
// did not answer (a timeout, a refused or dropped connection, a server
// shutting down), and err itself otherwise.
func outage(engine string, err error) error {
	if err == nil || !notAnswering(err) {
		return err
	}
	return &unavailableError{engine: engine, err: err}
}

// notAnswering reports whether err is an engine that did not answer rather
// than one that refused what it was asked.
func notAnswering(err error) bool {
	var (
		ne net.Error // timeouts, and *net.OpError: refused, reset, unreachable
		ce *pgconn.ConnectError
		pe *pgconn.PgError
	)
	switch {
	case errors.As(err, &ne), errors.As(err, &ce),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, redis.ErrPoolExhausted):
		return true
	case errors.As(err, &pe):
		// Class 08, connection exception; 57P01-57P03, the server is
		// shutting down or starting up.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	return false
}

// outageKey is where an untyped handler records the outage it met (see
// markOutage): an untyped handler's answer has no status of its own.
const outageKey = "example.outage"

// markOutage records on c that the call met an engine that did not answer,
// for the outages interceptor to answer it 503.
func markOutage(c echo.Context, e *unavailableError) { c.Set(outageKey, e) }

// answerOutages is the interceptor, on every instance, that answers a call
// that met an engine that did not answer: 503, "… is not answering: try
// again shortly.", and Retry-After. It finds the outage in the handler's
// error (the store's), in what an untyped handler recorded (markOutage),
// or, for a call that echorpc refused with 503 before it ran, in the
// session store's error (a session rule could not read the session). It
// also gives every other 503 that has not gone out (a changes stream
// refused while Redis is away, say) a Retry-After.
func answerOutages(next echorpc.CallFunc) echorpc.CallFunc {
	return func(c echo.Context, call echorpc.Call) echorpc.Result {
		res := next(c, call)
		if c.Response().Committed { // a stream that went out: its end is its own
			return res
		}
		if e := outageOf(c, call, &res); e != nil {
			c.Logger().Warnf("%s %s: %v", call.Instance, call.Function, e)
			res = echorpc.Result{Err: &echorpc.Error{Status: http.StatusServiceUnavailable, Message: e.message()}, Items: res.Items}
		}
		if statusOf(res) == http.StatusServiceUnavailable && c.Response().Header().Get("Retry-After") == "" {
			c.Response().Header().Set("Retry-After", retryAfter)
		}
		return res
	}
}

// statusOf is the status res will be answered with, as far as an
// interceptor needs it: an *echorpc.Error in Err answers with its own.
func statusOf(res echorpc.Result) int {
	var e *echorpc.Error
	if errors.As(res.Err, &e) {
		return e.Status
	}
	return res.Status
}

// outageOf is the outage a call met, or nil.
func outageOf(c echo.Context, call echorpc.Call, res *echorpc.Result) *unavailableError {
	var e *unavailableError
	switch {
	case errors.As(res.Err, &e):
		return e
	case c.Get(outageKey) != nil:
		e, _ = c.Get(outageKey).(*unavailableError)
		return e
	case call.Rejected && res.Status == http.StatusServiceUnavailable:
		// echorpc refuses with 503 when a session rule cannot read the
		// session from its store; this names the engine in the message. The
		// session is read once per request, so this asks nothing of Redis
		// again.
		if _, err := sessionOf(c); errors.As(err, &e) {
			return e
		}
	}
	return nil
}
