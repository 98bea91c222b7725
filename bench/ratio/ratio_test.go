// Package ratio compares, in process, the time of one call through
// different servers, robustly on a busy machine: the servers take turns
// call by call, each call is timed, and the medians are compared, so a
// call that another process preempted moves the sum (as in echorpc's
// BenchmarkRatio) but not the median.
//
//	go test -run '^$' -bench . ./bench/ratio
package ratio

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/bench/internal/endpoints"
	"github.com/echo-rpc/wrpc/echorpc/echorpcotel"
	"github.com/echo-rpc/wrpc/echorpc/echorpcprom"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// nopWriter is a ResponseWriter that keeps nothing.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

func newRequest(path string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(endpoints.Body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// side is one server and path to time.
type side struct {
	name string
	e    *echo.Echo
	path string
}

// compare times b.N calls of each side, in turn, and reports each side's
// median ns per call and its median as a multiple of the first side's.
func compare(b *testing.B, sides ...side) {
	for _, s := range sides {
		check := httptest.NewRecorder()
		s.e.ServeHTTP(check, newRequest(s.path))
		if check.Code != http.StatusOK || !strings.Contains(check.Body.String(), endpoints.Sum) {
			b.Fatalf("%s answered %d %s", s.name, check.Code, check.Body.String())
		}
	}
	took := make([][]time.Duration, len(sides))
	for i := range took {
		took[i] = make([]time.Duration, 0, b.N)
	}
	w := &nopWriter{h: http.Header{}}
	b.ResetTimer()
	for range b.N {
		for i, s := range sides {
			req := newRequest(s.path)
			clear(w.h)
			start := time.Now()
			s.e.ServeHTTP(w, req)
			took[i] = append(took[i], time.Since(start))
		}
	}
	b.StopTimer()
	medians := make([]float64, len(sides))
	for i := range sides {
		slices.Sort(took[i])
		medians[i] = float64(took[i][len(took[i])/2].Nanoseconds())
		b.ReportMetric(medians[i], sides[i].name+"-ns/call")
	}
	for i := 1; i < len(sides); i++ {
		b.ReportMetric(medians[i]/medians[0], sides[i].name+"/"+sides[0].name)
	}
}

// BenchmarkTypedVsPlain is echorpc's BenchmarkRatio by medians: a typed
// call next to the plain Echo handler (issue 21's target: ≤ 0.75), and the
// static handler that does no JSON work.
func BenchmarkTypedVsPlain(b *testing.B) {
	e := endpoints.New()
	compare(b, side{"plain", e, "/plain"}, side{"typed", e, "/rpc"}, side{"static", e, "/static"})
}

func traced(b *testing.B, sampler sdktrace.Sampler) *echo.Echo {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = tp.Shutdown(b.Context()); _ = mp.Shutdown(b.Context()) })
	return endpoints.New(echorpcotel.New(echorpcotel.Config{TracerProvider: tp, MeterProvider: mp}).Interceptor())
}

// BenchmarkTracing is echorpcotel's BenchmarkRatio by medians: no tracing,
// no call sampled (targets ≤ 1.05), every call sampled (≤ 1.5).
func BenchmarkTracing(b *testing.B) {
	compare(b,
		side{"none", endpoints.New(), "/rpc"},
		side{"unsampled", traced(b, sdktrace.NeverSample()), "/rpc"},
		side{"sampled", traced(b, sdktrace.AlwaysSample()), "/rpc"},
	)
}

// BenchmarkMetrics is echorpcprom's BenchmarkRatio by medians (target ≤ 1.05).
func BenchmarkMetrics(b *testing.B) {
	m := echorpcprom.New(echorpcprom.Config{Registerer: prometheus.NewRegistry()})
	compare(b,
		side{"none", endpoints.New(), "/rpc"},
		side{"metrics", endpoints.New(m.Interceptor()), "/rpc"},
	)
}
