package echorpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resumingServer serves "count", which streams the numbers after
// Last-Event-ID (an item every pace) up to its data's "to" (forever for
// 0), and counts the opens of each stream by its data's "key"; the
// channel upgrades and stream POSTs it gets; and the connections it
// handed to WebSockets, newest last, so that a test can cut them.
type resumingServer struct {
	*httptest.Server
	upgrades, posts atomic.Int64
	stop            atomic.Bool // "count" ends at its next item

	mu       sync.Mutex
	opens    map[string]int
	hijacked []net.Conn
}

type countArgs struct {
	Key string `json:"key"`
	To  int    `json:"to"`
}

func newResumingServer(t *testing.T, cfg echorpc.Config, pace time.Duration) *resumingServer {
	t.Helper()
	s := &resumingServer{opens: map[string]int{}}
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			switch {
			case c.Request().URL.Path == "/rpc/channel.ws":
				s.upgrades.Add(1)
			case c.Request().Method == http.MethodPost:
				s.posts.Add(1)
			}
			return next(c)
		}
	})
	cfg.Functions = echorpc.Funcs{
		"count": echorpc.Stream(func(c echo.Context, in countArgs, send func(string, int) error) error {
			s.mu.Lock()
			s.opens[in.Key]++
			s.mu.Unlock()
			from, _ := strconv.Atoi(c.Request().Header.Get("Last-Event-ID"))
			for i := from + 1; in.To == 0 || i <= in.To; i++ {
				if s.stop.Load() {
					return nil
				}
				if err := send(strconv.Itoa(i), i); err != nil {
					return err
				}
				time.Sleep(pace)
			}
			return nil
		}),
	}
	echorpc.New(e.Group("/rpc"), cfg)
	s.Server = httptest.NewUnstartedServer(e)
	s.Config.Protocols = new(http.Protocols)
	s.Config.Protocols.SetHTTP1(true)
	s.Config.Protocols.SetUnencryptedHTTP2(true) // h2c, for a client that speaks HTTP/2 only
	s.Config.ConnState = func(conn net.Conn, state http.ConnState) {
		if state == http.StateHijacked {
			s.mu.Lock()
			s.hijacked = append(s.hijacked, conn)
			s.mu.Unlock()
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// cut closes, on the server's side, every connection handed to a WebSocket.
func (s *resumingServer) cut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, conn := range s.hijacked {
		_ = conn.Close()
	}
	s.hijacked = nil
}

func (s *resumingServer) openCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, k := range s.opens {
		n += k
	}
	return n
}

// streamAll runs client.Stream of "count" for each key at once, and
// returns each one's items and error.
func streamAll(t *testing.T, client *echorpc.Client, keys []string, to int) (map[string][]int, map[string]error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	got, errs := map[string][]int{}, map[string]error{}
	var wg sync.WaitGroup
	for _, key := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var items []int
			var failed error
			for item, err := range client.Stream(ctx, "count", countArgs{Key: key, To: to}) {
				if err != nil {
					failed = err
					break
				}
				var n int
				if json.Unmarshal(item, &n) != nil {
					failed = errors.New("not a number: " + string(item))
					break
				}
				items = append(items, n)
			}
			mu.Lock()
			got[key], errs[key] = items, failed
			mu.Unlock()
		}()
	}
	wg.Wait()
	return got, errs
}

// streamEach runs n streams of "count" to to at once (streamAll), and
// checks that each got every item, 1 to to, in order, with no error.
func streamEach(t *testing.T, client *echorpc.Client, n, to int) {
	t.Helper()
	got, errs := streamAll(t, client, keys(n), to)
	for _, k := range keys(n) {
		require.NoError(t, errs[k], k)
		assert.Equal(t, upTo(to), got[k], k)
	}
}

func keys(n int) []string {
	k := make([]string, n)
	for i := range k {
		k[i] = "s" + strconv.Itoa(i)
	}
	return k
}

