package echorpc_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
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

func urlServer(t *testing.T) (*echo.Echo, *echorpc.RPC) {
	t.Helper()
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	e.Use(session.Middleware(sessions.NewCookieStore(hashKey)))
	rpc := echorpc.New(e.Group("/rpc/tester"), echorpc.Config{Name: "TesterAPI", Manifest: true})
	rpc.Functions(testFuncs(nil))
	rpc.Functions(echorpc.Funcs{
		"add": echorpc.Func(func(c echo.Context, in []float64) (float64, error) { return sum(in), nil }),
		"greet": echorpc.Func(func(c echo.Context, in struct {
			Name string `json:"name"`
		}) (string, error) {
			return "Hello " + in.Name + "!", nil
		}),
	}, echorpc.Query(time.Minute), echorpc.WithDoc("Free of side effects."))
	rpc.Functions(echorpc.Funcs{
		"whoami": echorpc.Func(func(c echo.Context, in any) (string, error) { return "you", nil }),
	}, echorpc.Query(0), echorpc.WithSessionAuth("logged_in", true))
	rpc.Functions(echorpc.Funcs{
		"ticks": echorpc.Stream(func(c echo.Context, n int, send func(string, int) error) error {
			for i := range n {
				if err := send("", i); err != nil {
					return err
				}
			}
			return nil
		}),
	})
	return e, rpc
}

func TestFunctionURLs(t *testing.T) {
	e, _ := urlServer(t)
	do := func(method, target, body string, header map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	tests := []struct {
		name          string
		whenMethod    string
		whenTarget    string
		whenBody      string
		whenHeader    map[string]string
		expectStatus  int
		expectBody    string
		expectCache   string
		expectHasETag bool
	}{
		{name: "200-post-data-is-the-body", whenMethod: "POST", whenTarget: "/rpc/tester/add_numbers", whenBody: `[1,2]`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":null,"data":3}`, expectCache: "no-store"},
		{name: "200-post-empty-body-is-null", whenMethod: "POST", whenTarget: "/rpc/tester/nothing", whenBody: " ", whenHeader: map[string]string{"Content-Type": "application/json"},
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":null,"data":null}`, expectCache: "no-store"},
		{name: "400-post-bad-json", whenMethod: "POST", whenTarget: "/rpc/tester/add_numbers", whenBody: `[1,`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request is not valid JSON (unexpected end).","data":null}`},
		{name: "415-post-not-json", whenMethod: "POST", whenTarget: "/rpc/tester/add_numbers", whenHeader: map[string]string{"Content-Type": "text/plain"},
			expectStatus: 415, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request must be JSON.","data":null}`},
		{name: "403-post-cross-origin", whenMethod: "POST", whenTarget: "/rpc/tester/add_numbers", whenBody: `[1]`,
			whenHeader:   map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
			expectStatus: 403, expectBody: `{"weerpc":1.1,"ok":false,"message":"Forbidden: the request came from another origin.","data":null}`},
		{name: "404-post-unknown", whenMethod: "POST", whenTarget: "/rpc/tester/nope", whenBody: `1`,
			expectStatus: 404, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid function.","data":null}`},
		{name: "200-get-query", whenMethod: "GET", whenTarget: "/rpc/tester/add?data=" + url.QueryEscape(`[1,2]`),
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":null,"data":3}`, expectCache: "public, max-age=60", expectHasETag: true},
		{name: "200-get-query-no-data", whenMethod: "GET", whenTarget: "/rpc/tester/greet",
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":null,"data":"Hello !"}`, expectCache: "public, max-age=60", expectHasETag: true},
		{name: "400-get-query-bad-data", whenMethod: "GET", whenTarget: "/rpc/tester/add?data=" + url.QueryEscape(`"x"`),
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid data: the data must be an array.","data":{"errors":[{"path":"","rule":"type","param":"array","message":"must be an array"}]}}`, expectCache: "no-store"},
		{name: "400-get-query-data-twice", whenMethod: "GET", whenTarget: "/rpc/tester/add?data=1&data=2",
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid data: the data parameter must be given once.","data":null}`},
		{name: "405-get-not-a-query", whenMethod: "GET", whenTarget: "/rpc/tester/add_numbers?data=%5B1%5D",
			expectStatus: 405, expectBody: `{"weerpc":1.1,"ok":false,"message":"Method not allowed: this function is not a query; call it with POST.","data":null}`},
		{name: "401-get-query-guarded", whenMethod: "GET", whenTarget: "/rpc/tester/whoami",
			expectStatus: 401, expectBody: `{"weerpc":1.1,"ok":false,"message":"Unauthorized.","data":null}`},
		{name: "405-put", whenMethod: "PUT", whenTarget: "/rpc/tester/add", whenBody: `[1]`,
			expectStatus: 405, expectBody: `{"weerpc":1.1,"ok":false,"message":"Method not allowed: weeRPC requests use POST.","data":null}`},
		{name: "200-files-are-not-functions", whenMethod: "GET", whenTarget: "/rpc/tester/manifest.json", expectStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(tt.whenMethod, tt.whenTarget, tt.whenBody, tt.whenHeader)
			assert.Equal(t, tt.expectStatus, rec.Code)
			if tt.expectBody != "" {
				assert.Equal(t, tt.expectBody, rec.Body.String())
			}
			if tt.expectCache != "" {
				assert.Equal(t, tt.expectCache, rec.Header().Get("Cache-Control"))
			}
			assert.Equal(t, tt.expectHasETag, rec.Header().Get("ETag") != "")
		})
	}

	t.Run("304-if-none-match", func(t *testing.T) {
		first := do("GET", "/rpc/tester/add?data=%5B1%2C2%5D", "", nil)
		etag := first.Header().Get("ETag")
		require.NotEmpty(t, etag)
		again := do("GET", "/rpc/tester/add?data=%5B1%2C2%5D", "", map[string]string{"If-None-Match": etag})
		assert.Equal(t, http.StatusNotModified, again.Code)
		assert.Empty(t, again.Body.String())
		other := do("GET", "/rpc/tester/add?data=%5B1%2C3%5D", "", map[string]string{"If-None-Match": etag})
		assert.Equal(t, http.StatusOK, other.Code)
	})
	t.Run("private-when-session-guarded", func(t *testing.T) {
		e2 := echo.New()
		e2.Use(session.Middleware(sessions.NewCookieStore(hashKey)))
		e2.POST("/login", func(c echo.Context) error {
			s, _ := session.Get("session", c)
			s.Values["logged_in"] = true
			return s.Save(c.Request(), c.Response())
		})
		echorpc.New(e2, echorpc.Config{Prefix: "/rpc"}).Functions(echorpc.Funcs{
			"me": echorpc.Func(func(c echo.Context, in any) (string, error) { return "me", nil }),
		}, echorpc.Query(time.Minute), echorpc.WithSessionAuth("logged_in", true))
		rec := httptest.NewRecorder()
		e2.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/login", nil))
		req := httptest.NewRequest(http.MethodGet, "/rpc/me", nil)
		req.AddCookie(rec.Result().Cookies()[0])
		rec = httptest.NewRecorder()
		e2.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "private, max-age=60", rec.Header().Get("Cache-Control"))
		assert.Equal(t, "Cookie", rec.Header().Get("Vary"))
	})
}
