package echorpc_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
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

// In a real browser, the script build sends a Blob as multipart with upload
// progress and reads a download as a Blob, both through files.mjs, the
// chunk that the script loads from the instance on its first file call;
// the ES module build holds files itself.
func TestBrowserScriptLoadsFiles(t *testing.T) {
	type upload struct {
		Doc echorpc.File `json:"doc"`
	}
	e := echo.New()
	echorpc.New(e.Group("/rpc/files"), echorpc.Config{}).Functions(echorpc.Funcs{
		"size": echorpc.Func(func(_ echo.Context, in upload) (string, error) {
			r, err := in.Doc.Open()
			if err != nil {
				return "", err
			}
			defer r.Close()
			n, err := io.Copy(io.Discard, r)
			return fmt.Sprintf("%s %d", in.Doc.Name, n), err
		}),
		"greeting": echorpc.Func(func(_ echo.Context, name string) (echorpc.File, error) {
			text := "hello, " + name
			return echorpc.File{Name: "greeting.txt", Type: "text/plain", Size: int64(len(text)), Body: strings.NewReader(text)}, nil
		}),
	})
	var chunks atomic.Int32
	e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().URL.Path == "/rpc/files/files.mjs" {
				chunks.Add(1)
			}
			return next(c)
		}
	})
	page := func(head, script string) string {
		return `<!doctype html><p id="upload">pending</p><p id="progress">pending</p><p id="download">pending</p><p id="plain">pending</p>` + head + `
<script type="module">` + script + `
const $ = (id) => document.getElementById(id);
const file = new File(["x".repeat(300000)], "big.txt", {type: "text/plain"});
client.call("add", 1).catch(() => {}).finally(() => $("plain").textContent = "plain done");
client.call("size", {doc: file}, {onUploadProgress: (p) => $("progress").textContent = p.loaded + "/" + p.total})
  .then((d) => $("upload").textContent = d, (e) => $("upload").textContent = "error " + e.message);
client.download("greeting", "ann").then(async (f) => $("download").textContent = f.name + " " + await f.text(),
  (e) => $("download").textContent = "error " + e.message);
</script>`
	}
	e.GET("/script", func(c echo.Context) error {
		return c.HTML(200, page(`<script src="/rpc/files/client.js"></script>`, `const client = wrpc.createClient("/rpc/files");`))
	})
	e.GET("/module", func(c echo.Context) error {
		return c.HTML(200, page("", `import { createClient } from "/rpc/files/client.mjs"; const client = createClient("/rpc/files");`))
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	done := func(s string) bool { return s != "pending" }
	ctx := browsertest.New(t, 60*time.Second)
	for _, tc := range []struct {
		page   string
		chunks int32 // loads of files.mjs
	}{{"/script", 1}, {"/module", 0}} {
		chunks.Store(0)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+tc.page)))
		assert.Equal(t, "big.txt 300000", browsertest.Text(t, ctx, "#upload", done), tc.page)
		assert.Equal(t, "greeting.txt hello, ann", browsertest.Text(t, ctx, "#download", done), tc.page)
		assert.Equal(t, "plain done", browsertest.Text(t, ctx, "#plain", done), tc.page)
		progress := browsertest.Text(t, ctx, "#progress", done)
		assert.True(t, strings.HasSuffix(progress, "/"+strings.Split(progress, "/")[0]), "%s: the last progress is the whole body: %s", tc.page, progress)
		assert.Equal(t, tc.chunks, chunks.Load(), "%s loads files.mjs once, and only the script does", tc.page)
	}
}
