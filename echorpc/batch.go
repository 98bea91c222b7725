package echorpc

import (
	"net/http"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
)

// serveBatch answers a JSON array of requests with an array of envelopes in
// the same order. Each item is checked and called on its own, under its
// own function's rules; its envelope carries its HTTP status as a fifth
// key, "status", so a client can fail it as it would fail a single call.
// The HTTP reply itself is 200.
func (rpc *RPC) serveBatch(c echo.Context, funcs map[string]*function, sess *sessions.Session, body []byte) error {
	items, failure := splitBatch(body, rpc.config.MaxDepth, rpc.config.MaxBatch)
	if failure != nil {
		return reply(c, Version11, failure)
	}
	rb := getReplyBuffer()
	defer rb.free()
	rb.buf.WriteByte('[')
	for i, item := range items {
		if i > 0 {
			rb.buf.WriteByte(',')
		}
		var a answer
		if req, failure := parseRequest(item, rpc.config.MaxDepth-1); failure != nil {
			a = failed(Version11, failure)
		} else {
			a = rpc.answer(c, funcs, &sess, &req)
		}
		if a.written {
			c.Logger().Errorf("echorpc: a function wrote its own response inside a batch")
			return nil
		}
		rb.appendEnvelope(c, a, true)
	}
	rb.buf.WriteByte(']')
	return writeJSON(c, http.StatusOK, rb.buf.Bytes())
}
