package echorpc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInterceptorOrder(t *testing.T) {
	var trace []string
	tag := func(name string) echorpc.Interceptor {
		return func(next echorpc.CallFunc) echorpc.CallFunc {
			return func(c echo.Context, call echorpc.Call) echorpc.Result {
				trace = append(trace, name+">"+call.Function+":"+string(call.Data))
				res := next(c, call)
				trace = append(trace, "<"+name+":"+res.Class())
				return res
			}
		}
	}
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc", Interceptors: []echorpc.Interceptor{tag("outer"), tag("inner")}})
	rpc.Functions(testFuncs(nil))
	rpc.Functions(echorpc.Funcs{"scoped": echorpc.Func(func(c echo.Context, in int) (int, error) {
		trace = append(trace, "handler")
		return in, nil
	})}, echorpc.WithInterceptors(tag("fn")))

	tests := []struct {
		name        string
		whenBody    string
		expectTrace []string
	}{
		{name: "scoped", whenBody: `{"weerpc":1.1,"function":"scoped","data":7}`,
			expectTrace: []string{"outer>scoped:7", "inner>scoped:7", "fn>scoped:7", "handler", "<fn:ok", "<inner:ok", "<outer:ok"}},
		{name: "instance-only", whenBody: `{"weerpc":1.1,"function":"fail"}`,
			expectTrace: []string{"outer>fail:null", "inner>fail:null", "<inner:failed", "<outer:failed"}},
		{name: "panic-seen-as-internal", whenBody: `{"weerpc":1.1,"function":"panic"}`,
			expectTrace: []string{"outer>panic:null", "inner>panic:null", "<inner:internal", "<outer:internal"}},
		{name: "decode-failure-seen-as-invalid", whenBody: `{"weerpc":1.1,"function":"add_numbers","data":"x"}`,
			expectTrace: []string{`outer>add_numbers:"x"`, `inner>add_numbers:"x"`, "<inner:invalid", "<outer:invalid"}},
		{name: "deadline", whenBody: `{"weerpc":1.1,"function":"deadline"}`,
			expectTrace: []string{"outer>deadline:null", "inner>deadline:null", "<inner:deadline", "<outer:deadline"}},
		{name: "refusal-of-unknown-function", whenBody: `{"weerpc":1.1,"function":"nope"}`,
			expectTrace: []string{"outer>:", "inner>:", "<inner:not_found", "<outer:not_found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trace = nil
			post(e, "/rpc", "application/json", tt.whenBody)
			assert.Equal(t, tt.expectTrace, trace)
		})
	}
}

// An interceptor can answer for the function, and change its result.
func TestInterceptorShortCircuit(t *testing.T) {
	deny := func(next echorpc.CallFunc) echorpc.CallFunc {
		return func(c echo.Context, call echorpc.Call) echorpc.Result {
			if strings.HasPrefix(call.Function, "admin_") {
				return echorpc.Result{Response: echorpc.Fail("Admins only.", nil), Status: http.StatusForbidden}
			}
			return next(c, call)
		}
	}
	called := false
	e := echo.New()
	echorpc.New(e, echorpc.Config{Prefix: "/rpc", Interceptors: []echorpc.Interceptor{deny}}).Functions(echorpc.Funcs{
		"admin_reset": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response {
			called = true
			return echorpc.Success("", nil)
		}),
	})
	rec := post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"admin_reset"}`)
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.Equal(t, `{"weerpc":1.1,"ok":false,"message":"Admins only.","data":null}`, rec.Body.String())
	assert.False(t, called)
}

// The function's name is on the Echo context for the request logger.
func TestFunctionNameOnContext(t *testing.T) {
	var logged string
	e := echo.New()
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			logged, _ = c.Get(echorpc.FunctionKey).(string)
			return err
		}
	})
	echorpc.New(e, echorpc.Config{Prefix: "/rpc"}).Functions(testFuncs(nil))
	post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"add_numbers","data":[1]}`)
	assert.Equal(t, "add_numbers", logged)
}

