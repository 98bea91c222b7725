package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/echo-rpc/wrpc/internal/browsertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The pages' streams work in a real browser, from the script tag
// (wrpc.stream) and the ES module (client.stream): the countdown button
// shows 5 4 3 2 1 as they come, then done; the live list, fed by the
// changes stream, shows a client created on the page, follows its update,
// and loses it when it is deleted.
func TestBrowserStreams(t *testing.T) {
	for _, path := range []string{"/", "/spa"} {
		t.Run(strings.Trim(path, "/")+"page", func(t *testing.T) { testBrowserStreams(t, path) })
	}
}

func testBrowserStreams(t *testing.T, path string) {
	app, srv := startApp(t, Config{DB: filepath.Join(t.TempDir(), "clients.db"), SessionKeys: testKeys})
	ctx := browsertest.New(t, 60*time.Second)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+path),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)),
	))

	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#btn-countdown"))))
	var seen []string // the output as it grows, item by item
	final := browsertest.Text(t, ctx, "#out-countdown", func(s string) bool {
		if s != "" && s != "…" && (len(seen) == 0 || seen[len(seen)-1] != s) {
			seen = append(seen, s)
		}
		return strings.HasSuffix(s, "done") || strings.Contains(s, "error")
	})
	assert.Equal(t, "5 4 3 2 1 done", final)
	assert.Greater(t, len(seen), 2, "the items show as they come, 50 ms apart: %q", seen)

	// The live list is open: its stream is subscribed on the server.
	assert.Equal(t, "live", browsertest.Text(t, ctx, "#live-status", func(s string) bool { return s == "live" }))
	require.Eventually(t, func() bool { return app.changes.Subscribers() == 1 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, "", browsertest.Text(t, ctx, "#live-clients", func(string) bool { return true }))

	created := click(t, ctx, "create")
	require.Regexp(t, `^ok: \{"client_id":1,"name":"Ada Lovelace"`, created)
	assert.Equal(t, "1: Ada Lovelace", browsertest.Text(t, ctx, "#live-clients", func(s string) bool { return s != "" }))

	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.getElementById("client-name").value = "Ada King") !== ""`))
	require.NoError(t, err)
	require.Regexp(t, `^ok: `, click(t, ctx, "update"))
	assert.Equal(t, "1: Ada King", browsertest.Text(t, ctx, "#live-clients", func(s string) bool { return s != "1: Ada Lovelace" }))

	require.Regexp(t, `^ok: `, click(t, ctx, "delete"))
	assert.Equal(t, "", browsertest.Text(t, ctx, "#live-clients", func(s string) bool { return s == "" }))
	browsertest.Screenshot(t, ctx, "example-streams-"+strings.Trim(path, "/")+"page")
}
