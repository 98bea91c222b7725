package echorpc

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// writer writes the answers of a request's items: one per shape.
type writer func(x *exchange, items []item) error

// writeEnvelope answers a single call with its envelope, unless its
// function streamed or wrote its own response.
func writeEnvelope(x *exchange, items []item) error {
	if x.c.Response().Committed {
		return nil
	}
	it := &items[0]
	if sent, err := x.sendFile(it); sent { // download.go
		return err
	}
	return x.sendEnvelope(it.v, &it.res)
}

// writeArray answers a batch, once its last item is done, with an array of
// envelopes in the order of its items, each with its status as a fifth
// key, "status"; the HTTP status is 200. The headers and cookies that the
// items' functions set go with it (see batch.mergeHeaders).
func writeArray(x *exchange, items []item) error {
	for range items {
		<-x.batch.done
	}
	x.batch.mergeHeaders(x.c.Response().Header())
	rb := getReplyBuffer()
	defer rb.free()
	rb.buf.WriteByte('[')
	for i := range items {
		if i > 0 {
			rb.buf.WriteByte(',')
		}
		rb.appendEnvelope(x.c, items[i].v, &items[i].res, true)
	}
	rb.buf.WriteByte(']')
	return writeJSON(x.c, http.StatusOK, headerNoStore, rb.buf.Bytes())
}

// writeItemStream answers a batch whose caller asked for it with Accept:
// text/event-stream: 200 at once, then one server-sent event per item as
// soon as its answer is settled, in the order they finish, each its
// envelope with its status and, as a sixth key, "index", the item's place
// in the batch:
//
//	event: item
//	data: {"weerpc":1.1,"ok":true,"message":null,"data":3,"status":200,"index":0}
//
// The response ends after the last item; an idle one gets a ping comment
// every Config.StreamPing. An item whose function set a header or cookie
// is answered errHeadersInStream instead, and logged: its headers cannot
// follow the stream's.
func writeItemStream(x *exchange, items []item) error {
	res := x.c.Response()
	h := res.Header()
	h[echo.HeaderContentType] = headerEventStream
	h[echo.HeaderCacheControl] = headerNoStore
	h["X-Accel-Buffering"] = headerNoBuffering
	h[echo.HeaderXContentTypeOptions] = headerNoSniff
	res.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(res.Writer)
	failed := rc.Flush()
	var ping <-chan time.Time
	if every := x.rpc.config.StreamPing; every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		ping = t.C
	}
	rb := getReplyBuffer()
	defer rb.free()
	for left := len(items); left > 0; {
		rb.buf.Reset()
		select {
		case <-ping:
			rb.buf.WriteString(": ping\n\n")
		case i := <-x.batch.done:
			left--
			it := &items[i]
			if x.batch.resp[i].setHeaders() {
				name := ""
				if it.fn != nil {
					name = it.fn.name
				}
				x.c.Logger().Errorf("echorpc: function %q set a response header or cookie inside a streamed batch: its item is answered %d and its headers are dropped", name, errHeadersInStream.Status)
				it.res = Result{Err: errHeadersInStream}
				settle(&it.res)
			}
			rb.buf.WriteString("event: item\ndata: ")
			rb.appendEnvelope(x.c, it.v, &it.res, true)
			rb.buf.Truncate(rb.buf.Len() - 1) // its "}"
			rb.buf.WriteString(`,"index":`)
			rb.buf.Write(strconv.AppendInt(rb.buf.AvailableBuffer(), int64(i), 10))
			rb.buf.WriteString("}\n\n")
		}
		if failed != nil && !errors.Is(failed, http.ErrNotSupported) {
			continue // the caller went away: the items end with the request's context
		}
		if _, failed = res.Write(rb.buf.Bytes()); failed == nil {
			failed = rc.Flush()
		}
	}
	if errors.Is(failed, http.ErrNotSupported) {
		return nil
	}
	return failed
}

