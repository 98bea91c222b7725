package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testKeys sign the tests' session cookies.
var testKeys = [][]byte{[]byte("test session key 0123456789abcdef")}

// testApp starts the app on a random port with a database in dbPath. Its
// -addr is the port it listens on, as with the real binary, so its host
// rules accept the test server's URL.
func testApp(t *testing.T, dbPath string) *httptest.Server {
	t.Helper()
	return serveApp(t, Config{DB: dbPath, SessionKeys: testKeys})
}

// serveApp starts the app built from cfg on a random loopback port; an
// empty cfg.Addr becomes that port.
func serveApp(t *testing.T, cfg Config) *httptest.Server {
	t.Helper()
	_, srv := startApp(t, cfg)
	return srv
}

// startApp is serveApp that also returns the app.
func startApp(t *testing.T, cfg Config) (*App, *httptest.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if cfg.Addr == "" {
		cfg.Addr = ln.Addr().String()
	}
	app, err := NewApp(cfg)
	if err != nil {
		ln.Close()
		require.NoError(t, err)
	}
	app.Logger.SetOutput(io.Discard)
	srv := httptest.NewUnstartedServer(app)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		app.Close()
	})
	return app, srv
}

// hostOf is the host and port of a test server, as in its Host header.
func hostOf(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

// caller makes weeRPC calls with a cookie jar, as a browser would.
type caller struct {
	t    *testing.T
	base string
	http *http.Client
}

func newCaller(t *testing.T, srv *httptest.Server) *caller {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &caller{t: t, base: srv.URL, http: &http.Client{Jar: jar}}
}

type reply struct {
	Status  int
	Weerpc  *float64        `json:"weerpc"`
	OK      bool            `json:"ok"`
	Message *string         `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// call posts a weeRPC 1.1 request; host, when set, is the Host header.
func (c *caller) call(path, function, data, host string) reply {
	c.t.Helper()
	body := `{"weerpc":1.1,"function":"` + function + `"`
	if data != "" {
		body += `,"data":` + data
	}
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(body+"}"))
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	if host != "" {
		req.Host = host
	}
	res, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	var r reply
	require.NoError(c.t, json.NewDecoder(res.Body).Decode(&r))
	r.Status = res.StatusCode
	return r
}

func msg(s string) *string { return &s }

func TestFunctions(t *testing.T) {
	srv := testApp(t, filepath.Join(t.TempDir(), "clients.db"))
	c := newCaller(t, srv)
	local := hostOf(srv)
	_, port, _ := net.SplitHostPort(local)
	tests := []struct {
		name          string
		whenPath      string
		whenFunction  string
		whenData      string
		whenHost      string
		expectStatus  int
		expectOK      bool
		expectMessage *string
		expectData    string
	}{
		{name: "add_numbers", whenPath: "/rpc/tester", whenFunction: "add_numbers", whenData: "[1, 2, 3]", expectStatus: 200, expectOK: true, expectMessage: msg("add_numbers"), expectData: "6"},
		{name: "add_numbers-floats", whenPath: "/rpc/tester", whenFunction: "add_numbers", whenData: "[1.5, 2]", expectStatus: 200, expectOK: true, expectMessage: msg("add_numbers"), expectData: "3.5"},
		{name: "add_numbers-wrong-type", whenPath: "/rpc/tester", whenFunction: "add_numbers", whenData: `"1, 2"`, expectStatus: 200, expectMessage: msg("Invalid data type."), expectData: `{"data":"list"}`},
		{name: "add_numbers-no-data", whenPath: "/rpc/tester", whenFunction: "add_numbers", expectStatus: 200, expectMessage: msg("Invalid data type."), expectData: `{"data":"list"}`},
		{name: "add_string", whenPath: "/rpc/tester", whenFunction: "add_string", whenData: `"World"`, expectStatus: 200, expectOK: true, expectMessage: msg("add_string"), expectData: `"Hello World!"`},
		{name: "add_string-wrong-type", whenPath: "/rpc/tester", whenFunction: "add_string", whenData: `[1]`, expectStatus: 200, expectMessage: msg("Invalid data type."), expectData: `{"data":"str"}`},
		{name: "add_string_auth_session-refused", whenPath: "/rpc/tester", whenFunction: "add_string_auth_session", whenData: `"x"`, expectStatus: 401, expectMessage: msg("Unauthorized."), expectData: "null"},
		{name: "add_string_auth_host-refused", whenPath: "/rpc/tester", whenFunction: "add_string_auth_host", whenData: `"x"`, whenHost: "example.com", expectStatus: 403, expectMessage: msg("Unauthorized (example.com)"), expectData: "null"},
		{name: "add_string_auth_host-allowed", whenPath: "/rpc/tester", whenFunction: "add_string_auth_host", whenData: `"x"`, whenHost: local, expectStatus: 200, expectOK: true, expectMessage: msg("add_string"), expectData: `"Hello x!"`},
		{name: "local-refused", whenPath: "/rpc/local", whenFunction: "add_numbers", whenData: "[1]", whenHost: "localhost:" + port, expectStatus: 403, expectMessage: msg("Unauthorized (localhost:" + port + ")"), expectData: "null"},
		{name: "local-allowed", whenPath: "/rpc/local", whenFunction: "add_numbers", whenData: "[1]", whenHost: local, expectStatus: 200, expectOK: true, expectMessage: msg("add_numbers"), expectData: "1"},
		{name: "add_numbers-not-finite", whenPath: "/rpc/tester", whenFunction: "add_numbers", whenData: "[1.7e308, 1.7e308]", expectStatus: 200, expectMessage: msg("The sum is not a finite number."), expectData: `{"data":"list of numbers with a finite sum"}`},
		{name: "add_numbers-not-finite-negative", whenPath: "/rpc/tester", whenFunction: "add_numbers", whenData: "[-1.7e308, -1.7e308]", expectStatus: 200, expectMessage: msg("The sum is not a finite number."), expectData: `{"data":"list of numbers with a finite sum"}`},
		{name: "admin-add_numbers-not-finite", whenPath: "/rpc/admin", whenFunction: "add_numbers", whenData: "[1.7e308, 1.7e308]", expectStatus: 401, expectMessage: msg("Unauthorized."), expectData: "null"},
		{name: "empty", whenPath: "/rpc/empty", whenFunction: "anything", expectStatus: 404, expectMessage: msg("No functions registered."), expectData: "null"},
		{name: "admin-refused", whenPath: "/rpc/admin", whenFunction: "add_numbers", whenData: "[1]", expectStatus: 401, expectMessage: msg("Unauthorized."), expectData: "null"},
		{name: "auth-refused", whenPath: "/rpc/auth", whenFunction: "session", expectStatus: 401, expectMessage: msg("Unauthorized."), expectData: "null"},
		{name: "unknown-function", whenPath: "/rpc/tester", whenFunction: "subtract", expectStatus: 404, expectMessage: msg("Invalid function."), expectData: "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.call(tt.whenPath, tt.whenFunction, tt.whenData, tt.whenHost)
			assert.Equal(t, tt.expectStatus, r.Status)
			assert.Equal(t, tt.expectOK, r.OK)
			assert.Equal(t, tt.expectMessage, r.Message)
			assert.JSONEq(t, tt.expectData, string(r.Data))
		})
	}
}

// The login flow with a cookie jar: login, session, make_admin, admin,
// logout, and the session refused again.
func TestLoginFlow(t *testing.T) {
	srv := testApp(t, filepath.Join(t.TempDir(), "clients.db"))
	c := newCaller(t, srv)
	steps := []struct {
		name          string
		whenPath      string
		whenFunction  string
		whenData      string
		expectStatus  int
		expectOK      bool
		expectMessage *string
		expectData    string
	}{
		{name: "session-before-login", whenPath: "/rpc/auth", whenFunction: "session", expectStatus: 401, expectMessage: msg("Unauthorized."), expectData: "null"},
		{name: "login", whenPath: "/rpc/auth/login", whenFunction: "login", expectStatus: 200, expectOK: true, expectMessage: msg("logged in"), expectData: `{"user_id":100}`},
		{name: "session", whenPath: "/rpc/auth", whenFunction: "session", expectStatus: 200, expectOK: true, expectData: `{"logged_in":true,"user_id":100}`},
		{name: "scoped-session-function", whenPath: "/rpc/tester", whenFunction: "add_string_auth_session", whenData: `"you"`, expectStatus: 200, expectOK: true, expectMessage: msg("add_string"), expectData: `"Hello you!"`},
		{name: "admin-before-make_admin", whenPath: "/rpc/admin", whenFunction: "add_numbers", whenData: "[1,2]", expectStatus: 401, expectMessage: msg("Unauthorized."), expectData: "null"},
		{name: "make_admin", whenPath: "/rpc/auth/login", whenFunction: "make_admin", expectStatus: 200, expectOK: true, expectMessage: msg("admin"), expectData: `{"user_type":"admin"}`},
		{name: "admin", whenPath: "/rpc/admin", whenFunction: "add_numbers", whenData: "[1,2]", expectStatus: 200, expectOK: true, expectMessage: msg("add_numbers"), expectData: "3"},
		{name: "session-as-admin", whenPath: "/rpc/auth", whenFunction: "session", expectStatus: 200, expectOK: true, expectData: `{"logged_in":true,"user_id":100,"user_type":"admin"}`},
		{name: "logout", whenPath: "/rpc/auth", whenFunction: "logout", expectStatus: 200, expectOK: true, expectMessage: msg("logged out"), expectData: "null"},
		{name: "session-after-logout", whenPath: "/rpc/auth", whenFunction: "session", expectStatus: 401, expectMessage: msg("Unauthorized."), expectData: "null"},
		{name: "admin-after-logout", whenPath: "/rpc/admin", whenFunction: "add_numbers", whenData: "[1]", expectStatus: 401, expectMessage: msg("Unauthorized."), expectData: "null"},
	}
	for _, s := range steps {
		r := c.call(s.whenPath, s.whenFunction, s.whenData, "")
		assert.Equal(t, s.expectStatus, r.Status, s.name)
		assert.Equal(t, s.expectOK, r.OK, s.name)
		assert.Equal(t, s.expectMessage, r.Message, s.name)
		assert.JSONEq(t, s.expectData, string(r.Data), s.name)
	}
}

// The session cookie is HttpOnly, SameSite=Lax, has a max age, and logout
// expires it.
func TestSessionCookie(t *testing.T) {
	srv := testApp(t, filepath.Join(t.TempDir(), "clients.db"))
	post := func(path, fn string, cookie *http.Cookie) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(`{"weerpc":1.1,"function":"`+fn+`"}`))
		req.Header.Set("Content-Type", "application/json")
		if cookie != nil {
			req.AddCookie(cookie)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res
	}
	res := post("/rpc/auth/login", "login", nil)
	cookies := res.Cookies()
	require.Len(t, cookies, 1)
	c := cookies[0]
	assert.Equal(t, "session", c.Name)
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.False(t, c.Secure, "not over plain HTTP")
	assert.Equal(t, sessionMaxAge, c.MaxAge)

	out := post("/rpc/auth", "logout", c).Cookies()
	require.Len(t, out, 1)
	assert.Equal(t, -1, out[0].MaxAge)
}

func TestClientsCRUD(t *testing.T) {
	db := filepath.Join(t.TempDir(), "clients.db")
	srv := testApp(t, db)
	c := newCaller(t, srv)

	var created Client
	r := c.call("/rpc/clients", "create", `{"name":"Ada"}`, "")
	require.Equal(t, 200, r.Status)
	require.True(t, r.OK)
	require.NoError(t, json.Unmarshal(r.Data, &created))
	assert.Equal(t, "Ada", created.Name)
	assert.NotZero(t, created.ClientID)
	assert.NotEmpty(t, created.CreatedAt)
	assert.Equal(t, created.CreatedAt, created.UpdatedAt)
	id := string(mustJSON(t, created.ClientID))

	tests := []struct {
		name          string
		whenFunction  string
		whenData      string
		expectOK      bool
		expectStatus  int
		expectMessage string
		expectPath    string
		expectName    string
		expectNew     bool
	}{
		{name: "read", whenFunction: "read", whenData: `{"client_id":` + id + `}`, expectOK: true, expectStatus: 200, expectName: "Ada"},
		{name: "update", whenFunction: "update", whenData: `{"client_id":` + id + `,"name":"Ada Lovelace"}`, expectOK: true, expectStatus: 200, expectName: "Ada Lovelace"},
		{name: "read-updated", whenFunction: "read", whenData: `{"client_id":` + id + `}`, expectOK: true, expectStatus: 200, expectName: "Ada Lovelace"},
		{name: "read-unknown", whenFunction: "read", whenData: `{"client_id":999999}`, expectStatus: 200, expectMessage: "Client not found."},
		{name: "update-unknown", whenFunction: "update", whenData: `{"client_id":999999,"name":"x"}`, expectStatus: 200, expectMessage: "Client not found."},
		{name: "delete-unknown", whenFunction: "delete", whenData: `{"client_id":999999}`, expectStatus: 200, expectMessage: "Client not found."},
		{name: "create-blank-name", whenFunction: "create", whenData: `{"name":"  "}`, expectStatus: 400, expectMessage: "Invalid data: name is required.", expectPath: "name"},
		{name: "create-missing-name", whenFunction: "create", whenData: `{}`, expectStatus: 400, expectMessage: "Invalid data: name is required.", expectPath: "name"},
		{name: "create-long-name", whenFunction: "create", whenData: `{"name":"` + strings.Repeat("x", 201) + `"}`, expectStatus: 400, expectMessage: "Invalid data: name must be at most 200.", expectPath: "name"},
		{name: "update-empty-name", whenFunction: "update", whenData: `{"client_id":` + id + `,"name":""}`, expectStatus: 400, expectMessage: "Invalid data: name is required.", expectPath: "name"},
		{name: "create-wrong-type", whenFunction: "create", whenData: `{"name":7}`, expectStatus: 400, expectMessage: "Invalid data: name must be a string.", expectPath: "name"},
		{name: "create-case-exact", whenFunction: "create", whenData: `{"name":"lower","NAME":"UPPER"}`, expectOK: true, expectStatus: 200, expectName: "lower", expectNew: true},
		{name: "delete", whenFunction: "delete", whenData: `{"client_id":` + id + `}`, expectOK: true, expectStatus: 200, expectName: "Ada Lovelace"},
		{name: "read-deleted", whenFunction: "read", whenData: `{"client_id":` + id + `}`, expectStatus: 200, expectMessage: "Client not found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.call("/rpc/clients", tt.whenFunction, tt.whenData, "")
			assert.Equal(t, tt.expectStatus, r.Status)
			assert.Equal(t, tt.expectOK, r.OK)
			if !tt.expectOK {
				require.NotNil(t, r.Message)
				assert.Equal(t, tt.expectMessage, *r.Message)
				if tt.expectPath != "" {
					var fields struct {
						Errors []struct{ Path string } `json:"errors"`
					}
					require.NoError(t, json.Unmarshal(r.Data, &fields))
					require.NotEmpty(t, fields.Errors)
					assert.Equal(t, tt.expectPath, fields.Errors[0].Path)
				}
				return
			}
			var got Client
			require.NoError(t, json.Unmarshal(r.Data, &got))
			assert.Equal(t, tt.expectName, got.Name)
			if !tt.expectNew {
				assert.Equal(t, created.ClientID, got.ClientID)
			}
		})
	}
}

// list returns every client, and [] when there are none.
func TestClientsList(t *testing.T) {
	srv := testApp(t, filepath.Join(t.TempDir(), "clients.db"))
	c := newCaller(t, srv)
	r := c.call("/rpc/clients", "list", `{}`, "")
	require.True(t, r.OK)
	assert.Equal(t, "[]", string(r.Data))
	c.call("/rpc/clients", "create", `{"name":"Ada"}`, "")
	c.call("/rpc/clients", "create", `{"name":"Grace"}`, "")
	r = c.call("/rpc/clients", "list", `{}`, "")
	var list []Client
	require.NoError(t, json.Unmarshal(r.Data, &list))
	require.Len(t, list, 2)
	assert.Equal(t, "Ada", list[0].Name)
	assert.Equal(t, "Grace", list[1].Name)
}

// Clients survive a restart: the data is in the SQLite file.
func TestClientsSurviveRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "clients.db")
	app, err := NewApp(Config{DB: db})
	require.NoError(t, err)
	srv := httptest.NewServer(app)
	r := newCaller(t, srv).call("/rpc/clients", "create", `{"name":"Grace"}`, "127.0.0.1:5000")
	require.True(t, r.OK)
	srv.Close()
	require.NoError(t, app.Close())

	again := testApp(t, db)
	r2 := newCaller(t, again).call("/rpc/clients", "read", `{"client_id":1}`, "")
	require.True(t, r2.OK)
	assert.JSONEq(t, string(r.Data), string(r2.Data))
}

func TestPages(t *testing.T) {
	srv := testApp(t, filepath.Join(t.TempDir(), "clients.db"))
	tests := []struct {
		path         string
		expectType   string
		expectInBody string
	}{
		{path: "/", expectType: "text/html; charset=UTF-8", expectInBody: `<script src="/rpc/tester/client.js"></script>`},
		{path: "/spa", expectType: "text/html; charset=UTF-8", expectInBody: `<script type="module" src="/static/spa.js"></script>`},
		{path: "/rpc/tester/client.js", expectType: "text/javascript; charset=utf-8", expectInBody: "wrpc"},
		{path: "/rpc/tester/client.mjs", expectType: "text/javascript; charset=utf-8", expectInBody: "export"},
		{path: "/static/spa.js", expectType: "text/javascript; charset=utf-8", expectInBody: `from "/rpc/tester/client.mjs"`},
		{path: "/static/style.css", expectType: "text/css; charset=utf-8", expectInBody: "body"},
		{path: "/rpc/tester/manifest.json", expectType: "application/json", expectInBody: `"name":"TesterAPI"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, err := http.Get(srv.URL + tt.path)
			require.NoError(t, err)
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			assert.Equal(t, 200, res.StatusCode)
			assert.Equal(t, tt.expectType, res.Header.Get("Content-Type"))
			assert.Contains(t, string(body), tt.expectInBody)
		})
	}
}

