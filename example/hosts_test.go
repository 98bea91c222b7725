package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServedHosts(t *testing.T) {
	tests := []struct {
		whenAddr    string
		whenExtra   []string
		whenTLS     bool
		expectLocal string
		expectHosts []string
	}{
		{whenAddr: "127.0.0.1:5000", expectLocal: "127.0.0.1:5000", expectHosts: []string{"127.0.0.1:5000", "localhost:5000", "[::1]:5000"}},
		{whenAddr: "127.0.0.1:5600", expectLocal: "127.0.0.1:5600", expectHosts: []string{"127.0.0.1:5600", "localhost:5600", "[::1]:5600"}},
		{whenAddr: "localhost:5000", expectLocal: "localhost:5000", expectHosts: []string{"localhost:5000", "127.0.0.1:5000", "[::1]:5000"}},
		{whenAddr: "[::1]:5000", expectLocal: "[::1]:5000", expectHosts: []string{"[::1]:5000", "127.0.0.1:5000", "localhost:5000"}},
		{whenAddr: ":8080", whenExtra: []string{"app.example.com"}, expectLocal: "127.0.0.1:8080", expectHosts: []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080", "app.example.com"}},
		{whenAddr: "0.0.0.0:80", expectLocal: "127.0.0.1", expectHosts: []string{"127.0.0.1", "localhost", "[::1]"}},
		{whenAddr: "0.0.0.0:443", whenTLS: true, expectLocal: "127.0.0.1", expectHosts: []string{"127.0.0.1", "localhost", "[::1]"}},
		{whenAddr: "127.0.0.1:443", expectLocal: "127.0.0.1:443", expectHosts: []string{"127.0.0.1:443", "localhost:443", "[::1]:443"}},
		{whenAddr: "127.0.0.1:80", whenTLS: true, expectLocal: "127.0.0.1:80", expectHosts: []string{"127.0.0.1:80", "localhost:80", "[::1]:80"}},
		{whenAddr: "192.0.2.7:5000", whenExtra: []string{"app.example.com:5000", "APP.example.com:5000"}, expectLocal: "192.0.2.7:5000", expectHosts: []string{"192.0.2.7:5000", "app.example.com:5000"}},
	}
	for _, tt := range tests {
		t.Run(tt.whenAddr, func(t *testing.T) {
			h, err := servedHosts(tt.whenAddr, tt.whenExtra, tt.whenTLS)
			require.NoError(t, err)
			assert.Equal(t, tt.expectLocal, h.Local)
			assert.Equal(t, tt.expectHosts, h.Served)
		})
	}
	for _, bad := range []string{"127.0.0.1", "127.0.0.1:0", "nonsense"} {
		_, err := servedHosts(bad, nil, false)
		assert.Error(t, err, bad)
	}
	_, err := servedHosts("127.0.0.1:5000", []string{" "}, false)
	assert.Error(t, err, "an empty -host")
}

// rpcAs posts a call with the given Host and Origin headers and cookies.
func rpcAs(t *testing.T, srv *httptest.Server, host, origin, path, function, data string, cookies ...*http.Cookie) reply {
	t.Helper()
	body := `{"weerpc":1.1,"function":"` + function + `"`
	if data != "" {
		body += `,"data":` + data
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body+"}"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Host = host
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	return decodeReply(t, res)
}

// The host-guarded functions follow -addr.
func TestHostRulesFollowAddr(t *testing.T) {
	srv := serveApp(t, Config{DB: filepath.Join(t.TempDir(), "clients.db"), SessionKeys: testKeys, Addr: "127.0.0.1:5600"})
	for _, host := range []string{"127.0.0.1:5600", "127.0.0.1:5000", "localhost:5600"} {
		r1 := rpcAs(t, srv, host, "", "/rpc/tester", "add_string_auth_host", `"x"`)
		r2 := rpcAs(t, srv, host, "", "/rpc/local", "add_numbers", "[1]")
		if host == "127.0.0.1:5600" {
			assert.True(t, r1.OK, host)
			assert.True(t, r2.OK, host)
			continue
		}
		assert.Equal(t, 403, r1.Status, host)
		assert.Equal(t, 403, r2.Status, host)
		assert.Equal(t, msg("Unauthorized ("+host+")"), r2.Message)
	}
}

// DNS rebinding: a page on evil.example, rebound to 127.0.0.1, is
// same-origin to the browser (Host and Origin agree), so only the Host
// rule stops it. Every instance that touches sessions or data refuses it;
// the open demo functions stay open. The names the app serves pass.
func TestDNSRebindingRefused(t *testing.T) {
	srv := serveApp(t, Config{DB: filepath.Join(t.TempDir(), "clients.db"), SessionKeys: testKeys,
		Addr: "127.0.0.1:5000", Hosts: []string{"app.example.com"}})
	const evil, evilOrigin = "evil.example:5000", "http://evil.example:5000"

	// A logged-in admin's cookie, as if the page had one (a rebound page
	// has its own cookies, but the rule must not depend on that).
	good := "127.0.0.1:5000"
	login := rpcAsCookies(t, srv, good, "/rpc/auth/login", "login")
	require.Len(t, login, 1)
	admin := rpcAsCookies(t, srv, good, "/rpc/auth/login", "make_admin", login[0])
	require.Len(t, admin, 1)
	cookie := admin[0]
	require.True(t, rpcAs(t, srv, good, "", "/rpc/admin", "add_numbers", "[1]", cookie).OK)
	created := rpcAs(t, srv, good, "", "/rpc/clients", "create", `{"name":"Ada"}`)
	require.True(t, created.OK)

	for _, call := range []struct{ path, fn, data string }{
		{"/rpc/clients", "create", `{"name":"evil"}`},
		{"/rpc/clients", "read", `{"client_id":1}`},
		{"/rpc/clients", "update", `{"client_id":1,"name":"evil"}`},
		{"/rpc/clients", "delete", `{"client_id":1}`},
		{"/rpc/auth/login", "login", ""},
		{"/rpc/auth/login", "make_admin", ""},
		{"/rpc/auth", "session", ""},
		{"/rpc/auth", "logout", ""},
		{"/rpc/admin", "add_numbers", "[1]"},
		{"/rpc/local", "add_numbers", "[1]"},
		{"/rpc/tester", "add_string_auth_host", `"x"`},
	} {
		r := rpcAs(t, srv, evil, evilOrigin, call.path, call.fn, call.data, cookie)
		assert.Equal(t, 403, r.Status, "%s %s", call.path, call.fn)
		assert.Equal(t, msg("Unauthorized ("+evil+")"), r.Message, "%s %s", call.path, call.fn)
	}
	// The open functions stay open, as in Flask-RPC.
	r := rpcAs(t, srv, evil, evilOrigin, "/rpc/tester", "add_numbers", "[1,2]")
	assert.True(t, r.OK)

	// The client is untouched, and every host the app serves reads it.
	for _, host := range []string{"127.0.0.1:5000", "localhost:5000", "[::1]:5000", "app.example.com"} {
		r := rpcAs(t, srv, host, "http://"+host, "/rpc/clients", "read", `{"client_id":1}`)
		assert.True(t, r.OK, host)
		assert.JSONEq(t, string(created.Data), string(r.Data), host)
	}
}

// rpcAsCookies is rpcAs for a call whose cookies matter.
func rpcAsCookies(t *testing.T, srv *httptest.Server, host, path, function string, cookies ...*http.Cookie) []*http.Cookie {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(`{"weerpc":1.1,"function":"`+function+`"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Host = host
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	return res.Cookies()
}

// Pages may be framed only by the app's own pages, and still load their
// scripts (the browser tests run them under this policy).
func TestPagesRefuseFraming(t *testing.T) {
	srv := testApp(t, filepath.Join(t.TempDir(), "clients.db"))
	for _, path := range []string{"/", "/spa"} {
		res, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		res.Body.Close()
		csp := res.Header.Get("Content-Security-Policy")
		assert.Contains(t, csp, "frame-ancestors 'self'", path)
		assert.Contains(t, csp, "default-src 'self'", path)
		assert.Equal(t, "SAMEORIGIN", res.Header.Get("X-Frame-Options"), path)
		assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), path)
	}
}
