package echorpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The Go client's side of the channel (channel.go): [Client.Stream]
// carries every stream of a Client over one WebSocket connection to its
// instance's Prefix/channel.ws, each stream an id within it, as the JS
// client does. The connection opens with the first stream, with the
// client's Header and HTTPClient (its cookie jar, its transport; no
// redirect is followed), and closes once it has carried no stream for
// channelIdle. A server that does not offer it (404 and the like: an older
// wrpc, or Config.DisableChannel) is remembered for channelOff, and its
// streams go as requests of their own meanwhile; a server that refuses the
// upgrade otherwise (503 for Config.MaxChannels, 403 for its rules) has
// that one stream go as its own request, which answers with the same
// failure in an envelope if there is one. A dial with no answer (a
// transport that speaks HTTP/2 only cannot upgrade; a server out of
// reach) sends streams as requests of their own for channelRedial.
//
// One goroutine reads the connection and hands each message to its
// stream's queue, which never blocks it: a stream whose caller reads
// slowly delays no other (its queue grows instead, bounded by what the
// server sends before its write timeout). A dropped connection cuts every
// stream it carried, and each is resumed on a new one (see
// [Client.Stream]), the first to reconnect dialing it for all.

const (
	// channelIdle is how long a connection with no stream stays open.
	channelIdle = 5 * time.Second
	// channelOff is how long a server that said it has no channel is
	// taken at its word.
	channelOff = time.Minute
	// channelRedial is how long streams go as requests of their own
	// after a dial that got no answer at all.
	channelRedial = 5 * time.Second
	// channelWriteTimeout bounds the write of one message to the server.
	channelWriteTimeout = 10 * time.Second
)

// errNoChannel says that a stream goes as a request of its own.
var errNoChannel = errors.New("wrpc: no shared stream connection")

// clientChannels is a Client's shared connection, and what it knows of
// its server's.
type clientChannels struct {
	mu       sync.Mutex
	conn     *clientChannel // open, nil when there is none
	endpoint string         // conn's, and offUntil's
	offUntil time.Time      // the server has no channel until then
}

// clientChannel is one open connection and the streams it carries.
type clientChannel struct {
	conn  *websocket.Conn
	limit int64 // MaxReplyBytes, for one message's envelope

	mu    sync.Mutex
	next  uint64
	calls map[uint64]*channelCall
	idle  *time.Timer
	dead  bool // it dropped, or closed for being idle: no new stream

	charged atomic.Bool // its drop is drawn on the retry budget (spend)
}

// channelCall is one stream of a connection, as its caller reads it.
type channelCall struct {
	ch *clientChannel
	id uint64

	mu     sync.Mutex
	queue  []*channelFrame
	cut    bool          // the connection dropped
	wake   chan struct{} // signalled (cap 1) when the queue grows or the connection drops
	peeked *channelFrame // the first message, read by open
	timed  bool          // the server was given the caller's deadline
}

// channelFrame is one message of the server for a stream (channel.go).
type channelFrame struct {
	ID         uint64         `json:"id"`
	Status     int            `json:"status"`
	Reply      jsontext.Value `json:"reply"`
	Start      bool           `json:"start"`
	EventID    *string        `json:"eventId"`
	Envelope   jsontext.Value `json:"envelope"`
	End        jsontext.Value `json:"end"`
	RetryAfter int            `json:"retryAfter"`
	Full       bool           `json:"full"` // the connection holds all the streams it may

	tooLarge bool // the message was over the client's limit, and dropped
}

// channelOpen is the message that opens a stream.
type channelOpen struct {
	Open        uint64         `json:"open"`
	Call        jsontext.Value `json:"call"`
	LastEventID string         `json:"lastEventId,omitempty"`
	Timeout     int64          `json:"timeout,omitempty"`
}

// channelURL is the channel's URL for an endpoint: ws: or wss:,
// /channel.ws at the end of its path, its query kept, and batch=1.
func channelURL(endpoint string) (string, bool) {
	u, err := urlUnder(endpoint, channelPath)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" {
		return "", false
	}
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += channelBatch + "=1" // messages may come in batches (channelwriter.go)
	return u.String(), true
}

