package echorpc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dialChannel opens the shared stream connection of the instance at
// base+"/rpc".
func dialChannel(t *testing.T, base string, header http.Header) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/rpc/channel.ws", &websocket.DialOptions{HTTPHeader: header})
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, res.StatusCode)
	t.Cleanup(func() { _ = conn.CloseNow() })
	return conn
}

func sendMessage(t *testing.T, conn *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, conn.Write(ctx, websocket.MessageText, []byte(msg)))
}

// readMessage reads the next message, as text.
func readMessage(t *testing.T, conn *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := conn.Read(ctx)
	require.NoError(t, err)
	return string(b)
}

// The channel carries each stream as its own request carries it: the same
// items, ids, end and failures, framed as messages; what does not start is
// answered as a call, with its status.
func TestChannelWire(t *testing.T) {
	srv := httptest.NewServer(streamServer(t, echorpc.Config{}, nil))
	defer srv.Close()
	conn := dialChannel(t, srv.URL, nil)
	ok := func(data string) string { return `{"weerpc":1.1,"ok":true,"message":null,"data":` + data + `}` }
	tests := []struct {
		name       string
		whenOpen   string
		expectMsgs []string
	}{
		{name: "items-then-end", whenOpen: `"call":{"weerpc":1.1,"function":"countdown","data":3}`, expectMsgs: []string{
			`"eventId":"1","envelope":` + ok("3"), `"eventId":"2","envelope":` + ok("2"), `"eventId":"3","envelope":` + ok("1"), `"end":` + ok("null")}},
		{name: "dialect-1.0", whenOpen: `"call":{"wrpc":1.0,"function":"countdown","data":1}`, expectMsgs: []string{
			`"eventId":"1","envelope":{"wrpc":1.0,"ok":true,"message":null,"data":1}`, `"end":{"wrpc":1.0,"ok":true,"message":null,"data":null}`}},
		{name: "resume-with-last-event-id", whenOpen: `"call":{"weerpc":1.1,"function":"resume"},"lastEventId":"7"`, expectMsgs: []string{
			`"eventId":"after-7","envelope":` + ok(`"resumed after 7"`), `"end":` + ok("null")}},
		{name: "error-500-after-start", whenOpen: `"call":{"weerpc":1.1,"function":"fail_after_one"}`, expectMsgs: []string{
			`"eventId":"1","envelope":` + ok("1"), `"end":{"weerpc":1.1,"ok":false,"message":"Internal error.","data":null,"status":500}`}},
		{name: "failure-before-any-item-is-a-reply", whenOpen: `"call":{"weerpc":1.1,"function":"app_fail"}`, expectMsgs: []string{
			`"reply":{"weerpc":1.1,"ok":false,"message":"Not today.","data":{"retry_in":5}},"status":200`}},
		{name: "400-handler-refuses-before-start", whenOpen: `"call":{"weerpc":1.1,"function":"countdown","data":0}`, expectMsgs: []string{
			`"reply":{"weerpc":1.1,"ok":false,"message":"n must be at least 1","data":null},"status":400`}},
		{name: "404-unknown", whenOpen: `"call":{"weerpc":1.1,"function":"nope"}`, expectMsgs: []string{
			`"reply":{"weerpc":1.1,"ok":false,"message":"Invalid function.","data":null},"status":404`}},
		{name: "400-not-an-envelope", whenOpen: `"call":[1]`, expectMsgs: []string{
			`"reply":{"weerpc":1.1,"ok":false,"message":"Request must be a JSON object.","data":null},"status":400`}},
		{name: "plain-call-answers-as-a-reply", whenOpen: `"call":{"weerpc":1.1,"function":"call","data":2}`, expectMsgs: []string{
			`"reply":` + ok("2") + `,"status":200`}},
		{name: "started-with-nothing-to-send", whenOpen: `"call":{"weerpc":1.1,"function":"silent"},"timeout":300`, expectMsgs: []string{
			`"start":true`, `"end":{"weerpc":1.1,"ok":true,"message":null,"data":null}`}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := i + 1
			sendMessage(t, conn, fmt.Sprintf(`{"open":%d,%s}`, id, tt.whenOpen))
			for _, want := range tt.expectMsgs {
				assert.Equal(t, fmt.Sprintf(`{"id":%d,%s}`, id, want), readMessage(t, conn))
			}
		})
	}
}

