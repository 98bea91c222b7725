// Package browsertest runs a real headless Chromium for the project's
// browser tests: Debian's chromium, driven over the DevTools protocol with
// chromedp.
//
// A test calls New; when no browser is installed the test is skipped on a
// developer's machine and fails in CI (CI=true), where a missing browser
// means the install step broke.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// candidates are the names Chromium goes by, Debian's first.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Path returns the browser's executable, from $CHROMIUM or the PATH.
func Path() (string, bool) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, true
	}
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// New starts a headless browser for the test and returns a chromedp context
// for its first tab. The browser lives until the timeout passes or the test
// ends, whichever comes first.
func New(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	path, ok := Path()
	if !ok {
		if os.Getenv("CI") != "" {
			t.Fatal("browsertest: no chromium found; in CI the browser tests must run (make deps installs it)")
		}
		t.Skip("browsertest: no chromium found (apt-get install chromium, or set CHROMIUM)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1200, 1600),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browsertest: starting %s: %v", path, err)
	}
	return ctx
}

// Text waits until the element that the CSS selector matches has text for
// which done is true, and returns that text; it fails the test at the
// context's deadline.
func Text(t testing.TB, ctx context.Context, selector string, done func(string) bool) string {
	t.Helper()
	var last string
	for {
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(selector)))
		if err == nil {
			last = text
			if done(text) {
				return text
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("browsertest: %s: last text %q: %v", selector, last, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Screenshot saves a full-page PNG of the current page under the test's
// artifact directory ($WRPC_ARTIFACTS, or a folder in the test's temp dir)
// and returns its path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	dir := os.Getenv("WRPC_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("browsertest: screenshot: %v", err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

// conditions is one entry of Network.emulateNetworkConditionsByRule, written
// by hand: the protocol moved "offline" from each entry to the command
// (Chromium 14x refuses the command without it), ahead of cdproto's types.
type conditions struct {
	URLPattern         string  `json:"urlPattern"`
	Latency            float64 `json:"latency"`
	DownloadThroughput float64 `json:"downloadThroughput"`
	UploadThroughput   float64 `json:"uploadThroughput"`
}

type throttleParams struct {
	Offline                  bool         `json:"offline"`
	MatchedNetworkConditions []conditions `json:"matchedNetworkConditions"`
}

var emulateByRule = cdp.Command[throttleParams, cdp.Empty]{Method: "Network.emulateNetworkConditionsByRule"}

// Throttle limits the page's upload and download to the given bytes per
// second (-1: no limit), for every request.
func Throttle(t testing.TB, ctx context.Context, up, down float64) {
	t.Helper()
	_, err := chromedp.Call(ctx, emulateByRule, throttleParams{
		MatchedNetworkConditions: []conditions{{UploadThroughput: up, DownloadThroughput: down}},
	})
	if err != nil {
		t.Fatalf("browsertest: throttle: %v", err)
	}
}
