package echorpc

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// defaultMaxReplyBytes is the reply size limit of a [Client] whose
// MaxReplyBytes is not set: 4 MiB, as gRPC's default receive limit.
const defaultMaxReplyBytes = 4 << 20

// Client calls the functions of one remote instance: an echorpc server, or
// a Flask-RPC one (weeRPC 1.0 or 1.1). Make one with a composite literal,
// &echorpc.Client{Endpoint: "http://127.0.0.1:5000/rpc/tester"}; a Client
// is safe for concurrent use once its fields are set, and must not be
// copied after its first call (it keeps a retry budget).
//
// The client holds the servers it talks to at arm's length: it reads at
// most MaxReplyBytes of a reply (counted after the transport's gzip
// decompression), never follows a redirect (a 3xx reply is an [*Error]
// naming its Location, so neither the call's body nor Header reaches
// another host), and takes ok:true only from a 2xx reply in the dialect it
// sent.
type Client struct {
	// Endpoint is the instance's URL, such as "http://127.0.0.1:5000/rpc/tester".
	Endpoint string
	// HTTPClient sends the requests. Give it a cookie jar to keep a session
	// across calls. Its CheckRedirect is not used: the client follows no
	// redirects (it sends with a copy of this http.Client that stops at a
	// 3xx reply, and leaves this one untouched).
	// Optional. Default http.DefaultClient.
	HTTPClient *http.Client
	// Version is the dialect to speak: "1.1" (the key "weerpc" with 1.1) or
	// "1.0" (the key "wrpc" with 1.0, Flask-RPC's first protocol). Any other
	// value makes every call fail.
	//
	// A reply must be in the dialect sent: to 1.1, "weerpc": 1.1, or
	// "weerpc": 1.0, which is what Flask-RPC 1.1 answers (its replies carry
	// the 1.1 key with the number 1.0); to 1.0, "wrpc": 1.0. A reply in the
	// other dialect, or with another version, is an [*Error].
	// Optional. Default "1.1".
	Version string
	// Header is added to every request. Optional.
	Header http.Header
	// Retry retries calls that failed on the way (a network error, or HTTP
	// 429, 502, 503 or 504) when they are safe to repeat: the function is
	// in Idempotent. A call that is not known to be idempotent is never
	// sent twice. Every call of a function in Idempotent carries an
	// Idempotency-Key, 128 random bits, the same on each of its tries, so
	// that a server that takes keys (see [Idempotent]) answers a retry of a
	// call that ran with its outcome; a 409 with Retry-After (the first try
	// still running on the server) is retried too, after that wait. Retries also draw on the client's retry budget (see
	// [Retry]), so a failing server is not hammered.
	// Optional. Default nil: no retries.
	Retry *Retry
	// Idempotent lists the functions that may be retried. [Client.LoadManifest]
	// fills it from the server's manifest; set it before sharing the
	// Client between goroutines.
	// Optional.
	Idempotent map[string]bool
	// MaxReplyBytes bounds the size of a reply body, and of the manifest,
	// counted after decompression: a larger reply is an [*Error] that names
	// the limit, and no more than MaxReplyBytes+1 bytes of it are read.
	// Optional. Default (0 or less) 4 MiB.
	MaxReplyBytes int64

	// budget is the retry budget, shared by all the client's calls.
	budget retryBudget
	// channels is the shared connection of the client's streams
	// (client_channel.go).
	channels clientChannels
}

// Retry bounds retries: up to Attempts tries in all, waiting between them
// a random time between 10ms and Base, 2*Base, 4*Base... (at most Max; the
// wait is never shorter than 10ms, whatever Base and Max say), and never
// starting a try after MaxElapsed has passed since the first, nor after
// the call's context would end.
//
// A 429 or 503 reply's (or a keyed call's 409's) Retry-After (delta-seconds or an HTTP date) replaces
// the backoff: the client waits that long, or gives up at once and returns
// that reply's error when the wait would go past MaxElapsed or the
// context's deadline.
//
// Retries draw on a budget kept per [Client], as gRPC's retry throttling
// does (maxTokens 10, tokenRatio 0.1): the budget starts with 10 tokens,
// every try of an idempotent call that fails in a retryable way costs one
// (whether or not a retry follows), every try of any call that does not
// fail so gives back 0.1, and no retry is made while 5 tokens or fewer are
// left. A server that keeps failing thus gets at most four retries in all,
// across calls and goroutines, until it answers again.
type Retry struct {
	// Attempts is the number of tries, the first included. Default 3.
	Attempts int
	// Base is the first backoff. Default 100ms.
	Base time.Duration
	// Max is the longest backoff. Default 2s.
	Max time.Duration
	// MaxElapsed bounds the time spent retrying. Default 10s.
	MaxElapsed time.Duration
}

