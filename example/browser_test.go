package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/echo-rpc/wrpc/internal/browsertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// click presses a button and waits for its result in out-<name>.
func click(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#btn-"+name))))
	return browsertest.Text(t, ctx, "#out-"+name, func(s string) bool { return s != "" && s != "…" })
}

// setInput sets the value of the input whose id is id.
func setInput(t *testing.T, ctx context.Context, id, value string) {
	t.Helper()
	js := fmt.Sprintf(`(document.getElementById(%q).value = %q, true)`, id, value)
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
	require.NoError(t, err)
}

// The pages work in a real browser: the script-tag page (/rpc/tester/client.js,
// wrpc.call and a Flask-RPC-style fetch) and the ES module page
// (/rpc/tester/client.mjs, createClient), through login, add_numbers, and
// creating and reading a client.
func TestBrowserPages(t *testing.T) {
	srv := testApp(t, filepath.Join(t.TempDir(), "clients.db"))
	for _, path := range []string{"/", "/spa"} {
		t.Run(strings.Trim(path, "/")+"page", func(t *testing.T) {
			ctx := browsertest.New(t, 60*time.Second)
			require.NoError(t, chromedp.Do(ctx,
				chromedp.Navigate(srv.URL+path),
				chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)),
			))

			assert.Equal(t, "error 401: Unauthorized.", click(t, ctx, "add_string_auth_session"))
			assert.Equal(t, `ok: {"user_id":100}`, click(t, ctx, "login"))
			assert.Equal(t, `ok: {"logged_in":true,"user_id":100}`, click(t, ctx, "session"))
			assert.Equal(t, `ok: "Hello World!"`, click(t, ctx, "add_string_auth_session"))
			assert.Equal(t, "ok: 6", click(t, ctx, "add_numbers"))
			// An application failure (ok: false, HTTP 200) reads as one, not as "error 200".
			setInput(t, ctx, "numbers", "1.7e308, 1.7e308")
			assert.Equal(t, `failed: The sum is not a finite number. {"data":"list of numbers with a finite sum"}`, click(t, ctx, "add_numbers"))
			setInput(t, ctx, "numbers", "1, 2, 3")
			// The page names the -addr host it was started with, not a fixed one.
			host := strings.TrimPrefix(srv.URL, "http://")
			note := browsertest.Text(t, ctx, "#guard-note", func(s string) bool { return s != "" })
			assert.Contains(t, note, "open the page at its -addr host, http://"+host+".")
			if path == "/" {
				assert.Equal(t, "ok: 6", click(t, ctx, "add_numbers_fetch"), "the Flask-RPC style call")
			} else {
				assert.Equal(t, `ok: {"sum":6,"hello":"Hello batch!"}`, click(t, ctx, "add_numbers_fetch"), "two calls in one batch")
			}
			assert.Equal(t, "error 401: Unauthorized.", click(t, ctx, "admin_add_numbers"))
			assert.Equal(t, `ok: {"user_type":"admin"}`, click(t, ctx, "make_admin"))
			assert.Equal(t, "ok: 6", click(t, ctx, "admin_add_numbers"), "README step 3: login, make_admin, /rpc/admin")
			assert.Equal(t, "ok: 6", click(t, ctx, "local_add_numbers"), "the page is at the -addr host")
			assert.Equal(t, `ok: "Hello World!"`, click(t, ctx, "add_string_auth_host"))
			assert.Equal(t, "error 404: No functions registered.", click(t, ctx, "empty"))

			created := click(t, ctx, "create")
			assert.Regexp(t, `^ok: \{"client_id":\d+,"name":"Ada Lovelace","created_at":"[^"]+","updated_at":"[^"]+"\}$`, created)
			read := click(t, ctx, "read")
			assert.Equal(t, created, read, "read answers the client just created")
			assert.Regexp(t, `^ok: \[.*"name":"Ada Lovelace".*\]$`, click(t, ctx, "list"))

			// A refused field is named next to its input.
			setInput(t, ctx, "client-name", "")
			assert.Regexp(t, `^error 400: Invalid data: name is required\.`, click(t, ctx, "create"))
			fieldError := browsertest.Text(t, ctx, `[data-field-error="name"]`, func(s string) bool { return s != "" })
			assert.Equal(t, "is required", fieldError)
			setInput(t, ctx, "client-name", "Ada Lovelace")

			assert.Equal(t, "ok: null", click(t, ctx, "logout"))
			assert.Equal(t, "error 401: Unauthorized.", click(t, ctx, "session"))
			browsertest.Screenshot(t, ctx, "example-"+strings.Trim(path, "/")+"page")
		})
	}
}

