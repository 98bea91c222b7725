package echorpc

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/labstack/echo/v4"
)

// The channel is one WebSocket connection, GET Prefix/channel.ws, that
// carries every stream (see [Stream]) a page opens on the instance, each
// stream an id within it. A browser allows six HTTP/1.1 connections per
// origin, shared by all its tabs: with a stream per connection, the
// seventh live view of a site would hang, and the plain calls behind it.
//
// It is an edge like the others (edge.go): each stream it carries goes
// through the one pipeline, in a goroutine of its own with its own
// echo.Context (callcontext.go) and its own request (the upgrade's, with
// its own Last-Event-ID, Accept and Wrpc-Timeout-Ms headers): the same
// admission (MaxInFlight, the instance's and the function's rules, the
// caller's deadline, MaxStreams), the same run and interceptors, the same
// statuses (outcome.go). The upgrade itself passes the cross-origin check,
// the instance's rules and Config.MaxChannels; an open past
// Config.MaxChannelStreams is refused by the reader itself, so that one
// connection cannot start goroutines without end.
//
// Messages are JSON text frames. The caller sends
//
//	{"open":1,"call":{"weerpc":1.1,"function":"f","data":...},"lastEventId":"7","timeout":5000}
//	{"close":1}
//
// (lastEventId and timeout, in ms, are optional; ids are the caller's,
// above 0, one per stream of the connection), and the instance answers,
// for each stream:
//
//	{"id":1,"status":503,"reply":ENVELOPE,"retryAfter":1}  it did not start: answered as a call would be
//	{"id":1,"status":503,"reply":ENVELOPE,"retryAfter":1,"full":true}  the connection holds MaxChannelStreams: open it as a request of its own
//	{"id":1,"start":true}                                   it started, with nothing to send yet
//	{"id":1,"eventId":"8","envelope":ENVELOPE}              an item (the first one starts it)
//	{"id":1,"end":ENVELOPE}                                 the end: ok, or failing with its "status"
//
// A caller that opens it with ?batch=1 (both clients do) may get several
// of these in one WebSocket message, as a JSON
// array, [MESSAGE,MESSAGE,...]: what the instance queued for the
// connection while its last write was on its way (channelwriter.go).
//
// A stream whose caller sent close gets nothing more. The instance pings
// the connection (WebSocket ping frames), not each stream. The set of open
// streams lives with the connection: when it drops, every stream's handler
// ends, and the caller opens them again, on a new connection that any
// instance behind a load balancer can take, each with its last event id.
// A server shutdown ends every stream with its 503 end and then closes the
// connection (going away).

// channelPath is the channel's path below the prefix; like the client's
// files, it has a "." so that no function's URL can take its place.
const channelPath = "/channel.ws"

var (
	errChannelOff      = &Error{Status: http.StatusNotFound, Message: "This instance has no shared stream connection (Config.DisableChannel)."}
	errNotWebSocket    = &Error{Status: http.StatusUpgradeRequired, Message: "This is the instance's shared stream connection: open it as a WebSocket."}
	errTooManyChannels = &Error{Status: http.StatusServiceUnavailable, Message: "Too many open stream connections: try again later."}
	errStreamID        = &Error{Status: http.StatusBadRequest, Message: "A stream's id is already open on this connection."}
	errChannelFull     = &Error{Status: http.StatusServiceUnavailable, Message: "Too many open streams on this connection: try again later."}
	errWroteOwn        = errors.New("echorpc: a function wrote its own response on the shared stream connection, which cannot carry it")
)

// channel is one open WebSocket connection and the streams it carries.
type channel struct {
	rpc    *RPC
	c      echo.Context // the upgrade's; it outlives every stream
	conn   *websocket.Conn
	ctx    context.Context // ends with the connection
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup // the streams' goroutines
	last   atomic.Int64   // when the connection was last written to, in UnixNano
	// pinging is set while a ping is on its way.
	pinging atomic.Bool

	out   writeQueue  // the connection's writer (channelwriter.go)
	stall *time.Timer // closes a connection whose write stalls; the writer's

	mu      sync.Mutex
	streams map[uint64]*channelStream
	closing bool // the server is shutting down: no new stream
}