// offered takes what the manifest of endpoint says: whether its server
// offers the channel. One that does not is not asked for it until the
// next manifest says otherwise.
func (cs *clientChannels) offered(endpoint string, yes bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.endpoint != endpoint {
		cs.conn = nil // another endpoint's: it closes once idle
	}
	cs.endpoint, cs.offUntil = endpoint, time.Time{}
	if !yes {
		cs.offUntil = time.Now().Add(100 * 365 * 24 * time.Hour)
	}
}

// channel returns the open connection, dialing it if there is none;
// errNoChannel when the stream should go as its own request.
func (c *Client) channel(ctx context.Context) (*clientChannel, error) {
	cs := &c.channels
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.endpoint != c.Endpoint {
		cs.endpoint, cs.offUntil = c.Endpoint, time.Time{}
	}
	if cs.conn != nil && !cs.conn.isDead() {
		return cs.conn, nil
	}
	cs.conn = nil
	if time.Now().Before(cs.offUntil) {
		return nil, errNoChannel
	}
	u, ok := channelURL(c.Endpoint)
	if !ok {
		return nil, errNoChannel
	}
	hc := http.DefaultClient
	if c.HTTPClient != nil {
		hc = c.HTTPClient
	}
	noFollow := *hc
	noFollow.Transport = stopRedirects{next: hc.Transport}
	conn, res, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPClient: &noFollow, HTTPHeader: c.Header.Clone(), CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		if res != nil && res.StatusCode != http.StatusSwitchingProtocols {
			switch res.StatusCode {
			case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusBadRequest,
				http.StatusUpgradeRequired, http.StatusNotImplemented:
				cs.offUntil = time.Now().Add(channelOff) // not offered here
			}
			return nil, errNoChannel
		}
		var e *Error
		if errors.As(err, &e) {
			return nil, e // a redirect
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("wrpc: opening the shared stream connection to %s: %w", u, err)
		}
		// No answer: a transport that cannot upgrade (HTTP/2 only: h2c
		// or a forced h2 transport) or a server out of reach. The stream
		// goes as its own request, which answers for the server, and the
		// channel is tried again after channelRedial.
		cs.offUntil = time.Now().Add(channelRedial)
		return nil, errNoChannel
	}
	conn.SetReadLimit(-1) // read enforces the client's own limit, per message
	ch := &clientChannel{conn: conn, limit: c.maxReplyBytes() + 1024, calls: map[uint64]*channelCall{}}
	cs.conn = ch
	go ch.read()
	return ch, nil
}

func (ch *clientChannel) isDead() bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.dead
}

// open opens a stream of the call (its envelope, as JSON), resuming after
// lastID when it is set, and waits for its first message: the stream, or
// the failure the server answered instead. A cut before that first message
// is a transport error.
func (ch *clientChannel) open(ctx context.Context, call []byte, lastID string) (*channelCall, error) {
	ch.mu.Lock()
	if ch.dead {
		ch.mu.Unlock()
		return nil, errChannelCut
	}
	ch.next++
	s := &channelCall{ch: ch, id: ch.next, wake: make(chan struct{}, 1)}
	ch.calls[s.id] = s
	if ch.idle != nil {
		ch.idle.Stop()
		ch.idle = nil
	}
	ch.mu.Unlock()
	m := channelOpen{Open: s.id, Call: call, LastEventID: lastID}
	if deadline, ok := ctx.Deadline(); ok {
		m.Timeout = max(time.Until(deadline).Milliseconds(), 1)
		s.timed = true
	}
	b, err := jsonv2.Marshal(&m)
	if err == nil {
		err = ch.write(b)
	}
	if err != nil {
		s.close(false)
		return nil, errChannelCut
	}
	f, err := s.next(ctx)
	if err != nil {
		s.close(true)
		return nil, err
	}
	s.peeked = f
	return s, nil
}

// errChannelCut is a stream's connection that dropped.
var errChannelCut = errors.New("the shared stream connection dropped")

