package echorpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"mime"
	"net/http"
)

// Batch sends calls (each its Function and Data; Data nil is null) as one
// batch (the server must set Config.MaxBatch) and yields each call's index
// in calls and its answer as soon as that call is done, in the order they
// finish, each index once:
//
//	for i, res := range client.Batch(ctx, echorpc.Call{Function: "add_numbers", Data: json.RawMessage("[1,2]")}, slow) {
//		if res.Err != nil {
//			log.Print(i, res.Err)
//			continue
//		}
//		var sum float64
//		_ = json.Unmarshal(res.Data.(json.RawMessage), &sum)
//	}
//
// An answer is what [Client.Call] would return, as a [Result]: Status is
// the item's HTTP status, and on success OK is set, Message is the
// envelope's message and Data the raw JSON of its data (a
// json.RawMessage); otherwise Err is the [*Error] that Call would return.
// A failure of the whole batch (a refusal such as 413 for a batch over the
// server's MaxBatch, a transport error, a stream cut before its last item)
// is yielded as Err for every call not yet answered. The batch asks for
// the streamed form (Accept: text/event-stream); a server that answers the
// array instead has its items yielded in order once it has come. A batch
// is sent once, never retried. Stopping the loop, or ending ctx, ends the
// request. An event larger than MaxReplyBytes is an [*Error].
func (c *Client) Batch(ctx context.Context, calls ...Call) iter.Seq2[int, Result] {
	return func(yield func(int, Result) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		answered := make([]bool, len(calls))
		give := func(i int, res Result) bool {
			if i < 0 || i >= len(calls) || answered[i] {
				return true // an index the batch does not have, or a second answer: not ours
			}
			answered[i] = true
			return yield(i, res)
		}
		err := c.batch(ctx, calls, give)
		if err == errStopped {
			return
		}
		if err == nil {
			err = &Error{Status: http.StatusOK, Message: "The batch ended before every call was answered."}
		}
		for i := range calls {
			if !answered[i] && !yield(i, Result{Err: err, Status: statusOf(err)}) {
				return
			}
		}
	}
}

// errStopped ends a batch whose caller stopped its loop.
var errStopped = errors.New("wrpc: the caller stopped")

// batch sends the calls and gives each answer as it comes; it returns
// errStopped when give stops, and the failure of the whole batch (nil when
// every answer came).
func (c *Client) batch(ctx context.Context, calls []Call, give func(int, Result) bool) error {
	d, err := c.dialect()
	if err != nil {
		return err
	}
	var body bytes.Buffer
	body.WriteByte('[')
	for i, call := range calls {
		b, err := d.callBody(call.Function, call.Data)
		if err != nil {
			return fmt.Errorf("wrpc: encoding the data for %q: %w", call.Function, err)
		}
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(b)
	}
	body.WriteByte(']')
	req, err := c.newRequest(ctx, http.MethodPost, c.Endpoint, &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	res, err := c.roundTrip(ctx, req, "sending a batch to", c.Endpoint)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	answer := func(i int, raw []byte, status int) bool {
		if i < 0 || i >= len(calls) {
			return true
		}
		return give(i, d.batchResult(calls[i].Function, raw, status))
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); res.StatusCode == http.StatusOK && mt == "text/event-stream" {
		return c.readBatchStream(ctx, res, answer)
	}
	raw, err := c.readReply(res)
	if err != nil {
		return err
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil || res.StatusCode != http.StatusOK { // a refusal of the whole batch
		err := d.check("", clientReply{status: res.StatusCode, raw: raw}, nil)
		if err == nil {
			err = errNotEnvelope(res.StatusCode)
		}
		return err
	}
	for i, item := range items {
		if !answer(i, item, itemStatus(item, res.StatusCode)) {
			return errStopped
		}
	}
	return nil
}

// readBatchStream reads a streamed batch's "item" events, each an envelope
// with its "status" and "index".
func (c *Client) readBatchStream(ctx context.Context, res *http.Response, answer func(int, []byte, int) bool) error {
	events := bufio.NewScanner(res.Body)
	limit := int(min(c.maxReplyBytes(), 1<<30))
	events.Buffer(make([]byte, 0, 4096), limit)
	var ev sseEvent
	for events.Scan() {
		if line := events.Bytes(); len(line) > 0 {
			ev.field(line)
			continue
		}
		if ev.event == "item" && ev.payload != nil {
			var tag struct {
				Index *int `json:"index"`
			}
			if json.Unmarshal(ev.payload, &tag) == nil && tag.Index != nil && !answer(*tag.Index, ev.payload, itemStatus(ev.payload, http.StatusOK)) {
				return errStopped
			}
		}
		ev = sseEvent{}
	}
	switch err := events.Err(); {
	case errors.Is(err, bufio.ErrTooLong):
		return &Error{Status: res.StatusCode, Message: fmt.Sprintf("A batch item is larger than the client's limit of %d bytes (Client.MaxReplyBytes).", limit)}
	case err != nil && ctx.Err() == nil:
		return fmt.Errorf("wrpc: reading a batch: %w", err)
	case ctx.Err() != nil:
		return fmt.Errorf("wrpc: reading a batch: %w", ctx.Err())
	}
	return nil
}

// itemStatus is a batch item's "status", or status when it has none.
func itemStatus(raw []byte, status int) int {
	var s struct {
		Status int `json:"status"`
	}
	if json.Unmarshal(raw, &s) == nil && s.Status != 0 {
		return s.Status
	}
	return status
}

// batchResult is one batch item's answer, as Client.Batch yields it.
func (d clientDialect) batchResult(function string, raw []byte, status int) Result {
	var data json.RawMessage
	if err := d.check(function, clientReply{status: status, raw: raw}, &data); err != nil {
		return Result{Err: err, Status: status}
	}
	var env struct {
		Message *string `json:"message"`
	}
	_ = json.Unmarshal(raw, &env)
	res := Result{Response: Response{OK: true, Data: data}, Status: status}
	if env.Message != nil {
		res.Message = *env.Message
	}
	return res
}
