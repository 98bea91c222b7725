package idemredis_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/echo-rpc/wrpc/echorpc/idempotency"
	"github.com/echo-rpc/wrpc/echorpc/idempotency/idemredis"
	"github.com/echo-rpc/wrpc/echorpc/idempotency/internal/storetest"
)

// startRedis runs Debian's redis-server on a free port, in a temporary
// folder, with no persistence; it skips the test when redis-server is
// missing (fails under CI or WRPC_FLEET=1), as the example's fleet test.
func startRedis(t *testing.T) (*redis.Client, *exec.Cmd) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if _, err := os.Stat("/usr/bin/redis-server"); err != nil {
			if os.Getenv("CI") != "" || os.Getenv("WRPC_FLEET") == "1" {
				t.Fatal("redis-server is missing: run make services")
			}
			t.Skip("redis-server is missing: run make services")
		}
		bin = "/usr/bin/redis-server"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var out bytes.Buffer
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", t.TempDir(),
		"--save", "", "--appendonly", "no", "--daemonize", "no")
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), MaxRetries: -1,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	deadline := time.Now().Add(20 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server not ready: %s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return rdb, cmd
}

func TestRedisStoreContract(t *testing.T) {
	rdb, _ := startRedis(t)
	storetest.Contract(t, idemredis.New(rdb, ""))
}

func TestRedisStoreExpiresAndPrefixes(t *testing.T) {
	rdb, cmd := startRedis(t)
	ctx := context.Background()
	s := idemredis.New(rdb, "app:")
	_, _, token, err := s.Begin(ctx, "k", "fp", 100*time.Millisecond)
	require.NoError(t, err)
	ttl, err := rdb.PTTL(ctx, "app:k").Result()
	require.NoError(t, err)
	assert.Positive(t, ttl, "the lease expires by Redis's own PX")
	time.Sleep(150 * time.Millisecond)
	_, taken, token2, err := s.Begin(ctx, "k", "fp", time.Minute)
	require.NoError(t, err)
	assert.False(t, taken, "a lease that ended frees the key")
	require.NoError(t, s.Finish(ctx, "k", token, "fp", idempotency.Outcome{Status: 500}, time.Hour))
	rec, _, _, _ := s.Begin(ctx, "k", "fp", time.Minute)
	assert.False(t, rec.Done, "a late Finish leaves the new lease alone")
	require.NoError(t, s.Finish(ctx, "k", token2, "fp", idempotency.Outcome{Status: 200, OK: true}, 100*time.Millisecond))
	rec, taken, _, _ = s.Begin(ctx, "k", "fp", time.Minute)
	assert.True(t, taken && rec.Done)
	time.Sleep(150 * time.Millisecond)
	_, taken, _, _ = s.Begin(ctx, "k", "fp", time.Minute)
	assert.False(t, taken, "past its TTL the outcome is gone")

	// Redis gone: every method answers an error (the instance answers 503).
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	_, _, _, err = s.Begin(ctx, "other", "fp", time.Minute)
	assert.Error(t, err)
}
