package echorpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewRequest(t *testing.T) {
	tests := []struct {
		name       string
		given      echorpc.Request
		expectBody string
	}{
		{name: "1.1", given: echorpc.NewRequest("add_numbers", []int{1, 2, 3}), expectBody: `{"weerpc":1.1,"function":"add_numbers","data":[1,2,3]}`},
		{name: "1.0", given: echorpc.Request{Version: echorpc.Version10, Function: "add_numbers", Data: []int{1}}, expectBody: `{"wrpc":1.0,"function":"add_numbers","data":[1]}`},
		{name: "nil-data", given: echorpc.NewRequest("x", nil), expectBody: `{"weerpc":1.1,"function":"x","data":null}`},
		{name: "escaped-name", given: echorpc.NewRequest(`a"<b>`, 0), expectBody: `{"weerpc":1.1,"function":"a\"\u003cb\u003e","data":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.given)
			require.NoError(t, err)
			assert.Equal(t, tt.expectBody, string(b))
		})
	}
}

func TestClientCall(t *testing.T) {
	e := newTestServer(t, echorpc.Config{Prefix: "/rpc"}, nil)
	e.POST("/html", func(c echo.Context) error { return c.HTML(http.StatusBadGateway, "<h1>Bad gateway</h1>") })
	e.POST("/not-envelope", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]int{"x": 1}) })
	srv := httptest.NewServer(e)
	defer srv.Close()
	ctx := context.Background()

	t.Run("success-1.1", func(t *testing.T) {
		var sum float64
		require.NoError(t, echorpc.NewClient(srv.URL+"/rpc").Call(ctx, "add_numbers", []int{1, 2, 3}, &sum))
		assert.Equal(t, 6.0, sum)
	})
	t.Run("success-1.0", func(t *testing.T) {
		var sum int
		c := &echorpc.Client{Endpoint: srv.URL + "/rpc", Version: echorpc.Version10}
		require.NoError(t, c.Call(ctx, "add_numbers", []int{4, 5}, &sum))
		assert.Equal(t, 9, sum)
	})
	t.Run("nil-out", func(t *testing.T) {
		require.NoError(t, echorpc.NewClient(srv.URL+"/rpc").Call(ctx, "add_numbers", []int{1}, nil))
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
		{name: "400-invalid-data", whenEndpoint: "/rpc", whenFunction: "add_numbers", whenData: "abc",
			expectError: &echorpc.Error{Status: 400, Message: "Invalid data: string cannot be decoded into []float64."}},
		{name: "500-internal", whenEndpoint: "/rpc", whenFunction: "boom",
			expectError: &echorpc.Error{Status: 500, Message: "Internal error."}},
		{name: "502-html", whenEndpoint: "/html", whenFunction: "x",
			expectError: &echorpc.Error{Status: 502, Message: "The reply is not a weeRPC envelope (HTTP 502, text/html; charset=UTF-8)."}},
		{name: "200-not-envelope", whenEndpoint: "/not-envelope", whenFunction: "x",
			expectError: &echorpc.Error{Status: 200, Message: "The reply is not a weeRPC envelope (HTTP 200, application/json)."}},
	}
	for _, tt := range errorTests {
		t.Run(tt.name, func(t *testing.T) {
			err := echorpc.NewClient(srv.URL+tt.whenEndpoint).Call(ctx, tt.whenFunction, tt.whenData, nil)
			var got *echorpc.Error
			require.True(t, errors.As(err, &got), "%v", err)
			assert.Equal(t, tt.expectError, got)
		})
	}

	t.Run("network-error", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		err := echorpc.NewClient(dead.URL+"/rpc").Call(ctx, "x", nil, nil)
		require.Error(t, err)
		var e *echorpc.Error
		assert.False(t, errors.As(err, &e), "a transport failure is not an envelope error")
	})
}

// The client keeps a session across calls when its HTTP client has a jar.
func TestClientSessionWithJar(t *testing.T) {
	e := echo.New()
	e.Use(session.Middleware(sessions.NewCookieStore(hashKey)))
	echorpc.New(e.Group("/rpc/auth/login"), echorpc.Config{}).Functions(echorpc.Funcs{
		"login": func(c echo.Context, data json.RawMessage) echorpc.Response {
			s, _ := session.Get("session", c)
			s.Values["logged_in"] = true
			if err := s.Save(c.Request(), c.Response()); err != nil {
				return echorpc.Fail(err.Error(), nil)
			}
			return echorpc.Success(nil, "logged in")
		},
	})
	echorpc.New(e.Group("/rpc/auth"), echorpc.Config{
		SessionAuth: []echorpc.SessionKey{echorpc.SessionKeyIn("logged_in", true)},
		Functions:   echorpc.Funcs{"whoami": func(c echo.Context, data json.RawMessage) echorpc.Response { return echorpc.Success("you", "") }},
	})
	srv := httptest.NewServer(e)
	defer srv.Close()

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	auth := &echorpc.Client{Endpoint: srv.URL + "/rpc/auth", HTTPClient: &http.Client{Jar: jar}}
	loginClient := &echorpc.Client{Endpoint: srv.URL + "/rpc/auth/login", HTTPClient: auth.HTTPClient}
	ctx := context.Background()

	var e401 *echorpc.Error
	require.ErrorAs(t, auth.Call(ctx, "whoami", nil, nil), &e401)
	assert.Equal(t, http.StatusUnauthorized, e401.Status)

	require.NoError(t, loginClient.Call(ctx, "login", nil, nil))
	var who string
	require.NoError(t, auth.Call(ctx, "whoami", nil, &who))
	assert.Equal(t, "you", who)
}

// The client speaks to Flask-RPC servers too: Flask-RPC 1.1 answers with
// the key "weerpc" but the version 1.0, and 1.0 servers with "wrpc".
func TestClientFlaskRPCReplies(t *testing.T) {
	tests := []struct {
		name       string
		givenReply string
	}{
		{name: "flask-1.1-wrong-version", givenReply: `{"weerpc": 1.0, "ok": true, "message": "Function 'add_numbers' executed successfully", "data": 6}`},
		{name: "flask-1.0", givenReply: `{"wrpc": 1.0, "ok": true, "message": "Function 'add_numbers' executed successfully", "data": 6}`},
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
			require.NoError(t, echorpc.NewClient(srv.URL).Call(context.Background(), "add_numbers", []int{1, 2, 3}, &sum))
			assert.Equal(t, 6, sum)
			assert.Equal(t, map[string]any{"weerpc": 1.1, "function": "add_numbers", "data": []any{1.0, 2.0, 3.0}}, got)
		})
	}
}

// Retries: an idempotent call is retried on 503 until it succeeds; a call
// not known to be idempotent is sent once, whatever happens.
func TestClientRetries(t *testing.T) {
	attempts := map[string]int{}
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	flaky := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Method != http.MethodPost {
				return next(c)
			}
			var body struct{ Function string }
			raw, _ := readAll(c)
			_ = json.Unmarshal(raw, &body)
			attempts[body.Function]++
			if attempts[body.Function] < 3 {
				return c.String(http.StatusServiceUnavailable, "try later")
			}
			c.Request().Body = ioNopCloser(raw)
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

	client := echorpc.NewClient(srv.URL + "/rpc")
	client.Retry = &echorpc.Retry{Attempts: 5, Base: time.Millisecond, Max: 5 * time.Millisecond}
	require.NoError(t, client.LoadManifest(context.Background()))
	assert.Equal(t, map[string]bool{"read": true}, client.Idempotent)

	var out int
	require.NoError(t, client.Call(context.Background(), "read", 4, &out))
	assert.Equal(t, 4, out)
	assert.Equal(t, 3, attempts["read"])

	err := client.Call(context.Background(), "charge", 4, &out)
	var e503 *echorpc.Error
	require.True(t, errors.As(err, &e503), "%v", err)
	assert.Equal(t, http.StatusServiceUnavailable, e503.Status)
	assert.Equal(t, 1, attempts["charge"], "a non-idempotent call is never sent twice")

	require.NoError(t, client.Call(context.Background(), "charge_again", 4, &out, echorpc.IdempotentCall()))
	assert.Equal(t, 3, attempts["charge_again"], "the caller may declare one call idempotent")

	client.Retry.Attempts = 2
	attempts["read"] = 0
	require.Error(t, client.Call(context.Background(), "read", 4, &out))
	assert.Equal(t, 2, attempts["read"], "attempts are bounded")
}
