package echorpc

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// The channel's writer. The streams of a connection (channel.go) do not
// write to it themselves: each adds its message to the connection's queue
// and goes on, and one goroutine, started when the queue gets a message and
// gone once it is empty, writes what is queued. A caller that offers the
// subprotocol channelBatch gets every message queued meanwhile in one
// WebSocket message, a JSON array of them (a lone message goes as itself):
// so one write, and one read on the caller's side, carries a topic's item
// to every subscriber on the connection, or the items that a fast stream
// sent while the last write was on its way. A caller that does not offer it
// (an older client) gets each message in a WebSocket message of its own.
//
// The queue is bounded (maxChannelQueue): a stream that finds it full waits
// for the writer, as it would wait for a write of its own, so a caller
// that reads slowly holds back the streams of its own connection only, and
// loses the connection, and every stream on it, after a write that does
// not move for Config.StreamWriteTimeout.

const (
	// channelBatch is the WebSocket subprotocol of a caller that takes
	// messages in batches: a message that starts with "[" holds several.
	channelBatch = "wrpc.batch"
	// maxChannelQueue bounds what waits for the writer, and so a batch, in
	// bytes (a message larger than it goes alone): 32 KiB, the read limit
	// that coder/websocket's clients have by default.
	maxChannelQueue = 32 << 10
)

// channelQueue is the messages that wait for the writer: in a batch's
// form ("[m1,m2,m3", the writer adds the "]") for a caller that takes
// batches, back to back otherwise, each ending at its ends entry.
type channelQueue struct {
	b    []byte
	ends []int
}

var channelQueues = sync.Pool{New: func() any { return &channelQueue{b: make([]byte, 0, 4096)} }}

// write queues one message, and starts the writer if it is not running;
// it waits while the queue is full, and fails once a write has failed
// (then the connection is closed, and every stream ends).
func (ch *channel) write(b []byte) error {
	ch.wmu.Lock()
	defer ch.wmu.Unlock()
	// with its "," and the batch's "]", the batch stays within the bound
	for ch.werr == nil && ch.queue != nil && len(ch.queue.b)+len(b)+2 > maxChannelQueue {
		ch.room.Wait()
	}
	if ch.werr != nil {
		return ch.werr
	}
	q := ch.queue
	if q == nil {
		q = channelQueues.Get().(*channelQueue)
		ch.queue = q
	}
	if ch.batch {
		if len(q.ends) == 0 {
			q.b = append(q.b, '[')
		} else {
			q.b = append(q.b, ',')
		}
	}
	q.b = append(q.b, b...)
	q.ends = append(q.ends, len(q.b))
	if !ch.writing {
		ch.writing = true
		go ch.writeQueued()
	}
	return nil
}

// writeQueued is the writer: it takes the whole queue and writes it, until
// the queue is empty or a write fails.
func (ch *channel) writeQueued() {
	for {
		// Let the streams that are ready to run queue theirs first: the
		// subscribers of a topic, woken by one item, go in one write.
		runtime.Gosched()
		ch.wmu.Lock()
		q := ch.queue
		ch.queue = nil
		ch.writing = q != nil
		ch.room.Broadcast() // there is room, or the writer is done
		ch.wmu.Unlock()
		if q == nil {
			return
		}
		err := ch.send(q)
		q.b, q.ends = q.b[:0], q.ends[:0]
		if cap(q.b) <= maxChannelQueue*2 { // not one huge message's
			channelQueues.Put(q)
		}
		if err != nil {
			ch.wmu.Lock()
			ch.werr = err
			ch.writing = false
			ch.queue = nil // what is queued is for a connection that is gone
			ch.room.Broadcast()
			ch.wmu.Unlock()
			_ = ch.conn.CloseNow() // every stream ends; their callers resume them
			return
		}
	}
}

// send writes the queued messages: as one batch, or each on its own.
func (ch *channel) send(q *channelQueue) error {
	if ch.batch {
		if len(q.ends) == 1 {
			return ch.writeMessage(q.b[1:]) // a lone message, without "["
		}
		q.b = append(q.b, ']')
		return ch.writeMessage(q.b)
	}
	start := 0
	for _, end := range q.ends {
		if err := ch.writeMessage(q.b[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// writeMessage writes one WebSocket message, within
// Config.StreamWriteTimeout: a caller that does not read loses the
// connection, and with it every stream. Only the writer calls it.
//
// Each write is under the connection's one stall timer, which closes the
// connection when it fires: a context with its own timeout for each write
// cost more than the write's own work.
func (ch *channel) writeMessage(b []byte) error {
	if ch.stall == nil {
		ch.stall = time.AfterFunc(ch.rpc.config.StreamWriteTimeout, func() { _ = ch.conn.CloseNow() })
	} else {
		ch.stall.Reset(ch.rpc.config.StreamWriteTimeout)
	}
	err := ch.conn.Write(context.Background(), websocket.MessageText, b)
	ch.stall.Stop()
	ch.last.Store(time.Now().UnixNano())
	return err
}

// drain waits until the writer has written everything queued (or failed).
func (ch *channel) drain() {
	ch.wmu.Lock()
	defer ch.wmu.Unlock()
	for ch.writing {
		ch.room.Wait()
	}
}
