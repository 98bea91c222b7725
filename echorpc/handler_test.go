package echorpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testFuncs are the functions most tests register.
func testFuncs(calls *int) echorpc.Funcs {
	count := func() {
		if calls != nil {
			*calls++
		}
	}
	return echorpc.Funcs{
		"add_numbers": echorpc.Func(func(c echo.Context, in []float64) (float64, error) {
			count()
			sum := 0.0
			for _, n := range in {
				sum += n
			}
			return sum, nil
		}),
		"echo": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response {
			count()
			return echorpc.Success("echoed", data)
		}),
		"nothing": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response {
			count()
			return echorpc.Success("", nil)
		}),
		"fail": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response {
			count()
			return echorpc.Fail("Invalid data type.", map[string]string{"data": "list"})
		}),
		"fail_typed": echorpc.Func(func(c echo.Context, in string) (string, error) {
			count()
			return "", &echorpc.Error{Message: "No such thing.", Data: in}
		}),
		"failf": echorpc.Func(func(c echo.Context, in int) (int, error) {
			count()
			return 0, &echorpc.Error{Message: fmt.Sprintf("too big: %d", in)}
		}),
		"conflict": echorpc.Func(func(c echo.Context, in any) (any, error) {
			count()
			return nil, &echorpc.Error{Status: http.StatusConflict, Message: "Taken."}
		}),
		"boom": echorpc.Func(func(c echo.Context, in any) (any, error) {
			count()
			return nil, errors.New("secret database password leaked")
		}),
		"panic": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response {
			count()
			panic("secret panic text")
		}),
		"deadline": echorpc.Func(func(c echo.Context, in any) (any, error) {
			count()
			return nil, context.DeadlineExceeded
		}),
		"person": echorpc.Func(func(c echo.Context, in struct {
			Name string `json:"name"`
			Age  int8   `json:"age"`
		}) (string, error) {
			count()
			return in.Name, nil
		}),
		"big": echorpc.Func(func(c echo.Context, in int64) (int64, error) {
			count()
			return in, nil
		}),
	}
}

func newTestServer(t testing.TB, cfg echorpc.Config, calls *int) *echo.Echo {
	t.Helper()
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	rpc := echorpc.New(e, cfg)
	rpc.Functions(testFuncs(calls))
	return e
}

