package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fleet's fault tests for topics (the changes stream): two instances
// behind haproxy (round robin, no stickiness), Redis with its append-only
// file (fsync on every write), PostgreSQL; topicSubscribers changes
// streams opened through the balancer, so spread over both instances;
// topicPublishers publishers that publish, through the balancer, a
// numbered change every topicPublishEvery each (topicRate items a second
// in all), each retried with its key until it is answered, so each number
// is published once. Every subscriber checks that it gets each publisher's
// numbers exactly once and in order.
//
//   - Redis paused (SIGSTOP) for 3 s, and later killed (SIGKILL) and
//     started again from its append-only file: every subscriber gets every
//     item, once, in order, and no stream is ended by the server (no
//     subscriber makes a second request).
//   - Instance B killed (SIGKILL) mid-run: its subscribers, and only they
//     (haproxy names the instance that answered in X-Backend), reconnect
//     through the balancer to A with Last-Event-ID, and resume with nothing
//     lost and nothing twice.
//   - Redis started again without its data: every subscriber gets the gap
//     signal, a 410 error event with data {"gap": true}.
func TestFleetTopics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis, PostgreSQL, haproxy, two instances and 2,000 streams")
	}
	redisBin, pgBin := fleetServers(t)
	redisPort := freePort(t)
	redisDir := t.TempDir()
	redis, redisURL := runRedisAOF(t, redisBin, redisPort, redisDir)
	pgURL := startPostgres(t, pgBin)
	bin := buildExample(t)
	env := []string{"SESSION_SECRET=fleet test key 0123456789abcdef", testPublishEnv + "=1"}
	lbPort := freePort(t)
	lbHost := "127.0.0.1:" + strconv.Itoa(lbPort)
	args := []string{"-redis", redisURL, "-db", pgURL, "-host", lbHost}
	a := startExample(t, bin, "instance A", env, args...)
	b := startExample(t, bin, "instance B", env, args...)
	lb := "http://" + startHAProxyAt(t, lbPort, hostPort(a.url), hostPort(b.url))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	subs := openTopicSubscribers(ctx, t, lb, topicSubscribers)
	pubs := newTopicPublishers(lb, topicPublishers)
	subs.warmUp(t, pubs)
	t.Logf("%d streams open through the balancer (%d connections)", topicSubscribers, subs.dials.Load())

	// Redis paused for 3 s, then killed and started again from its
	// append-only file, while the publishers publish.
	start := time.Now()
	pubs.run(ctx, topicFaultsFor, func(at time.Duration) {
		switch {
		case at == topicFaultsFor/5:
			require.NoError(t, redis.cmd.Process.Signal(syscall.SIGSTOP))
			t.Logf("%s: Redis paused", at)
		case at == topicFaultsFor/5+3*time.Second:
			require.NoError(t, redis.cmd.Process.Signal(syscall.SIGCONT))
			t.Logf("%s: Redis goes on", at)
		case at == 3*topicFaultsFor/5:
			redis.stop(syscall.SIGKILL, 5*time.Second)
			redis, _ = runRedisAOF(t, redisBin, redisPort, redisDir)
			t.Logf("%s: Redis killed and started again from its append-only file", time.Since(start).Round(time.Millisecond))
		}
	})
	published := pubs.total()
	p50, p99 := pubs.latency()
	t.Logf("published %d items in %s (%d retries of a publish that failed; answered in p50 %s, p99 %s)", published, time.Since(start).Round(time.Millisecond), pubs.retries.Load(), p50.Round(time.Millisecond/10), p99.Round(time.Millisecond/10))
	took := subs.waitAll(t, pubs, 60*time.Second)
	t.Logf("every subscriber has every item %s after the last publish", took.Round(time.Millisecond))
	subs.check(t, pubs)
	onA, onB, other := 0, 0, 0
	backends, requests := subs.placement()
	for i, r := range requests {
		switch {
		case r != 1:
			other++
		case backends[i] == "s0":
			onA++
		case backends[i] == "s1":
			onB++
		default:
			other++
		}
	}
	assert.Zero(t, other, "no stream was ended by the server: each subscriber made one request, answered by A or B")
	// haproxy's round robin spreads them (not exactly evenly: the warm-up's
	// requests took turns too)
	assert.Greater(t, onB, topicSubscribers/4, "streams on B")
	assert.Greater(t, onA, topicSubscribers/4, "streams on A")

	// Instance B killed: its subscribers, and only they, resume on A.
	start = time.Now()
	pubs.run(ctx, topicKillFor, func(at time.Duration) {
		if at == topicKillFor/3 {
			b.stop(syscall.SIGKILL, 5*time.Second)
			t.Logf("%s: instance B killed", at)
		}
	})
	p50, p99 = pubs.latency()
	t.Logf("published %d items more in %s (answered in p50 %s, p99 %s)", pubs.total()-published, time.Since(start).Round(time.Millisecond), p50.Round(time.Millisecond/10), p99.Round(time.Millisecond/10))
	took = subs.waitAll(t, pubs, 60*time.Second)
	t.Logf("every subscriber has every item %s after the last publish", took.Round(time.Millisecond))
	subs.check(t, pubs)
	nowOn, nowRequests := subs.placement()
	var moved, stayed, wrong int
	var extra int64
	for i := range nowOn {
		switch {
		case backends[i] == "s0" && nowOn[i] == "s0" && nowRequests[i] == requests[i]:
			stayed++
		case backends[i] == "s1" && nowOn[i] == "s0" && nowRequests[i] > requests[i]:
			moved++
			extra += nowRequests[i] - requests[i] - 1
		default:
			wrong++
			if wrong <= 3 {
				t.Errorf("subscriber %d: on %q with %d requests before B was killed, on %q with %d after", i, backends[i], requests[i], nowOn[i], nowRequests[i])
			}
		}
	}
	t.Logf("B's %d subscribers resumed on A (%d requests beyond one each); A's %d stayed put", moved, extra, stayed)
	assert.Equal(t, onB, moved, "each of B's subscribers resumed on A")
	assert.Equal(t, onA, stayed, "no subscriber of A made a request again")

	// Redis started again without its data: a gap for every subscriber.
	redis.stop(syscall.SIGKILL, 5*time.Second)
	runRedisAOF(t, redisBin, redisPort, t.TempDir())
	back := time.Now()
	gaps := subs.waitEnded(t, 20*time.Second)
	t.Logf("every stream ended with the gap signal within %s of Redis's return", gaps.Sub(back).Round(time.Millisecond))
	for i, s := range subs.subs {
		var e *echorpc.Error
		if !errors.As(s.err, &e) || e.Status != http.StatusGone || !reflect.DeepEqual(e.Data, map[string]any{"gap": true}) {
			t.Errorf("subscriber %d ended with %v, want the gap signal (410, {\"gap\":true})", i, s.err)
			break
		}
	}
}

