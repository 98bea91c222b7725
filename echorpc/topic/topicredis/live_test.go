package topicredis_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/topic"
	"github.com/labstack/echo/v4"
)

// liveInstance starts an RPC instance with the live queries of engine:
// "list", "create" (which invalidates it) and "live".
func liveInstance(t testing.TB, engine topic.Engine) *echorpc.Client {
	t.Helper()
	e := echo.New()
	live := topic.NewLive(engine)
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc", StreamPing: 50 * time.Millisecond})
	rpc.Functions(echorpc.Funcs{"list": echorpc.Func(func(echo.Context, struct{}) (int, error) { return 1, nil })}, echorpc.Query(0))
	rpc.Functions(echorpc.Funcs{"create": echorpc.Func(func(echo.Context, struct{}) (bool, error) { return true, nil })}, live.Invalidates("list"))
	rpc.Functions(echorpc.Funcs{"live": live.Serve(rpc)})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &echorpc.Client{Endpoint: srv.URL + "/rpc"}
}

// TestLiveAcrossInstances: two instances, each with its engine on one
// Redis; a page holds "list" on B, and a mutation on A reaches it. Then
// Redis restarts without its data: the page gets a Gap item, on the same
// stream, and the next invalidation after it.
func TestLiveAcrossInstances(t *testing.T) {
	srv := startRedis(t)
	a, b := liveInstance(t, newEngine(t, srv.addr())), liveInstance(t, newEngine(t, srv.addr()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	items := make(chan topic.Invalidation, 16)
	go func() {
		defer close(items)
		for raw, err := range b.Stream(ctx, "live", topic.LiveQuery{Query: "list"}) {
			var item topic.Invalidation
			if err != nil || json.Unmarshal(raw, &item) != nil {
				t.Logf("stream: %v %s", err, raw)
				return
			}
			items <- item
		}
	}()
	want := func(what string, ok func(topic.Invalidation) bool) {
		t.Helper()
		select {
		case got, open := <-items:
			if !open || !ok(got) {
				t.Fatalf("%s: got %+v (stream open: %v)", what, got, open)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: nothing within 10 s", what)
		}
	}
	want("the first item", func(i topic.Invalidation) bool { return i.Start && i.Query == "list" })

	start := time.Now()
	if err := a.Call(ctx, "create", nil, nil); err != nil {
		t.Fatal(err)
	}
	want("create on A, seen on B", func(i topic.Invalidation) bool { return i.Query == "list" && !i.Start && !i.Gap })
	t.Logf("create on A to the page on B: %v", time.Since(start))

	srv.restart(false)
	want("after Redis lost its data", func(i topic.Invalidation) bool { return i.Gap && i.Query == "list" })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err := a.Call(ctx, "create", nil, nil); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("create after the restart: %v", err)
		}
	}
	want("create after the gap", func(i topic.Invalidation) bool { return i.Query == "list" && !i.Gap && !i.Start })
}