// Streams on one connection run at once, each on its own: closing one
// ends its handler and leaves the others going; a reused id is refused.
func TestChannelStreamsAreIndependent(t *testing.T) {
	ended := make(chan error, 10)
	srv := httptest.NewServer(streamServer(t, echorpc.Config{}, ended))
	defer srv.Close()
	conn := dialChannel(t, srv.URL, nil)
	sendMessage(t, conn, `{"open":1,"call":{"weerpc":1.1,"function":"forever"}}`)
	sendMessage(t, conn, `{"open":2,"call":{"weerpc":1.1,"function":"forever"}}`)
	got := map[string]bool{readMessage(t, conn): true, readMessage(t, conn): true}
	assert.True(t, got[`{"id":1,"eventId":"1","envelope":{"weerpc":1.1,"ok":true,"message":null,"data":"Zmlyc3Q="}}`], got)
	assert.True(t, got[`{"id":2,"eventId":"1","envelope":{"weerpc":1.1,"ok":true,"message":null,"data":"Zmlyc3Q="}}`], got)

	sendMessage(t, conn, `{"open":2,"call":{"weerpc":1.1,"function":"countdown","data":1}}`)
	assert.Equal(t, `{"id":2,"reply":{"weerpc":1.1,"ok":false,"message":"A stream's id is already open on this connection.","data":null},"status":400}`, readMessage(t, conn))

	sendMessage(t, conn, `{"close":1}`)
	select {
	case err := <-ended:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("closing stream 1 did not end its handler")
	}
	// stream 2 is still open: a new stream runs beside it
	sendMessage(t, conn, `{"open":3,"call":{"weerpc":1.1,"function":"countdown","data":1}}`)
	assert.Equal(t, `{"id":3,"eventId":"1","envelope":{"weerpc":1.1,"ok":true,"message":null,"data":1}}`, readMessage(t, conn))
	assert.Equal(t, `{"id":3,"end":{"weerpc":1.1,"ok":true,"message":null,"data":null}}`, readMessage(t, conn))
	assert.Equal(t, nil, <-ended) // countdown's own end

	// a dropped connection ends the handlers of its streams
	_ = conn.CloseNow()
	select {
	case err := <-ended:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("a dropped connection did not end its stream's handler")
	}
}

// The upgrade passes the cross-origin check and the instance's rules, and
// the bounds: MaxChannels counts connections, MaxStreams each stream of
// one; a message that is not one closes the connection.
func TestChannelAdmission(t *testing.T) {
	srv := httptest.NewServer(streamServer(t, echorpc.Config{MaxStreams: 1, MaxChannels: 1, TrustedOrigins: []string{"https://app.example.com"}}, nil))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/rpc/channel.ws"
	dial := func(origin string) (*websocket.Conn, *http.Response, error) {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		return websocket.Dial(context.Background(), url, &websocket.DialOptions{HTTPHeader: h})
	}
	_, res, err := dial("https://evil.example")
	require.Error(t, err)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)

	conn, _, err := dial("https://app.example.com")
	require.NoError(t, err)
	defer conn.CloseNow()
	_, res, err = dial(srv.URL) // same origin, but over MaxChannels
	require.Error(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)

	sendMessage(t, conn, `{"open":1,"call":{"weerpc":1.1,"function":"forever"}}`)
	readMessage(t, conn)
	sendMessage(t, conn, `{"open":2,"call":{"weerpc":1.1,"function":"forever"}}`)
	assert.Equal(t, `{"id":2,"reply":{"weerpc":1.1,"ok":false,"message":"Too many open streams: try again later.","data":null},"status":503,"retryAfter":1}`, readMessage(t, conn))

	sendMessage(t, conn, `{"nope":1}`)
	_, _, err = conn.Read(context.Background())
	assert.Equal(t, websocket.StatusUnsupportedData, websocket.CloseStatus(err))

	// a plain GET is told what the path is
	plain, err := http.Get(srv.URL + "/rpc/channel.ws")
	require.NoError(t, err)
	defer plain.Body.Close()
	assert.Equal(t, http.StatusUpgradeRequired, plain.StatusCode)
}

// With the channel off, the upgrade and the client's channel chunk are
// answered 404, so the clients give each stream its own request.
func TestChannelOff(t *testing.T) {
	srv := httptest.NewServer(streamServer(t, echorpc.Config{DisableChannel: true}, nil))
	defer srv.Close()
	_, res, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/rpc/channel.ws", nil)
	require.Error(t, err)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	chunk, err := http.Get(srv.URL + "/rpc/channel.mjs")
	require.NoError(t, err)
	defer chunk.Body.Close()
	assert.Equal(t, http.StatusNotFound, chunk.StatusCode)
}