const (
	// topicSubscribers is how many changes streams the test opens.
	topicSubscribers = 2000
	// topicPublishers publish topicRate items a second together.
	topicPublishers   = 10
	topicRate         = 500
	topicPublishEvery = time.Second * topicPublishers / topicRate
	// topicFaultsFor is how long the publishers publish while Redis is
	// paused and restarted; topicKillFor, while B is killed.
	topicFaultsFor = 10 * time.Second
	topicKillFor   = 6 * time.Second
)

// runRedisAOF runs redis-server on port with its append-only file in dir,
// written through on every write (appendfsync always), and returns it and
// its URL.
func runRedisAOF(t *testing.T, bin string, port int, dir string) (*proc, string) {
	t.Helper()
	return startRedisServer(t, bin, port, "--dir", dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always")
}

// topicItem is the change a publisher publishes: Op "test", the
// publisher's index in Client.Name, its number in Client.ClientID.
type topicItem struct {
	Op     string `json:"op"`
	Client struct {
		ClientID int64  `json:"client_id"`
		Name     string `json:"name"`
	} `json:"client"`
}

// topicPublisherSet publishes numbered changes through the test hook.
type topicPublisherSet struct {
	url     string
	http    *http.Client
	acked   []atomic.Int64 // each publisher's last number answered
	retries atomic.Int64
	mu      sync.Mutex
	took    []time.Duration // each answered publish's round trip
}

// latency is the p50 and p99 of the answered publishes' round trips, and
// forgets them.
func (p *topicPublisherSet) latency() (p50, p99 time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.took) == 0 {
		return 0, 0
	}
	slices.Sort(p.took)
	p50, p99 = p.took[len(p.took)/2], p.took[len(p.took)*99/100]
	p.took = p.took[:0]
	return p50, p99
}

func newTopicPublishers(lb string, n int) *topicPublisherSet {
	return &topicPublisherSet{
		url:   lb + "/rpc/testhooks",
		http:  &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * n}},
		acked: make([]atomic.Int64, n),
	}
}

