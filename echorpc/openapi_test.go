package echorpc_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openAPIDoc fetches an instance's OpenAPI document from a running server,
// checks that it is a valid document, and returns it with its validator.
func openAPIDoc(t *testing.T, get *http.Request) (map[string]any, validator.Validator) {
	t.Helper()
	res, err := http.DefaultClient.Do(get)
	require.NoError(t, err)
	spec, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	doc, err := libopenapi.NewDocument(spec)
	require.NoError(t, err)
	v, errs := validator.NewValidator(doc)
	require.Empty(t, errs)
	ok, verrs := v.ValidateDocument()
	require.True(t, ok, "%v", verrs)
	var parsed map[string]any
	require.NoError(t, json.Unmarshal(spec, &parsed))
	return parsed, v
}

// The OpenAPI document validates, and a real request and reply for every
// function validate against it.
func TestOpenAPI(t *testing.T) {
	e, _ := urlServer(t)
	login := withLogin(t, e, "logged_in", true)
	srv := httptest.NewServer(e)
	defer srv.Close()
	// The document describes what its caller may call: fetched with a
	// session, it has whoami, whose reply to a caller without one is
	// checked below.
	get := mustGet(t, srv.URL+"/rpc/tester/openapi.json")
	get.AddCookie(login())
	_, v := openAPIDoc(t, get)

	// invalid marks a request that the document itself refuses (bad data,
	// no session cookie): only its reply is checked.
	calls := []struct {
		method, fn, data string
		invalid          bool
	}{
		{"POST", "add_numbers", `[1,2,3]`, false},
		{"POST", "add_numbers", `"x"`, true},
		{"POST", "echo", `{"a":[1]}`, false},
		{"POST", "fail", `null`, false},
		{"POST", "fail_typed", `"x"`, false},
		{"POST", "person", `{"name":"Ada","age":36}`, false},
		{"POST", "big", `9007199254740993`, false},
		{"POST", "boom", `1`, false},
		{"POST", "add", `[1,2]`, false},
		{"GET", "add", `[1,2]`, false},
		{"GET", "greet", `{"name":"Ada"}`, false},
		{"POST", "greet", `{"name":7}`, true},
		{"GET", "whoami", ``, true},
	}
	for _, call := range calls {
		t.Run(call.method+"-"+call.fn, func(t *testing.T) {
			target := srv.URL + "/rpc/tester/" + call.fn
			var body io.Reader
			if call.method == "GET" && call.data != "" {
				target += "?data=" + url.QueryEscape(call.data)
			} else if call.method == "POST" {
				body = strings.NewReader(call.data)
			}
			req, err := http.NewRequest(call.method, target, body)
			require.NoError(t, err)
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			reply, _ := io.ReadAll(res.Body)
			res.Body.Close()
			res.Body = io.NopCloser(bytes.NewReader(reply))

			check, _ := http.NewRequest(call.method, target, strings.NewReader(call.data))
			if call.method == "POST" {
				check.Header.Set("Content-Type", "application/json")
			}
			ok, errs := v.ValidateHttpRequestResponse(check, res)
			if call.invalid {
				ok, errs = v.ValidateHttpResponse(check, res)
			}
			assert.True(t, ok, "%s %s -> %d %s: %s", call.method, call.fn, res.StatusCode, reply, fmtErrs(errs))
		})
	}
}

func fmtErrs[E any](errs []E) string {
	b, _ := json.Marshal(errs)
	return fmt.Sprint(string(b))
}

func mustGet(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	return req
}

