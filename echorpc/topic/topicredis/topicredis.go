// Package topicredis is a [topic.Engine] on Redis Streams, for a fleet:
// every instance publishes to and reads from the same logs, so a client
// that reconnects to any instance resumes from its last id.
//
// Each topic is a Redis stream (key Prefix+topic), trimmed by XADD to
// about MaxLen entries (MAXLEN ~) or to MaxAge (MINID ~). Each instance
// runs one XREAD loop for all the topics its streams subscribe to, and
// hands what it reads to the topic's [topic.Ring], where the subscribers
// wait together; a subscriber that falls behind the ring, or resumes from
// an older id, reads the log with XRANGE until it catches up.
//
// Faults: while Redis does not answer (paused, restarting), open streams
// stay open (echorpc's pings go on) and wait; Publish fails with a clear
// error after at most PublishTimeout (an item whose XADD timed out may
// still have been appended: the caller cannot tell, so a publisher that
// retries uses PublishOnce, which appends an item once however often it is
// retried). When Redis answers
// again the loop checks, for each topic, that its last id is still in the
// log (retention trims the oldest entries first, so if it is, nothing
// after it was lost) and continues after it: nothing lost, nothing twice,
// and no stream reconnects. If the id is gone (Redis lost its data, or the
// loop fell behind the retention), the topic's subscribers get
// [topic.ErrGap]. A Redis that lost its data may also come back unseen
// (the client reconnects within its own retries, and the loop meets no
// error): so after every read the loop checks the epoch, a random value
// the engines keep in Redis (key Prefix + "\x00epoch"), and checks the
// logs, before handing anything on, when it is gone or another.
package topicredis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/echo-rpc/wrpc/echorpc/topic"
	"github.com/redis/go-redis/v9"
)

// Config configures an Engine.
type Config struct {
	// Client is the Redis client. Required.
	Client redis.UniversalClient
	// Prefix is put before a topic's name to make its key.
	// Optional. Default "wrpc:topic:".
	Prefix string
	// MaxLen trims each topic to about this many entries (XADD MAXLEN ~).
	// Optional. Default 10,000; negative: no length bound.
	MaxLen int64
	// MaxAge trims each topic's entries older than this (XADD MINID ~).
	// Optional. Default 0: no age bound.
	MaxAge time.Duration
	// RingSize is how many of a topic's latest items each instance keeps
	// for its subscribers. Optional. Default 1,024.
	RingSize int
	// PublishTimeout bounds a Publish while Redis does not answer.
	// Optional. Default 2 s.
	PublishTimeout time.Duration
	// KeyTTL is how long PublishOnce remembers an item's key, and so how
	// long its publisher may go on retrying it. Optional. Default 10 min.
	KeyTTL time.Duration
	// Logger logs the loop's losses and returns of Redis.
	// Optional. Default slog.Default().
	Logger *slog.Logger
}

// Engine is the Redis engine; make it with New, end it with Close.
type Engine struct {
	cfg  Config
	wake string // this instance's key, written to interrupt its XREAD
	// epochKey holds the epoch of the Redis's data (see sameEpoch); epoch
	// is the one the loop knows ("" until it has read it).
	epochKey, epoch string
	mu              sync.Mutex
	topics          map[string]*hub
	stop            context.CancelFunc
	done            chan struct{}
}

// hub is one topic on this instance: its ring, and where the loop reads.
type hub struct {
	key  string
	ring *topic.Ring
	last string // the loop's cursor in the log
	subs int
}

// New makes an Engine and starts its XREAD loop.
func New(cfg Config) *Engine {
	if cfg.Prefix == "" {
		cfg.Prefix = "wrpc:topic:"
	}
	if cfg.MaxLen == 0 {
		cfg.MaxLen = 10000
	}
	if cfg.RingSize <= 0 {
		cfg.RingSize = 1024
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = 2 * time.Second
	}
	if cfg.KeyTTL <= 0 {
		cfg.KeyTTL = 10 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var b [8]byte
	rand.Read(b[:])
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{cfg: cfg, wake: cfg.Prefix + "\x00wake:" + hex.EncodeToString(b[:]), epochKey: cfg.Prefix + "\x00epoch", topics: map[string]*hub{}, stop: cancel, done: make(chan struct{})}
	go e.loop(ctx)
	return e
}

// Close stops the loop. Open subscriptions wait until their context ends.
func (e *Engine) Close() error {
	e.stop()
	<-e.done
	return e.cfg.Client.Del(context.Background(), e.wake).Err()
}

// Publish appends data to topic's stream, trimmed as configured, within
// PublishTimeout. A Publish that failed may still have appended the item
// (a timeout while Redis is paused: the XADD runs when Redis answers
// again), so publishing it again may append it twice: to retry, use
// [Engine.PublishOnce].
func (e *Engine) Publish(ctx context.Context, name string, data []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.PublishTimeout)
	defer cancel()
	id, err := e.cfg.Client.XAdd(ctx, e.xadd(e.cfg.Prefix+name, data)).Result()
	if err != nil {
		return "", fmt.Errorf("topicredis: publishing to %q: %w", name, err)
	}
	return id, nil
}

