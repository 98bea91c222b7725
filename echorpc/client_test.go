package echorpc_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientTestServer is an echorpc instance at /rpc with a few functions.
func clientTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	echorpc.New(e, echorpc.Config{Prefix: "/rpc"}).Functions(echorpc.Funcs{
		"add_numbers": echorpc.Func(func(c echo.Context, in []float64) (float64, error) {
			sum := 0.0
			for _, n := range in {
				sum += n
			}
			return sum, nil
		}),
		"fail": echorpc.Func(func(c echo.Context, in any) (any, error) {
			return nil, &echorpc.Error{Message: "Invalid data type.", Data: map[string]string{"data": "list"}}
		}),
		"boom": echorpc.Func(func(c echo.Context, in any) (any, error) {
			return nil, errors.New("secret")
		}),
	})
	e.POST("/html", func(c echo.Context) error { return c.HTML(http.StatusBadGateway, "<h1>Bad gateway</h1>") })
	e.POST("/not-envelope", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]int{"x": 1}) })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

// replyServer answers every request with status, the given headers and
// body (as application/json unless the headers say otherwise), and counts
// the requests.
func replyServer(t *testing.T, status int, header http.Header, body string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// asError returns err as an *echorpc.Error, failing the test when it is not.
func asError(t *testing.T, err error) *echorpc.Error {
	t.Helper()
	var e *echorpc.Error
	require.True(t, errors.As(err, &e), "want an *echorpc.Error, got %v", err)
	return e
}

// The body the client sends, in both dialects, as Flask-RPC's
// RPCRequest.build makes it.
func TestClientRequestBody(t *testing.T) {
	tests := []struct {
		name         string
		givenVersion string
		givenFunc    string
		givenData    any
		expectBody   string
	}{
		{name: "1.1-default", givenFunc: "add_numbers", givenData: []int{1, 2, 3}, expectBody: `{"weerpc":1.1,"function":"add_numbers","data":[1,2,3]}`},
		{name: "1.1", givenVersion: "1.1", givenFunc: "add_numbers", givenData: []int{1}, expectBody: `{"weerpc":1.1,"function":"add_numbers","data":[1]}`},
		{name: "1.0", givenVersion: "1.0", givenFunc: "add_numbers", givenData: []int{1}, expectBody: `{"wrpc":1.0,"function":"add_numbers","data":[1]}`},
		{name: "nil-data", givenFunc: "x", expectBody: `{"weerpc":1.1,"function":"x","data":null}`},
		{name: "escaped-name", givenFunc: `a"<b>`, givenData: 0, expectBody: `{"weerpc":1.1,"function":"a\"\u003cb\u003e","data":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, _ = io.ReadAll(r.Body)
				w.Header().Set("Content-Type", "application/json")
				key, number := "weerpc", "1.1"
				if tt.givenVersion == "1.0" {
					key, number = "wrpc", "1.0"
				}
				_, _ = fmt.Fprintf(w, `{%q:%s,"ok":true,"message":null,"data":null}`, key, number)
			}))
			defer srv.Close()
			c := &echorpc.Client{Endpoint: srv.URL, Version: tt.givenVersion}
			require.NoError(t, c.Call(context.Background(), tt.givenFunc, tt.givenData, nil))
			assert.Equal(t, tt.expectBody, string(got))
		})
	}

	t.Run("unknown-version", func(t *testing.T) {
		srv, n := replyServer(t, 200, nil, `{"weerpc":1.1,"ok":true,"message":null,"data":null}`)
		err := (&echorpc.Client{Endpoint: srv.URL, Version: "2.0"}).Call(context.Background(), "x", nil, nil)
		require.ErrorContains(t, err, `"2.0"`)
		assert.Zero(t, n.Load(), "nothing is sent in an unknown dialect")
	})
}

func TestClientCall(t *testing.T) {
	srv := clientTestServer(t)
	ctx := context.Background()

	t.Run("success-1.1", func(t *testing.T) {
		var sum float64
		require.NoError(t, (&echorpc.Client{Endpoint: srv.URL + "/rpc"}).Call(ctx, "add_numbers", []int{1, 2, 3}, &sum))
		assert.Equal(t, 6.0, sum)
	})
	t.Run("success-1.0", func(t *testing.T) {
		var sum int
		c := &echorpc.Client{Endpoint: srv.URL + "/rpc", Version: "1.0"}
		require.NoError(t, c.Call(ctx, "add_numbers", []int{4, 5}, &sum))
		assert.Equal(t, 9, sum)
	})
	t.Run("nil-out", func(t *testing.T) {
		require.NoError(t, (&echorpc.Client{Endpoint: srv.URL + "/rpc"}).Call(ctx, "add_numbers", []int{1}, nil))
	})
	t.Run("out-does-not-decode", func(t *testing.T) {
		var s string
		err := (&echorpc.Client{Endpoint: srv.URL + "/rpc"}).Call(ctx, "add_numbers", []int{1}, &s)
		require.ErrorContains(t, err, `decoding the data of "add_numbers"`)
		var e *echorpc.Error
		assert.False(t, errors.As(err, &e))
	})

	errorTests := []struct {
		name         string
		whenEndpoint string
		whenFunction string
		whenData     any
		expectError  *echorpc.Error
	}{
		{name: "200-application-failure", whenEndpoint: "/rpc", whenFunction: "fail", whenData: "x",
			expectError: &echorpc.Error{Status: 200, Message: "Invalid data type.", Data: map[string]any{"data": "list"}}},
		{name: "404-invalid-function", whenEndpoint: "/rpc", whenFunction: "nope",
			expectError: &echorpc.Error{Status: 404, Message: "Invalid function."}},
		{name: "500-internal", whenEndpoint: "/rpc", whenFunction: "boom",
			expectError: &echorpc.Error{Status: 500, Message: "Internal error."}},
		{name: "502-html", whenEndpoint: "/html", whenFunction: "x",
			expectError: &echorpc.Error{Status: 502, Message: "The reply is not a weeRPC envelope (HTTP 502, text/html; charset=UTF-8)."}},
		{name: "200-not-envelope", whenEndpoint: "/not-envelope", whenFunction: "x",
			expectError: &echorpc.Error{Status: 200, Message: "The reply is not a weeRPC envelope (HTTP 200, application/json)."}},
	}
	for _, tt := range errorTests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&echorpc.Client{Endpoint: srv.URL + tt.whenEndpoint}).Call(ctx, tt.whenFunction, tt.whenData, nil)
			assert.Equal(t, tt.expectError, asError(t, err))
		})
	}

	t.Run("400-invalid-data", func(t *testing.T) {
		err := (&echorpc.Client{Endpoint: srv.URL + "/rpc"}).Call(ctx, "add_numbers", "abc", nil)
		e := asError(t, err)
		assert.Equal(t, 400, e.Status)
		assert.True(t, strings.HasPrefix(e.Message, "Invalid data"), e.Message)
	})

	t.Run("network-error", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		err := (&echorpc.Client{Endpoint: dead.URL + "/rpc"}).Call(ctx, "x", nil, nil)
		require.Error(t, err)
		var e *echorpc.Error
		assert.False(t, errors.As(err, &e), "a transport failure is not an envelope error")
		assert.Contains(t, err.Error(), `wrpc: calling "x"`)
	})
}

// The client keeps a session across calls when its HTTP client has a jar.
func TestClientSessionWithJar(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Function string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case body.Function == "login":
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "s1", Path: "/"})
			_, _ = io.WriteString(w, `{"weerpc":1.1,"ok":true,"message":"logged in","data":null}`)
		case hasCookie(r, "session", "s1"):
			_, _ = io.WriteString(w, `{"weerpc":1.1,"ok":true,"message":null,"data":"you"}`)
		default:
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"weerpc":1.1,"ok":false,"message":"Unauthorized.","data":null}`)
		}
	}))
	defer srv.Close()

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	auth := &echorpc.Client{Endpoint: srv.URL + "/rpc/auth", HTTPClient: &http.Client{Jar: jar}}
	loginClient := &echorpc.Client{Endpoint: srv.URL + "/rpc/auth/login", HTTPClient: auth.HTTPClient}
	ctx := context.Background()

	assert.Equal(t, http.StatusUnauthorized, asError(t, auth.Call(ctx, "whoami", nil, nil)).Status)
	require.NoError(t, loginClient.Call(ctx, "login", nil, nil))
	var who string
	require.NoError(t, auth.Call(ctx, "whoami", nil, &who))
	assert.Equal(t, "you", who)
}

