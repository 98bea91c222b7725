package main

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A cookie that does not decode (garbage, or signed with a key the app no
// longer has, as after a restart without SESSION_SECRET) is no session
// everywhere: guarded calls answer 401, never 500, and login works and
// replaces the cookie.
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
				{"/rpc/auth", "logout", ""},
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
