package topic

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/internal/adapter"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/labstack/echo/v4"
)

// Live keeps queries live: a mutation declares the queries it invalidates
// ([Live.Invalidates], and [Invalidate] for a handler that decides at run
// time), the invalidation goes through the engine to every instance, and
// each page that holds one of those queries, subscribed to the stream that
// [Live.Serve] makes, learns it and refetches the query.
//
// Each query of an instance is a topic of the engine ("live:" + the
// instance's path + ":" + the query's name), so with topicredis an
// invalidation on one instance reaches the pages subscribed on every other,
// and a page that reconnects resumes from its last id.
type Live struct {
	engine Engine
}

// NewLive makes the live queries of the instances that share e.
func NewLive(e Engine) *Live { return &Live{engine: e} }

// LiveQuery is the data of a subscription to the stream that
// [Live.Serve] makes: the name of the query the page holds.
type LiveQuery struct {
	Query string `json:"query"`
}

// Invalidation is an item of the stream that [Live.Serve] makes: Query was
// invalidated, and the page refetches it.
type Invalidation struct {
	// Query is the query's name.
	Query string `json:"query"`
	// Start marks the first item of a subscription that does not resume
	// one: the page holds the query from here on. A page fetches the query
	// after it (the JS client's live does).
	Start bool `json:"start,omitzero"`
	// Gap marks invalidations that may be lost: the page reconnected with
	// an id that the log no longer holds (retention passed, the log was
	// lost, or the id was that of a Start or Gap item). The page refetches.
	Gap bool `json:"gap,omitzero"`
}

// liveKey is where a call of a function registered with Invalidates keeps
// the queries it invalidates, on its echo.Context.
const liveKey = "topic.live"

// invalidated is what a running mutation invalidates.
type invalidated struct{ queries []string }

// Invalidates is the option of the functions (mutations) that invalidate
// queries: when a call of one succeeds (ok true: not an application
// failure, not an error, not a refusal), each of queries, and each that
// its handler names with [Invalidate], is published as invalidated, once,
// before the call's answer goes; the pages that hold it refetch it. A call
// answered from its Idempotency-Key's stored outcome invalidates nothing
// again. The publish has the engine's bounds (topicredis.Config's
// PublishTimeout); when it fails, the call's answer stands and the failure
// is logged with c.Logger().
//
//	rpc.Functions(echorpc.Funcs{"create": create}, live.Invalidates("list"))
//
// An invalidation reaches only the pages that may call the query: see
// [Live.Serve].
func (l *Live) Invalidates(queries ...string) echorpc.Option {
	static := slices.Clone(queries)
	return echorpc.WithInterceptors(func(next echorpc.CallFunc) echorpc.CallFunc {
		return func(c echo.Context, call echorpc.Call) echorpc.Result {
			if call.Rejected || call.Replayed {
				return next(c, call)
			}
			mine := &invalidated{queries: slices.Clone(static)}
			c.Set(liveKey, mine)
			res := next(c, call)
			if res.Err == nil && res.OK && len(mine.queries) > 0 {
				l.publish(c, call.Instance, mine.queries)
			}
			return res
		}
	})
}

// Invalidate adds queries to those that the running call invalidates, for
// a handler that decides at run time; they are published with the
// option's when the call succeeds (see [Live.Invalidates]). It panics
// (answered 500, and logged) in a function not registered with
// Live.Invalidates, which is a setup mistake.
func Invalidate(c echo.Context, queries ...string) {
	mine, ok := c.Get(liveKey).(*invalidated)
	if !ok {
		panic("topic: Invalidate in a function registered without Live.Invalidates")
	}
	mine.queries = append(mine.queries, queries...)
}

// publish publishes each query (once) as invalidated on instance.
func (l *Live) publish(c echo.Context, instance string, queries []string) {
	slices.Sort(queries)
	ctx := context.WithoutCancel(c.Request().Context()) // the call's deadline does not cut it short
	for _, q := range slices.Compact(queries) {
		data, _ := jsonv2.Marshal(Invalidation{Query: q})
		if _, err := l.engine.Publish(ctx, liveTopic(instance, q), data); err != nil {
			c.Logger().Errorf("topic: invalidating query %q: %v", q, err)
		}
	}
}

// liveTopic is the topic of a query of the instance at path.
func liveTopic(path, query string) string { return "live:" + path + ":" + query }

// Serve makes the stream function that pages subscribe to, one stream per
// query they hold, with its name as data ({"query": "list"}); register it
// on rpc, as "live" (the name the JS client's live helpers call by
// default):
//
//	rpc.Functions(echorpc.Funcs{"live": live.Serve(rpc)})
//
// The subscription is scoped by the query's own rules: it is refused, as a
// call of the query would be (404, 401, 403), unless the caller may call
// the query on rpc (rpc's and the query's session, host and address
// rules), so a page that may not call a query never learns that it was
// invalidated. The rules are checked when the page subscribes.
//
// Its items are [Invalidation] values: a Start item first (when the page
// does not resume), then one for each invalidation of the query, whose
// event id is its id in the log; a page that reconnects, to any instance,
// resumes after its last id (Last-Event-ID). When the log cannot fill the
// gap ([ErrGap]: retention passed, Redis lost its data), the stream goes
// on with a Gap item, and the page refetches: never a silently skipped
// invalidation. Give the stream no deadline (Config.Timeout,
// echorpc.WithTimeout): it is meant to stay open.
func (l *Live) Serve(rpc *echorpc.RPC) echorpc.Handler {
	instance := adapter.Of(rpc)
	path := instance.Describe(nil).Path
	return echorpc.Stream(func(c echo.Context, in LiveQuery, send func(id string, item Encoded[Invalidation]) error) error {
		if err := instance.MayCall(c, in.Query); err != nil {
			return err
		}
		ctx, topic := c.Request().Context(), liveTopic(path, in.Query)
		after := c.Request().Header.Get("Last-Event-ID")
		sub, err := l.engine.Subscribe(ctx, topic, after)
		mark := Invalidation{Query: in.Query, Start: after == ""}
		if errors.Is(err, ErrGap) {
			mark.Gap = true
			sub, err = l.engine.Subscribe(ctx, topic, "")
		}
		if err != nil {
			return errLiveUnavailable
		}
		defer func() { sub.Close() }()
		for {
			if mark.Start || mark.Gap {
				// an item that has no place in the log: its id is not one,
				// so a reconnect after it gets a gap, and refetches
				data, _ := jsonv2.Marshal(mark)
				if err := send(noPlace, Encoded[Invalidation]{data: data}); err != nil {
					return err
				}
				mark = Invalidation{Query: in.Query}
			}
			items, err := sub.Next(ctx)
			switch {
			case errors.Is(err, ErrGap):
				again, err := l.engine.Subscribe(ctx, topic, "")
				if err != nil {
					return errLiveUnavailable
				}
				sub.Close()
				sub, mark.Gap = again, true
				continue
			case err != nil:
				return err
			}
			for _, it := range items {
				if err := send(it.ID, Encoded[Invalidation]{data: it.Data}); err != nil {
					return err
				}
			}
		}
	})
}

// noPlace is the event id of the Start and Gap items.
const noPlace = "live"

var errLiveUnavailable = &echorpc.Error{Status: http.StatusServiceUnavailable, Message: "Live queries are not available right now: try again shortly."}