func TestDeadlineHeader(t *testing.T) {
	var seen time.Duration
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	wait := echorpc.Func(func(c echo.Context, ms int) (int, error) {
		ctx := c.Request().Context()
		if d, ok := ctx.Deadline(); ok {
			seen = time.Until(d)
		} else {
			seen = -1
		}
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
			return ms, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	echorpc.New(e, echorpc.Config{Prefix: "/rpc", MaxCallerTimeout: 2 * time.Second}).
		Functions(echorpc.Funcs{"wait": wait}).
		Functions(echorpc.Funcs{"short": wait}, echorpc.WithTimeout(100*time.Millisecond))

	tests := []struct {
		name         string
		whenFunction string
		whenHeader   string
		whenMillis   int
		expectStatus int
		expectMin    time.Duration
		expectMax    time.Duration
	}{
		{name: "200-no-header-no-deadline", whenFunction: "wait", whenMillis: 1, expectStatus: 200, expectMin: -1, expectMax: -1},
		{name: "200-header-sets-deadline", whenFunction: "wait", whenHeader: "1500", whenMillis: 1, expectStatus: 200, expectMin: time.Second, expectMax: 1500 * time.Millisecond},
		{name: "200-header-clamped-to-max", whenFunction: "wait", whenHeader: "60000", whenMillis: 1, expectStatus: 200, expectMin: time.Second, expectMax: 2 * time.Second},
		{name: "200-header-cannot-extend-function-timeout", whenFunction: "short", whenHeader: "60000", whenMillis: 1, expectStatus: 200, expectMin: 0, expectMax: 100 * time.Millisecond},
		{name: "504-header-deadline-passes", whenFunction: "wait", whenHeader: "30", whenMillis: 5000, expectStatus: 504, expectMin: 0, expectMax: 30 * time.Millisecond},
		{name: "400-bad-header", whenFunction: "wait", whenHeader: "soon", whenMillis: 1, expectStatus: 400},
		{name: "400-zero-header", whenFunction: "wait", whenHeader: "0", whenMillis: 1, expectStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen = 0
			req := httptest.NewRequest(http.MethodPost, "/rpc", strings.NewReader(`{"weerpc":1.1,"function":"`+tt.whenFunction+`","data":`+itoa(tt.whenMillis)+`}`))
			req.Header.Set("Content-Type", "application/json")
			if tt.whenHeader != "" {
				req.Header.Set("Wrpc-Timeout-Ms", tt.whenHeader)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			require.Equal(t, tt.expectStatus, rec.Code, rec.Body.String())
			if tt.expectStatus == 400 {
				assert.Equal(t, `{"weerpc":1.1,"ok":false,"message":"Invalid Wrpc-Timeout-Ms header.","data":null}`, rec.Body.String())
				return
			}
			if tt.expectMin < 0 {
				assert.Equal(t, time.Duration(-1), seen)
				return
			}
			assert.GreaterOrEqual(t, seen, tt.expectMin)
			assert.LessOrEqual(t, seen, tt.expectMax)
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// The Go client sends its context's deadline, and the server's handler
// sees it.
func TestClientSendsDeadline(t *testing.T) {
	var seen time.Duration
	e := echo.New()
	echorpc.New(e, echorpc.Config{Prefix: "/rpc"}).Functions(echorpc.Funcs{
		"deadline": echorpc.Func(func(c echo.Context, _ any) (bool, error) {
			d, ok := c.Request().Context().Deadline()
			seen = time.Until(d)
			return ok, nil
		}),
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	client := (&echorpc.Client{Endpoint: srv.URL + "/rpc"})

	var had bool
	require.NoError(t, client.Call(context.Background(), "deadline", nil, &had))
	assert.False(t, had, "no deadline without one on the context")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	require.NoError(t, client.Call(ctx, "deadline", nil, &had))
	assert.True(t, had)
	assert.Greater(t, seen, 2*time.Second)
	assert.LessOrEqual(t, seen, 3*time.Second)
}
