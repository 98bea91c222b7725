package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/topic"
	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countdown streams n, n-1, ..., 1, an item every 50 ms, and ends; data
// that is not an integer from 1 to 100 is refused before the stream starts
// (400, with a field error).
func TestCountdown(t *testing.T) {
	srv := testApp(t, filepath.Join(t.TempDir(), "clients.db"))
	c := &echorpc.Client{Endpoint: srv.URL + "/rpc/tester"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	start := time.Now()
	var got []int
	for item, err := range c.Stream(ctx, "countdown", 5) {
		require.NoError(t, err)
		n, err := strconv.Atoi(string(item))
		require.NoError(t, err, "item %s", item)
		got = append(got, n)
	}
	assert.Equal(t, []int{5, 4, 3, 2, 1}, got)
	assert.GreaterOrEqual(t, time.Since(start), 4*countdownTick, "an item every 50 ms")

	for _, tt := range []struct {
		data       any
		rule, path string
	}{
		{0, "min", ""},
		{101, "max", ""},
		{-3, "min", ""},
		{"x", "", ""},
		{1.5, "", ""},
	} {
		t.Run(fmt.Sprint(tt.data), func(t *testing.T) {
			var items int
			var failure error
			for _, err := range c.Stream(ctx, "countdown", tt.data) {
				if err != nil {
					failure = err
					break
				}
				items++
			}
			assert.Zero(t, items)

			// Refused before the stream starts: a 400 envelope, not a 200
			// stream with an error event.
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/rpc/tester",
				strings.NewReader(`{"weerpc":1.1,"function":"countdown","data":`+string(mustJSON(t, tt.data))+`}`))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "text/event-stream")
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			res.Body.Close()
			assert.Equal(t, 400, res.StatusCode)
			assert.Equal(t, "application/json", res.Header.Get("Content-Type"))

			var e *echorpc.Error
			require.True(t, errors.As(failure, &e), "%v", failure)
			assert.Equal(t, 400, e.Status)
			var data struct {
				Errors []struct{ Path, Rule, Param, Message string } `json:"errors"`
			}
			raw, _ := json.Marshal(e.Data)
			require.NoError(t, json.Unmarshal(raw, &data), "%s", raw)
			require.Len(t, data.Errors, 1, "one field error: %s", raw)
			assert.Equal(t, tt.path, data.Errors[0].Path)
			if tt.rule != "" {
				assert.Equal(t, tt.rule, data.Errors[0].Rule)
			}
		})
	}
}

// changes streams every write to the clients after it starts, in order,
// to every open stream.
func TestChangesStream(t *testing.T) {
	app, srv := startApp(t, Config{DB: filepath.Join(t.TempDir(), "clients.db"), SessionKeys: testKeys})
	c := &echorpc.Client{Endpoint: srv.URL + "/rpc/clients"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Two streams; each collects four changes.
	const streams = 2
	var wg sync.WaitGroup
	got := make([][]Change, streams)
	errs := make([]error, streams)
	for i := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for item, err := range c.Stream(ctx, "changes", nil) {
				if err != nil {
					errs[i] = err
					return
				}
				var ch Change
				if err := json.Unmarshal(item, &ch); err != nil {
					errs[i] = err
					return
				}
				if got[i] = append(got[i], ch); len(got[i]) == 4 {
					return // closes the stream
				}
			}
		}()
	}
	require.Eventually(t, func() bool { return app.changes.Subscribers() == streams }, 5*time.Second, 5*time.Millisecond)

	var a, b, updated, deleted Client
	require.NoError(t, c.Call(ctx, "create", NewClient{Name: "Ada"}, &a))
	require.NoError(t, c.Call(ctx, "create", NewClient{Name: "Bob"}, &b))
	require.NoError(t, c.Call(ctx, "update", ClientUpdate{ClientID: a.ClientID, Name: "Ada L."}, &updated))
	require.Error(t, c.Call(ctx, "update", ClientUpdate{ClientID: 999, Name: "Nobody"}, nil), "a failed write is no change")
	require.NoError(t, c.Call(ctx, "delete", ClientID{ClientID: b.ClientID}, &deleted))
	wg.Wait()

	want := []Change{{"create", a}, {"create", b}, {"update", updated}, {"delete", deleted}}
	for i := range streams {
		require.NoError(t, errs[i], "stream %d", i)
		assert.Equal(t, want, got[i], "stream %d", i)
	}
	// Leaving the loop closed the streams, and their subscriptions ended.
	assert.Eventually(t, func() bool { return app.changes.Subscribers() == 0 }, 5*time.Second, 5*time.Millisecond)
}