// PublishOnce is Publish for an item that its publisher retries until it
// succeeds: key names the item (a random id, or an Idempotency-Key), and
// within KeyTTL every PublishOnce of the same topic and key after the
// first that reached Redis appends nothing and returns the first one's id.
// So a publisher that retries after a failure whose outcome it cannot
// know (a timeout while Redis is paused, an instance killed mid-call)
// publishes the item exactly once. The check and the XADD are one script,
// atomic in Redis; the key is kept beside the topic's stream (Prefix +
// "once:" + topic + ":" + key), so both must be on one node (no Redis
// Cluster).
func (e *Engine) PublishOnce(ctx context.Context, name, key string, data []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.PublishTimeout)
	defer cancel()
	trim, threshold := e.retention()
	keys := []string{e.cfg.Prefix + name, e.cfg.Prefix + "once:" + name + ":" + key}
	id, err := publishOnce.Run(ctx, e.cfg.Client, keys, trim, threshold, data, e.cfg.KeyTTL.Milliseconds()).Text()
	if err != nil {
		return "", fmt.Errorf("topicredis: publishing to %q: %w", name, err)
	}
	return id, nil
}

// publishOnce appends ARGV[3] to the stream KEYS[1] (trimmed by ARGV[1]
// ARGV[2] when ARGV[1] is set) unless KEYS[2] holds the id of an earlier
// append, and keeps the id in KEYS[2] for ARGV[4] ms.
var publishOnce = redis.NewScript(`
local id = redis.call('GET', KEYS[2])
if id then return id end
if ARGV[1] == '' then
  id = redis.call('XADD', KEYS[1], '*', 'd', ARGV[3])
else
  id = redis.call('XADD', KEYS[1], ARGV[1], '~', ARGV[2], '*', 'd', ARGV[3])
end
redis.call('SET', KEYS[2], id, 'PX', ARGV[4])
return id
`)

func (e *Engine) xadd(key string, data []byte) *redis.XAddArgs {
	a := &redis.XAddArgs{Stream: key, Values: []any{"d", data}, Approx: true}
	switch trim, threshold := e.retention(); trim {
	case "MINID":
		a.MinID = threshold
	case "MAXLEN":
		a.MaxLen = e.cfg.MaxLen
	}
	return a
}

// retention is how an append trims its log: XADD's MINID (MaxAge) or
// MAXLEN (MaxLen) and its threshold; "" when the log is not trimmed.
func (e *Engine) retention() (trim, threshold string) {
	switch {
	case e.cfg.MaxAge > 0:
		return "MINID", strconv.FormatInt(time.Now().Add(-e.cfg.MaxAge).UnixMilli(), 10)
	case e.cfg.MaxLen > 0:
		return "MAXLEN", strconv.FormatInt(e.cfg.MaxLen, 10)
	}
	return "", ""
}

// Subscribe subscribes to topic after the id after ("": from now on).
func (e *Engine) Subscribe(ctx context.Context, name, after string) (topic.Subscription, error) {
	h, err := e.join(ctx, name)
	if err != nil {
		return nil, err
	}
	s := &sub{e: e, name: name, h: h}
	if after == "" {
		s.c, _ = h.ring.Cursor(h.ring.Last())
		return s, nil
	}
	id, ok := topic.ParseID(after)
	if !ok {
		s.Close()
		return nil, topic.ErrGap
	}
	// the id must be in the log, or items after it are lost
	got, err := e.cfg.Client.XRange(ctx, h.key, after, after).Result()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("topicredis: subscribing to %q: %w", name, err)
	}
	if len(got) == 0 {
		s.Close()
		return nil, topic.ErrGap
	}
	s.c, _ = h.ring.Cursor(id)
	return s, nil
}

