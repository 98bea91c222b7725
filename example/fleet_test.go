package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Fleet mode on real engines: two instances of the built binary share
// sessions in Redis and clients in PostgreSQL, each server started by the
// test on a free port in a temporary folder. `make services` installs
// Debian's redis-server and postgresql. Without them the test skips, and
// fails when CI or WRPC_FLEET=1 is set.
func TestFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis, PostgreSQL and two instances")
	}
	redisBin, pgBin := fleetServers(t)
	redisURL := startRedis(t, redisBin)
	pgURL := startPostgres(t, pgBin)

	t.Run("store", func(t *testing.T) {
		store, err := OpenStore(pgURL)
		require.NoError(t, err)
		defer store.Close()
		testStoreAtomic(t, store)
	})

	bin := buildExample(t)
	env := []string{"SESSION_SECRET=fleet test key 0123456789abcdef"}
	args := []string{"-redis", redisURL, "-db", pgURL}
	a := startExample(t, bin, "instance A", env, args...)
	b := startExample(t, bin, "instance B", env, args...)

	// A login on A makes a guarded call on B succeed.
	r, set := post(t, a.url+"/rpc/auth/login", "login", "")
	require.True(t, r.OK, "login on A: %v", r.Message)
	require.Len(t, set, 1)
	cookie := set[0]
	r, _ = post(t, b.url+"/rpc/tester", "add_string_auth_session", `"fleet"`, cookie)
	assert.True(t, r.OK, "A's session on B: %d %v", r.Status, r.Message)
	r, _ = post(t, b.url+"/rpc/auth", "session", "", cookie)
	assert.JSONEq(t, `{"logged_in":true,"user_id":100}`, string(r.Data))

	// make_admin on B is seen on A: the session lives in Redis, not in the
	// cookie, whose value does not change.
	r, set = post(t, b.url+"/rpc/auth/login", "make_admin", "", cookie)
	require.True(t, r.OK)
	if len(set) == 1 {
		cookie = set[0]
	}
	r, _ = post(t, a.url+"/rpc/admin", "add_numbers", "[1,2]", cookie)
	assert.True(t, r.OK, "admin on A after make_admin on B: %d %v", r.Status, r.Message)

	// Logging in again starts a new session under a new id: the old cookie
	// is dead (no session fixation).
	r, set = post(t, a.url+"/rpc/auth/login", "login", "", cookie)
	require.True(t, r.OK)
	require.Len(t, set, 1)
	require.NotEqual(t, cookie.Value, set[0].Value, "login gives a new session id")
	r, _ = post(t, b.url+"/rpc/auth", "session", "", cookie)
	assert.Equal(t, 401, r.Status, "the session before the new login is gone")
	cookie = set[0]
	r, _ = post(t, b.url+"/rpc/auth", "session", "", cookie)
	assert.JSONEq(t, `{"logged_in":true,"user_id":100}`, string(r.Data), "the new session has nothing of the old")

	// After logout on A, the old cookie replayed on B gets 401.
	r, _ = post(t, a.url+"/rpc/auth", "logout", "", cookie)
	require.True(t, r.OK)
	for _, call := range []struct{ path, fn, data string }{
		{"/rpc/auth", "session", ""},
		{"/rpc/tester", "add_string_auth_session", `"x"`},
		{"/rpc/admin", "add_numbers", "[1]"},
	} {
		r, _ = post(t, b.url+call.path, call.fn, call.data, cookie)
		assert.Equal(t, 401, r.Status, "replayed after logout: %s %s", call.path, call.fn)
	}

	// A client created on A is read on B, and deleted exactly once.
	r, _ = post(t, a.url+"/rpc/clients", "create", `{"name":"Shared"}`)
	require.True(t, r.OK, "create on A: %v", r.Message)
	var created Client
	require.NoError(t, json.Unmarshal(r.Data, &created))
	id := `{"client_id":` + strconv.FormatInt(created.ClientID, 10) + `}`
	r2, _ := post(t, b.url+"/rpc/clients", "read", id)
	require.True(t, r2.OK, "read on B")
	assert.JSONEq(t, string(r.Data), string(r2.Data))
	r, _ = post(t, b.url+"/rpc/clients", "delete", id)
	assert.True(t, r.OK)
	r, _ = post(t, a.url+"/rpc/clients", "delete", id)
	assert.Equal(t, msg("Client not found."), r.Message)

	// A changes stream on B sees the writes made on A, in order: they
	// travel over Redis pub/sub.
	testFleetChanges(t, a.url, b.url)

	// Both instances stop in good order.
	for _, inst := range []*example{a, b} {
		require.NoError(t, inst.cmd.Process.Signal(syscall.SIGTERM))
		assert.NoError(t, inst.wait(15*time.Second), inst.name)
	}
}

// fleetServers finds redis-server and PostgreSQL's bin folder (the newest
// under /usr/lib/postgresql). When either is missing it skips the test, or
// fails it under CI or WRPC_FLEET=1.
func fleetServers(t *testing.T) (redisBin, pgBin string) {
	t.Helper()
	var missing []string
	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
			redisBin = "/usr/bin/redis-server"
		} else {
			missing = append(missing, "redis-server (Debian package redis-server)")
		}
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	sort.Slice(bins, func(i, j int) bool { return pgVersion(bins[i]) < pgVersion(bins[j]) })
	if len(bins) > 0 {
		pgBin = filepath.Dir(bins[len(bins)-1])
	} else if p, err := exec.LookPath("postgres"); err == nil {
		pgBin = filepath.Dir(p)
	} else {
		missing = append(missing, "PostgreSQL (Debian package postgresql: /usr/lib/postgresql/*/bin/postgres)")
	}
	if len(missing) > 0 {
		why := "the fleet test needs " + strings.Join(missing, " and ") + "; run `make services` to install them"
		if os.Getenv("CI") != "" || os.Getenv("WRPC_FLEET") == "1" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	return redisBin, pgBin
}

