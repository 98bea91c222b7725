package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
)

func TestTracingExporters(t *testing.T) {
	tests := []struct {
		name        string
		givenEnv    map[string]string
		expect      []string
		expectError string
	}{
		{name: "nothing-set-is-off"},
		{name: "console", givenEnv: map[string]string{"OTEL_TRACES_EXPORTER": "console"}, expect: []string{"console"}},
		{name: "endpoint", givenEnv: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, expect: []string{"otlp"}},
		{name: "traces-endpoint", givenEnv: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, expect: []string{"otlp"}},
		{name: "explicit-otlp", givenEnv: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, expect: []string{"otlp"}},
		{name: "both", givenEnv: map[string]string{"OTEL_TRACES_EXPORTER": "console, otlp,console"}, expect: []string{"console", "otlp"}},
		{name: "console-wins-over-endpoint", givenEnv: map[string]string{"OTEL_TRACES_EXPORTER": "console", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, expect: []string{"console"}},
		{name: "none", givenEnv: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}},
		{name: "sdk-disabled", givenEnv: map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"}},
		{name: "unknown-exporter", givenEnv: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, expectError: `"zipkin"`},
		{name: "grpc-protocol", givenEnv: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, expectError: "http/protobuf only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tracingExporters(func(k string) string { return tt.givenEnv[k] })
			if tt.expectError != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.expectError)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.expect, got)
		})
	}
}

func TestTracingOffReturnsNoInterceptor(t *testing.T) {
	interceptor, shutdown, err := setupTracingFrom(context.Background(), func(string) string { return "" }, io.Discard)
	require.NoError(t, err)
	assert.Nil(t, interceptor)
	assert.NoError(t, shutdown(context.Background()))
}

// keepOtelGlobals restores the global tracer provider and propagator that
// setupTracing replaces.
func keepOtelGlobals(t *testing.T) {
	tp, prop := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() {
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(prop)
	})
}

// tracedEcho serves one instance with one function through interceptor
// and calls it once, with a caller's traceparent.
func tracedEcho(t *testing.T, interceptor echorpc.Interceptor) {
	t.Helper()
	require.NotNil(t, interceptor)
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	echorpc.New(e.Group("/rpc/echo"), echorpc.Config{Interceptors: []echorpc.Interceptor{interceptor}}).Functions(echorpc.Funcs{
		"echo": echorpc.Func(func(c echo.Context, in string) (string, error) { return in, nil }),
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/rpc/echo", strings.NewReader(`{"weerpc":1.1,"function":"echo","data":"hi"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
}

func TestTracingConsolePrintsTheCallsSpan(t *testing.T) {
	keepOtelGlobals(t)
	env := map[string]string{"OTEL_TRACES_EXPORTER": "console"}
	var out bytes.Buffer
	interceptor, shutdown, err := setupTracingFrom(context.Background(), func(k string) string { return env[k] }, &out)
	require.NoError(t, err)
	tracedEcho(t, interceptor)
	require.NoError(t, shutdown(context.Background()))

	printed := out.String()
	lines := strings.Split(strings.TrimSuffix(printed, "\n"), "\n")
	require.Len(t, lines, 2, "one line for the resource, one for the span:\n%s", printed)
	assert.Contains(t, lines[0], "service.name=wrpc-example")
	span := lines[1]
	assert.True(t, strings.HasPrefix(span, "span /rpc/echo/echo server "), span)
	for _, want := range []string{" ok ", "trace=4bf92f3577b34da6a3ce929d0e0e4736", "parent=00f067aa0ba902b7(remote)", "rpc.system=weerpc", "rpc.method=echo", "weerpc.class=ok"} {
		assert.Contains(t, span, want)
	}
	assert.NotContains(t, printed, "hi", "data is not recorded")
}

// A failing call's span says so on its one line, and its events (the
// recorded exception) follow, one line each.
func TestTracingConsoleIsCompactForFailures(t *testing.T) {
	keepOtelGlobals(t)
	env := map[string]string{"OTEL_TRACES_EXPORTER": "console"}
	var out bytes.Buffer
	interceptor, shutdown, err := setupTracingFrom(context.Background(), func(k string) string { return env[k] }, &out)
	require.NoError(t, err)
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	echorpc.New(e.Group("/rpc/echo"), echorpc.Config{Interceptors: []echorpc.Interceptor{interceptor}}).Functions(echorpc.Funcs{
		"boom": echorpc.Func(func(c echo.Context, in string) (string, error) { return "", errors.New("disk on fire") }),
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	for range 3 {
		res, err := http.Post(srv.URL+"/rpc/echo", "application/json", strings.NewReader(`{"weerpc":1.1,"function":"boom","data":"hi"}`))
		require.NoError(t, err)
		res.Body.Close()
	}
	require.NoError(t, shutdown(context.Background()))

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	assert.LessOrEqual(t, len(lines), 1+3*2, "at most a line for the span and one for its event, per call:\n%s", out.String())
	spans := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "span ") {
			spans++
			assert.Contains(t, l, " error: internal ")
			assert.Contains(t, l, "http.response.status_code=500")
		}
	}
	assert.Equal(t, 3, spans)
}

func TestTracingOTLPSendsToTheEndpoint(t *testing.T) {
	keepOtelGlobals(t)
	var mu sync.Mutex
	var got []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		mu.Unlock()
		assert.Contains(t, string(body), "/rpc/echo/echo")
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL) // the exporter reads the real environment
	t.Setenv("OTEL_TRACES_EXPORTER", "")

	interceptor, shutdown, err := setupTracing(context.Background())
	require.NoError(t, err)
	tracedEcho(t, interceptor)
	require.NoError(t, shutdown(context.Background()))

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"POST /v1/traces application/x-protobuf"}, got)
}
