package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/topic"
	"github.com/echo-rpc/wrpc/echorpc/topic/topicredis"
	"github.com/labstack/echo/v4"
	goredis "github.com/redis/go-redis/v9"
)

// Change is one write to the clients, as the changes stream sends it.
type Change struct {
	// Op is "create", "update" or "delete".
	Op string `json:"op"`
	// Client is the client as the write left it (as it was, for a delete).
	Client Client `json:"client"`
}

// changesTopic is the topic the clients' writes are published to.
const changesTopic = "clients:changes"

// changesKeep is how many changes the topic's log keeps, so that a stream
// that reconnects (to any instance) resumes after its last id: about
// 100,000 in Redis (a few minutes at 500 writes a second), 1,000 in
// memory.
const changesKeep = 100_000

// Changes carries the clients' writes to the changes streams, on a topic
// (package echorpc/topic): in memory on one instance, or, in fleet mode,
// on Redis Streams (topicredis), so that a stream on one instance sees the
// writes made on every other, and resumes on any of them after its last
// id. Safe for concurrent use.
type Changes struct {
	engine topic.Engine
	// once publishes an item that may be retried (topicredis's
	// PublishOnce); nil in memory, where a publish cannot fail.
	once func(ctx context.Context, key string, data []byte) (string, error)
	// queue holds the changes waiting for Redis, in order (fleet mode).
	queue chan queuedChange
	stop  chan struct{}
	done  chan struct{}
	// subs counts the open subscriptions (for the tests).
	subs  atomic.Int64
	close func() error
	logf  func(format string, args ...any)
}

// queuedChange is a change on its way to Redis, with the key that makes
// its retries append it once.
type queuedChange struct {
	key  string
	data []byte
}

// newChanges makes the Changes of one instance: a topic in memory.
func newChanges() *Changes {
	return &Changes{engine: topic.NewMemory(1000), close: func() error { return nil }, logf: func(string, ...any) {}}
}

// changesQueue is how many changes may wait for Redis; past it a write's
// announcement is dropped (and logged).
const changesQueue = 10_000

// redisChanges makes Changes on Redis Streams at url, with a go-redis
// client of its own whose every call is bounded by redisTimeout (a
// blocking XREAD waits its 2 s and then that long). A write's change is
// queued and published by one goroutine, in order, with PublishOnce and a
// random key: while Redis does not answer (paused, restarting), it is
// retried, up to every second, until it is in the log, once, so a write
// made meanwhile is announced when Redis is back, and the write itself is
// answered at once. Open streams stay open meanwhile (pings go on) and
// continue after their last id; see topicredis for what a lost log does.
func redisChanges(url string, logger *log.Logger) (*Changes, error) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = redisTimeout, redisTimeout, redisTimeout
	rdb := goredis.NewClient(opts)
	out := io.Discard
	if logger != nil {
		out = logger.Writer()
	}
	engine := topicredis.New(topicredis.Config{
		Client:         rdb,
		Prefix:         "wrpc-example:topic:",
		MaxLen:         changesKeep,
		PublishTimeout: 2 * redisTimeout,
		Logger:         slog.New(slog.NewTextHandler(out, nil)),
	})
	c := &Changes{
		engine: engine,
		once: func(ctx context.Context, key string, data []byte) (string, error) {
			return engine.PublishOnce(ctx, changesTopic, key, data)
		},
		queue: make(chan queuedChange, changesQueue),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		logf:  func(string, ...any) {},
	}
	if logger != nil {
		c.logf = logger.Printf
	}
	var closeOnce sync.Once
	c.close = func() error {
		var err error
		closeOnce.Do(func() {
			close(c.stop)
			<-c.done
			err = engine.Close()
			rdb.Close()
		})
		return err
	}
	go c.announce()
	return c, nil
}