// channelCut is the failure of a stream whose connection dropped: one
// drop cuts every stream of the connection, and draws on the client's
// retry budget once, not once per stream (see spend).
type channelCut struct {
	ch  *clientChannel
	err error
}

func (e *channelCut) Error() string { return e.err.Error() }
func (e *channelCut) Unwrap() error { return e.err }

// spend draws a stream's reconnect on the retry budget, and reports
// whether it may go: a connection's drop costs one token, whichever of its
// streams reconnects first, and its other streams follow for free.
func (c *Client) spend(err error) bool {
	var cut *channelCut
	if errors.As(err, &cut) && !cut.ch.charged.CompareAndSwap(false, true) {
		return true
	}
	return c.budget.fail()
}

// write sends one message, with its own deadline: a caller's context that
// ends mid-write would close the whole connection.
func (ch *clientChannel) write(b []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), channelWriteTimeout)
	defer cancel()
	return ch.conn.Write(ctx, websocket.MessageText, b)
}

// read reads the connection's messages, each to its stream, until it
// drops; then every stream is cut. A message that starts with "[" is a
// batch of them (channelwriter.go), each held to the client's limit: a
// batch itself is at most maxQueued long.
func (ch *clientChannel) read() {
	defer ch.drop()
	var buf bytes.Buffer // each message's, reused: a frame keeps copies of its values
	limit := max(ch.limit, maxQueued+1)
	for {
		typ, r, err := ch.conn.Reader(context.Background())
		if err != nil {
			return
		}
		buf.Reset()
		_, err = buf.ReadFrom(io.LimitReader(r, limit+1))
		if err != nil || typ != websocket.MessageText {
			return
		}
		b := buf.Bytes()
		if int64(len(b)) > limit {
			if _, err := io.Copy(io.Discard, r); err != nil {
				return
			}
		}
		if len(b) > 0 && b[0] == '[' && int64(len(b)) <= limit {
			ch.readBatch(b)
			continue
		}
		ch.deliver(b)
	}
}

// readBatch hands each message of a batch to its stream.
func (ch *clientChannel) readBatch(b []byte) {
	d := jsontext.NewDecoder(bytes.NewReader(b))
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '[' {
		return // not a message of ours
	}
	for d.PeekKind() == '{' {
		start := d.InputOffset()
		f, err := readFrame(d)
		if err != nil {
			return // not a message of ours: nor is the rest
		}
		if d.InputOffset()-start > ch.limit {
			f = &channelFrame{ID: f.ID, tooLarge: true}
		}
		ch.push(f)
	}
}

// deliver hands one message, b, to its stream: decoded, or marked too
// large when it is over the client's limit (only its id is read then).
func (ch *clientChannel) deliver(b []byte) {
	if int64(len(b)) > ch.limit {
		ch.push(&channelFrame{ID: frameID(b), tooLarge: true})
		return
	}
	f, err := readOneFrame(b)
	if err != nil {
		return // not a message of ours
	}
	ch.push(f)
}

// readOneFrame reads b, which must be one message and nothing else.
func readOneFrame(b []byte) (*channelFrame, error) {
	d := jsontext.NewDecoder(bytes.NewReader(b))
	f, err := readFrame(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return nil, errNotFrame
	}
	return f, nil
}

// push hands a message to its stream.
func (ch *clientChannel) push(f *channelFrame) {
	ch.mu.Lock()
	s := ch.calls[f.ID]
	ch.mu.Unlock()
	if s != nil {
		s.push(f)
	}
}

// readFrame reads one message of the server (channel.go) from d, token by
// token: the connection's one reader reads every stream's messages, so it
// takes each in one pass, without reflection. Names it does not know are
// skipped; a name given twice, a value of the wrong kind or a number that
// is not an integer make it no message of ours.
func readFrame(d *jsontext.Decoder) (*channelFrame, error) {
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, errNotFrame
	}
	f := &channelFrame{}
	for d.PeekKind() != '}' {
		name, err := d.ReadToken()
		if err != nil {
			return nil, err
		}
		switch name.String() {
		case "id":
			f.ID, err = readUint(d)
		case "status":
			f.Status, err = readInt(d)
		case "retryAfter":
			f.RetryAfter, err = readInt(d)
		case "start":
			f.Start, err = readBool(d)
		case "full":
			f.Full, err = readBool(d)
		case "eventId":
			f.EventID, err = readStringOrNull(d)
		case "reply":
			f.Reply, err = readValue(d)
		case "envelope":
			f.Envelope, err = readValue(d)
		case "end":
			f.End, err = readValue(d)
		default:
			err = d.SkipValue()
		}
		if err != nil {
			return nil, err
		}
	}
	if _, err := d.ReadToken(); err != nil { // the "}"
		return nil, err
	}
	return f, nil
}

