package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every function of /rpc/tester and /rpc/clients is at its own URL, as the
// instance's OpenAPI document says: the document validates, and a real
// request and reply for every function validate against it.
func TestOpenAPIDocuments(t *testing.T) {
	srv := testApp(t, filepath.Join(t.TempDir(), "clients.db"))
	c := newCaller(t, srv)
	var created Client
	require.NoError(t, json.Unmarshal(c.call("/rpc/clients", "create", `{"name":"Ada"}`, "").Data, &created))
	id := string(mustJSON(t, created.ClientID))

	validators := map[string]validator.Validator{}
	for _, instance := range []string{"/rpc/tester", "/rpc/clients"} {
		res, err := http.Get(srv.URL + instance + "/openapi.json")
		require.NoError(t, err)
		spec, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		doc, err := libopenapi.NewDocument(spec)
		require.NoError(t, err)
		v, errs := validator.NewValidator(doc)
		require.Empty(t, errs)
		ok, verrs := v.ValidateDocument()
		require.True(t, ok, "%s: %v", instance, verrs)
		validators[instance] = v
	}

	calls := []struct {
		instance, method, fn, data string
		expectStatus               int
	}{
		{"/rpc/tester", "POST", "add_numbers", `[1,2]`, 200},
		{"/rpc/tester", "GET", "add_numbers", `[1,2]`, 200},
		{"/rpc/tester", "POST", "add_string", `"Ada"`, 200},
		{"/rpc/tester", "GET", "add_string", `"Ada"`, 200},
		{"/rpc/tester", "POST", "add_string_auth_host", `"Ada"`, 200},
		{"/rpc/clients", "POST", "create", `{"name":"Grace"}`, 200},
		{"/rpc/clients", "GET", "list", `{}`, 200},
		{"/rpc/clients", "POST", "list", `{}`, 200},
		{"/rpc/clients", "GET", "read", `{"client_id":` + id + `}`, 200},
		{"/rpc/clients", "POST", "update", `{"client_id":` + id + `,"name":"Ada L."}`, 200},
		{"/rpc/clients", "POST", "delete", `{"client_id":` + id + `}`, 200},
	}
	for _, call := range calls {
		t.Run(call.method+call.instance+"/"+call.fn, func(t *testing.T) {
			target := srv.URL + call.instance + "/" + call.fn
			var body io.Reader
			if call.method == "GET" {
				target += "?data=" + url.QueryEscape(call.data)
			} else {
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
			assert.Equal(t, call.expectStatus, res.StatusCode, "%s", reply)
			assert.Contains(t, string(reply), `"ok":true`)
			if call.method == "GET" {
				assert.NotEmpty(t, res.Header.Get("ETag"))
			}
			res.Body = io.NopCloser(bytes.NewReader(reply))
			check, _ := http.NewRequest(call.method, target, strings.NewReader(call.data))
			if call.method == "POST" {
				check.Header.Set("Content-Type", "application/json")
			}
			ok, errs := validators[call.instance].ValidateHttpRequestResponse(check, res)
			msgs, _ := json.Marshal(errs)
			assert.True(t, ok, "%s %s -> %d %s: %s", call.method, target, res.StatusCode, reply, msgs)
		})
	}
}
