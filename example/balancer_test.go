package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startHAProxy runs Debian's haproxy (make services installs it) in front
// of backends (host:port), in HTTP mode, round robin with no stickiness,
// from a config in a temporary folder, on a free port; it returns its
// address. A backend that stops answering is left out within a quarter of
// a second (health checks), and a request that could not reach one is sent
// to another (retries, redispatch). Without haproxy the test skips, or
// fails under CI or WRPC_FLEET=1, as fleetServers does.
func startHAProxy(t *testing.T, backends ...string) string {
	t.Helper()
	return startHAProxyAt(t, freePort(t), backends...)
}

// startHAProxyAt is startHAProxy on a given port.
func startHAProxyAt(t *testing.T, port int, backends ...string) string {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/haproxy"); err != nil {
			why := "the fleet test needs haproxy (Debian package haproxy); run `make services` to install it"
			if os.Getenv("CI") != "" || os.Getenv("WRPC_FLEET") == "1" {
				t.Fatal(why)
			}
			t.Skip(why)
		}
		bin = "/usr/sbin/haproxy"
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	var servers strings.Builder
	for i, b := range backends {
		servers.WriteString("  server s" + strconv.Itoa(i) + " " + b + " check inter 250ms fall 1 rise 2\n")
	}
	// maxconn in defaults too: a frontend's own limit is otherwise 2,000
	// connections, and the topics test holds 2,000 streams open.
	config := `global
  maxconn 8192
defaults
  maxconn 8192
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch 1
frontend wrpc
  bind ` + addr + `
  default_backend instances
backend instances
  balance roundrobin
  http-response set-header X-Backend %s
` + servers.String()
	dir := t.TempDir()
	file := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(file, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, "haproxy", exec.Command(bin, "-db", "-f", file))
	t.Cleanup(func() { p.stop(syscall.SIGTERM, 5*time.Second) })
	waitFor(t, "haproxy", p, 10*time.Second, func() error {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
		}
		return err
	})
	return addr
}

// hostPort is the host:port of an http:// URL.
func hostPort(url string) string { return strings.TrimPrefix(url, "http://") }

// keyedReply is a reply and whether it was replayed from the store.
type keyedReply struct {
	reply
	replayed bool
}

// postKeyed makes a weeRPC call with an Idempotency-Key.
func postKeyed(t *testing.T, url, function, data, key string) keyedReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"weerpc":1.1,"function":"`+function+`","data":`+data+`}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	return keyedReply{reply: decodeReply(t, res), replayed: res.Header.Get("Idempotent-Replayed") == "true"}
}
