package echorpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
)

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// FuzzClientReply feeds arbitrary replies (status, content type, Location,
// Retry-After, body, declared length) to Client.Call, for an idempotent
// function with retries on, and checks that the client does not panic,
// returns within bounds, sends at most Attempts tries, and succeeds exactly
// when the reply is a 2xx weeRPC envelope with ok true, in the dialect sent,
// within MaxReplyBytes; any other reply is an *Error with the reply's status
// (and, for an envelope with ok false, its message).
// CI runs it for a fixed time: go test -run '^$' -fuzz FuzzClientReply -fuzztime 20s ./echorpc
func FuzzClientReply(f *testing.F) {
	const limit = 1024
	ok11 := `{"weerpc":1.1,"ok":true,"message":null,"data":[1,2]}`
	for _, seed := range []struct {
		status                    uint16
		contentType, loc, retryAf string
		body                      string
		v10, lengthKnown          bool
	}{
		{status: 200, contentType: "application/json", body: ok11},
		{status: 200, contentType: "application/json; charset=utf-8", body: `{"weerpc":1.0,"ok":true,"message":"Flask-RPC 1.1","data":6}`, lengthKnown: true},
		{status: 200, contentType: "application/json", body: `{"wrpc":1.0,"ok":true,"data":6}`, v10: true},
		{status: 200, contentType: "application/json", body: `{"wrpc":1.0,"ok":true,"data":6}`},
		{status: 500, contentType: "application/json", body: ok11},
		{status: 404, contentType: "application/json", body: `{"weerpc":1.1,"ok":false,"message":"Invalid function.","data":null}`},
		{status: 503, contentType: "application/json", retryAf: "1", body: `{"weerpc":1.1,"ok":false,"message":"Busy.","data":null}`},
		{status: 429, contentType: "application/json", retryAf: "Wed, 21 Oct 2015 07:28:00 GMT", body: `{"weerpc":1.1,"ok":false,"message":"Slow down.","data":null}`},
		{status: 307, loc: "http://other.test/steal"},
		{status: 302, loc: "http://[::1"},
		{status: 304},
		{status: 502, contentType: "text/html", body: "<h1>Bad gateway</h1>"},
		{status: 200, contentType: "application/json", body: `{"WEERPC":1.1,"OK":true}`},
		{status: 200, contentType: "application/json", body: `{"weerpc":1.1,"ok":true,"message":null,"data":"` + string(bytes.Repeat([]byte("x"), limit)) + `"}`, lengthKnown: true},
		{status: 200, contentType: "application/json", body: `{"weerpc":1e400,"ok":true,"data":1e400}`},
		{status: 200, contentType: "application/json", body: "{\"weerpc\":1.1,\"ok\":false,\"message\":\"\xc3\x28\",\"data\":{}}"},
		{status: 101, contentType: "application/json", body: ok11},
	} {
		f.Add(seed.status, seed.contentType, seed.loc, seed.retryAf, []byte(seed.body), seed.v10, seed.lengthKnown)
	}

	f.Fuzz(func(t *testing.T, status uint16, contentType, location, retryAfter string, body []byte, v10, lengthKnown bool) {
		code := 100 + int(status)%500
		var tries atomic.Int64
		rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
			tries.Add(1)
			if req.Body != nil {
				_, _ = io.Copy(io.Discard, req.Body)
				req.Body.Close()
			}
			h := http.Header{}
			for k, v := range map[string]string{"Content-Type": contentType, "Location": location, "Retry-After": retryAfter} {
				if v != "" {
					h.Set(k, v)
				}
			}
			n := int64(-1)
			if lengthKnown {
				n = int64(len(body))
			}
			return &http.Response{
				Status: strconv.Itoa(code) + " " + http.StatusText(code), StatusCode: code,
				Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: n, Request: req,
			}, nil
		})
		version := "1.1"
		if v10 {
			version = "1.0"
		}
		c := &echorpc.Client{
			Endpoint:      "http://wrpc.test/rpc",
			HTTPClient:    &http.Client{Transport: rt},
			Version:       version,
			MaxReplyBytes: limit,
			Retry:         &echorpc.Retry{Attempts: 2, Base: time.Nanosecond, Max: time.Nanosecond, MaxElapsed: 50 * time.Millisecond},
			Idempotent:    map[string]bool{"f": true},
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var out json.RawMessage
		start := time.Now()
		err := c.Call(ctx, "f", []int{1}, &out)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("the call took %v", d)
		}
		if n := tries.Load(); n < 1 || n > 2 {
			t.Fatalf("%d tries", n)
		}

		want := expectReply(code, contentType, body, limit, v10)
		if want.ok {
			if err != nil {
				t.Fatalf("a valid ok reply gave %v", err)
			}
			if !bytes.Equal(out, want.data) {
				t.Fatalf("data %q, want %q", out, want.data)
			}
			return
		}
		var e *echorpc.Error
		if !errors.As(err, &e) {
			t.Fatalf("an invalid or failed reply gave %v, not an *echorpc.Error", err)
		}
		if e.Status != code {
			t.Fatalf("status %d, want %d", e.Status, code)
		}
		if want.failure && e.Message != want.message {
			t.Fatalf("message %q, want %q", e.Message, want.message)
		}
	})
}

// expectedReply is what the client must make of a reply.
type expectedReply struct {
	ok      bool            // success, with data
	data    json.RawMessage // the reply's data when ok
	failure bool            // a valid envelope with ok false and message
	message string
}

// expectReply judges a reply on its own, as the protocol reads: a 2xx
// (for success), application/json, no larger than limit, a JSON object
// whose "ok" is a boolean, "message" a string or null when present, and
// whose version is the dialect sent ("weerpc" 1.1 or, as Flask-RPC 1.1
// answers, 1.0; or "wrpc" 1.0).
func expectReply(code int, contentType string, body []byte, limit int, v10 bool) expectedReply {
	if code >= 300 && code < 400 {
		return expectedReply{}
	}
	if mt, _, _ := mime.ParseMediaType(contentType); mt != "application/json" || len(body) > limit {
		return expectedReply{}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var env map[string]any
	if dec.Decode(&env) != nil || env == nil {
		return expectedReply{}
	}
	if _, err := dec.Token(); err != io.EOF { // trailing data
		return expectedReply{}
	}
	ok, isBool := env["ok"].(bool)
	if !isBool {
		return expectedReply{}
	}
	message, isString := env["message"].(string)
	if m, has := env["message"]; has && m != nil && !isString {
		return expectedReply{}
	}
	if !versionMatches(env, v10) {
		return expectedReply{}
	}
	if !ok {
		return expectedReply{failure: true, message: message}
	}
	if code < 200 || code > 299 {
		return expectedReply{}
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	return expectedReply{ok: true, data: raw["data"]}
}

// versionMatches reports whether an envelope is in the dialect sent:
// "weerpc" 1.1 (or 1.0, as Flask-RPC 1.1 answers), or "wrpc" 1.0.
func versionMatches(env map[string]any, v10 bool) bool {
	key, versions := "weerpc", []float64{1.1, 1.0}
	if v10 {
		key, versions = "wrpc", []float64{1.0}
	}
	num, isNum := env[key].(json.Number)
	if !isNum {
		return false
	}
	v, err := strconv.ParseFloat(string(num), 64)
	return err == nil && slices.Contains(versions, v)
}
