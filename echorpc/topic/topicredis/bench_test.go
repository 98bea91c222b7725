package topicredis_test

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc/topic"
	"github.com/echo-rpc/wrpc/echorpc/topic/topicredis"
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
