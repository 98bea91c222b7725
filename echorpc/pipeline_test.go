package echorpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type signup struct {
	Email string `json:"email" validate:"required,email"`
	Age   int    `json:"age" validate:"min=18"`
}

// echoGuideValidator is the validator that Echo's guide shows: it flattens
// the validator's errors into an *echo.HTTPError's message text.
type echoGuideValidator struct {
	v    *validator.Validate
	wrap func(error) error
}

func (g echoGuideValidator) Validate(i any) error {
	if err := g.v.Struct(i); err != nil {
		return g.wrap(err)
	}
	return nil
}

func TestValidatorErrorsAlwaysBecomeFieldErrors(t *testing.T) {
	tests := []struct {
		name string
		wrap func(error) error
	}{
		{"as-is", func(err error) error { return err }},
		{"echo-guide-message-text", func(err error) error { return echo.NewHTTPError(http.StatusBadRequest, err.Error()) }},
		{"http-error-internal", func(err error) error {
			return echo.NewHTTPError(http.StatusBadRequest, "bad input").SetInternal(err)
		}},
		{"http-error-message-error", func(err error) error { return echo.NewHTTPError(http.StatusBadRequest, err) }},
		{"wrapped", func(err error) error { return errors.Join(errors.New("validation"), err) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			e.Logger.SetOutput(testWriter{t})
			e.Validator = echoGuideValidator{v: validator.New(), wrap: tt.wrap}
			echorpc.New(e.Group("/rpc"), echorpc.Config{Functions: echorpc.Funcs{
				"signup": echorpc.Func(func(c echo.Context, in signup) (string, error) { return "ok", nil }),
			}})
			rec := post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"signup","data":{"email":"nope","age":3}}`)
			require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
			assert.NotContains(t, rec.Body.String(), "signup.", "no Go type names")
			assert.NotContains(t, rec.Body.String(), "Key:")
			var reply struct {
				Data struct {
					Errors []echorpc.FieldError `json:"errors"`
				} `json:"data"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &reply))
			require.Len(t, reply.Data.Errors, 2, rec.Body.String())
			assert.Equal(t, "email", reply.Data.Errors[0].Path)
			assert.Equal(t, "email", reply.Data.Errors[0].Rule)
			assert.Equal(t, "age", reply.Data.Errors[1].Path)
			assert.Equal(t, "min", reply.Data.Errors[1].Rule)
		})
	}
}

func TestNoValidatorIsLoggedOnceNamingTheFunction(t *testing.T) {
	var log syncBuffer
	e := echo.New()
	e.Logger.SetOutput(&log)
	echorpc.New(e.Group("/rpc"), echorpc.Config{Functions: echorpc.Funcs{
		"signup": echorpc.Func(func(c echo.Context, in signup) (string, error) { return "ok", nil }),
		"plain":  echorpc.Func(func(c echo.Context, in struct{ N int }) (int, error) { return in.N, nil }),
	}})
	for range 3 {
		rec := post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"signup","data":{}}`)
		require.Equal(t, http.StatusOK, rec.Code)
		post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"plain","data":{}}`)
	}
	assert.Equal(t, 1, strings.Count(log.String(), "validate tags"), log.String())
	assert.Contains(t, log.String(), `function \"signup\"`)
	assert.NotContains(t, log.String(), `\"plain\"`)
}