// With -redis, changes are a topic on Redis Streams: a stream on one app
// sees the writes made on another (each with its own SQLite file here,
// which is enough for the changes); Redis dropping every connection ends
// no stream, and the write made then still arrives, once; and a stream
// opened on A with the Last-Event-ID of one that B sent resumes after it.
// Needs redis-server; skips without it.
func TestChangesOverRedis(t *testing.T) {
	url := localRedis(t)
	_, srvA := startApp(t, Config{DB: filepath.Join(t.TempDir(), "a.db"), Redis: url, SessionKeys: testKeys})
	b, srvB := startApp(t, Config{DB: filepath.Join(t.TempDir(), "b.db"), Redis: url, SessionKeys: testKeys})

	s := openSSE(t, srvB.URL+"/rpc/clients", "changes", "")
	require.Eventually(t, func() bool { return b.changes.Subscribers() == 1 }, 5*time.Second, 5*time.Millisecond)
	first := assertCreated(t, srvA.URL, "over Redis")
	ev := s.next(t)
	assert.Equal(t, Change{"create", first}, ev.change(t))
	require.NotEmpty(t, ev.id, "the event id is the item's id in the log")

	// Redis drops every client: the apps' loops read again, the stream
	// on B stays open, and A's next write reaches it, once.
	conn, err := redis.DialURL(url)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Do("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
	require.NoError(t, err)
	second := assertCreated(t, srvA.URL, "after CLIENT KILL")
	assert.Equal(t, Change{"create", second}, s.next(t).change(t))
	s.assertQuiet(t, 300*time.Millisecond)

	// A stream on A from the first event's id: the second write, resumed.
	r := openSSE(t, srvA.URL+"/rpc/clients", "changes", ev.id)
	assert.Equal(t, Change{"create", second}, r.next(t).change(t))
	r.assertQuiet(t, 300*time.Millisecond)

	// An id the log never had: the stream is refused with 410, {gap: true}.
	res := postSSE(t, srvB.URL+"/rpc/clients", "changes", "1-1")
	defer res.Body.Close()
	require.Equal(t, http.StatusGone, res.StatusCode)
	g := decodeReply(t, res)
	assert.JSONEq(t, `{"gap":true}`, string(g.Data))
}

// sseEvent is one event of a stream read by openSSE.
type sseEvent struct{ id, event, data string }

// change decodes the data of an item event: its envelope's Change.
func (e sseEvent) change(t *testing.T) Change {
	t.Helper()
	require.Empty(t, e.event, "an item, not %q: %s", e.event, e.data)
	var env struct {
		OK   bool   `json:"ok"`
		Data Change `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(e.data), &env), e.data)
	require.True(t, env.OK, e.data)
	return env.Data
}

// sseReader is a stream's events, read in the background.
type sseReader struct{ events chan sseEvent }

// postSSE opens function at url as a stream, with Last-Event-ID unless
// lastID is "".
func postSSE(t *testing.T, url, function, lastID string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"weerpc":1.1,"function":"`+function+`"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	require.NoError(t, err)
	return res
}

// openSSE opens the stream (postSSE) and reads its events; the test's end
// closes it.
func openSSE(t *testing.T, url, function, lastID string) *sseReader {
	t.Helper()
	res := postSSE(t, url, function, lastID)
	require.Equal(t, http.StatusOK, res.StatusCode)
	t.Cleanup(func() { res.Body.Close() })
	r := &sseReader{events: make(chan sseEvent, 100)}
	go func() {
		defer close(r.events)
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			name, value, _ := strings.Cut(line, ": ")
			switch {
			case line == "":
				if ev.data != "" {
					r.events <- ev
				}
				ev = sseEvent{}
			case name == "id":
				ev.id = value
			case name == "event":
				ev.event = value
			case name == "data":
				ev.data = value
			}
		}
	}()
	return r
}

// next is the stream's next event, within 5 s.
func (r *sseReader) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-r.events:
		require.True(t, ok, "the stream ended")
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return sseEvent{}
}

// assertQuiet asserts that no event comes within d (nothing twice).
func (r *sseReader) assertQuiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case ev, ok := <-r.events:
		assert.False(t, ok, "an event more: %+v", ev)
	case <-time.After(d):
	}
}

// The clients' list is a live query: a subscriber of live holding "list"
// gets the start item, then one invalidation for each create, update and
// delete (none for a write that failed, none for a read), in order; a
// query that /rpc/clients does not have is refused (404).
func TestLiveList(t *testing.T) {
	_, srv := startApp(t, Config{DB: filepath.Join(t.TempDir(), "clients.db"), SessionKeys: testKeys})
	c := &echorpc.Client{Endpoint: srv.URL + "/rpc/clients"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l := openLive(t, srv.URL)
	next := func(what string) topic.Invalidation { t.Helper(); return l.next(t, 5*time.Second, what) }
	quiet := func(what string) { t.Helper(); l.assertQuiet(t, 200*time.Millisecond, what) }

	assert.Equal(t, topic.Invalidation{Query: "list", Start: true}, next("subscribing"), "the page holds the list from here on")
	var a Client
	require.NoError(t, c.Call(ctx, "create", NewClient{Name: "Ada"}, &a))
	assert.Equal(t, topic.Invalidation{Query: "list"}, next("create"))
	require.NoError(t, c.Call(ctx, "update", ClientUpdate{ClientID: a.ClientID, Name: "Ada L."}, nil))
	assert.Equal(t, topic.Invalidation{Query: "list"}, next("update"))
	require.Error(t, c.Call(ctx, "update", ClientUpdate{ClientID: 999, Name: "Nobody"}, nil))
	quiet("a failed update")
	require.NoError(t, c.Call(ctx, "list", struct{}{}, nil))
	require.NoError(t, c.Call(ctx, "read", ClientID{ClientID: a.ClientID}, nil))
	quiet("reads")
	require.NoError(t, c.Call(ctx, "delete", ClientID{ClientID: a.ClientID}, nil))
	assert.Equal(t, topic.Invalidation{Query: "list"}, next("delete"))
	quiet("the delete: one invalidation per write")

	for _, err := range c.Stream(ctx, "live", topic.LiveQuery{Query: "nosuch"}) {
		var e *echorpc.Error
		require.True(t, errors.As(err, &e), "%v", err)
		assert.Equal(t, http.StatusNotFound, e.Status, "a query the instance does not have")
		break
	}
}

// liveReader is a subscription to the live list (the live stream with
// {"query": "list"}), read in the background.
type liveReader struct {
	items chan topic.Invalidation
	ended chan error // how the stream ended, once items is closed
}

// openLive subscribes to the live list at url (the app's base URL); the
// test's end closes it.
func openLive(t *testing.T, url string) *liveReader {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	l := &liveReader{items: make(chan topic.Invalidation, 100), ended: make(chan error, 1)}
	go func() {
		var failure error
		defer func() { l.ended <- failure; close(l.items) }()
		for item, err := range (&echorpc.Client{Endpoint: url + "/rpc/clients"}).Stream(ctx, "live", topic.LiveQuery{Query: "list"}) {
			if failure = err; err != nil {
				return
			}
			var inv topic.Invalidation
			if failure = json.Unmarshal(item, &inv); failure != nil {
				return
			}
			l.items <- inv
		}
	}()
	return l
}

// next is the subscription's next item, within timeout of the event
// named after.
func (l *liveReader) next(t *testing.T, timeout time.Duration, after string) topic.Invalidation {
	t.Helper()
	select {
	case inv, ok := <-l.items:
		if !ok {
			t.Fatalf("the live stream ended: %v", <-l.ended)
		}
		return inv
	case <-time.After(timeout):
		t.Fatalf("no item of the live stream within %s after %s", timeout, after)
	}
	return topic.Invalidation{}
}

// assertQuiet asserts that no item comes, and the stream does not end,
// for d after the event named after.
func (l *liveReader) assertQuiet(t *testing.T, d time.Duration, after string) {
	t.Helper()
	select {
	case inv, ok := <-l.items:
		if !ok {
			t.Fatalf("the live stream ended after %s: %v", after, <-l.ended)
		}
		t.Errorf("an item of the live stream after %s: %+v", after, inv)
	case <-time.After(d):
	}
}

// drain takes the items that come until none has for quiet.
func (l *liveReader) drain(quiet time.Duration) {
	for {
		select {
		case _, ok := <-l.items:
			if !ok {
				return // ended: next says how
			}
		case <-time.After(quiet):
			return
		}
	}
}
