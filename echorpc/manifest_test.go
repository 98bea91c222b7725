package echorpc_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Types that exercise encoding/json's rules in the manifest and TypeScript.
type (
	Node struct {
		Value    int     `json:"value"`
		Children []Node  `json:"children,omitempty"`
		Parent   *Node   `json:"parent"`
		Label    *string `json:"label,omitempty"`
	}
	Base struct {
		ID      int64     `json:"id"`
		Created time.Time `json:"created"`
		Shadow  string    `json:"shadow"`
	}
	Audit struct {
		By     string `json:"by"`
		Shadow string `json:"shadow"` // same depth as Base.Shadow: both dropped
		Note   string // promoted as "Note"
	}
	Level int
	Rich  struct {
		Base
		*Audit
		Name     string             `json:"name"`
		Nick     *string            `json:"nick,omitempty"`
		Tags     []string           `json:"tags"`
		Scores   map[string]float64 `json:"scores"`
		ByID     map[int]Node       `json:"by_id"`
		Secret   string             `json:"-"`
		Dash     string             `json:"dash"`
		Count    int64              `json:"count,string"`
		Raw      json.RawMessage    `json:"raw"`
		Any      any                `json:"any"`
		Blob     []byte             `json:"blob"`
		Pair     [2]bool            `json:"pair"`
		Tree     Node               `json:"tree"`
		Level    Level              `json:"level,omitzero"`
		When     *time.Time         `json:"when"`
		Untagged uint8
		Inline   struct {
			A int `json:"a"`
		} `json:"inline"`
		//lint:ignore U1000 unexported: never encoded, and left out of the schema
		hidden int
	}
)

func manifestRPC(e *echo.Echo, cfg echorpc.Config) *echorpc.RPC {
	cfg.Prefix = "/rpc/api"
	cfg.Manifest = true
	rpc := echorpc.New(e, cfg)
	rpc.Functions(echorpc.Funcs{
		"rich": echorpc.Func(func(c echo.Context, in Rich) (*Node, error) { return &in.Tree, nil }),
	}, echorpc.WithDoc("Takes everything encoding/json can encode,\nand answers with a tree."))
	rpc.Functions(echorpc.Funcs{
		"add_numbers": echorpc.Func(func(c echo.Context, in []float64) (float64, error) { return 0, nil }),
	}, echorpc.WithDoc("Adds the numbers."), echorpc.Idempotent())
	rpc.Functions(echorpc.Funcs{
		"untyped": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response { return echorpc.Success("", nil) }),
	})
	rpc.Functions(echorpc.Funcs{
		"secret_admin_thing": echorpc.Func(func(c echo.Context, in string) (map[string]int, error) { return nil, nil }),
	}, echorpc.WithSessionAuth("user_type", "admin"))
	rpc.Functions(echorpc.Funcs{
		"local_only": echorpc.Func(func(c echo.Context, in struct{}) (bool, error) { return true, nil }),
	}, echorpc.WithHostAuth("127.0.0.1:5000"))
	return rpc
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./echorpc -run Golden -update to create it")
	assert.Equal(t, string(want), string(got))
}

func TestGoldenManifest(t *testing.T) {
	e := echo.New()
	e.Use(session.Middleware(sessions.NewCookieStore(hashKey)))
	manifestRPC(e, echorpc.Config{ManifestListAll: true})
	req := httptest.NewRequest(http.MethodGet, "/rpc/api/manifest.json", nil)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	var pretty any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &pretty))
	out, _ := json.MarshalIndent(pretty, "", "  ")
	golden(t, "manifest.golden.json", append(out, '\n'))
}

func TestGoldenTypeScript(t *testing.T) {
	rpc := manifestRPC(echo.New(), echorpc.Config{Name: "ExampleAPI"})
	golden(t, "api.golden.d.ts", []byte(rpc.TypeScript()))
}

