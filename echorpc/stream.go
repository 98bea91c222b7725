package echorpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

// Stream makes a streaming function: typed input, as with [Func], and a
// stream of typed items sent as server-sent events over the same POST,
// each item in its own envelope. The caller asks with
// Accept: text/event-stream (the JS client's stream, the Go client's
// [Client.Stream]); everything that fails before the stream starts (rules,
// data that does not decode) is answered as for a call.
//
// The stream starts (200 and its headers) with the first item, or 100 ms
// after fn began if it has sent nothing by then (so that a caller waiting
// for changes learns at once that the stream is open): an error that fn
// returns before that is answered as a call's would be, with its status (a
// [*Error] with Status 400 and field errors, say, for data that fn
// refuses). So refuse input at once, before waiting for anything. fn sends items with send, which returns an error
// once the stream cannot go on (the caller went away, the deadline
// passed, the server is shutting down, or the caller stopped reading for
// Config.StreamWriteTimeout): fn
// should then return. id is the event's id, which a caller that reconnects
// sends back in the Last-Event-ID header (read it with
// c.Request().Header.Get("Last-Event-ID") to resume); "" numbers the
// events 1, 2, 3... The stream ends when fn returns: with nil, with an
// "end" event; with an error, with an "error" event whose envelope fails
// as a call would (an [*Error] with its message, 504 for a deadline, 503
// for a shutdown, 500 for any other error, which is logged).
//
// A send function rather than an iterator: fn must learn at once that a
// send failed (and why, in the error), and may need to return an error
// after items have gone out, which a range-over-func iterator's yield
// (a bool) cannot carry.
func Stream[In, Out any](fn func(c echo.Context, in In, send func(id string, item Out) error) error) Handler {
	if fn == nil {
		return nil
	}
	return &streamHandler[In, Out]{fn: fn, validate: validates[In]()}
}

type streamHandler[In, Out any] struct {
	fn       func(echo.Context, In, func(string, Out) error) error
	validate bool
}

func (*streamHandler[In, Out]) aHandlerMadeByFuncRawFuncOrStream() {}

func (h *streamHandler[In, Out]) types() (in, out reflect.Type) {
	return reflect.TypeFor[In](), reflect.TypeFor[Out]()
}

func (h *streamHandler[In, Out]) streams() bool { return true }

func (h *streamHandler[In, Out]) call(c echo.Context, data json.RawMessage, env callEnv) Result {
	in, failure := decodeInput[In](c, data, env, h.validate)
	if failure != nil {
		return Result{Err: failure}
	}
	w := newEventWriter(c, env)
	defer w.close()
	err := w.run(func() error {
		return h.fn(c, in, func(id string, item Out) error { return w.send(id, item) })
	})
	return w.end(err)
}

// run runs a stream's handler; a panic becomes its error, so the stream
// still ends with an error event (http.ErrAbortHandler still aborts).
func (w *eventWriter) run(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			err = &panicError{value: p, stack: debug.Stack()}
		}
	}()
	return fn()
}

// streamer is implemented by the handlers that [Stream] makes.
type streamer interface{ streams() bool }

func isStream(h Handler) bool {
	s, ok := h.(streamer)
	return ok && s.streams()
}

var (
	errNotEventStream   = &Error{Status: http.StatusNotAcceptable, Message: "This function streams: call it with Accept: text/event-stream."}
	errStreamInBatch    = &Error{Status: http.StatusBadRequest, Message: "A streaming function cannot be a batch item."}
	errTooManyStreams   = &Error{Status: http.StatusServiceUnavailable, Message: "Too many open streams: try again later."}
	errStreamStalled    = errors.New("echorpc: the caller stopped reading the stream")
	errItemNotEncodable = errors.New("echorpc: a stream item cannot be encoded as JSON")
	headerEventStream   = []string{"text/event-stream"}
	headerNoBuffering   = []string{"no"}
)

