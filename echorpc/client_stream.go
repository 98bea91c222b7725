package echorpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
	"strconv"
	"time"
)

// Stream calls a streaming function (see [Stream]) and returns its items,
// each as the raw JSON of its envelope's data, in order:
//
//	for item, err := range client.Stream(ctx, "countdown", 3) {
//		if err != nil {
//			return err
//		}
//		var n int
//		_ = json.Unmarshal(item, &n)
//	}
//
// The sequence ends after the last item when the stream ends well; a
// failure before the stream starts (the reply's envelope) or during it
// (its "error" event, Status taken from the event) is yielded once as an
// [*Error], as is a stream cut off before its end; a transport failure as
// the transport's error. Stopping the loop, or ending ctx, closes the
// stream. An event larger than MaxReplyBytes is an [*Error].
//
// With Retry set and the function in Idempotent, a stream that is cut off before its end (the connection
// drops, the body ends early, or a reconnect fails on the way or is
// answered 429, 502, 503 or 504) is resumed: the client reconnects after a
// backoff, sending the id of the last event it took in the Last-Event-ID
// header, so that a handler that reads it goes on where it stopped. All the
// reconnects of one stream share one backoff and one count (at most
// Retry.Attempts-1 in a row), which start afresh only once a connection has
// stayed up for 5 seconds, so a stream cut after every item cannot make the
// client storm the server; each reconnect also draws on the retry budget
// (every stream that opens gives a little back, as a call that does not
// fail does).
//
// Every stream of a Client goes over one shared WebSocket connection to
// the instance (its Prefix/channel.ws; see [Config].DisableChannel), each
// stream an id within it, so that many streams cost one connection; it
// opens with the first stream and closes a few seconds after the last has
// ended. A dropped connection cuts each of its streams as above, each
// resumed on a new connection, the drop drawing on the retry budget once
// for all of them. Against a server that does not offer it (an older
// wrpc, or DisableChannel set), each stream goes as a POST of its own, as
// it does when the server refuses the connection (its MaxChannels).
func (c *Client) Stream(ctx context.Context, function string, data any) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var policy Retry
		if c.Retry != nil {
			policy = c.Retry.withDefaults()
		}
		lastID, reconnects := "", 0
		for {
			s, err := c.openStream(ctx, function, data, lastID)
			cut := err != nil && retryable(ctx, statusOf(err), err)
			if err == nil {
				c.budget.succeed() // a try that did not fail
				up := time.Now()
				var stop bool
				stop, err = s.read(ctx, c, s.d, function, &lastID, yield)
				if stop {
					return
				}
				cut = ctx.Err() == nil
				if time.Since(up) >= streamStable {
					reconnects = 0
				}
			}
			if c.Retry == nil || !c.Idempotent[function] || !cut || reconnects+1 >= policy.Attempts || !c.spend(err) {
				yield(nil, err)
				return
			}
			reconnects++
			if err := sleep(ctx, policy.backoff(reconnects)); err != nil {
				yield(nil, fmt.Errorf("wrpc: streaming %q: %w", function, err))
				return
			}
		}
	}
}

// streamStable is how long a stream's connection must stay up for its
// reconnect count and backoff to start afresh.
const streamStable = 5 * time.Second

// statusOf is the HTTP status an error of the client carries, 0 for a
// transport error.
func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// openedStream is a stream that started, on its own response or on the
// client's shared connection (client_channel.go).
type openedStream struct {
	d   clientDialect
	res *http.Response // its own response, or
	ch  *channelCall   // its stream on the shared connection
}

// read reads the stream's items, as readStream does, and closes it.
func (s openedStream) read(ctx context.Context, c *Client, d clientDialect, function string, lastID *string, yield func(json.RawMessage, error) bool) (stop bool, err error) {
	if s.ch != nil {
		return s.ch.read(ctx, c, d, function, lastID, yield)
	}
	defer s.res.Body.Close()
	return c.readStream(ctx, s.res, d, function, lastID, yield)
}

// readStream reads an open stream's events, yielding its items and
// keeping the id of the last event in lastID. stop is set when the
// sequence is over (the end, an error event, or a caller that stopped);
// otherwise the stream was cut off, and err says how.
func (c *Client) readStream(ctx context.Context, res *http.Response, d clientDialect, function string, lastID *string, yield func(json.RawMessage, error) bool) (stop bool, err error) {
	events := bufio.NewScanner(res.Body)
	limit := int(min(c.maxReplyBytes(), 1<<30))
	events.Buffer(make([]byte, 0, min(4096, limit)), limit) // the larger of the two is the limit
	var ev sseEvent
	for events.Scan() {
		line := events.Bytes()
		if len(line) > 0 {
			ev.field(line)
			continue
		}
		if ev.payload == nil { // an event ends, with no data: none of ours
			ev = sseEvent{}
			continue
		}
		item, done, err := d.streamEvent(function, ev.event, ev.payload)
		if ev.id != "" {
			*lastID = ev.id
		}
		ev = sseEvent{}
		switch {
		case done && err == nil:
			return true, nil
		case item == nil && err == nil:
			continue // an event of another kind
		}
		if !yield(item, err) || done {
			return true, nil
		}
	}
	err = events.Err()
	switch {
	case errors.Is(err, bufio.ErrTooLong):
		err = &Error{Status: res.StatusCode, Message: fmt.Sprintf("A stream event is larger than the client's limit of %d bytes (Client.MaxReplyBytes).", limit)}
		yield(nil, err)
		return true, nil
	case err == nil || ctx.Err() == nil && errors.Is(err, io.ErrUnexpectedEOF):
		err = &Error{Status: res.StatusCode, Message: "The stream ended before its end event."}
	default:
		err = fmt.Errorf("wrpc: streaming %q: %w", function, err)
	}
	return false, err
}