func hasCookie(r *http.Request, name, value string) bool {
	c, err := r.Cookie(name)
	return err == nil && c.Value == value
}

// The client speaks to Flask-RPC servers too: Flask-RPC 1.1 answers with
// the key "weerpc" but the version 1.0, and 1.0 servers with "wrpc".
func TestClientFlaskRPCReplies(t *testing.T) {
	tests := []struct {
		name         string
		givenVersion string
		givenReply   string
		expectBody   map[string]any
	}{
		{name: "flask-1.1-wrong-version", givenReply: `{"weerpc": 1.0, "ok": true, "message": "Function 'add_numbers' executed successfully", "data": 6}`,
			expectBody: map[string]any{"weerpc": 1.1, "function": "add_numbers", "data": []any{1.0, 2.0, 3.0}}},
		{name: "flask-1.0", givenVersion: "1.0", givenReply: `{"wrpc": 1.0, "ok": true, "message": "Function 'add_numbers' executed successfully", "data": 6}`,
			expectBody: map[string]any{"wrpc": 1.0, "function": "add_numbers", "data": []any{1.0, 2.0, 3.0}}},
		{name: "flask-1.0-no-message", givenVersion: "1.0", givenReply: `{"wrpc": 1.0, "ok": true, "data": 6}`,
			expectBody: map[string]any{"wrpc": 1.0, "function": "add_numbers", "data": []any{1.0, 2.0, 3.0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got map[string]any
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = json.NewDecoder(r.Body).Decode(&got)
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tt.givenReply))
			}))
			defer srv.Close()
			var sum int
			c := &echorpc.Client{Endpoint: srv.URL, Version: tt.givenVersion}
			require.NoError(t, c.Call(context.Background(), "add_numbers", []int{1, 2, 3}, &sum))
			assert.Equal(t, 6, sum)
			assert.Equal(t, tt.expectBody, got)
		})
	}
}

