package echorpc_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/echo-rpc/wrpc"
	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClientScript(t *testing.T) {
	e := echo.New()
	echorpc.New(e.Group("/rpc/tester"), echorpc.Config{})
	echorpc.New(e, echorpc.Config{Prefix: "/rpc/api"})
	js, _ := wrpc.ClientFile("client.js")

	get := func(method, path string, header map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	etag := get("GET", "/rpc/tester/client.js", nil).Header().Get("ETag")
	require.NotEmpty(t, etag)

	tests := []struct {
		name             string
		whenMethod       string
		whenPath         string
		whenHeader       map[string]string
		expectStatus     int
		expectType       string
		expectEncoding   string
		expectBodyPrefix string
	}{
		{name: "200-group-script", whenMethod: "GET", whenPath: "/rpc/tester/client.js", expectStatus: 200, expectType: "text/javascript; charset=utf-8", expectBodyPrefix: `"use strict";(()=>{`},
		{name: "200-prefix-module", whenMethod: "GET", whenPath: "/rpc/api/client.mjs", expectStatus: 200, expectType: "text/javascript; charset=utf-8"},
		{name: "200-source-map", whenMethod: "GET", whenPath: "/rpc/tester/client.js.map", expectStatus: 200, expectType: "application/json", expectBodyPrefix: "{"},
		{name: "200-module-map", whenMethod: "GET", whenPath: "/rpc/api/client.mjs.map", expectStatus: 200, expectType: "application/json"},
		{name: "404-other-file", whenMethod: "GET", whenPath: "/rpc/tester/other.js", expectStatus: 404},
		{name: "200-head", whenMethod: "HEAD", whenPath: "/rpc/tester/client.js", expectStatus: 200, expectType: "text/javascript; charset=utf-8"},
		{name: "200-gzip", whenMethod: "GET", whenPath: "/rpc/tester/client.js", whenHeader: map[string]string{"Accept-Encoding": "br, gzip;q=0.8"},
			expectStatus: 200, expectType: "text/javascript; charset=utf-8", expectEncoding: "gzip"},
		{name: "200-gzip-star", whenMethod: "GET", whenPath: "/rpc/tester/client.js", whenHeader: map[string]string{"Accept-Encoding": "*"},
			expectStatus: 200, expectType: "text/javascript; charset=utf-8", expectEncoding: "gzip"},
		{name: "200-gzip-refused", whenMethod: "GET", whenPath: "/rpc/tester/client.js", whenHeader: map[string]string{"Accept-Encoding": "gzip;q=0, br"},
			expectStatus: 200, expectType: "text/javascript; charset=utf-8", expectBodyPrefix: `"use strict";(()=>{`},
		{name: "200-gzip-refused-star-allowed", whenMethod: "GET", whenPath: "/rpc/tester/client.js", whenHeader: map[string]string{"Accept-Encoding": "*, gzip;q=0"},
			expectStatus: 200, expectType: "text/javascript; charset=utf-8", expectBodyPrefix: `"use strict";(()=>{`},
		{name: "304-if-none-match", whenMethod: "GET", whenPath: "/rpc/tester/client.js", whenHeader: map[string]string{"If-None-Match": etag}, expectStatus: 304},
		{name: "304-weak-in-list", whenMethod: "GET", whenPath: "/rpc/tester/client.js", whenHeader: map[string]string{"If-None-Match": `"x", W/` + etag}, expectStatus: 304},
		{name: "200-stale-etag", whenMethod: "GET", whenPath: "/rpc/tester/client.js", whenHeader: map[string]string{"If-None-Match": `"old"`}, expectStatus: 200, expectType: "text/javascript; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(tt.whenMethod, tt.whenPath, tt.whenHeader)
			require.Equal(t, tt.expectStatus, rec.Code)
			if tt.expectStatus != 200 {
				if tt.expectStatus == 304 {
					assert.Empty(t, rec.Body.Bytes())
					assert.NotEmpty(t, rec.Header().Get("ETag"))
				}
				return
			}
			assert.Equal(t, tt.expectType, rec.Header().Get("Content-Type"))
			assert.Equal(t, "no-cache", rec.Header().Get("Cache-Control"))
			assert.Equal(t, "Accept-Encoding", rec.Header().Get("Vary"))
			assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
			assert.Equal(t, tt.expectEncoding, rec.Header().Get("Content-Encoding"))
			assert.NotEmpty(t, rec.Header().Get("ETag"))
			if tt.whenMethod == "HEAD" {
				assert.Empty(t, rec.Body.Bytes())
				return
			}
			body := rec.Body.Bytes()
			assert.Equal(t, rec.Header().Get("Content-Length"), itoa(len(body)))
			if tt.expectEncoding == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				require.NoError(t, err)
				body, err = io.ReadAll(zr)
				require.NoError(t, err)
				assert.Equal(t, js, body)
			}
			assert.True(t, bytes.HasPrefix(body, []byte(tt.expectBodyPrefix)), "%.40s", body)
		})
	}
}

// The script's calls reach the RPC route of the instance that served it.
func TestClientScriptAndRouteTogether(t *testing.T) {
	e := echo.New()
	echorpc.New(e.Group("/rpc/tester"), echorpc.Config{}).Functions(testFuncs(nil))
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/rpc/tester/client.js", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	rec = post(e, "/rpc/tester", "application/json", `{"weerpc":1.1,"function":"add_numbers","data":[2]}`)
	assert.Equal(t, http.StatusOK, rec.Code)
}