func TestInvalidDataFromHandlerAndTypedOnTheClient(t *testing.T) {
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	echorpc.New(e.Group("/rpc"), echorpc.Config{Functions: echorpc.Funcs{
		"register": echorpc.Func(func(c echo.Context, in struct {
			Email string `json:"email"`
		}) (string, error) {
			return "", echorpc.InvalidData(echorpc.FieldError{Path: "email", Rule: "unique", Message: "is taken"})
		}),
	}})
	srv := httptest.NewServer(e)
	defer srv.Close()
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
	err := client.Call(context.Background(), "register", map[string]string{"email": "a@b.c"}, nil)
	var werr *echorpc.Error
	require.ErrorAs(t, err, &werr)
	assert.Equal(t, http.StatusBadRequest, werr.Status)
	assert.Equal(t, "Invalid data: email is taken.", werr.Message)
	assert.Equal(t, []echorpc.FieldError{{Path: "email", Rule: "unique", Message: "is taken"}}, werr.Errors)

	// Decode failures reach the Go client typed too.
	err = client.Call(context.Background(), "register", map[string]int{"email": 3}, nil)
	require.ErrorAs(t, err, &werr)
	require.Len(t, werr.Errors, 1)
	assert.Equal(t, "email", werr.Errors[0].Path)
	assert.Equal(t, "type", werr.Errors[0].Rule)
}

func TestInterceptorAnswersWithAnError(t *testing.T) {
	limit := func(next echorpc.CallFunc) echorpc.CallFunc {
		return func(c echo.Context, call echorpc.Call) echorpc.Result {
			if call.Function == "slow" {
				return echorpc.Result{Err: &echorpc.Error{Status: http.StatusTooManyRequests, Message: "Slow down."}}
			}
			return next(c, call)
		}
	}
	var seen []string
	outer := func(next echorpc.CallFunc) echorpc.CallFunc {
		return func(c echo.Context, call echorpc.Call) echorpc.Result {
			res := next(c, call)
			seen = append(seen, res.Class())
			return res
		}
	}
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	echorpc.New(e.Group("/rpc"), echorpc.Config{Interceptors: []echorpc.Interceptor{outer, limit}, Functions: echorpc.Funcs{
		"slow": echorpc.Func(func(c echo.Context, in any) (int, error) { return 1, nil }),
	}})
	rec := post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"slow"}`)
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.JSONEq(t, `{"weerpc":1.1,"ok":false,"message":"Slow down.","data":null}`, rec.Body.String())
	assert.Equal(t, []string{"overloaded"}, seen)
}

func TestAnswerWithAStatusHTTPCannotCarry(t *testing.T) {
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	echorpc.New(e.Group("/rpc"), echorpc.Config{Functions: echorpc.Funcs{
		"odd": echorpc.Func(func(c echo.Context, in any) (int, error) {
			return 0, &echorpc.Error{Status: 1000, Message: "odd"}
		}),
	}})
	rec := post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"odd"}`)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.JSONEq(t, `{"weerpc":1.1,"ok":false,"message":"Internal error.","data":null}`, rec.Body.String())
}

func routesServer(t *testing.T, cfg echorpc.Config) *echo.Echo {
	t.Helper()
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	rpc := echorpc.New(e.Group("/rpc"), cfg)
	rpc.Functions(echorpc.Funcs{
		"add": echorpc.Func(func(c echo.Context, in []float64) (float64, error) { return sum(in), nil }),
	}, echorpc.Query(time.Minute))
	rpc.Functions(echorpc.Funcs{
		"lang": echorpc.Func(func(c echo.Context, in any) (string, error) {
			return c.Request().Header.Get("Accept-Language"), nil
		}),
	}, echorpc.Query(time.Minute, "accept-language"))
	rpc.Functions(echorpc.Funcs{
		"local": echorpc.Func(func(c echo.Context, in any) (string, error) { return "here", nil }),
	}, echorpc.Query(time.Minute), echorpc.WithRemoteAuth("192.0.2.0/24"))
	rpc.Functions(echorpc.Funcs{
		"write": echorpc.Func(func(c echo.Context, in any) (int, error) { return 1, nil }),
		"ticks": echorpc.Stream(func(c echo.Context, in any, send func(string, int) error) error {
			return send("", 1)
		}),
	})
	return e
}

