package echorpc

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// callContext is the echo.Context of one call among several that run at
// the same time for one request: the items of a batch that run at once, the
// streams that share one connection. Each needs a context of its own, for
// Echo's Context is not safe to share between goroutines that write to it,
// and a call's response (its headers, a cookie it sets, a body it writes)
// must not reach the request's response behind the pipeline's back.
//
// It is a context Echo made (Echo.NewContext) over the request and a
// writer of the pipeline's choosing, with the route's path and parameters
// of the request's context; what middleware stored on the request's context
// (a session store, a user) reads through Get, and what the call stores
// with Set stays its own. Logger is the request's.
type callContext struct {
	echo.Context              // its own: request, response, store
	parent       echo.Context // the request's, read only (Get, Logger)
}

// newCallContext makes a call's context for the request in parent, writing
// to w. The request is parent's (a call sets its own deadline with
// SetRequest); parent must outlive it.
func newCallContext(parent echo.Context, w http.ResponseWriter) *callContext {
	own := parent.Echo().NewContext(parent.Request(), w)
	own.SetPath(parent.Path())
	if names := parent.ParamNames(); len(names) > 0 {
		own.SetParamNames(names...)
		own.SetParamValues(parent.ParamValues()...)
	}
	return &callContext{Context: own, parent: parent}
}

// Get returns what the call set under key, or else what the request's
// context holds (set by middleware before the instance's route).
func (c *callContext) Get(key string) any {
	if v := c.Context.Get(key); v != nil {
		return v
	}
	return c.parent.Get(key)
}

// Logger is the request's logger, which middleware may have set.
func (c *callContext) Logger() echo.Logger { return c.parent.Logger() }