// announce publishes the queued changes in order, each retried until it
// is in the log; on Close it gives what is left 2 s more.
func (c *Changes) announce() {
	defer close(c.done)
	var drainBy time.Time // set once Close is called
	for {
		var q queuedChange
		select {
		case q = <-c.queue:
		case <-c.stop:
			if drainBy.IsZero() {
				drainBy = time.Now().Add(2 * time.Second)
			}
			select {
			case q = <-c.queue:
			default:
				return
			}
		}
		for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, time.Second) {
			_, err := c.once(context.Background(), q.key, q.data)
			if err == nil {
				break
			}
			if !drainBy.IsZero() && time.Now().After(drainBy) {
				c.logf("announcing a change: %v: %d changes not announced at shutdown", err, len(c.queue)+1)
				return
			}
			c.logf("announcing a change: %v: retrying in %s", err, backoff)
			select {
			case <-time.After(backoff):
			case <-c.stop:
				if drainBy.IsZero() {
					drainBy = time.Now().Add(2 * time.Second)
				}
			}
		}
	}
}

// Publish announces a write. In memory it is in the topic when Publish
// returns; in fleet mode it is queued for Redis (see redisChanges).
func (c *Changes) Publish(op string, client Client) {
	data, err := json.Marshal(Change{Op: op, Client: client})
	if err != nil {
		return
	}
	if c.queue == nil {
		_, _ = c.engine.Publish(context.Background(), changesTopic, data)
		return
	}
	select {
	case c.queue <- queuedChange{key: randomKey(), data: data}:
	default:
		c.logf("announcing a change: %d changes wait for Redis already: this one is dropped", changesQueue)
	}
}

// publishKeyed publishes change now, once per key however often it is
// retried within 10 minutes (in fleet mode; in memory, once per call), and
// returns its id: the test hook's publish (see testPublishFunc).
func (c *Changes) publishKeyed(ctx context.Context, key string, change Change) (string, error) {
	data, err := json.Marshal(change)
	if err != nil {
		return "", err
	}
	if c.once == nil {
		return c.engine.Publish(ctx, changesTopic, data)
	}
	return c.once(ctx, key, data)
}

// randomKey is 128 random bits in hex.
func randomKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Subscribers is how many changes streams are subscribed on this instance.
func (c *Changes) Subscribers() int { return int(c.subs.Load()) }

// Close stops the announcements (after 2 s more for those still queued)
// and the topic's Redis loop, if there is one.
func (c *Changes) Close() error { return c.close() }

// countedSub is a subscription counted in Changes.Subscribers.
type countedSub struct {
	topic.Subscription
	subs   *atomic.Int64
	closed bool
}

func (s *countedSub) Close() {
	s.Subscription.Close()
	if !s.closed {
		s.closed = true
		s.subs.Add(-1)
	}
}

// changesStream is the changes function: every write after it starts, each
// with its id in the topic's log as its event id, so that a caller that
// reconnects (to any instance) with Last-Event-ID resumes after it. A gap
// the log cannot fill ends the stream with a 410 error event, data
// {"gap": true}: the caller reads the clients again and opens a new stream.
func changesStream(changes *Changes) echorpc.Handler {
	return topic.Serve[struct{}, Change](changesEngine{changes}, func(echo.Context, struct{}) (string, error) {
		return changesTopic, nil
	})
}

// changesEngine is the engine of Changes as changesStream serves it, its
// subscriptions counted in Changes.Subscribers.
type changesEngine struct{ c *Changes }

func (e changesEngine) Publish(ctx context.Context, name string, data []byte) (string, error) {
	return e.c.engine.Publish(ctx, name, data)
}

func (e changesEngine) Subscribe(ctx context.Context, name, after string) (topic.Subscription, error) {
	s, err := e.c.engine.Subscribe(ctx, name, after)
	if err != nil {
		return nil, err
	}
	e.c.subs.Add(1)
	return &countedSub{Subscription: s, subs: &e.c.subs}, nil
}

// invalidateTimeout bounds the publish of a write's invalidation of the
// live list (see liveEngine).
const invalidateTimeout = 300 * time.Millisecond

