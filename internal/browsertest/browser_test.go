package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/echo-rpc/wrpc/internal/browsertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The browser runs scripts: a page computes a value and the test reads it
// from the DOM.
func TestBrowserRunsScripts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><p id="out">waiting</p><script>document.getElementById("out").textContent = String(6 * 7)</script>`))
	}))
	defer srv.Close()
	ctx := browsertest.New(t, 30*time.Second)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL)))
	got := browsertest.Text(t, ctx, "#out", func(s string) bool { return s != "waiting" })
	assert.Equal(t, "42", got)
	png := browsertest.Screenshot(t, ctx, "scripts")
	info, err := os.Stat(png)
	require.NoError(t, err)
	assert.Greater(t, info.Size(), int64(100))
}