// Call calls function with data and decodes the reply's data into out (a
// pointer, or nil to drop it). Data and out go through encoding/json/v2's
// rules, as on the server: names match exactly, nil slices are sent as []. It returns an [*Error] when the reply's ok is
// false, and when the reply cannot be taken as a success: it is not a
// weeRPC envelope in the dialect sent, it says ok with an HTTP status other
// than 2xx, it is a redirect, or it is larger than MaxReplyBytes. It returns
// the transport's error when the call could not be made. The context bounds
// the whole call, and its deadline travels to the server in the
// Wrpc-Timeout-Ms header.
//
// With out a *[File], the function must answer with a file: the client
// calls it at its own URL, Endpoint + "/" + function, with data as the
// POST's JSON body, and fills out with the file: Name from
// Content-Disposition (cleaned, never a path), Type the media type of
// Content-Type, Size from Content-Length (0 when not given), ModTime from
// Last-Modified, and Body, an io.ReadCloser that the caller must close.
// Body reads at most MaxReplyBytes: a larger file is an [*Error] naming the
// limit, at once when its Content-Length says so, and otherwise from
// Body's Read once the limit is passed.
func (c *Client) Call(ctx context.Context, function string, data, out any) error {
	if f, isFile := out.(*File); isFile {
		got, err := c.download(ctx, function, data)
		if err == nil {
			*f = *got
		}
		return err
	}
	d, err := c.dialect()
	if err != nil {
		return err
	}
	body, files, err := d.callBodyFiles(function, data)
	if err != nil {
		return fmt.Errorf("wrpc: encoding the data for %q: %w", function, err)
	}
	if files != nil { // a call with files: one try, streamed (client_files.go)
		return c.sendFiles(ctx, d, function, body, files, out)
	}
	return c.tries(ctx, d, function, body, out)
}

// tries makes the tries of one call: one, or as many as c.Retry allows
// for a function listed in c.Idempotent, all with one Idempotency-Key
// (a retry of a call that ran is answered with its outcome, not run
// again).
func (c *Client) tries(ctx context.Context, d clientDialect, function string, body []byte, out any) error {
	var key string
	if c.Idempotent[function] {
		key = newIdempotencyKey()
	}
	retry := c.Retry != nil && key != ""
	var policy Retry
	if retry {
		policy = c.Retry.withDefaults()
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		rep, err := c.try(ctx, d, function, body, key, out)
		failed := retryable(ctx, rep.status, err) || key != "" && rep.status == http.StatusConflict && rep.retryAfter != ""
		if c.Retry != nil && !failed && ctx.Err() == nil {
			c.budget.succeed()
		}
		if !retry || !failed {
			return err
		}
		// A retryable failure of a call that may be retried costs a token,
		// whether or not a retry follows.
		if !c.budget.fail() || attempt >= policy.Attempts {
			return err
		}
		wait, ok := policy.wait(ctx, attempt, rep, time.Since(start))
		if !ok {
			return err
		}
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("wrpc: calling %q: %w", function, err)
		}
	}
}

// sleep waits for d, or until ctx ends (its error).
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// try makes one try of a call and checks its reply.
func (c *Client) try(ctx context.Context, d clientDialect, function string, body []byte, key string, out any) (clientReply, error) {
	rep, err := c.send(ctx, body, key)
	var e *Error
	switch {
	case err == nil:
		err = d.check(function, rep, out)
	case !errors.As(err, &e):
		err = fmt.Errorf("wrpc: calling %q: %w", function, err)
	}
	return rep, err
}