// join finds or makes topic's hub; a new one starts after the log's last
// entry, and the loop is woken to read it.
func (e *Engine) join(ctx context.Context, name string) (*hub, error) {
	e.mu.Lock()
	h := e.topics[name]
	if h != nil {
		h.subs++
		e.mu.Unlock()
		return h, nil
	}
	e.mu.Unlock()
	key := e.cfg.Prefix + name
	last, err := lastID(ctx, e.cfg.Client, key)
	if err != nil {
		return nil, fmt.Errorf("topicredis: subscribing to %q: %w", name, err)
	}
	id, _ := topic.ParseID(last)
	e.mu.Lock()
	if h = e.topics[name]; h == nil {
		h = &hub{key: key, ring: topic.NewRing(e.cfg.RingSize, id), last: last}
		e.topics[name] = h
		e.mu.Unlock()
		e.cfg.Client.XAdd(ctx, &redis.XAddArgs{Stream: e.wake, Values: []any{"w", 1}, MaxLen: 1})
		e.cfg.Client.Expire(ctx, e.wake, time.Hour)
		e.mu.Lock()
	}
	h.subs++
	e.mu.Unlock()
	return h, nil
}

// lastID is the id of key's last entry, or "0-0".
func lastID(ctx context.Context, c redis.UniversalClient, key string) (string, error) {
	got, err := c.XRevRangeN(ctx, key, "+", "-", 1).Result()
	if err != nil {
		return "", err
	}
	if len(got) == 0 {
		return "0-0", nil
	}
	return got[0].ID, nil
}

func (e *Engine) leave(name string, h *hub) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if h.subs--; h.subs == 0 && e.topics[name] == h {
		delete(e.topics, name)
	}
}

// loop is the instance's one XREAD: every topic with subscribers here,
// and the wake key.
func (e *Engine) loop(ctx context.Context) {
	defer close(e.done)
	// the wake key is this engine's own: from its start, so that a join
	// made before the first XREAD wakes it too
	wakeLast := "0-0"
	backoff := time.Duration(0)
	unchecked := false // Redis failed, and the logs are not checked since
	for ctx.Err() == nil && e.epoch == "" {
		if err := e.adoptEpoch(ctx); err != nil && !e.wait(ctx, &backoff, err) {
			return
		}
	}
	for ctx.Err() == nil {
		hubs, streams := e.cursors(wakeLast)
		if unchecked {
			// Only once every log is checked may the loop read after its
			// cursors: a log that Redis lost and began again would
			// otherwise be read on as if nothing were missing.
			if !e.check(ctx, hubs) {
				if !e.wait(ctx, &backoff, errors.New("checking the logs failed")) {
					return
				}
				continue
			}
			unchecked = false
		}
		res, err := e.read(ctx, streams)
		if errors.Is(err, errNewEpoch) {
			e.cfg.Logger.Warn("topicredis: Redis lost its data (a new epoch): checking the logs")
			unchecked = true
			continue
		}
		if err != nil {
			if ctx.Err() != nil || !e.wait(ctx, &backoff, err) {
				return
			}
			unchecked = true
			continue
		}
		if backoff > 0 {
			backoff = 0
			e.cfg.Logger.Info("topicredis: reading the topics again")
		}
		e.deliver(res, hubs, &wakeLast)
	}
}

// cursors is what the loop reads next: every topic's hub, and the
// XREAD STREAMS arguments (each log's key, then the wake key, then
// the id after which each is read).
func (e *Engine) cursors(wakeLast string) ([]*hub, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	hubs := make([]*hub, 0, len(e.topics))
	streams := make([]string, 0, 2*len(e.topics)+2)
	for _, h := range e.topics {
		hubs = append(hubs, h)
		streams = append(streams, h.key)
	}
	streams = append(streams, e.wake)
	for _, h := range hubs {
		streams = append(streams, h.last)
	}
	return hubs, append(streams, wakeLast)
}

// errNewEpoch is a read from a Redis that lost its data since the
// engine last read it.
var errNewEpoch = errors.New("topicredis: Redis has a new epoch")