// channelStream is one stream of a channel: what the pipeline's writers
// (eventWriter, channel.reply) need to frame its messages.
type channelStream struct {
	ch      *channel
	id      uint64
	ctx     context.Context
	cancel  context.CancelCauseFunc
	started atomic.Bool // its first message (start or an item) is written
	full    bool        // refused: the connection holds MaxChannelStreams
	out     channelReply
}

// channelMessage is one message from the caller: open or close.
type channelMessage struct {
	Open        uint64         `json:"open"`
	Close       uint64         `json:"close"`
	Call        jsontext.Value `json:"call"`
	LastEventID *string        `json:"lastEventId"`
	Timeout     uint32         `json:"timeout"`
}

// serveChannel answers GET Prefix/channel.ws: admission of the upgrade,
// then the connection's messages until it closes.
func (rpc *RPC) serveChannel(c echo.Context) error {
	x := rpc.newExchange(c)
	defer x.free()
	r := c.Request()
	switch {
	case rpc.config.DisableChannel:
		return x.refuse(errChannelOff)
	case !strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		c.Response().Header()["Upgrade"] = []string{"websocket"}
		return x.refuse(errNotWebSocket)
	case !rpc.origin.allowedUpgrade(r):
		return x.refuse(errCrossOrigin)
	case len(x.funcs) == 0:
		return x.refuse(errNoFunctions)
	}
	if failure := x.who.check(&rpc.rules); failure != nil {
		return x.refuse(failure)
	}
	if !rpc.channels.take(rpc.config.MaxChannels) {
		return x.refuse(errTooManyChannels)
	}
	defer rpc.channels.give(rpc.config.MaxChannels)
	// the origin is checked above, as for every other request
	conn, err := websocket.Accept(c.Response(), r, &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		c.Logger().Warnf("echorpc: %s: %v", rpc.path+channelPath, err)
		return nil // Accept answered
	}
	conn.SetReadLimit(rpc.config.BodyLimit + 1024) // an open message is a call and a few keys
	ctx, cancel := context.WithCancelCause(r.Context())
	ch := &channel{rpc: rpc, c: c, conn: conn, ctx: ctx, cancel: cancel, streams: map[uint64]*channelStream{}}
	// ?batch=1 (channelBatch); a failed write ends every stream, which their callers resume
	batch := r.URL.Query().Get(channelBatch) == "1"
	ch.out.init(batch, ch.send, func(error) { _ = conn.CloseNow() })
	ch.last.Store(time.Now().UnixNano())
	rpc.streams.trackChannel(ch, rpc.config.StreamPing)
	defer rpc.streams.untrackChannel(ch)
	ch.serve()
	return nil
}

// allowedUpgrade applies the cross-origin check to a WebSocket upgrade, a
// GET that net/http's check lets through as a safe method: a browser sends
// Origin (and Sec-Fetch-Site) with it, checked as for a POST.
func (g originGuard) allowedUpgrade(r *http.Request) bool {
	post := *r
	post.Method = http.MethodPost
	return g.allowed(&post)
}