func upTo(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i + 1
	}
	return s
}

// Many streams of one Client, at once, share one connection: every item
// of each arrives, in order, and no stream takes a request of its own.
func TestClientStreamsShareOneConnection(t *testing.T) {
	srv := newResumingServer(t, echorpc.Config{}, time.Millisecond)
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
	streamEach(t, client, 50, 20)
	assert.Equal(t, int64(1), srv.upgrades.Load())
	assert.Equal(t, int64(0), srv.posts.Load())

	// A stream that opens while the connection is idle (not yet closed)
	// takes the same one.
	streamEach(t, client, 1, 3)
	assert.Equal(t, int64(1), srv.upgrades.Load())
}

// The server cuts the shared connection mid-flight, 100 times, under 20
// streams: each resumes on a new connection from its last event id, once
// per cut, and every item of each arrives exactly once and in order.
func TestClientStreamsResumeAfterTheConnectionDrops(t *testing.T) {
	const streams, cuts = 20, 100
	srv := newResumingServer(t, echorpc.Config{}, 2*time.Millisecond)
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc", Idempotent: map[string]bool{"count": true},
		Retry: &echorpc.Retry{Attempts: cuts + 1, Base: 10 * time.Millisecond, Max: 20 * time.Millisecond}}
	type outcome struct {
		got  map[string][]int
		errs map[string]error
	}
	done := make(chan outcome, 1)
	go func() {
		got, errs := streamAll(t, client, keys(streams), 0)
		done <- outcome{got, errs}
	}()
	for i := 0; i <= cuts; i++ {
		// wait until every stream is open on the connection (i+1 opens each)
		require.Eventually(t, func() bool { return srv.openCount() == streams*(i+1) }, 10*time.Second, time.Millisecond, "cut %d", i)
		time.Sleep(5 * time.Millisecond) // items flow
		if i < cuts {
			srv.cut()
		}
	}
	srv.stop.Store(true)
	var out outcome
	select {
	case out = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the streams did not end")
	}
	for _, k := range keys(streams) {
		require.NoError(t, out.errs[k], k)
		require.NotEmpty(t, out.got[k], k)
		assert.Equal(t, upTo(len(out.got[k])), out.got[k], "%s: every item once, in order", k)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, k := range keys(streams) {
		assert.Equal(t, cuts+1, srv.opens[k], "%s: one resume per cut", k)
	}
	assert.Equal(t, int64(cuts+1), srv.upgrades.Load())
	assert.Equal(t, int64(0), srv.posts.Load())
}

// Against a server without the channel, streams go as requests of their
// own; the client asks for the channel once, not for each stream.
func TestClientStreamFallsBackWithoutTheChannel(t *testing.T) {
	srv := newResumingServer(t, echorpc.Config{DisableChannel: true}, 0)
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
	streamEach(t, client, 1, 3)
	streamEach(t, client, 5, 3)
	assert.Equal(t, int64(1), srv.upgrades.Load())
	assert.Equal(t, int64(6), srv.posts.Load())
}

// A client whose transport speaks HTTP/2 only (here h2c, prior
// knowledge) cannot upgrade to a WebSocket: its streams go as requests of
// their own, and are not held up by a dial for each.
func TestClientStreamFallsBackOverHTTP2(t *testing.T) {
	srv := newResumingServer(t, echorpc.Config{}, 0)
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	hc := &http.Client{Transport: &http.Transport{Protocols: &h2c}}
	t.Cleanup(hc.CloseIdleConnections)
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc", HTTPClient: hc}
	for range 2 {
		streamEach(t, client, 3, 3)
	}
	assert.Equal(t, int64(0), srv.upgrades.Load(), "the upgrade never leaves an HTTP/2 transport")
	assert.Equal(t, int64(6), srv.posts.Load())
}