// wait is how long to wait before the next try after a failed one: the
// backoff, or the reply's Retry-After on 429 and 503. ok is false when
// that wait would pass MaxElapsed or the context's deadline.
func (p Retry) wait(ctx context.Context, attempt int, rep clientReply, elapsed time.Duration) (time.Duration, bool) {
	wait := p.backoff(attempt)
	if rep.status == http.StatusTooManyRequests || rep.status == http.StatusServiceUnavailable || rep.status == http.StatusConflict {
		if ra, ok := retryAfter(rep.retryAfter, time.Now()); ok {
			wait = max(ra, minBackoff)
		}
	}
	if wait > p.MaxElapsed-elapsed {
		return 0, false
	}
	if deadline, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(deadline) {
		return 0, false
	}
	return wait, true
}

// clientDialect is the dialect a Client speaks: its version key and number.
type clientDialect struct {
	key     string  // "weerpc" or "wrpc"
	number  string  // "1.1" or "1.0"
	version float64 // 1.1 or 1.0
	success string  // how echorpc starts a success without a message, up to its data
}

var (
	clientV11 = clientDialect{key: "weerpc", number: "1.1", version: 1.1, success: `{"weerpc":1.1,"ok":true,"message":null,"data":`}
	clientV10 = clientDialect{key: "wrpc", number: "1.0", version: 1.0, success: `{"wrpc":1.0,"ok":true,"message":null,"data":`}
)

// dialect returns the dialect named by c.Version.
func (c *Client) dialect() (clientDialect, error) {
	switch c.Version {
	case "", "1.1":
		return clientV11, nil
	case "1.0":
		return clientV10, nil
	}
	return clientDialect{}, fmt.Errorf("wrpc: Client.Version is %q; want \"1.1\" or \"1.0\"", c.Version)
}

// callBody encodes a request body as Flask-RPC's RPCRequest.build makes it:
// {"weerpc":1.1,"function":...,"data":...}, or with "wrpc" and 1.0.
func (d clientDialect) callBody(function string, data any) ([]byte, error) {
	raw, err := jsonv2.Marshal(data, encodeOptions)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 32+len(function)+len(raw))
	b = append(b, `{"`...)
	b = append(b, d.key...)
	b = append(b, `":`...)
	b = append(b, d.number...)
	b = append(b, `,"function":`...)
	b = appendString(b, function)
	b = append(b, `,"data":`...)
	b = append(b, raw...)
	return append(b, '}'), nil
}

// clientReply is what one try brought back.
type clientReply struct {
	status     int
	retryAfter string // the Retry-After header
	raw        []byte // the body, when it is JSON
}

// send makes one try, with an Idempotency-Key when key is not "". A reply
// that is a redirect, not JSON, or too large is an [*Error] (with the
// reply's status in rep too); a failure to send or read is the transport's
// error.
func (c *Client) send(ctx context.Context, body []byte, key string) (rep clientReply, err error) {
	return c.post(ctx, bytes.NewReader(body), "application/json", key)
}

// newIdempotencyKey is a call's Idempotency-Key: 128 random bits, as a
// Structured Field string of 32 hex digits.
func newIdempotencyKey() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return `"` + hex.EncodeToString(b[:]) + `"`
}

// post sends a call's body of a content type (JSON, or multipart with
// files: see client_files.go) and reads its reply, as send does.
func (c *Client) post(ctx context.Context, body io.Reader, mediaType, key string) (rep clientReply, err error) {
	req, err := c.newRequest(ctx, http.MethodPost, c.Endpoint, body)
	if err != nil {
		return rep, err
	}
	req.Header.Set("Content-Type", mediaType)
	if key != "" {
		req.Header.Set(idempotencyHeader, key)
	}
	if deadline, ok := ctx.Deadline(); ok {
		ms := max(time.Until(deadline).Milliseconds(), 1)
		req.Header.Set(timeoutHeader, strconv.FormatInt(ms, 10))
	}
	res, err := c.do(req)
	if err != nil {
		return rep, err
	}
	defer res.Body.Close()
	rep.status = res.StatusCode
	rep.retryAfter = res.Header.Get("Retry-After")
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "application/json" {
		_, _ = io.CopyN(io.Discard, res.Body, 2<<10) // so a short body leaves the connection reusable
		return rep, &Error{Status: res.StatusCode, Message: fmt.Sprintf("The reply is not a weeRPC envelope (HTTP %d, %s).", res.StatusCode, contentType(res))}
	}
	rep.raw, err = c.readReply(res)
	var e *Error
	if err != nil && !errors.As(err, &e) {
		return clientReply{}, err // the connection failed mid-reply
	}
	return rep, err
}