// A server shutdown ends every stream of every connection with its 503
// end, then closes the connection, going away, without waiting for them.
func TestChannelShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: streamServer(t, echorpc.Config{}, nil), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	conns := []*websocket.Conn{dialChannel(t, "http://"+ln.Addr().String(), nil), dialChannel(t, "http://"+ln.Addr().String(), nil)}
	for _, conn := range conns {
		for id := 1; id <= 3; id++ {
			sendMessage(t, conn, fmt.Sprintf(`{"open":%d,"call":{"weerpc":1.1,"function":"forever"}}`, id))
		}
		for range 3 {
			readMessage(t, conn)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, srv.Shutdown(ctx))
	assert.Less(t, time.Since(start), 3*time.Second)
	for _, conn := range conns {
		ends := map[int]bool{}
		for range 3 {
			var m struct {
				ID  int             `json:"id"`
				End json.RawMessage `json:"end"`
			}
			require.NoError(t, json.Unmarshal([]byte(readMessage(t, conn)), &m))
			assert.JSONEq(t, `{"weerpc":1.1,"ok":false,"message":"Server is shutting down.","data":null,"status":503}`, string(m.End))
			ends[m.ID] = true
		}
		assert.Len(t, ends, 3)
		_, _, err := conn.Read(context.Background())
		assert.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(err))
	}
}

// A connection holds at most MaxChannelStreams streams: one more is
// refused at once, with no goroutine started for it, and the others go
// on; once one ends, its place is free again. Opening without end costs
// the server no more than the bound's goroutines.
func TestChannelStreamsPerConnection(t *testing.T) {
	t.Run("bound", func(t *testing.T) {
		srv := httptest.NewServer(streamServer(t, echorpc.Config{MaxChannelStreams: 2}, nil))
		defer srv.Close()
		conn := dialChannel(t, srv.URL, nil)
		for id := 1; id <= 2; id++ {
			sendMessage(t, conn, fmt.Sprintf(`{"open":%d,"call":{"weerpc":1.1,"function":"forever"}}`, id))
			assert.Contains(t, readMessage(t, conn), fmt.Sprintf(`{"id":%d,"eventId":"1"`, id))
		}
		sendMessage(t, conn, `{"open":3,"call":{"weerpc":1.1,"function":"countdown","data":1}}`)
		assert.Equal(t, `{"id":3,"reply":{"weerpc":1.1,"ok":false,"message":"Too many open streams on this connection: try again later.","data":null},"status":503,"retryAfter":1,"full":true}`, readMessage(t, conn))

		sendMessage(t, conn, `{"close":1}`)
		require.Eventually(t, func() bool {
			sendMessage(t, conn, `{"open":4,"call":{"weerpc":1.1,"function":"countdown","data":1}}`)
			return strings.Contains(readMessage(t, conn), `"eventId":"1"`)
		}, 5*time.Second, 20*time.Millisecond, "stream 1's place is free once it ended")
		assert.Equal(t, `{"id":4,"end":{"weerpc":1.1,"ok":true,"message":null,"data":null}}`, readMessage(t, conn))
	})
	t.Run("default-bounds-goroutines", func(t *testing.T) {
		srv := httptest.NewServer(streamServer(t, echorpc.Config{}, nil))
		defer srv.Close()
		conn := dialChannel(t, srv.URL, nil)
		before := runtime.NumGoroutine()
		const opens = 1500
		replies := make(chan string, opens)
		go func() {
			for {
				_, b, err := conn.Read(context.Background())
				if err != nil {
					close(replies)
					return
				}
				replies <- string(b)
			}
		}()
		for id := 1; id <= opens; id++ {
			sendMessage(t, conn, fmt.Sprintf(`{"open":%d,"call":{"weerpc":1.1,"function":"forever"}}`, id))
		}
		started, refused := 0, 0
		for started+refused < opens {
			select {
			case m := <-replies:
				switch {
				case strings.Contains(m, `"eventId":"1"`):
					started++
				case strings.Contains(m, `"status":503`):
					refused++
				default:
					t.Fatalf("unexpected message %s", m)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%d started and %d refused of %d opens", started, refused, opens)
			}
		}
		assert.Equal(t, 1000, started)
		assert.Equal(t, opens-1000, refused)
		assert.Less(t, runtime.NumGoroutine()-before, 1000+50, "a goroutine for each open stream, none for a refused one")
	})
}
