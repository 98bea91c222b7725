package echorpc_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/topic"
	"github.com/labstack/echo/v4"
)

// The streaming benchmarks measure what issue 14 asks for (figures, not
// timed tests: nothing here fails for being slow):
//
//	go test -run '^$' -bench Stream -benchtime 1x ./echorpc
//
// BenchmarkStreamItems: items per second over one stream on loopback.
// BenchmarkStreamFanout: the p99 delay from a write to its event at 1,000
// open streams subscribed to a broadcaster.
// BenchmarkStreamIdleMemory: memory per idle open stream at 10,000 streams.

// benchStreamServer serves fns at /rpc on a loopback httptest.Server.
func benchStreamServer(b *testing.B, cfg echorpc.Config, fns echorpc.Funcs) *httptest.Server {
	b.Helper()
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	cfg.Prefix = "/rpc"
	cfg.Functions = fns
	echorpc.New(e, cfg)
	srv := httptest.NewServer(e)
	b.Cleanup(srv.Close)
	return srv
}

// benchItemsPerOp is how many items one stream of BenchmarkStreamItems
// carries: enough for a steady rate at -benchtime 1x.
const benchItemsPerOp = 200_000

// Items per second over one stream on loopback: the server sends small
// items (an object with an int and a short string) as fast as the Go
// client takes them (the client decodes each event's envelope).
//
// It runs twice: each stream on a request of its own ("request", the
// server with DisableChannel), and on the client's shared connection
// ("channel").
func BenchmarkStreamItems(b *testing.B) {
	for _, tt := range benchTransports {
		b.Run(tt.name, func(b *testing.B) { benchStreamItems(b, tt.off) })
	}
}

// benchTransports are the two ways a Go client's stream goes: a request
// of its own, or the shared connection.
var benchTransports = []struct {
	name string
	off  bool // Config.DisableChannel
}{{"request", true}, {"channel", false}}

func benchStreamItems(b *testing.B, off bool) {
	type item struct {
		N    int    `json:"n"`
		Name string `json:"name"`
	}
	srv := benchStreamServer(b, echorpc.Config{StreamPing: -1, DisableChannel: off}, echorpc.Funcs{
		"items": echorpc.Stream(func(c echo.Context, n int, send func(string, item) error) error {
			for i := range n {
				if err := send("", item{N: i, Name: "item"}); err != nil {
					return err
				}
			}
			return nil
		}),
	})
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), processCPU(b)
	total := 0
	for range b.N {
		got := 0
		for _, err := range client.Stream(ctx, "items", benchItemsPerOp) {
			if err != nil {
				b.Fatal(err)
			}
			got++
		}
		if got != benchItemsPerOp {
			b.Fatalf("got %d items, want %d", got, benchItemsPerOp)
		}
		total += got
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(total)/elapsed.Seconds(), "items/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(total), "ns/item")
	b.ReportMetric(float64((processCPU(b)-cpu).Nanoseconds())/float64(total), "cpu-ns/item")
}

// processCPU is the CPU time (user and system) this process has used:
// server and client together, here.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fanout is a broadcaster as an app would write one: each subscriber has a
// bounded buffer, and one that falls behind is dropped (its channel is
// closed) rather than blocking the writer.
type fanout struct {
	mu   sync.Mutex
	subs map[chan int64]struct{}
}

func (f *fanout) subscribe() (chan int64, func()) {
	ch := make(chan int64, 16)
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[chan int64]struct{}{}
	}
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.subs[ch]; ok {
			delete(f.subs, ch)
			close(ch)
		}
	}
}

func (f *fanout) publish(v int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- v:
		default:
			delete(f.subs, ch)
			close(ch)
		}
	}
}

func (f *fanout) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// raiseFileLimit raises the process's open-file limit to at least n, as
// far as it may.
func raiseFileLimit(b testing.TB, n uint64) {
	b.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Skipf("getrlimit: %v", err)
	}
	if lim.Cur >= n {
		return
	}
	want := lim
	want.Cur = n
	if want.Max < n {
		want.Max = n // only a privileged process may
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		want.Cur, want.Max = lim.Max, lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want)
	}
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	if lim.Cur < n {
		b.Skipf("needs %d open files; the limit is %d", n, lim.Cur)
	}
}

const (
	fanoutStreams = 1000
	fanoutWrites  = 50 // writes per op, each waited for at every stream
)

// The delay from a write to its event at 1,000 open streams, each
// subscribed to a broadcaster: each write carries its time, every stream's
// Go client notes when the event reached it, and the p99 (and p50, max) of
// all those delays is reported. It runs with each stream on a request of
// its own ("request") and with all of them on one Client's shared
// connection ("channel").
func BenchmarkStreamFanout(b *testing.B) {
	for _, tt := range benchTransports {
		b.Run(tt.name, func(b *testing.B) { benchStreamFanout(b, tt.off) })
	}
}