// getAs GETs target as a caller with that session cookie (or none) and
// Host (or the default).
func getAs(e *echo.Echo, target string, cookie *http.Cookie, host string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	if host != "" {
		req.Host = host
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// sessionEcho is an app with cookie sessions, and a login that returns the
// cookie of a fresh session holding key: value.
func sessionEcho(t *testing.T, key string, value any) (e *echo.Echo, login func() *http.Cookie) {
	e = echo.New()
	e.Use(session.Middleware(sessions.NewCookieStore(hashKey)))
	return e, withLogin(t, e, key, value)
}

// withLogin adds POST /login to an app with sessions, which stores
// key: value in a fresh session, and returns a login that calls it and
// returns the session's cookie.
func withLogin(t *testing.T, e *echo.Echo, key string, value any) func() *http.Cookie {
	e.POST("/login", func(c echo.Context) error {
		s, _ := session.Get("session", c)
		s.Values[key] = value
		return s.Save(c.Request(), c.Response())
	})
	return func() *http.Cookie {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/login", nil))
		cookies := rec.Result().Cookies()
		require.Len(t, cookies, 1)
		return cookies[0]
	}
}

// manifestNames fetches the manifest as a caller and returns, for each
// function listed, whether it says the caller may call it.
func manifestNames(t *testing.T, e *echo.Echo, cookie *http.Cookie, host string) map[string]bool {
	t.Helper()
	rec := getAs(e, "/rpc/api/manifest.json", cookie, host)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	var m struct {
		Endpoint  string
		Functions []struct {
			Name    string
			Allowed bool
		}
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m))
	assert.Equal(t, "/rpc/api", m.Endpoint)
	got := map[string]bool{}
	for _, f := range m.Functions {
		got[f.Name] = f.Allowed
	}
	return got
}

func TestManifestAnswersForTheCaller(t *testing.T) {
	for _, listAll := range []bool{false, true} {
		e, login := sessionEcho(t, "user_type", "admin")
		rpc := manifestRPC(e, echorpc.Config{ManifestListAll: listAll})
		admin := login()

		anonymous := manifestNames(t, e, nil, "")
		asAdmin := manifestNames(t, e, admin, "")
		local := manifestNames(t, e, nil, "127.0.0.1:5000")
		if listAll {
			assert.Equal(t, map[string]bool{"add_numbers": true, "rich": true, "untyped": true, "secret_admin_thing": false, "local_only": false}, anonymous)
			assert.Equal(t, map[string]bool{"add_numbers": true, "rich": true, "untyped": true, "secret_admin_thing": true, "local_only": false}, asAdmin)
		} else {
			assert.Equal(t, map[string]bool{"add_numbers": true, "rich": true, "untyped": true}, anonymous, "guarded names stay hidden")
			assert.Equal(t, map[string]bool{"add_numbers": true, "rich": true, "untyped": true, "secret_admin_thing": true}, asAdmin)
			assert.Equal(t, map[string]bool{"add_numbers": true, "rich": true, "untyped": true, "local_only": true}, local)

		}
		// RPC.TypeScript, the Go API used at build time, describes every
		// function, whoever the served client.d.ts is for.
		assert.Contains(t, rpc.TypeScript(), "secret_admin_thing: { input: string; output: Record<string, number> };")
		assert.Contains(t, rpc.TypeScript(), "local_only: { input: {}; output: boolean };")
	}
}

func TestManifestOffByDefault(t *testing.T) {
	e := echo.New()
	echorpc.New(e, echorpc.Config{Prefix: "/rpc/api"}).Functions(echorpc.Funcs{
		"f": echorpc.Func(func(c echo.Context, in int) (int, error) { return in, nil }),
	})
	for _, path := range []string{"/rpc/api/manifest.json", "/rpc/api/client.d.ts"} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		assert.Equal(t, http.StatusNotFound, rec.Code, path)
	}
}

// The schema's properties are exactly the keys encoding/json writes.
func TestManifestMatchesEncodingJSON(t *testing.T) {
	e := echo.New()
	e.Use(session.Middleware(sessions.NewCookieStore(hashKey)))
	manifestRPC(e, echorpc.Config{})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/rpc/api/manifest.json", nil))
	var m struct {
		Defs map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m))

	nick := "n"
	value := Rich{Audit: &Audit{}, Nick: &nick, Level: 2, Raw: json.RawMessage(`1`)}
	value.Tree.Children = []Node{{}}
	value.Tree.Label = &nick
	for name, v := range map[string]any{"Rich": value, "Node": value.Tree} {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		var encoded map[string]any
		require.NoError(t, json.Unmarshal(b, &encoded))
		var keys, props []string
		for k := range encoded {
			keys = append(keys, k)
		}
		for k := range m.Defs[name].Properties {
			props = append(props, k)
		}
		assert.ElementsMatch(t, keys, props, name)
	}
}