// The committed TypeScript for the SPA is what go generate writes now.
func TestTypeScriptIsFresh(t *testing.T) {
	app, err := NewApp(Config{DB: filepath.Join(t.TempDir(), "clients.db")})
	require.NoError(t, err)
	defer app.Close()
	for name, ts := range map[string]string{"tester-api.d.ts": app.Tester.TypeScript(), "clients-api.d.ts": app.Clients.TypeScript()} {
		committed, err := os.ReadFile(filepath.Join("static", name))
		require.NoError(t, err)
		assert.Equal(t, ts, string(committed), "static/%s is stale: run go generate ./example", name)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// git ignores the SQLite file that go run ./example makes, and every file
// SQLite keeps beside it (the rollback journal; in WAL mode the write-ahead
// log and its shared-memory index).
func TestSQLiteFilesAreIgnored(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	if out, err := exec.Command("git", "rev-parse", "--is-inside-work-tree").Output(); err != nil || strings.TrimSpace(string(out)) != "true" {
		t.Skip("not in a git work tree")
	}
	for _, name := range []string{"example.db", "example.db-journal", "example.db-wal", "example.db-shm"} {
		err := exec.Command("git", "check-ignore", "-q", name).Run()
		assert.NoError(t, err, "git does not ignore example/%s", name)
	}
}

// The example's descriptions name each query's real URL: no "<name>"
// placeholder is left in the manifests or the TypeScript.
func TestDescriptionsHaveNoPlaceholder(t *testing.T) {
	srv := testApp(t, filepath.Join(t.TempDir(), "clients.db"))
	for _, path := range []string{"/rpc/tester/manifest.json", "/rpc/tester/client.d.ts", "/rpc/clients/manifest.json", "/rpc/clients/client.d.ts"} {
		res, err := srv.Client().Get(srv.URL + path)
		require.NoError(t, err)
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		text := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">").Replace(string(body)) // as JSON escapes them
		assert.NotContains(t, text, "<name>", path)
		assert.Contains(t, text, "?data=<URL-encoded JSON>", "%s names its queries' URLs", path)
	}
}
