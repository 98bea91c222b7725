package echorpc_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/internal/browsertest"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// In a real browser, a page that loads an instance's client.js with a
// script tag calls that instance with no endpoint given, both with
// wrpc.call and the Flask-RPC way (fetch with a body from wrpc()); a page
// that imports its client.mjs does the same as a module.
func TestBrowserClient(t *testing.T) {
	e := echo.New()
	echorpc.New(e.Group("/rpc/tester"), echorpc.Config{}).Functions(testFuncs(nil))
	e.GET("/script", func(c echo.Context) error {
		return c.HTML(200, `<!doctype html><p id="call">pending</p><p id="fetch">pending</p><p id="fail">pending</p>
<script src="/rpc/tester/client.js"></script>
<script>
wrpc.call("add_numbers", [1, 2, 3]).then(d => document.getElementById("call").textContent = "call " + d);
fetch("/rpc/tester", {method: "POST", headers: {"Content-Type": "application/json"}, body: wrpc("add_numbers", [4, 5])})
  .then(r => r.json()).then(r => document.getElementById("fetch").textContent = "fetch " + r.data);
wrpc.call("nope", null).catch(e => document.getElementById("fail").textContent =
  [e instanceof wrpc.WrpcError, e.status, e.message, e.function].join(" "));
</script>`)
	})
	e.GET("/module", func(c echo.Context) error {
		return c.HTML(200, `<!doctype html><p id="call">pending</p><p id="client">pending</p>
<script type="module">
import { call, createClient } from "/rpc/tester/client.mjs";
call("add_numbers", [1, 2, 3]).then(d => document.getElementById("call").textContent = "call " + d);
createClient("/rpc/tester").call("echo", {a: [1]}).then(d => document.getElementById("client").textContent = "client " + JSON.stringify(d));
</script>`)
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	done := func(s string) bool { return s != "pending" }

	ctx := browsertest.New(t, 60*time.Second)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/script")))
	assert.Equal(t, "call 6", browsertest.Text(t, ctx, "#call", done))
	assert.Equal(t, "fetch 9", browsertest.Text(t, ctx, "#fetch", done))
	assert.Equal(t, "true 404 Invalid function. nope", browsertest.Text(t, ctx, "#fail", done))

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/module")))
	assert.Equal(t, "call 6", browsertest.Text(t, ctx, "#call", done))
	assert.Equal(t, `client {"a":[1]}`, browsertest.Text(t, ctx, "#client", done))
}