func benchStreamFanout(b *testing.B, off bool) {
	raiseFileLimit(b, 3*fanoutStreams+1000)
	var bus fanout
	srv := benchStreamServer(b, echorpc.Config{StreamPing: -1, DisableChannel: off}, echorpc.Funcs{
		"changes": echorpc.Stream(func(c echo.Context, _ any, send func(string, int64) error) error {
			ch, cancel := bus.subscribe()
			defer cancel()
			done := c.Request().Context().Done()
			for {
				select {
				case <-done:
					return nil
				case v, ok := <-ch:
					if !ok {
						return &echorpc.Error{Message: "fell behind"}
					}
					if err := send("", v); err != nil {
						return err
					}
				}
			}
		}),
	})
	transport := &http.Transport{MaxIdleConnsPerHost: fanoutStreams}
	defer transport.CloseIdleConnections()
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc", HTTPClient: &http.Client{Transport: transport}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var (
		mu      sync.Mutex
		delays  []time.Duration
		arrived atomic.Int64
		wg      sync.WaitGroup
		failed  atomic.Value
	)
	for range fanoutStreams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, fanoutWrites*b.N)
			defer func() {
				mu.Lock()
				delays = append(delays, local...)
				mu.Unlock()
			}()
			for item, err := range client.Stream(ctx, "changes", nil) {
				if err != nil {
					if ctx.Err() == nil {
						failed.Store(err)
					}
					return
				}
				sent, _ := strconv.ParseInt(string(item), 10, 64)
				local = append(local, time.Duration(time.Now().UnixNano()-sent))
				arrived.Add(1)
			}
		}()
	}
	deadline := time.Now().Add(60 * time.Second)
	for bus.count() < fanoutStreams {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d streams subscribed", bus.count(), fanoutStreams)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.ResetTimer()
	writes := 0
	for range b.N {
		for range fanoutWrites {
			writes++
			bus.publish(time.Now().UnixNano())
			for arrived.Load() < int64(writes*fanoutStreams) {
				if err := failed.Load(); err != nil {
					b.Fatal(err)
				}
				if bus.count() < fanoutStreams {
					b.Fatalf("a stream was dropped: %d left", bus.count())
				}
				time.Sleep(50 * time.Microsecond)
			}
		}
	}
	b.StopTimer()
	cancel()
	wg.Wait()
	slices.Sort(delays)
	pct := func(p float64) float64 {
		return float64(delays[min(len(delays)-1, int(p*float64(len(delays))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(delays[len(delays)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(len(delays)), "events")
}

const idleStreams = 10_000

// idleHelperEnv runs TestStreamIdleCallers as the callers of
// BenchmarkStreamIdleMemory: the address of the server to open streams to.
const idleHelperEnv = "WRPC_BENCH_IDLE_STREAMS_AT"

// Memory per idle open stream at 10,000 streams: each stream has sent one
// item and waits. The callers are bare TCP connections in another process
// (this test binary, running TestStreamIdleCallers), which wrote the
// request and read the first event, so that the figures are the server's
// alone, and each process stays within its open-file limit: the growth of
// HeapInuse, of HeapInuse+StackInuse (the goroutines' stacks), and of Sys
// (all the memory the Go runtime holds), divided by the number of streams.
// One sub-benchmark has the default keep-alive pings (a ticker goroutine
// per stream), the other none.
//
// The channel sub-benchmarks open the same 10,000 streams over 100 shared
// connections (channel.go), 100 streams each: a stream then costs its
// handler's goroutine and its state, and the connection's buffers are
// shared.
//
// The channel-topic sub-benchmark has each stream be a subscriber of one
// topic (topic.Serve on topic.NewMemory), what a live view is: its
// handler's goroutine and state, and its place in the topic.
func BenchmarkStreamIdleMemory(b *testing.B) {
	for _, tt := range []struct {
		name    string
		ping    time.Duration
		channel bool
		topic   bool
	}{
		{"ping-15s", 15 * time.Second, false, false},
		{"no-ping", -1, false, false},
		{"channel-ping-15s", 15 * time.Second, true, false},
		{"channel-topic", 15 * time.Second, true, true},
	} {
		b.Run(tt.name, func(b *testing.B) {
			for range b.N {
				benchIdleMemory(b, tt.ping, tt.channel, tt.topic)
			}
		})
	}
}

// idleChannels is how many shared connections carry the 10,000 streams of
// BenchmarkStreamIdleMemory's channel runs.
const idleChannels = 100

func benchIdleMemory(b *testing.B, ping time.Duration, channel, subscribe bool) {
	raiseFileLimit(b, idleStreams+1000)
	idle := echorpc.Stream(func(c echo.Context, _ any, send func(string, string) error) error {
		if err := send("", "ready"); err != nil {
			return err
		}
		<-c.Request().Context().Done()
		return nil
	})
	// a subscriber's first item is a "ready" that is published until
	// every caller has read one
	engine := topic.NewMemory(10_000) // no subscriber falls behind it while they open
	publishing := make(chan struct{})
	if subscribe {
		idle = topic.Serve[any, string](engine, func(echo.Context, any) (string, error) { return "idle", nil })
		go func() {
			for {
				select {
				case <-publishing:
					return
				case <-time.After(20 * time.Millisecond):
					_, _ = topic.Publish(context.Background(), engine, "idle", "ready")
				}
			}
		}()
	}
	srv := benchStreamServer(b, echorpc.Config{StreamPing: ping}, echorpc.Funcs{"idle": idle})
	addr := srv.Listener.Addr().String()
	// Warm up: the server's pools and the runtime's first allocations.
	warm := make([]net.Conn, 0, 100)
	for range 100 {
		c, err := openIdleStream(addr)
		if err != nil {
			b.Fatal(err)
		}
		warm = append(warm, c)
	}
	for _, c := range warm {
		c.Close()
	}
	time.Sleep(100 * time.Millisecond)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()

	cmd := exec.Command(os.Args[0], "-test.run=^TestStreamIdleCallers$", "-test.v")
	cmd.Env = append(os.Environ(), idleHelperEnv+"="+addr)
	if channel {
		cmd.Env = append(cmd.Env, idleHelperEnv+"_CHANNEL=1")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close() // the callers close their streams and exit
		_ = cmd.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	opened := false
	for lines.Scan() {
		if line := lines.Text(); line == "streams open" {
			opened = true
			break
		} else if strings.HasPrefix(line, "streams failed") {
			b.Fatal(line)
		}
	}
	if !opened {
		b.Fatalf("the callers did not open their streams: %s", stderr.String())
	}
	b.StopTimer()
	close(publishing)
	go io.Copy(io.Discard, stdout)

	time.Sleep(200 * time.Millisecond) // let the handlers settle into their wait
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / idleStreams }
	b.ReportMetric(per(after.HeapInuse, before.HeapInuse), "heap-B/stream")
	b.ReportMetric(per(after.HeapInuse+after.StackInuse, before.HeapInuse+before.StackInuse), "heap+stack-B/stream")
	b.ReportMetric(per(after.Sys, before.Sys), "sys-B/stream")
	b.ReportMetric(float64(runtime.NumGoroutine())/idleStreams, "goroutines/stream")
}

// openIdleStream opens a stream of "idle" at addr over a bare TCP
// connection and reads up to its first event.
func openIdleStream(addr string) (net.Conn, error) {
	body := `{"weerpc":1.1,"function":"idle"}`
	request := "POST /rpc HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	ready := []byte(`"data":"ready"}`)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(conn, request); err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var buf [1024]byte
	n := 0
	for !bytes.Contains(buf[:n], ready) {
		if n == len(buf) {
			conn.Close()
			return nil, fmt.Errorf("no first event in %q", buf[:n])
		}
		m, err := conn.Read(buf[n:])
		if err != nil {
			conn.Close()
			return nil, err
		}
		n += m
	}
	return conn, nil
}

// TestStreamIdleCallers is not a test: BenchmarkStreamIdleMemory runs it
// in a process of its own to open its idle streams. It prints "streams
// open" once they are, and holds them until its stdin closes.
func TestStreamIdleCallers(t *testing.T) {
	addr := os.Getenv(idleHelperEnv)
	if addr == "" {
		t.Skip("the callers of BenchmarkStreamIdleMemory")
	}
	raiseFileLimit(t, idleStreams+1000)
	if os.Getenv(idleHelperEnv+"_CHANNEL") != "" {
		idleChannelCallers(addr)
		return
	}
	conns := make([]net.Conn, idleStreams)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for failed.Load() == nil {
				i := next.Add(1) - 1
				if i >= idleStreams {
					return
				}
				c, err := openIdleStream(addr)
				if err != nil {
					failed.Store(err)
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		fmt.Printf("streams failed: %v\n", err)
		return
	}
	fmt.Println("streams open")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}

// idleChannelCallers opens BenchmarkStreamIdleMemory's streams over
// idleChannels shared connections, reads each one's first item, says so
// and holds them until stdin closes.
func idleChannelCallers(addr string) {
	conns := make([]*websocket.Conn, idleChannels)
	var wg sync.WaitGroup
	var failed atomic.Value
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/rpc/channel.ws", nil)
			if err != nil {
				failed.Store(err)
				return
			}
			conns[i] = conn
			for id := 1; id <= idleStreams/idleChannels; id++ {
				msg := `{"open":` + strconv.Itoa(id) + `,"call":{"weerpc":1.1,"function":"idle"}}`
				if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
					failed.Store(err)
					return
				}
			}
			// until each stream has sent something (a subscriber of a
			// topic may send more than once meanwhile)
			seen := map[string]bool{}
			for len(seen) < idleStreams/idleChannels {
				_, msg, err := conn.Read(ctx)
				if err != nil {
					failed.Store(err)
					return
				}
				id, _, _ := strings.Cut(strings.TrimPrefix(string(msg), `{"id":`), ",")
				seen[id] = true
			}
			go func() { // keep reading: pings are answered by a reader
				for {
					if _, _, err := conn.Read(context.Background()); err != nil {
						return
					}
				}
			}()
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		fmt.Printf("streams failed: %v\n", err)
		return
	}
	fmt.Println("streams open")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		_ = c.CloseNow()
	}
}
