package echorpc

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/labstack/echo/v4"
)

// Funcs maps the names that callers use to the functions that answer them,
// like the keyword arguments of Flask-RPC's rpc.functions. The name is the
// map key, so "subtract" may call subtractNumbers. A value is made by
// [Func] (typed), [RawFunc] (untyped) or [Stream] (streaming).
type Funcs map[string]Handler

// Handler is a registered function's implementation, made by [Func],
// [RawFunc] or [Stream].
//
// A plain Go function is not a Handler: wrap it, as in
// echorpc.Func(myFunc). The compiler then says that the function lacks the
// method aHandlerMadeByFuncRawFuncOrStream.
type Handler interface {
	// aHandlerMadeByFuncRawFuncOrStream marks the types that Func, RawFunc
	// and Stream make, and names them in the compiler's error when a plain
	// function is given instead.
	aHandlerMadeByFuncRawFuncOrStream()
	// call runs the function on a request's raw data.
	call(c echo.Context, data json.RawMessage, env callEnv) Result
	// types returns the input and output types; nil for untyped handlers.
	types() (in, out reflect.Type)
}

// RawFunc is an untyped, Flask-like handler: it gets the request's data as
// raw JSON, byte for byte ("null" when the request has none), and answers
// with [Success] or [Fail]. Convert a function to register it:
//
//	echorpc.Funcs{"echo": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response {
//		return echorpc.Success("", data)
//	})}
type RawFunc func(c echo.Context, data json.RawMessage) Response

func (h RawFunc) call(c echo.Context, data json.RawMessage, _ callEnv) Result {
	return Result{Response: h(c, data)}
}

func (h RawFunc) types() (in, out reflect.Type) { return nil, nil }

func (RawFunc) aHandlerMadeByFuncRawFuncOrStream() {}

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

// Success returns a successful answer with a message ("" for none) and
// data, as Flask-RPC's RPCResponse.success(data, message).
func Success(message string, data any) Response {
	return Response{OK: true, Message: message, Data: data}
}

// Fail returns an application failure with a message and data (nil for
// none), as Flask-RPC's RPCResponse.fail. The reply's HTTP status is 200.
func Fail(message string, data any) Response {
	return Response{Message: message, Data: data}
}

// Func makes a typed handler. The request's data is decoded into In with
// encoding/json/v2 semantics (exact names; a repeated name, invalid UTF-8,
// or with [RefuseUnknownFields] an unknown name, refused; see the package
// doc), and "null" or absent data leaves In's zero value: for a pointer In,
// nil reaches fn. When the Echo instance has a Validator and In is a struct
// or a non-nil pointer to one, the input is validated first. Data that does
// not decode or validate is answered 400 without calling fn, with a field
// error for each problem in the reply's data:
//
//	{"errors": [{"path": "items.2.qty", "rule": "min", "param": "1", "message": "must be at least 1"}]}
//
// fn's result is the envelope's data, with a null message. An error
// returned by fn is answered by its kind:
//   - an [*Error] is an application failure: ok:false with
//     its message and data, HTTP 200 unless it sets a status;
//   - an *echo.HTTPError is answered with its code and message, as Echo
//     would (a message that is not a string goes into data); its Internal
//     error is logged, never sent;
//   - an error that wraps [context.DeadlineExceeded] is answered 504;
//   - any other error is logged with c.Logger() and answered 500
//     "Internal error.", with nothing of its text sent to the caller.
//
// In and Out must be types that JSON can carry: a channel, function,
// complex number or time.Duration (which encoding/json/v2 has no default
// form for) anywhere in them panics at registration, naming the function.
func Func[In, Out any](fn func(c echo.Context, in In) (Out, error)) Handler {
	if fn == nil {
		return nil
	}
	return &typedHandler[In, Out]{fn: fn, validate: validates[In](), fast: fastDecoder[In]()}
}

// validates reports whether e.Validator applies to In: a struct, or a
// pointer to one.
func validates[In any]() bool {
	t := reflect.TypeFor[In]()
	return t.Kind() == reflect.Struct || (t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct)
}

type typedHandler[In, Out any] struct {
	fn       func(echo.Context, In) (Out, error)
	validate bool
	fast     func([]byte, *In) bool // see fastdecode.go; nil for most types
}

