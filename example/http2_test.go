package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
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

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/security"
	"github.com/chromedp/chromedp"
	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/internal/browsertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and localhost,
// and its key, as PEM files in a temporary folder, and returns their paths
// and the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wrpc example test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err = x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile, cert
}

// startExampleAt runs the binary on a free loopback port with args, waits
// for its start-up line for scheme, and returns its URL
// (scheme://127.0.0.1:port).
func startExampleAt(t *testing.T, bin, scheme string, args ...string) *example {
	t.Helper()
	port := strconv.Itoa(freePort(t))
	args = append([]string{"-addr", "127.0.0.1:" + port, "-db", filepath.Join(t.TempDir(), "clients.db")}, args...)
	p := startProc(t, "example", exec.Command(bin, args...))
	u := scheme + "://127.0.0.1:" + port
	p.waitLine("serving on "+u, 30*time.Second)
	return &example{proc: p, url: u}
}

// postWith makes a weeRPC call with client, and returns the reply and the
// response (its body read).
func postWith(t *testing.T, client *http.Client, url, function, data string) (reply, *http.Response) {
	t.Helper()
	body := `{"weerpc":1.1,"function":"` + function + `","data":` + data + `}`
	res, err := client.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer res.Body.Close()
	return decodeReply(t, res), res
}

// streamsJS opens n countdown streams at once, each of which would run for
// 5 s (100 items, 50 ms apart), and waits until every one of them has its
// first item; then makes a plain call while they are all still open, and
// ends them. It answers how many streams had run to their end by the time
// the last one got its first item (over HTTP/1.1, with the browser's six
// connections per origin, the seventh stream starts only once another has
// ended), the call's answer, and how many items each stream got.
const streamsJS = `(async () => {
  const n = %d;
  const first = new Array(n).fill(false);
  let ended = 0, stop = false, allFirst;
  const gotAll = new Promise((resolve) => (allFirst = resolve));
  const runs = Array.from({ length: n }, async (_, i) => {
    let items = 0;
    for await (const item of wrpc.stream("countdown", 100, { endpoint: "/rpc/tester" })) {
      items++;
      if (!first[i]) {
        first[i] = true;
        if (first.every(Boolean)) allFirst();
      }
      if (stop) break;
    }
    if (!stop) ended++;
    return items;
  });
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("not every stream got an item in 15 s")), 15000));
  await Promise.race([gotAll, timeout]);
  const endedAtAllFirst = ended;
  const sum = await wrpc.call("add_numbers", [1, 2, 3], { endpoint: "/rpc/tester" });
  const endedAtCall = ended;
  stop = true;
  const items = await Promise.all(runs);
  return { endedAtAllFirst, endedAtCall, sum, items };
})()`

// streamsResult is what streamsJS answers.
type streamsResult struct {
	EndedAtAllFirst int   `json:"endedAtAllFirst"`
	EndedAtCall     int   `json:"endedAtCall"`
	Sum             int   `json:"sum"`
	Items           []int `json:"items"`
}

