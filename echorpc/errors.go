package echorpc

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is a weeRPC failure: the envelope's message and data, with the HTTP
// status it travels with. Server and client share it.
//
// On the server, a typed handler (see [Func]) returns an *Error for an
// application failure: the caller gets ok:false with its Message and Data.
// Status 0 means 200, the status Flask-RPC uses for application failures; a
// handler may set another status (409, say) to tell HTTP-level tools more.
// An interceptor answers with one by returning Result{Err: err}.
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
	// Errors are the problems with a call's data (see [InvalidData]). On
	// the server, an Error with Errors and no Data sends
	// {"errors": [...]} as its data; on the client, Errors is filled from
	// such a reply.
	Errors []FieldError
}

// Error returns the message and the status, prefixed with "wrpc: ".
func (e *Error) Error() string {
	s := e.Status
	if s == 0 {
		s = http.StatusOK
	}
	return "wrpc: " + e.Message + " (HTTP " + strconv.Itoa(s) + ")"
}

// FieldError is one problem with a call's data. Path names the value with
// the JSON names of the wire, joined by dots, array indexes as numbers
// ("items.2.qty"); "" is the data itself. Rule is the rule that failed
// ("required", "min", "type", "unknown", ...), Param its parameter, and
// Message says it in words ("must be at least 1").
type FieldError struct {
	Path    string `json:"path"`
	Rule    string `json:"rule"`
	Param   string `json:"param,omitempty"`
	Message string `json:"message"`
}

// InvalidData returns the failure that refuses a call's data: 400, a
// message that names the first problem, and every problem in Errors, so the
// caller gets {"errors": [{"path": ..., "rule": ..., "message": ...}]} as
// data, as for data that does not decode or validate. A handler or an
// interceptor returns it for checks of its own:
//
//	return nil, echorpc.InvalidData(echorpc.FieldError{Path: "email", Rule: "unique", Message: "is taken"})
func InvalidData(errs ...FieldError) *Error {
	msg := "Invalid data."
	if len(errs) > 0 {
		first := errs[0]
		switch {
		case first.Path == "" && first.Rule == "invalid": // a validator's own text
			msg = "Invalid data: " + strings.TrimSuffix(first.Message, ".") + "."
		case first.Path == "":
			msg = "Invalid data: the data " + first.Message + "."
		default:
			msg = "Invalid data: " + first.Path + " " + first.Message + "."
		}
	}
	return &Error{Status: http.StatusBadRequest, Message: msg, Errors: errs}
}

// fieldErrors is the data of a reply that refuses a call's data.
type fieldErrors struct {
	Errors []FieldError `json:"errors"`
}

// payload is the envelope data of e.
func (e *Error) payload() any {
	if e.Data == nil && e.Errors != nil {
		return fieldErrors{Errors: e.Errors}
	}
	return e.Data
}

// batchLimit is the data of a refused batch, so that clients learn the
// instance's limit without reading the message: 0 when batching is off.
type batchLimit struct {
	MaxBatch int `json:"maxBatch"`
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
	errBatchOff      = &Error{Status: http.StatusBadRequest, Message: "Batches are off on this instance: send one call per request.", Data: batchLimit{MaxBatch: 0}}
	errTruncated     = &Error{Status: http.StatusBadRequest, Message: "Request is not valid JSON (unexpected end)."}
	errTrailing      = &Error{Status: http.StatusBadRequest, Message: "Request has data after its JSON object."}
	errInvalidUTF8   = &Error{Status: http.StatusBadRequest, Message: "Request is not valid UTF-8."}
	errVersion       = &Error{Status: http.StatusBadRequest, Message: "Invalid weerpc version."}
	errRequest       = &Error{Status: http.StatusBadRequest, Message: "Invalid request."}
	errFunction      = &Error{Status: http.StatusNotFound, Message: "Invalid function."}
	errTooLarge      = &Error{Status: http.StatusRequestEntityTooLarge, Message: "Request body is too large."}
	errMethod        = &Error{Status: http.StatusMethodNotAllowed, Message: "Method not allowed: weeRPC requests use POST."}
	errFileMethod    = &Error{Status: http.StatusMethodNotAllowed, Message: "Method not allowed: this file is read with GET."}
	errNotQuery      = &Error{Status: http.StatusMethodNotAllowed, Message: "Method not allowed: this function is not a query; call it with POST."}
	errQueryData     = &Error{Status: http.StatusBadRequest, Message: "Invalid data: the data parameter must be given once."}
	errDescribeOff   = &Error{Status: http.StatusNotFound, Message: "Not found: this instance serves no descriptions (Config.Manifest is off)."}
	errInternal      = &Error{Status: http.StatusInternalServerError, Message: "Internal error."}
	errDeadline      = &Error{Status: http.StatusGatewayTimeout, Message: "Deadline exceeded."}
	errShutdown      = &Error{Status: http.StatusServiceUnavailable, Message: "Server is shutting down."}
	errSessionStore  = &Error{Status: http.StatusServiceUnavailable, Message: "Session store is unavailable: try again later."}
	errOverloaded    = &Error{Status: http.StatusServiceUnavailable, Message: "Server is busy: try again later."}
	errTimeoutHeader = &Error{Status: http.StatusBadRequest, Message: "Invalid " + timeoutHeader + " header."}
	errReadBody      = &Error{Status: http.StatusBadRequest, Message: "Request body could not be read."}
)

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

// errBatchTooLarge refuses a batch of more than max calls, whole; its data
// carries the limit.
func errBatchTooLarge(max int) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Message: "Batch has more than " + strconv.Itoa(max) + " calls.", Data: batchLimit{MaxBatch: max}}
}

// errForbidden refuses a request whose host or address is not allowed,
// naming what was refused.
func errForbidden(what string) *Error {
	return &Error{Status: http.StatusForbidden, Message: "Unauthorized (" + echoed(what) + ")"}
}
