package echorpc

import (
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Every request an instance answers goes through one pipeline, whatever
// its shape (a weeRPC envelope, a batch of them, a POST to a function's own
// URL, a query's GET). Its steps live in these files, in order:
//
//	serve.go    this function: the steps, top to bottom
//	edge.go     decode: each shape becomes items, each with its function resolved
//	admit.go    admission: load, origin, registry, the instance's rules,
//	            content type and body; then each item's own rules, the
//	            caller's deadline and a stream's checks
//	run.go      run: each item's function through its interceptors, under
//	            its deadline
//	outcome.go  the one place that decides an answer's status and class
//	reply.go    reply: one writer per shape (an envelope, an array of
//	            envelopes, a cacheable GET); stream.go writes event streams
//	routes.go   the routes, with OPTIONS, HEAD and 405 on every one of them
//
// A refusal at any step is answered as an envelope and shown to the
// instance's interceptors (Call.Rejected).

// timeoutHeader carries the caller's deadline for one request, in whole
// milliseconds. The JS client sends its timeout option in it and the Go
// client the time left before its context's deadline.
const timeoutHeader = "Wrpc-Timeout-Ms"

// exchange is one request to the instance, from its edge to its reply.
// Everything it holds is set when the request arrives (newExchange); no
// check changes it.
type exchange struct {
	rpc   *RPC
	c     echo.Context
	funcs map[string]*function // the registry as the request found it
	who   caller
	start time.Time // when the request arrived: deadlines count from it
	// asked is the caller's deadline (timeoutHeader, cut to
	// MaxCallerTimeout), 0 when none; askedBad is set when the header is
	// malformed, which refuses each item.
	asked    time.Duration
	askedBad bool
	one      [1]item // the items of a request that carries one call
	batch    *batch  // the run of a batch's items, nil for one call
	// parts is a multipart request's body (see multipart.go), files the
	// files it brought, removed when the exchange is freed.
	parts *partReader
	files *fileSet
	// frames is set for a stream of a channel (channel.go): its answer
	// goes out as the channel's messages.
	frames *channelStream
}

// item is one call that a request carries: a single call's only item, or
// one of a batch. The edge resolves its function; refused is set by the
// edge or by admission when it must not run, and res is its answer.
type item struct {
	fn      *function // nil when the request named no registered function
	v       dialect
	data    []byte // raw JSON, "null" when absent
	refused *Error
	res     Result
	// deadline is when its call must be done (exchange.deadline), set by
	// run; zero when it has none.
	deadline time.Time
}

// serve answers one edge's requests: admit, decode, run each item, reply.
func (rpc *RPC) serve(e *edge) echo.HandlerFunc {
	return func(c echo.Context) error {
		x := rpc.newExchange(c)
		defer x.free()
		rpc.tellSkew(c)
		if !rpc.inFlight.take(rpc.config.MaxInFlight) {
			return x.refuse(errOverloaded)
		}
		defer rpc.inFlight.give(rpc.config.MaxInFlight)
		input, failure := x.admit(e)
		if failure != nil {
			return x.refuse(failure)
		}
		items, write, failure := e.decode(x, input)
		if failure != nil {
			return x.refuse(failure)
		}
		x.admitItems(items)
		if x.batch == nil {
			x.run(c, &items[0])
		} else {
			x.batch.start(x, items) // batch.go: the items run at once
			defer x.batch.wait()
		}
		return write(x, items)
	}
}

// newExchange starts an exchange for the request in c. Exchanges are
// pooled: the caller gives it back with free once it has replied.
func (rpc *RPC) newExchange(c echo.Context) *exchange {
	x := exchangePool.Get().(*exchange)
	*x = exchange{rpc: rpc, c: c, funcs: *rpc.funcs.Load(),
		who: caller{c: c, sessionName: rpc.config.SessionName}}
	x.asked, x.askedBad = rpc.askedTimeout(c.Request())
	if x.asked > 0 || rpc.timed.Load() {
		x.start = time.Now() // a deadline counts from here (see deadline); else the clock is not read
	}
	return x
}

var exchangePool = sync.Pool{New: func() any { return new(exchange) }}

// free gives x back to the pool, holding nothing of its request.
func (x *exchange) free() {
	if x.files != nil {
		x.files.remove()
	}
	if x.parts != nil {
		x.parts.release()
	}
	*x = exchange{}
	exchangePool.Put(x)
}

// refuse answers a refusal of the whole request, before any item ran.
func (x *exchange) refuse(e *Error) error {
	res := x.refusal(x.c, nil, e)
	return x.sendEnvelope(v11, &res)
}