// at walks a parsed JSON document along keys.
func at(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// No two operations share an operationId, whatever the names: a query
// "item" (whose GET would be "item_get" by a suffix of name characters)
// beside a function "item_get".
func TestOpenAPIOperationIDsAreUnique(t *testing.T) {
	e := echo.New()
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc/api", Manifest: true})
	item := echorpc.Func(func(c echo.Context, in int) (int, error) { return in, nil })
	rpc.Functions(echorpc.Funcs{"item": item, "item_get_get": item}, echorpc.Query(0))
	rpc.Functions(echorpc.Funcs{"item_get": item, "item-get": item, "get": item})
	srv := httptest.NewServer(e)
	defer srv.Close()
	doc, _ := openAPIDoc(t, mustGet(t, srv.URL+"/rpc/api/openapi.json"))

	ids := map[string]string{}
	for path, item := range at(doc, "paths").(map[string]any) {
		for method := range item.(map[string]any) {
			id, _ := at(item, method, "operationId").(string)
			require.NotEmpty(t, id, "%s %s", method, path)
			if other, dup := ids[id]; dup {
				t.Errorf("operationId %q of %s %s is also %s's", id, method, path, other)
			}
			ids[id] = method + " " + path
		}
	}
	assert.Equal(t, map[string]string{
		"item":             "post /rpc/api/item",
		"item.get":         "get /rpc/api/item",
		"item_get":         "post /rpc/api/item_get",
		"item-get":         "post /rpc/api/item-get",
		"get":              "post /rpc/api/get",
		"item_get_get":     "post /rpc/api/item_get_get",
		"item_get_get.get": "get /rpc/api/item_get_get",
	}, ids)
}

// The document declares the headers the replies carry: Cache-Control and
// ETag on a query's GET (200 and 304), Retry-After on 503; and real replies
// that carry them validate against it.
func TestOpenAPIResponseHeaders(t *testing.T) {
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc/api", Manifest: true, MaxInFlight: 1})
	started, release := make(chan struct{}), make(chan struct{})
	rpc.Functions(echorpc.Funcs{
		"add": echorpc.Func(func(c echo.Context, in []float64) (float64, error) { return sum(in), nil }),
	}, echorpc.Query(time.Minute))
	rpc.Functions(echorpc.Funcs{
		"hold": echorpc.Func(func(c echo.Context, in any) (bool, error) {
			started <- struct{}{}
			<-release
			return true, nil
		}),
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	doc, v := openAPIDoc(t, mustGet(t, srv.URL+"/rpc/api/openapi.json"))

	add := at(doc, "paths", "/rpc/api/add")
	for _, code := range []string{"200", "304"} {
		h := at(add, "get", "responses", code, "headers")
		assert.Equal(t, true, at(h, "Cache-Control", "required"), code)
		assert.Equal(t, "string", at(h, "Cache-Control", "schema", "type"), code)
		assert.Equal(t, "string", at(h, "ETag", "schema", "type"), code)
		assert.Contains(t, at(h, "Cache-Control", "description"), "max-age=60", code)
	}
	assert.Equal(t, true, at(add, "get", "responses", "304", "headers", "ETag", "required"), "a 304 always has the ETag")
	assert.Nil(t, at(add, "get", "responses", "200", "headers", "ETag", "required"), "an answer that fails has no ETag")
	assert.Nil(t, at(add, "post", "responses", "200", "headers"), "POST answers are not cached")
	for _, path := range []string{"/rpc/api/add", "/rpc/api/hold"} {
		assert.Equal(t, "integer", at(doc, "paths", path, "post", "responses", "503", "headers", "Retry-After", "schema", "type"), path)
		assert.Equal(t, true, at(doc, "paths", path, "post", "responses", "503", "headers", "Retry-After", "required"), path)
	}

	check := func(t *testing.T, req *http.Request, wantStatus int, wantHeader string) {
		t.Helper()
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		reply, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, wantStatus, res.StatusCode, "%s", reply)
		require.NotEmpty(t, res.Header.Get(wantHeader))
		res.Body = io.NopCloser(bytes.NewReader(reply))
		ok, errs := v.ValidateHttpResponse(req, res)
		assert.True(t, ok, "%d %s: %s", res.StatusCode, reply, fmtErrs(errs))
		// The document requires the header: the reply without it does not
		// validate.
		res.Header.Del(wantHeader)
		res.Body = io.NopCloser(bytes.NewReader(reply))
		ok, _ = v.ValidateHttpResponse(req, res)
		assert.False(t, ok, "a %d without %s validates", wantStatus, wantHeader)
	}
	t.Run("200-and-304", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/rpc/api/add?data=%5B1%2C2%5D", nil)
		check(t, req, http.StatusOK, "Cache-Control")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		again, _ := http.NewRequest(http.MethodGet, req.URL.String(), nil)
		again.Header.Set("If-None-Match", res.Header.Get("ETag"))
		check(t, again, http.StatusNotModified, "Cache-Control")
	})
	t.Run("503-retry-after", func(t *testing.T) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			res, err := http.Post(srv.URL+"/rpc/api/hold", "application/json", strings.NewReader("null"))
			if err == nil {
				res.Body.Close()
			}
		}()
		<-started
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/rpc/api/add", strings.NewReader("[1]"))
		req.Header.Set("Content-Type", "application/json")
		check(t, req, http.StatusServiceUnavailable, "Retry-After")
		close(release)
		<-done
	})
}
