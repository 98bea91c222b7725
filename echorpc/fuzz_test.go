package echorpc_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
)

// documentedStatuses are the statuses of the package's status table.
var documentedStatuses = map[int]bool{200: true, 400: true, 401: true, 403: true, 404: true, 413: true, 415: true, 500: true, 504: true}

// FuzzRequest sends arbitrary bodies and content types and checks that
// every reply is a well-formed envelope with a documented status, in the
// request's dialect, and that the function runs only for a valid request.
// CI runs it for a fixed time: go test -run '^$' -fuzz FuzzRequest -fuzztime 20s ./echorpc
func FuzzRequest(f *testing.F) {
	var calls atomic.Int64
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	echorpc.New(e, echorpc.Config{Prefix: "/rpc", BodyLimit: 4096, MaxDepth: 16}).Functions(echorpc.Funcs{
		"f": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response {
			calls.Add(1)
			return echorpc.Success("", data)
		}),
		"typed": echorpc.Func(func(c echo.Context, in struct {
			A int      `json:"a"`
			B []string `json:"b"`
		}) (int, error) {
			calls.Add(1)
			return in.A, nil
		}),
	})
	for _, seed := range []string{
		`{"weerpc":1.1,"function":"f","data":[1,2,3]}`,
		`{"wrpc":1.0,"function":"typed","data":{"a":1,"b":["x"]}}`,
		`{"weerpc":1.1,"function":"typed","data":{"a":1e400}}`,
		`{"weerpc":1.1,"function":"f","function":"f"}`,
		`{"weerpc":11e-1,"function":"\u0066","data":"\ud800"}`,
		`[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]`,
		"{\"weerpc\":1.1,\"function\":\"f\",\"data\":\"\xc3\x28\"}",
		`null`, `{}`, ``, `{"weerpc":1.1,"function":"f"} x`,
	} {
		f.Add([]byte(seed), "application/json")
	}
	f.Add([]byte(`{"weerpc":1.1,"function":"f"}`), "text/plain; application/json")

	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		before := calls.Load()
		req := httptest.NewRequest(http.MethodPost, "/rpc", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		ran := calls.Load() != before

		if !documentedStatuses[rec.Code] {
			t.Fatalf("status %d is not documented", rec.Code)
		}
		ok := checkEnvelopeShape(t, rec.Body.Bytes())
		var asked map[string]json.RawMessage
		validJSON := json.Unmarshal(body, &asked) == nil
		checkDialect(t, rec.Body.Bytes(), validJSON, asked)

		// A function runs only for a valid request, and then the call succeeds.
		if ran != (ok && rec.Code == 200) {
			t.Fatalf("ran=%v but reply %d %s", ran, rec.Code, rec.Body.String())
		}
		if ran && !validCall(validJSON, asked) {
			t.Fatalf("a function ran for an invalid request %q", body)
		}
	})
}

// checkEnvelopeShape checks that a reply is an envelope of four keys, and
// returns its ok.
func checkEnvelopeShape(t *testing.T, body []byte) bool {
	var reply map[string]json.RawMessage
	if err := json.Unmarshal(body, &reply); err != nil {
		t.Fatalf("reply is not JSON: %q", body)
	}
	if len(reply) != 4 {
		t.Fatalf("reply has %d keys: %s", len(reply), body)
	}
	var ok bool
	if err := json.Unmarshal(reply["ok"], &ok); err != nil {
		t.Fatalf("ok is not a bool: %s", body)
	}
	if m := reply["message"]; m == nil || (string(m) != "null" && m[0] != '"') {
		t.Fatalf("message is not a string or null: %s", body)
	}
	if _, has := reply["data"]; !has {
		t.Fatalf("no data: %s", body)
	}
	return ok
}

// checkDialect checks that a reply is in 1.0 only when the request validly
// asked for it, and in 1.1 otherwise.
func checkDialect(t *testing.T, body []byte, validJSON bool, asked map[string]json.RawMessage) {
	var reply map[string]json.RawMessage
	_ = json.Unmarshal(body, &reply)
	if v, has := reply["wrpc"]; has {
		if string(v) != "1.0" || !validJSON || !isVersion(asked["wrpc"], 1.0) || asked["weerpc"] != nil {
			t.Fatalf("answered 1.0: %s", body)
		}
	} else if string(reply["weerpc"]) != "1.1" {
		t.Fatalf("no version key: %s", body)
	}
}

// validCall reports whether a request names a registered function in a
// valid dialect.
func validCall(validJSON bool, asked map[string]json.RawMessage) bool {
	var fn string
	if !validJSON || json.Unmarshal(asked["function"], &fn) != nil || (fn != "f" && fn != "typed") {
		return false
	}
	return isVersion(asked["weerpc"], 1.1) || asked["weerpc"] == nil && isVersion(asked["wrpc"], 1.0)
}

func isVersion(raw json.RawMessage, want float64) bool {
	if len(raw) == 0 || raw[0] == '"' {
		return false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return err == nil && f == want
}