var errNotFrame = errors.New("not a message of the shared stream connection")

func readUint(d *jsontext.Decoder) (uint64, error) {
	tok, err := d.ReadToken()
	if err != nil || tok.Kind() != '0' {
		return 0, errNotFrame
	}
	return tok.Uint()
}

func readInt(d *jsontext.Decoder) (int, error) {
	tok, err := d.ReadToken()
	if err != nil || tok.Kind() != '0' {
		return 0, errNotFrame
	}
	n, err := tok.Int()
	return int(n), err
}

// readStringOrNull reads a string, or null (nil).
func readStringOrNull(d *jsontext.Decoder) (*string, error) {
	tok, err := d.ReadToken()
	switch {
	case err != nil:
		return nil, err
	case tok.Kind() == 'n':
		return nil, nil
	case tok.Kind() != '"':
		return nil, errNotFrame
	}
	s := tok.String()
	return &s, nil
}

func readBool(d *jsontext.Decoder) (bool, error) {
	tok, err := d.ReadToken()
	if err != nil || tok.Kind() != 't' && tok.Kind() != 'f' {
		return false, errNotFrame
	}
	return tok.Bool(), nil
}

// readValue reads a value, copied: d's buffer is reused.
func readValue(d *jsontext.Decoder) (jsontext.Value, error) {
	v, err := d.ReadValue()
	return bytes.Clone(v), err
}

// frameID reads the id that starts a message, {"id":N, (the server writes
// it first), from a message too large to decode.
func frameID(b []byte) uint64 {
	rest, ok := bytes.CutPrefix(b, []byte(`{"id":`))
	if !ok {
		return 0
	}
	end := bytes.IndexByte(rest, ',')
	if end < 0 {
		return 0
	}
	id, _ := strconv.ParseUint(string(rest[:end]), 10, 64)
	return id
}

// drop ends a connection that dropped: every stream it carried is cut.
func (ch *clientChannel) drop() {
	_ = ch.conn.CloseNow()
	ch.mu.Lock()
	ch.dead = true
	calls := ch.calls
	ch.calls = map[uint64]*channelCall{}
	ch.mu.Unlock()
	for _, s := range calls {
		s.mu.Lock()
		s.cut = true
		s.mu.Unlock()
		s.signal()
	}
}

// forget removes a stream; a connection left with none closes after
// channelIdle, unless a stream opens meanwhile.
func (ch *clientChannel) forget(s *channelCall) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.calls[s.id] != s {
		return
	}
	delete(ch.calls, s.id)
	if len(ch.calls) == 0 && !ch.dead && ch.idle == nil {
		ch.idle = time.AfterFunc(channelIdle, ch.closeIdle)
	}
}

// closeIdle closes a connection that still carries no stream.
func (ch *clientChannel) closeIdle() {
	ch.mu.Lock()
	if len(ch.calls) > 0 || ch.dead {
		ch.mu.Unlock()
		return
	}
	ch.dead = true
	ch.mu.Unlock()
	_ = ch.conn.Close(websocket.StatusNormalClosure, "")
}

func (s *channelCall) push(f *channelFrame) {
	s.mu.Lock()
	s.queue = append(s.queue, f)
	s.mu.Unlock()
	s.signal()
}