// liveEngine is the engine of the live queries (topic.NewLive): the
// changes' engine, its publishes bounded by invalidateTimeout, so that a
// write made while Redis does not answer is still answered within its
// bound. Its invalidation is then logged as failed, and the pages read the
// list again only on the next one (or on the gap, if Redis lost its data).
func (c *Changes) liveEngine() topic.Engine { return boundedEngine{c.engine} }

// boundedEngine is an engine whose publishes give up after
// invalidateTimeout.
type boundedEngine struct{ topic.Engine }

func (e boundedEngine) Publish(ctx context.Context, name string, data []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, invalidateTimeout)
	defer cancel()
	return e.Engine.Publish(ctx, name, data)
}

// testPublishEnv names the test-only hook that mounts /rpc/testhooks,
// whose publish puts any change on the topic: the fleet's fault tests
// publish through it at a steady rate. Never set it otherwise.
const testPublishEnv = "WRPC_EXAMPLE_TEST_PUBLISH"

// testPublish is the data of the test hook's publish: a change, and the
// key that makes its retries publish it once.
type testPublish struct {
	Key    string `json:"key" validate:"required,max=100"`
	Change Change `json:"change"`
}

// testPublishFuncs is the test hook's publish: change published now, once
// per key (Changes.publishKeyed), answered with its id, or 503 while the
// topic's engine does not answer, for the caller to retry with the key.
func testPublishFuncs(changes *Changes) echorpc.Funcs {
	return echorpc.Funcs{"publish": echorpc.Func(func(c echo.Context, in testPublish) (string, error) {
		id, err := changes.publishKeyed(c.Request().Context(), in.Key, in.Change)
		if err != nil {
			c.Logger().Warnf("test hook: publish: %v", err)
			return "", errChangesUnavailable
		}
		return id, nil
	})}
}

// errChangesUnavailable answers a publish that did not reach the topic's
// engine (the outages interceptor adds Retry-After).
var errChangesUnavailable = &echorpc.Error{Status: http.StatusServiceUnavailable, Message: "The changes are not answering: try again shortly."}

// countdownRange is the refusal of a countdown outside 1..100, with its
// field error.
func countdownRange(n int) *echorpc.Error {
	rule, param := "min", "1"
	if n > 100 {
		rule, param = "max", "100"
	}
	e := echorpc.InvalidData(echorpc.FieldError{Rule: rule, Param: param, Message: "must be from 1 to 100"})
	e.Message = "Invalid data: n must be from 1 to 100." // the data is n
	return e
}

// checkCountdown refuses countdown's data outside 1..100 before the stream
// starts: an interceptor runs before the handler, and the *Error it
// returns without calling next is answered as a call's error, with its
// status (400), not as an error event after a 200. Data that is not an
// integer goes on to the handler, which echorpc refuses before it runs
// (400, "must be an integer").
func checkCountdown(next echorpc.CallFunc) echorpc.CallFunc {
	return func(c echo.Context, call echorpc.Call) echorpc.Result {
		var n int
		if !call.Rejected && json.Unmarshal(call.Data, &n) == nil && (n < 1 || n > 100) {
			return echorpc.Result{Err: countdownRange(n)}
		}
		return next(c, call)
	}
}

// countdownTick is the time between countdown's items.
const countdownTick = 50 * time.Millisecond

// countdown streams n, n-1, ..., 1, one item every 50 ms. It is registered
// behind checkCountdown, which refuses n outside 1..100 before the stream
// starts; its own check is for a countdown registered without it.
func countdown(c echo.Context, n int, send func(id string, item int) error) error {
	if n < 1 || n > 100 {
		return countdownRange(n)
	}
	t := time.NewTicker(countdownTick)
	defer t.Stop()
	done := c.Request().Context().Done()
	for i := n; i > 0; i-- {
		if i < n {
			select {
			case <-t.C:
			case <-done:
				return c.Request().Context().Err()
			}
		}
		if err := send("", i); err != nil {
			return err
		}
	}
	return nil
}
