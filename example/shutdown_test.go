package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SIGTERM while a write is in flight: the server stops accepting, the call
// finishes and gets its 200, the database is closed after it, the process
// exits 0, and after a restart the row is there.
func TestGracefulShutdownFinishesWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildExample(t)
	db := filepath.Join(t.TempDir(), "clients.db")

	// The test-only hook makes create wait 2s before it writes.
	app := startExample(t, bin, "example", []string{createDelayEnv + "=2s"}, "-db", db)
	type result struct {
		r   reply
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, _, err := tryPost(app.url+"/rpc/clients", "create", `{"name":"in flight"}`)
		done <- result{r: r, err: err}
	}()
	app.waitLine("test hook: create waits", 10*time.Second)

	require.NoError(t, app.cmd.Process.Signal(syscall.SIGTERM))
	app.waitLine("shutting down", 5*time.Second)
	// No new connections once shutdown has started.
	if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(app.url, "http://"), time.Second); err == nil {
		conn.Close()
		t.Error("a new connection was accepted after SIGTERM")
	}

	var res result
	select {
	case res = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("the call in flight got no reply")
	}
	require.NoError(t, res.err, "the call in flight failed")
	require.Equal(t, 200, res.r.Status)
	require.True(t, res.r.OK, "reply: %s", res.r.Data)
	var created Client
	require.NoError(t, json.Unmarshal(res.r.Data, &created))
	assert.Equal(t, "in flight", created.Name)

	require.NoError(t, app.wait(10*time.Second), "exit status")
	out := app.output()
	assert.Less(t, strings.Index(out, "shutting down"), strings.Index(out, "stopped"))

	again := startExample(t, bin, "example again", nil, "-db", db)
	r, _ := post(t, again.url+"/rpc/clients", "read", `{"client_id":`+strconv.FormatInt(created.ClientID, 10)+`}`)
	require.True(t, r.OK, "the row written during shutdown is there: %s", r.Data)
	assert.JSONEq(t, string(res.r.Data), string(r.Data))
}

// A call that outlasts -shutdown-timeout does not hold the process: its
// connection is closed and the process still exits in good order.
func TestGracefulShutdownIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildExample(t)
	app := startExample(t, bin, "example", []string{createDelayEnv + "=30s"},
		"-db", filepath.Join(t.TempDir(), "clients.db"), "-shutdown-timeout", "500ms")
	go func() {
		_, _, _ = tryPost(app.url+"/rpc/clients", "create", `{"name":"too slow"}`) // its connection is cut
	}()
	app.waitLine("test hook: create waits", 10*time.Second)
	start := time.Now()
	require.NoError(t, app.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, app.wait(10*time.Second), "exit status")
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Contains(t, app.output(), "calls still running after 500ms")
}

// SIGTERM with a stream open: the stream ends at once with its 503 error
// event, and the process exits without waiting for it (countdown 100 would
// run for 5 s; -shutdown-timeout is 20 s).
func TestGracefulShutdownEndsStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildExample(t)
	app := startExample(t, bin, "example", nil, "-db", filepath.Join(t.TempDir(), "clients.db"), "-shutdown-timeout", "20s")
	started := make(chan struct{})
	type end struct {
		items int
		err   error
	}
	ended := make(chan end, 1)
	go func() {
		c := &echorpc.Client{Endpoint: app.url + "/rpc/tester"}
		items := 0
		for _, err := range c.Stream(context.Background(), "countdown", 100) {
			if err != nil {
				ended <- end{items, err}
				return
			}
			if items++; items == 1 {
				close(started)
			}
		}
		ended <- end{items, nil}
	}()
	select {
	case <-started:
	case e := <-ended:
		t.Fatalf("the stream ended before its first item: %v", e.err)
	case <-time.After(10 * time.Second):
		t.Fatal("no first item")
	}
	start := time.Now()
	require.NoError(t, app.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case got := <-ended:
		var e *echorpc.Error
		require.True(t, errors.As(got.err, &e), "%v", got.err)
		assert.Equal(t, 503, e.Status)
		assert.Equal(t, "Server is shutting down.", e.Message)
		assert.Less(t, got.items, 100)
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end")
	}
	require.NoError(t, app.wait(10*time.Second), "exit status")
	assert.Less(t, time.Since(start), 3*time.Second, "shutdown waited for the stream")
	assert.NotContains(t, app.output(), "calls still running")
}