// The example over TLS, with -tls-cert and -tls-key, serves HTTP/2: the page
// and its client.js load over h2 in Chromium, the page's calls work
// (the session cookie, Secure over TLS, comes back), and eight streams open
// at once each get items while a plain call answers, which the six
// connections per origin of HTTP/1.1 would not allow. A Go client
// negotiates h2 by ALPN too.
func TestHTTP2OverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	certFile, keyFile, cert := selfSigned(t)
	bin := buildExample(t)
	app := startExampleAt(t, bin, "https", "-tls-cert", certFile, "-tls-key", keyFile)

	t.Run("go client", func(t *testing.T) {
		roots := x509.NewCertPool()
		roots.AddCert(cert)
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: roots},
			ForceAttemptHTTP2: true,
		}}
		defer client.CloseIdleConnections()
		r, res := postWith(t, client, app.url+"/rpc/tester", "add_numbers", "[1,2,3]")
		assert.Equal(t, 2, res.ProtoMajor, "%s", res.Proto)
		assert.Equal(t, "h2", res.TLS.NegotiatedProtocol)
		require.True(t, r.OK, "%s", r.Data)
		assert.JSONEq(t, "6", string(r.Data))

		// The session cookie is Secure over TLS, and the host rules
		// follow -addr: /rpc/auth/login answers at 127.0.0.1:port.
		r, res = postWith(t, client, app.url+"/rpc/auth/login", "login", "{}")
		require.True(t, r.OK, "%s", r.Data)
		cookies := res.Cookies()
		require.Len(t, cookies, 1)
		assert.Equal(t, sessionName, cookies[0].Name)
		assert.True(t, cookies[0].Secure, "the session cookie over TLS is Secure")

		// A stream over HTTP/2, from the Go client.
		c := &echorpc.Client{Endpoint: app.url + "/rpc/tester", HTTPClient: client}
		var items []int
		for item, err := range c.Stream(context.Background(), "countdown", 3) {
			require.NoError(t, err)
			var n int
			require.NoError(t, json.Unmarshal(item, &n))
			items = append(items, n)
		}
		assert.Equal(t, []int{3, 2, 1}, items)
	})

	t.Run("chromium", func(t *testing.T) {
		ctx := browsertest.New(t, 60*time.Second)
		// The certificate is the test's own; Chromium trusts it for this
		// browser only.
		require.NoError(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, security.SetIgnoreCertificateErrors, security.SetIgnoreCertificateErrorsParams{Ignore: true})
			return err
		})))
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(app.url+"/"),
			chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)),
		))

		assert.Equal(t, "ok: 6", click(t, ctx, "add_numbers"))
		assert.Equal(t, `ok: {"user_id":100}`, click(t, ctx, "login"))
		assert.Equal(t, `ok: {"logged_in":true,"user_id":100}`, click(t, ctx, "session"), "the Secure session cookie comes back over https")
		assert.Equal(t, "ok: 6", click(t, ctx, "local_add_numbers"), "the page is at the -addr host")

		const n = 8
		got, err := chromedp.Run(ctx, chromedp.Evaluate[streamsResult](
			strings.Replace(streamsJS, "%d", strconv.Itoa(n), 1), chromedp.EvalAwaitPromise))
		require.NoError(t, err)
		assert.Equal(t, 0, got.EndedAtAllFirst, "every one of the %d streams had an item while all were open", n)
		assert.Equal(t, 0, got.EndedAtCall, "the plain call answered while the %d streams were open", n)
		assert.Equal(t, 6, got.Sum)
		require.Len(t, got.Items, n)
		for i, items := range got.Items {
			assert.Less(t, items, 100, "stream %d was ended early, not run to its end", i)
		}

		type entry struct {
			Name, InitiatorType, NextHopProtocol string
		}
		nav, err := chromedp.Run(ctx, chromedp.Evaluate[string](`performance.getEntriesByType("navigation")[0].nextHopProtocol`))
		require.NoError(t, err)
		assert.Equal(t, "h2", nav, "the page came over HTTP/2")
		link, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#guard-note a").href`))
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(link, "https://"), "the page links its -addr host over https: %s", link)
		entries, err := chromedp.Run(ctx, chromedp.Evaluate[[]entry](
			`performance.getEntriesByType("resource").map((e) => ({Name: e.name, InitiatorType: e.initiatorType, NextHopProtocol: e.nextHopProtocol}))`))
		require.NoError(t, err)
		var clientJS, fetches int
		for _, e := range entries {
			assert.Equal(t, "h2", e.NextHopProtocol, "%s (%s)", e.Name, e.InitiatorType)
			if strings.HasSuffix(e.Name, "/rpc/tester/client.js") {
				clientJS++
			}
			if e.InitiatorType == "fetch" {
				fetches++
			}
		}
		assert.Equal(t, 1, clientJS, "client.js is among the resources: %v", entries)
		assert.GreaterOrEqual(t, fetches, 5, "the calls and streams are among the resources: %v", entries)
		browsertest.Screenshot(t, ctx, "example-http2")
	})
}

// With -h2c, the example takes unencrypted HTTP/2 (prior knowledge, as a
// proxy such as haproxy or Envoy sends it) beside HTTP/1.1 on its plain
// port: calls and streams over either.
func TestH2C(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildExample(t)
	app := startExampleAt(t, bin, "http", "-h2c")
	app.waitLine("unencrypted HTTP/2", time.Second)

	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Protocols: &h2c}}
	defer client.CloseIdleConnections()
	r, res := postWith(t, client, app.url+"/rpc/tester", "add_numbers", "[1,2,3]")
	assert.Equal(t, 2, res.ProtoMajor, "%s", res.Proto)
	require.True(t, r.OK, "%s", r.Data)
	assert.JSONEq(t, "6", string(r.Data))

	c := &echorpc.Client{Endpoint: app.url + "/rpc/tester", HTTPClient: client}
	var items []int
	for item, err := range c.Stream(context.Background(), "countdown", 3) {
		require.NoError(t, err)
		var n int
		require.NoError(t, json.Unmarshal(item, &n))
		items = append(items, n)
	}
	assert.Equal(t, []int{3, 2, 1}, items, "a stream over h2c")

	// HTTP/1.1 still works on the same port.
	r, res = postWith(t, &http.Client{Timeout: 10 * time.Second}, app.url+"/rpc/tester", "add_numbers", "[1,2,3]")
	assert.Equal(t, 1, res.ProtoMajor, "%s", res.Proto)
	assert.True(t, r.OK, "%s", r.Data)
}