func (s *channelCall) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// next returns the stream's next message; errChannelCut once the
// connection dropped and every message before that is read, and the
// context's error when it ends first.
func (s *channelCall) next(ctx context.Context) (*channelFrame, error) {
	if f := s.peeked; f != nil {
		s.peeked = nil
		return f, nil
	}
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			f := s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			if len(s.queue) == 0 {
				s.queue = nil // let the array go
			}
			s.mu.Unlock()
			return f, nil
		}
		cut := s.cut
		s.mu.Unlock()
		if cut {
			return nil, errChannelCut
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// close forgets the stream, and tells the server to end it when it has
// not ended (open set: the server may still be sending).
func (s *channelCall) close(open bool) {
	s.ch.forget(s)
	if !open {
		return
	}
	s.mu.Lock()
	cut := s.cut
	s.mu.Unlock()
	if !cut {
		_ = s.ch.write([]byte(`{"close":` + strconv.FormatUint(s.id, 10) + `}`))
	}
}

// channelStream opens the call's stream over the client's connection;
// errNoChannel when it should go as its own request.
func (c *Client) channelStream(ctx context.Context, d clientDialect, function string, body []byte, lastID string) (*channelCall, error) {
	ch, err := c.channel(ctx)
	if err != nil {
		return nil, err
	}
	s, err := ch.open(ctx, body, lastID)
	if errors.Is(err, errChannelCut) {
		return nil, &channelCut{ch: ch, err: fmt.Errorf("wrpc: streaming %q: %w", function, err)}
	}
	if err != nil {
		return nil, fmt.Errorf("wrpc: streaming %q: %w", function, err)
	}
	f := s.peeked
	switch {
	case f.tooLarge:
		s.close(true)
		return nil, &Error{Status: http.StatusOK, Message: fmt.Sprintf("A stream event is larger than the client's limit of %d bytes (Client.MaxReplyBytes).", c.maxReplyBytes())}
	case f.Full:
		s.close(false)
		return nil, errNoChannel // as HTTP/2 clients do past a connection's stream bound
	case f.Reply != nil:
		s.close(false) // the server is done with it
		if err := d.check(function, clientReply{status: f.Status, raw: f.Reply}, nil); err != nil {
			return nil, err
		}
		return nil, &Error{Status: f.Status, Message: "The reply is an envelope, not an event stream: is the function a stream?"}
	}
	return s, nil
}

// read reads a stream of the connection as readStream reads one of
// its own response: its items yielded, lastID kept, stop set when the
// sequence is over; otherwise the stream was cut, and err says how.
func (s *channelCall) read(ctx context.Context, c *Client, d clientDialect, function string, lastID *string, yield func(json.RawMessage, error) bool) (stop bool, err error) {
	ended := false
	defer func() { s.close(!ended) }()
	for {
		f, err := s.next(ctx)
		switch {
		case errors.Is(err, errChannelCut):
			return false, &channelCut{ch: s.ch, err: &Error{Status: http.StatusOK, Message: "The stream ended before its end event: its shared connection dropped."}}
		case err != nil:
			// At the caller's deadline the server ends the stream by
			// itself, at the same deadline: a close would race it.
			ended = s.timed && errors.Is(err, context.DeadlineExceeded)
			return false, fmt.Errorf("wrpc: streaming %q: %w", function, err)
		case f.tooLarge:
			yield(nil, &Error{Status: http.StatusOK, Message: fmt.Sprintf("A stream event is larger than the client's limit of %d bytes (Client.MaxReplyBytes).", c.maxReplyBytes())})
			return true, nil
		case f.End != nil:
			ended = true
			event := "end"
			if frameStatus(f.End) != 0 {
				event = "error"
			}
			_, _, err := d.streamEvent(function, event, f.End)
			if err != nil {
				yield(nil, err)
			}
			return true, nil
		case f.Envelope != nil:
			if f.EventID != nil {
				*lastID = *f.EventID
			}
			item, done, err := d.streamEvent(function, "", f.Envelope)
			if !yield(item, err) || done {
				return true, nil
			}
		}
	}
}

// frameStatus is an end envelope's "status": set when the stream failed.
func frameStatus(env []byte) int {
	var s struct {
		Status int `json:"status"`
	}
	_ = jsonv2.Unmarshal(env, &s)
	return s.Status
}