// A full server (MaxChannels) has its streams go as requests of their
// own, and is asked again for the next stream.
func TestClientStreamFallsBackWhenChannelsAreFull(t *testing.T) {
	srv := newResumingServer(t, echorpc.Config{MaxChannels: 1}, 0)
	dialChannel(t, srv.URL, nil) // the one connection the server takes
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
	for range 2 {
		streamEach(t, client, 1, 2)
	}
	assert.Equal(t, int64(3), srv.upgrades.Load())
	assert.Equal(t, int64(2), srv.posts.Load())
}

// Past the connection's MaxChannelStreams, a stream goes as a request of
// its own, as an HTTP/2 client opens another connection past a server's
// stream bound: every stream gets every item.
func TestClientStreamFallsBackPastTheConnectionsStreams(t *testing.T) {
	srv := newResumingServer(t, echorpc.Config{MaxChannelStreams: 3}, 5*time.Millisecond)
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
	streamEach(t, client, 8, 20)
	assert.Equal(t, int64(1), srv.upgrades.Load())
	assert.Equal(t, int64(5), srv.posts.Load(), "the 5 streams past the bound of 3 took requests of their own")
}

// Stopping the loop, or ending the context, ends that stream's handler on
// the server and leaves the connection's other streams going; the
// context's deadline travels with the stream.
func TestClientChannelStreamAbortAndTimeout(t *testing.T) {
	ended := make(chan error, 10)
	srv := httptest.NewServer(streamServer(t, echorpc.Config{}, ended))
	defer srv.Close()
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	next, stop := iter.Pull2(client.Stream(ctx, "forever", nil))
	defer stop()
	item, err, _ := next()
	require.NoError(t, err)
	assert.JSONEq(t, `"Zmlyc3Q="`, string(item))

	for _, err := range client.Stream(context.Background(), "forever", nil) {
		require.NoError(t, err)
		break // the caller stops: the server's handler ends
	}
	select {
	case err := <-ended:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("stopping the loop did not end the handler")
	}

	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelShort()
	var last error
	for _, err := range client.Stream(short, "forever", nil) {
		last = err
	}
	var e *echorpc.Error
	if !errors.Is(last, context.DeadlineExceeded) { // the server's deadline came first: its 504 end
		require.ErrorAs(t, last, &e)
		assert.Equal(t, http.StatusGatewayTimeout, e.Status)
	}
	select {
	case err := <-ended:
		assert.ErrorIs(t, err, context.DeadlineExceeded, "the server's handler ends at the caller's deadline")
	case <-time.After(5 * time.Second):
		t.Fatal("the deadline did not end the handler")
	}

	cancel() // the first stream, still open
	_, err, _ = next()
	assert.ErrorIs(t, err, context.Canceled)
	select {
	case err := <-ended:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("ending the context did not end the handler")
	}
}

// The manifest says whether the channel is offered, and where; a client
// that read it does not ask a server without one.
func TestManifestAnnouncesTheChannel(t *testing.T) {
	for _, off := range []bool{false, true} {
		srv := newResumingServer(t, echorpc.Config{Manifest: true, DisableChannel: off}, 0)
		res, err := http.Get(srv.URL + "/rpc/manifest.json")
		require.NoError(t, err)
		var m struct {
			Channel *string `json:"channel"`
		}
		require.NoError(t, json.NewDecoder(res.Body).Decode(&m))
		res.Body.Close()
		client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
		require.NoError(t, client.LoadManifest(context.Background()))
		got, errs := streamAll(t, client, keys(2), 2)
		require.NoError(t, errs["s1"])
		assert.Equal(t, upTo(2), got["s1"])
		if off {
			assert.Nil(t, m.Channel)
			assert.Equal(t, int64(0), srv.upgrades.Load(), "no probe")
			assert.Equal(t, int64(2), srv.posts.Load())
		} else {
			require.NotNil(t, m.Channel)
			assert.Equal(t, "/rpc/channel.ws", *m.Channel)
			assert.Equal(t, int64(1), srv.upgrades.Load())
			assert.Equal(t, int64(0), srv.posts.Load())
		}
	}
}