// writeQuery answers a query's GET: a success carries an ETag computed
// from the reply (If-None-Match is answered 304) and the Cache-Control of
// fn.caching; anything else is answered as a call, never stored.
func writeQuery(x *exchange, items []item) error {
	if x.c.Response().Committed {
		return nil
	}
	it := &items[0]
	if sent, err := x.sendFile(it); sent { // download.go
		return err
	}
	if it.refused != nil || !it.res.OK || it.res.Status != http.StatusOK {
		return x.sendEnvelope(it.v, &it.res)
	}
	rb := getReplyBuffer()
	defer rb.free()
	if status := rb.appendEnvelope(x.c, it.v, &it.res, false); status != http.StatusOK {
		return writeJSON(x.c, status, headerNoStore, rb.buf.Bytes())
	}
	sum := sha256.Sum256(rb.buf.Bytes())
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	h := x.c.Response().Header()
	h["Etag"] = []string{etag}
	cacheControl, vary := it.fn.caching(&x.rpc.rules, x.c.Request())
	if vary != "" {
		h[echo.HeaderVary] = []string{vary}
	}
	if inm := x.c.Request().Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		h[echo.HeaderCacheControl] = []string{cacheControl}
		return x.c.NoContent(http.StatusNotModified)
	}
	return writeJSON(x.c, http.StatusOK, []string{cacheControl}, rb.buf.Bytes())
}

// caching is a query's Cache-Control and Vary, from what its answer may
// depend on:
//   - with no max age (Query(0)), "no-store": nothing keeps it;
//   - "private, max-age=N" (a browser may keep it, a shared cache may not)
//     when a session or address rule guards the function, when the request
//     carries credentials (a Cookie or an Authorization header: the
//     function may read them), or when the function varies by one of those
//     (see [Query]);
//   - "public, max-age=N" otherwise: nothing about the caller can change
//     the answer.
//
// Vary names Cookie when a session rule guards the function or the request
// has cookies, Authorization when the request has it, and the headers the
// function varies by.
func (fn *function) caching(instance *rules, r *http.Request) (cacheControl, vary string) {
	if fn.maxAge <= 0 {
		return "no-store", ""
	}
	var names []string
	private := len(instance.remote) > 0 || len(fn.rules.remote) > 0
	if len(instance.session) > 0 || len(fn.rules.session) > 0 || r.Header.Get("Cookie") != "" {
		names, private = append(names, "Cookie"), true
	}
	if r.Header.Get("Authorization") != "" {
		names, private = append(names, "Authorization"), true
	}
	for _, h := range fn.vary {
		if h == "Cookie" || h == "Authorization" {
			private = true
		}
		if !containsFold(names, h) {
			names = append(names, h)
		}
	}
	scope := "public"
	if private {
		scope = "private"
	}
	return scope + ", max-age=" + strconv.Itoa(int(fn.maxAge/time.Second)), strings.Join(names, ", ")
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// etagMatches reports whether an If-None-Match header names tag (or is
// "*"). Weak tags compare by their opaque part, as the weak comparison
// that If-None-Match uses requires.
func etagMatches(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == tag {
			return true
		}
	}
	return false
}

// sendEnvelope sends one settled answer as an envelope, never stored.
func (x *exchange) sendEnvelope(v dialect, res *Result) error {
	rb := getReplyBuffer()
	defer rb.free()
	status := rb.appendEnvelope(x.c, v, res, false)
	return writeJSON(x.c, status, headerNoStore, rb.buf.Bytes())
}

// Reply headers, shared read-only slices so a reply sets them without
// allocating.
var (
	headerJSON       = []string{echo.MIMEApplicationJSON}
	headerNoSniff    = []string{"nosniff"}
	headerNoStore    = []string{"no-store"}
	headerRetryAfter = "Retry-After"
	retryAfterOne    = []string{"1"}
)

// writeJSON sends a JSON reply with the route's headers and cacheControl
// (no-store but for a query's success). A 503 tells the caller when to try
// again (Retry-After: 1), unless the function said otherwise.
func writeJSON(c echo.Context, status int, cacheControl []string, body []byte) error {
	res := c.Response()
	h := res.Header()
	h[echo.HeaderContentType] = headerJSON
	h[echo.HeaderXContentTypeOptions] = headerNoSniff
	h[echo.HeaderCacheControl] = cacheControl
	if status == http.StatusServiceUnavailable && h[headerRetryAfter] == nil {
		h[headerRetryAfter] = retryAfterOne
	}
	res.WriteHeader(status)
	_, err := res.Write(body)
	return err
}
