package topic_test

import (
	"context"
	"fmt"
	"net/http/httptest"
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
