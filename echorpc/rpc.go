package echorpc

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/gommon/log"

	"github.com/echo-rpc/wrpc/echorpc/idempotency"
)

// Router is where an instance registers its routes. Both *echo.Echo and
// *echo.Group satisfy it, as a Flask-RPC instance takes an app or a
// blueprint.
type Router interface {
	Add(method, path string, handler echo.HandlerFunc, middleware ...echo.MiddlewareFunc) *echo.Route
}

// Config configures an RPC instance.
type Config struct {
	// Prefix is the instance's path below the router: the RPC route is
	// POST Prefix, and the client script is served at Prefix/client.js. It
	// starts with "/" and has no "?" or "#"; a trailing "/" is dropped.
	// Optional on an *echo.Group, where the default "" is the group's own
	// path; required on an *echo.Echo, so that an instance never takes over
	// the app's root.
	Prefix string

	// Functions are registered as by [RPC.Functions] with no options.
	// Optional.
	Functions Funcs

	// SessionName is the name of the session that session rules read,
	// through echo-contrib's session.Get.
	// Optional. Default "session".
	SessionName string

	// SessionAuth is a rule that every function of the instance needs: the
	// session's value at each key must equal one of the key's values, as
	// with Flask-RPC's RPCAuthSessionKey("logged_in", [True]):
	//
	//	SessionAuth: map[string][]any{"logged_in": {true}, "role": {"admin", "owner"}}
	//
	// Values compare as JSON would: true matches true, and 100 matches 100
	// whether it is stored as an int or a float64; a missing key never
	// matches. A request that fails is answered 401 "Unauthorized.". Session
	// rules need echo-contrib's session middleware; without it, a call is
	// answered 500 and logged. A session store that fails is answered 503
	// with Retry-After, and logged. See also [WithSessionAuth].
	// Optional. Default none.
	SessionAuth map[string][]any

	// HostAuth lists the hosts (name and port, as in the Host header, such
	// as "127.0.0.1:5000") that every function of the instance may be
	// called at; any other Host is answered 403. The port is dropped when
	// it is the scheme's default, as Werkzeug does, and names compare
	// without regard to case.
	//
	// The client chooses its Host header, so this is a routing rule, not
	// authentication. It does defend against DNS rebinding: an attacker's
	// page whose name is rebound to 127.0.0.1 is same-origin to the browser
	// and passes the cross-origin check, but its Host is the attacker's name.
	// Optional. Default any host.
	HostAuth []string

	// RemoteAuth lists CIDR prefixes ("127.0.0.0/8", "::1/128", or a bare
	// address) that the caller's address must be in; any other caller is
	// answered 403. The address is the one Echo's IPExtractor returns when
	// the app set one, and otherwise the TCP peer address: never the
	// X-Forwarded-For header that echo.Context.RealIP falls back to, which
	// any client can send. Behind a reverse proxy, set e.IPExtractor (for
	// example echo.ExtractIPFromXFFHeader with the proxy's range trusted).
	// IPv4-mapped IPv6 addresses match their IPv4 prefixes; an address that
	// does not parse never matches. A bad prefix panics at start-up.
	// Optional. Default any address.
	RemoteAuth []string

	// TrustedOrigins are origins ("https://app.example.com", exactly
	// scheme://host[:port]) whose browser pages may call the instance
	// although they are not its own origin, for an SPA served elsewhere
	// (the app then needs its own CORS middleware). A malformed origin
	// panics at start-up.
	// Optional. Default none: cross-origin browser requests are refused.
	TrustedOrigins []string

	// InsecureSkipOriginCheck turns the cross-origin check off, so that any
	// web page the user visits can make the user's browser call this
	// instance with the user's cookies. A warning is logged at start-up.
	// Optional. Default false.
	InsecureSkipOriginCheck bool

	// BodyLimit is the largest request body, in bytes; a larger one is
	// answered 413 while it is read.
	// Optional. Default 1 MiB.
	BodyLimit int64

	// MaxDepth is the deepest nesting of arrays and objects in a request
	// body (the envelope's object is level 1); a deeper body is answered
	// 400 before any of it is decoded.
	// Optional. Default 64.
	MaxDepth int

	// Name names the instance in its manifest and its TypeScript interface,
	// so it must be a TypeScript identifier.
	// Optional. Default "API".
	Name string

	// Manifest serves three descriptions of the functions:
	//   - GET Prefix/manifest.json: each function's input and output as
	//     JSON Schema, description, idempotent, query and stream flags and
	//     the kinds of rule that guard it, and the instance's maxBatch. It
	//     answers for the caller: each function says whether the caller's
	//     session, host and address may call it, and a function the caller
	//     may not call is left out, unless ManifestListAll is set;
	//   - GET Prefix/client.d.ts: what [RPC.TypeScript] returns, of the
	//     functions the caller may call only;
	//   - GET Prefix/openapi.json: an OpenAPI 3.1 document of the URLs (see
	//     [Query]) of the functions the caller may call.
	// All three answer for the caller, so they go out Cache-Control
	// no-store with Vary: Cookie.
	// Optional. Default false.
	Manifest bool

	// ManifestListAll lists, in the manifest, the functions that the caller
	// may not call too, marked "allowed": false. client.d.ts and
	// openapi.json still leave them out.
	// Optional. Default false.
	ManifestListAll bool

	// Console serves a page at GET Prefix/console to explore and call the
	// functions: it lists those the caller may call (read from
	// Prefix/manifest.json, so it needs Manifest), with their docs and
	// types, renders a form from each input's schema beside a raw JSON
	// editor, calls the function as the browser client does (GET for
	// queries, a live view for streams), shows the envelope, the status,
	// the timing and the field errors at their fields, and copies the call
	// as curl, fetch and Go. Its script and style are embedded and served
	// at Prefix/console.js and Prefix/console.css, from the app's origin:
	// no CDN, no inline script or style, so a strict Content-Security-Policy
	// allows it. The page calls with the visitor's cookies and shows only
	// what the manifest already shows them. With Console set, a function
	// named "console" panics at registration, and so does Console without
	// Manifest.
	// Optional. Default false: no route, nothing loaded.
	Console bool

	// MaxBatch turns batching on: a JSON array of up to MaxBatch requests in
	// one POST is answered with an array of envelopes in the same order, each
	// call checked under its own function's rules, and each envelope with a
	// fifth key, "status", its HTTP status. A longer array is refused whole
	// with 413. With batching off, an array is a 400 like any non-object.
	//
	// A batch's items run at once (up to BatchConcurrency), each on its own
	// echo.Context and under the request's one deadline. A caller that
	// sends Accept: text/event-stream gets each item's envelope as soon as
	// that item is done, as a server-sent event tagged with its index
	// ("index"), instead of the array; an item of such a streamed batch
	// whose function sets a header or cookie (a login) is answered 406 and
	// logged, for its headers cannot follow the stream's: call it alone.
	// In the array, the headers and cookies the items set go with it.
	// Optional. Default 0 (off).
	MaxBatch int

	// BatchConcurrency bounds the items of one batch that run at once; the
	// others wait their turn, under the same deadline. Each item that runs
	// counts against MaxInFlight (see there); 1 runs them one after another.
	// Optional. Default 8.
	BatchConcurrency int

	// MaxCallerTimeout is the longest deadline a caller may ask for with the
	// Wrpc-Timeout-Ms header, in whole milliseconds; a longer one is cut to
	// it. A caller's deadline only ever shortens the server's own.
	// Optional. Default 0: no maximum.
	MaxCallerTimeout time.Duration

	// Interceptors wrap every call of the instance, the first outermost,
	// around the interceptors given to [RPC.Functions] with
	// [WithInterceptors]. They see each call's function and data and its
	// result, and each refusal; see [Interceptor].
	// Optional. Default none.
	Interceptors []Interceptor

	// MaxStreams bounds the streams (see [Stream]) open at once on the
	// instance; one more is answered 503 "Too many open streams: try again
	// later." with Retry-After: 1, before it starts.
	// Optional. Default 0 (no bound).
	MaxStreams int

	// DisableChannel turns off the shared stream connection: the WebSocket
	// at Prefix/channel.ws that carries every stream of a page, each an id
	// within it, so that a page's streams do not each take one of the six
	// HTTP/1.1 connections a browser allows per origin (see [Stream]). The
	// clients then give each stream its own request, as they do with a
	// server that does not offer it.
	// Optional. Default false: the channel is on.
	DisableChannel bool

	// MaxChannels bounds the shared stream connections open at once; one
	// more is answered 503 "Too many open stream connections: try again
	// later." before the upgrade, and the clients fall back to a request
	// per stream. MaxStreams still counts each stream of a channel.
	// Optional. Default 0 (no bound).
	MaxChannels int

	// MaxChannelStreams bounds the streams open at once on one shared
	// stream connection, as HTTP/2 bounds a connection's concurrent
	// streams: without it, one connection could open streams (and their
	// goroutines) without end. One more is answered 503 "Too many open
	// streams on this connection: try again later." with retryAfter, at
	// once, before any goroutine starts for it; the connection's other
	// streams go on. MaxStreams still bounds the instance's streams.
	// Optional. Default 1,000; negative: no bound.
	MaxChannelStreams int

	// StreamPing is how often an idle stream gets a comment line (": ping"),
	// so that proxies and browsers keep it open.
	// Optional. Default 15s; a negative value sends none.
	StreamPing time.Duration

	// StreamWriteTimeout drops a stream whose caller has not taken an
	// event within it (a consumer that stopped reading), so that it does
	// not pin the server's memory; the handler's send then fails.
	// Optional. Default 10s.
	StreamWriteTimeout time.Duration

	// RefuseUnknownFields refuses typed data with a name that the
	// function's input type does not have (400, with an "unknown" field
	// error). See also [RefuseUnknownFields].
	// Optional. Default false: unknown names are ignored, so that a newer
	// page can call an older server.
	RefuseUnknownFields bool

	// MaxInFlight bounds the requests that the instance runs at once. A
	// request over it is answered at once, without running, with 503
	// "Server is busy: try again later." and Retry-After: 1, which both
	// clients honour. A batch counts each of its items that runs at once:
	// it is admitted on one slot, and takes one more for each further item
	// it runs at once (up to BatchConcurrency) while slots are free when it
	// starts; with none free, its items take turns on its one slot.
	// Optional. Default 0 (no bound).
	MaxInFlight int

	// Timeout bounds every call: the request's context is cancelled after
	// it, and a handler that returns the context's error is answered 504.
	// [WithTimeout] sets it for some functions.
	// Optional. Default 0 (no bound).
	Timeout time.Duration

	// Files bounds the uploads of the functions whose input holds a [File]
	// (see [FileLimits]); [WithFiles] sets them for some functions.
	// Optional. Default: each zero field as FileLimits documents.
	Files FileLimits

	// IdempotencyStore keeps the outcomes of calls made with an
	// Idempotency-Key header, for the functions that take keys (see
	// [Idempotent]). A fleet of instances needs one they share, such as
	// package idemredis's Redis store, so that a retry sent to another
	// instance finds the outcome.
	// Optional. Default idempotency.NewMemory(0, 0): in this instance's
	// memory, at most 10,000 keys and 32 MiB.
	IdempotencyStore idempotency.Store

	// IdempotencyTTL is how long an outcome is kept, so how late a retry
	// may come and still be answered with it.
	// Optional. Default 24h.
	IdempotencyTTL time.Duration

	// IdempotencyCaller names the caller, for keys: an outcome is replayed
	// only to a call of the same instance, function and caller, so a caller
	// who learns another's key never gets that caller's answer. Return the
	// user's or the account's id.
	// Optional. Default: the value of the request's session cookie (the
	// cookie named SessionName) and of its Authorization header. A session
	// store that changes the cookie on every save (gorilla's CookieStore)
	// makes a retry that follows a save a new call: set this then.
	IdempotencyCaller func(c echo.Context) string
}

