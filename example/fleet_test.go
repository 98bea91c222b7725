package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/topic"
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
	// The instances serve the balancer's Host too: it passes the caller's on.
	lbPort := freePort(t)
	lbHost := "127.0.0.1:" + strconv.Itoa(lbPort)
	args := []string{"-redis", redisURL, "-db", pgURL, "-host", lbHost}
	a := startExample(t, bin, "instance A", env, args...)
	b := startExample(t, bin, "instance B", env, args...)
	lb := "http://" + startHAProxyAt(t, lbPort, hostPort(a.url), hostPort(b.url))

	// Through haproxy (round robin, no stickiness): a login, then calls
	// that land on both instances, each seeing the session.
	r, set := post(t, lb+"/rpc/auth/login", "login", "")
	require.True(t, r.OK, "login through the balancer: %d %v", r.Status, r.Message)
	for i := range 4 {
		r, _ = post(t, lb+"/rpc/auth", "session", "", set...)
		assert.True(t, r.OK, "call %d through the balancer: %d %v", i, r.Status, r.Message)
	}
	// A create through the balancer, retried with its key on the other
	// instance, is answered with its outcome and writes one row.
	key := `"fleet-test-key-0123456789abcdef"`
	first := postKeyed(t, lb+"/rpc/clients", "create", `{"name":"Balanced"}`, key)
	second := postKeyed(t, lb+"/rpc/clients", "create", `{"name":"Balanced"}`, key)
	require.True(t, first.OK, "create through the balancer: %d %v", first.Status, first.Message)
	assert.JSONEq(t, string(first.Data), string(second.Data), "the retry is answered with the first outcome")
	assert.True(t, second.replayed, "from the store in Redis")

	// A login on A makes a guarded call on B succeed.
	r, set = post(t, a.url+"/rpc/auth/login", "login", "")
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

	// A file uploaded through A is downloaded through B (attachments_test.go).
	testFleetAttachments(t, a.url, b.url)

	// A changes stream on B sees the writes made on A, in order: they
	// travel over a topic on Redis Streams.
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

// localRedis starts a throwaway Redis for a test of one machine's apps,
// and returns its URL; the test skips with -short or without
// redis-server.
func localRedis(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts redis-server")
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("needs redis-server (`make services`)")
	}
	return startRedis(t, bin)
}

// startRedis runs redis-server on a free port with no persistence, and
// returns its URL.
func startRedis(t *testing.T, bin string) string {
	t.Helper()
	_, url := runRedis(t, bin, freePort(t))
	return url
}

// runRedis runs redis-server on port with no persistence, and returns it
// and its URL.
func runRedis(t *testing.T, bin string, port int) (*proc, string) {
	t.Helper()
	return startRedisServer(t, bin, port, "--dir", t.TempDir(), "--save", "", "--appendonly", "no")
}

// startRedisServer runs redis-server on port with args, and waits until
// it says it is ready: it prints that once it listens and has loaded its
// data. Its log is read rather than the port dialed, since a test process
// busy with thousands of streams may not see a dial through in time.
func startRedisServer(t *testing.T, bin string, port int, args ...string) (*proc, string) {
	t.Helper()
	args = append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--daemonize", "no", "--protected-mode", "yes"}, args...)
	p := startProc(t, "redis-server", exec.Command(bin, args...))
	p.waitLine("Ready to accept connections", 20*time.Second)
	return p, "redis://127.0.0.1:" + strconv.Itoa(port) + "/0"
}

// startPostgres runs a throwaway PostgreSQL cluster on a free port, and
// returns its URL. PostgreSQL refuses to run as root, so as root the
// cluster belongs to nobody and runs as nobody.
func startPostgres(t *testing.T, binDir string) string {
	t.Helper()
	_, url := runPostgres(t, binDir)
	return url
}

// runPostgres is startPostgres that also returns the postmaster.
func runPostgres(t *testing.T, binDir string) (*proc, string) {
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
	return p, url
}

// signalTree sends sig to the process pid and to all its descendants (a
// postmaster's backends are processes of their own).
func signalTree(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	children := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
		fields := strings.Fields(rest)
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		child, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		children[ppid] = append(children[ppid], child)
	}
	var walk func(int)
	walk = func(p int) {
		require.NoError(t, syscall.Kill(p, sig), "signal %v to %d", sig, p)
		for _, c := range children[p] {
			walk(c)
		}
	}
	walk(pid)
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