func request(e *echo.Echo, method, target string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestEveryRouteAnswersItsMethods(t *testing.T) {
	e := routesServer(t, echorpc.Config{Manifest: true})
	tests := []struct {
		name         string
		whenMethod   string
		whenTarget   string
		expectStatus int
		expectAllow  string
	}{
		{"204-options-route", http.MethodOptions, "/rpc", 204, "OPTIONS, POST"},
		{"405-get-route", http.MethodGet, "/rpc", 405, "OPTIONS, POST"},
		{"204-options-query-url", http.MethodOptions, "/rpc/add", 204, "GET, HEAD, OPTIONS, POST"},
		{"204-options-function-url", http.MethodOptions, "/rpc/write", 204, "OPTIONS, POST"},
		{"405-get-function-url", http.MethodGet, "/rpc/write", 405, "OPTIONS, POST"},
		{"405-head-function-url", http.MethodHead, "/rpc/write", 405, "OPTIONS, POST"},
		{"405-put-query-url", http.MethodPut, "/rpc/add", 405, "GET, HEAD, OPTIONS, POST"},
		{"405-post-client-js", http.MethodPost, "/rpc/client.js", 405, "GET, HEAD, OPTIONS"},
		{"405-post-manifest", http.MethodPost, "/rpc/manifest.json", 405, "GET, HEAD, OPTIONS"},
		{"405-put-client-js", http.MethodPut, "/rpc/client.js", 405, "GET, HEAD, OPTIONS"},
		{"405-delete-openapi", http.MethodDelete, "/rpc/openapi.json", 405, "GET, HEAD, OPTIONS"},
		{"204-options-client-mjs", http.MethodOptions, "/rpc/client.mjs", 204, "GET, HEAD, OPTIONS"},
		{"200-head-client-js", http.MethodHead, "/rpc/client.js", 200, ""},
		{"200-head-manifest", http.MethodHead, "/rpc/manifest.json", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := request(e, tt.whenMethod, tt.whenTarget, nil)
			assert.Equal(t, tt.expectStatus, rec.Code, rec.Body.String())
			assert.Equal(t, tt.expectAllow, rec.Header().Get(echo.HeaderAllow))
			if tt.expectStatus == 405 && tt.whenMethod != http.MethodHead {
				assert.Contains(t, rec.Body.String(), `"ok":false`)
			}
		})
	}
}

func TestHeadOnAQueryURL(t *testing.T) {
	e := routesServer(t, echorpc.Config{})
	get := request(e, http.MethodGet, "/rpc/add?data=%5B1%2C2%5D", nil)
	head := request(e, http.MethodHead, "/rpc/add?data=%5B1%2C2%5D", nil)
	require.Equal(t, http.StatusOK, get.Code)
	assert.Equal(t, http.StatusOK, head.Code)
	assert.Equal(t, get.Header().Get("Etag"), head.Header().Get("Etag"))
	assert.Equal(t, get.Header().Get(echo.HeaderCacheControl), head.Header().Get(echo.HeaderCacheControl))
}

func TestDescriptionsOffAnswerNotFoundNotAFunction(t *testing.T) {
	e := routesServer(t, echorpc.Config{SessionAuth: map[string][]any{"logged_in": {true}}})
	for _, file := range []string{"manifest.json", "client.d.ts", "openapi.json"} {
		rec := request(e, http.MethodGet, "/rpc/"+file, nil)
		assert.Equal(t, http.StatusNotFound, rec.Code, file)
		assert.Contains(t, rec.Body.String(), "Config.Manifest", file)
	}
}

func TestQueryCacheControlFollowsWhatTheAnswerDependsOn(t *testing.T) {
	e := routesServer(t, echorpc.Config{})
	e.IPExtractor = func(r *http.Request) string { return "192.0.2.7" }
	tests := []struct {
		name          string
		whenTarget    string
		whenHeader    map[string]string
		expectControl string
		expectVary    string
	}{
		{"public-anonymous", "/rpc/add", nil, "public, max-age=60", ""},
		{"private-authorization", "/rpc/add", map[string]string{"Authorization": "Bearer x"}, "private, max-age=60", "Authorization"},
		{"private-cookie", "/rpc/add", map[string]string{"Cookie": "a=b"}, "private, max-age=60", "Cookie"},
		{"private-address-rule", "/rpc/local", nil, "private, max-age=60", ""},
		{"vary-declared", "/rpc/lang", map[string]string{"Accept-Language": "fr"}, "public, max-age=60", "Accept-Language"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := request(e, http.MethodGet, tt.whenTarget, tt.whenHeader)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Equal(t, tt.expectControl, rec.Header().Get(echo.HeaderCacheControl))
			assert.Equal(t, tt.expectVary, rec.Header().Get(echo.HeaderVary))
		})
	}
}