// total is how many items were published and answered.
func (p *topicPublisherSet) total() int64 {
	var n int64
	for i := range p.acked {
		n += p.acked[i].Load()
	}
	return n
}

// publish publishes change with key, again (same key) until it is
// answered or ctx ends.
func (p *topicPublisherSet) publish(ctx context.Context, key, change string) error {
	body := `{"weerpc":1.1,"function":"publish","data":{"key":"` + key + `","change":` + change + `}}`
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		sent := time.Now()
		res, err := p.http.Do(req)
		if err == nil {
			var r reply
			err = json.NewDecoder(res.Body).Decode(&r)
			res.Body.Close()
			if err == nil && r.OK {
				p.mu.Lock()
				p.took = append(p.took, time.Since(sent))
				p.mu.Unlock()
				return nil
			}
			if err == nil {
				err = fmt.Errorf("HTTP %d: %v", res.StatusCode, r.Message)
			}
		}
		if ctx.Err() != nil {
			return err
		}
		p.retries.Add(1)
		time.Sleep(50 * time.Millisecond)
	}
}

// run publishes for d, each publisher its next numbers every
// topicPublishEvery (a publish being retried holds its publisher up), and
// calls at every 100 ms from the start (0 excluded) with the time since.
func (p *topicPublisherSet) run(ctx context.Context, d time.Duration, at func(time.Duration)) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range p.acked {
		wg.Go(func() {
			tick := time.NewTicker(topicPublishEvery)
			defer tick.Stop()
			time.Sleep(time.Duration(i) * topicPublishEvery / time.Duration(len(p.acked)))
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				n := p.acked[i].Load() + 1
				change := fmt.Sprintf(`{"op":"test","client":{"client_id":%d,"name":"%d","created_at":"","updated_at":""}}`, n, i)
				if p.publish(ctx, fmt.Sprintf("p%d-%d", i, n), change) != nil {
					return
				}
				p.acked[i].Store(n)
			}
		})
	}
	for step := time.Duration(100 * time.Millisecond); step < d; step += 100 * time.Millisecond {
		time.Sleep(100 * time.Millisecond)
		at(step)
	}
	close(stop)
	wg.Wait()
}

// topicSubscriber is one changes stream and what it has seen.
type topicSubscriber struct {
	requests atomic.Int64 // requests made for the stream (one, and one per resume)
	backend  atomic.Value // string: the instance that answered the last of them (haproxy's X-Backend)
	warm     atomic.Bool  // a warm-up item came
	received atomic.Int64 // publishers' items, in order
	mu       sync.Mutex
	last     []int64 // each publisher's last number seen
	wrong    string  // the first item out of order, if any
	err      error   // why the stream ended
	ended    atomic.Bool
	endedAt  time.Time
}

// topicSubscriberSet is the test's subscribers.
type topicSubscriberSet struct {
	subs  []*topicSubscriber
	dials atomic.Int64 // connections made by the subscribers
}

