package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/internal/browsertest"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The live page in a real browser: all eight views update, over one
// shared connection for the tab (counted on the server: one WebSocket
// open, and no POST but the batch's and the chat line's); the streamed
// batch shows its nine quick calls before the slow one.
func TestBrowserLivePage(t *testing.T) {
	app, srv := startApp(t, Config{DB: filepath.Join(t.TempDir(), "clients.db"), SessionKeys: testKeys})
	var upgrades, open, posts atomic.Int64
	app.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			switch {
			case r.URL.Path == "/rpc/live/channel.ws":
				upgrades.Add(1)
				open.Add(1)
				defer open.Add(-1) // the handler returns when the connection closes
			case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/rpc/live"):
				posts.Add(1)
			}
			return next(c)
		}
	})
	ctx := browsertest.New(t, 60*time.Second)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/live"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)),
	))

	// The streamed batch: the nine quick calls settle first, the slow one
	// last, about a second after them.
	batch := browsertest.Text(t, ctx, "#live-v-batch", func(s string) bool { return strings.Count(s, "settled") == 10 })
	lines := strings.Split(strings.TrimSpace(batch), "\n")
	require.Len(t, lines, 10, batch)
	assert.True(t, strings.HasPrefix(lines[9], "work(1000): took 1000 ms"), "the slow call arrives last: %q", batch)
	for _, line := range lines[:9] {
		ms := settledAfter(t, line)
		assert.Less(t, ms, 800, "a quick call waits for no slow one: %q", line)
	}
	assert.GreaterOrEqual(t, settledAfter(t, lines[9]), 1000)

	// Every view updates, more than once for those that tick.
	for _, view := range []string{"clock", "counter", "badge", "progress", "stats", "chat"} {
		require.Eventually(t, func() bool {
			n, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("live-v-`+view+`").dataset.updates || "0"`))
			return err == nil && atoi(n) >= 3
		}, 15*time.Second, 50*time.Millisecond, "view %s", view)
	}
	assert.Equal(t, "done", browsertest.Text(t, ctx, "#live-v-countdown", func(s string) bool { return s == "done" }))
	clients := &echorpc.Client{Endpoint: srv.URL + "/rpc/clients", Idempotent: map[string]bool{"create": true}}
	require.NoError(t, clients.Call(context.Background(), "create", map[string]string{"name": "Ada Lovelace"}, nil))
	assert.Equal(t, "1: Ada Lovelace", browsertest.Text(t, ctx, "#live-v-clients", func(s string) bool { return s != "" }))

	// A chat line sent from the page comes back on its stream.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#live-chat-text"), "hello from the tab"),
		chromedp.Click(chromedp.CSS("#live-chat-form button")),
	))
	browsertest.Text(t, ctx, "#live-v-chat", func(s string) bool { return strings.Contains(s, "you: hello from the tab") })

	assert.Equal(t, int64(1), upgrades.Load(), "one WebSocket for all the tab's streams")
	assert.Equal(t, int64(1), open.Load())
	assert.Equal(t, int64(2), posts.Load(), "the batch and the chat line: no stream on a request of its own")
	browsertest.Screenshot(t, ctx, "example-live")
}

// settledAfter reads "settled after N ms" from a batch line.
func settledAfter(t *testing.T, line string) int {
	t.Helper()
	_, after, ok := strings.Cut(line, "settled after ")
	require.True(t, ok, line)
	return atoi(strings.TrimSuffix(after, " ms"))
}

func atoi(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}