// AdminReport is a type that only a guarded function uses.
type AdminReport struct {
	Deleted int `json:"deleted"`
}

// described fetches the instance's manifest, client.d.ts and openapi.json
// as one caller, and returns the functions each describes (for the
// OpenAPI document, the paths), and the whole of each.
func described(t *testing.T, e *echo.Echo, cookie *http.Cookie, host string) (names map[string][]string, bodies map[string]string) {
	t.Helper()
	names, bodies = map[string][]string{}, map[string]string{}
	for _, file := range []string{"manifest.json", "client.d.ts", "openapi.json"} {
		rec := getAs(e, "/rpc/api/"+file, cookie, host)
		require.Equal(t, http.StatusOK, rec.Code, file)
		// An answer for one caller is stored by no cache.
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"), file)
		assert.Equal(t, "Cookie", rec.Header().Get("Vary"), file)
		bodies[file] = rec.Body.String()
		switch file {
		case "manifest.json":
			var m struct{ Functions []struct{ Name string } }
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m))
			for _, f := range m.Functions {
				names[file] = append(names[file], f.Name)
			}
		case "client.d.ts":
			for _, m := range regexp.MustCompile(`(?m)^  "?([^":\n]+?)"?: \{ input:`).FindAllStringSubmatch(rec.Body.String(), -1) {
				names[file] = append(names[file], m[1])
			}
		case "openapi.json":
			var doc struct{ Paths map[string]any }
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
			for p := range doc.Paths {
				names[file] = append(names[file], strings.TrimPrefix(p, "/rpc/api/"))
			}
			slices.Sort(names[file])
		}
	}
	return names, bodies
}

// The manifest, client.d.ts and openapi.json describe what the caller may
// call, and nothing of what it may not: not the names, not the types only
// those functions use. ManifestListAll lists the rest in the manifest only.
func TestDescriptionsAnswerForTheCaller(t *testing.T) {
	for _, listAll := range []bool{false, true} {
		t.Run(fmt.Sprint("list-all-", listAll), func(t *testing.T) {
			e, login := sessionEcho(t, "user_type", "admin")
			rpc := manifestRPC(e, echorpc.Config{ManifestListAll: listAll})
			rpc.Functions(echorpc.Funcs{
				"delete_all_users": echorpc.Func(func(c echo.Context, in AdminReport) (AdminReport, error) { return in, nil }),
			}, echorpc.WithSessionAuth("user_type", "admin"))
			admin := login()

			open := []string{"add_numbers", "rich", "untyped"}
			everything := []string{"add_numbers", "delete_all_users", "local_only", "rich", "secret_admin_thing", "untyped"}
			for _, tt := range []struct {
				name   string
				cookie *http.Cookie
				host   string
				expect []string
			}{
				{"anonymous", nil, "", open},
				{"admin", admin, "", []string{"add_numbers", "delete_all_users", "rich", "secret_admin_thing", "untyped"}},
				{"local", nil, "127.0.0.1:5000", []string{"add_numbers", "local_only", "rich", "untyped"}},
				{"local-admin", admin, "127.0.0.1:5000", everything},
			} {
				names, bodies := described(t, e, tt.cookie, tt.host)
				assert.Equal(t, tt.expect, names["client.d.ts"], tt.name)
				assert.Equal(t, tt.expect, names["openapi.json"], tt.name)
				if listAll {
					assert.Equal(t, everything, names["manifest.json"], tt.name)
				} else {
					assert.Equal(t, tt.expect, names["manifest.json"], tt.name)
				}
				if !slices.Contains(tt.expect, "delete_all_users") {
					assert.NotContains(t, bodies["client.d.ts"], "AdminReport", tt.name)
					assert.NotContains(t, bodies["openapi.json"], "AdminReport", tt.name)
				} else {
					assert.Contains(t, bodies["client.d.ts"], "export interface AdminReport {", tt.name)
					assert.Contains(t, bodies["openapi.json"], `"$ref": "#/components/schemas/AdminReport"`, tt.name)
				}
				if tt.name == "local-admin" {
					assert.Equal(t, rpc.TypeScript(), bodies["client.d.ts"], "a caller who may call everything gets TypeScript()'s declarations")
				}
			}
		})
	}
}

