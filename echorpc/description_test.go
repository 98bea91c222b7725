package echorpc_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/echorpctest"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// manifestHash GETs the instance's manifest and returns its hash.
func manifestHash(t *testing.T, e *echo.Echo) string {
	t.Helper()
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/rpc/manifest.json", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var m struct{ Hash string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m))
	return m.Hash
}

func TestVersionSkew(t *testing.T) {
	e := echo.New()
	rpc := echorpc.New(e.Group("/rpc"), echorpc.Config{Manifest: true})
	rpc.Functions(echorpc.Funcs{"add": echorpc.Func(func(_ echo.Context, in []int) (int, error) { return len(in), nil })})
	loaded := manifestHash(t, e)
	require.NotEmpty(t, loaded)
	assert.Equal(t, loaded, manifestHash(t, e), "the hash is stable")

	call := func(hash string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/rpc", strings.NewReader(`{"weerpc":1.1,"function":"add","data":[1]}`))
		req.Header.Set("Content-Type", "application/json")
		if hash != "" {
			req.Header.Set("Wrpc-Description", hash)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		return rec
	}
	assert.Empty(t, call(loaded).Header().Get("Wrpc-Description"), "the same description: nothing to say")
	assert.Empty(t, call("").Header().Get("Wrpc-Description"), "a caller that sends no hash hears none")

	// a deploy (here: a new registration) changes the description
	rpc.Functions(echorpc.Funcs{"sub": echorpc.Func(func(_ echo.Context, in []int) (int, error) { return -len(in), nil })})
	now := manifestHash(t, e)
	assert.NotEqual(t, loaded, now)
	assert.Equal(t, now, call(loaded).Header().Get("Wrpc-Description"), "a stale page hears the new hash")
	assert.Empty(t, call(now).Header().Get("Wrpc-Description"))
}

func TestDescriptionListsEveryFunction(t *testing.T) {
	e := echo.New()
	rpc := echorpc.New(e.Group("/rpc"), echorpc.Config{})
	rpc.Functions(echorpc.Funcs{"open": echorpc.Func(func(_ echo.Context, in string) (string, error) { return in, nil })})
	rpc.Functions(echorpc.Funcs{"guarded": echorpc.Func(func(_ echo.Context, in string) (string, error) { return in, nil })},
		echorpc.WithSessionAuth("logged_in", true))
	var d struct {
		Endpoint  string
		Functions []struct {
			Name    string
			Allowed bool
			Rules   *struct{ Session []string }
		}
	}
	require.NoError(t, json.Unmarshal(echorpctest.Description(rpc), &d))
	assert.Equal(t, "/rpc", d.Endpoint)
	require.Len(t, d.Functions, 2)
	assert.Equal(t, "guarded", d.Functions[0].Name)
	assert.Equal(t, []string{"logged_in"}, d.Functions[0].Rules.Session)
	assert.Equal(t, "open", d.Functions[1].Name)
}
