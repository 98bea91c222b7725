package echorpc

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The console is served only with Config.Console: the page and its files
// at the prefix, none of them (the path is then a function's URL, answered
// 404 as an unknown function) without it, and its assets not even loaded.
func TestConsoleRoute(t *testing.T) {
	// the assets load once per process, for the first instance that
	// serves the console: with -count above 1 an earlier run loaded them
	loadedBefore := consoleAssets.assets != nil
	for _, on := range []bool{false, true} {
		name := map[bool]string{false: "off", true: "on"}[on]
		t.Run(name, func(t *testing.T) {
			e := echo.New()
			New(e.Group("/rpc"), Config{Manifest: true, Console: on, Functions: Funcs{"hello": RawFunc(func(c echo.Context, data json.RawMessage) Response { return Success("", "hi") })}})
			srv := httptest.NewServer(e)
			defer srv.Close()
			get := func(path string) (*http.Response, string) {
				res, err := http.Get(srv.URL + path)
				require.NoError(t, err)
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res, string(b)
			}
			cases := []struct{ path, contentType, holds string }{
				{"/rpc/console", "text/html; charset=UTF-8", `<script type="module" src="/rpc/console.js">`},
				{"/rpc/console.js", "text/javascript; charset=utf-8", `from"./client.mjs"`},
				{"/rpc/console.css", "text/css; charset=utf-8", "--accent"},
				{"/rpc/console.js.map", "application/json", `"sources"`},
			}
			for _, c := range cases {
				res, body := get(c.path)
				if !on {
					assert.Equal(t, http.StatusNotFound, res.StatusCode, c.path)
					assert.Contains(t, body, `"ok":false`, c.path)
					continue
				}
				assert.Equal(t, http.StatusOK, res.StatusCode, c.path)
				assert.Equal(t, c.contentType, res.Header.Get("Content-Type"), c.path)
				assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), c.path)
				assert.Contains(t, body, c.holds, c.path)
				assert.NotContains(t, body, "<style", c.path)
				if c.path == "/rpc/console" {
					assert.Equal(t, 1, strings.Count(body, "<script"), "one script, no inline one")
				}
			}
			if !on && !loadedBefore {
				assert.Nil(t, consoleAssets.assets, "the console's assets are not loaded while no instance serves it")
			}
			// POST to the page is a 405, as for every file the instance serves.
			if on {
				res, err := http.Post(srv.URL+"/rpc/console", "application/json", strings.NewReader(`{}`))
				require.NoError(t, err)
				res.Body.Close()
				assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
			}
		})
	}
}

// With the console on, a function named "console" would lose its URL to
// the page: it panics at registration, naming the conflict. Off, it is an
// ordinary name; Console without Manifest panics too.
func TestConsoleConflicts(t *testing.T) {
	f := Funcs{"console": RawFunc(func(c echo.Context, data json.RawMessage) Response { return Success("", nil) })}
	assert.PanicsWithValue(t, `echorpc: function "console" conflicts with the console at /rpc/console: rename it or turn Console off`, func() {
		New(echo.New().Group("/rpc"), Config{Manifest: true, Console: true, Functions: f})
	})
	assert.PanicsWithValue(t, `echorpc: function "console" conflicts with the console at /api/console: rename it or turn Console off`, func() {
		New(echo.New(), Config{Prefix: "/api", Manifest: true, Console: true}).Functions(f)
	})
	assert.NotPanics(t, func() { New(echo.New().Group("/rpc"), Config{Manifest: true, Functions: f}) })
	assert.PanicsWithValue(t, `echorpc: /rpc: Console needs Manifest: the console reads manifest.json`, func() {
		New(echo.New(), Config{Prefix: "/rpc", Console: true})
	})
}
