package main

import (
	"fmt"
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
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mcpAttackPage tries to make the visitor's browser call the app's MCP
// endpoint at target: a tools/call of create as a JSON fetch with
// credentials (a CORS preflight first), and as a no-cors fetch with a
// text/plain body, which needs no preflight. It writes what each saw.
const mcpAttackPage = `<!doctype html><title>mcp attack</title>
<p id="json">pending</p><p id="nocors">pending</p>
<script>
const body = JSON.stringify({jsonrpc: "2.0", id: 1, method: "tools/call", params: {name: "create", arguments: {name: "evil-mcp"}}});
fetch("%[1]s/mcp/clients", {method: "POST", credentials: "include", headers: {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}, body})
  .then(r => r.text().then(t => document.getElementById("json").textContent = "answered " + r.status + " " + t))
  .catch(e => document.getElementById("json").textContent = "blocked: " + e.name);
fetch("%[1]s/mcp/clients", {method: "POST", mode: "no-cors", credentials: "include", headers: {"Content-Type": "text/plain"}, body})
  .then(r => document.getElementById("nocors").textContent = "sent (opaque)")
  .catch(e => document.getElementById("nocors").textContent = "blocked: " + e.name);
</script>`

// mcpSeen records what reached the app's MCP endpoints from a browser:
// method, path, Origin, Sec-Fetch-Site and status.
type mcpSeen struct {
	mu   sync.Mutex
	seen []string
}

func (m *mcpSeen) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		if strings.HasPrefix(r.URL.Path, "/mcp/") && r.Header.Get("Origin") != "" {
			m.mu.Lock()
			m.seen = append(m.seen, fmt.Sprintf("%s %s %s %d", r.Method, r.URL.Path, r.Header.Get("Sec-Fetch-Site"), rec.status))
			m.mu.Unlock()
		}
	})
}

func (m *mcpSeen) list() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.seen...)
}

// A page on another site cannot make a logged-in visitor's browser call
// the app's MCP endpoint: the preflight of the JSON fetch and the no-cors
// fetch both reach the handler's origin check, which refuses them (403)
// before the SDK reads them. Nothing is created.
func TestBrowserMCPCrossOriginRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	app, err := NewApp(Config{DB: filepath.Join(t.TempDir(), "clients.db"), SessionKeys: testKeys, Addr: ln.Addr().String()})
	require.NoError(t, err)
	t.Cleanup(func() { app.Close() })
	var seen mcpSeen
	appSrv := httptest.NewUnstartedServer(seen.wrap(app))
	appSrv.Listener.Close()
	appSrv.Listener = ln
	appSrv.Start()
	t.Cleanup(appSrv.Close)

	// The attacker's site: localhost, another port, so another site.
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, mcpAttackPage, appSrv.URL)
	}))
	defer attacker.Close()
	attackerURL := strings.Replace(attacker.URL, "127.0.0.1", "localhost", 1)

	ctx := browsertest.New(t, 60*time.Second)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(appSrv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`))))
	assert.Equal(t, `ok: {"user_id":100}`, click(t, ctx, "login"))

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(attackerURL+"/")))
	done := func(s string) bool { return s != "pending" }
	assert.Equal(t, "blocked: TypeError", browsertest.Text(t, ctx, "#json", done), "the preflight fails")
	assert.Equal(t, "sent (opaque)", browsertest.Text(t, ctx, "#nocors", done))
	browsertest.Screenshot(t, ctx, "mcp-cross-origin-attack")

	assert.Eventually(t, func() bool { return len(seen.list()) >= 2 }, 5*time.Second, 20*time.Millisecond)
	assert.ElementsMatch(t, []string{
		"OPTIONS /mcp/clients cross-site 403", // the JSON fetch's preflight
		"POST /mcp/clients cross-site 403",    // the no-cors fetch
	}, seen.list())

	// Nothing was created.
	cs := goMCP(t, appSrv.URL+"/mcp/clients", nil)
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "list"})
	require.NoError(t, err)
	assert.Equal(t, []string{"[]"}, texts(res))
}