// A Redis or PostgreSQL that stops answering costs a call one bounded
// wait, and the caller hears of it. Paused (SIGSTOP): a session call
// answers 503 with Retry-After within 2 s, and create within 2 s too, its
// write done; the open changes streams stay open, and once Redis goes on
// they receive that create, once. Killed and restarted without its data:
// the streams stay open while it is away, and then end with the gap
// signal (410, {"gap": true}), for their callers to read the clients
// again; the live list's stream stays open and sends the gap item
// ({"query": "list", "gap": true}), for its pages to read the list again.
func TestFleetOutages(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis, PostgreSQL and the example")
	}
	redisBin, pgBin := fleetServers(t)
	pgURL := startPostgres(t, pgBin)
	bin := buildExample(t)
	env := []string{"SESSION_SECRET=fleet test key 0123456789abcdef"}

	t.Run("paused", func(t *testing.T) {
		redis, redisURL := runRedis(t, redisBin, freePort(t))
		a := startExample(t, bin, "instance A", env, "-redis", redisURL, "-db", pgURL)
		cookie := fleetLogin(t, a.url)
		streams := []*changesReader{openChanges(t, a.url), openChanges(t, a.url)}
		for _, s := range streams {
			s.waitSubscribed(t, a.url)
		}
		for _, s := range streams {
			s.drain(300 * time.Millisecond) // the other's probes
		}

		require.NoError(t, redis.cmd.Process.Signal(syscall.SIGSTOP))
		t.Cleanup(func() { _ = redis.cmd.Process.Signal(syscall.SIGCONT) })

		assertUnavailable(t, a.url+"/rpc/auth", "session", "", "The session store is not answering: try again shortly.", cookie)
		assertUnavailable(t, a.url+"/rpc/admin", "add_numbers", "[1]", "The session store is not answering: try again shortly.", cookie)
		assertUnavailable(t, a.url+"/rpc/auth/login", "login", "", "The session store is not answering: try again shortly.")
		r, _ := assertUnavailable(t, a.url+"/rpc/auth", "logout", "", "The session store is not answering: try again shortly.", cookie)
		assert.Empty(t, r, "logout keeps the cookie when it could not end the session")
		created := assertCreated(t, a.url, "while Redis is paused")
		for i, s := range streams {
			s.assertOpen(t, 500*time.Millisecond, fmt.Sprint("stream ", i, " while Redis is paused"))
		}

		require.NoError(t, redis.cmd.Process.Signal(syscall.SIGCONT))
		for i, s := range streams {
			assert.Equal(t, Change{"create", created}, s.next(t, 5*time.Second), "stream %d: the create made while Redis was paused", i)
			s.assertOpen(t, 300*time.Millisecond, fmt.Sprint("stream ", i, ": nothing twice"))
		}
		res, _, _ := timedPost(t, a.url+"/rpc/auth", "session", "", cookie)
		assert.Equal(t, 200, res.Status, "the session is there again: %v", res.Message)
		res, _, _ = timedPost(t, a.url+"/rpc/clients", "read", fmt.Sprintf(`{"client_id":%d}`, created.ClientID))
		assert.True(t, res.OK, "the create made while Redis was paused is stored")
	})

	// PostgreSQL paused, postmaster and backends: a call waits at most
	// storeTimeout, and is answered 503 with Retry-After. The example's
	// session calls do not touch it.
	t.Run("postgres paused", func(t *testing.T) {
		pg, pgURL := runPostgres(t, pgBin)
		_, redisURL := runRedis(t, redisBin, freePort(t))
		a := startExample(t, bin, "instance A", env, "-redis", redisURL, "-db", pgURL)
		created := assertCreated(t, a.url, "before the pause")
		cookie := fleetLogin(t, a.url)

		pid := pg.cmd.Process.Pid
		signalTree(t, pid, syscall.SIGSTOP)
		t.Cleanup(func() { signalTree(t, pid, syscall.SIGCONT) })
		id := fmt.Sprintf(`{"client_id":%d}`, created.ClientID)
		for _, call := range []struct{ function, data string }{
			{"create", `{"name":"while PostgreSQL is paused"}`},
			{"list", ""},
		} {
			start := time.Now()
			r, _, h := timedPost(t, a.url+"/rpc/clients", call.function, call.data)
			took := time.Since(start)
			t.Logf("%s: %d in %s", call.function, r.Status, took.Round(time.Millisecond))
			assert.Less(t, took, storeTimeout+time.Second, "%s answered after %s", call.function, took)
			assert.Equal(t, 503, r.Status, "%s: %v", call.function, r.Message)
			assert.Equal(t, msg("The database is not answering: try again shortly."), r.Message, call.function)
			assert.Equal(t, retryAfter, h.Get("Retry-After"), call.function)
		}
		r, _, _ := timedPost(t, a.url+"/rpc/auth", "session", "", cookie)
		assert.True(t, r.OK, "sessions live in Redis: %v", r.Message)

		signalTree(t, pid, syscall.SIGCONT)
		require.Eventually(t, func() bool {
			r, _, _ := timedPost(t, a.url+"/rpc/clients", "read", id)
			return r.OK
		}, 10*time.Second, 100*time.Millisecond, "reads work again once PostgreSQL is back")
	})

	t.Run("killed", func(t *testing.T) {
		port := freePort(t)
		redis, redisURL := runRedis(t, redisBin, port)
		a := startExample(t, bin, "instance A", env, "-redis", redisURL, "-db", pgURL)
		cookie := fleetLogin(t, a.url)
		live := openLive(t, a.url)
		require.True(t, live.next(t, 5*time.Second, "subscribing").Start)
		streams := []*changesReader{openChanges(t, a.url), openChanges(t, a.url)}
		for _, s := range streams {
			s.waitSubscribed(t, a.url)
		}
		for _, s := range streams {
			s.drain(300 * time.Millisecond) // the other's probes
		}
		assert.Equal(t, topic.Invalidation{Query: "list"}, live.next(t, 5*time.Second, "the probes"), "each probe invalidates the list")
		live.drain(300 * time.Millisecond)

		redis.stop(syscall.SIGKILL, 5*time.Second)
		assertUnavailable(t, a.url+"/rpc/auth", "session", "", "The session store is not answering: try again shortly.", cookie)
		assertCreated(t, a.url, "while Redis is down")
		for i, s := range streams {
			s.assertOpen(t, 500*time.Millisecond, fmt.Sprint("stream ", i, " while Redis is down"))
		}
		live.assertQuiet(t, 100*time.Millisecond, "Redis went down")

		runRedis(t, redisBin, port) // empty: the sessions and the log went with the old one
		back := time.Now()
		for i, s := range streams {
			s.assertEnds(t, 410, "Items of this stream were lost: read again and open a new stream.", back.Add(5*time.Second), fmt.Sprint("stream ", i))
		}
		// The live list's stream goes on, with the gap signal: the page
		// reads the list again (the create made while Redis was down).
		inv := live.next(t, time.Until(back.Add(6*time.Second)), "Redis came back without its data")
		assert.Equal(t, topic.Invalidation{Query: "list", Gap: true}, inv)
		t.Logf("the live list's gap %s after Redis came back", time.Since(back).Round(time.Millisecond))
		s := openChanges(t, a.url)
		s.waitSubscribed(t, a.url)
		fleetLogin(t, a.url)
	})
}