// pgVersion is the major version in /usr/lib/postgresql/<v>/bin/postgres.
func pgVersion(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}

// startRedis runs redis-server on a free port with no persistence, and
// returns its URL.
func startRedis(t *testing.T, bin string) string {
	t.Helper()
	dir := t.TempDir()
	port := strconv.Itoa(freePort(t))
	p := startProc(t, "redis-server", exec.Command(bin,
		"--port", port, "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"))
	addr := "127.0.0.1:" + port
	waitFor(t, "redis-server", p, 20*time.Second, func() error {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(time.Second))
		if _, err := conn.Write([]byte("PING\r\n")); err != nil {
			return err
		}
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "+PONG") {
			return fmt.Errorf("PING answered %q", line)
		}
		return nil
	})
	return "redis://" + addr + "/0"
}

// startPostgres runs a throwaway PostgreSQL cluster on a free port, and
// returns its URL. PostgreSQL refuses to run as root, so as root the
// cluster belongs to nobody and runs as nobody.
func startPostgres(t *testing.T, binDir string) string {
	t.Helper()
	// Not t.TempDir: its parent is private to root, and nobody must reach
	// the cluster's folder.
	dir, err := os.MkdirTemp("", "wrpc-fleet-pg-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	data := filepath.Join(dir, "data")

	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		require.NoError(t, err, "PostgreSQL cannot run as root, and there is no user nobody to run it as")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		require.NoError(t, os.Chown(dir, uid, gid))
	}
	command := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(filepath.Join(binDir, name), args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LC_ALL=C"}
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		return cmd
	}

	out, err := command("initdb", "-D", data, "-U", "wrpc", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput()
	require.NoError(t, err, "initdb: %s", out)
	port := strconv.Itoa(freePort(t))
	p := startProc(t, "postgres", command("postgres", "-D", data, "-h", "127.0.0.1", "-p", port, "-k", dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"))
	// SIGINT is PostgreSQL's fast shutdown; the cleanup's SIGKILL comes after.
	t.Cleanup(func() { p.stop(syscall.SIGINT, 10*time.Second) })

	url := "postgres://wrpc@127.0.0.1:" + port + "/postgres?sslmode=disable"
	waitFor(t, "postgres", p, 30*time.Second, func() error {
		db, err := sql.Open("pgx", url)
		if err != nil {
			return err
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return db.PingContext(ctx)
	})
	return url
}

// waitFor retries ready until it succeeds, the process exits, or timeout.
func waitFor(t *testing.T, name string, p *proc, timeout time.Duration, ready func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited (%v): %s", name, p.err, p.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %s: %v\n%s", name, timeout, err, p.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testFleetChanges opens a changes stream on instance b and writes on
// instance a: the stream gets every change, in order. The stream may not
// be subscribed the moment it is opened, so clients are created on a until
// one of them shows up; the changes after it must all arrive, in order.
func testFleetChanges(t *testing.T, a, b string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	changes := make(chan Change, 100)
	streamErr := make(chan error, 1)
	go func() {
		defer close(changes)
		for item, err := range (&echorpc.Client{Endpoint: b + "/rpc/clients"}).Stream(ctx, "changes", nil) {
			if err != nil {
				streamErr <- err
				return
			}
			var ch Change
			if err := json.Unmarshal(item, &ch); err != nil {
				streamErr <- err
				return
			}
			changes <- ch
		}
	}()
	onA := &echorpc.Client{Endpoint: a + "/rpc/clients"}
	next := func() Change {
		t.Helper()
		select {
		case ch, ok := <-changes:
			if !ok {
				t.Fatalf("the stream on B ended: %v", <-streamErr)
			}
			return ch
		case <-time.After(5 * time.Second):
			t.Fatal("no change on B within 5s")
		}
		return Change{}
	}

	var first Client
probe:
	for i := 0; ; i++ {
		require.Less(t, i, 50, "B's stream never saw a write on A")
		name := fmt.Sprintf("probe %d", i)
		require.NoError(t, onA.Call(ctx, "create", NewClient{Name: name}, &first))
		wait := time.After(200 * time.Millisecond)
		for {
			select {
			case ch, ok := <-changes:
				require.True(t, ok, "the stream on B ended")
				if ch.Client.Name == name { // earlier probes may come late
					require.Equal(t, Change{"create", first}, ch)
					break probe
				}
			case <-wait:
				continue probe
			}
		}
	}
	var created, updated, deleted Client
	require.NoError(t, onA.Call(ctx, "create", NewClient{Name: "Fleet"}, &created))
	require.NoError(t, onA.Call(ctx, "update", ClientUpdate{ClientID: created.ClientID, Name: "Fleet 2"}, &updated))
	require.NoError(t, onA.Call(ctx, "delete", ClientID{ClientID: created.ClientID}, &deleted))
	require.NoError(t, onA.Call(ctx, "delete", ClientID{ClientID: first.ClientID}, nil))
	assert.Equal(t, Change{"create", created}, next())
	assert.Equal(t, Change{"update", updated}, next())
	assert.Equal(t, Change{"delete", deleted}, next())
	assert.Equal(t, "delete", next().Op)
}
