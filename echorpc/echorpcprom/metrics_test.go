package echorpcprom_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
}
