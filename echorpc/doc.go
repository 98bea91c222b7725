// Package echorpc serves the weeRPC protocol of Flask-RPC from an Echo v4
// server: one POST route per instance, a JSON body that names a registered
// function and carries its data, and a small JSON envelope in reply. Every
// instance also serves a browser client at Prefix/client.js (globals wrpc
// and weerpc) and Prefix/client.mjs, so a page needs one script tag. Every
// function also answers at its own URL, POST Prefix/<name> with its data as
// the whole body, and a function declared free of side effects with [Query]
// answers GET Prefix/<name>?data=<URL-encoded JSON> as well.
//
// # Quick start
//
//	package main
//
//	import (
//		"net/http"
//
//		"github.com/echo-rpc/wrpc/echorpc"
//		"github.com/go-playground/validator/v10"
//		"github.com/labstack/echo/v4"
//	)
//
//	// structValidator is Echo's e.Validator: without one, validate tags go unchecked.
//	type structValidator struct{ v *validator.Validate }
//
//	func (s structValidator) Validate(i any) error { return s.v.Struct(i) } // the error as it is
//
//	type Greeting struct {
//		Name string `json:"name" validate:"required"`
//	}
//
//	func main() {
//		e := echo.New()
//		e.Validator = structValidator{validator.New()}
//		rpc := echorpc.New(e.Group("/rpc/tester"), echorpc.Config{})
//		rpc.Functions(echorpc.Funcs{
//			"add_numbers": echorpc.Func(func(c echo.Context, in []float64) (float64, error) {
//				sum := 0.0
//				for _, n := range in {
//					sum += n
//				}
//				return sum, nil
//			}),
//			"hello": echorpc.Func(func(c echo.Context, in Greeting) (string, error) {
//				return "Hello " + in.Name + "!", nil // {} never gets here: 400, name is required
//			}),
//		})
//		e.GET("/", func(c echo.Context) error { return c.HTML(http.StatusOK, page) })
//		e.Logger.Fatal(e.Start("127.0.0.1:1323"))
//	}
//
//	const page = `<script src="/rpc/tester/client.js"></script>
//	<script>wrpc.call("add_numbers", [1, 2, 3]).then((sum) => document.body.append(sum))</script>`
//
// Handlers are made by [Func] (typed), [RawFunc] (untyped, answering with
// [Success](message, data) or [Fail](message, data)) and [Stream]
// (server-sent events). A typed handler fails with an [*Error] (&Error{Message: ...},
// or [InvalidData] for field errors of its own), or with Echo's
// echo.NewHTTPError, answered with its status and message. A
// go-playground/validator error reaches the caller as field errors, whether
// the validator returns it as is or wrapped in an *echo.HTTPError as Echo's
// guide writes it. Session rules ([WithSessionAuth], Config.SessionAuth) read
// echo-contrib's session.Get, so they need its session.Middleware.
//
// # The wire contract
//
// A request is a JSON object with a version key, the function's name and
// its data (absent data is null):
//
//	{"weerpc": 1.1, "function": "add_numbers", "data": [1, 2, 3]}
//	{"wrpc": 1.0, "function": "add_numbers", "data": [1, 2, 3]}
//
// Every reply of the route, success or failure, is an envelope in the
// request's dialect (1.1 when the request has no valid version) with
// exactly four keys; message and data are null when there are none, and
// data is never altered (0, "", false and [] go back as they are):
//
//	{"weerpc": 1.1, "ok": true, "message": null, "data": 6}
//
// Top-level keys match exactly ("Function" is an unknown key, and unknown
// keys are ignored); a repeated key, invalid UTF-8, data after the object,
// and nesting deeper than Config.MaxDepth are refused; the version is
// compared as a number (1.10 is 1.1, "1.1" is not). Data reaches an
// untyped handler byte for byte. Typed data and replies follow
// encoding/json/v2 (github.com/go-json-experiment/json): exact names, a
// repeated name at any depth refused, unknown names ignored unless
// Config.RefuseUnknownFields, nil slices sent as [] and nil maps as {}.
// Data that does not decode or validate is a 400 whose data lists each
// problem: {"errors": [{"path": "items.2.qty", "rule": "min", "param": "1",
// "message": "must be at least 1"}]}.
//
// A batch is a JSON array of requests (Config.MaxBatch), answered by an
// array of envelopes in its order, each with a fifth key, "status". Its
// items run at once; with Accept: text/event-stream each item's envelope
// comes instead as soon as it is done, as an "item" server-sent event with
// a sixth key, "index", its place in the batch:
//
//	event: item
//	data: {"weerpc":1.1,"ok":true,"message":null,"data":3,"status":200,"index":1}
//
// The array carries the headers and cookies the items set; a streamed
// batch cannot, so an item that sets one is answered 406 ("call it
// alone"), and logged.
//
// # Statuses
//
//	failure                                        status  message
//	over Config.MaxInFlight                        503     Server is busy: try again later. (Retry-After: 1)
//	cross-origin browser request                   403     Forbidden: the request came from another origin.
//	no functions registered                        404     No functions registered.
//	a session rule fails                           401     Unauthorized.
//	the session store fails                        503     Session store is unavailable: ... (Retry-After: 1)
//	a host or address rule fails                   403     Unauthorized (<host or address>)
//	Content-Type not JSON                          415     Request must be JSON.
//	body too large (Config.BodyLimit)              413     Request body is too large.
//	batch longer than Config.MaxBatch              413     Batch has more than N calls. (data {"maxBatch": N})
//	a batch (an array) with batching off           400     Batches are off on this instance: ... (data {"maxBatch": 0})
//	body empty, {} or null                         400     Request must not be empty.
//	body not JSON, not an object, or refused       400     says which
//	version missing or wrong                       400     Invalid weerpc version.
//	function missing or not a string               400     Invalid request.
//	function not registered                        404     Invalid function.
//	malformed Wrpc-Timeout-Ms header               400     Invalid Wrpc-Timeout-Ms header.
//	malformed Idempotency-Key (see Idempotent)     400     Invalid Idempotency-Key header: ...
//	Idempotency-Key in a batch or with files       400     Idempotency-Key names one call: ...
//	the key's first call still running            409     A call with this Idempotency-Key is still running: ... (Retry-After: its lease's seconds)
//	the key used before with other data            422     This Idempotency-Key was used for a call with other data.
//	the idempotency store cannot be reached        503     Idempotency store is unavailable: try again later. (Retry-After: 1)
//	a retry of a key's finished call               its     the stored envelope (Idempotent-Replayed: true)
//	typed data does not decode or validate         400     Invalid data: ...
//	stream without Accept: text/event-stream       406     This function streams: ...
//	over Config.MaxStreams                         503     Too many open streams: try again later.
//	any method but POST (OPTIONS answers 204)      405     Method not allowed: weeRPC requests use POST.
//	GET at the URL of a function not a Query       405     Method not allowed: this function is not a query; ...
//	a method but GET or HEAD on a served file      405     Method not allowed: this file is read with GET.
//	a description with Config.Manifest off         404     Not found: this instance serves no descriptions ...
//	application failure (Fail, *Error)             200     the handler's
//	*echo.HTTPError from a typed handler           code    its message
//	handler error or panic                         500     Internal error.
//	deadline exceeded, or passed before the call   504     Deadline exceeded.
//
// A program reads the batch limits from data.maxBatch (or the manifest's
// maxBatch), never from the message. A handler's or an interceptor's field
// errors are [FieldError] values ([InvalidData]), and a [Client] call's
// [*Error] carries a failing reply's field errors in Errors.
//
// Checks run in this order: load, origin, no functions, the instance's
// session, host and address rules, content type, body, version, function,
// the function's own rules, the deadline, then the call; a function's URL
// runs the same checks (a GET of a query skips origin, content type and
// body). Handler errors never reach Echo's HTTPErrorHandler, so nothing of
// their text reaches the caller; messages that repeat caller input are cut
// to 128 bytes.
//
// # Beyond Flask-RPC
//
//	feature                                     where
//	typed handlers, field errors                Func, Config.RefuseUnknownFields
//	streaming over server-sent events           Stream, Client.Stream, Config.MaxStreams
//	manifest and TypeScript from the Go types   Config.Manifest, RPC.TypeScript
//	interceptors seeing calls and refusals      Interceptor, Call, Result.Class
//	Prometheus metrics                          package echorpcprom
//	OpenTelemetry tracing                       package echorpcotel
//	functions as tools for AI agents (MCP)      package echorpcmcp
//	one deadline per request, from the caller   Wrpc-Timeout-Ms, Config.Timeout, Config.MaxCallerTimeout
//	retries of idempotent functions only        Idempotent, Client, Retry
//	batching (items carry a fifth key, status)  Config.MaxBatch, Config.BatchConcurrency
//	streamed batches (each item as it is done)  Accept: text/event-stream, Client.Batch
//	Idempotency-Key: retries that never write twice  Idempotent, Config.IdempotencyStore, package idempotency
//	load shedding                               Config.MaxInFlight
//	every function at its own URL (REST)        POST Prefix/<name>
//	cacheable GET for side-effect-free calls    Query (ETag, Cache-Control)
//	OpenAPI 3.1 at Prefix/openapi.json          Config.Manifest
//
// # Safety
//
// Instances refuse cross-origin browser requests (net/http's
// CrossOriginProtection, plus Origins with userinfo) before the session is
// read or the body parsed, and accept only JSON content types, which a
// form or a no-cors fetch cannot send; see Config.TrustedOrigins. Host
// rules are routing rules, not authentication: see Config.HostAuth, and
// Config.RemoteAuth for a rule on the caller's address. GET runs no
// cross-origin check (any page can make a browser send one), which is why
// only a [Query], a function that writes nothing, answers it. A 504 or a
// network failure does not prove that a function did not run, which is why
// the clients retry only idempotent functions, sending an Idempotency-Key
// that makes a retry of a function that writes answer with the first
// try's outcome (see [Idempotent]).
//
// The repository's README.md covers the browser client, the example app and
// running in production.
package echorpc
