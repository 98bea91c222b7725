package echorpc_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A batch has one deadline: items not started by then answer 504 without
// running, instead of each item getting the whole timeout again (one item
// at a time here, so that most wait for their turn).
func TestBatchSharesOneDeadline(t *testing.T) {
	var ran atomic.Int32
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	echorpc.New(e, echorpc.Config{Prefix: "/rpc", MaxBatch: 10, BatchConcurrency: 1}).Functions(echorpc.Funcs{
		"slow": echorpc.Func(func(c echo.Context, in any) (any, error) {
			ran.Add(1)
			select {
			case <-time.After(100 * time.Millisecond):
				return "done", nil
			case <-c.Request().Context().Done():
				return nil, c.Request().Context().Err()
			}
		}),
	})
	body := "[" + strings.TrimSuffix(strings.Repeat(`{"weerpc":1.1,"function":"slow"},`, 10), ",") + "]"
	req := httptest.NewRequest(http.MethodPost, "/rpc", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Wrpc-Timeout-Ms", "300")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)

	var items []struct {
		OK     bool   `json:"ok"`
		Status int    `json:"status"`
		Msg    string `json:"message"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &items))
	require.Len(t, items, 10)
	assert.LessOrEqual(t, int(ran.Load()), 4, "items after the deadline must not run")
	late := 0
	for _, it := range items {
		if it.Status == http.StatusGatewayTimeout {
			late++
			assert.Equal(t, "Deadline exceeded.", it.Msg)
		}
	}
	assert.GreaterOrEqual(t, late, 6)
}

// Messages that repeat what the caller sent are cut to a fixed length.
func TestEchoedTextIsCapped(t *testing.T) {
	e := newTestServer(t, echorpc.Config{Prefix: "/rpc"}, nil)
	key := strings.Repeat("k", 500_000)
	rec := post(e, "/rpc", "application/json", `{"`+key+`":1,"`+key+`":2}`)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Less(t, rec.Body.Len(), 300)
	assert.Contains(t, rec.Body.String(), `"message":"Request repeats the key \"kkkk`)
	assert.Contains(t, rec.Body.String(), `…\"."`)
}

// Over MaxInFlight, a request is answered 503 at once, without running.
func TestLoadShedding(t *testing.T) {
	release := make(chan struct{})
	var started, ran atomic.Int32
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	echorpc.New(e, echorpc.Config{Prefix: "/rpc", MaxInFlight: 2}).Functions(echorpc.Funcs{
		"wait": echorpc.Func(func(c echo.Context, in any) (bool, error) {
			ran.Add(1)
			started.Add(1)
			<-release
			return true, nil
		}),
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	call := func() *http.Response {
		res, err := http.Post(srv.URL+"/rpc", "application/json", strings.NewReader(`{"weerpc":1.1,"function":"wait"}`))
		require.NoError(t, err)
		return res
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			res := call()
			defer res.Body.Close()
			assert.Equal(t, http.StatusOK, res.StatusCode)
		})
	}
	require.Eventually(t, func() bool { return started.Load() == 2 }, 5*time.Second, time.Millisecond)

	res := call()
	defer res.Body.Close()
	var env map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&env))
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	assert.Equal(t, "1", res.Header.Get("Retry-After"))
	assert.Equal(t, map[string]any{"weerpc": 1.1, "ok": false, "message": "Server is busy: try again later.", "data": nil}, env)
	assert.Equal(t, int32(2), ran.Load(), "the shed call did not run")

	close(release)
	wg.Wait()
	after := call() // the slots are free again
	after.Body.Close()
	assert.Equal(t, http.StatusOK, after.StatusCode)
}

