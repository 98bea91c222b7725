package echorpc

import (
	"net/http"
	"strings"

	"github.com/echo-rpc/wrpc"
	"github.com/labstack/echo/v4"
)

// The routes an instance owns, below its prefix:
//
//	POST    Prefix                  the weeRPC route (routeEdge)
//	POST    Prefix/<name>           a function's URL (functionEdge)
//	GET     Prefix/<name>           a query's URL (queryEdge), HEAD too
//	GET     Prefix/client.js, ...   the browser client's files, HEAD too
//	GET     Prefix/channel.ws       the shared stream connection, a WebSocket (channel.go)
//	GET     Prefix/manifest.json, client.d.ts, openapi.json   descriptions, HEAD too
//	GET     Prefix/console, console.js, ...   the console, with Console only (console.go)
//
// Every one answers OPTIONS with 204 and an Allow header, and any method it
// does not take with a 405 envelope whose Allow lists exactly the methods
// it takes (for a function's URL, by whether the function is a query).
// Echo calls a path's RouteNotFound handler for every method that the path
// has no route for, unusual ones (PURGE) included.

var (
	allowRoute    = []string{"OPTIONS, POST"}
	allowFunction = []string{"OPTIONS, POST"}
	allowQuery    = []string{"GET, HEAD, OPTIONS, POST"}
	allowFile     = []string{"GET, HEAD, OPTIONS"}
)

// mount registers the instance's routes on r.
func (rpc *RPC) mount(r Router, prefix string) {
	rpc.path = r.Add(http.MethodPost, prefix, rpc.serve(routeEdge)).Path
	rpc.others(r, prefix, fixedAllow(allowRoute), errMethod)

	for _, name := range wrpc.ClientFiles {
		h := clientAssets.get(name).serve
		if rpc.config.DisableChannel && strings.HasPrefix(name, "channel.") {
			h = rpc.channelOff // the client's channel code: it finds none, and falls back
		}
		rpc.file(r, prefix+"/"+name, h)
	}
	rpc.file(r, prefix+channelPath, rpc.serveChannel)
	describe := map[string]echo.HandlerFunc{
		"/manifest.json": rpc.serveManifest,
		"/client.d.ts":   rpc.serveTypeScript,
		"/openapi.json":  rpc.serveOpenAPI,
	}
	for name, h := range describe {
		if !rpc.config.Manifest {
			h = rpc.describeOff
		}
		rpc.file(r, prefix+name, h)
	}

	if rpc.config.Console {
		rpc.mountConsole(r, prefix)
	}

	byName := prefix + "/:function"
	r.Add(http.MethodPost, byName, rpc.serve(functionEdge))
	r.Add(http.MethodGet, byName, rpc.serve(queryEdge))
	r.Add(http.MethodHead, byName, rpc.serve(queryEdge))
	rpc.others(r, byName, rpc.functionAllow, errMethod)
}

// file registers a file the instance serves, for GET and HEAD. POST is
// registered too, as a 405: without it, Echo's router would hand a POST to
// the file's path to the function URLs' route.
func (rpc *RPC) file(r Router, path string, h echo.HandlerFunc) {
	r.Add(http.MethodGet, path, h)
	r.Add(http.MethodHead, path, h)
	notAllowed := rpc.others(r, path, fixedAllow(allowFile), errFileMethod)
	r.Add(http.MethodPost, path, notAllowed)
}

// others registers a path's OPTIONS (204 with Allow) and its 405 for every
// other method, and returns the 405 handler.
func (rpc *RPC) others(r Router, path string, allow func(c echo.Context) []string, e *Error) echo.HandlerFunc {
	r.Add(http.MethodOptions, path, func(c echo.Context) error {
		c.Response().Header()[echo.HeaderAllow] = allow(c)
		return c.NoContent(http.StatusNoContent)
	})
	notAllowed := func(c echo.Context) error {
		c.Response().Header()[echo.HeaderAllow] = allow(c)
		x := rpc.newExchange(c)
		defer x.free()
		return x.refuse(e)
	}
	r.Add(echo.RouteNotFound, path, notAllowed)
	return notAllowed
}

func fixedAllow(allow []string) func(echo.Context) []string {
	return func(echo.Context) []string { return allow }
}

// functionAllow is what a function's URL takes: GET and HEAD too for a
// query.
func (rpc *RPC) functionAllow(c echo.Context) []string {
	// Echo leaves the path parameter empty in a RouteNotFound handler: the
	// name is the path's last segment.
	p := c.Request().URL.Path
	if fn := (*rpc.funcs.Load())[p[strings.LastIndexByte(p, '/')+1:]]; fn != nil && fn.query {
		return allowQuery
	}
	return allowFunction
}

// describeOff answers the description files of an instance that serves
// none.
func (rpc *RPC) describeOff(c echo.Context) error {
	x := rpc.newExchange(c)
	defer x.free()
	return x.refuse(errDescribeOff)
}

// channelOff answers the channel's files of an instance with the channel
// off.
func (rpc *RPC) channelOff(c echo.Context) error {
	x := rpc.newExchange(c)
	defer x.free()
	return x.refuse(errChannelOff)
}
