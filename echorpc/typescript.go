package echorpc

import "github.com/echo-rpc/wrpc/echorpc/internal/describe"

// tsIdent matches a TypeScript identifier: Config.Name must be one.
var tsIdent = describe.TSIdent

// TypeScript returns TypeScript declarations of every function of the
// instance: one interface, named by Config.Name, that maps each function's
// name to its input and output types, and an interface or type for each
// named Go type they use. The JS client's createClient<API>(endpoint) takes
// that interface, so calls are type-checked. Write it into a frontend from
// go generate or a test. With Config.Manifest, GET Prefix/client.d.ts
// serves the same declarations for the caller: only the functions it may
// call.
func (rpc *RPC) TypeScript() string {
	return describe.TypeScript(rpc.describe(nil, true))
}
