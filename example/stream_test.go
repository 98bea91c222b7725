package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
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
	require.Eventually(t, func() bool { return app.changes.local.Subscribers() == streams }, 5*time.Second, 5*time.Millisecond)

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
	assert.Eventually(t, func() bool { return app.changes.local.Subscribers() == 0 }, 5*time.Second, 5*time.Millisecond)
}

// A subscriber that falls behind by more than its buffer is dropped: its
// channel is closed, and the writers never wait for it.
func TestBroadcasterDropsSlowSubscriber(t *testing.T) {
	var b Broadcaster[int]
	slow, cancelSlow := b.Subscribe(2)
	defer cancelSlow()
	fast, cancelFast := b.Subscribe(10)
	for i := range 3 {
		b.Publish(i) // never blocks
	}
	assert.Equal(t, 1, b.Subscribers())
	var got []int
	for v := range slow {
		got = append(got, v)
	}
	assert.Equal(t, []int{0, 1}, got, "what it had buffered, then closed")
	assert.Len(t, fast, 3)
	cancelFast()
	cancelFast() // twice is harmless
	_, open := <-fast
	for open {
		_, open = <-fast
	}
	assert.Zero(t, b.Subscribers())
}

// With -redis, changes travel over Redis pub/sub: a stream on one app
// sees the writes made on another (each with its own SQLite file here,
// which is enough for the changes), and the subscription comes back after
// Redis drops it. Needs redis-server; skips without it.
func TestChangesOverRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server")
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("needs redis-server (`make services`)")
	}
	url := startRedis(t, bin)
	_, srvA := startApp(t, Config{DB: filepath.Join(t.TempDir(), "a.db"), Redis: url, SessionKeys: testKeys})
	b, srvB := startApp(t, Config{DB: filepath.Join(t.TempDir(), "b.db"), Redis: url, SessionKeys: testKeys})

	s := openChanges(t, srvB.URL)
	s.waitSubscribed(t, srvA.URL)
	created := assertCreated(t, srvA.URL, "over Redis")
	select {
	case ch := <-s.changes:
		assert.Equal(t, Change{"create", created}, ch)
	case <-time.After(5 * time.Second):
		t.Fatal("B's stream did not see A's write")
	}

	// Redis drops every subscriber: since changes made while no one is
	// subscribed are lost (pub/sub delivers at most once), the stream on
	// B ends at once with a 503 that says so, and new streams are refused
	// (503) until B has subscribed again. Then a new stream on B sees A's
	// writes again.
	conn, err := redis.DialURL(url)
	require.NoError(t, err)
	defer conn.Close()
	killed, err := redis.Int(conn.Do("CLIENT", "KILL", "TYPE", "pubsub"))
	require.NoError(t, err)
	assert.Equal(t, 2, killed, "one subscription per app")
	s.assertEnds(t, errMissedChanges.Message, time.Now().Add(time.Second), "the stream on B")
	s = openChangesWhenBack(t, srvB.URL)
	s.waitSubscribed(t, srvA.URL)
	assert.Equal(t, 1, b.changes.local.Subscribers())
}