// DefaultConfig holds the defaults that [New] fills in.
var DefaultConfig = Config{
	Name:               "API",
	SessionName:        "session",
	BodyLimit:          1 << 20,
	MaxDepth:           64,
	BatchConcurrency:   8,
	StreamPing:         15 * time.Second,
	StreamWriteTimeout: 10 * time.Second,
	MaxChannelStreams:  1000,
	IdempotencyTTL:     24 * time.Hour,
}

// RPC is one weeRPC instance: one POST route and the functions it calls.
// Make one with [New].
type RPC struct {
	config   Config
	path     string // the full path of the RPC route
	rules    rules
	origin   originGuard
	refuse   CallFunc // a refusal through the instance's interceptors
	inFlight slots    // requests running (MaxInFlight)
	open     slots    // streams open (MaxStreams)
	channels slots    // channels open (MaxChannels)
	streams  streamSet

	mu    sync.Mutex                           // serializes writers of funcs
	funcs atomic.Pointer[map[string]*function] // copied on write; read lock-free
	desc  atomic.Pointer[description]          // the registry's, made when asked for
	// maxFilesBody is the largest FileLimits.MaxBody of a function.
	maxFilesBody atomic.Int64
	// timed is set once a function has a timeout: requests then note
	// their arrival, which deadlines count from.
	timed atomic.Bool
}