// roundTrip sends a request of a stream or a download with the context's
// deadline in timeoutHeader. An *Error (a redirect, a reply too large) is
// returned as it is, and a transport failure says what was being done.
func (c *Client) roundTrip(ctx context.Context, req *http.Request, doing, function string) (*http.Response, error) {
	if deadline, ok := ctx.Deadline(); ok {
		req.Header.Set(timeoutHeader, strconv.FormatInt(max(time.Until(deadline).Milliseconds(), 1), 10))
	}
	res, err := c.do(req)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, fmt.Errorf("wrpc: %s %q: %w", doing, function, err)
	}
	return res, nil
}

// sseEvent is a server-sent event being read: its fields so far.
type sseEvent struct {
	event, id string
	payload   []byte // nil until a data line comes
}

// field takes one line of an event: a comment (a keep-alive) or a field.
func (ev *sseEvent) field(line []byte) {
	if line[0] == ':' {
		return
	}
	name, value, _ := bytes.Cut(line, []byte(":"))
	value = bytes.TrimPrefix(value, []byte(" "))
	switch string(name) {
	case "event":
		ev.event = string(value)
	case "id":
		ev.id = string(value)
	case "data":
		if ev.payload != nil {
			ev.payload = append(ev.payload, '\n')
		} else {
			ev.payload = []byte{}
		}
		ev.payload = append(ev.payload, value...)
	}
}

// openStream sends the call and returns the open stream, or the failure
// that the server answered instead: over the client's shared connection
// when the server offers one (client_channel.go), otherwise as a request
// of its own.
func (c *Client) openStream(ctx context.Context, function string, data any, lastID string) (openedStream, error) {
	d, err := c.dialect()
	if err != nil {
		return openedStream{}, err
	}
	body, err := d.callBody(function, data)
	if err != nil {
		return openedStream{}, fmt.Errorf("wrpc: encoding the data for %q: %w", function, err)
	}
	if ch, err := c.channelStream(ctx, d, function, body, lastID); err != errNoChannel {
		return openedStream{d: d, ch: ch}, err
	}
	res, err := c.requestStream(ctx, d, function, body, lastID)
	return openedStream{d: d, res: res}, err
}

// requestStream sends the call as a request of its own and returns its
// event stream, or the failure that the server answered instead.
func (c *Client) requestStream(ctx context.Context, d clientDialect, function string, body []byte, lastID string) (*http.Response, error) {
	req, err := c.newRequest(ctx, http.MethodPost, c.Endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := c.roundTrip(ctx, req, "streaming", function)
	if err != nil {
		return nil, err
	}
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if res.StatusCode == http.StatusOK && mt == "text/event-stream" {
		return res, nil
	}
	defer res.Body.Close()
	if mt != "application/json" {
		return nil, &Error{Status: res.StatusCode, Message: fmt.Sprintf("The reply is not a weeRPC event stream (HTTP %d, %s).", res.StatusCode, cutEchoed(contentType(res)))}
	}
	raw, err := c.readReply(res)
	if err != nil {
		return nil, err
	}
	if err := d.check(function, clientReply{status: res.StatusCode, raw: raw}, nil); err != nil {
		return nil, err
	}
	return nil, &Error{Status: res.StatusCode, Message: "The reply is an envelope, not an event stream: is the function a stream?"}
}

// streamEvent reads one event: an item (done false), the end (done, nil
// error), or a failure (done, with its error).
func (d clientDialect) streamEvent(function, event string, payload []byte) (item json.RawMessage, done bool, err error) {
	switch event {
	case "", "message":
		if err := d.check(function, clientReply{status: http.StatusOK, raw: payload}, &item); err != nil {
			return nil, true, err
		}
		return item, false, nil
	case "end":
		if err := d.check(function, clientReply{status: http.StatusOK, raw: payload}, nil); err != nil {
			return nil, true, err
		}
		return nil, true, nil
	case "error":
		var status struct {
			Status int `json:"status"`
		}
		_ = json.Unmarshal(payload, &status)
		if status.Status < 400 {
			status.Status = http.StatusInternalServerError
		}
		err := d.check(function, clientReply{status: status.Status, raw: payload}, nil)
		if err == nil {
			err = &Error{Status: status.Status, Message: "The stream failed."}
		}
		return nil, true, err
	}
	return nil, false, nil // an event of another kind: not ours to read
}