// testWriter sends Echo's log to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func post(e *echo.Echo, path, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set(echo.HeaderContentType, contentType)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestProtocol(t *testing.T) {
	const jsonType = "application/json"
	tests := []struct {
		name             string
		givenContentType string
		givenBody        string
		expectStatus     int
		expectBody       string
		expectCalled     bool
	}{
		{name: "200-typed-sum", givenBody: `{"weerpc": 1.1, "function": "add_numbers", "data": [1, 2, 3]}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":null,"data":6}`, expectCalled: true},
		{name: "200-wrpc-1.0-dialect", givenBody: `{"wrpc": 1.0, "function": "add_numbers", "data": [1, 2.5]}`,
			expectStatus: 200, expectBody: `{"wrpc":1.0,"ok":true,"message":null,"data":3.5}`, expectCalled: true},
		{name: "200-version-1.10", givenBody: `{"weerpc": 1.10, "function": "add_numbers", "data": []}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":null,"data":0}`, expectCalled: true},
		{name: "200-version-11e-1", givenBody: `{"weerpc": 11e-1, "function": "add_numbers", "data": [1]}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":null,"data":1}`, expectCalled: true},
		{name: "200-wrpc-1", givenBody: `{"wrpc": 1, "function": "add_numbers", "data": [1]}`,
			expectStatus: 200, expectBody: `{"wrpc":1.0,"ok":true,"message":null,"data":1}`, expectCalled: true},
		{name: "200-charset-param", givenContentType: "application/json; charset=utf-8", givenBody: `{"weerpc":1.1,"function":"echo","data":1}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":"echoed","data":1}`, expectCalled: true},
		{name: "200-plus-json", givenContentType: "application/vnd.api+json", givenBody: `{"weerpc":1.1,"function":"echo","data":1}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":"echoed","data":1}`, expectCalled: true},
		{name: "200-falsy-zero", givenBody: `{"weerpc":1.1,"function":"echo","data":0}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":"echoed","data":0}`, expectCalled: true},
		{name: "200-falsy-empty-string", givenBody: `{"weerpc":1.1,"function":"echo","data":""}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":"echoed","data":""}`, expectCalled: true},
		{name: "200-falsy-false", givenBody: `{"weerpc":1.1,"function":"echo","data":false}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":"echoed","data":false}`, expectCalled: true},
		{name: "200-falsy-empty-list", givenBody: `{"weerpc":1.1,"function":"echo","data":[]}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":"echoed","data":[]}`, expectCalled: true},
		{name: "200-absent-data-is-null", givenBody: `{"weerpc":1.1,"function":"echo"}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":"echoed","data":null}`, expectCalled: true},
		{name: "200-no-data-no-message", givenBody: `{"weerpc":1.1,"function":"nothing"}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":null,"data":null}`, expectCalled: true},
		{name: "200-precision-kept", givenBody: `{"weerpc":1.1,"function":"echo","data":12345678901234567890.123456789}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":"echoed","data":12345678901234567890.123456789}`, expectCalled: true},
		{name: "200-int64-exact", givenBody: `{"weerpc":1.1,"function":"big","data":9007199254740993}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":null,"data":9007199254740993}`, expectCalled: true},
		{name: "200-unknown-keys-ignored", givenBody: `{"weerpc":1.1,"function":"echo","data":1,"extra":{"x":[1]}}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":"echoed","data":1}`, expectCalled: true},
		{name: "200-escaped-function-name", givenBody: `{"weerpc":1.1,"function":"\u0065cho","data":1}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":"echoed","data":1}`, expectCalled: true},
		{name: "200-untyped-fail", givenBody: `{"weerpc":1.1,"function":"fail","data":"x"}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid data type.","data":{"data":"list"}}`, expectCalled: true},
		{name: "200-typed-failwith", givenBody: `{"wrpc":1.0,"function":"fail_typed","data":"x"}`,
			expectStatus: 200, expectBody: `{"wrpc":1.0,"ok":false,"message":"No such thing.","data":"x"}`, expectCalled: true},
		{name: "200-typed-failf", givenBody: `{"weerpc":1.1,"function":"failf","data":7}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":false,"message":"too big: 7","data":null}`, expectCalled: true},
		{name: "409-typed-error-with-status", givenBody: `{"weerpc":1.1,"function":"conflict"}`,
			expectStatus: 409, expectBody: `{"weerpc":1.1,"ok":false,"message":"Taken.","data":null}`, expectCalled: true},
		{name: "500-handler-error-not-leaked", givenBody: `{"weerpc":1.1,"function":"boom"}`,
			expectStatus: 500, expectBody: `{"weerpc":1.1,"ok":false,"message":"Internal error.","data":null}`, expectCalled: true},
		{name: "500-panic-recovered", givenBody: `{"wrpc":1.0,"function":"panic"}`,
			expectStatus: 500, expectBody: `{"wrpc":1.0,"ok":false,"message":"Internal error.","data":null}`, expectCalled: true},
		{name: "504-deadline", givenBody: `{"weerpc":1.1,"function":"deadline"}`,
			expectStatus: 504, expectBody: `{"weerpc":1.1,"ok":false,"message":"Deadline exceeded.","data":null}`, expectCalled: true},
		{name: "400-typed-decode", givenBody: `{"weerpc":1.1,"function":"add_numbers","data":"abc"}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid data: the data must be an array.","data":{"errors":[{"path":"","rule":"type","param":"array","message":"must be an array"}]}}`},
		{name: "400-typed-field-overflow", givenBody: `{"weerpc":1.1,"function":"person","data":{"name":"a","age":300}}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid data: age must be an integer in range.","data":{"errors":[{"path":"age","rule":"type","param":"integer","message":"must be an integer in range"}]}}`},
		{name: "400-int64-overflow", givenBody: `{"weerpc":1.1,"function":"big","data":9223372036854775808}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid data: the data must be an integer in range.","data":{"errors":[{"path":"","rule":"type","param":"integer","message":"must be an integer in range"}]}}`},
		{name: "400-float-overflow", givenBody: `{"weerpc":1.1,"function":"add_numbers","data":[1e400]}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid data: 0 must be a number in range.","data":{"errors":[{"path":"0","rule":"type","param":"number","message":"must be a number in range"}]}}`},
		{name: "415-no-content-type", givenContentType: "-", givenBody: `{"weerpc":1.1,"function":"echo"}`,
			expectStatus: 415, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request must be JSON.","data":null}`},
		{name: "415-text-plain", givenContentType: "text/plain", givenBody: `{"weerpc":1.1,"function":"echo"}`,
			expectStatus: 415, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request must be JSON.","data":null}`},
		{name: "415-text-plain-smuggled", givenContentType: "text/plain; application/json", givenBody: `{"weerpc":1.1,"function":"echo"}`,
			expectStatus: 415, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request must be JSON.","data":null}`},
		{name: "415-form", givenContentType: "application/x-www-form-urlencoded", givenBody: `{"weerpc":1.1,"function":"echo"}`,
			expectStatus: 415, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request must be JSON.","data":null}`},
		{name: "415-latin1", givenContentType: "application/json; charset=latin1", givenBody: `{"weerpc":1.1,"function":"echo"}`,
			expectStatus: 415, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request must be JSON.","data":null}`},
		{name: "400-empty-object", givenBody: `{}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request must not be empty.","data":null}`},
		{name: "400-null", givenBody: ` null `,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request must not be empty.","data":null}`},
		{name: "400-empty-body", givenBody: ``,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request must not be empty.","data":null}`},
		{name: "400-malformed", givenBody: `{"weerpc":1.1,"function":}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request is not valid JSON (offset 25).","data":null}`},
		{name: "400-truncated", givenBody: `{"weerpc":1.1,"function":"echo"`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request is not valid JSON (unexpected end).","data":null}`},
		{name: "400-array-body", givenBody: `[{"weerpc":1.1,"function":"echo"}]`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Batches are off on this instance: send one call per request.","data":{"maxBatch":0}}`},
		{name: "400-string-body", givenBody: `"echo"`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request must be a JSON object.","data":null}`},
		{name: "400-trailing-data", givenBody: `{"weerpc":1.1,"function":"echo"} {"weerpc":1.1,"function":"boom"}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request has data after its JSON object.","data":null}`},
		{name: "400-repeated-key", givenBody: `{"weerpc":1.1,"function":"echo","function":"boom"}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request repeats the key \"function\".","data":null}`},
		{name: "400-repeated-unknown-key", givenBody: `{"weerpc":1.1,"function":"echo","x":1,"x":2}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request repeats the key \"x\".","data":null}`},
		{name: "400-repeated-key-escaped", givenBody: `{"weerpc":1.1,"function":"echo","\u0066unction":"boom"}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request repeats the key \"function\".","data":null}`},
		{name: "400-invalid-utf8", givenBody: "{\"weerpc\":1.1,\"function\":\"echo\",\"data\":\"\xff\"}",
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request is not valid UTF-8.","data":null}`},
		{name: "400-too-deep", givenBody: `{"weerpc":1.1,"function":"echo","data":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Request is nested deeper than 64 levels.","data":null}`},
		{name: "200-deep-enough", givenBody: `{"weerpc":1.1,"function":"echo","data":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `}`,
			expectStatus: 200, expectBody: `{"weerpc":1.1,"ok":true,"message":"echoed","data":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `}`, expectCalled: true},
		{name: "400-version-missing", givenBody: `{"function":"echo"}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid weerpc version.","data":null}`},
		{name: "400-version-string", givenBody: `{"weerpc":"1.1","function":"echo"}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid weerpc version.","data":null}`},
		{name: "400-version-true", givenBody: `{"weerpc":true,"function":"echo"}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid weerpc version.","data":null}`},
		{name: "400-version-null", givenBody: `{"weerpc":null,"function":"echo"}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid weerpc version.","data":null}`},
		{name: "400-version-wrong-number", givenBody: `{"weerpc":1.0,"function":"echo"}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid weerpc version.","data":null}`},
		{name: "400-wrpc-1.1", givenBody: `{"wrpc":1.1,"function":"echo"}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid weerpc version.","data":null}`},
		{name: "400-version-key-case", givenBody: `{"Weerpc":1.1,"function":"echo"}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid weerpc version.","data":null}`},
		{name: "400-function-missing", givenBody: `{"weerpc":1.1,"data":1}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid request.","data":null}`},
		{name: "400-function-key-case", givenBody: `{"wrpc":1.0,"Function":"echo"}`,
			expectStatus: 400, expectBody: `{"wrpc":1.0,"ok":false,"message":"Invalid request.","data":null}`},
		{name: "400-function-not-string", givenBody: `{"weerpc":1.1,"function":["echo"]}`,
			expectStatus: 400, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid request.","data":null}`},
		{name: "404-function-unknown", givenBody: `{"weerpc":1.1,"function":"nope"}`,
			expectStatus: 404, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid function.","data":null}`},
		{name: "404-function-empty", givenBody: `{"wrpc":1.0,"function":""}`,
			expectStatus: 404, expectBody: `{"wrpc":1.0,"ok":false,"message":"Invalid function.","data":null}`},
		{name: "404-function-case", givenBody: `{"weerpc":1.1,"function":"ECHO"}`,
			expectStatus: 404, expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid function.","data":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			e := newTestServer(t, echorpc.Config{Prefix: "/rpc"}, &calls)
			ct := tt.givenContentType
			switch ct {
			case "":
				ct = jsonType
			case "-":
				ct = ""
			}
			rec := post(e, "/rpc", ct, tt.givenBody)

			assert.Equal(t, tt.expectStatus, rec.Code)
			assert.Equal(t, tt.expectBody, rec.Body.String())
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			assert.Equal(t, tt.expectCalled, calls == 1, "called %d times", calls)
		})
	}
}

func TestNoFunctions(t *testing.T) {
	e := echo.New()
	echorpc.New(e.Group("/rpc/empty"), echorpc.Config{})
	rec := post(e, "/rpc/empty", "application/json", `{"weerpc":1.1,"function":"x"}`)
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Equal(t, `{"weerpc":1.1,"ok":false,"message":"No functions registered.","data":null}`, rec.Body.String())
}

func TestMethods(t *testing.T) {
	e := newTestServer(t, echorpc.Config{Prefix: "/rpc"}, nil)
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead,
		http.MethodConnect, http.MethodTrace, "PROPFIND", "REPORT", "PURGE", "FOO"} {
		t.Run("405-"+method, func(t *testing.T) {
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(method, "/rpc", nil))
			assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
			assert.Equal(t, "OPTIONS, POST", rec.Header().Get("Allow"))
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			if method != http.MethodHead {
				assert.JSONEq(t, `{"weerpc":1.1,"ok":false,"message":"Method not allowed: weeRPC requests use POST.","data":null}`, rec.Body.String())
			}
		})
	}
	t.Run("204-options", func(t *testing.T) {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodOptions, "/rpc", nil))
		assert.Equal(t, http.StatusNoContent, rec.Code)
		assert.Equal(t, "OPTIONS, POST", rec.Header().Get("Allow"))
	})
}

func TestPrefix(t *testing.T) {
	nop := echorpc.Funcs{"echo": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response { return echorpc.Success("", data) })}
	t.Run("panics", func(t *testing.T) {
		tests := []struct {
			name        string
			givenGroup  bool
			givenPrefix string
			expectPanic string
		}{
			{name: "echo-without-prefix", givenPrefix: "", expectPanic: `echorpc: New on an *echo.Echo needs a Prefix, such as "/rpc": without one the instance would take over the app's root`},
			{name: "echo-root", givenPrefix: "/", expectPanic: `echorpc: New on an *echo.Echo needs a Prefix, such as "/rpc": without one the instance would take over the app's root`},
			{name: "query", givenPrefix: "/rpc?x=1", expectPanic: `echorpc: prefix "/rpc?x=1" has a query or fragment: give a path`},
			{name: "fragment", givenGroup: true, givenPrefix: "/rpc#top", expectPanic: `echorpc: prefix "/rpc#top" has a query or fragment: give a path`},
			{name: "relative", givenGroup: true, givenPrefix: "rpc", expectPanic: `echorpc: prefix "rpc" must start with /`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := echo.New()
				var r echorpc.Router = e
				if tt.givenGroup {
					r = e.Group("/app")
				}
				assert.PanicsWithValue(t, tt.expectPanic, func() { echorpc.New(r, echorpc.Config{Prefix: tt.givenPrefix}) })
			})
		}
	})
	t.Run("group-root", func(t *testing.T) {
		e := echo.New()
		echorpc.New(e.Group("/rpc/open"), echorpc.Config{Functions: nop})
		assert.Equal(t, http.StatusOK, post(e, "/rpc/open", "application/json", `{"weerpc":1.1,"function":"echo"}`).Code)
	})
	t.Run("trailing-slash-dropped", func(t *testing.T) {
		e := echo.New()
		echorpc.New(e, echorpc.Config{Prefix: "/open/", Functions: nop})
		assert.Equal(t, http.StatusOK, post(e, "/open", "application/json", `{"weerpc":1.1,"function":"echo"}`).Code)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/open/client.js", nil))
		assert.Equal(t, http.StatusOK, rec.Code)
	})
	t.Run("app-index-untouched", func(t *testing.T) {
		e := echo.New()
		e.GET("/", func(c echo.Context) error { return c.String(http.StatusOK, "index") })
		echorpc.New(e, echorpc.Config{Prefix: "/rpc", Functions: nop})
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		assert.Equal(t, "index", rec.Body.String())
	})
}

func TestBodyLimit(t *testing.T) {
	calls := 0
	e := newTestServer(t, echorpc.Config{Prefix: "/rpc", BodyLimit: 64}, &calls)
	big := `{"weerpc":1.1,"function":"echo","data":"` + strings.Repeat("x", 100) + `"}`

	t.Run("413-content-length", func(t *testing.T) {
		rec := post(e, "/rpc", "application/json", big)
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
		assert.Equal(t, `{"weerpc":1.1,"ok":false,"message":"Request body is too large.","data":null}`, rec.Body.String())
	})
	t.Run("413-chunked", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/rpc", struct{ *strings.Reader }{strings.NewReader(big)})
		req.ContentLength = -1
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	})
	t.Run("200-at-limit", func(t *testing.T) {
		body := `{"weerpc":1.1,"function":"echo","data":"` + strings.Repeat("x", 64-42) + `"}`
		require.Len(t, body, 64)
		rec := post(e, "/rpc", "application/json", body)
		assert.Equal(t, http.StatusOK, rec.Code)
	})
	assert.Equal(t, 1, calls)
}

func TestRegistration(t *testing.T) {
	nop := echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response { return echorpc.Success("", nil) })
	tests := []struct {
		name        string
		whenFuncs   []echorpc.Funcs
		expectPanic string
	}{
		{name: "twice", whenFuncs: []echorpc.Funcs{{"a": nop}, {"a": nop}}, expectPanic: `echorpc: function "a" is registered twice`},
		{name: "empty-name", whenFuncs: []echorpc.Funcs{{"": nop}}, expectPanic: `echorpc: a function has an empty name`},
		{name: "nil", whenFuncs: []echorpc.Funcs{{"b": nil}}, expectPanic: `echorpc: function "b" is nil`},
		{name: "nil-func", whenFuncs: []echorpc.Funcs{{"c": echorpc.RawFunc(nil)}}, expectPanic: `echorpc: function "c" is nil`},
		{name: "nil-typed", whenFuncs: []echorpc.Funcs{{"d": echorpc.Func[int, int](nil)}}, expectPanic: `echorpc: function "d" is nil`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rpc := echorpc.New(echo.New(), echorpc.Config{Prefix: "/rpc"})
			assert.PanicsWithValue(t, tt.expectPanic, func() {
				for _, f := range tt.whenFuncs {
					rpc.Functions(f)
				}
			})
		})
	}
}

func TestFunctionsInConfigAndLater(t *testing.T) {
	e := echo.New()
	sub := echorpc.Func(func(c echo.Context, in [2]int) (int, error) { return in[0] - in[1], nil })
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc", Functions: echorpc.Funcs{"subtract": sub}})
	rpc.Functions(echorpc.Funcs{"negate": echorpc.Func(func(c echo.Context, in int) (int, error) { return -in, nil })})

	rec := post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"subtract","data":[5,3]}`)
	assert.Equal(t, `{"weerpc":1.1,"ok":true,"message":null,"data":2}`, rec.Body.String())
	rec = post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"negate","data":5}`)
	assert.Equal(t, `{"weerpc":1.1,"ok":true,"message":null,"data":-5}`, rec.Body.String())
}

