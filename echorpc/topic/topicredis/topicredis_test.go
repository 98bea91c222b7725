package topicredis_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc/topic"
	"github.com/echo-rpc/wrpc/echorpc/topic/topicredis"
	"github.com/redis/go-redis/v9"
)

func newEngine(t testing.TB, addr string) *topicredis.Engine {
	c := redis.NewClient(&redis.Options{Addr: addr, ReadTimeout: time.Second, WriteTimeout: time.Second, DialTimeout: time.Second, MaxRetries: -1})
	e := topicredis.New(topicredis.Config{Client: c, PublishTimeout: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(func() { e.Close(); c.Close() })
	return e
}

// collect reads n items of sub, or fails.
func collect(ctx context.Context, sub topic.Subscription, n int) ([]topic.Item, error) {
	var got []topic.Item
	for len(got) < n {
		items, err := sub.Next(ctx)
		if err != nil {
			return got, err
		}
		got = append(got, items...)
	}
	return got, nil
}

// TestFaults: two engines (two instances) on one Redis, subscribers on
// both, items published on both, while Redis is paused for 3 s and then
// killed and restarted with its append-only file: every subscriber gets
// every item that is in the log, exactly once, in the log's order. Then
// Redis restarted without its data: every subscriber gets ErrGap.
func TestFaults(t *testing.T) {
	srv := startRedis(t)
	engines := []*topicredis.Engine{newEngine(t, srv.addr()), newEngine(t, srv.addr())}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const subsEach = 100
	var subs []topic.Subscription
	for _, e := range engines {
		for range subsEach {
			s, err := e.Subscribe(ctx, "faults", "")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			subs = append(subs, s)
		}
	}
	var (
		mu        sync.Mutex
		published []string // ids acknowledged
		failed    int
	)
	publish := func(phase string, n int) {
		for i := range n {
			e := engines[i%2]
			id, err := e.Publish(ctx, "faults", fmt.Appendf(nil, `%q`, fmt.Sprint(phase, i)))
			mu.Lock()
			if err != nil {
				failed++
			} else {
				published = append(published, id)
			}
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}
	publish("before", 100)
	srv.signal(syscall.SIGSTOP)
	time.AfterFunc(3*time.Second, func() { srv.signal(syscall.SIGCONT) })
	publish("paused", 5) // each waits up to PublishTimeout, then fails
	time.Sleep(3 * time.Second)
	publish("resumed", 100)
	srv.restart(true)
	publish("restarted", 100)

	// the log as Redis has it: what every subscriber must get
	c := redis.NewClient(&redis.Options{Addr: srv.addr()})
	defer c.Close()
	log, err := c.XRange(ctx, "wrpc:topic:faults", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	inLog := map[string]bool{}
	for _, m := range log {
		inLog[m.ID] = true
	}
	for _, id := range published {
		if !inLog[id] {
			t.Errorf("acknowledged item %s is not in the log", id)
		}
	}
	t.Logf("%d items in the log, %d publishes acknowledged, %d failed (Redis paused)", len(log), len(published), failed)
	var wg sync.WaitGroup
	for i, s := range subs {
		wg.Go(func() {
			got, err := collect(ctx, s, len(log))
			if err != nil {
				t.Errorf("subscriber %d: %v after %d items", i, err, len(got))
				return
			}
			if len(got) != len(log) {
				t.Errorf("subscriber %d: %d items, want %d", i, len(got), len(log))
				return
			}
			for j, it := range got {
				if it.ID != log[j].ID {
					t.Errorf("subscriber %d: item %d is %s, want %s", i, j, it.ID, log[j].ID)
					return
				}
			}
		})
	}
	wg.Wait()

	// Redis loses its data: a gap for everyone
	srv.restart(false)
	for i, s := range subs {
		gctx, gcancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := collect(gctx, s, 1)
		gcancel()
		if !errors.Is(err, topic.ErrGap) {
			t.Errorf("subscriber %d after Redis lost its data: %v, want ErrGap", i, err)
			break
		}
	}
}

// TestResumeOnAnotherInstance: a subscriber of one instance resumes on
// another from its last id, reading the log for what it missed.
func TestResumeOnAnotherInstance(t *testing.T) {
	srv := startRedis(t)
	a, b := newEngine(t, srv.addr()), newEngine(t, srv.addr())
	ctx := context.Background()
	var ids []string
	for i := range 20 {
		id, err := topic.Publish(ctx, a, "r", i)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	s, err := b.Subscribe(ctx, "r", ids[4])
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := collect(ctx, s, 15)
	if err != nil || len(got) != 15 || got[0].ID != ids[5] || got[14].ID != ids[19] || string(got[0].Data) != "5" {
		t.Fatalf("resumed: %v %v", got, err)
	}
	if _, err := b.Subscribe(ctx, "r", "1-0"); !errors.Is(err, topic.ErrGap) {
		t.Errorf("an id not in the log: %v, want ErrGap", err)
	}
}

// TestPublishOnce: an item published again with the same key is appended
// once, also when the first try timed out while Redis was paused (its
// XADD ran when Redis went on) and the retry came after.
func TestPublishOnce(t *testing.T) {
	srv := startRedis(t)
	e := newEngine(t, srv.addr())
	ctx := context.Background()
	first, err := e.PublishOnce(ctx, "once", "k1", []byte(`1`))
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.PublishOnce(ctx, "once", "k1", []byte(`1`))
	if err != nil || again != first {
		t.Fatalf("again: %q %v, want %q", again, err, first)
	}

	srv.signal(syscall.SIGSTOP)
	_, err = e.PublishOnce(ctx, "once", "k2", []byte(`2`))
	srv.signal(syscall.SIGCONT)
	if err == nil {
		t.Fatal("a publish while Redis is paused succeeded")
	}
	var retried string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if retried, err = e.PublishOnce(ctx, "once", "k2", []byte(`2`)); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: srv.addr()})
	defer c.Close()
	log, err := c.XRange(ctx, "wrpc:topic:once", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].ID != first || log[1].ID != retried {
		t.Fatalf("the log is %v, want %s then %s, once each", log, first, retried)
	}
}