// Without -h2c, the plain port refuses HTTP/2: the flag is what turns it on.
func TestH2COffByDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildExample(t)
	app := startExampleAt(t, bin, "http")
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Protocols: &h2c}}
	defer client.CloseIdleConnections()
	body := `{"weerpc":1.1,"function":"add_numbers","data":[1,2,3]}`
	res, err := client.Post(app.url+"/rpc/tester", "application/json", strings.NewReader(body))
	if err == nil {
		res.Body.Close()
		t.Fatalf("an HTTP/2 request on the plain port without -h2c was answered: %s", res.Proto)
	}
}

// The flags that cannot make a transport are refused before anything
// listens: a certificate without its key (or the other way round), -h2c
// with TLS, and a certificate that does not load.
func TestHTTP2Flags(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t)
	for _, tr := range []transport{{certFile: certFile}, {keyFile: keyFile}, {certFile: certFile, keyFile: keyFile, h2c: true}} {
		assert.Error(t, tr.check(), "%+v", tr)
	}
	bad := transport{certFile: keyFile, keyFile: certFile}
	require.NoError(t, bad.check())
	assert.ErrorContains(t, bad.configure(&http.Server{}), "-tls-cert/-tls-key")

	srv := &http.Server{}
	require.NoError(t, transport{certFile: certFile, keyFile: keyFile}.configure(srv))
	require.NotNil(t, srv.TLSConfig)
	assert.Len(t, srv.TLSConfig.Certificates, 1)
	assert.Nil(t, srv.Protocols, "over TLS, net/http's default: h2 and http/1.1 by ALPN")

	srv = &http.Server{}
	require.NoError(t, transport{h2c: true}.configure(srv))
	require.NotNil(t, srv.Protocols)
	assert.True(t, srv.Protocols.HTTP1())
	assert.True(t, srv.Protocols.UnencryptedHTTP2())

	srv = &http.Server{}
	require.NoError(t, transport{}.configure(srv))
	assert.Nil(t, srv.Protocols)
	assert.Nil(t, srv.TLSConfig)
}

// SIGTERM with a stream open over TLS HTTP/2 ends it as over HTTP/1.1: the
// stream gets its 503 at once, and the process exits without waiting for
// it (countdown 100 would run for 5 s; -shutdown-timeout is 20 s).
func TestHTTP2ShutdownEndsStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	certFile, keyFile, cert := selfSigned(t)
	bin := buildExample(t)
	app := startExampleAt(t, bin, "https", "-tls-cert", certFile, "-tls-key", keyFile, "-shutdown-timeout", "20s")
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
	defer client.CloseIdleConnections()
	c := &echorpc.Client{Endpoint: app.url + "/rpc/tester", HTTPClient: client}

	started := make(chan struct{})
	type end struct {
		items int
		err   error
	}
	ended := make(chan end, 1)
	go func() {
		items := 0
		for _, err := range c.Stream(context.Background(), "countdown", 100) {
			if err != nil {
				ended <- end{items, err}
				return
			}
			if items++; items == 1 {
				close(started)
			}
		}
		ended <- end{items, nil}
	}()
	select {
	case <-started:
	case e := <-ended:
		t.Fatalf("the stream ended before its first item: %v", e.err)
	case <-time.After(10 * time.Second):
		t.Fatal("no first item")
	}
	start := time.Now()
	require.NoError(t, app.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case got := <-ended:
		var e *echorpc.Error
		require.True(t, errors.As(got.err, &e), "%v", got.err)
		assert.Equal(t, 503, e.Status)
		assert.Equal(t, "Server is shutting down.", e.Message)
		assert.Less(t, got.items, 100)
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end")
	}
	require.NoError(t, app.wait(10*time.Second), "exit status")
	assert.Less(t, time.Since(start), 3*time.Second, "shutdown waited for the stream")
	assert.NotContains(t, app.output(), "calls still running")
}