// fleetLogin logs in at url and returns the session cookie.
func fleetLogin(t *testing.T, url string) *http.Cookie {
	t.Helper()
	r, set, _ := timedPost(t, url+"/rpc/auth/login", "login", "")
	require.True(t, r.OK, "login: %d %v", r.Status, r.Message)
	require.Len(t, set, 1)
	return set[0]
}

// outageBound is how long a call may take while an engine is away.
const outageBound = 2 * time.Second

// timedPost makes a weeRPC call and returns the reply, the cookies it set
// and its headers. It gives up after 10 s, so that a call that would hang
// fails the test instead.
func timedPost(t *testing.T, url, function, data string, cookies ...*http.Cookie) (reply, []*http.Cookie, http.Header) {
	t.Helper()
	body := `{"weerpc":1.1,"function":"` + function + `"`
	if data != "" {
		body += `,"data":` + data
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body+"}"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err, "%s %s", url, function)
	defer res.Body.Close()
	return decodeReply(t, res), res.Cookies(), res.Header
}

// assertUnavailable calls function and asserts that it is answered within
// outageBound with a 503 envelope carrying message and Retry-After; it
// returns the cookies the reply set.
func assertUnavailable(t *testing.T, url, function, data, message string, cookies ...*http.Cookie) ([]*http.Cookie, http.Header) {
	t.Helper()
	start := time.Now()
	r, set, h := timedPost(t, url, function, data, cookies...)
	took := time.Since(start)
	t.Logf("%s %s: %d in %s", url, function, r.Status, took.Round(time.Millisecond))
	assert.Less(t, took, outageBound, "%s %s answered after %s", url, function, took)
	assert.Equal(t, 503, r.Status, "%s %s: %v", url, function, r.Message)
	assert.False(t, r.OK)
	assert.Equal(t, msg(message), r.Message, "%s %s", url, function)
	assert.Equal(t, retryAfter, h.Get("Retry-After"), "%s %s", url, function)
	return set, h
}