// New makes an RPC instance and registers its routes on r: POST Prefix runs
// functions, OPTIONS Prefix answers 204 with Allow, any other method is
// answered 405 with an envelope, and GET Prefix/client.js and
// Prefix/client.mjs serve the browser client.
//
// A setup mistake (a bad prefix, origin, rule or function) panics, naming it.
func New(r Router, config Config) *RPC {
	config.Prefix = checkPrefix(r, config.Prefix)
	if config.Name == "" {
		config.Name = DefaultConfig.Name
	}
	if !tsIdent.MatchString(config.Name) {
		panic(fmt.Sprintf("echorpc: name %q is not a TypeScript identifier", config.Name))
	}
	if config.SessionName == "" {
		config.SessionName = DefaultConfig.SessionName
	}
	if config.BodyLimit <= 0 {
		config.BodyLimit = DefaultConfig.BodyLimit
	}
	if config.MaxDepth <= 0 {
		config.MaxDepth = DefaultConfig.MaxDepth
	}
	if config.BatchConcurrency <= 0 {
		config.BatchConcurrency = DefaultConfig.BatchConcurrency
	}
	if config.StreamPing == 0 {
		config.StreamPing = DefaultConfig.StreamPing
	}
	if config.StreamWriteTimeout <= 0 {
		config.StreamWriteTimeout = DefaultConfig.StreamWriteTimeout
	}
	if config.MaxChannelStreams == 0 {
		config.MaxChannelStreams = DefaultConfig.MaxChannelStreams
	}
	if config.IdempotencyStore == nil {
		config.IdempotencyStore = idempotency.NewMemory(0, 0)
	}
	if config.IdempotencyTTL <= 0 {
		config.IdempotencyTTL = DefaultConfig.IdempotencyTTL
	}
	base := defaultFileLimits
	base.MaxEnvelope = config.BodyLimit
	config.Files = config.Files.over(base)
	rpc := &RPC{
		config: config,
		rules: rules{
			session: compileSessionRules(config.SessionAuth),
			hosts:   compileHosts(config.HostAuth),
			remote:  compilePrefixes(config.RemoteAuth),
		},
		origin: newOriginGuard(config.TrustedOrigins, config.InsecureSkipOriginCheck),
		refuse: chain(refused, config.Interceptors),
	}
	empty := map[string]*function{}
	rpc.funcs.Store(&empty)
	if config.InsecureSkipOriginCheck {
		warnf(r, "echorpc: %s: InsecureSkipOriginCheck is set: any web page can make its visitors' browsers call these functions with their cookies", pathOf(config.Prefix))
	}

	if config.Console && !config.Manifest {
		panic(fmt.Sprintf("echorpc: %s: Console needs Manifest: the console reads manifest.json", pathOf(config.Prefix)))
	}
	rpc.mount(r, config.Prefix)
	if config.Functions != nil {
		rpc.Functions(config.Functions)
	}
	return rpc
}

