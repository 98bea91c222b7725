package echorpc_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
)

// The benchmarks compare one call of a typed add_numbers through the full
// Echo stack with a plain Echo handler that decodes and encodes the same
// JSON by hand. Compare their ns/op and allocs/op:
//
//	go test -run '^$' -bench . -benchmem ./echorpc

const benchBody = `{"weerpc": 1.1, "function": "add_numbers", "data": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}`

func sum(in []float64) float64 {
	s := 0.0
	for _, n := range in {
		s += n
	}
	return s
}

func benchEcho() *echo.Echo {
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	echorpc.New(e, echorpc.Config{Prefix: "/rpc"}).Functions(echorpc.Funcs{
		"add_numbers": echorpc.Func(func(c echo.Context, in []float64) (float64, error) { return sum(in), nil }),
	})

	type plainRequest struct {
		Weerpc   float64   `json:"weerpc"`
		Function string    `json:"function"`
		Data     []float64 `json:"data"`
	}
	type plainReply struct {
		Weerpc  float64 `json:"weerpc"`
		OK      bool    `json:"ok"`
		Message *string `json:"message"`
		Data    any     `json:"data"`
	}
	e.POST("/plain", func(c echo.Context) error {
		var req plainRequest
		if err := json.NewDecoder(c.Request().Body).Decode(&req); err != nil {
			return c.JSON(http.StatusBadRequest, plainReply{Weerpc: 1.1})
		}
		if req.Weerpc != 1.1 || req.Function != "add_numbers" {
			return c.JSON(http.StatusBadRequest, plainReply{Weerpc: 1.1})
		}
		return c.JSON(http.StatusOK, plainReply{Weerpc: 1.1, OK: true, Data: sum(req.Data)})
	})
	return e
}

// nopWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the server, not a recorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

func benchCall(b *testing.B, path string) {
	e := benchEcho()
	check := httptest.NewRecorder()
	e.ServeHTTP(check, newBenchRequest(path))
	if check.Code != http.StatusOK || !strings.Contains(check.Body.String(), `"data":55`) {
		b.Fatalf("%s answered %d %s", path, check.Code, check.Body.String())
	}
	b.ReportAllocs()
	b.ResetTimer()
	w := &nopWriter{h: http.Header{}}
	for i := 0; i < b.N; i++ {
		clear(w.h)
		e.ServeHTTP(w, newBenchRequest(path))
	}
}

func newBenchRequest(path string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(benchBody))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// BenchmarkCall is one typed call through echorpc.
func BenchmarkCall(b *testing.B) { benchCall(b, "/rpc") }

// BenchmarkPlainEcho is the same work in a hand-written Echo handler.
func BenchmarkPlainEcho(b *testing.B) { benchCall(b, "/plain") }

// BenchmarkRatio runs the two paths in turn in one loop, so that both see
// the same machine, and reports echorpc's time as a multiple of the plain
// handler's ("ratio") with each one's ns/call and allocs/call.
func BenchmarkRatio(b *testing.B) {
	e := benchEcho()
	w := &nopWriter{h: http.Header{}}
	var ours, plain time.Duration
	var oursAllocs, plainAllocs uint64
	var ms runtime.MemStats
	measure := func(path string, d *time.Duration, allocs *uint64) {
		req := newBenchRequest(path)
		clear(w.h)
		runtime.ReadMemStats(&ms)
		before := ms.Mallocs
		start := time.Now()
		e.ServeHTTP(w, req)
		*d += time.Since(start)
		runtime.ReadMemStats(&ms)
		*allocs += ms.Mallocs - before
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		measure("/rpc", &ours, &oursAllocs)
		measure("/plain", &plain, &plainAllocs)
	}
	n := float64(b.N)
	b.ReportMetric(float64(ours.Nanoseconds())/n, "echorpc-ns/call")
	b.ReportMetric(float64(plain.Nanoseconds())/n, "plain-ns/call")
	b.ReportMetric(float64(ours)/float64(plain), "ratio")
	b.ReportMetric(float64(oursAllocs)/n, "echorpc-allocs/call")
	b.ReportMetric(float64(plainAllocs)/n, "plain-allocs/call")
}

// BenchmarkCallParallel is the load check: sustained parallel calls on all
// cores. Its allocs/op and ns/op should match BenchmarkCall's per core.
func BenchmarkCallParallel(b *testing.B) {
	e := benchEcho()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &nopWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			e.ServeHTTP(w, newBenchRequest("/rpc"))
		}
	})
}

// BenchmarkBatch compares ten calls sent one by one with the same ten calls
// in one batch, through a real HTTP server on loopback; it reports the cost
// per call of each.
func BenchmarkBatch(b *testing.B) {
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	echorpc.New(e, echorpc.Config{Prefix: "/rpc", MaxBatch: 10}).Functions(echorpc.Funcs{
		"add_numbers": echorpc.Func(func(c echo.Context, in []float64) (float64, error) { return sum(in), nil }),
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	client := srv.Client()
	send := func(body string) {
		res, err := client.Post(srv.URL+"/rpc", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
	batch := "[" + strings.TrimSuffix(strings.Repeat(benchBody+",", 10), ",") + "]"
	b.Run("10-single-calls", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			for j := 0; j < 10; j++ {
				send(benchBody)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*10), "ns/call")
	})
	b.Run("1-batch-of-10", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			send(batch)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*10), "ns/call")
	})
}
