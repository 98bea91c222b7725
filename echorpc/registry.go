package echorpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Funcs maps the names that callers use to the functions that answer them,
// like the keyword arguments of Flask-RPC's rpc.functions. The name is the
// map key, so "subtract" may call subtractNumbers.
//
// A value is one of:
//   - an untyped handler, func(c echo.Context, data json.RawMessage) Response,
//     or the same as a [HandlerFunc];
//   - a typed handler made by [Func].
//
// Any other value, nil included, panics when it is registered, naming the
// function.
type Funcs map[string]any

// HandlerFunc is an untyped, Flask-like handler: it gets the request's data
// as raw JSON ("null" when the request has none) and answers with
// [Success] or [Fail].
type HandlerFunc func(c echo.Context, data json.RawMessage) Response

// Response is an untyped handler's answer.
type Response struct {
	// OK is the envelope's ok.
	OK bool
	// Message is the envelope's message; "" is sent as null.
	Message string
	// Data is the envelope's data, encoded with encoding/json; nil is sent
	// as null, and every other value as it is (0, "", false and [] too).
	Data any
}

// Success returns a successful answer with data and a message ("" for none).
func Success(data any, message string) Response {
	return Response{OK: true, Message: message, Data: data}
}

// Fail returns an application failure with a message and data (nil for
// none). The reply's HTTP status is 200.
func Fail(message string, data any) Response {
	return Response{Message: message, Data: data}
}

// Handler is a registered function's implementation, made by [Func] or by
// converting a function to [HandlerFunc].
type Handler interface {
	call(c echo.Context, data json.RawMessage) Result
	// types returns the input and output types; nil for untyped handlers.
	types() (in, out reflect.Type)
}

func (h HandlerFunc) call(c echo.Context, data json.RawMessage) Result {
	return Result{Response: h(c, data)}
}

func (h HandlerFunc) types() (in, out reflect.Type) { return nil, nil }

// Func makes a typed handler. The request's data is decoded into In with
// encoding/json ("null" or absent data leaves In's zero value); data that
// does not decode is answered 400 without calling fn. When the Echo
// instance has a Validator and In is a struct or a pointer to one, the
// input is validated first, and a failure is answered 400.
//
// fn's result is the envelope's data, with a null message. An error
// returned by fn is answered by its kind:
//   - an [*Error] (see [FailWith], [Failf]) is an application failure:
//     ok:false with its message and data, HTTP 200 unless it sets a status;
//   - an error that wraps [context.DeadlineExceeded] is answered 504;
//   - any other error is logged with c.Logger() and answered 500
//     "Internal error.", with nothing of its text sent to the caller.
func Func[In, Out any](fn func(c echo.Context, in In) (Out, error)) Handler {
	if fn == nil {
		return nil
	}
	t := reflect.TypeFor[In]()
	validate := t.Kind() == reflect.Struct || (t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct)
	return &typedHandler[In, Out]{fn: fn, validate: validate}
}

type typedHandler[In, Out any] struct {
	fn       func(echo.Context, In) (Out, error)
	validate bool
}

func (h *typedHandler[In, Out]) types() (in, out reflect.Type) {
	return reflect.TypeFor[In](), reflect.TypeFor[Out]()
}

func (h *typedHandler[In, Out]) call(c echo.Context, data json.RawMessage) Result {
	var in In
	if err := json.Unmarshal(data, &in); err != nil {
		return Result{Response: Fail(decodeMessage(err), nil), Status: http.StatusBadRequest}
	}
	if h.validate {
		if v := c.Echo().Validator; v != nil {
			if err := v.Validate(in); err != nil {
				return Result{Response: Fail(validationMessage(err), nil), Status: http.StatusBadRequest}
			}
		}
	}
	out, err := h.fn(c, in)
	if err != nil {
		return errorOutcome(err)
	}
	return Result{Response: Response{OK: true, Data: out}}
}

// errorOutcome sorts a handler's error into its class.
func errorOutcome(err error) Result {
	var e *Error
	if errors.As(err, &e) {
		return Result{Response: Fail(e.Message, e.Data), Status: e.status()}
	}
	return Result{Err: err}
}

// decodeMessage says why data did not decode, without Go's "json: " prefix.
func decodeMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		where := ""
		if te.Field != "" {
			where = " at " + te.Field
		}
		return fmt.Sprintf("Invalid data: %s%s cannot be decoded into %s.", te.Value, where, te.Type)
	}
	return "Invalid data: " + strings.TrimPrefix(err.Error(), "json: ") + "."
}

// validationMessage takes the message of an echo.HTTPError, which is how
// Echo's documented validators report, or else the error's text.
func validationMessage(err error) string {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return "Invalid data: " + fmt.Sprint(he.Message)
	}
	return "Invalid data: " + err.Error()
}

// handlerOf turns a Funcs value into a Handler, or panics naming the
// function.
func handlerOf(name string, v any) Handler {
	switch h := v.(type) {
	case func(echo.Context, json.RawMessage) Response:
		if h != nil {
			return HandlerFunc(h)
		}
	case HandlerFunc:
		if h != nil {
			return h
		}
	case Handler:
		if h != nil && !reflect.ValueOf(h).IsNil() {
			return h
		}
	case nil:
	default:
		panic(fmt.Sprintf("echorpc: function %q has type %T; want func(echo.Context, json.RawMessage) echorpc.Response or echorpc.Func(...)", name, v))
	}
	panic(fmt.Sprintf("echorpc: function %q is nil", name))
}

// function is a registered function with the rules that guard it.
type function struct {
	name       string
	nameValue  any // name, boxed once for echo.Context.Set
	handler    Handler
	invoke     CallFunc // handler wrapped in interceptors
	rules      rules
	timeout    time.Duration
	doc        string
	idempotent bool
}

// Option sets a rule for the functions registered in one call of
// [RPC.Functions], on top of the instance's own rules.
type Option func(*scope)

// scope is what Options set.
type scope struct {
	intercept  []Interceptor
	rules      rules
	timeout    time.Duration
	doc        string
	idempotent bool
}

// WithSessionAuth requires, for these functions only, that every key holds
// in the session (see [SessionKeyIn]).
func WithSessionAuth(keys ...SessionKey) Option {
	return func(s *scope) { s.rules.session = append(s.rules.session, compileSessionKeys(keys)...) }
}

// WithHostAuth requires, for these functions only, that the request's Host
// is one of hosts. See Config.HostAuth for what this does and does not prove.
func WithHostAuth(hosts ...string) Option {
	return func(s *scope) { s.rules.hosts = append(s.rules.hosts, compileHosts(hosts)...) }
}

// WithRemoteAuth requires, for these functions only, that the caller's
// address is in one of the CIDR prefixes. See Config.RemoteAuth.
func WithRemoteAuth(prefixes ...string) Option {
	return func(s *scope) { s.rules.remote = append(s.rules.remote, compilePrefixes(prefixes)...) }
}

// WithTimeout bounds these functions' calls: the request's context is
// cancelled after d, and a handler that returns the context's error is
// answered 504. It replaces Config.Timeout for them.
func WithTimeout(d time.Duration) Option {
	return func(s *scope) { s.timeout = d }
}

// WithDoc describes these functions for the manifest and the TypeScript
// declarations (as a doc comment).
func WithDoc(doc string) Option {
	return func(s *scope) { s.doc = doc }
}

// Idempotent declares that calling these functions twice with the same data
// does no more than calling them once, so a client may retry them. The
// manifest carries the flag.
func Idempotent() Option {
	return func(s *scope) { s.idempotent = true }
}