// A typed handler returning a value that encoding/json cannot encode is an
// internal error, not a half-written reply.
// Types that JSON cannot carry are refused at registration, naming the
// function and the type.
func TestUnencodableTypes(t *testing.T) {
	type withDuration struct {
		Wait time.Duration `json:"wait"`
	}
	type nested struct {
		Items []struct {
			C complex128 `json:"c"`
		} `json:"items"`
	}
	tests := []struct {
		name        string
		whenFunc    echorpc.Handler
		expectPanic string
	}{
		{name: "chan-output", whenFunc: echorpc.Func(func(c echo.Context, in any) (chan int, error) { return nil, nil }),
			expectPanic: `echorpc: function "f": type chan int cannot be carried by JSON`},
		{name: "func-input", whenFunc: echorpc.Func(func(c echo.Context, in func()) (int, error) { return 0, nil }),
			expectPanic: `echorpc: function "f": type func() cannot be carried by JSON`},
		{name: "nested-complex", whenFunc: echorpc.Func(func(c echo.Context, in nested) (int, error) { return 0, nil }),
			expectPanic: `echorpc: function "f": type complex128 (at items[].c) cannot be carried by JSON`},
		{name: "duration", whenFunc: echorpc.Func(func(c echo.Context, in int) (withDuration, error) { return withDuration{}, nil }),
			expectPanic: `echorpc: function "f": type time.Duration (at wait) has no JSON form in encoding/json/v2: use an integer or a string`},
		{name: "map-key", whenFunc: echorpc.Func(func(c echo.Context, in map[[2]int]bool) (int, error) { return 0, nil }),
			expectPanic: `echorpc: function "f": map key type [2]int cannot be a JSON name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rpc := echorpc.New(echo.New(), echorpc.Config{Prefix: "/rpc"})
			assert.PanicsWithValue(t, tt.expectPanic, func() { rpc.Functions(echorpc.Funcs{"f": tt.whenFunc}) })
		})
	}
}

// A value that turns out not to encode (behind an interface) is a logged
// internal error.
func TestUnencodableResult(t *testing.T) {
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	echorpc.New(e, echorpc.Config{Prefix: "/rpc"}).Functions(echorpc.Funcs{
		"chan": echorpc.Func(func(c echo.Context, in any) (any, error) { return make(chan int), nil }),
	})
	rec := post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"chan"}`)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Equal(t, `{"weerpc":1.1,"ok":false,"message":"Internal error.","data":null}`, rec.Body.String())
}

type rejectingValidator struct{}

func (rejectingValidator) Validate(i any) error {
	if p, ok := i.(struct {
		Name string `json:"name"`
	}); ok && p.Name == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "name is required")
	}
	return nil
}

func TestValidator(t *testing.T) {
	e := echo.New()
	e.Validator = rejectingValidator{}
	echorpc.New(e, echorpc.Config{Prefix: "/rpc"}).Functions(echorpc.Funcs{
		"hello": echorpc.Func(func(c echo.Context, in struct {
			Name string `json:"name"`
		}) (string, error) {
			return "Hello " + in.Name + "!", nil
		}),
		"list": echorpc.Func(func(c echo.Context, in []int) (int, error) { return len(in), nil }),
	})
	rec := post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"hello","data":{}}`)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, `{"weerpc":1.1,"ok":false,"message":"name is required","data":null}`, rec.Body.String())

	rec = post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"hello","data":{"name":"Ann"}}`)
	assert.Equal(t, `{"weerpc":1.1,"ok":true,"message":null,"data":"Hello Ann!"}`, rec.Body.String())

	// Non-struct inputs are not given to the validator.
	rec = post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"list","data":[1,2]}`)
	assert.Equal(t, `{"weerpc":1.1,"ok":true,"message":null,"data":2}`, rec.Body.String())
}
