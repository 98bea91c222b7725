package echorpc_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Wide holds integers that JavaScript cannot hold exactly beyond 2^53.
type Wide struct {
	Signed   int64  `json:"signed"`
	Unsigned uint64 `json:"unsigned"`
	Quoted   int64  `json:"quoted,string"`
	Small    int32  `json:"small"`
}

// wireValues are values of every type of the schema tests: zero values,
// nil slices, maps and pointers, and filled values.
func wireValues() map[string][]any {
	nick := "n"
	when := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	filled := Rich{
		Base:  Base{ID: 1 << 60, Created: when, Shadow: "x"},
		Audit: &Audit{By: "ada", Note: "note"},
		Name:  "name", Nick: &nick, Tags: []string{"a"}, Scores: map[string]float64{"x": 1.5},
		ByID: map[int]Node{-3: {Value: 1}}, Count: 1 << 62, Raw: json.RawMessage(`{"any":[1]}`),
		Any: []any{1, "x", nil}, Blob: []byte{1, 2, 3}, Pair: [2]bool{true, false},
		Tree: Node{Value: 1, Children: []Node{{Value: 2, Parent: &Node{}}}, Label: &nick}, Level: 3, When: &when,
		Untagged: 255,
	}
	filled.Inline.A = 7
	return map[string][]any{
		"rich":  {Rich{}, filled, Rich{Audit: &Audit{}}},
		"node":  {Node{}, filled.Tree, Node{Children: []Node{}}},
		"ptr":   {(*Node)(nil), &filled.Tree},
		"list":  {[]Node(nil), []Node{}, []Node{{}, filled.Tree}},
		"map":   {map[string]Node(nil), map[string]Node{"a": {}}},
		"wide":  {Wide{}, Wide{Signed: -1 << 62, Unsigned: 1<<64 - 1, Quoted: 1 << 62, Small: 1}},
		"bytes": {[]byte(nil), []byte("hi"), [4]byte{1, 2, 3, 4}},
		"order": {order{}, order{Customer: "c", Items: []lineItem{{SKU: "a", Qty: 1}}, Tags: map[string]int{"t": 1}}},
	}
}

// wireServer registers one function per type, whose output is the i-th
// value of that type.
func wireServer(t *testing.T) (*echo.Echo, *echorpc.RPC) {
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc", Manifest: true})
	values := wireValues()
	pick := func(name string) []any { return values[name] }
	reg := func(name string, h echorpc.Handler) { rpc.Functions(echorpc.Funcs{name: h}) }
	reg("rich", echorpc.Func(func(c echo.Context, i int) (Rich, error) { return pick("rich")[i].(Rich), nil }))
	reg("node", echorpc.Func(func(c echo.Context, i int) (Node, error) { return pick("node")[i].(Node), nil }))
	reg("ptr", echorpc.Func(func(c echo.Context, i int) (*Node, error) { return pick("ptr")[i].(*Node), nil }))
	reg("list", echorpc.Func(func(c echo.Context, i int) ([]Node, error) { return pick("list")[i].([]Node), nil }))
	reg("map", echorpc.Func(func(c echo.Context, i int) (map[string]Node, error) { return pick("map")[i].(map[string]Node), nil }))
	reg("wide", echorpc.Func(func(c echo.Context, i int) (Wide, error) { return pick("wide")[i].(Wide), nil }))
	reg("bytes", echorpc.Func(func(c echo.Context, i int) (any, error) { return pick("bytes")[i], nil }))
	reg("order", echorpc.Func(func(c echo.Context, i int) (order, error) { return pick("order")[i].(order), nil }))
	return e, rpc
}

// wireFixtures calls every function for every value and returns each
// reply's data, as the server sent it, by function.
func wireFixtures(t *testing.T, e *echo.Echo) map[string][]json.RawMessage {
	out := map[string][]json.RawMessage{}
	for name, vs := range wireValues() {
		for i := range vs {
			rec := post(e, "/rpc", "application/json", fmt.Sprintf(`{"weerpc":1.1,"function":%q,"data":%d}`, name, i))
			require.Equal(t, http.StatusOK, rec.Code, "%s[%d]: %s", name, i, rec.Body)
			var env struct {
				Data json.RawMessage `json:"data"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &env))
			out[name] = append(out[name], env.Data)
		}
	}
	return out
}

// Every value the server sends validates against the schema it publishes.
func TestRepliesValidateAgainstTheManifest(t *testing.T) {
	e, _ := wireServer(t)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/rpc/manifest.json", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var m struct {
		Defs      map[string]any `json:"$defs"`
		Functions []struct {
			Name   string         `json:"name"`
			Output map[string]any `json:"output"`
		} `json:"functions"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m))
	schemas := map[string]*jsonschema.Schema{}
	for _, f := range m.Functions {
		doc := map[string]any{"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": m.Defs}
		for k, v := range f.Output {
			doc[k] = v
		}
		c := jsonschema.NewCompiler()
		url := "mem://" + f.Name + ".json"
		require.NoError(t, c.AddResource(url, doc))
		s, err := c.Compile(url)
		require.NoError(t, err, f.Name)
		schemas[f.Name] = s
	}
	for name, fixtures := range wireFixtures(t, e) {
		for i, data := range fixtures {
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			require.NoError(t, err)
			assert.NoError(t, schemas[name].Validate(v), "%s[%d] = %s", name, i, data)
		}
	}
}

// Every value the server sends type-checks against the TypeScript it
// publishes, with tsc --strict.
func TestRepliesTypeCheckAgainstTheTypeScript(t *testing.T) {
	tsc, err := filepath.Abs("../node_modules/.bin/tsc")
	require.NoError(t, err)
	if _, err := os.Stat(tsc); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("tsc is missing at %s: run npm ci first (make test does)", tsc)
		}
		t.Skip("tsc is not installed: npm ci installs it")
	}
	e, rpc := wireServer(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "api.d.ts"), []byte(rpc.TypeScript()), 0o644))
	var src strings.Builder
	src.WriteString("import type { API } from \"./api\";\n\n")
	for name, fixtures := range wireFixtures(t, e) {
		for i, data := range fixtures {
			fmt.Fprintf(&src, "export const %s_%d: API[%q][\"output\"] = %s;\n", name, i, name, data)
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fixtures.ts"), []byte(src.String()), 0o644))
	cmd := exec.Command(tsc, "--strict", "--noEmit", "--target", "es2022", "--module", "es2022", "--moduleResolution", "bundler", "fixtures.ts")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "tsc:\n%s\nfixtures:\n%s\ntypes:\n%s", out, src.String(), rpc.TypeScript())
}
