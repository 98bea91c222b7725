package echorpc

import (
	"fmt"
	"net/http"
	"strconv"
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
	return "wrpc: " + e.Message + " (HTTP " + strconv.Itoa(e.status()) + ")"
}

// status returns the HTTP status to send: 200 when unset.
func (e *Error) status() int {
	if e.Status == 0 {
		return http.StatusOK
	}
	return e.Status
}

// FailWith returns an application failure with a message and data, for a
// typed handler to return as its error.
func FailWith(message string, data any) *Error {
	return &Error{Message: message, Data: data}
}

// Failf returns an application failure whose message is formatted as with
// fmt.Sprintf, and whose data is null.
func Failf(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
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
	errTimeoutHeader = &Error{Status: http.StatusBadRequest, Message: "Invalid " + TimeoutHeader + " header."}
	errReadBody      = &Error{Status: http.StatusBadRequest, Message: "Request body could not be read."}
)

// errRepeatedKey refuses a top-level key given twice, which encoding/json
// would silently resolve to the last one.
func errRepeatedKey(key []byte) *Error {
	return &Error{Status: http.StatusBadRequest, Message: "Request repeats the key " + string(appendString(nil, string(key))) + "."}
}

// errBatchTooLarge refuses a batch of more than max calls, whole.
func errBatchTooLarge(max int) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Message: "Batch has more than " + strconv.Itoa(max) + " calls."}
}

// errForbidden refuses a request whose host or address is not allowed,
// naming what was refused (cut to 255 bytes).
func errForbidden(what string) *Error {
	if len(what) > 255 {
		what = what[:255]
	}
	return &Error{Status: http.StatusForbidden, Message: "Unauthorized (" + what + ")"}
}