// A reply counts as a success only with ok:true, a 2xx status and the
// dialect sent; anything else is an *Error with the reply's status.
func TestClientReplyChecks(t *testing.T) {
	tests := []struct {
		name          string
		givenVersion  string
		givenStatus   int
		givenReply    string
		expectOK      bool
		expectStatus  int
		expectMessage string // a part of it
	}{
		{name: "ok-200", givenStatus: 200, givenReply: `{"weerpc":1.1,"ok":true,"message":null,"data":1}`, expectOK: true},
		{name: "ok-201", givenStatus: 201, givenReply: `{"weerpc":1.1,"ok":true,"message":null,"data":1}`, expectOK: true},
		{name: "version-as-number", givenStatus: 200, givenReply: `{"weerpc":1.10,"ok":true,"data":1}`, expectOK: true},
		{name: "ok-with-500", givenStatus: 500, givenReply: `{"weerpc":1.1,"ok":true,"message":null,"data":1}`,
			expectStatus: 500, expectMessage: "says ok, but its HTTP status"},
		{name: "ok-with-404", givenStatus: 404, givenReply: `{"weerpc":1.1,"ok":true,"message":null,"data":1}`,
			expectStatus: 404, expectMessage: "says ok, but its HTTP status"},
		{name: "ok-with-400-1.0", givenVersion: "1.0", givenStatus: 400, givenReply: `{"wrpc":1.0,"ok":true,"data":1}`,
			expectStatus: 400, expectMessage: "says ok, but its HTTP status"},
		{name: "1.1-sent-wrpc-1.0-back", givenStatus: 200, givenReply: `{"wrpc":1.0,"ok":true,"message":null,"data":1}`,
			expectStatus: 200, expectMessage: "not in the weeRPC 1.1 dialect"},
		{name: "1.1-sent-wrpc-1.1-back", givenStatus: 200, givenReply: `{"wrpc":1.1,"ok":true,"message":null,"data":1}`,
			expectStatus: 200, expectMessage: "not in the weeRPC 1.1 dialect"},
		{name: "1.1-sent-weerpc-2-back", givenStatus: 200, givenReply: `{"weerpc":2,"ok":true,"message":null,"data":1}`,
			expectStatus: 200, expectMessage: "not in the weeRPC 1.1 dialect"},
		{name: "1.1-sent-weerpc-string-back", givenStatus: 200, givenReply: `{"weerpc":"1.1","ok":true,"message":null,"data":1}`,
			expectStatus: 200, expectMessage: "not in the weeRPC 1.1 dialect"},
		{name: "1.1-sent-weerpc-null-back", givenStatus: 200, givenReply: `{"weerpc":null,"ok":true,"message":null,"data":1}`,
			expectStatus: 200, expectMessage: "not in the weeRPC 1.1 dialect"},
		{name: "1.0-sent-weerpc-1.1-back", givenVersion: "1.0", givenStatus: 200, givenReply: `{"weerpc":1.1,"ok":true,"message":null,"data":1}`,
			expectStatus: 200, expectMessage: "not in the weeRPC 1.0 dialect"},
		{name: "1.0-sent-wrpc-1.1-back", givenVersion: "1.0", givenStatus: 200, givenReply: `{"wrpc":1.1,"ok":true,"message":null,"data":1}`,
			expectStatus: 200, expectMessage: "not in the weeRPC 1.0 dialect"},
		{name: "keys-match-exactly", givenStatus: 200, givenReply: `{"WEERPC":1.1,"OK":true,"message":null,"data":1}`,
			expectStatus: 200, expectMessage: "not a weeRPC envelope"},
		{name: "ok-not-a-bool", givenStatus: 200, givenReply: `{"weerpc":1.1,"ok":1,"message":null,"data":1}`,
			expectStatus: 200, expectMessage: "not a weeRPC envelope"},
		{name: "message-not-a-string", givenStatus: 200, givenReply: `{"weerpc":1.1,"ok":false,"message":7,"data":1}`,
			expectStatus: 200, expectMessage: "not a weeRPC envelope"},
		{name: "not-an-object", givenStatus: 200, givenReply: `[1]`,
			expectStatus: 200, expectMessage: "not a weeRPC envelope"},
		{name: "failure-keeps-its-message", givenStatus: 409, givenReply: `{"weerpc":1.1,"ok":false,"message":"Taken.","data":{"id":1}}`,
			expectStatus: 409, expectMessage: "Taken."},
		// read as encoding/json reads an object into a map
		{name: "a-name-twice-takes-its-last", givenStatus: 200, givenReply: `{"weerpc":1.1,"ok":false,"ok":true,"data":0,"data":1}`, expectOK: true},
		{name: "escaped-names", givenStatus: 200, givenReply: `{"weerpc":1.1,"\u006fk":true,"d\u0061ta":1}`, expectOK: true},
		{name: "members-in-any-order-nested", givenStatus: 200, givenReply: " {\n\"data\" : 1 , \"x\":{\"ok\":false,\"data\":[2]}, \"ok\":true,\"weerpc\":1.1}\n", expectOK: true},
		{name: "escaped-message", givenStatus: 409, givenReply: `{"weerpc":1.1,"ok":false,"message":"\"Taken\" \u00e9"}`,
			expectStatus: 409, expectMessage: `"Taken" é`},
		{name: "invalid-utf8-message", givenStatus: 409, givenReply: "{\"weerpc\":1.1,\"ok\":false,\"message\":\"a\xffb\"}",
			expectStatus: 409, expectMessage: "a\ufffdb"},
		{name: "trailing-data", givenStatus: 200, givenReply: `{"weerpc":1.1,"ok":true,"data":1} {}`,
			expectStatus: 200, expectMessage: "not a weeRPC envelope"},
		{name: "unclosed", givenStatus: 200, givenReply: `{"weerpc":1.1,"ok":true,"data":1`,
			expectStatus: 200, expectMessage: "not a weeRPC envelope"},
		{name: "null", givenStatus: 200, givenReply: `null`,
			expectStatus: 200, expectMessage: "not a weeRPC envelope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := replyServer(t, tt.givenStatus, nil, tt.givenReply)
			var out any
			err := (&echorpc.Client{Endpoint: srv.URL, Version: tt.givenVersion}).Call(context.Background(), "f", nil, &out)
			if tt.expectOK {
				require.NoError(t, err)
				assert.Equal(t, 1.0, out)
				return
			}
			e := asError(t, err)
			assert.Equal(t, tt.expectStatus, e.Status)
			assert.Contains(t, e.Message, tt.expectMessage)
		})
	}
}