// eventWriter writes one stream's events; send (from the handler) and the
// keep-alive pings (from the instance's one pinger) take turns under mu.
type eventWriter struct {
	c       echo.Context
	env     callEnv
	rc      *http.ResponseController // nil on a channel
	frames  *channelStream           // the stream's channel, nil for its own response (channel.go)
	out     *writeQueue              // its writer (writequeue.go): its own response's, or its channel's
	cancel  context.CancelCauseFunc
	pinging atomic.Bool // a ping is on its way

	mu      sync.Mutex
	opener  *time.Timer // starts a stream that sends nothing at first
	rb      *replyBuffer
	seq     int
	items   int
	last    time.Time // when the stream last wrote
	started bool      // the headers are sent
	done    bool      // the last event is written
	failed  error     // why writing stopped
	broken  error     // an item could not be encoded: the stream ends with an error
}

func newEventWriter(c echo.Context, env callEnv) *eventWriter {
	r := c.Request()
	ctx, cancel := context.WithCancelCause(r.Context())
	c.SetRequest(r.WithContext(ctx))
	w := &eventWriter{c: c, env: env, frames: env.frames, cancel: cancel, last: time.Now()}
	if w.frames != nil {
		w.out = &w.frames.ch.out
	} else {
		w.rc = http.NewResponseController(c.Response().Writer)
		w.out = &writeQueue{}
		w.out.init(false, w.writeOut, func(error) { w.cancel(errStreamStalled) })
	}
	env.rpc.streams.track(w, r, env.rpc.config.StreamPing)
	w.mu.Lock()
	w.opener = time.AfterFunc(streamStartDelay, w.open)
	w.mu.Unlock()
	return w
}

// streamStartDelay is how long a stream that has sent nothing waits before
// it starts anyway.
const streamStartDelay = 100 * time.Millisecond

// open starts a stream whose handler has sent nothing yet, and is still
// running, so that its caller sees it open.
func (w *eventWriter) open() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started || w.done || w.failed != nil {
		return
	}
	w.start()
	if w.frames != nil {
		w.buffer()
		w.frames.head(&w.rb.buf)
		w.rb.buf.WriteString(`,"start":true}`)
		w.flush()
		return
	}
	if w.failed = w.rc.Flush(); w.failed != nil {
		w.failed = errStreamStalled
		w.cancel(errStreamStalled)
	}
}

// start sends the stream's headers, once, with its first event or ping:
// until then, a handler's failure is answered as a call's would be.
func (w *eventWriter) start() {
	if w.started {
		return
	}
	w.started = true
	w.opener.Stop() // no need to open it any more
	if w.frames != nil {
		w.frames.started.Store(true)
		return
	}
	h := w.c.Response().Header()
	h[echo.HeaderContentType] = headerEventStream
	h[echo.HeaderCacheControl] = headerNoStore
	h["X-Accel-Buffering"] = headerNoBuffering
	h[echo.HeaderXContentTypeOptions] = headerNoSniff
	w.c.Response().WriteHeader(http.StatusOK)
}

// ping writes a comment line if the stream has been idle for every, so
// proxies and browsers keep it open.
func (w *eventWriter) ping(every time.Duration) {
	defer w.pinging.Store(false)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.frames != nil || w.done || w.failed != nil || time.Since(w.last) < every {
		return
	}
	w.start()
	w.buffer()
	w.rb.buf.WriteString(": ping\n\n")
	w.flush()
}

// buffer takes a reply buffer from the pool for one write; flush gives it
// back, so that an idle stream holds none.
func (w *eventWriter) buffer() {
	if w.rb == nil {
		w.rb = getReplyBuffer()
	}
}

// maxEventID is the longest event id that send takes, in bytes: a caller
// sends it back in a header (Last-Event-ID) to resume.
const maxEventID = 256

// checkEventID refuses an event id that a browser could not send back:
// one longer than maxEventID, or one with a NUL, CR or LF (browsers drop an
// id with NUL, and a line break would end the id line).
func checkEventID(id string) error {
	switch {
	case len(id) > maxEventID:
		return fmt.Errorf("echorpc: an event id is %d bytes, over the %d-byte limit", len(id), maxEventID)
	case strings.ContainsAny(id, "\x00\r\n"):
		return errors.New("echorpc: an event id has a NUL, CR or LF, which a browser cannot send back")
	}
	return nil
}

