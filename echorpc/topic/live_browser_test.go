package topic_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/topic"
	"github.com/echo-rpc/wrpc/internal/browsertest"
	"github.com/labstack/echo/v4"
)

// livePage holds the live query "count" with query.mjs's live and shows
// each result in #out.
const livePage = `<!doctype html><title>live</title><pre id="out">pending</pre>
<script type="module">
import { createClient } from "/rpc/client.mjs";
import { live } from "/rpc/query.mjs";
const out = document.getElementById("out");
try {
  for await (const n of live(createClient("/rpc"), "count", null)) out.textContent = "count " + n;
} catch (err) {
  out.textContent = "error " + err.message;
}
</script>`

// TestLiveQueryInChromium: a tab holds a live query; a mutation made in
// another tab makes it refetch, and the subscription rides the page's
// shared connection (channel.ws), not a request of its own.
func TestLiveQueryInChromium(t *testing.T) {
	var count atomic.Int64
	var streams browsertest.Streams
	e := echo.New()
	e.Use(streams.Count)
	live := topic.NewLive(topic.NewMemory(0))
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc"})
	rpc.Functions(echorpc.Funcs{"count": echorpc.Func(func(echo.Context, any) (int64, error) { return count.Load(), nil })}, echorpc.Query(0))
	rpc.Functions(echorpc.Funcs{"bump": echorpc.Func(func(echo.Context, any) (int64, error) { return count.Add(1), nil })}, live.Invalidates("count"))
	rpc.Functions(echorpc.Funcs{"live": live.Serve(rpc)})
	e.GET("/", func(c echo.Context) error { return c.HTML(http.StatusOK, livePage) })
	e.GET("/other", func(c echo.Context) error { return c.HTML(http.StatusOK, "<title>other</title>") })
	srv := httptest.NewServer(e)
	defer srv.Close()

	ctx := browsertest.New(t, 60*time.Second)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	browsertest.Text(t, ctx, "#out", func(s string) bool { return s == "count 0" })

	other, cancel := chromedp.NewContext(ctx) // a second tab
	defer cancel()
	if _, err := chromedp.Run(other, chromedp.Navigate(srv.URL+"/other")); err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 2; want++ {
		start := time.Now()
		got, err := chromedp.Run(other, chromedp.Evaluate[int](`import("/rpc/client.mjs").then((w) => w.call("bump", null))`, chromedp.EvalAwaitPromise))
		if err != nil || got != want {
			t.Fatalf("bump in the other tab: %d, %v", got, err)
		}
		browsertest.Text(t, ctx, "#out", func(s string) bool { return s == "count "+strconv.Itoa(want) })
		t.Logf("bump %d in one tab to the refetched count in the other: %v", want, time.Since(start))
	}
	if streams.Upgrades.Load() != 1 || streams.Own.Load() != 0 {
		t.Errorf("%d channel connections and %d streams of their own, want 1 and 0", streams.Upgrades.Load(), streams.Own.Load())
	}
}
