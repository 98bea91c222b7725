package echorpc

import (
	"runtime"
	"sync"
)

// writeQueue is the writer of a stream's own response (stream.go) and of a
// shared stream connection (channel.go, channelwriter.go). A stream does
// not write to its connection itself: it queues what it has to write and
// goes on, and one goroutine, started when the queue gets something and
// gone once it is empty, writes what is queued, all of it in one write.
// So a stream that sends faster than its caller reads has its events go
// many to a write, where a write of each would cost a system call (and a
// wake-up of its reader) per event; and on a shared connection, one write
// carries the events of every stream that had one ready.
//
// The queue is bounded (maxQueued): a stream that finds it full waits for
// the writer, as it would for a write of its own, so a caller that reads
// slowly holds back its own streams only; the write's own timeout
// (Config.StreamWriteTimeout) then ends them.
type writeQueue struct {
	mu      sync.Mutex
	room    sync.Cond // the writer took the queue, or stopped
	queue   *queued   // what waits for the writer; nil when nothing does
	writing bool      // the writer runs
	err     error     // a write failed: nothing more is written

	// batch separates the messages as a JSON array's items: "[" before
	// the first, "," between (the writer's write adds the "]").
	batch bool
	// write writes what was queued; only the writer calls it.
	write func(*queued) error
	// fail is called, once, when a write fails.
	fail func(error)
}

// maxQueued bounds what waits for a writer, in bytes (a message larger than
// it goes alone): 32 KiB, the read limit that coder/websocket's clients
// have by default, for a channel's batch.
const maxQueued = 32 << 10

// queued is what waits for a writer: the messages back to back (as a
// batch's items when batch is set), each ending at its ends entry.
type queued struct {
	b    []byte
	ends []int
}

var queuedBuffers = sync.Pool{New: func() any { return &queued{b: make([]byte, 0, 4096)} }}

func (w *writeQueue) init(batch bool, write func(*queued) error, fail func(error)) {
	w.room.L = &w.mu
	w.batch, w.write, w.fail = batch, write, fail
}

// add queues b, copied, and starts the writer if it is not running; it
// waits while the queue is full, and fails once a write has failed.
func (w *writeQueue) add(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	// with a batch's "," and "]", the queue stays within the bound
	for w.err == nil && w.queue != nil && len(w.queue.b)+len(b)+2 > maxQueued {
		w.room.Wait()
	}
	if w.err != nil {
		return w.err
	}
	q := w.queue
	if q == nil {
		q = queuedBuffers.Get().(*queued)
		w.queue = q
	}
	if w.batch {
		if len(q.ends) == 0 {
			q.b = append(q.b, '[')
		} else {
			q.b = append(q.b, ',')
		}
	}
	q.b = append(q.b, b...)
	q.ends = append(q.ends, len(q.b))
	if !w.writing {
		w.writing = true
		go w.run()
	}
	return nil
}

// run is the writer: it takes the whole queue and writes it, until the
// queue is empty or a write fails.
func (w *writeQueue) run() {
	for {
		// Let the streams that are ready to run queue theirs first: the
		// subscribers of a topic, woken by one item, go in one write.
		runtime.Gosched()
		w.mu.Lock()
		q := w.queue
		w.queue = nil
		w.writing = q != nil
		w.room.Broadcast() // there is room, or the writer is done
		w.mu.Unlock()
		if q == nil {
			return
		}
		err := w.write(q)
		q.b, q.ends = q.b[:0], q.ends[:0]
		if cap(q.b) <= maxQueued*2 { // not one huge message's
			queuedBuffers.Put(q)
		}
		if err != nil {
			w.mu.Lock()
			w.err = err
			w.writing = false
			w.queue = nil // what is queued is for a connection that is gone
			w.room.Broadcast()
			w.mu.Unlock()
			w.fail(err)
			return
		}
	}
}

// drain waits until the writer has written everything queued, or failed.
func (w *writeQueue) drain() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.writing {
		w.room.Wait()
	}
}
