package main

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A cookie that does not decode (garbage, or signed with a key the app no
// longer has, as after a restart without SESSION_SECRET) is no session
// everywhere: guarded calls answer 401, never 500, and login works and
// replaces the cookie (logout too: TestLogoutClearsAnyCookie).
func TestBadCookieIsNoSession(t *testing.T) {
	srv := testApp(t, filepath.Join(t.TempDir(), "clients.db"))

	// A real cookie from an app with another key.
	other := serveApp(t, Config{DB: filepath.Join(t.TempDir(), "other.db"), SessionKeys: [][]byte{[]byte("another key, as after a restart")}})
	_, set := post(t, other.URL+"/rpc/auth/login", "login", "")
	require.Len(t, set, 1)
	bad := map[string]*http.Cookie{
		"other key": set[0],
		"garbage":   {Name: "session", Value: "not-a-cookie"},
		"tampered":  {Name: "session", Value: set[0].Value[:len(set[0].Value)-4] + "AAAA"},
	}
	for name, cookie := range bad {
		t.Run(name, func(t *testing.T) {
			for _, call := range []struct{ path, fn, data string }{
				{"/rpc/auth", "session", ""},
				{"/rpc/auth/login", "make_admin", ""},
				{"/rpc/admin", "add_numbers", "[1]"},
				{"/rpc/tester", "add_string_auth_session", `"x"`},
			} {
				r, _ := post(t, srv.URL+call.path, call.fn, call.data, cookie)
				assert.Equal(t, 401, r.Status, "%s %s", call.path, call.fn)
			}
			r, _ := post(t, srv.URL+"/rpc/tester", "add_numbers", "[1,2]", cookie)
			assert.True(t, r.OK, "open functions do not care")

			r, fresh := post(t, srv.URL+"/rpc/auth/login", "login", "", cookie)
			require.Equal(t, 200, r.Status)
			require.True(t, r.OK, "login with a bad cookie: %v", r.Message)
			require.Len(t, fresh, 1, "the bad cookie is replaced")
			assert.NotEqual(t, cookie.Value, fresh[0].Value)
			r, _ = post(t, srv.URL+"/rpc/auth", "session", "", fresh[0])
			assert.True(t, r.OK)
			assert.JSONEq(t, `{"logged_in":true,"user_id":100}`, string(r.Data))
		})
	}
}

// login starts a fresh session: what the session held before (here an
// admin flag from an earlier login) does not survive it, so a session
// planted in a victim's browser does not log the victim into it.
func TestLoginStartsFreshSession(t *testing.T) {
	srv := testApp(t, filepath.Join(t.TempDir(), "clients.db"))
	c := newCaller(t, srv)
	require.True(t, c.call("/rpc/auth/login", "login", "", "").OK)
	require.True(t, c.call("/rpc/auth/login", "make_admin", "", "").OK)
	require.True(t, c.call("/rpc/admin", "add_numbers", "[1]", "").OK)

	r := c.call("/rpc/auth/login", "login", "", "")
	require.True(t, r.OK)
	r = c.call("/rpc/auth", "session", "", "")
	assert.JSONEq(t, `{"logged_in":true,"user_id":100}`, string(r.Data), "nothing from before the login")
	assert.Equal(t, 401, c.call("/rpc/admin", "add_numbers", "[1]", "").Status)
}

// make_admin needs a logged-in session; README step 3 (login, make_admin,
// /rpc/admin) still works.
func TestMakeAdminNeedsLogin(t *testing.T) {
	srv := testApp(t, filepath.Join(t.TempDir(), "clients.db"))
	c := newCaller(t, srv)
	r := c.call("/rpc/auth/login", "make_admin", "", "")
	assert.Equal(t, 401, r.Status)
	assert.Equal(t, msg("Unauthorized."), r.Message)
	assert.Equal(t, 401, c.call("/rpc/admin", "add_numbers", "[1]", "").Status)
	// Not even a login afterwards makes the refused make_admin count.
	require.True(t, c.call("/rpc/auth/login", "login", "", "").OK)
	assert.Equal(t, 401, c.call("/rpc/admin", "add_numbers", "[1]", "").Status)

	// Step 3: login, then make_admin, then /rpc/admin.
	require.True(t, c.call("/rpc/auth/login", "make_admin", "", "").OK)
	r = c.call("/rpc/admin", "add_numbers", "[1,2]", "")
	assert.True(t, r.OK)
	assert.JSONEq(t, "3", string(r.Data))
}

// Logging out needs no session, so it works whatever the cookie holds: one
// that no longer decodes (signed with another key, as after a restart
// without SESSION_SECRET, garbage, tampered with), one whose session Redis
// no longer has, or none, is answered "logged out" and expired. Before,
// /rpc/auth demanded a logged-in session first, answered 401, and left the
// bad cookie in the browser. A real session is ended: its cookie is
// refused afterwards. With sessions in Redis too, when redis-server is
// installed.
func TestLogoutClearsAnyCookie(t *testing.T) {
	stores := map[string]string{"cookie": ""}
	if bin, err := exec.LookPath("redis-server"); err == nil && !testing.Short() {
		stores["redis"] = startRedis(t, bin)
	}
	for store, redisURL := range stores {
		t.Run(store, func(t *testing.T) {
			srv := serveApp(t, Config{DB: filepath.Join(t.TempDir(), "clients.db"), Redis: redisURL, SessionKeys: testKeys})
			other := serveApp(t, Config{DB: filepath.Join(t.TempDir(), "other.db"), Redis: redisURL, SessionKeys: [][]byte{[]byte("another key, as after a restart")}})
			_, set := post(t, other.URL+"/rpc/auth/login", "login", "")
			require.Len(t, set, 1)
			_, live := post(t, srv.URL+"/rpc/auth/login", "login", "")
			require.Len(t, live, 1)
			cookies := map[string][]*http.Cookie{
				"other key": {set[0]},
				"garbage":   {{Name: "session", Value: "not-a-cookie"}},
				"tampered":  {{Name: "session", Value: set[0].Value[:len(set[0].Value)-4] + "AAAA"}},
				"none":      nil,
				"logged in": live,
			}
			if redisURL != "" {
				_, gone := post(t, srv.URL+"/rpc/auth/login", "login", "")
				require.Len(t, gone, 1)
				r, _ := post(t, srv.URL+"/rpc/auth", "logout", "", gone[0])
				require.True(t, r.OK)
				cookies["session gone from Redis"] = gone
			}
			for name, sent := range cookies {
				r, out := post(t, srv.URL+"/rpc/auth", "logout", "", sent...)
				assert.Equal(t, 200, r.Status, name)
				assert.True(t, r.OK, "%s: %v", name, r.Message)
				assert.Equal(t, msg("logged out"), r.Message, name)
				if assert.Len(t, out, 1, "%s: the cookie is expired", name) {
					assert.Equal(t, "session", out[0].Name, name)
					assert.Equal(t, -1, out[0].MaxAge, name)
					assert.Equal(t, "/", out[0].Path, name)
					assert.True(t, out[0].HttpOnly, name)
				}
			}
			if redisURL != "" { // the cookie store's cookie is its session
				r, _ := post(t, srv.URL+"/rpc/auth", "session", "", live...)
				assert.Equal(t, 401, r.Status, "the logged-out session is refused")
			}
		})
	}
}
