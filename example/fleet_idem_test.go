package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/echo-rpc/wrpc/echorpc"
)

// TestFleetIdempotentCreate is the fault test of idempotency keys: 1,000
// create calls through haproxy to two instances (Redis for the outcomes,
// PostgreSQL for the rows), while a TCP proxy in front of the balancer cuts
// 10 % of the connections in the middle of their reply (after the
// function ran), and one instance is killed with SIGKILL a third of the way
// in. Every call is one logical call of a Go client with Retry (one key,
// the same on each try; each call a caller of its own, as 1,000 browsers,
// so that no shared retry budget runs dry). In the end every call is
// answered success, and the table holds exactly 1,000 rows, one per call.
func TestFleetIdempotentCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis, PostgreSQL, haproxy and two instances")
	}
	redisBin, pgBin := fleetServers(t)
	redisURL := startRedis(t, redisBin)
	pgURL := startPostgres(t, pgBin)
	bin := buildExample(t)
	proxyLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer proxyLn.Close()
	env := []string{"SESSION_SECRET=fleet test key 0123456789abcdef"}
	args := []string{"-redis", redisURL, "-db", pgURL, "-host", proxyLn.Addr().String()}
	a := startExample(t, bin, "instance A", env, args...)
	b := startExample(t, bin, "instance B", env, args...)
	lb := startHAProxy(t, hostPort(a.url), hostPort(b.url))
	cut := serveCuttingProxy(proxyLn, lb, 0.10)

	const calls, workers = 1000, 16
	transport := &http.Transport{DisableKeepAlives: true} // one connection per try: 10 % of tries are cut
	defer transport.CloseIdleConnections()
	endpoint := "http://" + proxyLn.Addr().String() + "/rpc/clients"
	var done, failed atomic.Int64
	var wg sync.WaitGroup
	next := make(chan int)
	start := time.Now()
	got := make([]Client, calls)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				client := &echorpc.Client{Endpoint: endpoint, HTTPClient: &http.Client{Transport: transport},
					Idempotent: map[string]bool{"create": true},
					Retry:      &echorpc.Retry{Attempts: 30, Base: 20 * time.Millisecond, Max: 300 * time.Millisecond, MaxElapsed: 30 * time.Second}}
				ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
				err := client.Call(ctx, "create", NewClient{Name: fmt.Sprintf("idem %d", i)}, &got[i])
				cancel()
				if err != nil {
					failed.Add(1)
					t.Errorf("call %d: %v", i, err)
				}
				done.Add(1)
			}
		}()
	}
	killed := false
	for i := range calls {
		if !killed && done.Load() >= calls/3 {
			require.NoError(t, b.cmd.Process.Kill()) // SIGKILL, mid-run
			killed = true
		}
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)

	db, err := sql.Open("pgx", pgURL)
	require.NoError(t, err)
	defer db.Close()
	var rows, distinct int
	require.NoError(t, db.QueryRow(`SELECT count(*), count(DISTINCT name) FROM clients WHERE name LIKE 'idem %'`).Scan(&rows, &distinct))
	assert.Zero(t, failed.Load(), "every call answered success in the end")
	assert.Equal(t, calls, rows, "exactly one row per call")
	assert.Equal(t, calls, distinct)
	for i, c := range got {
		if c.Name != "idem "+strconv.Itoa(i) {
			t.Errorf("call %d was answered with row %+v", i, c)
			break
		}
	}
	t.Logf("%d creates through haproxy in %v: %d of %d connections cut mid-reply, instance B killed after %d; %d rows",
		calls, elapsed.Round(time.Millisecond), cut.cut.Load(), cut.conns.Load(), calls/3, rows)
}

// cuttingProxy counts what serveCuttingProxy did.
type cuttingProxy struct{ conns, cut atomic.Int64 }

// serveCuttingProxy forwards the connections of ln to upstream, and cuts
// a share of them in the middle of their reply: it passes the request on
// whole, waits for the reply's first bytes (the function has run), sends
// the client half of them and closes both sides.
func serveCuttingProxy(ln net.Listener, upstream string, share float64) *cuttingProxy {
	p := &cuttingProxy{}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			p.conns.Add(1)
			go p.forward(conn, upstream, rand.Float64() < share)
		}
	}()
	return p
}

func (p *cuttingProxy) forward(client net.Conn, upstream string, cut bool) {
	defer client.Close()
	server, err := net.DialTimeout("tcp", upstream, time.Second)
	if err != nil {
		return
	}
	defer server.Close()
	go func() { _, _ = io.Copy(server, client) }()
	if !cut {
		_, _ = io.Copy(client, server)
		return
	}
	buf := make([]byte, 64<<10)
	_ = server.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, err := server.Read(buf)
	if err != nil || n == 0 {
		return
	}
	p.cut.Add(1)
	_, _ = client.Write(buf[:n/2])
	if tc, ok := client.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // a reset, as a dropped connection
	}
}