func (*typedHandler[In, Out]) aHandlerMadeByFuncRawFuncOrStream() {}

func (h *typedHandler[In, Out]) types() (in, out reflect.Type) {
	return reflect.TypeFor[In](), reflect.TypeFor[Out]()
}

func (h *typedHandler[In, Out]) call(c echo.Context, data json.RawMessage, env callEnv) Result {
	var in In
	if h.fast == nil || !h.fast(data, &in) {
		var failure *Error
		if in, failure = decodeInput[In](c, data, env, h.validate); failure != nil {
			return Result{Err: failure}
		}
	}
	out, err := h.fn(c, in)
	if err != nil {
		return Result{Err: err} // settled by the chain: see settle
	}
	return Result{Response: Response{OK: true, Data: out}}
}

// decodeInput decodes and validates a typed function's data, or returns
// the failure that refuses it.
func decodeInput[In any](c echo.Context, data []byte, env callEnv, validate bool) (in In, failure *Error) {
	strictIndex := 0
	if env.strict {
		strictIndex = 1
	}
	opts := decodeOptions[strictIndex]
	if env.fn != nil && env.fn.files {
		opts = jsonv2.JoinOptions(opts, jsonv2.WithUnmarshalers(env.files.unmarshalers()))
	}
	if err := jsonv2.Unmarshal(data, &in, opts); err != nil {
		if fe, ok := fileFieldErrors(err); ok {
			return in, InvalidData(fe...)
		}
		return in, InvalidData(decodeError(err)...)
	}
	if !validate {
		return in, nil
	}
	v := c.Echo().Validator
	if v == nil {
		env.fn.warnNoValidator(c)
		return in, nil
	}
	if rv := reflect.ValueOf(&in).Elem(); rv.Kind() != reflect.Pointer || !rv.IsNil() {
		if err := v.Validate(in); err != nil {
			return in, validationError(err, reflect.TypeFor[In]())
		}
	}
	return in, nil
}

// warnNoValidator logs, once per function, that its input has validate
// tags that nothing checks, because the Echo instance has no Validator.
func (fn *function) warnNoValidator(c echo.Context) {
	if fn == nil || !fn.validateTags {
		return
	}
	fn.warned.Do(func() {
		c.Logger().Errorf("echorpc: function %q: its input has validate tags, but the Echo instance has no Validator (set e.Validator), so they are not checked", fn.name)
	})
}

// callEnv is what a handler needs to know of the call beyond its data.
type callEnv struct {
	strict  bool    // refuse unknown names in typed data
	dialect dialect // the request's, for a stream's envelopes
	rpc     *RPC
	fn      *function
	files   *fileSet       // a multipart call's files
	frames  *channelStream // the stream's channel, nil when it has its own response
}

// function is a registered function with what guards and wraps it.
type function struct {
	strict     bool // refuse unknown names in typed data
	name       string
	nameValue  any // name, boxed once for echo.Context.Set
	handler    Handler
	invoke     CallFunc // handler wrapped in interceptors
	rules      rules
	timeout    time.Duration
	doc        string
	idempotent bool
	stream     bool
	query      bool          // free of side effects: also answers GET
	maxAge     time.Duration // a query's Cache-Control max-age
	vary       []string      // the request headers a query's answer depends on
	// validateTags is set when the input type has validate tags, and
	// warned once the missing Validator has been logged.
	validateTags bool
	warned       sync.Once
	// files is set when the input can hold a File (see files.go), with
	// the limits of its uploads; download when the output is a File.
	files      bool
	fileLimits FileLimits
	download   bool
}

// Option sets something for the functions registered in one call of
// [RPC.Functions], on top of the instance's Config.
type Option func(*scope)

// scope is what Options set.
type scope struct {
	query      bool
	maxAge     time.Duration
	vary       []string
	strict     bool
	intercept  []Interceptor
	rules      rules
	timeout    time.Duration
	doc        string
	idempotent bool
	files      *FileLimits // WithFiles
}

// WithSessionAuth requires, for these functions only, that the session's
// value at key equals one of values, as Config.SessionAuth does for all.
func WithSessionAuth(key string, values ...any) Option {
	rule := compileSessionRule(key, values)
	return func(s *scope) { s.rules.session = append(s.rules.session, rule) }
}

