package echorpc_test

import (
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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

// manifestNames fetches the manifest as a caller and returns, for each
// function listed, whether it says the caller may call it.
func manifestNames(t *testing.T, e *echo.Echo, cookie *http.Cookie, host string) map[string]bool {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/rpc/api/manifest.json", nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	if host != "" {
		req.Host = host
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
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
		e := echo.New()
		e.Use(session.Middleware(sessions.NewCookieStore(hashKey)))
		e.POST("/admin", func(c echo.Context) error {
			s, _ := session.Get("session", c)
			s.Values["user_type"] = "admin"
			return s.Save(c.Request(), c.Response())
		})
		rpc := manifestRPC(e, echorpc.Config{ManifestListAll: listAll})
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/admin", nil))
		admin := rec.Result().Cookies()[0]

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
		// The served declarations are TypeScript()'s, whoever asks: one
		// truth for types; only the manifest answers for the caller.
		req := httptest.NewRequest(http.MethodGet, "/rpc/api/client.d.ts", nil)
		rec = httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, rpc.TypeScript(), rec.Body.String())
		assert.Contains(t, rec.Body.String(), "secret_admin_thing: { input: string; output: Record<string, number> };")
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