// send writes one item as an event with its envelope. An id that
// checkEventID refuses is refused, with nothing sent; an item that cannot
// be encoded is refused too, and ends the stream with an error event (500,
// logged) whatever the handler returns.
func (w *eventWriter) send(id string, item any) error {
	if err := checkEventID(id); err != nil {
		return err
	}
	ctx := w.c.Request().Context()
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.failed != nil:
		return w.failed
	case w.broken != nil:
		return w.broken
	case ctx.Err() != nil:
		return context.Cause(ctx)
	}
	w.buffer()
	b := &w.rb.buf
	if w.frames != nil {
		w.frames.head(b)
		b.WriteString(`,"eventId":`)
		if id == "" {
			b.WriteByte('"')
			b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(w.seq+1), 10))
			b.WriteByte('"')
		} else {
			b.Write(appendString(b.AvailableBuffer(), id))
		}
		b.WriteString(`,"envelope":`)
	} else {
		b.WriteString("id: ")
		if id == "" {
			b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(w.seq+1), 10))
		} else {
			b.WriteString(id)
		}
		b.WriteString("\ndata: ")
	}
	res := Result{Response: Response{OK: true, Data: item}, Status: http.StatusOK}
	if status := w.rb.appendEnvelope(w.c, w.env.dialect, &res, false); status != http.StatusOK {
		b.Reset() // appendEnvelope logged why
		w.broken = errItemNotEncodable
		return w.broken
	}
	w.endEvent()
	w.seq++
	w.start()
	if w.flush(); w.failed != nil {
		return w.failed
	}
	w.items++
	return nil
}

// endEvent ends an event (or a channel's message) in the buffer.
func (w *eventWriter) endEvent() {
	if w.frames != nil {
		w.rb.buf.WriteByte('}')
	} else {
		w.rb.buf.WriteString("\n\n")
	}
}

// flush hands what is buffered to the stream's writer (its own response's,
// or its channel's), which writes it within the write timeout: a caller
// that does not read is dropped, and the handler's context ends.
func (w *eventWriter) flush() {
	if w.failed != nil {
		w.rb.free()
		w.rb = nil
		return
	}
	err := w.out.add(w.rb.buf.Bytes())
	w.rb.free()
	w.rb = nil
	w.last = time.Now()
	if err != nil {
		w.failed = errStreamStalled
		w.cancel(errStreamStalled)
	}
}

// end writes the last event, exactly one: "end" when fn returned nil,
// "error" with a failing envelope (carrying its status) otherwise or when
// an item could not be encoded; and returns the stream's settled result
// for the interceptors. A stream whose caller is gone gets neither: there
// is no one to write to.
func (w *eventWriter) end(err error) Result {
	res := Result{Response: Response{OK: true}}
	if cause := w.cause(err); cause != nil {
		res = Result{Err: cause}
	}
	if hidden := settle(&res); hidden != nil {
		w.c.Logger().Errorf("echorpc: function %q: %v", w.env.fn.name, hidden)
	}
	res.Items = w.items
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	if w.failed != nil || w.frames != nil && w.frames.gone() {
		return res
	}
	ok := res.OK && res.Err == nil
	if !w.started && !ok {
		return res // nothing sent yet: answered as a call
	}
	w.start()
	w.buffer()
	b := &w.rb.buf
	switch {
	case w.frames != nil:
		w.frames.head(b)
		b.WriteString(`,"end":`)
	case ok:
		b.WriteString("event: end\ndata: ")
	default:
		b.WriteString("event: error\ndata: ")
	}
	w.rb.appendEnvelope(w.c, w.env.dialect, &res, !ok)
	w.endEvent()
	w.flush()
	return res
}

// cause is why a stream ended, given what its handler returned: nil for a
// clean end; the writer's own failures (a caller that stopped reading, an
// item that could not be encoded) and the context's (a server shutdown, the
// deadline, a caller gone) before the handler's error, which is usually
// their echo.
func (w *eventWriter) cause(err error) error {
	ctx := w.c.Request().Context()
	w.mu.Lock()
	broken := w.broken
	w.mu.Unlock()
	switch {
	case errors.Is(err, errStreamStalled) || errors.Is(context.Cause(ctx), errStreamStalled):
		return errStreamStalled
	case broken != nil:
		return broken
	case err == nil:
		return nil
	case ctx.Err() != nil && errors.Is(context.Cause(ctx), http.ErrServerClosed):
		return http.ErrServerClosed
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return context.DeadlineExceeded
	case ctx.Err() != nil:
		return context.Cause(ctx) // the caller went away
	}
	return err
}