// attackPage tries to make the visitor's browser create a client in the
// app at target, with the visitor's cookies: a fetch with a JSON body and
// credentials, a no-cors fetch with a text/plain body, and an
// auto-submitted text/plain form. It writes what the fetches saw.
const attackPage = `<!doctype html><title>attack</title>
<p id="json">pending</p><p id="nocors">pending</p><p id="form">pending</p>
<iframe name="sink" id="sink"></iframe>
<form id="f" method="POST" action="%[1]s/rpc/clients" enctype="text/plain" target="sink">
<input name='{"weerpc":1.1,"function":"create","data":{"name":"evil-form","x":"' value='"}}'>
</form>
<script>
const body = JSON.stringify({weerpc: 1.1, function: "create", data: {name: "evil-json"}});
fetch("%[1]s/rpc/clients", {method: "POST", credentials: "include", headers: {"Content-Type": "application/json"}, body})
  .then(r => r.text().then(t => document.getElementById("json").textContent = "answered " + r.status + " " + t))
  .catch(e => document.getElementById("json").textContent = "blocked: " + e.name);
fetch("%[1]s/rpc/clients", {method: "POST", mode: "no-cors", credentials: "include", headers: {"Content-Type": "text/plain"}, body: body.replace("evil-json", "evil-nocors")})
  .then(r => document.getElementById("nocors").textContent = "sent (opaque)")
  .catch(e => document.getElementById("nocors").textContent = "blocked: " + e.name);
document.getElementById("sink").addEventListener("load", () => document.getElementById("form").textContent = "submitted");
document.getElementById("f").submit();
</script>`

// posts records what reached the app from the browser: each POST's path,
// Origin, Content-Type and status.
type posts struct {
	mu   sync.Mutex
	seen []string
}

// The app's page's own live list (the live stream, and list each time it
// says the list changed) is left out.
func (p *posts) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		var req struct {
			Function string `json:"function"`
		}
		_ = json.Unmarshal(body, &req)
		rec := &statusWriter{ResponseWriter: w, status: 200}
		h.ServeHTTP(rec, r)
		if r.URL.Path == "/rpc/clients" && (req.Function == "list" || req.Function == "live") {
			return // the page's live list
		}
		if r.Method == http.MethodPost && r.Header.Get("Origin") != "" { // from a browser
			p.mu.Lock()
			p.seen = append(p.seen, fmt.Sprintf("%s %s %s %d", r.URL.Path, r.Header.Get("Origin"), r.Header.Get("Content-Type"), rec.status))
			p.mu.Unlock()
		}
	})
}

func (p *posts) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

