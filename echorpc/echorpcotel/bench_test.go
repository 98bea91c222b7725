package echorpcotel_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/echorpcotel"
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// The benchmarks measure the interceptor's cost on echorpc's BenchmarkCall
// (the same typed add_numbers, request and writer): with no tracing, with
// every call sampled (batched to an exporter that drops the spans, and the
// histogram aggregated by the SDK), and with none sampled (the histogram
// still recorded). Compare their ns/op and allocs/op:
//
//	go test -run '^$' -bench . -benchmem ./echorpc/echorpcotel

const benchBody = `{"weerpc": 1.1, "function": "add_numbers", "data": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}`

func benchEcho(b *testing.B, sampler sdktrace.Sampler) *echo.Echo {
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	cfg := echorpc.Config{Prefix: "/rpc"}
	if sampler != nil {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		b.Cleanup(func() { _ = tp.Shutdown(b.Context()); _ = mp.Shutdown(b.Context()) })
		tel := echorpcotel.New(echorpcotel.Config{TracerProvider: tp, MeterProvider: mp})
		cfg.Interceptors = []echorpc.Interceptor{tel.Interceptor()}
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

func benchCall(b *testing.B, sampler sdktrace.Sampler) {
	e := benchEcho(b, sampler)
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

// BenchmarkCallNoTracing is echorpc's BenchmarkCall: no interceptor.
func BenchmarkCallNoTracing(b *testing.B) { benchCall(b, nil) }

// BenchmarkCallSampled traces every call.
func BenchmarkCallSampled(b *testing.B) { benchCall(b, sdktrace.AlwaysSample()) }

// BenchmarkCallNotSampled traces no call (a non-recording span is still
// made and put in the context, and the histogram recorded).
func BenchmarkCallNotSampled(b *testing.B) { benchCall(b, sdktrace.NeverSample()) }

// BenchmarkRatio runs the three in turn in one loop, so that they see the
// same machine, and reports each one's ns/call (the server's part only, not
// building the request) and the traced ones' times as multiples of the
// untraced one's. Its allocs/op are the three calls' together; see the
// benchmarks above for each one's.
func BenchmarkRatio(b *testing.B) {
	engines := []*echo.Echo{benchEcho(b, nil), benchEcho(b, sdktrace.AlwaysSample()), benchEcho(b, sdktrace.NeverSample())}
	var took [3]time.Duration
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
	b.ReportMetric(float64(took[1].Nanoseconds())/n, "sampled-ns/call")
	b.ReportMetric(float64(took[2].Nanoseconds())/n, "unsampled-ns/call")
	b.ReportMetric(float64(took[1])/float64(took[0]), "sampled-ratio")
	b.ReportMetric(float64(took[2])/float64(took[0]), "unsampled-ratio")
}

// benchInterceptor times the interceptor alone, around a function that
// does nothing: what tracing adds to any call.
func benchInterceptor(b *testing.B, sampler sdktrace.Sampler) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = tp.Shutdown(b.Context()); _ = mp.Shutdown(b.Context()) })
	tel := echorpcotel.New(echorpcotel.Config{TracerProvider: tp, MeterProvider: mp})
	c := echo.New().NewContext(newBenchRequest(), httptest.NewRecorder())
	call := tel.Interceptor()(func(echo.Context, echorpc.Call) echorpc.Result {
		return echorpc.Result{Response: echorpc.Response{OK: true, Data: 55.0}, Status: http.StatusOK}
	})
	in := echorpc.Call{Instance: "/rpc", Function: "add_numbers", Data: []byte("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		call(c, in)
	}
}

// BenchmarkInterceptorNotSampled is the interceptor alone, no call sampled.
func BenchmarkInterceptorNotSampled(b *testing.B) { benchInterceptor(b, sdktrace.NeverSample()) }

// BenchmarkInterceptorSampled is the interceptor alone, every call sampled.
func BenchmarkInterceptorSampled(b *testing.B) { benchInterceptor(b, sdktrace.AlwaysSample()) }

// The SDK's own floor, what any tracing interceptor pays on this machine
// with these providers: starting and ending a span the sampler drops (it
// still makes the span and the context that carries it), and recording one
// measurement with an attribute set made beforehand (five attributes, as
// rpc.server.duration has). Read the interceptor's benchmarks against them.

// BenchmarkSDKStartNotSampled starts and ends a span that is not sampled.
func BenchmarkSDKStartNotSampled(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	b.Cleanup(func() { _ = tp.Shutdown(b.Context()) })
	tracer := tp.Tracer("bench")
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, span := tracer.Start(ctx, "/rpc/add_numbers", opts...)
		span.End()
	}
}

// BenchmarkSDKRecord records one duration with a prepared attribute set.
func BenchmarkSDKRecord(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(b.Context()) })
	h, err := mp.Meter("bench").Float64Histogram("rpc.server.duration")
	if err != nil {
		b.Fatal(err)
	}
	opts := []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(
		attribute.String("rpc.system", "weerpc"), attribute.String("rpc.service", "/rpc"),
		attribute.String("rpc.method", "add_numbers"), attribute.Int("http.response.status_code", 200),
		attribute.String("weerpc.class", "ok"),
	))}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.Record(ctx, 1.5, opts...)
	}
}
