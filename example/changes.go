package main

import (
	"encoding/json"
	"log"
	"net/http"
	"sync"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/gomodule/redigo/redis"
	"github.com/labstack/echo/v4"
)

// Change is one write to the clients, as the changes stream sends it.
type Change struct {
	// Op is "create", "update" or "delete".
	Op string `json:"op"`
	// Client is the client as the write left it (as it was, for a delete).
	Client Client `json:"client"`
}

// subscriberBuffer is how many changes a stream may fall behind before it
// is dropped.
const subscriberBuffer = 64

// Broadcaster fans changes out to its subscribers. Each subscriber has a
// bounded buffer; one that falls behind by more than its buffer is dropped
// (its channel is closed) rather than slowing the writers down or pinning
// memory. Safe for concurrent use.
type Broadcaster[T any] struct {
	mu   sync.Mutex
	subs map[chan T]struct{}
}

// Subscribe returns a channel of what is published from now on, and a
// function that ends the subscription. The channel is closed when the
// subscriber is dropped for falling behind, or after cancel.
func (b *Broadcaster[T]) Subscribe(buffer int) (<-chan T, func()) {
	ch := make(chan T, buffer)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[chan T]struct{}{}
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() { b.drop(ch) }
}

func (b *Broadcaster[T]) drop(ch chan T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[ch]; ok {
		delete(b.subs, ch)
		close(ch)
	}
}

// Publish sends v to every subscriber without waiting for any of them.
func (b *Broadcaster[T]) Publish(v T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- v:
		default: // fell behind: dropped
			delete(b.subs, ch)
			close(ch)
		}
	}
}

// DropAll drops every subscriber, as if each had fallen behind.
func (b *Broadcaster[T]) DropAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		delete(b.subs, ch)
		close(ch)
	}
}

// Subscribers is how many subscribers there are.
func (b *Broadcaster[T]) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Changes carries the clients' writes to the changes streams: within the
// process, or, in fleet mode, through Redis pub/sub, so that a stream on
// one instance sees the writes made on every other. A stream sees every
// change after it starts, or ends with errMissedChanges (503).
type Changes struct {
	local Broadcaster[Change]
	// mu orders Subscribe against the subscription's loss, so that no
	// stream subscribes between the loss and the dropping of the streams.
	mu sync.Mutex
	// lost is set while the Redis subscription is lost: Subscribe then
	// refuses, since a stream would miss what is published meanwhile.
	lost bool
	// publish sends a change on its way: to local, or to Redis (whose
	// subscription feeds local).
	publish func(Change)
	close   func() error
}

// newChanges makes the in-process Changes.
func newChanges() *Changes {
	c := &Changes{close: func() error { return nil }}
	c.publish = c.local.Publish
	return c
}

// Publish announces a write.
func (c *Changes) Publish(op string, client Client) { c.publish(Change{Op: op, Client: client}) }

// errChangesUnavailable refuses a changes stream while the Redis
// subscription is lost (the outages interceptor adds Retry-After).
var errChangesUnavailable = &echorpc.Error{Status: http.StatusServiceUnavailable, Message: "The changes are not available right now: try again shortly."}

// Subscribe subscribes to the changes (see Broadcaster.Subscribe); while
// the Redis subscription is lost it refuses with errChangesUnavailable.
func (c *Changes) Subscribe() (<-chan Change, func(), error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lost {
		return nil, nil, errChangesUnavailable
	}
	ch, cancel := c.local.Subscribe(subscriberBuffer)
	return ch, cancel, nil
}

// setLost marks the Redis subscription lost, ending every stream at once
// (they miss what is published until it is back), or back.
func (c *Changes) setLost(lost bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lost = lost
	if lost {
		c.local.DropAll()
	}
}

// Close ends the Redis subscription, if there is one.
func (c *Changes) Close() error { return c.close() }

// changesChannel is the Redis channel the instances publish changes on.
const changesChannel = "wrpc-example:clients:changes"