// Interceptors see every refusal with its class, status and function name
// when known.
func TestRefusalsReachInterceptors(t *testing.T) {
	type seen struct {
		Function string
		Rejected bool
		Class    string
		Status   int
	}
	var (
		mu  sync.Mutex // a batch's items run at once
		got []seen
	)
	record := func(next echorpc.CallFunc) echorpc.CallFunc {
		return func(c echo.Context, call echorpc.Call) echorpc.Result {
			res := next(c, call)
			mu.Lock()
			got = append(got, seen{call.Function, call.Rejected, res.Class(), res.Status})
			mu.Unlock()
			return res
		}
	}
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	e.Use(session.Middleware(sessions.NewCookieStore(hashKey)))
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc", BodyLimit: 200, MaxBatch: 2, Interceptors: []echorpc.Interceptor{record}})
	rpc.Functions(testFuncs(nil))
	rpc.Functions(echorpc.Funcs{"secret": testFuncs(nil)["echo"]}, echorpc.WithSessionAuth("logged_in", true))
	rpc.Functions(echorpc.Funcs{"local": testFuncs(nil)["echo"]}, echorpc.WithHostAuth("127.0.0.1:5000"))
	echorpc.New(e, echorpc.Config{Prefix: "/guarded", SessionAuth: map[string][]any{"logged_in": {true}}, Interceptors: []echorpc.Interceptor{record}}).
		Functions(testFuncs(nil))

	tests := []struct {
		name       string
		whenPath   string
		whenType   string
		whenOrigin string
		whenBody   string
		expectSeen []seen
	}{
		{name: "403-cross-origin", whenOrigin: "https://evil.example", whenBody: `{"weerpc":1.1,"function":"echo"}`,
			expectSeen: []seen{{"", true, "forbidden", 403}}},
		{name: "401-instance-session", whenPath: "/guarded", whenBody: `{"weerpc":1.1,"function":"echo"}`,
			expectSeen: []seen{{"", true, "unauthorized", 401}}},
		{name: "401-function-session", whenBody: `{"weerpc":1.1,"function":"secret"}`,
			expectSeen: []seen{{"secret", true, "unauthorized", 401}}},
		{name: "403-function-host", whenBody: `{"weerpc":1.1,"function":"local"}`,
			expectSeen: []seen{{"local", true, "forbidden", 403}}},
		{name: "415-content-type", whenType: "text/plain", whenBody: `{"weerpc":1.1,"function":"echo"}`,
			expectSeen: []seen{{"", true, "unsupported", 415}}},
		{name: "413-body", whenBody: `{"weerpc":1.1,"function":"echo","data":"` + strings.Repeat("x", 300) + `"}`,
			expectSeen: []seen{{"", true, "too_large", 413}}},
		{name: "413-batch", whenBody: `[{"weerpc":1.1,"function":"echo"},{"weerpc":1.1,"function":"echo"},{"weerpc":1.1,"function":"echo"}]`,
			expectSeen: []seen{{"", true, "too_large", 413}}},
		{name: "400-parse", whenBody: `{"weerpc":1.1,`,
			expectSeen: []seen{{"", true, "invalid", 400}}},
		{name: "400-version", whenBody: `{"weerpc":2,"function":"echo"}`,
			expectSeen: []seen{{"", true, "invalid", 400}}},
		{name: "404-function", whenBody: `{"weerpc":1.1,"function":"nope"}`,
			expectSeen: []seen{{"", true, "not_found", 404}}},
		{name: "200-call-not-rejected", whenBody: `{"weerpc":1.1,"function":"echo"}`,
			expectSeen: []seen{{"echo", false, "ok", 200}}},
		{name: "batch-items", whenBody: `[{"weerpc":1.1,"function":"echo"},{"weerpc":1.1,"function":"secret"}]`,
			expectSeen: []seen{{"echo", false, "ok", 200}, {"secret", true, "unauthorized", 401}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			path := "/rpc"
			if tt.whenPath != "" {
				path = tt.whenPath
			}
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(tt.whenBody))
			ct := "application/json"
			if tt.whenType != "" {
				ct = tt.whenType
			}
			req.Header.Set("Content-Type", ct)
			if tt.whenOrigin != "" {
				req.Header.Set("Origin", tt.whenOrigin)
				req.Header.Set("Sec-Fetch-Site", "cross-site")
			}
			e.ServeHTTP(httptest.NewRecorder(), req)
			assert.ElementsMatch(t, tt.expectSeen, got, "in any order: a batch's items run at once")
		})
	}
}
