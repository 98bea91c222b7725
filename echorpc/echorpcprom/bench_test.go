package echorpcprom_test

import (
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
)

// The benchmarks measure the interceptor's cost on echorpc's BenchmarkCall
// (the same typed add_numbers, request and writer), as echorpcotel's do:
// with no metrics, and with the interceptor recording into a registry of
// its own. Compare their ns/op and allocs/op:
//
//	go test -run '^$' -bench . -benchmem ./echorpc/echorpcprom

const benchBody = `{"weerpc": 1.1, "function": "add_numbers", "data": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}`

func benchEcho(metrics bool) *echo.Echo {
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	cfg := echorpc.Config{Prefix: "/rpc"}
	if metrics {
		m := echorpcprom.New(echorpcprom.Config{Registerer: prometheus.NewRegistry()})
		cfg.Interceptors = []echorpc.Interceptor{m.Interceptor()}
	}
	echorpc.New(e, cfg).Functions(echorpc.Funcs{
		"add_numbers": echorpc.Func(func(c echo.Context, in []float64) (float64, error) {
			s := 0.0
			for _, n := range in {
				s += n
			}
			return s, nil
		}),
	})
	return e
}

// nopWriter is a ResponseWriter that keeps nothing.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

func newBenchRequest() *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/rpc", strings.NewReader(benchBody))
	req.Header.Set("Content-Type", "application/json")
	return req
}

func benchCall(b *testing.B, metrics bool) {
	e := benchEcho(metrics)
	check := httptest.NewRecorder()
	e.ServeHTTP(check, newBenchRequest())
	if check.Code != http.StatusOK || !strings.Contains(check.Body.String(), `"data":55`) {
		b.Fatalf("answered %d %s", check.Code, check.Body.String())
	}
	b.ReportAllocs()
	b.ResetTimer()
	w := &nopWriter{h: http.Header{}}
	for i := 0; i < b.N; i++ {
		clear(w.h)
		e.ServeHTTP(w, newBenchRequest())
	}
}

// BenchmarkCallNoMetrics is echorpc's BenchmarkCall: no interceptor.
func BenchmarkCallNoMetrics(b *testing.B) { benchCall(b, false) }

// BenchmarkCallMetrics records every call.
func BenchmarkCallMetrics(b *testing.B) { benchCall(b, true) }

// BenchmarkRatio runs both in turn in one loop, so that they see the same
// machine, and reports each one's ns/call (the server's part only, not
// building the request) and the recorded one's time as a multiple of the
// other's. Its allocs/op are both calls' together.
func BenchmarkRatio(b *testing.B) {
	engines := []*echo.Echo{benchEcho(false), benchEcho(true)}
	var took [2]time.Duration
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, e := range engines {
			req := newBenchRequest()
			clear(w.h)
			start := time.Now()
			e.ServeHTTP(w, req)
			took[j] += time.Since(start)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(took[0].Nanoseconds())/n, "none-ns/call")
	b.ReportMetric(float64(took[1].Nanoseconds())/n, "metrics-ns/call")
	b.ReportMetric(float64(took[1])/float64(took[0]), "ratio")
}

// BenchmarkInterceptor times the interceptor alone, around a function that
// does nothing: what the metrics add to any call.
func BenchmarkInterceptor(b *testing.B) {
	m := echorpcprom.New(echorpcprom.Config{Registerer: prometheus.NewRegistry()})
	c := echo.New().NewContext(newBenchRequest(), httptest.NewRecorder())
	call := m.Interceptor()(func(echo.Context, echorpc.Call) echorpc.Result {
		return echorpc.Result{Response: echorpc.Response{OK: true, Data: 55.0}, Status: http.StatusOK}
	})
	in := echorpc.Call{Instance: "/rpc", Function: "add_numbers", Data: []byte("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		call(c, in)
	}
}
