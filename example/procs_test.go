package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Helpers for the tests that run the built binary and other servers as
// processes: shutdown_test.go and fleet_test.go.

// buildExample builds the example app into a temporary folder.
func buildExample(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "example")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proc is a process started by a test, with its output kept and searchable.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done

	mu    sync.Mutex
	lines []string
	grew  chan struct{} // closed and replaced when a line arrives
}

// startProc starts cmd, collecting its stdout and stderr, and stops it (if
// it is still running) when the test ends.
func startProc(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{t: t, name: name, cmd: cmd, done: make(chan struct{}), grew: make(chan struct{})}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	require.NoError(t, cmd.Start(), "starting %s", name)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			close(p.grew)
			p.grew = make(chan struct{})
			p.mu.Unlock()
		}
	}()
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(syscall.SIGKILL, 10*time.Second)
		if t.Failed() {
			t.Logf("output of %s:\n%s", name, p.output())
		}
	})
	return p
}

// output is everything the process printed so far.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// waitLine waits for a line containing s, and returns it.
func (p *proc) waitLine(s string, timeout time.Duration) string {
	p.t.Helper()
	deadline := time.After(timeout)
	for i := 0; ; {
		p.mu.Lock()
		for ; i < len(p.lines); i++ {
			if strings.Contains(p.lines[i], s) {
				line := p.lines[i]
				p.mu.Unlock()
				return line
			}
		}
		grew := p.grew
		p.mu.Unlock()
		select {
		case <-grew:
		case <-p.done:
			// The last lines may still be on their way.
			time.Sleep(50 * time.Millisecond)
			if strings.Contains(p.output(), s) {
				continue
			}
			p.t.Fatalf("%s exited (%v) before printing %q; it printed:\n%s", p.name, p.err, s, p.output())
		case <-deadline:
			p.t.Fatalf("%s did not print %q in %s; it printed:\n%s", p.name, s, timeout, p.output())
		}
	}
}

// stop sends sig and waits for the process to exit, killing it after
// timeout.
func (p *proc) stop(sig syscall.Signal, timeout time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// wait waits for the process to exit and returns its exit status.
func (p *proc) wait(timeout time.Duration) error {
	p.t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.t.Fatalf("%s did not exit in %s; it printed:\n%s", p.name, timeout, p.output())
		return nil
	}
}

// example is a running example binary.
type example struct {
	*proc
	url string // http://127.0.0.1:port
}

// startExample runs the binary on a free loopback port with args and env
// (added to the test's environment), and waits until it serves.
func startExample(t *testing.T, bin, name string, env []string, args ...string) *example {
	t.Helper()
	port := strconv.Itoa(freePort(t))
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:" + port}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	p := startProc(t, name, cmd)
	p.waitLine("serving on http://127.0.0.1:"+port, 30*time.Second)
	return &example{proc: p, url: "http://127.0.0.1:" + port}
}

// post makes a weeRPC call with the given cookies, and returns the reply
// and the cookies the reply set.
func post(t *testing.T, url, function, data string, cookies ...*http.Cookie) (reply, []*http.Cookie) {
	t.Helper()
	r, set, err := tryPost(url, function, data, cookies...)
	require.NoError(t, err)
	return r, set
}

// tryPost is post for goroutines other than the test's: it returns errors.
func tryPost(url, function, data string, cookies ...*http.Cookie) (reply, []*http.Cookie, error) {
	body := `{"weerpc":1.1,"function":"` + function + `"`
	if data != "" {
		body += `,"data":` + data
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body+"}"))
	if err != nil {
		return reply{}, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, nil, err
	}
	defer res.Body.Close()
	var r reply
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		return reply{}, nil, fmt.Errorf("HTTP %d: %w", res.StatusCode, err)
	}
	r.Status = res.StatusCode
	return r, res.Cookies(), nil
}

// decodeReply reads a reply's envelope and status.
func decodeReply(t *testing.T, res *http.Response) reply {
	t.Helper()
	var r reply
	require.NoError(t, json.NewDecoder(res.Body).Decode(&r), "HTTP %d", res.StatusCode)
	r.Status = res.StatusCode
	return r
}