// WithHostAuth requires, for these functions only, that the request's Host
// is one of hosts. See Config.HostAuth for what this does and does not prove.
func WithHostAuth(hosts ...string) Option {
	compiled := compileHosts(hosts)
	return func(s *scope) { s.rules.hosts = append(s.rules.hosts, compiled...) }
}

// WithRemoteAuth requires, for these functions only, that the caller's
// address is in one of the CIDR prefixes. See Config.RemoteAuth.
func WithRemoteAuth(prefixes ...string) Option {
	compiled := compilePrefixes(prefixes)
	return func(s *scope) { s.rules.remote = append(s.rules.remote, compiled...) }
}

// WithTimeout bounds these functions' calls: the request's context is
// cancelled d after the request arrived, and a handler that returns the
// context's error is answered 504. It replaces Config.Timeout for them.
func WithTimeout(d time.Duration) Option {
	return func(s *scope) { s.timeout = d }
}

// WithDoc describes these functions for the manifest and the TypeScript
// declarations (as a doc comment).
func WithDoc(doc string) Option {
	return func(s *scope) { s.doc = doc }
}

// Idempotent declares that these functions may be retried: calling them
// twice with the same data does no more than calling them once, or the
// caller sends an Idempotency-Key header (the IETF httpapi draft) that
// makes it so. The manifest carries the flag, and both clients send a key
// on every call of such a function, the same on each retry.
//
// The instance takes the key (of 16 to 255 characters, as a Structured
// Field string "..." or a bare token) on a single call (not in a batch, not
// with files) of these functions, unless they are queries or streams: the
// first call with a key runs and its outcome is kept in
// Config.IdempotencyStore for Config.IdempotencyTTL; a retry with the same
// key and data is answered with it, without running the function, with
// the header Idempotent-Replayed: true. A retry while the first call runs
// is answered 409 with Retry-After, a key used again with other data 422,
// a malformed key 400, and a store that cannot be reached 503. A call
// without a key runs as any call.
//
// Keys are scoped by instance, function and caller
// (Config.IdempotencyCaller), and a replay passes the same rules as a call.
// The handler reads the call's key with idempotency.Key(c), to store it
// with its write, in one transaction: see package idempotency.
func Idempotent() Option {
	return func(s *scope) { s.idempotent = true }
}

// WithInterceptors wraps these functions' calls, inside the instance's
// Config.Interceptors; the first given is outermost.
func WithInterceptors(interceptors ...Interceptor) Option {
	return func(s *scope) { s.intercept = append(s.intercept, interceptors...) }
}

// RefuseUnknownFields refuses, for these functions, typed data with a name
// that In does not have (400, with an "unknown" field error), as
// Config.RefuseUnknownFields does for all. By default unknown names are
// ignored, so that a newer page can call an older server.
func RefuseUnknownFields() Option {
	return func(s *scope) { s.strict = true }
}

// Query declares these functions free of side effects: calling them reads
// and never writes, which is stronger than [Idempotent] (an idempotent
// function may write) and implies it. A query also answers
// GET (and HEAD) Prefix/<name>?data=<URL-encoded JSON>, with an ETag
// computed from the reply (If-None-Match is answered 304) and a
// Cache-Control with max-age maxAge; with maxAge 0 the reply is
// "no-store". The answer is "private" (kept by the browser, never by a
// shared cache) when a session or address rule guards the function or the
// request carries a Cookie or an Authorization header, and "public"
// otherwise; Vary names the headers the answer may depend on. List in vary
// the request headers that the functions read ("Accept-Language", say), so
// that caches keep one answer per value: naming Cookie or Authorization
// makes every answer private.
//
// GET runs no cross-origin check, which is safe only because a query
// changes nothing: never declare a function that writes as a query. The
// manifest marks queries, and the JS client can use GET for them.
func Query(maxAge time.Duration, vary ...string) Option {
	canonical := make([]string, len(vary))
	for i, h := range vary {
		canonical[i] = http.CanonicalHeaderKey(h)
	}
	return func(s *scope) {
		s.query, s.maxAge, s.idempotent = true, maxAge, true
		s.vary = append(s.vary, canonical...)
	}
}