// serve reads the caller's messages until the connection ends, then ends
// every stream and waits for their handlers.
func (ch *channel) serve() {
	defer func() {
		ch.cancel(nil) // the caller went away: every handler's context ends
		ch.wg.Wait()
		_ = ch.conn.CloseNow()
	}()
	for {
		typ, b, err := ch.conn.Read(ch.ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText || !ch.receive(b) {
			_ = ch.conn.Close(websocket.StatusUnsupportedData, "not a channel message")
			return
		}
	}
}

// receive takes one message; false when it is not one.
func (ch *channel) receive(b []byte) bool {
	var m channelMessage
	if err := jsonv2.Unmarshal(b, &m); err != nil || (m.Open == 0) == (m.Close == 0) {
		return false
	}
	if m.Close != 0 {
		ch.mu.Lock()
		s := ch.streams[m.Close]
		ch.mu.Unlock()
		if s != nil {
			s.cancel(nil) // the caller went away from this stream: nothing more is sent
		}
		return true
	}
	s := &channelStream{ch: ch, id: m.Open}
	ch.mu.Lock()
	var refused *Error
	switch {
	case ch.streams[m.Open] != nil:
		refused = errStreamID
	case ch.closing:
		refused = errShutdown
	case ch.rpc.config.MaxChannelStreams > 0 && len(ch.streams) >= ch.rpc.config.MaxChannelStreams:
		refused, s.full = errChannelFull, true // answered here, by the reader: a caller that opens without end waits for its answers
	default:
		s.ctx, s.cancel = context.WithCancelCause(ch.ctx)
		ch.streams[m.Open] = s
		ch.wg.Add(1)
	}
	ch.mu.Unlock()
	if refused != nil {
		x := ch.rpc.newExchange(ch.c)
		res := x.refusal(x.c, nil, refused)
		x.free()
		ch.reply(s, v11, &res)
		return true
	}
	go ch.run(s, &m)
	return true
}

// upgradeHeaders are the upgrade's own headers, which a stream's request
// does not carry.
var upgradeHeaders = map[string]bool{"Upgrade": true, "Connection": true, "Sec-Websocket-Key": true,
	"Sec-Websocket-Version": true, "Sec-Websocket-Extensions": true, "Sec-Websocket-Protocol": true}

// run runs one stream through the pipeline, as serve does a request: the
// instance's load and rules, its call's own checks, its function, and its
// answer, as a reply when it did not start.
//
// Its frame, and those of the calls it makes before the function runs, stay
// on the stream's goroutine for the stream's life: the work before and after
// the call is in functions of their own (exchange, admit, answer), whose
// frames are gone by then, so that an idle stream's stack stays small.
func (ch *channel) run(s *channelStream, m *channelMessage) {
	defer ch.done(s)
	defer ch.abort()
	x := ch.exchange(s, m)
	defer x.free()
	if !ch.rpc.inFlight.take(ch.rpc.config.MaxInFlight) {
		ch.refuse(s, x, errOverloaded)
		return
	}
	defer ch.rpc.inFlight.give(ch.rpc.config.MaxInFlight)
	it := &x.one[0]
	if !ch.admit(s, x, m, it) {
		return
	}
	x.run(x.c, it)
	ch.answer(s, x, it)
}

// exchange is the exchange of stream s, opened by m: its request is the
// upgrade's, under the stream's context, with the upgrade's own headers
// left out and m's in.
func (ch *channel) exchange(s *channelStream, m *channelMessage) *exchange {
	up := ch.c.Request()
	h := make(http.Header, len(up.Header)+2)
	for k, v := range up.Header {
		if !upgradeHeaders[k] {
			h[k] = slices.Clip(v) // an Add appends to a copy
		}
	}
	h[echo.HeaderAccept] = headerEventStream
	if m.LastEventID != nil {
		h["Last-Event-Id"] = []string{*m.LastEventID}
	}
	if m.Timeout > 0 {
		h[timeoutHeader] = []string{strconv.FormatUint(uint64(m.Timeout), 10)}
	}
	r := up.WithContext(s.ctx)
	r.Header = h
	c := newCallContext(ch.c, &s.out)
	c.SetRequest(r)
	x := ch.rpc.newExchange(c)
	x.frames = s
	return x
}

// admit sets it to m's call, resolved, when the instance's rules let the
// caller in; otherwise it answers s with the refusal and returns false.
func (ch *channel) admit(s *channelStream, x *exchange, m *channelMessage, it *item) bool {
	if failure := x.who.check(&ch.rpc.rules); failure != nil {
		ch.refuse(s, x, failure)
		return false
	}
	req, failure := parseRequest(m.Call, ch.rpc.config.MaxDepth-1)
	*it = item{v: v11, refused: failure}
	if failure == nil {
		*it = x.resolve(&req)
	}
	return true
}

// refuse answers s with refusal e, as the instance's interceptors see it.
func (ch *channel) refuse(s *channelStream, x *exchange, e *Error) {
	res := x.refusal(x.c, nil, e)
	ch.reply(s, v11, &res)
}

// answer answers s with the item's outcome when its stream did not start, and
// warns of headers its function set, which the shared connection cannot
// carry.
func (ch *channel) answer(s *channelStream, x *exchange, it *item) {
	c := x.c
	switch {
	case s.started.Load():
	case c.Response().Committed:
		c.Logger().Errorf("echorpc: function %q: %v", it.fn.name, errWroteOwn)
		res := Result{Err: errWroteOwn}
		settle(&res)
		ch.reply(s, it.v, &res)
	default:
		ch.reply(s, it.v, &it.res)
	}
	if len(s.out.header) > 0 && it.fn != nil {
		c.Logger().Warnf("echorpc: function %q set response headers %v on the shared stream connection, which cannot carry them: they are dropped", it.fn.name, slices.Sorted(maps.Keys(s.out.header)))
	}
}

// abort takes a function's panic with http.ErrAbortHandler, which on a
// request of its own cuts its connection: here it cuts the channel's, and
// so every stream on it, which their callers resume. Any other panic was
// recovered by the chain (intercept.go).
func (ch *channel) abort() {
	if p := recover(); p != nil {
		if p != http.ErrAbortHandler {
			panic(p)
		}
		ch.out.drain() // what it sent goes out first, as on a request of its own
		_ = ch.conn.CloseNow()
	}
}

// done forgets a stream whose goroutine ends.
func (ch *channel) done(s *channelStream) {
	ch.mu.Lock()
	delete(ch.streams, s.id)
	ch.mu.Unlock()
	s.cancel(nil)
	ch.wg.Done()
}

// reply answers a stream that did not start, as a call would be answered:
// {"id":N,"status":S,"reply":ENVELOPE}, with "retryAfter":1 for a 503. A
// stream that its caller closed gets nothing.
func (ch *channel) reply(s *channelStream, v dialect, res *Result) {
	if s.gone() {
		return
	}
	rb := getReplyBuffer()
	defer rb.free()
	b := &rb.buf
	s.head(b)
	b.WriteString(`,"reply":`)
	status := rb.appendEnvelope(ch.c, v, res, false)
	b.WriteString(`,"status":`)
	b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(status), 10))
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		b.WriteString(`,"retryAfter":1`)
	}
	if s.full {
		b.WriteString(`,"full":true`) // the clients send it as a request of its own
	}
	b.WriteByte('}')
	_ = ch.out.add(b.Bytes())
}

