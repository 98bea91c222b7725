package echorpc

import (
	"context"
	"time"

	"github.com/coder/websocket"
)

// The channel's writer is a writeQueue (writequeue.go): the streams of a
// connection queue their messages and go on, and the connection's writer
// writes what is queued. A caller that opens the connection with
// ?batch=1 gets every message queued meanwhile in one WebSocket
// message, a JSON array of them, within maxQueued (a lone message goes as
// itself): so one write, and one read on the caller's side, carries a
// topic's item to every subscriber on the connection, or the items that a
// fast stream sent while the last write was on its way. A caller that does
// not ask for it (an older client) gets each message in a WebSocket
// message of its own. It is a query parameter, not a WebSocket subprotocol,
// because a browser that offers a subprotocol fails the connection when the
// server answers with none, as an older wrpc would. A write that does not move for Config.StreamWriteTimeout
// closes the connection, and so ends every stream on it.

// channelBatch is the query parameter, set to 1, of a caller that takes
// messages in batches: a message that starts with "[" holds several.
const channelBatch = "batch"

// send writes the queued messages: as one batch, or each on its own.
func (ch *channel) send(q *queued) error {
	if ch.out.batch {
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
