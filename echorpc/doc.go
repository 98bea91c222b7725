// Package echorpc serves the weeRPC protocol of Flask-RPC from an Echo v4
// server: one POST route per instance, a JSON body that names a registered
// function and carries its data, and a small JSON envelope in reply. Every
// instance also serves a browser client, so a page needs one script tag.
//
// # Quick start
//
//	e := echo.New()
//	e.Use(session.Middleware(sessions.NewCookieStore(key))) // for session rules
//
//	rpc := echorpc.New(e.Group("/rpc/tester"), echorpc.Config{})
//	rpc.Functions(echorpc.Funcs{
//		"add_numbers": echorpc.Func(func(c echo.Context, in []float64) (float64, error) {
//			sum := 0.0
//			for _, n := range in {
//				sum += n
//			}
//			return sum, nil
//		}),
//	})
//	rpc.Functions(echorpc.Funcs{"secret": secret},
//		echorpc.WithSessionAuth(echorpc.SessionKeyIn("logged_in", true)))
//
// and in the page:
//
//	<script src="/rpc/tester/client.js"></script>
//	<script>wrpc.call("add_numbers", [1, 2, 3]).then(sum => ...)</script>
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
// untyped handler byte for byte, so numbers keep their precision.
//
// # Statuses
//
//	failure                                        status  message
//	cross-origin browser request                   403     Forbidden: the request came from another origin.
//	no functions registered                        404     No functions registered.
//	a session rule fails                           401     Unauthorized.
//	a host or address rule fails                   403     Unauthorized (<host or address>)
//	Content-Type not JSON                          415     Request must be JSON.
//	body too large (Config.BodyLimit)              413     Request body is too large.
//	batch longer than Config.MaxBatch              413     Batch has more than N calls.
//	body empty, {} or null                         400     Request must not be empty.
//	body not JSON, not an object, or refused       400     says which
//	version missing or wrong                       400     Invalid weerpc version.
//	function missing or not a string               400     Invalid request.
//	function not registered                        404     Invalid function.
//	malformed Wrpc-Timeout-Ms header               400     Invalid Wrpc-Timeout-Ms header.
//	typed data does not decode or validate         400     Invalid data: ...
//	method other than POST (OPTIONS answers 204)   405     Method not allowed: ...
//	application failure (Fail, *Error)             200     the handler's
//	handler error or panic                         500     Internal error.
//	deadline exceeded (Config.Timeout)             504     Deadline exceeded.
//
// Checks run in this order: origin, no functions, the instance's session,
// host and address rules, content type, body, version, function, then the
// function's own rules, then the call. Handler errors never reach Echo's
// HTTPErrorHandler, so nothing of their text reaches the caller.
//
// # Beyond Flask-RPC
//
// Typed handlers ([Func]); an auth-aware manifest and TypeScript
// declarations generated from the handlers' Go types (Config.Manifest,
// [RPC.TypeScript]); interceptors ([Interceptor]) and Prometheus metrics
// (package echorpcprom); deadlines sent by the caller ([TimeoutHeader]);
// client retries limited to idempotent functions ([Idempotent]); and
// opt-in batching (Config.MaxBatch), whose item envelopes carry a fifth
// key, "status".
//
// # Safety
//
// Instances refuse cross-origin browser requests (net/http's
// CrossOriginProtection, plus Origins with userinfo) before the session is
// read or the body parsed, and accept only JSON content types, which a
// form or a no-cors fetch cannot send; see Config.TrustedOrigins. Host
// rules are routing rules, not authentication: see Config.HostAuth, and
// Config.RemoteAuth for a rule on the caller's address.
package echorpc
