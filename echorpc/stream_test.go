package echorpc_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// streamServer has streaming functions for the tests; events counts what
// the handlers saw end.
func streamServer(t *testing.T, cfg echorpc.Config, ended chan<- error) *echo.Echo {
	t.Helper()
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	cfg.Prefix = "/rpc"
	cfg.MaxBatch = 5
	rpc := echorpc.New(e, cfg)
	report := func(err error) error {
		if ended != nil {
			ended <- err
		}
		return err
	}
	rpc.Functions(echorpc.Funcs{
		"countdown": echorpc.Stream(func(c echo.Context, n int, send func(string, int) error) error {
			if n < 1 {
				return &echorpc.Error{Status: http.StatusBadRequest, Message: "n must be at least 1"}
			}
			for i := n; i > 0; i-- {
				if err := send("", i); err != nil {
					return report(err)
				}
			}
			return report(nil)
		}),
		"resume": echorpc.Stream(func(c echo.Context, _ any, send func(string, string) error) error {
			last := c.Request().Header.Get("Last-Event-ID")
			return send("after-"+last, "resumed after "+last)
		}),
		"fail_after_one": echorpc.Stream(func(c echo.Context, _ any, send func(string, int) error) error {
			_ = send("", 1)
			return errors.New("secret failure")
		}),
		"app_fail": echorpc.Stream(func(c echo.Context, _ any, send func(string, int) error) error {
			return &echorpc.Error{Message: "Not today.", Data: map[string]int{"retry_in": 5}}
		}),
		"app_fail_later": echorpc.Stream(func(c echo.Context, _ any, send func(string, int) error) error {
			_ = send("", 1)
			return &echorpc.Error{Status: http.StatusConflict, Message: "Not today."}
		}),
		"forever": echorpc.Stream(func(c echo.Context, _ any, send func(string, []byte) error) error {
			if err := send("", []byte("first")); err != nil {
				return report(err)
			}
			<-c.Request().Context().Done()
			return report(c.Request().Context().Err())
		}),
		"flood": echorpc.Stream(func(c echo.Context, _ any, send func(string, string) error) error {
			item := strings.Repeat("x", 64<<10)
			for {
				if err := send("", item); err != nil {
					return report(err)
				}
			}
		}),
		"panics": echorpc.Stream(func(c echo.Context, _ any, send func(string, int) error) error {
			_ = send("", 1)
			panic("secret panic")
		}),
		"aborts": echorpc.Stream(func(c echo.Context, _ any, send func(string, int) error) error {
			_ = send("", 1)
			panic(http.ErrAbortHandler)
		}),
		"silent": echorpc.Stream(func(c echo.Context, _ any, send func(string, int) error) error {
			<-c.Request().Context().Done()
			return nil
		}),
		"call": echorpc.Func(func(c echo.Context, in int) (int, error) { return in, nil }),
	})
	return e
}