// redisChanges makes Changes that travel over Redis pub/sub: a write is
// PUBLISHed on pool, and every instance (the writer's included) hands
// what its subscription receives to its own streams, so they all see the
// same changes in the same order.
//
// Pub/sub delivers at most once, so whatever stops the changes from
// arriving ends the open streams at once with errMissedChanges (503), for
// their callers to read the clients again and open a new stream: the
// subscription's connection failing (Redis killed, say), or Redis not
// answering the PING sent every pingEvery (Redis paused: noticed within
// pingEvery+redisTimeout), or a PUBLISH failing. While the subscription is
// lost, new streams are refused (503 with Retry-After) rather than opened
// to hear nothing; it is redialled with backoff, up to every 2 s, until
// Close. The write whose PUBLISH fails stands: it is answered as done,
// after at most redisTimeout.
//
// The subscription is in place when redisChanges returns. It has a
// connection of its own, dialled from url: a pool's connection cannot be
// closed under a Receive.
func redisChanges(url string, pool *redis.Pool, logger *log.Logger) (*Changes, error) {
	logf := func(format string, args ...any) {
		if logger != nil {
			logger.Printf(format, args...)
		}
	}
	c := &Changes{}
	c.publish = func(ch Change) {
		msg, err := json.Marshal(ch)
		if err != nil {
			return
		}
		conn := pool.Get()
		defer conn.Close()
		if _, err := conn.Do("PUBLISH", changesChannel, msg); err != nil {
			// The write is done; only its announcement is lost, and the
			// streams that missed it must not go on as if complete.
			logf("publishing a change to Redis: %v: ending this instance's changes streams", err)
			c.local.DropAll()
		}
	}
	psc, err := subscribeChanges(url)
	if err != nil {
		return nil, err
	}
	var (
		mu     sync.Mutex // guards psc and closed
		closed bool
		stop   = make(chan struct{})
		done   = make(chan struct{})
	)
	c.close = func() error {
		mu.Lock()
		if !closed {
			closed = true
			close(stop)
			psc.Close() // ends Receive
		}
		mu.Unlock()
		<-done
		return nil
	}
	go func() {
		defer close(done)
		for {
			err := listen(psc, &c.local, stop)
			mu.Lock()
			if closed {
				mu.Unlock()
				return
			}
			psc.Close()
			mu.Unlock()
			logf("the Redis subscription for changes is lost (%v): ending the changes streams, resubscribing", err)
			c.setLost(true)
			for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 2*time.Second) {
				select {
				case <-stop:
					return
				case <-time.After(backoff):
				}
				next, err := subscribeChanges(url)
				if err != nil {
					continue
				}
				mu.Lock()
				if closed {
					mu.Unlock()
					next.Close()
					return
				}
				psc = next
				mu.Unlock()
				c.setLost(false)
				logf("the Redis subscription for changes is back")
				break
			}
		}
	}()
	return c, nil
}

// subscribeChanges dials Redis and subscribes to changesChannel, and
// returns once the subscription is confirmed, so that no write after it is
// missed. Its reads wait up to pingEvery+redisTimeout, which the PINGs of
// listen keep from passing while Redis answers.
func subscribeChanges(url string) (redis.PubSubConn, error) {
	conn, err := redis.DialURL(url,
		redis.DialConnectTimeout(redisTimeout),
		redis.DialReadTimeout(pingEvery+redisTimeout),
		redis.DialWriteTimeout(redisTimeout))
	if err != nil {
		return redis.PubSubConn{}, err
	}
	psc := redis.PubSubConn{Conn: conn}
	if err := psc.Subscribe(changesChannel); err != nil {
		psc.Close()
		return psc, err
	}
	for {
		switch v := psc.Receive().(type) {
		case redis.Subscription:
			return psc, nil
		case error:
			psc.Close()
			return psc, v
		}
	}
}

// listen hands what psc receives to local until psc fails (or is closed),
// and returns why. It PINGs every pingEvery, so that a Redis that stops
// answering fails the next read within pingEvery+redisTimeout, as a dead
// one fails it at once.
func listen(psc redis.PubSubConn, local *Broadcaster[Change], stop <-chan struct{}) error {
	failed := make(chan struct{})
	defer close(failed)
	go func() {
		t := time.NewTicker(pingEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-failed:
				return
			case <-t.C:
				if psc.Ping("") != nil {
					return // the read fails too, soon
				}
			}
		}
	}()
	for {
		switch v := psc.Receive().(type) {
		case redis.Message:
			var ch Change
			if json.Unmarshal(v.Data, &ch) == nil {
				local.Publish(ch)
			}
		case error:
			return v
		}
	}
}

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

// errMissedChanges ends a changes stream that may have missed changes: its
// caller did not keep up, or the Redis subscription was lost.
var errMissedChanges = &echorpc.Error{Status: http.StatusServiceUnavailable, Message: "The stream missed changes: read the clients again and open a new stream."}

// changesStream is the changes function: every write after it starts.
func changesStream(changes *Changes) echorpc.Handler {
	return echorpc.Stream(func(c echo.Context, _ struct{}, send func(id string, item Change) error) error {
		ch, cancel, err := changes.Subscribe()
		if err != nil {
			return err // before the stream starts: answered as a call, 503
		}
		defer cancel()
		done := c.Request().Context().Done()
		for {
			select {
			case <-done:
				return c.Request().Context().Err()
			case change, ok := <-ch:
				if !ok {
					return errMissedChanges
				}
				if err := send("", change); err != nil {
					return err
				}
			}
		}
	})
}
