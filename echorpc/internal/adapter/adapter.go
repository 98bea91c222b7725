// Package adapter is how echorpc's subpackages that serve an instance's
// functions over another protocol (echorpcmcp), echorpctest and
// echorpcprom (what is open), reach the instance without
// package echorpc exporting more: its description for a caller, its
// cross-origin check and its pipeline. Package echorpc sets [Of] when it is
// initialised.
package adapter

import (
	"context"
	"net/http"

	"github.com/echo-rpc/wrpc/echorpc/internal/describe"
	"github.com/labstack/echo/v4"
)

// Instance is an *echorpc.RPC as an adapter sees it.
type Instance interface {
	// Describe is the instance and the functions that the caller of c may
	// call, as its manifest lists them (sorted by name). With a nil c,
	// every function is listed.
	Describe(c echo.Context) describe.Instance

	// Contract is the instance's whole description, whoever asks, as
	// indented JSON: the manifest of every function, without its hash
	// (echorpctest's snapshots).
	Contract() []byte

	// CrossOriginAllowed applies the instance's cross-origin check
	// (Config.TrustedOrigins, Config.InsecureSkipOriginCheck) to r,
	// whatever its method: a browser request from another site is refused.
	CrossOriginAllowed(r *http.Request) bool

	// MayCall answers whether the caller of c may call the function name
	// as the instance would answer a call of it: nil when it may, else the
	// refusal that a call would get (404 for a function not registered or
	// a stream, 401 or 403 for a session, host or address rule of the
	// instance's or the function's, 500 or 503 when the session cannot be
	// read), an *echorpc.Error. topic's live queries keep a page's
	// subscription to a query only when it may call it.
	MayCall(c echo.Context, name string) error

	// Call runs the function name with data (one JSON value; empty is null)
	// for the caller of c, through the instance's pipeline, as a POST of its
	// data to the function's URL would run: load shedding, the cross-origin
	// check, the rules, the body limit, the interceptors and the deadline.
	// ctx is the call's context: cancelling it cancels the call. It returns
	// the answer's HTTP status and its weeRPC envelope (dialect 1.1). A
	// stream is refused (406), and so is a function that answers with a
	// file (400).
	Call(ctx context.Context, c echo.Context, name string, data []byte) (status int, envelope []byte)

	// Open counts what is open now: the streams on shared stream
	// connections, and those connections (the WebSockets at
	// Prefix/channel.ws). Every stream is counted by the interceptors.
	Open() (onChannels, channels int)
}

// Of returns the Instance of an *echorpc.RPC.
var Of func(rpc any) Instance