// newRequest makes a request with the client's headers.
func (c *Client) newRequest(ctx context.Context, method, url string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, err
	}
	for k, v := range c.Header {
		req.Header[k] = append([]string(nil), v...)
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// do sends req without following redirects. It sends with a copy of the
// configured http.Client whose transport turns every 3xx reply into an
// [*Error] that names its Location, before http.Client can act on it (even
// on a Location it cannot parse); the caller's http.Client is not changed.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	hc := http.DefaultClient
	if c.HTTPClient != nil {
		hc = c.HTTPClient
	}
	noFollow := *hc
	noFollow.Transport = stopRedirects{next: hc.Transport}
	res, err := noFollow.Do(req)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, err
	}
	return res, nil
}

// stopRedirects is a RoundTripper that answers a 3xx reply with
// [errRedirect].
type stopRedirects struct {
	next http.RoundTripper // nil for http.DefaultTransport
}

func (s stopRedirects) RoundTrip(req *http.Request) (*http.Response, error) {
	next := s.next
	if next == nil {
		next = http.DefaultTransport
	}
	res, err := next.RoundTrip(req)
	if err != nil || res.StatusCode < 300 || res.StatusCode > 399 {
		return res, err
	}
	// Read a little, so that a short body leaves the connection reusable.
	_, _ = io.CopyN(io.Discard, res.Body, 2<<10)
	res.Body.Close()
	return nil, errRedirect(res)
}

// maxEchoed bounds how much of a reply's header an error repeats.
const maxEchoed = 255

// cutEchoed cuts a header value that an error repeats to maxEchoed bytes.
func cutEchoed(s string) string {
	if len(s) > maxEchoed {
		return s[:maxEchoed] + "..."
	}
	return s
}

// errRedirect is the error for a 3xx reply: the client follows no
// redirects, so it names where the server pointed instead.
func errRedirect(res *http.Response) *Error {
	loc := res.Header.Get("Location")
	if loc == "" {
		return &Error{Status: res.StatusCode, Message: "The reply is a redirect with no Location; the client does not follow redirects."}
	}
	return &Error{Status: res.StatusCode, Message: "The reply is a redirect to " + strconv.Quote(cutEchoed(loc)) + "; the client does not follow redirects."}
}

// maxReplyBytes is the client's reply size limit.
func (c *Client) maxReplyBytes() int64 {
	if c.MaxReplyBytes > 0 {
		return c.MaxReplyBytes
	}
	return defaultMaxReplyBytes
}

// readReply reads a reply body, up to the client's limit; a larger body
// is an [*Error] naming the limit. It reads through a LimitReader, so a
// small gzip reply that the transport inflates cannot grow past the limit.
func (c *Client) readReply(res *http.Response) ([]byte, error) {
	limit := c.maxReplyBytes()
	if res.ContentLength > limit {
		return nil, errReplyTooLarge(res.StatusCode, limit)
	}
	n := limit
	if n < math.MaxInt64 {
		n++
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, n))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > limit {
		return nil, errReplyTooLarge(res.StatusCode, limit)
	}
	return raw, nil
}

func errReplyTooLarge(status int, limit int64) *Error {
	return &Error{Status: status, Message: "The reply is larger than the client's limit of " + strconv.FormatInt(limit, 10) + " bytes (Client.MaxReplyBytes)."}
}

// retryable reports whether a try failed on the way: a transport error
// (not the caller's own context ending), or HTTP 429, 502, 503 or 504.
func retryable(ctx context.Context, status int, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var e *Error
	if !errors.As(err, &e) {
		return status == 0 // a transport error, not data that would not decode
	}
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryAfter parses a Retry-After value, delta-seconds or an HTTP date,
// into a wait from now (0 for a date in the past).
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return math.MaxInt64, true
			}
			return 0, false
		}
		if secs > uint64(math.MaxInt64/time.Second) {
			return math.MaxInt64, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// minBackoff is the shortest wait before a retry, whatever Retry says.
const minBackoff = 10 * time.Millisecond

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 3
	}
	if r.Base <= 0 {
		r.Base = 100 * time.Millisecond
	}
	if r.Max <= 0 {
		r.Max = 2 * time.Second
	}
	if r.MaxElapsed <= 0 {
		r.MaxElapsed = 10 * time.Second
	}
	return r
}