// Unwrap lets http.ResponseController reach the connection, so that the
// page's streams flush through the recorder.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// A page on another origin cannot make a logged-in visitor's browser call
// the app: the JSON fetch is stopped by the browser's CORS preflight (the
// app answers it without CORS headers), and the no-cors fetch and the
// text/plain form reach the app only to be refused by its origin check.
// Nothing is created. From the app's own origin, the JSON call succeeds.
func TestBrowserCrossOriginRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	app, err := NewApp(Config{DB: filepath.Join(t.TempDir(), "clients.db"), SessionKeys: testKeys, Addr: ln.Addr().String()})
	require.NoError(t, err)
	t.Cleanup(func() { app.Close() })
	var seen posts
	mux := http.NewServeMux()
	mux.Handle("/", seen.wrap(app))
	appSrv := httptest.NewUnstartedServer(mux)
	appSrv.Listener.Close()
	appSrv.Listener = ln
	appSrv.Start()
	// Closed after the browser (cleanups run last first): the app's page
	// keeps a changes stream open, and httptest.Server.Close waits for it.
	t.Cleanup(appSrv.Close)
	mux.HandleFunc("/same-origin-attack", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, attackPage, "")
	})

	// The attacker's site: localhost, another port, so another site.
	_, port, _ := net.SplitHostPort(appSrv.Listener.Addr().String())
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, attackPage, "http://127.0.0.1:"+port)
	}))
	defer attacker.Close()
	attackerURL := strings.Replace(attacker.URL, "127.0.0.1", "localhost", 1)

	ctx := browsertest.New(t, 60*time.Second)
	// The visitor is logged in to the app.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(appSrv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`))))
	assert.Equal(t, `ok: {"user_id":100}`, click(t, ctx, "login"))

	// The visitor opens the attacker's page.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(attackerURL+"/")))
	done := func(s string) bool { return s != "pending" }
	assert.Equal(t, "blocked: TypeError", browsertest.Text(t, ctx, "#json", done), "the preflight fails")
	assert.Equal(t, "sent (opaque)", browsertest.Text(t, ctx, "#nocors", done))
	assert.Equal(t, "submitted", browsertest.Text(t, ctx, "#form", done))
	browsertest.Screenshot(t, ctx, "cross-origin-attack")

	attackOrigin := strings.TrimSuffix(attackerURL, "/")
	assert.Eventually(t, func() bool { return len(seen.list()) >= 3 }, 5*time.Second, 20*time.Millisecond)
	assert.ElementsMatch(t, []string{
		"/rpc/auth/login self application/json 200", // the visitor's own login
		"/rpc/clients " + attackOrigin + " text/plain 403",
		"/rpc/clients " + attackOrigin + " text/plain 403",
	}, normalizeOrigins(seen.list(), appSrv.URL), "only refused requests reached the app from the attacker")

	// Nothing was created.
	c := newCaller(t, appSrv)
	for id := 1; id <= 3; id++ {
		r := c.call("/rpc/clients", "read", fmt.Sprintf(`{"client_id":%d}`, id), "")
		assert.False(t, r.OK, "client %d exists", id)
	}

	// The same page served by the app itself: the JSON call succeeds, and
	// the text/plain form and fetch are refused for their content type.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(appSrv.URL+"/same-origin-attack")))
	assert.Regexp(t, `^answered 200 \{"weerpc":1.1,"ok":true,"message":null,"data":\{"client_id":1,"name":"evil-json"`, browsertest.Text(t, ctx, "#json", done))
	assert.Eventually(t, func() bool { return len(seen.list()) >= 6 }, 5*time.Second, 20*time.Millisecond)
	last := normalizeOrigins(seen.list()[3:], appSrv.URL)
	assert.ElementsMatch(t, []string{
		"/rpc/clients self application/json 200",
		"/rpc/clients self text/plain 415",
		"/rpc/clients self text/plain 415",
	}, last)
}

// normalizeOrigins writes the app's own origin as "self".
func normalizeOrigins(lines []string, self string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.Replace(l, " "+self+" ", " self ", 1)
	}
	return out
}

// framingPage frames the app's page at %s.
const framingPage = `<!doctype html><title>frame</title><p id="state">pending</p>
<iframe id="app" src="%s/"></iframe>
<script>document.getElementById("app").addEventListener("load", () => document.getElementById("state").textContent = "loaded");</script>`

// The pages' Content-Security-Policy (frame-ancestors 'self') and
// X-Frame-Options stop another site from framing them (clickjacking): the
// browser fetches the framed page but does not run it, so its scripts are
// never requested. The app's own pages may frame it.
func TestBrowserFramingRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	app, err := NewApp(Config{DB: filepath.Join(t.TempDir(), "clients.db"), SessionKeys: testKeys, Addr: ln.Addr().String()})
	require.NoError(t, err)
	t.Cleanup(func() { app.Close() })
	var mu sync.Mutex
	scripts := 0 // requests for the framed page's script
	mux := http.NewServeMux()
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/static/page.js" {
			mu.Lock()
			scripts++
			mu.Unlock()
		}
		app.ServeHTTP(w, r)
	}))
	mux.HandleFunc("/frame", func(w http.ResponseWriter, r *http.Request) { // a page of the app's own origin
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, framingPage, "")
	})
	appSrv := httptest.NewUnstartedServer(mux)
	appSrv.Listener.Close()
	appSrv.Listener = ln
	appSrv.Start()
	// Closed after the browser (cleanups run last first): the app's page
	// keeps a changes stream open, and httptest.Server.Close waits for it.
	t.Cleanup(appSrv.Close)
	count := func() int { mu.Lock(); defer mu.Unlock(); return scripts }

	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, framingPage, appSrv.URL)
	}))
	defer attacker.Close()

	ctx := browsertest.New(t, 60*time.Second)
	done := func(s string) bool { return s != "pending" }
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(strings.Replace(attacker.URL, "127.0.0.1", "localhost", 1)+"/")))
	assert.Equal(t, "loaded", browsertest.Text(t, ctx, "#state", done))
	time.Sleep(500 * time.Millisecond)
	assert.Zero(t, count(), "the framed page ran on another site")
	browsertest.Screenshot(t, ctx, "framing-refused")

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(appSrv.URL+"/frame")))
	assert.Equal(t, "loaded", browsertest.Text(t, ctx, "#state", done))
	assert.Eventually(t, func() bool { return count() > 0 }, 5*time.Second, 20*time.Millisecond, "the app's own page frames it")
}