// openTopicSubscribers opens n changes streams through the balancer, each
// with a Go client of its own that resumes a cut stream with Last-Event-ID
// (Retry, changes in Idempotent); their connections are counted.
func openTopicSubscribers(ctx context.Context, t *testing.T, lb string, n int) *topicSubscriberSet {
	set := &topicSubscriberSet{}
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	transport := &http.Transport{
		MaxIdleConnsPerHost: n,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			set.dials.Add(1)
			return dialer.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(transport.CloseIdleConnections)
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	for range n {
		s := &topicSubscriber{last: make([]int64, topicPublishers)}
		s.backend.Store("")
		set.subs = append(set.subs, s)
		c := &echorpc.Client{
			Endpoint:   lb + "/rpc/clients",
			HTTPClient: &http.Client{Transport: backendRecorder{s, transport}},
			Retry:      &echorpc.Retry{Attempts: 30, Base: 100 * time.Millisecond, Max: time.Second, MaxElapsed: 30 * time.Second},
			Idempotent: map[string]bool{"changes": true},
		}
		wg.Go(func() { s.read(ctx, c) })
	}
	return set
}

// backendRecorder counts a subscriber's requests and records which
// instance answered each, from the header the balancer adds.
type backendRecorder struct {
	s  *topicSubscriber
	rt http.RoundTripper
}

func (r backendRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.s.requests.Add(1)
	res, err := r.rt.RoundTrip(req)
	if err == nil {
		r.s.backend.Store(res.Header.Get("X-Backend"))
	}
	return res, err
}

// placement is, for each subscriber, the instance that serves its stream
// and the requests it has made so far.
func (set *topicSubscriberSet) placement() (backends []string, requests []int64) {
	for _, s := range set.subs {
		backends = append(backends, s.backend.Load().(string))
		requests = append(requests, s.requests.Load())
	}
	return backends, requests
}

// read reads the stream until it ends, checking the publishers' numbers.
func (s *topicSubscriber) read(ctx context.Context, c *echorpc.Client) {
	var it topicItem
	for item, err := range c.Stream(ctx, "changes", nil) {
		if err != nil {
			s.err = err
			break
		}
		if err := json.Unmarshal(item, &it); err != nil {
			s.err = err
			break
		}
		if it.Op != "test" {
			s.warm.Store(true)
			continue
		}
		p, _ := strconv.Atoi(it.Client.Name)
		s.mu.Lock()
		if p < 0 || p >= len(s.last) || it.Client.ClientID != s.last[p]+1 {
			if s.wrong == "" {
				s.wrong = fmt.Sprintf("publisher %s's item %d after its item %d", it.Client.Name, it.Client.ClientID, s.last[max(0, min(p, len(s.last)-1))])
			}
		} else {
			s.last[p] = it.Client.ClientID
			s.received.Add(1)
		}
		s.mu.Unlock()
	}
	s.endedAt = time.Now()
	s.ended.Store(true)
}

// warmUp publishes a warm-up change every 100 ms until every subscriber
// has one, so that every stream is subscribed before the numbers start.
func (set *topicSubscriberSet) warmUp(t *testing.T, pubs *topicPublisherSet) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; ; i++ {
		cold := 0
		for _, s := range set.subs {
			require.False(t, s.ended.Load(), "a stream ended before the test began: %v", s.err)
			if !s.warm.Load() {
				cold++
			}
		}
		if cold == 0 {
			return
		}
		require.True(t, time.Now().Before(deadline), "%d streams had no warm-up change after 60 s", cold)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		require.NoError(t, pubs.publish(ctx, "warm-"+randomKey(), `{"op":"warmup","client":{"client_id":0,"name":"","created_at":"","updated_at":""}}`))
		cancel()
		time.Sleep(100 * time.Millisecond)
	}
}

// waitAll waits until every subscriber has every item published, or one
// went wrong, for up to timeout, and returns how long it took.
func (set *topicSubscriberSet) waitAll(t *testing.T, pubs *topicPublisherSet, timeout time.Duration) time.Duration {
	t.Helper()
	want, start := pubs.total(), time.Now()
	for {
		behind, ended := 0, 0
		for _, s := range set.subs {
			if s.received.Load() < want {
				behind++
			}
			if s.ended.Load() {
				ended++
			}
		}
		if behind == 0 || ended > 0 {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Errorf("%d subscribers still lack items %s after the last publish", behind, timeout)
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// check asserts that every subscriber got every publisher's numbers up to
// its last answered one, once each, in order, and is still open.
func (set *topicSubscriberSet) check(t *testing.T, pubs *topicPublisherSet) {
	t.Helper()
	failed := 0
	for i, s := range set.subs {
		s.mu.Lock()
		var problem string
		switch {
		case s.ended.Load():
			problem = fmt.Sprintf("its stream ended: %v", s.err)
		case s.wrong != "":
			problem = s.wrong
		default:
			for p := range s.last {
				if s.last[p] != pubs.acked[p].Load() {
					problem = fmt.Sprintf("publisher %d's last item is %d, want %d", p, s.last[p], pubs.acked[p].Load())
					break
				}
			}
		}
		s.mu.Unlock()
		if problem != "" {
			if failed++; failed <= 5 {
				t.Errorf("subscriber %d: %s", i, problem)
			}
		}
	}
	if failed > 5 {
		t.Errorf("and %d subscribers more", failed-5)
	}
}

// waitEnded waits until every stream has ended, for up to timeout, and
// returns when the last one did.
func (set *topicSubscriberSet) waitEnded(t *testing.T, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		open := 0
		var last time.Time
		for _, s := range set.subs {
			if !s.ended.Load() {
				open++
			} else if s.endedAt.After(last) {
				last = s.endedAt
			}
		}
		if open == 0 {
			return last
		}
		require.True(t, time.Now().Before(deadline), "%d streams still open %s after Redis lost its data", open, timeout)
		time.Sleep(50 * time.Millisecond)
	}
}
