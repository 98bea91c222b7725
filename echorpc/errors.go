package echorpc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// Error is a weeRPC failure: the envelope's message and data, with the HTTP
// status it travels with. Server and client share it.
//
// On the server, a typed handler (see [Func]) returns an *Error for an
// application failure: the caller gets ok:false with its Message and Data.
// Status 0 means 200, the status Flask-RPC uses for application failures; a
// handler may set another status (409, say) to tell HTTP-level tools more.
//
// On the client, [Client.Call] returns an *Error for every reply whose ok is
// false, and for a reply that is not a weeRPC envelope at all; Status is
// then the reply's HTTP status.
type Error struct {
	// Status is the HTTP status of the reply.
	Status int
	// Message is the envelope's message.
	Message string
	// Data is the envelope's data. On the client it is the decoded JSON
	// (as encoding/json decodes into an interface value).
	Data any
}

// Error returns the message and the status, prefixed with "wrpc: ".
func (e *Error) Error() string {
	s := e.Status
	if s == 0 {
		s = http.StatusOK
	}
	return "wrpc: " + e.Message + " (HTTP " + strconv.Itoa(s) + ")"
}

// Failf returns an application failure, for a typed handler to return as
// its error: ok:false, HTTP 200, a message formatted as with fmt.Sprintf
// and null data. For data, return an [*Error] literal.
func Failf(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// statusOf is the one place where a call's outcome becomes an HTTP status:
// an unexpected error is 500, or 504 when it is a context deadline (the
// call's own, see Config.Timeout) or 503 when the server is shutting down;
// an answer's own status stands, 200 when unset.
func statusOf(r *Result) int {
	switch {
	case r.Err == nil && r.Status == 0:
		return http.StatusOK
	case r.Err == nil:
		return r.Status
	case errors.Is(r.Err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(r.Err, http.ErrServerClosed):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// classOf sorts an answer for metrics and traces, by its status.
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

// outcomeOf sorts a typed handler's error: an [*Error] is an application
// failure; an *echo.HTTPError is answered with its code and message (a
// message that is not a string goes into data), its Internal error logged
// by the caller of this function; anything else is unexpected (Err).
func outcomeOf(err error) Result {
	var e *Error
	if errors.As(err, &e) {
		return Result{Response: Response{Message: e.Message, Data: e.Data}, Status: e.Status}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) && he.Code >= 400 && he.Code < 600 {
		res := Result{Status: he.Code}
		switch m := he.Message.(type) {
		case string:
			res.Message = m
		case nil:
			res.Message = http.StatusText(he.Code)
		default:
			res.Message = http.StatusText(he.Code)
			res.Data = m
		}
		if res.Message == "" {
			res.Message = "HTTP " + strconv.Itoa(he.Code)
		}
		return res
	}
	return Result{Err: err}
}

// The protocol's failures. Where Flask-RPC answered with an envelope, its
// exact message is kept so that existing frontends keep working.
var (
	errNoFunctions   = &Error{Status: http.StatusNotFound, Message: "No functions registered."}
	errUnauthorized  = &Error{Status: http.StatusUnauthorized, Message: "Unauthorized."}
	errCrossOrigin   = &Error{Status: http.StatusForbidden, Message: "Forbidden: the request came from another origin."}
	errNotJSON       = &Error{Status: http.StatusUnsupportedMediaType, Message: "Request must be JSON."}
	errEmpty         = &Error{Status: http.StatusBadRequest, Message: "Request must not be empty."}
	errNotObject     = &Error{Status: http.StatusBadRequest, Message: "Request must be a JSON object."}
	errTruncated     = &Error{Status: http.StatusBadRequest, Message: "Request is not valid JSON (unexpected end)."}
	errTrailing      = &Error{Status: http.StatusBadRequest, Message: "Request has data after its JSON object."}
	errInvalidUTF8   = &Error{Status: http.StatusBadRequest, Message: "Request is not valid UTF-8."}
	errVersion       = &Error{Status: http.StatusBadRequest, Message: "Invalid weerpc version."}
	errRequest       = &Error{Status: http.StatusBadRequest, Message: "Invalid request."}
	errFunction      = &Error{Status: http.StatusNotFound, Message: "Invalid function."}
	errTooLarge      = &Error{Status: http.StatusRequestEntityTooLarge, Message: "Request body is too large."}
	errMethod        = &Error{Status: http.StatusMethodNotAllowed, Message: "Method not allowed: weeRPC requests use POST."}
	errInternal      = &Error{Status: http.StatusInternalServerError, Message: "Internal error."}
	errDeadline      = &Error{Status: http.StatusGatewayTimeout, Message: "Deadline exceeded."}
	errShutdown      = &Error{Status: http.StatusServiceUnavailable, Message: "Server is shutting down."}
	errOverloaded    = &Error{Status: http.StatusServiceUnavailable, Message: "Server is busy: try again later."}
	errTimeoutHeader = &Error{Status: http.StatusBadRequest, Message: "Invalid " + TimeoutHeader + " header."}
	errReadBody      = &Error{Status: http.StatusBadRequest, Message: "Request body could not be read."}
)

// errorFor is the failure an unexpected error is answered with.
func errorFor(status int) *Error {
	switch status {
	case http.StatusGatewayTimeout:
		return errDeadline
	case http.StatusServiceUnavailable:
		return errShutdown
	}
	return errInternal
}

// echoLimit is the most bytes of caller input that a message repeats.
const echoLimit = 128

// echoed cuts caller input (a key, a host, an address) that a message
// repeats to echoLimit bytes, on a rune boundary, marking the cut with "…".
// Every message that quotes the caller goes through it.
func echoed(s string) string {
	if len(s) <= echoLimit {
		return s
	}
	cut := echoLimit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// errRepeatedKey refuses a top-level key given twice, which encoding/json
// would silently resolve to the last one.
func errRepeatedKey(key []byte) *Error {
	return &Error{Status: http.StatusBadRequest, Message: "Request repeats the key " + string(appendString(nil, echoed(string(key)))) + "."}
}

// errBatchTooLarge refuses a batch of more than max calls, whole.
func errBatchTooLarge(max int) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Message: "Batch has more than " + strconv.Itoa(max) + " calls."}
}

// errForbidden refuses a request whose host or address is not allowed,
// naming what was refused.
func errForbidden(what string) *Error {
	return &Error{Status: http.StatusForbidden, Message: "Unauthorized (" + echoed(what) + ")"}
}