// A query's description in the manifest and the declarations gives its
// GET URL, with its own name.
func TestQueryDescriptionsNameTheFunction(t *testing.T) {
	e := echo.New()
	rpc := echorpc.New(e.Group("/rpc/tester"), echorpc.Config{Manifest: true})
	rpc.Functions(echorpc.Funcs{
		"add_numbers": echorpc.Func(func(c echo.Context, in []float64) (float64, error) { return 0, nil }),
		"add_string":  echorpc.Func(func(c echo.Context, in string) (string, error) { return in, nil }),
	}, echorpc.Query(0), echorpc.WithDoc("Free of side effects."))
	rpc.Functions(echorpc.Funcs{
		"peek": echorpc.Func(func(c echo.Context, in any) (any, error) { return nil, nil }),
	}, echorpc.Query(0))
	rpc.Functions(echorpc.Funcs{
		"write": echorpc.Func(func(c echo.Context, in any) (any, error) { return nil, nil }),
	}, echorpc.WithDoc("Writes."))

	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/rpc/tester/manifest.json", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var m struct {
		Functions []struct{ Name, Description string }
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m))
	got := map[string]string{}
	for _, f := range m.Functions {
		got[f.Name] = f.Description
	}
	assert.Equal(t, map[string]string{
		"add_numbers": "Free of side effects.\n\nA query: also at GET /rpc/tester/add_numbers?data=<URL-encoded JSON>.",
		"add_string":  "Free of side effects.\n\nA query: also at GET /rpc/tester/add_string?data=<URL-encoded JSON>.",
		"peek":        "A query: also at GET /rpc/tester/peek?data=<URL-encoded JSON>.",
		"write":       "Writes.",
	}, got)

	ts := rpc.TypeScript()
	assert.Contains(t, ts, "  /**\n   * Free of side effects.\n   *\n   * A query: also at GET /rpc/tester/add_numbers?data=<URL-encoded JSON>.\n   *\n   * @idempotent\n   */\n  add_numbers:")
	assert.Contains(t, ts, "   * A query: also at GET /rpc/tester/add_string?data=<URL-encoded JSON>.\n")
	assert.Contains(t, ts, "  /**\n   * A query: also at GET /rpc/tester/peek?data=<URL-encoded JSON>.\n   *\n   * @idempotent\n   */\n  peek:")
	assert.Contains(t, ts, "  /** Writes. */\n  write:")
	assert.NotContains(t, ts, "<name>")
}

// On an instance whose every function needs a session, the manifest
// answers a caller without one (it is not refused): it lists nothing, or
// with ManifestListAll every function, marked not allowed.
func TestGuardedInstanceManifest(t *testing.T) {
	for _, listAll := range []bool{false, true} {
		e, login := sessionEcho(t, "logged_in", true)
		echorpc.New(e, echorpc.Config{Prefix: "/rpc/api", Manifest: true, ManifestListAll: listAll,
			SessionAuth: map[string][]any{"logged_in": {true}}}).Functions(echorpc.Funcs{
			"f": echorpc.Func(func(c echo.Context, in int) (int, error) { return in, nil }),
		})
		cookie := login()

		anonymous := manifestNames(t, e, nil, "")
		if listAll {
			assert.Equal(t, map[string]bool{"f": false}, anonymous)
		} else {
			assert.Equal(t, map[string]bool{}, anonymous)
		}
		assert.Equal(t, map[string]bool{"f": true}, manifestNames(t, e, cookie, ""))
		names, _ := described(t, e, nil, "")
		assert.Empty(t, names["client.d.ts"])
		assert.Empty(t, names["openapi.json"])
		names, _ = described(t, e, cookie, "")
		assert.Equal(t, []string{"f"}, names["client.d.ts"])
		assert.Equal(t, []string{"f"}, names["openapi.json"])
	}
}
