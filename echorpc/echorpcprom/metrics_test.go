package echorpcprom_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/echorpcprom"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMetricsAfterRealCalls(t *testing.T) {
	registry := prometheus.NewRegistry()
	m := echorpcprom.New(echorpcprom.Config{Registerer: registry})
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	cfg := echorpc.Config{Interceptors: []echorpc.Interceptor{m.Interceptor()}}
	echorpc.New(e.Group("/rpc/tester"), cfg).Functions(echorpc.Funcs{
		"add": echorpc.Func(func(c echo.Context, in []int) (int, error) { return len(in), nil }),
		"fail": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response {
			return echorpc.Fail("no", nil)
		}),
		"boom": echorpc.Func(func(c echo.Context, in any) (any, error) { return nil, errors.New("x") }),
	})
	guarded := cfg
	guarded.HostAuth = []string{"127.0.0.1:5000"}
	echorpc.New(e.Group("/rpc/guarded"), guarded).Functions(echorpc.Funcs{
		"add": echorpc.Func(func(c echo.Context, in []int) (int, error) { return len(in), nil }),
	})
	echorpc.New(e.Group("/rpc/other"), cfg).Functions(echorpc.Funcs{
		"add": echorpc.Func(func(c echo.Context, in []int) (int, error) { return len(in), nil }),
	})
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(registry, promhttp.HandlerOpts{})))
	srv := httptest.NewServer(e)
	defer srv.Close()

	calls := []struct{ path, body string }{
		{"/rpc/tester", `{"weerpc":1.1,"function":"add","data":[1]}`},
		{"/rpc/tester", `{"weerpc":1.1,"function":"add","data":[1,2]}`},
		{"/rpc/tester", `{"weerpc":1.1,"function":"add","data":"not a list"}`},
		{"/rpc/tester", `{"weerpc":1.1,"function":"fail"}`},
		{"/rpc/tester", `{"weerpc":1.1,"function":"boom"}`},
		{"/rpc/tester", `{"weerpc":1.1,"function":"unknown"}`}, // never reaches a function
		{"/rpc/tester", `{"weerpc":1.1,"function":"unknown2"}`},
		{"/rpc/tester", `{"weerpc":2,"function":"add"}`},
		{"/rpc/guarded", `{"weerpc":1.1,"function":"add"}`},
		{"/rpc/other", `{"weerpc":1.1,"function":"add","data":[]}`},
	}
	for _, c := range calls {
		res, err := http.Post(srv.URL+c.path, "application/json", strings.NewReader(c.body))
		require.NoError(t, err)
		res.Body.Close()
	}

	res, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	scraped, _ := io.ReadAll(res.Body)
	text := string(scraped)
	for _, line := range []string{
		`wrpc_calls_total{function="add",instance="/rpc/tester"} 3`,
		`wrpc_calls_total{function="fail",instance="/rpc/tester"} 1`,
		`wrpc_calls_total{function="boom",instance="/rpc/tester"} 1`,
		`wrpc_calls_total{function="add",instance="/rpc/other"} 1`,
		`wrpc_call_failures_total{class="invalid",function="add",instance="/rpc/tester"} 1`,
		`wrpc_call_failures_total{class="failed",function="fail",instance="/rpc/tester"} 1`,
		`wrpc_call_failures_total{class="internal",function="boom",instance="/rpc/tester"} 1`,
		`wrpc_call_duration_seconds_count{function="add",instance="/rpc/tester"} 3`,
		`wrpc_call_duration_seconds_count{function="add",instance="/rpc/other"} 1`,
		`wrpc_rejections_total{class="not_found",function="",instance="/rpc/tester"} 2`,
		`wrpc_rejections_total{class="invalid",function="",instance="/rpc/tester"} 1`,
		`wrpc_rejections_total{class="forbidden",function="",instance="/rpc/guarded"} 1`,
	} {
		assert.Contains(t, text, line+"\n")
	}
	assert.NotContains(t, text, `function="unknown"`)
	assert.NotContains(t, text, `wrpc_call_failures_total{class="invalid",function="add",instance="/rpc/other"}`)
	// The collectors are bound on first use: refusals alone make no calls
	// series, and functions that do not stream make no stream series.
	assert.NotContains(t, text, `wrpc_calls_total{function="",`)
	assert.NotContains(t, text, `wrpc_calls_total{function="add",instance="/rpc/guarded"}`)
	assert.NotContains(t, text, `wrpc_streams_open`)
	assert.NotContains(t, text, `wrpc_stream_items_total`)
}

