package echorpc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// Request is a weeRPC request body, as Flask-RPC's RPCRequest.build makes
// it. It encodes as {"weerpc": 1.1, "function": ..., "data": ...}, or with
// the key "wrpc" and 1.0 when Version is [Version10].
type Request struct {
	Version  Version
	Function string
	Data     any
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
}

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
// when the call could not be made; the context bounds the whole call.
func (c *Client) Call(ctx context.Context, function string, data, out any) error {
	body, err := json.Marshal(Request{Version: c.Version, Function: function, Data: data})
	if err != nil {
		return fmt.Errorf("wrpc: encoding the data for %q: %w", function, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("wrpc: %w", err)
	}
	for k, v := range c.Header {
		req.Header[k] = append([]string(nil), v...)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("wrpc: calling %q: %w", function, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("wrpc: reading the reply to %q: %w", function, err)
	}

	var env envelope
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "application/json" ||
		json.Unmarshal(raw, &env) != nil || env.OK == nil || (env.Weerpc == nil && env.Wrpc == nil) {
		return &Error{Status: res.StatusCode, Message: fmt.Sprintf("The reply is not a weeRPC envelope (HTTP %d, %s).", res.StatusCode, contentType(res))}
	}
	if !*env.OK {
		e := &Error{Status: res.StatusCode}
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

func contentType(res *http.Response) string {
	if ct := res.Header.Get("Content-Type"); ct != "" {
		return ct
	}
	return "no content type"
}
