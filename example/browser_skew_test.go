package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/internal/browsertest"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An open page hears that the server's functions changed (here: one more
// registered, as a deploy would) on its next call, and offers a reload.
func TestBrowserVersionSkew(t *testing.T) {
	app, srv := startApp(t, Config{DB: filepath.Join(t.TempDir(), "clients.db"), SessionKeys: testKeys})
	ctx := browsertest.New(t, 60*time.Second)
	hidden := func() bool {
		is, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("reload-banner").hidden`))
		require.NoError(t, err)
		return is
	}
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/spa"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)),
	))
	assert.Equal(t, "ok: 6", click(t, ctx, "add_numbers"))
	assert.True(t, hidden(), "the same functions: no banner")

	app.Tester.Functions(echorpc.Funcs{"deployed_later": echorpc.Func(func(_ echo.Context, in string) (string, error) { return in, nil })})
	assert.Equal(t, "ok: 6", click(t, ctx, "add_numbers"), "the call itself still answers")
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#reload-banner"))))
	assert.False(t, hidden())
	browsertest.Screenshot(t, ctx, "version-skew")
}
