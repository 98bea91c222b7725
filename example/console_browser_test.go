package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/echo-rpc/wrpc/internal/browsertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eval runs js in the page, awaiting a promise, and returns its value.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	require.NoError(t, err, js)
	return v
}

// consoleOpen opens the console at url and waits for its list.
func consoleOpen(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`))))
}

// consoleCall presses the call button (or Enter in a field) and waits for the result line.
func consoleResult(t *testing.T, ctx context.Context) (meta, envelope string) {
	t.Helper()
	meta = browsertest.Text(t, ctx, "#meta", func(s string) bool { return s != "" && s != "calling…" })
	return meta, eval[string](t, ctx, `document.getElementById("envelope")?.textContent ?? ""`)
}

// setRaw types JSON into the console's raw editor, as a person would.
func setRaw(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	eval[bool](t, ctx, `(() => { const r = document.getElementById("raw"); r.value = `+js+`; r.dispatchEvent(new Event("input")); return true })()`)
}

// The console (Config.Console) in Chromium: it lists what the caller may
// call, more after a login; builds forms from schemas and calls through
// them; shows field errors at their fields and a stream's items as they
// arrive; and its "copy as curl" answers what the page got. Screenshots at
// desktop width and at 390 px.
func TestBrowserConsole(t *testing.T) {
	srv := testApp(t, filepath.Join(t.TempDir(), "clients.db"))
	ctx := browsertest.New(t, 90*time.Second)

	// The example's page links the console.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`))))
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#console-link"))))
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`))))

	functions := func() []string { return strings.Fields(eval[string](t, ctx, `document.body.dataset.functions`)) }
	anonymous := functions()
	assert.Subset(t, anonymous, []string{"add_numbers", "add_string", "countdown", "add_string_auth_host"})
	assert.NotContains(t, anonymous, "add_string_auth_session", "guarded: not for an anonymous caller")
	browsertest.Screenshot(t, ctx, "console-tester-anonymous")

	// A query goes as a GET; its envelope, status and timing show.
	consoleOpen(t, ctx, srv.URL+"/rpc/tester/console#add_numbers")
	setRaw(t, ctx, `"[1, 2, 3]"`)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#call"))))
	meta, env := consoleResult(t, ctx)
	assert.Regexp(t, `^GET · HTTP 200 · \d+ ms · ok$`, meta)
	assert.JSONEq(t, `{"weerpc":1.1,"ok":true,"message":"add_numbers","data":6}`, reenvelope(t, env))

	// "Copy as curl" gives a command that answers the same envelope.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#copy-curl"))))
	curl := browsertest.Text(t, ctx, "#copied", func(s string) bool { return strings.HasPrefix(s, "curl ") })
	assert.JSONEq(t, reenvelope(t, env), reenvelope(t, runShell(t, curl)), curl)

	// Log in (another instance, the same session cookie): after the next
	// call the guarded function is listed, without a reload.
	assert.Equal(t, 200, eval[int](t, ctx, `fetch("/rpc/auth/login", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({weerpc: 1.1, function: "login"})}).then(r => r.status)`))
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#call"))))
	consoleResult(t, ctx)
	require.Eventually(t, func() bool { return strings.Contains(strings.Join(functions(), " "), "add_string_auth_session") }, 10*time.Second, 50*time.Millisecond)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a[data-function="add_string_auth_session"]`))))
	browsertest.Text(t, ctx, "#fn-name", func(s string) bool { return strings.HasPrefix(s, "add_string_auth_session") })
	setRaw(t, ctx, `"\"Ada\""`)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#call"))))
	meta, env = consoleResult(t, ctx)
	assert.Regexp(t, `HTTP 200 .* ok$`, meta)
	assert.Contains(t, env, `"Hello Ada!"`)
	browsertest.Screenshot(t, ctx, "console-tester-logged-in")

	// A stream's items show as they arrive; Stop ends it.
	consoleOpen(t, ctx, srv.URL+"/rpc/tester/console#countdown")
	setRaw(t, ctx, `"100"`)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#call"))))
	browsertest.Text(t, ctx, "#meta", func(s string) bool {
		var n int
		_, err := fmt.Sscanf(s, "streaming · %d items", &n)
		return err == nil && n >= 3
	})
	live := eval[[]string](t, ctx, `[...document.querySelectorAll("#items li")].map(li => li.textContent)`)
	assert.GreaterOrEqual(t, len(live), 3)
	assert.Equal(t, []string{"100", "99", "98"}, live[:3])
	browsertest.Screenshot(t, ctx, "console-stream-live")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#stop"))))
	meta = browsertest.Text(t, ctx, "#meta", func(s string) bool { return strings.HasPrefix(s, "stopped") })
	assert.Less(t, eval[int](t, ctx, `document.querySelectorAll("#items li").length`), 100, meta)

	// A typed function: the form comes from the input's schema; Enter in a
	// field calls; a refused field shows its error at the field.
	consoleOpen(t, ctx, srv.URL+"/rpc/clients/console#create")
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#f-name"), "Ada Lovelace")))
	assert.JSONEq(t, `{"name":"Ada Lovelace"}`, eval[string](t, ctx, `document.getElementById("raw").value`), "the raw editor follows the form")
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#f-name"), "\r")))
	meta, env = consoleResult(t, ctx)
	assert.Regexp(t, `^POST · HTTP 200 · \d+ ms · ok$`, meta)
	assert.Contains(t, env, `"name": "Ada Lovelace"`)
	browsertest.Screenshot(t, ctx, "console-clients-created")

	setRaw(t, ctx, `'{"name": ""}'`)
	assert.Equal(t, "", eval[string](t, ctx, `document.getElementById("f-name").value`), "the form follows the raw editor")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#call"))))
	meta, env = consoleResult(t, ctx)
	assert.Regexp(t, `^POST · HTTP 400 .* error$`, meta)
	assert.Equal(t, "is required", browsertest.Text(t, ctx, `[data-error-for="name"]`, func(s string) bool { return s != "" }))
	assert.Equal(t, "true", eval[string](t, ctx, `document.getElementById("f-name").getAttribute("aria-invalid")`))
	browsertest.Screenshot(t, ctx, "console-field-error")

	// The POST as curl answers the same 400 envelope.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#copy-curl"))))
	curl = browsertest.Text(t, ctx, "#copied", func(s string) bool { return strings.HasPrefix(s, "curl ") })
	assert.Contains(t, curl, "--data-raw")
	assert.JSONEq(t, reenvelope(t, env), reenvelope(t, runShell(t, curl)), curl)

	// Phone width: 390 px, nothing wider than the screen.
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)))
	assert.LessOrEqual(t, eval[int](t, ctx, `document.documentElement.scrollWidth`), 390, "no sideways scrolling")
	browsertest.Screenshot(t, ctx, "console-field-error-390")
	consoleOpen(t, ctx, srv.URL+"/rpc/tester/console#countdown")
	assert.LessOrEqual(t, eval[int](t, ctx, `document.documentElement.scrollWidth`), 390, "no sideways scrolling")
	browsertest.Screenshot(t, ctx, "console-tester-390")
}

// reenvelope normalises an envelope's JSON text for comparison.
func reenvelope(t *testing.T, text string) string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(text), &v), text)
	b, _ := json.Marshal(v)
	return string(b)
}

// runShell runs a copied command line with sh and returns its output.
func runShell(t *testing.T, command string) string {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	out, err := exec.Command("sh", "-c", command).Output()
	require.NoError(t, err, command)
	return string(out)
}
