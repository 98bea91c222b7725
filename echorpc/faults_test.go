package echorpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
	glog "github.com/labstack/gommon/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a log sink that tests read while servers write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestTimeout(t *testing.T) {
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	wait := func(c echo.Context, in int) (int, error) {
		select {
		case <-time.After(time.Duration(in) * time.Millisecond):
			return in, nil
		case <-c.Request().Context().Done():
			return 0, c.Request().Context().Err()
		}
	}
	echorpc.New(e, echorpc.Config{Prefix: "/rpc", Timeout: 50 * time.Millisecond}).
		Functions(echorpc.Funcs{"wait": echorpc.Func(wait)}).
		Functions(echorpc.Funcs{"patient": echorpc.Func(wait)}, echorpc.WithTimeout(time.Second))

	tests := []struct {
		name         string
		whenFunction string
		whenMillis   string
		expectStatus int
		expectBody   string
	}{
		{name: "200-in-time", whenFunction: "wait", whenMillis: "1", expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":null,"data":1}`},
		{name: "504-instance-timeout", whenFunction: "wait", whenMillis: "5000", expectStatus: 504,
			expectBody: `{"weerpc":1.1,"ok":false,"message":"Deadline exceeded.","data":null}`},
		{name: "200-function-timeout-longer", whenFunction: "patient", whenMillis: "100", expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":null,"data":100}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			rec := post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"`+tt.whenFunction+`","data":`+tt.whenMillis+`}`)
			assert.Equal(t, tt.expectStatus, rec.Code)
			assert.Equal(t, tt.expectBody, rec.Body.String())
			assert.Less(t, time.Since(start), 4*time.Second, "the deadline ended the call")
		})
	}
}

// A handler that blocks until the caller goes away sees its request context
// cancelled, and the server logs that the caller left.
func TestClientGoesAway(t *testing.T) {
	log := &syncBuffer{}
	started := make(chan struct{})
	returned := make(chan error, 1)
	e := echo.New()
	e.Logger.SetOutput(log)
	e.Logger.SetLevel(glog.WARN)
	echorpc.New(e, echorpc.Config{Prefix: "/rpc"}).Functions(echorpc.Funcs{
		"block": echorpc.Func(func(c echo.Context, in any) (any, error) {
			close(started)
			<-c.Request().Context().Done()
			err := c.Request().Context().Err()
			returned <- err
			return nil, err
		}),
	})
	srv := httptest.NewServer(e)
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	err := (&echorpc.Client{Endpoint: srv.URL + "/rpc"}).Call(ctx, "block", nil, nil)
	require.ErrorIs(t, err, context.Canceled)
	select {
	case err := <-returned:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's context was not cancelled")
	}
	assert.Eventually(t, func() bool { return strings.Contains(log.String(), "the caller went away") }, 5*time.Second, 10*time.Millisecond)
}

// A panic is answered 500, logged once with its stack, and the server goes
// on serving on the same keep-alive connection.
func TestPanicKeepsConnection(t *testing.T) {
	log := &syncBuffer{}
	e := echo.New()
	e.Logger.SetOutput(log)
	echorpc.New(e, echorpc.Config{Prefix: "/rpc"}).Functions(echorpc.Funcs{
		"panic": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response { panic("kaboom") }),
		"echo":  echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response { return echorpc.Success("", data) }),
	})
	srv := httptest.NewUnstartedServer(e)
	var conns int
	var mu sync.Mutex
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()

	for i, fn := range []string{"panic", "echo", "panic", "echo"} {
		res, err := srv.Client().Post(srv.URL+"/rpc", "application/json", strings.NewReader(`{"weerpc":1.1,"function":"`+fn+`","data":1}`))
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if fn == "panic" {
			assert.Equal(t, 500, res.StatusCode, i)
			assert.Equal(t, `{"weerpc":1.1,"ok":false,"message":"Internal error.","data":null}`, string(body))
		} else {
			assert.Equal(t, 200, res.StatusCode, i)
		}
	}
	mu.Lock()
	assert.Equal(t, 1, conns, "all calls used one connection")
	mu.Unlock()
	logged := log.String()
	assert.Equal(t, 2, strings.Count(logged, "panic: kaboom"), "each panic is logged once")
	assert.Contains(t, logged, "goroutine ", "with its stack")
}

// http.ErrAbortHandler still aborts the connection, as net/http intends.
func TestAbortHandler(t *testing.T) {
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	echorpc.New(e, echorpc.Config{Prefix: "/rpc"}).Functions(echorpc.Funcs{
		"abort": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response { panic(http.ErrAbortHandler) }),
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	_, err := srv.Client().Post(srv.URL+"/rpc", "application/json", strings.NewReader(`{"weerpc":1.1,"function":"abort"}`))
	require.Error(t, err, "the connection was aborted without a reply")
}