// backoff is the wait after the given try: full jitter over an
// exponentially growing cap, and at least minBackoff.
func (r Retry) backoff(attempt int) time.Duration {
	ceiling := r.Base << min(attempt-1, 30)
	if ceiling <= 0 || ceiling > r.Max {
		ceiling = r.Max
	}
	if ceiling <= minBackoff {
		return minBackoff
	}
	return minBackoff + time.Duration(rand.Int64N(int64(ceiling-minBackoff)+1))
}

// The retry budget, as gRPC's retry throttling: maxTokens 10, tokenRatio
// 0.1, counted in thousandths of a token.
const (
	budgetMax     = 10 * 1000
	budgetFailure = 1000
	budgetSuccess = 100 // tokenRatio 0.1
)

// retryBudget is a token bucket kept as the tokens spent, so that its zero
// value is full. It is safe for concurrent use.
type retryBudget struct {
	spent atomic.Int64
}

// fail takes a token for a retryable failure and reports whether a retry
// may follow: more than half the tokens are left.
func (b *retryBudget) fail() bool {
	for {
		s := b.spent.Load()
		n := min(s+budgetFailure, budgetMax)
		if b.spent.CompareAndSwap(s, n) {
			return budgetMax-n > budgetMax/2
		}
	}
}

// succeed gives back a tenth of a token.
func (b *retryBudget) succeed() {
	for {
		s := b.spent.Load()
		if s == 0 {
			return
		}
		if b.spent.CompareAndSwap(s, max(s-budgetSuccess, 0)) {
			return
		}
	}
}

// check turns a JSON reply into the caller's result. The reply must be a
// weeRPC envelope (a JSON object with "ok" true or false and "message" a
// string or null, keys matched exactly) in the dialect d; ok:true counts
// only with a 2xx status.
func (d clientDialect) check(function string, rep clientReply, out any) error {
	status := rep.status
	if data, ok := d.plainSuccess(rep.raw); ok && status >= 200 && status <= 299 {
		if m, ok := out.(*json.RawMessage); ok {
			*m = bytes.Clone(data) // valid, as the decoding below would have found it
			return nil
		}
		return decodeData(function, data, out)
	}
	var env map[string]json.RawMessage
	if json.Unmarshal(rep.raw, &env) != nil || env == nil {
		return errNotEnvelope(status)
	}
	var ok bool
	switch string(env["ok"]) {
	case "true":
		ok = true
	case "false":
	default:
		return errNotEnvelope(status)
	}
	var message string
	if m, has := env["message"]; has && string(m) != "null" {
		if json.Unmarshal(m, &message) != nil {
			return errNotEnvelope(status)
		}
	}
	if !d.matches(env) {
		return &Error{Status: status, Message: "The reply is not in the weeRPC " + d.number + " dialect the client sent (\"" + d.key + "\": " + d.number + ")."}
	}
	raw := env["data"]
	if !ok {
		e := &Error{Status: status, Message: message}
		if len(raw) > 0 && string(raw) != "null" {
			_ = json.Unmarshal(raw, &e.Data)
			e.Errors = replyFieldErrors(raw)
		}
		return e
	}
	if status < 200 || status > 299 {
		return &Error{Status: status, Message: "The reply says ok, but its HTTP status is not a success."}
	}
	return decodeData(function, raw, out)
}

// plainSuccess reads a success as echorpc writes it, byte for byte, with
// no message: the dialect's start, then data that is one valid JSON value
// up to the envelope's closing brace, so that no other name can hide
// behind it. It returns the data; any other reply (a message, another
// order of names, spaces) is read by check's decoding of the whole
// envelope, with the same outcome.
func (d clientDialect) plainSuccess(raw []byte) (data []byte, ok bool) {
	n := len(d.success)
	if len(raw) < n+2 || string(raw[:n]) != d.success || raw[len(raw)-1] != '}' {
		return nil, false
	}
	data = raw[n : len(raw)-1]
	if isJSONSpace(data[0]) || isJSONSpace(data[len(data)-1]) {
		return nil, false
	}
	return data, jsontext.Value(data).IsValid() // as jsonv2 reads: no name twice, valid UTF-8
}

func isJSONSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\r' || b == '\n'
}

// decodeData decodes a success's data into out (nil: not wanted).
func decodeData(function string, raw []byte, out any) error {
	if out == nil || len(raw) == 0 {
		return nil
	}
	if err := jsonv2.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("wrpc: decoding the data of %q: %w", function, err)
	}
	return nil
}

// matches reports whether an envelope's version is the dialect d: to 1.1,
// "weerpc": 1.1, or "weerpc": 1.0 as Flask-RPC 1.1 answers; to 1.0,
// "wrpc": 1.0. The number compares as a number (1.10 is 1.1).
func (d clientDialect) matches(env map[string]json.RawMessage) bool {
	raw, has := env[d.key]
	if !has {
		return false
	}
	v, ok := jsonNumber(raw)
	if !ok {
		return false
	}
	return v == d.version || (d.key == "weerpc" && v == 1.0)
}

// jsonNumber returns the value of a JSON number token.
func jsonNumber(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil
}

// replyFieldErrors reads the field errors of a failing reply's data
// ({"errors": [{"path": ..., "rule": ..., "message": ...}]}), or nil when
// it has none.
func replyFieldErrors(raw json.RawMessage) []FieldError {
	var fe fieldErrors
	if json.Unmarshal(raw, &fe) != nil {
		return nil
	}
	return fe.Errors
}

func errNotEnvelope(status int) *Error {
	return &Error{Status: status, Message: fmt.Sprintf("The reply is not a weeRPC envelope (HTTP %d, application/json).", status)}
}

// LoadManifest reads the instance's manifest (the server must set
// Config.Manifest) at Endpoint's path plus "/manifest.json", with
// Endpoint's query, and fills Idempotent from its idempotent flags (and
// learns whether the server offers the shared stream connection that
// [Client.Stream] uses, so as not to ask for it in vain). The
// manifest is bound by MaxReplyBytes, and a redirect is an error, as for
// calls.
func (c *Client) LoadManifest(ctx context.Context) error {
	u, err := manifestURL(c.Endpoint)
	if err != nil {
		return fmt.Errorf("wrpc: loading the manifest: %w", err)
	}
	req, err := c.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("wrpc: loading the manifest: %w", err)
	}
	res, err := c.do(req)
	if err != nil {
		return fmt.Errorf("wrpc: loading the manifest: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("wrpc: loading the manifest: HTTP %d", res.StatusCode)
	}
	raw, err := c.readReply(res)
	if err != nil {
		return fmt.Errorf("wrpc: loading the manifest: %w", err)
	}
	var m struct {
		Channel   *string `json:"channel"`
		Functions []struct {
			Name       string `json:"name"`
			Idempotent bool   `json:"idempotent"`
		} `json:"functions"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("wrpc: loading the manifest: %w", err)
	}
	idempotent := map[string]bool{}
	for _, f := range m.Functions {
		if f.Idempotent {
			idempotent[f.Name] = true
		}
	}
	c.Idempotent = idempotent
	c.channels.offered(c.Endpoint, m.Channel != nil)
	return nil
}

// manifestURL inserts /manifest.json at the end of the endpoint's path,
// keeping its query and dropping its fragment.
func manifestURL(endpoint string) (string, error) {
	u, err := urlUnder(endpoint, "/manifest.json")
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// urlUnder is the endpoint's URL with file ("/name") at the end of its
// path, its query kept and its fragment dropped.
func urlUnder(endpoint, file string) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	u.Fragment, u.RawFragment = "", ""
	u.Path = strings.TrimSuffix(u.Path, "/") + file
	if u.RawPath != "" {
		u.RawPath = strings.TrimSuffix(u.RawPath, "/") + file
	}
	return u, nil
}

func contentType(res *http.Response) string {
	if ct := res.Header.Get("Content-Type"); ct != "" {
		return cutEchoed(ct)
	}
	return "no content type"
}