func postStream(e http.Handler, body string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/rpc", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestStreamWire(t *testing.T) {
	e := streamServer(t, echorpc.Config{}, nil)
	tests := []struct {
		name         string
		whenBody     string
		whenHeader   map[string]string
		expectStatus int
		expectType   string
		expectBody   string
	}{
		{name: "200-items-then-end", whenBody: `{"weerpc":1.1,"function":"countdown","data":3}`, expectStatus: 200, expectType: "text/event-stream",
			expectBody: "id: 1\ndata: {\"weerpc\":1.1,\"ok\":true,\"message\":null,\"data\":3}\n\n" +
				"id: 2\ndata: {\"weerpc\":1.1,\"ok\":true,\"message\":null,\"data\":2}\n\n" +
				"id: 3\ndata: {\"weerpc\":1.1,\"ok\":true,\"message\":null,\"data\":1}\n\n" +
				"event: end\ndata: {\"weerpc\":1.1,\"ok\":true,\"message\":null,\"data\":null}\n\n"},
		{name: "200-dialect-1.0", whenBody: `{"wrpc":1.0,"function":"countdown","data":1}`, expectStatus: 200, expectType: "text/event-stream",
			expectBody: "id: 1\ndata: {\"wrpc\":1.0,\"ok\":true,\"message\":null,\"data\":1}\n\n" +
				"event: end\ndata: {\"wrpc\":1.0,\"ok\":true,\"message\":null,\"data\":null}\n\n"},
		{name: "200-resume-with-last-event-id", whenBody: `{"weerpc":1.1,"function":"resume"}`, whenHeader: map[string]string{"Last-Event-ID": "7"},
			expectStatus: 200, expectType: "text/event-stream",
			expectBody: "id: after-7\ndata: {\"weerpc\":1.1,\"ok\":true,\"message\":null,\"data\":\"resumed after 7\"}\n\n" +
				"event: end\ndata: {\"weerpc\":1.1,\"ok\":true,\"message\":null,\"data\":null}\n\n"},
		{name: "error-event-500-after-start", whenBody: `{"weerpc":1.1,"function":"fail_after_one"}`, expectStatus: 200, expectType: "text/event-stream",
			expectBody: "id: 1\ndata: {\"weerpc\":1.1,\"ok\":true,\"message\":null,\"data\":1}\n\n" +
				"event: error\ndata: {\"weerpc\":1.1,\"ok\":false,\"message\":\"Internal error.\",\"data\":null,\"status\":500}\n\n"},
		{name: "200-failure-before-any-item-is-a-call-answer", whenBody: `{"weerpc":1.1,"function":"app_fail"}`, expectStatus: 200, expectType: "application/json",
			expectBody: `{"weerpc":1.1,"ok":false,"message":"Not today.","data":{"retry_in":5}}`},
		{name: "400-handler-refuses-before-start", whenBody: `{"weerpc":1.1,"function":"countdown","data":0}`, expectStatus: 400, expectType: "application/json",
			expectBody: `{"weerpc":1.1,"ok":false,"message":"n must be at least 1","data":null}`},
		{name: "error-event-application-failure-after-start", whenBody: `{"weerpc":1.1,"function":"app_fail_later"}`, expectStatus: 200, expectType: "text/event-stream",
			expectBody: "id: 1\ndata: {\"weerpc\":1.1,\"ok\":true,\"message\":null,\"data\":1}\n\n" +
				"event: error\ndata: {\"weerpc\":1.1,\"ok\":false,\"message\":\"Not today.\",\"data\":null,\"status\":409}\n\n"},
		{name: "error-event-500-on-panic", whenBody: `{"weerpc":1.1,"function":"panics"}`, expectStatus: 200, expectType: "text/event-stream",
			expectBody: "id: 1\ndata: {\"weerpc\":1.1,\"ok\":true,\"message\":null,\"data\":1}\n\n" +
				"event: error\ndata: {\"weerpc\":1.1,\"ok\":false,\"message\":\"Internal error.\",\"data\":null,\"status\":500}\n\n"},
		{name: "406-without-accept", whenBody: `{"weerpc":1.1,"function":"countdown","data":3}`, whenHeader: map[string]string{"Accept": "application/json"},
			expectStatus: 406, expectType: "application/json",
			expectBody: `{"weerpc":1.1,"ok":false,"message":"This function streams: call it with Accept: text/event-stream.","data":null}`},
		{name: "400-data-before-start", whenBody: `{"weerpc":1.1,"function":"countdown","data":"x"}`, expectStatus: 400, expectType: "application/json",
			expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid data: the data must be an integer.","data":{"errors":[{"path":"","rule":"type","param":"integer","message":"must be an integer"}]}}`},
		{name: "404-unknown-before-start", whenBody: `{"weerpc":1.1,"function":"nope"}`, expectStatus: 404, expectType: "application/json",
			expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid function.","data":null}`},
		{name: "400-stream-in-batch", whenBody: `[{"weerpc":1.1,"function":"countdown","data":1}]`, // a streamed batch: see batch_run_test.go
			expectStatus: 200, expectType: "text/event-stream",
			expectBody: "event: item\ndata: {\"weerpc\":1.1,\"ok\":false,\"message\":\"A streaming function cannot be a batch item.\",\"data\":null,\"status\":400,\"index\":0}\n\n"},
		{name: "200-plain-call-with-event-stream-accept", whenBody: `{"weerpc":1.1,"function":"call","data":2}`, expectStatus: 200, expectType: "application/json",
			expectBody: `{"weerpc":1.1,"ok":true,"message":null,"data":2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := postStream(e, tt.whenBody, tt.whenHeader)
			assert.Equal(t, tt.expectStatus, rec.Code)
			assert.Equal(t, tt.expectType, rec.Header().Get("Content-Type"))
			assert.Equal(t, tt.expectBody, rec.Body.String())
			if tt.expectType == "text/event-stream" {
				assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
				assert.Equal(t, "no", rec.Header().Get("X-Accel-Buffering"))
			}
		})
	}
}

func TestStreamGoClient(t *testing.T) {
	srv := httptest.NewServer(streamServer(t, echorpc.Config{}, nil))
	defer srv.Close()
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
	var got []int
	for item, err := range client.Stream(context.Background(), "countdown", 3) {
		require.NoError(t, err)
		var n int
		require.NoError(t, json.Unmarshal(item, &n))
		got = append(got, n)
	}
	assert.Equal(t, []int{3, 2, 1}, got)

	var failure error
	items := 0
	for _, err := range client.Stream(context.Background(), "fail_after_one", nil) {
		if err != nil {
			failure = err
			continue
		}
		items++
	}
	assert.Equal(t, 1, items)
	var e *echorpc.Error
	require.ErrorAs(t, failure, &e)
	assert.Equal(t, 500, e.Status)
	assert.Equal(t, "Internal error.", e.Message)

	for _, err := range client.Stream(context.Background(), "countdown", "x") {
		require.ErrorAs(t, err, &e)
		assert.Equal(t, 400, e.Status)
	}
}

// A deadline ends the stream with a 504 error event; a caller that goes
// away cancels the handler at once.
func TestStreamEnds(t *testing.T) {
	ended := make(chan error, 4)
	srv := httptest.NewServer(streamServer(t, echorpc.Config{}, ended))
	defer srv.Close()

	t.Run("504-deadline", func(t *testing.T) {
		rec := postStream(streamServer(t, echorpc.Config{}, nil), `{"weerpc":1.1,"function":"forever"}`, map[string]string{"Wrpc-Timeout-Ms": "50"})
		assert.Equal(t, 200, rec.Code)
		assert.True(t, strings.HasSuffix(rec.Body.String(),
			"event: error\ndata: {\"weerpc\":1.1,\"ok\":false,\"message\":\"Deadline exceeded.\",\"data\":null,\"status\":504}\n\n"), rec.Body.String())
	})
	t.Run("caller-goes-away", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
		for item, err := range client.Stream(ctx, "forever", nil) {
			require.NoError(t, err)
			assert.JSONEq(t, `"Zmlyc3Q="`, string(item))
			cancel()
			break
		}
		select {
		case err := <-ended:
			assert.ErrorIs(t, err, context.Canceled)
		case <-time.After(5 * time.Second):
			t.Fatal("the handler did not see the caller go away")
		}
	})
}

// Server shutdown ends every stream with a 503 error event, so Shutdown
// does not wait for streams that never end.
func TestStreamShutdown(t *testing.T) {
	e := streamServer(t, echorpc.Config{}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()

	client := &echorpc.Client{Endpoint: "http://" + ln.Addr().String() + "/rpc"}
	got := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		for _, err := range client.Stream(context.Background(), "forever", nil) {
			if err == nil {
				close(started)
				continue
			}
			got <- err
		}
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, srv.Shutdown(ctx))
	assert.Less(t, time.Since(start), 3*time.Second)
	var failure *echorpc.Error
	require.ErrorAs(t, <-got, &failure)
	assert.Equal(t, 503, failure.Status)
	assert.Equal(t, "Server is shutting down.", failure.Message)
}

// A stream handler that aborts the connection (http.ErrAbortHandler) while
// pings run leaves the server standing.
func TestStreamAbortWithPings(t *testing.T) {
	srv := httptest.NewServer(streamServer(t, echorpc.Config{StreamPing: time.Millisecond}, nil))
	defer srv.Close()
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
	for range 5 {
		var failed error
		for _, err := range client.Stream(context.Background(), "aborts", nil) {
			failed = err
		}
		assert.Error(t, failed)
	}
	time.Sleep(20 * time.Millisecond)
	var items []int
	for item, err := range client.Stream(context.Background(), "countdown", 2) {
		require.NoError(t, err)
		n, _ := strconv.Atoi(string(item))
		items = append(items, n)
	}
	assert.Equal(t, []int{2, 1}, items)
}

// A stream that has nothing to send yet (a subscription) still opens
// promptly, so that its caller knows it is listening.
func TestStreamOpensBeforeItsFirstItem(t *testing.T) {
	srv := httptest.NewServer(streamServer(t, echorpc.Config{}, nil))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/rpc", strings.NewReader(`{"weerpc":1.1,"function":"silent"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "the headers came before the first item")
	defer res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
}

func TestStreamLimitAndPing(t *testing.T) {
	e := streamServer(t, echorpc.Config{MaxStreams: 1, StreamPing: 20 * time.Millisecond}, nil)
	srv := httptest.NewServer(e)
	defer srv.Close()
	open := func() *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/rpc", strings.NewReader(`{"weerpc":1.1,"function":"forever"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		return res
	}
	first := open()
	defer first.Body.Close()
	r := bufio.NewReader(first.Body)
	var seen strings.Builder
	for !strings.Contains(seen.String(), ": ping\n\n") {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		seen.WriteString(line)
	}

	second := open()
	body, _ := io.ReadAll(second.Body)
	second.Body.Close()
	assert.Equal(t, 503, second.StatusCode)
	assert.Equal(t, "1", second.Header.Get("Retry-After"))
	assert.Equal(t, `{"weerpc":1.1,"ok":false,"message":"Too many open streams: try again later.","data":null}`, string(body))
}

// A caller that stops reading is dropped after the write timeout: send
// fails and the handler returns, instead of the server buffering forever.
func TestStreamSlowConsumer(t *testing.T) {
	ended := make(chan error, 1)
	e := streamServer(t, echorpc.Config{StreamWriteTimeout: 200 * time.Millisecond}, ended)
	srv := httptest.NewServer(e)
	defer srv.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	body := `{"weerpc":1.1,"function":"flood"}`
	_, err = io.WriteString(conn, "POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\n\r\n"+body)
	require.NoError(t, err)
	// Never read.
	select {
	case err := <-ended:
		assert.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the handler was not stopped")
	}
}

// Interceptors see a stream's start and end, with the items sent.
func TestStreamInterceptors(t *testing.T) {
	var seen []echorpc.Call
	var results []echorpc.Result
	var inside atomic.Bool
	record := func(next echorpc.CallFunc) echorpc.CallFunc {
		return func(c echo.Context, call echorpc.Call) echorpc.Result {
			inside.Store(true)
			res := next(c, call)
			seen, results = append(seen, call), append(results, res)
			return res
		}
	}
	e := streamServer(t, echorpc.Config{Interceptors: []echorpc.Interceptor{record}}, nil)
	postStream(e, `{"weerpc":1.1,"function":"countdown","data":4}`, nil)
	postStream(e, `{"weerpc":1.1,"function":"fail_after_one"}`, nil)
	require.Len(t, seen, 2)
	assert.True(t, seen[0].Stream)
	assert.Equal(t, 4, results[0].Items)
	assert.Equal(t, "ok", results[0].Class())
	assert.Equal(t, 1, results[1].Items)
	assert.Equal(t, "internal", results[1].Class())
}