func TestStreamNotAcceptedWithQZero(t *testing.T) {
	e := routesServer(t, echorpc.Config{})
	for accept, status := range map[string]int{
		"text/event-stream;q=0":    http.StatusNotAcceptable,
		"text/event-stream; q=0.0": http.StatusNotAcceptable,
		"text/event-stream;q=0.5":  http.StatusOK,
		"text/event-stream":        http.StatusOK,
	} {
		req := httptest.NewRequest(http.MethodPost, "/rpc", strings.NewReader(`{"weerpc":1.1,"function":"ticks"}`))
		req.Header.Set(echo.HeaderContentType, "application/json")
		req.Header.Set(echo.HeaderAccept, accept)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		assert.Equal(t, status, rec.Code, accept)
	}
}

func TestStreamEndsHonestly(t *testing.T) {
	tests := []struct {
		name        string
		send        func(send func(string, float64) error) error
		expectSent  string
		expectLast  string
		expectError string
	}{
		{"unencodable-item", func(send func(string, float64) error) error {
			if err := send("", 1); err != nil {
				return err
			}
			_ = send("", math.Inf(1)) // ignored by a careless handler
			return nil
		}, "id: 1\n", "event: error\ndata: {\"weerpc\":1.1,\"ok\":false,\"message\":\"Internal error.\",\"data\":null,\"status\":500}", ""},
		{"id-with-nul", func(send func(string, float64) error) error {
			return send("a\x00b", 1)
		}, "", "", "NUL"},
		{"id-too-long", func(send func(string, float64) error) error {
			return send(strings.Repeat("x", 300<<10), 1)
		}, "", "", "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sendErr error
			e := echo.New()
			e.Logger.SetOutput(testWriter{t})
			echorpc.New(e.Group("/rpc"), echorpc.Config{Functions: echorpc.Funcs{
				"s": echorpc.Stream(func(c echo.Context, in any, send func(string, float64) error) error {
					sendErr = tt.send(send)
					return sendErr
				}),
			}})
			req := httptest.NewRequest(http.MethodPost, "/rpc", strings.NewReader(`{"weerpc":1.1,"function":"s"}`))
			req.Header.Set(echo.HeaderContentType, "application/json")
			req.Header.Set(echo.HeaderAccept, "text/event-stream")
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			body := rec.Body.String()
			if tt.expectError != "" {
				require.Error(t, sendErr)
				assert.Contains(t, sendErr.Error(), tt.expectError)
				assert.NotContains(t, body, "id: a")
				assert.NotContains(t, body, "xxxx")
				return
			}
			assert.Contains(t, body, tt.expectSent)
			assert.True(t, strings.HasSuffix(strings.TrimSpace(body), tt.expectLast), body)
			assert.Equal(t, 1, strings.Count(body, "event: "), body)
		})
	}
}

// A plain function given where a Handler is expected must fail to compile
// with a message that says what to do.
func TestPlainFunctionCompileErrorSaysWhatToDo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	var out bytes.Buffer
	cmd := exec.Command("go", "build", "-o", t.TempDir()+"/plainfunc", "./testdata/plainfunc")
	cmd.Stdout, cmd.Stderr = &out, &out
	require.Error(t, cmd.Run())
	assert.Contains(t, out.String(), "aHandlerMadeByFuncRawFuncOrStream", out.String())
}
