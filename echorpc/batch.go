package echorpc

import (
	"context"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
)

// A batch's items run at once, up to Config.BatchConcurrency of them, each
// on its own echo.Context (callContext.go) over a response of its own
// (itemResponse), so that what one item sets or writes reaches the reply
// only through the batch's writer (reply.go), which carries what its shape
// can: the array merges each item's headers, the streamed form refuses
// them (see writeItemStream). Each item that runs at once holds one of the
// instance's MaxInFlight slots: the batch's own, taken at admission, and
// each one more it takes while slots are free when it starts; with none
// free, its items take turns on its own, as they did before items ran at
// once. Every item keeps the request's one deadline (exchange.deadline).

// batch is the run of one batch's items.
type batch struct {
	items []item
	resp  []itemResponse
	next  atomic.Int64 // the index of the next item to start
	done  chan int     // each item's index once its answer is settled: the writer takes one per item
	wg    sync.WaitGroup
	// abort is set when a function panicked with http.ErrAbortHandler,
	// which serve raises again on the request's goroutine.
	abort atomic.Bool
}

// start runs items, the batch's, at once; its writer takes each index
// from done as that item's answer is settled, and serve waits for the last
// with wait.
func (b *batch) start(x *exchange, items []item) {
	b.items = items
	b.resp = make([]itemResponse, len(items))
	b.done = make(chan int, len(items))
	max := x.rpc.config.MaxInFlight
	workers := min(x.rpc.config.BatchConcurrency, len(items))
	for w := 0; w < workers; w++ {
		extra := w > 0 // the first runs on the request's own slot
		if extra && !x.rpc.inFlight.take(max) {
			break
		}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			if extra {
				defer x.rpc.inFlight.give(max)
			}
			for {
				i := int(b.next.Add(1)) - 1
				if i >= len(items) {
					return
				}
				b.run(x, i)
				b.done <- i
			}
		}()
	}
}

// run runs item i on its own context, over a request of its own.
func (b *batch) run(x *exchange, i int) {
	it, w := &b.items[i], &b.resp[i]
	c := newCallContext(x.c, w)
	c.SetRequest(ownRequest(x.c.Request()))
	defer func() {
		if p := recover(); p != nil { // only http.ErrAbortHandler gets here: the chain recovers any other
			b.abort.Store(true)
			it.res = Result{Err: errInternal}
			settle(&it.res)
		}
	}()
	x.run(c, it)
	if w.wrote {
		c.Logger().Errorf("echorpc: function %q wrote its own response inside a batch: its item is answered 500", it.fn.name)
		it.res = Result{Err: errInternal}
		settle(&it.res)
		w.header = nil // its Content-Type and the like: none of the batch's
	}
}

// wait waits for every item of the batch to end (a writer that stopped
// early left some running), and raises a function's http.ErrAbortHandler
// on the request's goroutine, where net/http expects it.
func (b *batch) wait() {
	b.wg.Wait()
	if b.abort.Load() {
		panic(http.ErrAbortHandler)
	}
}

// errHeadersInStream answers an item of a streamed batch whose function
// set a response header or cookie: the stream's headers went out with its
// start, so the item's cannot follow; they are dropped, loudly (the item
// fails, and the instance logs it), never silently.
var errHeadersInStream = &Error{Status: http.StatusNotAcceptable,
	Message: "This function sets a header or cookie, which a streamed batch cannot carry: call it alone, or in a batch that is not streamed."}

// itemResponse is the response of one batch item's context: it keeps the
// headers the item's function set (a cookie of a login, say) for the
// batch's writer, and notes a body written behind the pipeline's back,
// which it drops.
type itemResponse struct {
	header http.Header
	wrote  bool
}

func (w *itemResponse) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *itemResponse) Write(b []byte) (int, error) {
	w.wrote = true
	return len(b), nil
}

func (w *itemResponse) WriteHeader(int) { w.wrote = true }

// setHeaders reports whether the item's function set a response header.
func (w *itemResponse) setHeaders() bool { return len(w.header) > 0 }

// mergeHeaders adds the headers that the items' functions set to the
// batch's reply, in the items' order, as if they had run one after
// another: a later item's value of a header replaces an earlier one's, and
// every cookie (Set-Cookie) is kept.
func (b *batch) mergeHeaders(h http.Header) {
	for i := range b.resp {
		for k, v := range b.resp[i].header {
			if k == "Set-Cookie" {
				h[k] = append(h[k], v...)
			} else {
				h[k] = v
			}
		}
	}
}

// ownRequest is a shallow copy of the batch's request for one of its
// items, so that what an item does to its request stays its own. Gorilla's
// sessions (echo-contrib's session.Get) keep the sessions they loaded in a
// registry on the request's context, which they add by overwriting the
// request in place, and which is not safe for use by several goroutines:
// each item gets a registry of its own, and so reads the session as the
// request brought it, as a request of its own would.
func ownRequest(r *http.Request) *http.Request {
	return r.WithContext(withoutSessionRegistry{r.Context()})
}

// withoutSessionRegistry hides the gorilla/sessions registry of the
// context it wraps; every other value reads through.
type withoutSessionRegistry struct{ context.Context }

func (c withoutSessionRegistry) Value(key any) any {
	if t := reflect.TypeOf(key); t != nil && t.Name() == "contextKey" && t.PkgPath() == "github.com/gorilla/sessions" {
		return nil
	}
	return c.Context.Value(key)
}
