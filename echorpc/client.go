package echorpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"time"
)

// Request is a weeRPC request body, as Flask-RPC's RPCRequest.build makes
// it. It encodes as {"weerpc": 1.1, "function": ..., "data": ...}, or with
// the key "wrpc" and 1.0 when Version is [Version10].
type Request struct {
	// Version is the dialect; the zero value is Version11.
	Version Version
	// Function is the name of the function to call.
	Function string
	// Data is the call's data, encoded with encoding/json.
	Data any
}

// NewRequest returns a weeRPC 1.1 request for function with data.
func NewRequest(function string, data any) Request {
	return Request{Function: function, Data: data}
}

// MarshalJSON encodes the request in its dialect.
func (r Request) MarshalJSON() ([]byte, error) {
	data, err := json.Marshal(r.Data)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 48+len(r.Function)+len(data))
	b = append(b, `{"`...)
	b = append(b, r.Version.key()...)
	b = append(b, `":`...)
	b = append(b, r.Version.String()...)
	b = append(b, `,"function":`...)
	b = appendString(b, r.Function)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	return append(b, '}'), nil
}

// Client calls the functions of one remote instance: an echorpc server, or
// a Flask-RPC one (weeRPC 1.0 or 1.1).
type Client struct {
	// Endpoint is the instance's URL, such as "http://127.0.0.1:5000/rpc/tester".
	Endpoint string
	// HTTPClient sends the requests. Give it a cookie jar to keep a session
	// across calls. Optional. Default http.DefaultClient.
	HTTPClient *http.Client
	// Version is the dialect to speak. Optional. Default Version11.
	Version Version
	// Header is added to every request. Optional.
	Header http.Header
	// Retry retries calls that failed on the way (a network error, or HTTP
	// 502, 503 or 504) when they are safe to repeat: the function is in
	// Idempotent, or the call was made with [IdempotentCall]. A call that is not
	// known to be idempotent is never sent twice.
	// Optional. Default nil: no retries.
	Retry *Retry
	// Idempotent lists the functions that may be retried. [Client.LoadManifest]
	// fills it from the server's manifest.
	// Optional.
	Idempotent map[string]bool
}

// Retry bounds retries: up to Attempts tries in all, waiting between them
// a random time up to Base, 2*Base, 4*Base... (at most Max), and never
// starting a try after MaxElapsed has passed since the first.
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

// CallOption sets something for one call.
type CallOption func(*callOptions)

type callOptions struct {
	idempotent bool
}

// IdempotentCall declares one call safe to repeat, so the client's Retry
// applies to it even if its function is not in Client.Idempotent.
func IdempotentCall() CallOption { return func(o *callOptions) { o.idempotent = true } }

// NewClient returns a Client for the instance at endpoint.
func NewClient(endpoint string) *Client {
	return &Client{Endpoint: endpoint}
}

