package echorpc_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
)

// BenchmarkLoadShedding drives 4x MaxInFlight concurrent callers at a
// function that sleeps 10 ms, over loopback HTTP, and reports the admitted
// calls' latency (p50, p99) against an unloaded run at the bound, the share
// of calls shed (503 with Retry-After), and the server's heap before and
// after. Every reply must be an envelope. Callers either retry at once
// ("hammer") or wait out Retry-After as both clients do ("clients").
//
//	go test -run '^$' -bench LoadShedding -benchtime 2000x ./echorpc
func BenchmarkLoadShedding(b *testing.B) {
	b.Run("hammer", func(b *testing.B) { benchShedding(b, false) })
	b.Run("clients", func(b *testing.B) { benchShedding(b, true) })
}

func benchShedding(b *testing.B, honourRetryAfter bool) {
	const bound = 32
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	echorpc.New(e, echorpc.Config{Prefix: "/rpc", MaxInFlight: bound}).Functions(echorpc.Funcs{
		"work": echorpc.Func(func(c echo.Context, in any) (bool, error) {
			time.Sleep(10 * time.Millisecond)
			return true, nil
		}),
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	transport := &http.Transport{MaxIdleConnsPerHost: 4 * bound, MaxConnsPerHost: 4 * bound}
	client := &http.Client{Transport: transport}
	defer transport.CloseIdleConnections()

	// run makes calls from callers goroutines and returns the admitted
	// calls' latencies and the number shed.
	run := func(callers, calls int) (admitted []time.Duration, shed int) {
		var mu sync.Mutex
		var next atomic.Int64
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				for next.Add(1) <= int64(calls) {
					start := time.Now()
					res, err := client.Post(srv.URL+"/rpc", "application/json", strings.NewReader(`{"weerpc":1.1,"function":"work"}`))
					if err != nil {
						b.Error(err)
						return
					}
					var env map[string]any
					decodeErr := json.NewDecoder(res.Body).Decode(&env)
					res.Body.Close()
					took := time.Since(start)
					if decodeErr != nil || env["weerpc"] != 1.1 {
						b.Errorf("a reply that is not an envelope: HTTP %d", res.StatusCode)
						return
					}
					mu.Lock()
					switch res.StatusCode {
					case http.StatusOK:
						admitted = append(admitted, took)
					case http.StatusServiceUnavailable:
						if res.Header.Get("Retry-After") == "" {
							b.Error("503 without Retry-After")
						}
						shed++
						if honourRetryAfter {
							mu.Unlock()
							time.Sleep(time.Second)
							mu.Lock()
						}
					default:
						b.Errorf("HTTP %d", res.StatusCode)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return admitted, shed
	}
	pct := func(d []time.Duration, p float64) float64 {
		if len(d) == 0 {
			return 0
		}
		slices.Sort(d)
		return float64(d[int(float64(len(d)-1)*p)].Microseconds()) / 1000
	}
	heap := func() float64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapInuse) / (1 << 20)
	}

	calls := max(b.N, 4*bound)
	unloaded, _ := run(bound, calls)
	before := heap()
	b.ResetTimer()
	loaded, shed := run(4*bound, calls)
	b.StopTimer()
	after := heap()

	b.ReportMetric(pct(unloaded, 0.50), "unloaded-p50-ms")
	b.ReportMetric(pct(unloaded, 0.99), "unloaded-p99-ms")
	b.ReportMetric(pct(loaded, 0.50), "admitted-p50-ms")
	b.ReportMetric(pct(loaded, 0.99), "admitted-p99-ms")
	b.ReportMetric(float64(shed)/float64(calls), "shed-share")
	b.ReportMetric(before, "heap-before-MiB")
	b.ReportMetric(after, "heap-after-MiB")
}
