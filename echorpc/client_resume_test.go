package echorpc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resumeServer streams the numbers after Last-Event-ID up to 3, and cuts
// the connection after each item when cutEach is set (after the first
// item of the first connection otherwise).
func resumeServer(t *testing.T, cutEach bool) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var connections atomic.Int64
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	echorpc.New(e.Group("/rpc"), echorpc.Config{Functions: echorpc.Funcs{
		"count": echorpc.Stream(func(c echo.Context, in any, send func(string, int) error) error {
			n := connections.Add(1)
			from, _ := strconv.Atoi(c.Request().Header.Get("Last-Event-ID"))
			for i := from + 1; i <= 3; i++ {
				if err := send(strconv.Itoa(i), i); err != nil {
					return err
				}
				if cutEach || n == 1 {
					panic(http.ErrAbortHandler) // cut the connection
				}
			}
			return nil
		}),
	}})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, &connections
}

func collect(t *testing.T, client *echorpc.Client) ([]int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []int
	for item, err := range client.Stream(ctx, "count", nil) {
		if err != nil {
			return got, err
		}
		var n int
		require.NoError(t, json.Unmarshal(item, &n))
		got = append(got, n)
	}
	return got, nil
}

func TestClientStreamResumesFromTheLastEventID(t *testing.T) {
	srv, connections := resumeServer(t, false)
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc", Retry: &echorpc.Retry{Base: 10 * time.Millisecond},
		Idempotent: map[string]bool{"count": true}}
	got, err := collect(t, client)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2, 3}, got)
	assert.Equal(t, int64(2), connections.Load())
}

func TestClientStreamReconnectsShareOneBudget(t *testing.T) {
	srv, connections := resumeServer(t, true)
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc", Retry: &echorpc.Retry{Attempts: 3, Base: 10 * time.Millisecond},
		Idempotent: map[string]bool{"count": true}}
	got, err := collect(t, client)
	// Every connection brings an item, yet the count does not start afresh:
	// three connections in all, then the cut is the caller's error.
	require.Error(t, err)
	assert.Equal(t, []int{1, 2, 3}[:len(got)], got)
	assert.Equal(t, int64(3), connections.Load())

	// Without Idempotent, a cut stream is not resumed.
	connections.Store(0)
	plain := &echorpc.Client{Endpoint: srv.URL + "/rpc", Retry: &echorpc.Retry{Base: 10 * time.Millisecond}}
	got, err = collect(t, plain)
	require.Error(t, err)
	assert.Equal(t, []int{1}, got)
	assert.Equal(t, int64(1), connections.Load())
}