// gone reports whether the stream's caller closed it, or its connection
// ended: then nothing more is sent. A stream that the server's shutdown
// ends is not gone: it gets its 503.
func (s *channelStream) gone() bool {
	return s.ctx != nil && s.ctx.Err() != nil && !errors.Is(context.Cause(s.ctx), http.ErrServerClosed)
}

// head starts a message of the stream: {"id":N.
func (s *channelStream) head(b *bytes.Buffer) {
	b.WriteString(`{"id":`)
	b.Write(strconv.AppendUint(b.AvailableBuffer(), s.id, 10))
}

// ping pings the connection if it has been idle for every; a caller that
// does not answer within the write timeout loses it.
func (ch *channel) ping(every time.Duration) {
	defer ch.pinging.Store(false)
	if time.Since(time.Unix(0, ch.last.Load())) < every {
		return
	}
	ctx, cancel := context.WithTimeout(ch.ctx, ch.rpc.config.StreamWriteTimeout)
	defer cancel()
	if err := ch.conn.Ping(ctx); err != nil && ch.ctx.Err() == nil {
		_ = ch.conn.CloseNow()
		return
	}
	ch.last.Store(time.Now().UnixNano())
}

// shutdown ends every stream with the server's shutdown (a 503 end),
// refuses new ones, and closes the connection once they have ended and
// their ends are written.
func (ch *channel) shutdown() {
	ch.mu.Lock()
	ch.closing = true
	for _, s := range ch.streams {
		s.cancel(http.ErrServerClosed)
	}
	ch.mu.Unlock()
	go func() {
		ch.wg.Wait()
		ch.out.drain() // every stream's end is written
		_ = ch.conn.Close(websocket.StatusGoingAway, "the server is shutting down")
	}()
}

// channelReply is the response writer of a stream's echo.Context: a
// stream's answer goes out as messages, so what a function writes there
// is dropped (and logged: see run).
type channelReply struct{ header http.Header }

func (w *channelReply) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *channelReply) Write(b []byte) (int, error) { return len(b), nil }

func (w *channelReply) WriteHeader(int) {}