// writeOut writes events queued for the stream's own response, and
// flushes them, within the write timeout. Only its writer calls it.
func (w *eventWriter) writeOut(q *queued) error {
	if d := w.env.rpc.config.StreamWriteTimeout; d > 0 {
		_ = w.rc.SetWriteDeadline(time.Now().Add(d))
	}
	if _, err := w.c.Response().Write(q.b); err != nil {
		return err
	}
	return w.rc.Flush()
}

// close ends the stream's bookkeeping, also when the handler panicked,
// once what it sent is written: the response ends when the handler
// returns.
func (w *eventWriter) close() {
	if w.frames == nil {
		w.out.drain() // a channel's writer goes on for its other streams
	}
	w.mu.Lock()
	w.opener.Stop()
	w.done = true
	w.mu.Unlock()
	w.env.rpc.streams.untrack(w)
	w.cancel(nil)
	w.mu.Lock()
	if w.rb != nil {
		w.rb.free()
		w.rb = nil
	}
	w.mu.Unlock()
}

// streamSet is the instance's open streams and channels (channel.go):
// one goroutine pings the idle ones, and a server shutdown ends them (with
// a 503 error event) instead of waiting for them.
type streamSet struct {
	mu       sync.Mutex
	open     map[*eventWriter]struct{}
	channels map[*channel]struct{}
	servers  map[*http.Server]bool
	pinger   bool // the ping loop runs
}

// track adds a stream, whose request is r, starts the ping loop if it is
// not running, and hooks the instance into its server's Shutdown the first
// time a stream runs on that server.
func (s *streamSet) track(w *eventWriter, r *http.Request, every time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open == nil {
		s.open = map[*eventWriter]struct{}{}
	}
	s.open[w] = struct{}{}
	s.started(r, every)
}

// trackChannel adds a channel, as track adds a stream.
func (s *streamSet) trackChannel(ch *channel, every time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.channels == nil {
		s.channels = map[*channel]struct{}{}
	}
	s.channels[ch] = struct{}{}
	s.started(ch.c.Request(), every)
}

// started starts the ping loop and hooks r's server's Shutdown, once;
// s.mu is held.
func (s *streamSet) started(r *http.Request, every time.Duration) {
	if every > 0 && !s.pinger {
		s.pinger = true
		go s.ping(every)
	}
	if s.servers == nil {
		s.servers = map[*http.Server]bool{}
	}
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok && !s.servers[srv] {
		s.servers[srv] = true
		srv.RegisterOnShutdown(s.shutdown)
	}
}

// count is how many open streams ride on a channel, and how many
// channels are open.
func (s *streamSet) count() (onChannels, channels int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.open {
		if w.frames != nil {
			onChannels++
		}
	}
	return onChannels, len(s.channels)
}

func (s *streamSet) untrack(w *eventWriter) {
	s.mu.Lock()
	delete(s.open, w)
	s.mu.Unlock()
}

func (s *streamSet) untrackChannel(ch *channel) {
	s.mu.Lock()
	delete(s.channels, ch)
	s.mu.Unlock()
}

// ping runs while streams or channels are open: every tick, each stream
// of its own response and each channel idle for every gets a ping, written
// on a goroutine of its own so that a caller that stopped reading delays
// no other. The streams of a channel get none: their channel does.
func (s *streamSet) ping(every time.Duration) {
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for range t.C {
		s.mu.Lock()
		if len(s.open) == 0 && len(s.channels) == 0 {
			s.pinger = false
			s.mu.Unlock()
			return
		}
		for w := range s.open {
			if w.frames == nil && w.pinging.CompareAndSwap(false, true) {
				go w.ping(every)
			}
		}
		for ch := range s.channels {
			if ch.pinging.CompareAndSwap(false, true) {
				go ch.ping(every)
			}
		}
		s.mu.Unlock()
	}
}

// shutdown ends every open stream with http.ErrServerClosed, and every
// channel once its streams have ended.
func (s *streamSet) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.open {
		w.cancel(http.ErrServerClosed)
	}
	for ch := range s.channels {
		ch.shutdown()
	}
}
