package topic_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/topic"
	"github.com/labstack/echo/v4"
)

// Note is the item type of the tests' topic.
type Note struct {
	N int `json:"n"`
}

// serve starts an instance whose "notes" stream serves topic "t" of e.
func serve(t testing.TB, e topic.Engine) string {
	t.Helper()
	ec := echo.New()
	echorpc.New(ec, echorpc.Config{Prefix: "/rpc", StreamPing: 50 * time.Millisecond}).Functions(echorpc.Funcs{
		"notes": topic.Serve[struct{}, Note](e, func(echo.Context, struct{}) (string, error) { return "t", nil }),
	})
	srv := httptest.NewServer(ec)
	t.Cleanup(srv.Close)
	return srv.URL + "/rpc"
}

// take reads n items from events, failing on anything else.
func take(t testing.TB, events <-chan event, n int) []event {
	t.Helper()
	var got []event
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("stream ended after %d of %d items", len(got), n)
			}
			if ev.Type != "" {
				t.Fatalf("event %q after %d items: %s", ev.Type, len(got), ev.Data)
			}
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("timed out after %d of %d items", len(got), n)
		}
	}
	return got
}

// waitSubscribed waits until the streams are open: their first ping.
func settle() { time.Sleep(200 * time.Millisecond) }

func TestServeFansOutInOrder(t *testing.T) {
	e := topic.NewMemory(0)
	url := serve(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const subs, items = 50, 100
	streams := make([]<-chan event, subs)
	for i := range streams {
		streams[i] = openStream(t, ctx, url, "notes", "")
	}
	settle()
	for i := range items {
		if _, err := topic.Publish(ctx, e, "t", Note{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, s := range streams {
		wg.Go(func() {
			got := take(t, s, items)
			for i, ev := range got {
				if want := fmt.Sprintf(`"data":{"n":%d}}`, i); !strings.HasSuffix(ev.Data, want) {
					t.Errorf("item %d: %s, want %s", i, ev.Data, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestServeResumesFromLastID(t *testing.T) {
	e := topic.NewMemory(0)
	url := serve(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	first := openStream(t, ctx, url, "notes", "")
	settle()
	for i := range 3 {
		topic.Publish(ctx, e, "t", Note{N: i})
	}
	got := take(t, first, 3)
	cancel()
	for i := 3; i < 6; i++ { // while no one listens
		topic.Publish(context.Background(), e, "t", Note{N: i})
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	rest := take(t, openStream(t, ctx2, url, "notes", got[1].ID), 4)
	for i, ev := range rest {
		if want := fmt.Sprintf(`"n":%d}`, i+2); !strings.Contains(ev.Data, want) {
			t.Errorf("resumed item %d: %s, want n %d", i, ev.Data, i+2)
		}
	}
}

func TestServeSignalsGap(t *testing.T) {
	e := topic.NewMemory(5)
	url := serve(t, e)
	first, _ := topic.Publish(context.Background(), e, "t", Note{})
	for i := range 10 {
		topic.Publish(context.Background(), e, "t", Note{N: i})
	}
	for name, lastID := range map[string]string{
		"retention passed": first,
		"another process":  "1-1",
		"not an id":        "x",
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ev := <-openStream(t, ctx, url, "notes", lastID)
			if ev.Type == "" || !strings.Contains(ev.Data, `"status":410`) || !strings.Contains(ev.Data, `"gap":true`) {
				t.Errorf("got %+v, want a 410 with gap", ev)
			}
		})
	}
}

func TestRingReadsAfterCursor(t *testing.T) {
	r := topic.NewRing(3, topic.ID{Ms: 1})
	c, ok := r.Cursor(topic.ID{Ms: 1})
	if !ok {
		t.Fatal("cursor at base refused")
	}
	r.Append(topic.Item{ID: "1-1"}, topic.Item{ID: "1-2"}, topic.Item{ID: "1-2"})
	items, ok, err := r.Read(context.Background(), &c, 10)
	if len(items) != 2 || !ok || err != nil || items[1].ID != "1-2" {
		t.Fatalf("Read: %v %v %v", items, ok, err)
	}
	r.Append(topic.Item{ID: "1-3"}, topic.Item{ID: "1-4"}, topic.Item{ID: "1-5"}, topic.Item{ID: "1-6"})
	if _, ok, _ := r.Read(context.Background(), &c, 10); ok {
		t.Error("a cursor behind the ring read from it")
	}
	c2, _ := r.Cursor(r.Last())
	r.Reset(topic.ID{Ms: 2})
	if _, _, err := r.Read(context.Background(), &c2, 10); err != topic.ErrGap {
		t.Errorf("after Reset: %v, want ErrGap", err)
	}
}

func TestServeDescribesItemsAsOut(t *testing.T) {
	rpc := echorpc.New(echo.New(), echorpc.Config{Prefix: "/rpc"}).Functions(echorpc.Funcs{
		"notes": topic.Serve[struct{}, Note](topic.NewMemory(0), func(echo.Context, struct{}) (string, error) { return "t", nil }),
	})
	ts := rpc.TypeScript()
	if !strings.Contains(ts, "Note") || strings.Contains(ts, "Encoded") {
		t.Errorf("the items are not described as Note:\n%s", ts)
	}
}

// A ring grows as items come, up to its size, and then drops its oldest:
// whatever the count, a cursor at the oldest item it holds reads the rest
// in order, and so it does again after a Reset.
func TestRingGrowsThenWraps(t *testing.T) {
	const size = 4
	for _, appended := range []int{1, 3, 4, 5, 9, 13} {
		t.Run(fmt.Sprint(appended), func(t *testing.T) {
			r := topic.NewRing(size, topic.ID{Ms: 1})
			for round, ms := range []uint64{1, 2} {
				if round > 0 {
					r.Reset(topic.ID{Ms: ms})
				}
				for i := 1; i <= appended; i++ {
					r.Append(topic.Item{ID: fmt.Sprintf("%d-%d", ms, i)})
				}
				kept := min(appended, size)
				first := topic.ID{Ms: ms, Seq: uint64(appended - kept)}
				c, ok := r.Cursor(first)
				if !ok {
					t.Fatalf("round %d: no cursor at %v", round, first)
				}
				items, ok, err := r.Read(context.Background(), &c, 100)
				if !ok || err != nil || len(items) != kept {
					t.Fatalf("round %d: Read: %v %v %v, want %d items", round, items, ok, err, kept)
				}
				for j, it := range items {
					if want := fmt.Sprintf("%d-%d", ms, appended-kept+j+1); it.ID != want {
						t.Errorf("round %d: item %d is %s, want %s", round, j, it.ID, want)
					}
				}
				if appended > size {
					behind, _ := r.Cursor(topic.ID{Ms: ms, Seq: uint64(appended - kept - 1)})
					if _, ok, _ := r.Read(context.Background(), &behind, 100); ok {
						t.Errorf("round %d: a cursor behind the ring read from it", round)
					}
				}
			}
		})
	}
}

// Subscribers of topics of their own that get nothing (a topic per
// session) cost little while they wait, and nothing once gone: a topic
// holds no room for items it has not had, and one that has had none is
// forgotten with its last subscriber.
func TestMemorySubscribersOfTopicsOfTheirOwn(t *testing.T) {
	const topics = 10_000
	m := topic.NewMemory(1000)
	ctx := context.Background()
	var before, during, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	subs := make([]topic.Subscription, topics)
	for i := range subs {
		s, err := m.Subscribe(ctx, fmt.Sprintf("session:%d", i), "")
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = s
		// a caller that resumes a topic with nothing in it gets a gap,
		// and leaves nothing behind
		if _, err := m.Subscribe(ctx, fmt.Sprintf("resumed:%d", i), "1-1"); err != topic.ErrGap {
			t.Fatalf("resuming an empty topic: %v, want ErrGap", err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&during)
	for _, s := range subs {
		s.Close()
	}
	subs = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	perTopic := (int64(during.HeapAlloc) - int64(before.HeapAlloc)) / topics
	left := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / topics
	t.Logf("heap per waiting subscriber of its own topic: %d B; left per topic once gone: %d B", perTopic, left)
	if perTopic > 2048 {
		t.Errorf("a subscriber of its own topic holds %d B of heap, want at most 2 KiB (a ring of 1,000 items made in advance is about 48 KB)", perTopic)
	}
	if left > 160 { // the map keeps its room (about 40 B a topic); a topic kept is about 300 B
		t.Errorf("%d B per topic left once its subscribers are gone", left)
	}
	// a topic that has had an item keeps it for subscribers that resume
	id, err := topic.Publish(ctx, m, "session:kept", Note{N: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Subscribe(ctx, "session:kept", "")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = m.Subscribe(ctx, "session:kept", strings.Split(id, "-")[0]+"-0"); err != nil {
		t.Fatalf("resume before the kept item: %v", err)
	}
	items, err := s.Next(ctx)
	if err != nil || len(items) != 1 || items[0].ID != id {
		t.Fatalf("resumed: %v %v, want the kept item %s", items, err, id)
	}
}