// Streams are counted while open, and their items when they end.
func TestStreamMetrics(t *testing.T) {
	registry := prometheus.NewRegistry()
	m := echorpcprom.New(echorpcprom.Config{Registerer: registry})
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	opened := make(chan struct{})
	release := make(chan struct{})
	echorpc.New(e.Group("/rpc/s"), echorpc.Config{Interceptors: []echorpc.Interceptor{m.Interceptor()}}).Functions(echorpc.Funcs{
		"count": echorpc.Stream(func(c echo.Context, n int, send func(string, int) error) error {
			for i := range n {
				if err := send("", i); err != nil {
					return err
				}
			}
			if n == 1 {
				close(opened)
				<-release
			}
			return nil
		}),
	})
	srv, scrape := serveMetrics(t, e, registry)
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc/s"}
	for _, err := range client.Stream(context.Background(), "count", 3) {
		require.NoError(t, err)
	}
	// The caller has the end event before the interceptor returns: the
	// gauge comes down within moments.
	require.Eventually(t, func() bool {
		return strings.Contains(scrape(), `wrpc_streams_open{function="count",instance="/rpc/s"} 0`+"\n")
	}, 5*time.Second, time.Millisecond)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range client.Stream(context.Background(), "count", 1) {
		}
	}()
	<-opened
	assert.Contains(t, scrape(), `wrpc_streams_open{function="count",instance="/rpc/s"} 1`+"\n")
	close(release)
	<-done
	// The caller has the end event before the interceptor returns: the
	// metrics follow within moments.
	var text string
	assert.Eventually(t, func() bool {
		text = scrape()
		return strings.Contains(text, `wrpc_streams_open{function="count",instance="/rpc/s"} 0`+"\n") &&
			strings.Contains(text, `wrpc_stream_items_total{function="count",instance="/rpc/s"} 4`+"\n")
	}, 2*time.Second, 5*time.Millisecond, "%s", text)
}

// Watch reports an instance's shared stream connections and the streams
// on them apart: three streams of one Client are one connection.
func TestChannelMetrics(t *testing.T) {
	registry := prometheus.NewRegistry()
	m := echorpcprom.New(echorpcprom.Config{Registerer: registry})
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	release := make(chan struct{})
	rpc := echorpc.New(e.Group("/rpc/s"), echorpc.Config{Interceptors: []echorpc.Interceptor{m.Interceptor()}})
	rpc.Functions(echorpc.Funcs{
		"wait": echorpc.Stream(func(c echo.Context, _ any, send func(string, int) error) error {
			if err := send("", 1); err != nil {
				return err
			}
			<-release
			return nil
		}),
	})
	m.Watch(rpc)
	srv, scrape := serveMetrics(t, e, registry)
	assert.Contains(t, scrape(), `wrpc_channels_open{instance="/rpc/s"} 0`+"\n")
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc/s"}
	done := make(chan struct{}, 3)
	for range 3 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range client.Stream(context.Background(), "wait", nil) {
			}
		}()
	}
	var text string
	assert.Eventually(t, func() bool {
		text = scrape()
		return strings.Contains(text, `wrpc_channels_open{instance="/rpc/s"} 1`+"\n") &&
			strings.Contains(text, `wrpc_channel_streams_open{instance="/rpc/s"} 3`+"\n") &&
			strings.Contains(text, `wrpc_streams_open{function="wait",instance="/rpc/s"} 3`+"\n")
	}, 5*time.Second, 5*time.Millisecond, "%s", text)
	close(release)
	for range 3 {
		<-done
	}
	assert.Eventually(t, func() bool {
		text = scrape()
		return strings.Contains(text, `wrpc_channel_streams_open{instance="/rpc/s"} 0`+"\n")
	}, 5*time.Second, 5*time.Millisecond, "%s", text)
}

// serveMetrics serves e, with registry's metrics at /metrics, and returns
// the server and a scrape of its metrics as text.
func serveMetrics(t *testing.T, e *echo.Echo, registry *prometheus.Registry) (*httptest.Server, func() string) {
	t.Helper()
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(registry, promhttp.HandlerOpts{})))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, func() string {
		res, err := http.Get(srv.URL + "/metrics")
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
}