// checkPrefix normalises a prefix, or panics on one that cannot be meant.
func checkPrefix(r Router, prefix string) string {
	if strings.ContainsAny(prefix, "?#") {
		panic(fmt.Sprintf("echorpc: prefix %q has a query or fragment: give a path", prefix))
	}
	if prefix != "" && !strings.HasPrefix(prefix, "/") {
		panic(fmt.Sprintf("echorpc: prefix %q must start with /", prefix))
	}
	prefix = strings.TrimRight(prefix, "/")
	if _, isEcho := r.(*echo.Echo); isEcho && prefix == "" {
		panic("echorpc: New on an *echo.Echo needs a Prefix, such as \"/rpc\": without one the instance would take over the app's root")
	}
	return prefix
}

// Functions registers funcs, guarded by the instance's rules and by opts.
// Registering a name twice, an empty name, or a nil handler panics with a
// message that names the function. It returns rpc, so calls chain.
func (rpc *RPC) Functions(funcs Funcs, opts ...Option) *RPC {
	var s scope
	s.timeout = rpc.config.Timeout
	s.strict = rpc.config.RefuseUnknownFields
	for _, o := range opts {
		o(&s)
	}
	rpc.mu.Lock()
	defer rpc.mu.Unlock()
	old := *rpc.funcs.Load()
	next := make(map[string]*function, len(old)+len(funcs))
	for name, f := range old {
		next[name] = f
	}
	for name, h := range funcs {
		if name == "" {
			panic("echorpc: a function has an empty name")
		}
		if name == consoleName && rpc.config.Console {
			panic(fmt.Sprintf("echorpc: function %q conflicts with the console at %s/console: rename it or turn Console off", name, rpc.path))
		}
		if _, dup := next[name]; dup {
			panic(fmt.Sprintf("echorpc: function %q is registered twice", name))
		}
		if h == nil || reflect.ValueOf(h).IsNil() {
			panic(fmt.Sprintf("echorpc: function %q is nil", name))
		}
		in, out := h.types()
		for _, t := range []reflect.Type{in, out} {
			if why := unencodable(t); why != "" {
				panic(fmt.Sprintf("echorpc: function %q: %s", name, why))
			}
		}
		fn := &function{name: name, nameValue: name, handler: h, rules: s.rules, timeout: s.timeout,
			doc: s.doc, idempotent: s.idempotent, strict: s.strict, stream: isStream(h), query: s.query,
			maxAge: s.maxAge, vary: s.vary, validateTags: in != nil && hasValidateTags(in)}
		rpc.takeFiles(fn, in, out, s.files)
		if fn.timeout > 0 {
			rpc.timed.Store(true)
		}
		env := callEnv{strict: s.strict, rpc: rpc, fn: fn}
		fn.invoke = chain(func(c echo.Context, call Call) Result {
			env := env
			env.dialect, env.files, env.frames = call.dialect, call.files, call.frames
			res := h.call(c, call.Data, env)
			if env.files != nil {
				res = env.files.settleStream(c, res) // filestream.go
			}
			return res
		}, rpc.config.Interceptors, s.intercept)
		next[name] = fn
	}
	rpc.funcs.Store(&next)
	return rpc
}

func pathOf(prefix string) string {
	if prefix == "" {
		return "(group root)"
	}
	return prefix
}

// warnf logs a start-up warning with the Echo logger when r is an
// *echo.Echo, and with gommon's default logger (Echo's default) otherwise.
func warnf(r Router, format string, args ...any) {
	if e, ok := r.(*echo.Echo); ok && e.Logger != nil {
		e.Logger.Warnf(format, args...)
		return
	}
	log.Warnf(format, args...)
}