// envelope is a reply as the client reads it; both version keys are
// accepted, since Flask-RPC 1.1 answers with a wrong one.
type envelope struct {
	Weerpc  json.RawMessage `json:"weerpc"`
	Wrpc    json.RawMessage `json:"wrpc"`
	OK      *bool           `json:"ok"`
	Message *string         `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// Call calls function with data and decodes the reply's data into out (a
// pointer, or nil to drop it). It returns an [*Error] when the reply's ok is
// false or the reply is not a weeRPC envelope, and the transport's error
// when the call could not be made. The context bounds the whole call, and
// its deadline travels to the server in the [TimeoutHeader].
func (c *Client) Call(ctx context.Context, function string, data, out any, opts ...CallOption) error {
	var o callOptions
	for _, opt := range opts {
		opt(&o)
	}
	body, err := json.Marshal(Request{Version: c.Version, Function: function, Data: data})
	if err != nil {
		return fmt.Errorf("wrpc: encoding the data for %q: %w", function, err)
	}
	retry := c.Retry != nil && (o.idempotent || c.Idempotent[function])
	var policy Retry
	if retry {
		policy = c.Retry.withDefaults()
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		status, raw, err := c.send(ctx, body)
		var wait time.Duration
		if retry && attempt < policy.Attempts && retryable(ctx, status, err) {
			if wait = policy.backoff(attempt); time.Since(start)+wait > policy.MaxElapsed {
				wait = 0
			}
		}
		if wait == 0 {
			if err != nil {
				return fmt.Errorf("wrpc: calling %q: %w", function, err)
			}
			return decodeReply(function, status, raw, out)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wrpc: calling %q: %w", function, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// send makes one try and returns the reply's status and body.
func (c *Client) send(ctx context.Context, body []byte) (status int, raw []byte, err error) {
	req, err := c.newRequest(ctx, http.MethodPost, c.Endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if deadline, ok := ctx.Deadline(); ok {
		ms := max(time.Until(deadline).Milliseconds(), 1)
		req.Header.Set(TimeoutHeader, strconv.FormatInt(ms, 10))
	}
	res, err := c.do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err = io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, err
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "application/json" {
		return res.StatusCode, nil, &Error{Status: res.StatusCode, Message: fmt.Sprintf("The reply is not a weeRPC envelope (HTTP %d, %s).", res.StatusCode, contentType(res))}
	}
	return res.StatusCode, raw, nil
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

func (c *Client) do(req *http.Request) (*http.Response, error) {
	if c.HTTPClient != nil {
		return c.HTTPClient.Do(req)
	}
	return http.DefaultClient.Do(req)
}

// retryable reports whether a try failed on the way: a transport error
// (not the caller's own context ending), or a gateway status.
func retryable(ctx context.Context, status int, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var e *Error
	if err != nil && !errors.As(err, &e) {
		return true
	}
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

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
// exponentially growing cap.
func (r Retry) backoff(attempt int) time.Duration {
	ceiling := r.Base << min(attempt-1, 30)
	if ceiling <= 0 || ceiling > r.Max {
		ceiling = r.Max
	}
	return time.Duration(rand.Int64N(int64(ceiling)) + 1)
}

// decodeReply turns a reply into the caller's result.
func decodeReply(function string, status int, raw []byte, out any) error {
	var env envelope
	if json.Unmarshal(raw, &env) != nil || env.OK == nil || (env.Weerpc == nil && env.Wrpc == nil) {
		return &Error{Status: status, Message: fmt.Sprintf("The reply is not a weeRPC envelope (HTTP %d, application/json).", status)}
	}
	if !*env.OK {
		e := &Error{Status: status}
		if env.Message != nil {
			e.Message = *env.Message
		}
		if len(env.Data) > 0 && string(env.Data) != "null" {
			_ = json.Unmarshal(env.Data, &e.Data)
		}
		return e
	}
	if out == nil || len(env.Data) == 0 {
		return nil
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("wrpc: decoding the data of %q: %w", function, err)
	}
	return nil
}

// LoadManifest reads the instance's manifest (the server must set
// Config.Manifest) and fills Idempotent from its idempotent flags.
func (c *Client) LoadManifest(ctx context.Context) error {
	req, err := c.newRequest(ctx, http.MethodGet, c.Endpoint+"/manifest.json", nil)
	if err != nil {
		return fmt.Errorf("wrpc: %w", err)
	}
	res, err := c.do(req)
	if err != nil {
		return fmt.Errorf("wrpc: loading the manifest: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("wrpc: loading the manifest: HTTP %d", res.StatusCode)
	}
	var m struct {
		Functions []struct {
			Name       string `json:"name"`
			Idempotent bool   `json:"idempotent"`
		} `json:"functions"`
	}
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		return fmt.Errorf("wrpc: loading the manifest: %w", err)
	}
	idempotent := map[string]bool{}
	for _, f := range m.Functions {
		if f.Idempotent {
			idempotent[f.Name] = true
		}
	}
	c.Idempotent = idempotent
	return nil
}

func contentType(res *http.Response) string {
	if ct := res.Header.Get("Content-Type"); ct != "" {
		return ct
	}
	return "no content type"
}