// Header values an error repeats are cut.
func TestClientEchoedHeadersAreCut(t *testing.T) {
	srv, _ := replyServer(t, 502, http.Header{"Content-Type": {"text/" + strings.Repeat("x", 5000)}}, "")
	e := asError(t, (&echorpc.Client{Endpoint: srv.URL}).Call(context.Background(), "f", nil, nil))
	assert.Less(t, len(e.Message), 400)
	assert.Contains(t, e.Message, "not a weeRPC envelope (HTTP 502, text/xxx")
}

// gzipMembers returns a gzip stream of several members: head, then 1 MiB of
// 'a' n times, then tail. It inflates to n MiB and is about n KiB long.
func gzipMembers(t testing.TB, head string, n int, tail string) []byte {
	t.Helper()
	member := func(p []byte) []byte {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = zw.Write(p)
		require.NoError(t, zw.Close())
		return b.Bytes()
	}
	mib := member(bytes.Repeat([]byte("a"), 1<<20))
	out := member([]byte(head))
	for range n {
		out = append(out, mib...)
	}
	return append(out, member([]byte(tail))...)
}

// A reply is read up to MaxReplyBytes (default 4 MiB), counted after the
// transport inflates gzip; a larger one is an *Error naming the limit.
func TestClientReplyLimit(t *testing.T) {
	ctx := context.Background()
	envelope := func(n int) string {
		return `{"weerpc":1.1,"ok":true,"message":null,"data":"` + strings.Repeat("x", n) + `"}`
	}
	overhead := len(envelope(0))

	t.Run("at-the-limit", func(t *testing.T) {
		srv, _ := replyServer(t, 200, nil, envelope(1000-overhead))
		var s string
		require.NoError(t, (&echorpc.Client{Endpoint: srv.URL, MaxReplyBytes: 1000}).Call(ctx, "f", nil, &s))
		assert.Len(t, s, 1000-overhead)
	})
	t.Run("one-byte-over", func(t *testing.T) {
		srv, _ := replyServer(t, 200, nil, envelope(1001-overhead))
		e := asError(t, (&echorpc.Client{Endpoint: srv.URL, MaxReplyBytes: 1000}).Call(ctx, "f", nil, nil))
		assert.Equal(t, &echorpc.Error{Status: 200, Message: "The reply is larger than the client's limit of 1000 bytes (Client.MaxReplyBytes)."}, e)
	})
	t.Run("chunked-over", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			for range 100 {
				_, _ = io.WriteString(w, strings.Repeat(" ", 100))
				w.(http.Flusher).Flush()
			}
		}))
		defer srv.Close()
		e := asError(t, (&echorpc.Client{Endpoint: srv.URL, MaxReplyBytes: 1000}).Call(ctx, "f", nil, nil))
		assert.Contains(t, e.Message, "limit of 1000 bytes")
	})
	t.Run("default-4MiB", func(t *testing.T) {
		srv, _ := replyServer(t, 200, nil, envelope(4<<20))
		e := asError(t, (&echorpc.Client{Endpoint: srv.URL}).Call(ctx, "f", nil, nil))
		assert.Contains(t, e.Message, "limit of 4194304 bytes")
		srv2, _ := replyServer(t, 200, nil, envelope(4<<20-overhead))
		require.NoError(t, (&echorpc.Client{Endpoint: srv2.URL}).Call(ctx, "f", nil, nil))
	})
	t.Run("gzip-bomb", func(t *testing.T) {
		// 256 MiB of valid envelope in about 256 KiB of gzip.
		bomb := gzipMembers(t, `{"weerpc":1.1,"ok":true,"message":null,"data":"`, 256, `"}`)
		require.Less(t, len(bomb), 1<<20)
		srv, _ := replyServer(t, 200, http.Header{"Content-Encoding": {"gzip"}}, string(bomb))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := (&echorpc.Client{Endpoint: srv.URL}).Call(ctx, "f", nil, nil)
		runtime.ReadMemStats(&after)
		assert.Contains(t, asError(t, err).Message, "limit of 4194304 bytes")
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "the client read far past its limit")
	})
	t.Run("manifest", func(t *testing.T) {
		big := `{"functions":[` + strings.Repeat(`{"name":"f","idempotent":true},`, 100) + `{"name":"g"}]}`
		srv, _ := replyServer(t, 200, nil, big)
		c := &echorpc.Client{Endpoint: srv.URL, MaxReplyBytes: 1000}
		err := c.LoadManifest(ctx)
		assert.Contains(t, asError(t, err).Message, "limit of 1000 bytes")
		assert.Nil(t, c.Idempotent)
		c.MaxReplyBytes = int64(len(big))
		require.NoError(t, c.LoadManifest(ctx))
		assert.Equal(t, map[string]bool{"f": true}, c.Idempotent)
	})
	t.Run("manifest-gzip-bomb", func(t *testing.T) {
		bomb := gzipMembers(t, `{"functions":[],"x":"`, 64, `"}`)
		srv, _ := replyServer(t, 200, http.Header{"Content-Encoding": {"gzip"}}, string(bomb))
		err := (&echorpc.Client{Endpoint: srv.URL}).LoadManifest(ctx)
		assert.Contains(t, asError(t, err).Message, "limit of 4194304 bytes")
	})
}