// read blocks for up to 2 s for new entries of the logs. What it read
// comes from the Redis of this engine's epoch, or it answers
// errNewEpoch and the logs are checked before anything is handed on:
// the client may have reconnected, unseen, to a Redis that lost its data.
func (e *Engine) read(ctx context.Context, streams []string) ([]redis.XStream, error) {
	res, err := e.cfg.Client.XRead(ctx, &redis.XReadArgs{Streams: streams, Count: 1000, Block: 2 * time.Second}).Result()
	if errors.Is(err, redis.Nil) {
		res, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	same, err := e.sameEpoch(ctx)
	switch {
	case err != nil:
		return nil, err
	case !same:
		return nil, errNewEpoch
	}
	return res, nil
}

// deliver hands what read returned to each topic's subscribers, and
// moves the cursors past it.
func (e *Engine) deliver(res []redis.XStream, hubs []*hub, wakeLast *string) {
	byKey := make(map[string]*hub, len(hubs))
	for _, h := range hubs {
		byKey[h.key] = h
	}
	for _, s := range res {
		if len(s.Messages) == 0 {
			continue
		}
		last := s.Messages[len(s.Messages)-1].ID
		if s.Stream == e.wake {
			*wakeLast = last
			continue
		}
		h := byKey[s.Stream]
		if h == nil {
			continue
		}
		items := make([]topic.Item, len(s.Messages))
		for i, m := range s.Messages {
			d, _ := m.Values["d"].(string)
			items[i] = topic.Item{ID: m.ID, Data: []byte(d)}
		}
		h.ring.Append(items...)
		e.mu.Lock()
		h.last = last
		e.mu.Unlock()
	}
}

// sameEpoch reports whether Redis still holds the epoch this engine
// knows: a random value that the first engine on a Redis writes (SET NX)
// and every engine reads, and that a Redis that lost its data no longer
// has. When it has changed, the engine adopts the new one (writing it if
// none is there), and the caller checks the logs.
func (e *Engine) sameEpoch(ctx context.Context) (bool, error) {
	got, err := e.cfg.Client.Get(ctx, e.epochKey).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, err
	}
	if err == nil && got == e.epoch {
		return true, nil
	}
	if err := e.adoptEpoch(ctx); err != nil {
		return false, err
	}
	return e.epoch == got, nil
}

// adoptEpoch writes a new epoch unless Redis has one, and takes Redis's.
func (e *Engine) adoptEpoch(ctx context.Context) error {
	var b [8]byte
	_, _ = rand.Read(b[:])
	if err := e.cfg.Client.SetNX(ctx, e.epochKey, hex.EncodeToString(b[:]), 0).Err(); err != nil {
		return err
	}
	got, err := e.cfg.Client.Get(ctx, e.epochKey).Result()
	if err != nil {
		return err
	}
	e.epoch = got
	return nil
}

// wait waits out the loop's backoff after err, longer each time up to
// 2 s; false when ctx ended meanwhile.
func (e *Engine) wait(ctx context.Context, backoff *time.Duration, err error) bool {
	*backoff = min(max(2**backoff, 100*time.Millisecond), 2*time.Second)
	e.cfg.Logger.Warn("topicredis: reading the topics failed: retrying", "err", err, "in", *backoff)
	select {
	case <-ctx.Done():
		return false
	case <-time.After(*backoff):
		return true
	}
}

// check runs after a failure of Redis, before the loop reads again: each
// hub's cursor must still be in the log; where it is not, its subscribers
// get ErrGap and the hub starts again after the log's last entry. It
// reports whether every hub was checked (false: Redis failed again).
func (e *Engine) check(ctx context.Context, hubs []*hub) bool {
	for _, h := range hubs {
		e.mu.Lock()
		last := h.last
		e.mu.Unlock()
		if last == "0-0" {
			continue
		}
		got, err := e.cfg.Client.XRange(ctx, h.key, last, last).Result()
		if err != nil {
			return false
		}
		if len(got) > 0 {
			continue // nothing lost
		}
		now, err := lastID(ctx, e.cfg.Client, h.key)
		if err != nil {
			return false
		}
		e.cfg.Logger.Warn("topicredis: a topic's log lost entries: its subscribers get a gap", "key", h.key, "last", last)
		id, _ := topic.ParseID(now)
		h.ring.Reset(id)
		e.mu.Lock()
		h.last = now
		e.mu.Unlock()
	}
	return true
}

// sub is one subscriber: a cursor in its hub's ring, reading the log
// while it is behind the ring.
type sub struct {
	e    *Engine
	name string
	h    *hub
	c    topic.Cursor
	done bool
}

func (s *sub) Next(ctx context.Context) ([]topic.Item, error) {
	items, ok, err := s.h.ring.Read(ctx, &s.c, 256)
	if ok {
		return items, err
	}
	// behind the ring: read the log from the cursor (inclusive, to check
	// that it is still there)
	after := s.c.After.String()
	got, err := s.e.cfg.Client.XRangeN(ctx, s.h.key, after, "+", 257).Result()
	if err != nil {
		// Redis does not answer: wait, and let the stream go on
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
			return nil, nil
		}
	}
	if len(got) == 0 || got[0].ID != after {
		return nil, topic.ErrGap
	}
	items = make([]topic.Item, 0, len(got)-1)
	for _, m := range got[1:] {
		d, _ := m.Values["d"].(string)
		items = append(items, topic.Item{ID: m.ID, Data: []byte(d)})
	}
	if len(items) > 0 {
		s.c.After, _ = topic.ParseID(items[len(items)-1].ID)
	}
	return items, nil
}

func (s *sub) Close() {
	if !s.done {
		s.done = true
		s.e.leave(s.name, s.h)
	}
}
