package main

import (
	"context"
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
// shows 5 4 3 2 1 as they come, then done; the live list, a live query,
// shows a client created on the page, follows its update, and loses it
// when it is deleted.
func TestBrowserStreams(t *testing.T) {
	for _, path := range []string{"/", "/spa"} {
		t.Run(strings.Trim(path, "/")+"page", func(t *testing.T) { testBrowserStreams(t, path) })
	}
}

func testBrowserStreams(t *testing.T, path string) {
	_, srv := startApp(t, Config{DB: filepath.Join(t.TempDir(), "clients.db"), SessionKeys: testKeys})
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

	// The live list is held: "live" shows once the page has subscribed to
	// the live stream and read the list.
	assert.Equal(t, "live", browsertest.Text(t, ctx, "#live-status", func(s string) bool { return s == "live" }))
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

// The list is live across tabs: with the script-tag page in one tab and the
// SPA in another, a create in one shows in the other, an update in the
// other shows in the first, and a delete that a program posts (no page at
// all) empties both, each within 2 s and without a reload.
func TestBrowserLiveList(t *testing.T) {
	_, srv := startApp(t, Config{DB: filepath.Join(t.TempDir(), "clients.db"), SessionKeys: testKeys})
	page := browsertest.New(t, 60*time.Second)
	spa, cancel := chromedp.NewContext(page) // a second tab
	defer cancel()
	for tab, path := range map[context.Context]string{page: "/", spa: "/spa"} {
		require.NoError(t, chromedp.Do(tab, chromedp.Navigate(srv.URL+path), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`))))
		assert.Equal(t, "live", browsertest.Text(t, tab, "#live-status", func(s string) bool { return s == "live" }), "%s holds the list", path)
	}
	// within2s waits for the tab's list to show want.
	within2s := func(tab context.Context, want, after string) {
		t.Helper()
		start := time.Now()
		ctx, cancel := context.WithTimeout(tab, 2*time.Second)
		defer cancel()
		assert.Equal(t, want, browsertest.Text(t, ctx, "#live-clients", func(s string) bool { return s == want }))
		t.Logf("%s: in the list %s after its answer", after, time.Since(start).Round(time.Millisecond))
	}

	require.Regexp(t, `^ok: \{"client_id":1,"name":"Ada Lovelace"`, click(t, page, "create"))
	within2s(spa, "1: Ada Lovelace", "create on the script-tag page")

	setInput(t, spa, "client-id", "1")
	setInput(t, spa, "client-name", "Ada King")
	require.Regexp(t, `^ok: `, click(t, spa, "update"))
	within2s(page, "1: Ada King", "update on the SPA")

	r := newCaller(t, srv).call("/rpc/clients", "delete", `{"client_id":1}`, "")
	require.True(t, r.OK, "delete: %v", r.Message)
	within2s(page, "", "delete by a program")
	within2s(spa, "", "delete by a program")
	browsertest.Screenshot(t, spa, "example-live-list")
}

// Across instances: with two apps on one Redis and one database, a client
// created on A shows within 2 s in the list of a page served by B (the
// invalidation goes through Redis). Needs redis-server; skips without it.
func TestBrowserLiveListAcrossInstances(t *testing.T) {
	url := localRedis(t)
	db := filepath.Join(t.TempDir(), "clients.db") // one SQLite file for both, as a fleet shares PostgreSQL
	_, srvA := startApp(t, Config{DB: db, Redis: url, SessionKeys: testKeys})
	_, srvB := startApp(t, Config{DB: db, Redis: url, SessionKeys: testKeys})
	ctx := browsertest.New(t, 60*time.Second)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srvB.URL+"/spa"), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`))))
	assert.Equal(t, "live", browsertest.Text(t, ctx, "#live-status", func(s string) bool { return s == "live" }))

	r := newCaller(t, srvA).call("/rpc/clients", "create", `{"name":"made on A"}`, "")
	require.True(t, r.OK, "create on A: %v", r.Message)
	start := time.Now()
	within, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	assert.Equal(t, "1: made on A", browsertest.Text(t, within, "#live-clients", func(s string) bool { return s != "" }))
	t.Logf("create on A: in B's page %s after its answer", time.Since(start).Round(time.Millisecond))
}