// The client never follows a redirect: a 3xx is an *Error naming the
// Location, and nothing (body, Header) reaches the other host.
func TestClientRedirects(t *testing.T) {
	var otherHits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"weerpc":1.1,"ok":true,"message":null,"data":{"functions":[]}}`)
	}))
	defer other.Close()
	ctx := context.Background()

	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			otherHits.Store(0)
			location := other.URL + "/steal?x=1"
			srv, n := replyServer(t, status, http.Header{"Location": {location}}, "")
			hc := &http.Client{}
			c := &echorpc.Client{Endpoint: srv.URL, HTTPClient: hc, Header: http.Header{"X-Api-Key": {"secret"}}}
			err := c.Call(ctx, "charge", map[string]int{"amount": 100}, nil)
			e := asError(t, err)
			assert.Equal(t, status, e.Status)
			assert.Contains(t, e.Message, strconv.Quote(location))
			assert.Contains(t, e.Message, "does not follow redirects")
			assert.EqualValues(t, 1, n.Load())
			assert.Zero(t, otherHits.Load(), "the call went on to the other host")
			assert.Nil(t, hc.CheckRedirect, "the caller's http.Client is left as it was")

			err = c.LoadManifest(ctx)
			assert.Equal(t, status, asError(t, err).Status)
			assert.Zero(t, otherHits.Load(), "the manifest request went on to the other host")
		})
	}
	t.Run("no-location", func(t *testing.T) {
		srv, _ := replyServer(t, 300, nil, "")
		e := asError(t, (&echorpc.Client{Endpoint: srv.URL}).Call(ctx, "f", nil, nil))
		assert.Equal(t, &echorpc.Error{Status: 300, Message: "The reply is a redirect with no Location; the client does not follow redirects."}, e)
	})
	t.Run("unparsable-location", func(t *testing.T) {
		srv, _ := replyServer(t, 302, http.Header{"Location": {"http://[::1"}}, "")
		e := asError(t, (&echorpc.Client{Endpoint: srv.URL}).Call(ctx, "f", nil, nil))
		assert.Equal(t, 302, e.Status)
		assert.Contains(t, e.Message, `"http://[::1"`)
	})
	t.Run("long-location-is-cut", func(t *testing.T) {
		srv, _ := replyServer(t, 307, http.Header{"Location": {other.URL + "/" + strings.Repeat("a", 5000)}}, "")
		e := asError(t, (&echorpc.Client{Endpoint: srv.URL}).Call(ctx, "f", nil, nil))
		assert.Less(t, len(e.Message), 400)
	})
	t.Run("not-retried", func(t *testing.T) {
		srv, n := replyServer(t, 307, http.Header{"Location": {other.URL}}, "")
		c := &echorpc.Client{Endpoint: srv.URL, Retry: &echorpc.Retry{}, Idempotent: map[string]bool{"f": true}}
		require.Error(t, c.Call(ctx, "f", nil, nil))
		assert.EqualValues(t, 1, n.Load())
	})
}

// Retries: an idempotent call is retried on 503 until it succeeds; a call
// not known to be idempotent is sent once, whatever happens.
func TestClientRetries(t *testing.T) {
	var mu sync.Mutex
	attempts := map[string]int{}
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	flaky := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Method != http.MethodPost {
				return next(c)
			}
			var body struct{ Function string }
			raw, _ := io.ReadAll(c.Request().Body)
			_ = json.Unmarshal(raw, &body)
			mu.Lock()
			attempts[body.Function]++
			n := attempts[body.Function]
			mu.Unlock()
			if n < 3 {
				return c.String(http.StatusServiceUnavailable, "try later")
			}
			c.Request().Body = io.NopCloser(bytes.NewReader(raw))
			return next(c)
		}
	}
	g := e.Group("/rpc", flaky)
	nop := echorpc.Func(func(c echo.Context, in int) (int, error) { return in, nil })
	rpc := echorpc.New(g, echorpc.Config{Manifest: true})
	rpc.Functions(echorpc.Funcs{"read": nop}, echorpc.Idempotent())
	rpc.Functions(echorpc.Funcs{"charge": nop, "charge_again": nop})
	srv := httptest.NewServer(e)
	defer srv.Close()
	count := func(f string) int {
		mu.Lock()
		defer mu.Unlock()
		return attempts[f]
	}

	client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
	client.Retry = &echorpc.Retry{Attempts: 5, Base: time.Millisecond, Max: 5 * time.Millisecond}
	require.NoError(t, client.LoadManifest(context.Background()))
	assert.Equal(t, map[string]bool{"read": true}, client.Idempotent)

	var out int
	require.NoError(t, client.Call(context.Background(), "read", 4, &out))
	assert.Equal(t, 4, out)
	assert.Equal(t, 3, count("read"))

	err := client.Call(context.Background(), "charge", 4, &out)
	assert.Equal(t, http.StatusServiceUnavailable, asError(t, err).Status)
	assert.Equal(t, 1, count("charge"), "a non-idempotent call is never sent twice")

	client.Idempotent["charge_again"] = true
	require.NoError(t, client.Call(context.Background(), "charge_again", 4, &out))
	assert.Equal(t, 3, count("charge_again"), "the caller may declare a function idempotent")

	client.Retry.Attempts = 2
	mu.Lock()
	attempts["read"] = 0
	mu.Unlock()
	require.Error(t, client.Call(context.Background(), "read", 4, &out))
	assert.Equal(t, 2, count("read"), "attempts are bounded")
}

// Retries wait at least 10ms, whatever Retry says, and draw on a per-client
// budget (gRPC's retry throttling: 10 tokens, 0.1 back per success, no
// retry at 5 or fewer), so a server that keeps failing is not hammered.
func TestClientRetryBudget(t *testing.T) {
	ctx := context.Background()
	fast := func() *echorpc.Retry {
		return &echorpc.Retry{Attempts: 1 << 20, Base: time.Nanosecond, Max: time.Nanosecond, MaxElapsed: 2 * time.Second}
	}

	t.Run("floor", func(t *testing.T) {
		srv, n := replyServer(t, 503, nil, `{"weerpc":1.1,"ok":false,"message":"Busy.","data":null}`)
		c := &echorpc.Client{Endpoint: srv.URL, Idempotent: map[string]bool{"f": true},
			Retry: &echorpc.Retry{Attempts: 3, Base: time.Nanosecond, Max: time.Nanosecond}}
		start := time.Now()
		assert.Equal(t, 503, asError(t, c.Call(ctx, "f", nil, nil)).Status)
		assert.EqualValues(t, 3, n.Load())
		assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond, "two waits of at least 10ms")
	})

	t.Run("always-503", func(t *testing.T) {
		srv, n := replyServer(t, 503, nil, `{"weerpc":1.1,"ok":false,"message":"Busy.","data":null}`)
		c := &echorpc.Client{Endpoint: srv.URL, Idempotent: map[string]bool{"f": true}, Retry: fast()}
		require.Error(t, c.Call(ctx, "f", nil, nil))
		assert.LessOrEqual(t, n.Load(), int64(5), "one call with 2s to retry in")
		before := n.Load()
		for range 20 {
			require.Error(t, c.Call(ctx, "f", nil, nil))
		}
		assert.Equal(t, before+20, n.Load(), "with the budget spent, each call is sent once")
	})

	t.Run("concurrent", func(t *testing.T) {
		srv, n := replyServer(t, 503, nil, `{"weerpc":1.1,"ok":false,"message":"Busy.","data":null}`)
		c := &echorpc.Client{Endpoint: srv.URL, Idempotent: map[string]bool{"f": true}, Retry: fast()}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 10 {
					_ = c.Call(ctx, "f", nil, nil)
				}
			})
		}
		wg.Wait()
		assert.LessOrEqual(t, n.Load(), int64(80+4), "80 calls and at most 4 retries")
	})

	t.Run("refills-on-success", func(t *testing.T) {
		var failing atomic.Bool
		failing.Store(true)
		var n atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			w.Header().Set("Content-Type", "application/json")
			if failing.Load() {
				w.WriteHeader(http.StatusBadGateway)
				_, _ = io.WriteString(w, `{"weerpc":1.1,"ok":false,"message":"Down.","data":null}`)
				return
			}
			_, _ = io.WriteString(w, `{"weerpc":1.1,"ok":true,"message":null,"data":null}`)
		}))
		defer srv.Close()
		c := &echorpc.Client{Endpoint: srv.URL, Idempotent: map[string]bool{"f": true}, Retry: fast()}
		require.Error(t, c.Call(ctx, "f", nil, nil))
		assert.EqualValues(t, 5, n.Load(), "10 tokens: 4 retries leave 6, the 5th failure leaves 5")
		failing.Store(false)
		for range 11 {
			require.NoError(t, c.Call(ctx, "g", nil, nil))
		}
		failing.Store(true)
		n.Store(0)
		require.Error(t, c.Call(ctx, "f", nil, nil))
		assert.EqualValues(t, 2, n.Load(), "11 successes gave back 1.1 tokens: one more retry")
	})
}

// A 429 or 503 reply's Retry-After sets the wait before the retry; a wait
// past MaxElapsed or the context's deadline ends the call at once with
// that reply's error.
func TestClientRetryAfter(t *testing.T) {
	ctx := context.Background()
	// flaky answers status with Retry-After ra to the first try, then ok.
	flaky := func(t *testing.T, status int, ra func() string) (*httptest.Server, *atomic.Int64) {
		var n atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if n.Add(1) == 1 {
				w.Header().Set("Retry-After", ra())
				w.WriteHeader(status)
				_, _ = io.WriteString(w, `{"weerpc":1.1,"ok":false,"message":"Later.","data":null}`)
				return
			}
			_, _ = io.WriteString(w, `{"weerpc":1.1,"ok":true,"message":null,"data":null}`)
		}))
		t.Cleanup(srv.Close)
		return srv, &n
	}
	client := func(url string) *echorpc.Client {
		return &echorpc.Client{Endpoint: url, Idempotent: map[string]bool{"f": true},
			Retry: &echorpc.Retry{Attempts: 3, Base: time.Nanosecond, Max: time.Nanosecond, MaxElapsed: 5 * time.Second}}
	}

	t.Run("503-delta-seconds", func(t *testing.T) {
		srv, n := flaky(t, 503, func() string { return "1" })
		start := time.Now()
		require.NoError(t, client(srv.URL).Call(ctx, "f", nil, nil))
		assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond)
		assert.EqualValues(t, 2, n.Load())
	})
	t.Run("429-http-date", func(t *testing.T) {
		srv, n := flaky(t, 429, func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) })
		start := time.Now()
		require.NoError(t, client(srv.URL).Call(ctx, "f", nil, nil))
		assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond)
		assert.EqualValues(t, 2, n.Load(), "429 is retried")
	})
	t.Run("429-without-retry-after", func(t *testing.T) {
		srv, n := flaky(t, 429, func() string { return "" })
		require.NoError(t, client(srv.URL).Call(ctx, "f", nil, nil))
		assert.EqualValues(t, 2, n.Load())
	})
	t.Run("past-max-elapsed", func(t *testing.T) {
		srv, n := flaky(t, 503, func() string { return "3600" })
		c := client(srv.URL)
		c.Retry.MaxElapsed = time.Second
		start := time.Now()
		assert.Equal(t, 503, asError(t, c.Call(ctx, "f", nil, nil)).Status)
		assert.Less(t, time.Since(start), 500*time.Millisecond)
		assert.EqualValues(t, 1, n.Load())
	})
	t.Run("huge", func(t *testing.T) {
		srv, n := flaky(t, 503, func() string { return "99999999999999999999999" })
		start := time.Now()
		assert.Equal(t, 503, asError(t, client(srv.URL).Call(ctx, "f", nil, nil)).Status)
		assert.Less(t, time.Since(start), 500*time.Millisecond)
		assert.EqualValues(t, 1, n.Load())
	})
	t.Run("past-the-deadline", func(t *testing.T) {
		srv, n := flaky(t, 503, func() string { return "2" })
		ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		assert.Equal(t, 503, asError(t, client(srv.URL).Call(ctx, "f", nil, nil)).Status)
		assert.Less(t, time.Since(start), 400*time.Millisecond)
		assert.EqualValues(t, 1, n.Load())
	})
	t.Run("not-idempotent", func(t *testing.T) {
		srv, n := flaky(t, 429, func() string { return "0" })
		assert.Equal(t, 429, asError(t, client(srv.URL).Call(ctx, "g", nil, nil)).Status)
		assert.EqualValues(t, 1, n.Load())
	})
}

// LoadManifest puts /manifest.json at the end of the endpoint's path and
// keeps its query.
func TestClientLoadManifestURL(t *testing.T) {
	tests := []struct {
		name         string
		givenPath    string
		expectTarget string
	}{
		{name: "plain", givenPath: "/rpc", expectTarget: "/rpc/manifest.json"},
		{name: "query", givenPath: "/rpc?tenant=a&key=b%2Fc", expectTarget: "/rpc/manifest.json?tenant=a&key=b%2Fc"},
		{name: "trailing-slash-and-query", givenPath: "/rpc/?tenant=a", expectTarget: "/rpc/manifest.json?tenant=a"},
		{name: "escaped-path", givenPath: "/rpc/a%2Fb?x", expectTarget: "/rpc/a%2Fb/manifest.json?x"},
		{name: "fragment", givenPath: "/rpc?x=1#top", expectTarget: "/rpc/manifest.json?x=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.RequestURI
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"functions":[{"name":"read","idempotent":true},{"name":"charge"}]}`)
			}))
			defer srv.Close()
			c := &echorpc.Client{Endpoint: srv.URL + tt.givenPath}
			require.NoError(t, c.LoadManifest(context.Background()))
			assert.Equal(t, tt.expectTarget, got)
			assert.Equal(t, map[string]bool{"read": true}, c.Idempotent)
		})
	}
}
