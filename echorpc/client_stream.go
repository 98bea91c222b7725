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
func (c *Client) Stream(ctx context.Context, function string, data any) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		res, d, err := c.openStream(ctx, function, data)
		if err != nil {
			yield(nil, err)
			return
		}
		defer res.Body.Close()
		events := bufio.NewScanner(res.Body)
		limit := int(min(c.maxReplyBytes(), 1<<30))
		events.Buffer(make([]byte, 0, 4096), limit)
		var event string
		var payload []byte
		for events.Scan() {
			line := events.Bytes()
			switch {
			case len(line) == 0: // an event ends
				if payload == nil {
					event = ""
					continue
				}
				item, done, err := d.streamEvent(function, event, payload)
				event, payload = "", nil
				switch {
				case done && err == nil:
					return
				case item == nil && err == nil:
					continue // an event of another kind
				}
				if !yield(item, err) || done {
					return
				}
			case line[0] == ':': // a comment: keep-alive
			default:
				field, value, _ := bytes.Cut(line, []byte(":"))
				value = bytes.TrimPrefix(value, []byte(" "))
				switch string(field) {
				case "event":
					event = string(value)
				case "data":
					if payload != nil {
						payload = append(payload, '\n')
					} else {
						payload = []byte{}
					}
					payload = append(payload, value...)
				}
			}
		}
		err = events.Err()
		switch {
		case errors.Is(err, bufio.ErrTooLong):
			err = &Error{Status: res.StatusCode, Message: fmt.Sprintf("A stream event is larger than the client's limit of %d bytes (Client.MaxReplyBytes).", limit)}
		case err == nil || ctx.Err() == nil && errors.Is(err, io.ErrUnexpectedEOF):
			err = &Error{Status: res.StatusCode, Message: "The stream ended before its end event."}
		default:
			err = fmt.Errorf("wrpc: streaming %q: %w", function, err)
		}
		yield(nil, err)
	}
}

// openStream sends the call and returns the open event stream, or the
// failure that the server answered instead.
func (c *Client) openStream(ctx context.Context, function string, data any) (*http.Response, clientDialect, error) {
	d, err := c.dialect()
	if err != nil {
		return nil, d, err
	}
	body, err := d.callBody(function, data)
	if err != nil {
		return nil, d, fmt.Errorf("wrpc: encoding the data for %q: %w", function, err)
	}
	req, err := c.newRequest(ctx, http.MethodPost, c.Endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, d, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if deadline, ok := ctx.Deadline(); ok {
		req.Header.Set(TimeoutHeader, strconv.FormatInt(max(time.Until(deadline).Milliseconds(), 1), 10))
	}
	res, err := c.do(req)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, d, e
		}
		return nil, d, fmt.Errorf("wrpc: streaming %q: %w", function, err)
	}
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if res.StatusCode == http.StatusOK && mt == "text/event-stream" {
		return res, d, nil
	}
	defer res.Body.Close()
	if mt != "application/json" {
		return nil, d, &Error{Status: res.StatusCode, Message: fmt.Sprintf("The reply is not a weeRPC event stream (HTTP %d, %s).", res.StatusCode, cutEchoed(contentType(res)))}
	}
	raw, err := c.readReply(res)
	if err != nil {
		return nil, d, err
	}
	if err := d.check(function, clientReply{status: res.StatusCode, raw: raw}, nil); err != nil {
		return nil, d, err
	}
	return nil, d, &Error{Status: res.StatusCode, Message: "The reply is an envelope, not an event stream: is the function a stream?"}
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
