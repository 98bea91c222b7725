package echorpc

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
)

// settle is the one place that decides how a result is answered: its
// status and, for an error, its envelope. Replies, batch items, stream
// events, metrics, traces and Result.Class all read what it decided. Every
// call chain runs it at its innermost step, so that interceptors see a
// final Result, and the pipeline runs it again on what the outermost
// interceptor returned; it changes nothing the second time.
//
//   - An Err that is, or wraps, an [*Error] or an *echo.HTTPError is an
//     answer: its status, message and data, with Err cleared. An
//     HTTPError's Internal error is returned as hidden, to be logged and
//     never sent.
//   - Any other Err is unexpected (the pipeline logs it): ok:false with 504
//     "Deadline exceeded." when it wraps context.DeadlineExceeded, 503
//     "Server is shutting down." for http.ErrServerClosed, and 500
//     "Internal error." otherwise, with no data; Err is kept.
//   - Status 0 is 200; a status that HTTP cannot carry is a 500.
func settle(r *Result) (hidden error) {
	if r.Err != nil {
		if e, ok := answerOf(r.Err); ok {
			hidden = hiddenOf(r.Err)
			items := r.Items
			*r = Result{Response: Response{Message: e.Message, Data: e.payload()}, Status: e.Status, Items: items}
		} else {
			e := unexpected(r.Err)
			r.Response = Response{Message: e.Message}
			r.Status = e.Status
			return nil
		}
	}
	switch {
	case r.Status == 0:
		r.Status = http.StatusOK
	case r.Status < 200 || r.Status > 599:
		*r = Result{Err: errors.New("echorpc: answer with HTTP status " + strconv.Itoa(r.Status)), Items: r.Items}
		return settle(r)
	}
	return hidden
}

// answerOf reports whether err is an answer rather than an unexpected
// error: an [*Error], or an *echo.HTTPError with a 4xx or 5xx code,
// answered with its code and message (a message that is not a string goes
// into data).
func answerOf(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	var he *echo.HTTPError
	if !errors.As(err, &he) || he.Code < 400 || he.Code > 599 {
		return nil, false
	}
	a := &Error{Status: he.Code}
	switch m := he.Message.(type) {
	case string:
		a.Message = m
	case nil:
	default:
		a.Data = m
	}
	if a.Message == "" {
		a.Message = http.StatusText(he.Code)
	}
	if a.Message == "" {
		a.Message = "HTTP " + strconv.Itoa(he.Code)
	}
	return a, true
}

// hiddenOf is the part of an answer that must be logged and never sent:
// an *echo.HTTPError's Internal error.
func hiddenOf(err error) error {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Internal
	}
	return nil
}

// unexpected is the failure that an unexpected error is answered with.
func unexpected(err error) *Error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return errDeadline
	case errors.Is(err, http.ErrServerClosed):
		return errShutdown
	}
	return errInternal
}

// The answers of Idempotency-Key (see idempotencykey.go), as the draft
// gives them: a key that is malformed or sent where it names more than one
// call, 400; a duplicate of a call still running (or whose instance died
// before its lease ended), 409 with Retry-After, the seconds left of its
// lease; a key reused with other data, 422; a store that cannot be
// reached, 503 with Retry-After: 1.
var (
	errKeyMalformed = &Error{Status: http.StatusBadRequest, Message: "Invalid Idempotency-Key header: give one string of 16 to 255 characters."}
	errKeyNotOne    = &Error{Status: http.StatusBadRequest, Message: "Idempotency-Key names one call: send it without batching or files."}
	errKeyRunning   = &Error{Status: http.StatusConflict, Message: "A call with this Idempotency-Key is still running: try again later."}
	errKeyReused    = &Error{Status: http.StatusUnprocessableEntity, Message: "This Idempotency-Key was used for a call with other data."}
	errKeyStore     = &Error{Status: http.StatusServiceUnavailable, Message: "Idempotency store is unavailable: try again later."}
)

// classOf sorts a settled answer for metrics and traces, by its status.
func classOf(status int, ok bool) string {
	switch {
	case status < 300 && ok:
		return "ok"
	case status < 400:
		return "failed"
	case status == http.StatusUnauthorized:
		return "unauthorized"
	case status == http.StatusForbidden:
		return "forbidden"
	case status == http.StatusNotFound:
		return "not_found"
	case status == http.StatusMethodNotAllowed, status == http.StatusNotAcceptable:
		return "method"
	case status == http.StatusRequestEntityTooLarge:
		return "too_large"
	case status == http.StatusUnsupportedMediaType:
		return "unsupported"
	case status == http.StatusTooManyRequests, status == http.StatusServiceUnavailable:
		return "overloaded"
	case status == http.StatusGatewayTimeout:
		return "deadline"
	case status >= 500:
		return "internal"
	}
	return "invalid"
}