// assertCreated creates a client within outageBound and returns it.
func assertCreated(t *testing.T, url, name string) Client {
	t.Helper()
	start := time.Now()
	r, _, _ := timedPost(t, url+"/rpc/clients", "create", `{"name":"`+name+`"}`)
	took := time.Since(start)
	t.Logf("create: %d in %s", r.Status, took.Round(time.Millisecond))
	assert.Less(t, took, outageBound, "create answered after %s", took)
	require.True(t, r.OK, "create: %d %v", r.Status, r.Message)
	var c Client
	require.NoError(t, json.Unmarshal(r.Data, &c))
	return c
}

// changesReader is a changes stream read in the background.
type changesReader struct {
	changes chan Change
	end     chan error // its error, once it ended
	endedAt time.Time  // when it ended; set before end is sent
}

// openChanges opens a changes stream at url; the test's end closes it.
func openChanges(t *testing.T, url string) *changesReader {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &changesReader{changes: make(chan Change, 100), end: make(chan error, 1)}
	go func() {
		for item, err := range (&echorpc.Client{Endpoint: url + "/rpc/clients"}).Stream(ctx, "changes", nil) {
			if err != nil {
				s.endedAt = time.Now()
				s.end <- err
				return
			}
			var ch Change
			if err := json.Unmarshal(item, &ch); err != nil {
				s.endedAt = time.Now()
				s.end <- err
				return
			}
			s.changes <- ch
		}
		s.endedAt = time.Now()
		s.end <- nil
	}()
	return s
}

// probes numbers the clients waitSubscribed creates, so that a stream
// never takes another's probe for its own.
var probes atomic.Int64

// waitSubscribed creates clients at url until the stream sees one, so that
// it is known to be listening; it bounds that to 10 s.
func (s *changesReader) waitSubscribed(t *testing.T, url string) {
	t.Helper()
	for range 50 {
		name := fmt.Sprintf("probe %d", probes.Add(1))
		r, _, _ := timedPost(t, url+"/rpc/clients", "create", `{"name":"`+name+`"}`)
		require.True(t, r.OK, "create: %v", r.Message)
		wait := time.After(200 * time.Millisecond)
		for {
			select {
			case ch := <-s.changes:
				if ch.Client.Name == name {
					return
				}
				continue
			case err := <-s.end:
				t.Fatalf("the stream ended before it saw a write: %v", err)
			case <-wait:
			}
			break
		}
	}
	t.Fatal("the stream never saw a write")
}

// drain takes the changes that come until none has for quiet.
func (s *changesReader) drain(quiet time.Duration) {
	for {
		select {
		case <-s.changes:
		case <-time.After(quiet):
			return
		}
	}
}

// next is the stream's next change, within timeout.
func (s *changesReader) next(t *testing.T, timeout time.Duration) Change {
	t.Helper()
	select {
	case ch := <-s.changes:
		return ch
	case err := <-s.end:
		t.Fatalf("the stream ended: %v", err)
	case <-time.After(timeout):
		t.Fatalf("no change within %s", timeout)
	}
	return Change{}
}

// assertOpen asserts that the stream neither ends nor sends a change for d.
func (s *changesReader) assertOpen(t *testing.T, d time.Duration, name string) {
	t.Helper()
	select {
	case ch := <-s.changes:
		t.Errorf("%s: a change: %+v", name, ch)
	case err := <-s.end:
		t.Fatalf("%s: the stream ended: %v", name, err)
	case <-time.After(d):
	}
}

// assertEnds asserts that the stream ended by deadline with an error
// event of status and message.
func (s *changesReader) assertEnds(t *testing.T, status int, message string, deadline time.Time, name string) {
	t.Helper()
	timeout := time.After(time.Until(deadline) + 5*time.Second)
	for {
		select {
		case <-s.changes: // a late probe
			continue
		case err := <-s.end:
			var e *echorpc.Error
			require.True(t, errors.As(err, &e), "%s: %v", name, err)
			assert.Equal(t, status, e.Status, name)
			assert.Equal(t, message, e.Message, name)
			assert.False(t, s.endedAt.After(deadline), "%s ended %s after the deadline", name, s.endedAt.Sub(deadline))
			t.Logf("%s ended %s before the deadline", name, deadline.Sub(s.endedAt).Round(time.Millisecond))
		case <-timeout:
			t.Fatalf("%s: still open 5 s after the deadline", name)
		}
		return
	}
}
