package topicredis_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/topic"
	"github.com/echo-rpc/wrpc/echorpc/topic/topicredis"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
)

var benchItem = []byte(`{"op":"update","client":{"id":42,"name":"Ada Lovelace","email":"ada@example.com"}}`)

// BenchmarkPublish is Engine.Publish against a raw XADD of the same item
// through the same client (sub-benchmarks, so one run measures both).
func BenchmarkPublish(b *testing.B) {
	srv := startRedis(b)
	c := redis.NewClient(&redis.Options{Addr: srv.addr()})
	defer c.Close()
	e := topicredis.New(topicredis.Config{Client: c})
	defer e.Close()
	ctx := context.Background()
	b.Run("engine", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.Publish(ctx, "bench", benchItem); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-xadd", func(b *testing.B) {
		for b.Loop() {
			if err := c.XAdd(ctx, &redis.XAddArgs{Stream: "wrpc:topic:raw", Values: []any{"d", benchItem}, MaxLen: 10000, Approx: true}).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFanout: 2 instances (engines), 1,000 subscribers on each, each
// waiting in its own goroutine as a stream handler does; one item
// published per op, alternately on each instance; reports the latency
// from Publish to delivery over all subscribers (p50, p99).
func BenchmarkFanout(b *testing.B) {
	srv := startRedis(b)
	engines := []*topicredis.Engine{newEngine(b, srv.addr()), newEngine(b, srv.addr())}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const each = 1000
	var (
		mu    sync.Mutex
		sent  = map[string]time.Time{}
		lat   []time.Duration
		wg    sync.WaitGroup
		ready sync.WaitGroup
	)
	for _, e := range engines {
		for range each {
			s, err := e.Subscribe(ctx, "fan", "")
			if err != nil {
				b.Fatal(err)
			}
			ready.Add(1)
			wg.Go(func() {
				defer s.Close()
				ready.Done()
				for {
					items, err := s.Next(ctx)
					if err != nil {
						return
					}
					now := time.Now()
					mu.Lock()
					for _, it := range items {
						lat = append(lat, now.Sub(sent[it.ID]))
					}
					mu.Unlock()
				}
			})
		}
	}
	ready.Wait()
	time.Sleep(100 * time.Millisecond)
	i := 0
	for b.Loop() {
		mu.Lock() // the id is known only after XADD: hold deliveries until it is noted
		t0 := time.Now()
		id, err := engines[i%2].Publish(ctx, "fan", benchItem)
		sent[id] = t0
		mu.Unlock()
		if err != nil {
			b.Fatal(err)
		}
		i++
		time.Sleep(time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	wg.Wait()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(len(lat))/float64(i), "deliveries/op")
	}
}

// BenchmarkMemoryPerSubscriber: the heap that 10,000 subscriptions of one
// topic take on one instance (the engine's share; each stream's handler
// goroutine and HTTP connection come on top).
func BenchmarkMemoryPerSubscriber(b *testing.B) {
	srv := startRedis(b)
	e := newEngine(b, srv.addr())
	ctx := context.Background()
	const n = 10000
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		subs := make([]topic.Subscription, n)
		for i := range subs {
			s, err := e.Subscribe(ctx, "mem", "")
			if err != nil {
				b.Fatal(err)
			}
			subs[i] = s
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/subscriber")
		for _, s := range subs {
			s.Close()
		}
	}
}

// fanItem is BenchmarkFanoutOverStreams's item: when it was published, in
// Unix ns (0 for a warm-up item).
type fanItem struct {
	T int64 `json:"t"`
}

// BenchmarkFanoutOverStreams is the fan-out end to end, across a fleet: 2
// instances (echorpc servers over loopback, each with its engine on the
// same Redis), 10,000 subscribers of one topic (topic.Serve) on shared
// connections, 50 Go clients on each instance with 100 streams each. One
// item is published per op, alternately on each instance, carrying when it
// was published; it reports the delay to each subscriber's client (p50,
// p99) and deliveries per op (10,000 when every subscriber got every
// item). Server and clients share the machine's cores.
func BenchmarkFanoutOverStreams(b *testing.B) {
	const (
		instances = 2
		clients   = 50 // per instance
		streams   = 100
		total     = instances * clients * streams
	)
	srv := startRedis(b)
	var engines []*topicredis.Engine
	var urls []string
	for range instances {
		e := newEngine(b, srv.addr())
		ec := echo.New()
		ec.Logger.SetOutput(io.Discard)
		echorpc.New(ec, echorpc.Config{Prefix: "/rpc", Functions: echorpc.Funcs{
			"fan": topic.Serve[any, fanItem](e, func(echo.Context, any) (string, error) { return "fan", nil }),
		}})
		hs := httptest.NewServer(ec)
		b.Cleanup(hs.Close)
		engines, urls = append(engines, e), append(urls, hs.URL+"/rpc")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu    sync.Mutex
		lat   []time.Duration
		warm  sync.WaitGroup // each subscriber got a warm-up item
		got   sync.WaitGroup // each subscriber got the item of this op
		wg    sync.WaitGroup
		inRun atomic.Bool
	)
	warm.Add(total)
	for i := range instances * clients {
		client := &echorpc.Client{Endpoint: urls[i%instances]}
		for range streams {
			wg.Go(func() {
				warmed := false
				for item, err := range client.Stream(ctx, "fan", nil) {
					if err != nil {
						if ctx.Err() == nil {
							b.Errorf("a subscriber's stream ended: %v", err)
						}
						break
					}
					var it fanItem
					if err := json.Unmarshal(item, &it); err != nil {
						b.Error(err)
						break
					}
					now := time.Now()
					switch {
					case it.T == 0 && !warmed:
						warmed = true
						warm.Done()
					case it.T != 0 && inRun.Load():
						mu.Lock()
						lat = append(lat, now.Sub(time.Unix(0, it.T)))
						mu.Unlock()
						got.Done()
					}
				}
			})
		}
	}
	// warm-up items until every subscriber has one: they are all open
	warmed := make(chan struct{})
	go func() { warm.Wait(); close(warmed) }()
	for waiting := true; waiting; {
		if _, err := topic.Publish(ctx, engines[0], "fan", fanItem{}); err != nil {
			b.Fatal(err)
		}
		select {
		case <-warmed:
			waiting = false
		case <-time.After(50 * time.Millisecond):
		}
	}
	time.Sleep(200 * time.Millisecond) // the last warm-up items arrive
	inRun.Store(true)
	i := 0
	for b.Loop() {
		got.Add(total)
		if _, err := topic.Publish(ctx, engines[i%instances], "fan", fanItem{T: time.Now().UnixNano()}); err != nil {
			b.Fatal(err)
		}
		i++
		done := make(chan struct{})
		go func() { got.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			b.Fatal("not every subscriber got the item within 30 s")
		}
	}
	b.StopTimer()
	cancel()
	wg.Wait()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(len(lat))/float64(i), "deliveries/op")
	}
}
