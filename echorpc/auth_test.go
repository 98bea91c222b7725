package echorpc_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/gob"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	glog "github.com/labstack/gommon/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	hashKey    = []byte("0123456789abcdef0123456789abcdef")
	oldHashKey = []byte("fedcba9876543210fedcba9876543210")
)

// sessionServer is an app with a cookie store, a plain route that stores
// the JSON object it is given into the session, and RPC instances:
// /rpc/user needs logged_in=true, /rpc/admin also user_type="admin", and
// /rpc/open has one function with a scoped rule.
func init() {
	// Session values that tests store, for gob.
	gob.Register(map[string]any{})
	gob.Register([]any{})
}

func sessionServer(t *testing.T, store sessions.Store) *echo.Echo {
	t.Helper()
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	if store != nil {
		e.Use(session.Middleware(store))
	}
	e.POST("/set", func(c echo.Context) error {
		s, err := session.Get("session", c)
		if err != nil {
			return err
		}
		var values map[string]any
		if err := json.NewDecoder(c.Request().Body).Decode(&values); err != nil {
			return err
		}
		for k, v := range values {
			if f, ok := v.(float64); ok && f == float64(int(f)) && c.QueryParam("ints") != "" {
				s.Values[k] = int(f) // stored as an int, as Go code would
				continue
			}
			s.Values[k] = v
		}
		return s.Save(c.Request(), c.Response())
	})
	echo2 := echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response { return echorpc.Success("", data) })
	echorpc.New(e, echorpc.Config{
		Prefix:      "/rpc/user",
		SessionAuth: map[string][]any{"logged_in": {true}},
		Functions:   echorpc.Funcs{"echo": echo2},
	})
	echorpc.New(e, echorpc.Config{
		Prefix: "/rpc/admin",
		SessionAuth: map[string][]any{
			"logged_in": {true},
			"user_type": {"admin", "root"},
		},
		Functions: echorpc.Funcs{"echo": echo2},
	})
	echorpc.New(e, echorpc.Config{Prefix: "/rpc/open"}).
		Functions(echorpc.Funcs{"open": echo2}).
		Functions(echorpc.Funcs{"user_100": echo2}, echorpc.WithSessionAuth("user_id", 100))
	return e
}

// login stores values in a fresh session and returns its cookie.
func login(t *testing.T, e *echo.Echo, values string, ints bool) *http.Cookie {
	t.Helper()
	target := "/set"
	if ints {
		target += "?ints=1"
	}
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(values))
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	cookies := rec.Result().Cookies()
	require.Len(t, cookies, 1)
	return cookies[0]
}

func call(e *echo.Echo, path, function string, cookie *http.Cookie, mod func(*http.Request)) *httptest.ResponseRecorder {
	body := `{"weerpc":1.1,"function":"` + function + `","data":1}`
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if cookie != nil {
		req.AddCookie(cookie)
	}
	if mod != nil {
		mod(req)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

const (
	okReply           = `{"weerpc":1.1,"ok":true,"message":null,"data":1}`
	unauthorizedReply = `{"weerpc":1.1,"ok":false,"message":"Unauthorized.","data":null}`
)

func TestSessionAuth(t *testing.T) {
	e := sessionServer(t, sessions.NewCookieStore(hashKey))
	tests := []struct {
		name         string
		givenSession string // JSON object stored in the session; "" for no cookie
		givenInts    bool   // store whole numbers as int rather than float64
		whenPath     string
		whenFunction string
		expectStatus int
		expectBody   string
	}{
		{name: "401-no-cookie", whenPath: "/rpc/user", whenFunction: "echo", expectStatus: 401, expectBody: unauthorizedReply},
		{name: "200-logged-in", givenSession: `{"logged_in":true}`, whenPath: "/rpc/user", whenFunction: "echo", expectStatus: 200, expectBody: okReply},
		{name: "401-logged-in-false", givenSession: `{"logged_in":false}`, whenPath: "/rpc/user", whenFunction: "echo", expectStatus: 401, expectBody: unauthorizedReply},
		{name: "401-logged-in-string", givenSession: `{"logged_in":"true"}`, whenPath: "/rpc/user", whenFunction: "echo", expectStatus: 401, expectBody: unauthorizedReply},
		{name: "401-value-is-a-list", givenSession: `{"logged_in":[true]}`, whenPath: "/rpc/user", whenFunction: "echo", expectStatus: 401, expectBody: unauthorizedReply},
		{name: "401-value-is-a-map", givenSession: `{"logged_in":{"a":true}}`, whenPath: "/rpc/user", whenFunction: "echo", expectStatus: 401, expectBody: unauthorizedReply},
		{name: "401-admin-needs-both-keys", givenSession: `{"logged_in":true}`, whenPath: "/rpc/admin", whenFunction: "echo", expectStatus: 401, expectBody: unauthorizedReply},
		{name: "401-admin-wrong-type", givenSession: `{"logged_in":true,"user_type":"user"}`, whenPath: "/rpc/admin", whenFunction: "echo", expectStatus: 401, expectBody: unauthorizedReply},
		{name: "200-admin", givenSession: `{"logged_in":true,"user_type":"admin"}`, whenPath: "/rpc/admin", whenFunction: "echo", expectStatus: 200, expectBody: okReply},
		{name: "200-admin-second-value", givenSession: `{"logged_in":true,"user_type":"root"}`, whenPath: "/rpc/admin", whenFunction: "echo", expectStatus: 200, expectBody: okReply},
		{name: "200-scoped-open-function", whenPath: "/rpc/open", whenFunction: "open", expectStatus: 200, expectBody: okReply},
		{name: "401-scoped-no-session", whenPath: "/rpc/open", whenFunction: "user_100", expectStatus: 401, expectBody: unauthorizedReply},
		{name: "200-scoped-float64-100", givenSession: `{"user_id":100}`, whenPath: "/rpc/open", whenFunction: "user_100", expectStatus: 200, expectBody: okReply},
		{name: "200-scoped-int-100", givenSession: `{"user_id":100}`, givenInts: true, whenPath: "/rpc/open", whenFunction: "user_100", expectStatus: 200, expectBody: okReply},
		{name: "401-scoped-101", givenSession: `{"user_id":101}`, whenPath: "/rpc/open", whenFunction: "user_100", expectStatus: 401, expectBody: unauthorizedReply},
		// Scoped rules run after the function is found: an unknown function is 404 even without a session.
		{name: "404-unknown-before-scoped-rule", whenPath: "/rpc/open", whenFunction: "nope", expectStatus: 404,
			expectBody: `{"weerpc":1.1,"ok":false,"message":"Invalid function.","data":null}`},
		// Global rules run before the function is looked up.
		{name: "401-global-before-unknown-function", whenPath: "/rpc/user", whenFunction: "nope", expectStatus: 401, expectBody: unauthorizedReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cookie *http.Cookie
			if tt.givenSession != "" {
				cookie = login(t, e, tt.givenSession, tt.givenInts)
			}
			rec := call(e, tt.whenPath, tt.whenFunction, cookie, nil)
			assert.Equal(t, tt.expectStatus, rec.Code)
			assert.Equal(t, tt.expectBody, rec.Body.String())
		})
	}
}

// Session rules run before the content type and the body are looked at.
func TestSessionAuthBeforeBody(t *testing.T) {
	e := sessionServer(t, sessions.NewCookieStore(hashKey))
	req := httptest.NewRequest(http.MethodPost, "/rpc/user", strings.NewReader("not json"))
	req.Header.Set("Content-Type", "text/plain")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
}

func TestSessionMiddlewareMissing(t *testing.T) {
	var log bytes.Buffer
	e := sessionServer(t, nil)
	e.Logger.SetOutput(&log)
	rec := call(e, "/rpc/user", "echo", nil, nil)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Equal(t, `{"weerpc":1.1,"ok":false,"message":"Internal error.","data":null}`, rec.Body.String())
	assert.Contains(t, log.String(), "session auth is configured but no session middleware is installed")

	// Functions without session rules still work.
	rec = call(e, "/rpc/open", "open", nil, nil)
	assert.Equal(t, http.StatusOK, rec.Code)
}

// failingStore fails as a broken server-side store would.
type failingStore struct{}

func (failingStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return nil, errors.New("redis: connection refused")
}
func (failingStore) New(r *http.Request, name string) (*sessions.Session, error) {
	return nil, errors.New("redis: connection refused")
}
func (failingStore) Save(*http.Request, http.ResponseWriter, *sessions.Session) error { return nil }

func TestSessionStoreError(t *testing.T) {
	var log bytes.Buffer
	e := sessionServer(t, failingStore{})
	e.Logger.SetOutput(&log)
	rec := call(e, "/rpc/user", "echo", nil, nil)
	// A store that does not answer is a 503 to try again, never a 401 that
	// would log the user out, nor the store's text.
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.JSONEq(t, `{"weerpc":1.1,"ok":false,"message":"Session store is unavailable: try again later.","data":null}`, rec.Body.String())
	assert.Contains(t, log.String(), "redis: connection refused")
}

// reMAC re-signs a securecookie value with a new timestamp and key, so tests
// can make expired or foreign cookies that are otherwise well formed.
func reMAC(t *testing.T, name, cookie string, key []byte, timestamp int64) string {
	t.Helper()
	raw, err := base64.URLEncoding.DecodeString(cookie)
	require.NoError(t, err)
	parts := bytes.SplitN(raw, []byte("|"), 3)
	require.Len(t, parts, 3)
	value := parts[1]
	msg := []byte(name + "|" + strconv.FormatInt(timestamp, 10) + "|" + string(value))
	mac := hmac.New(sha256.New, key)
	mac.Write(msg)
	out := []byte(strconv.FormatInt(timestamp, 10) + "|" + string(value) + "|")
	out = append(out, mac.Sum(nil)...)
	return base64.URLEncoding.EncodeToString(out)
}

// Sessions fail closed: a cookie that does not decode is no session.
func TestSessionCookiesFailClosed(t *testing.T) {
	// The current key first, the retired one second: old cookies still decode.
	store := sessions.NewCookieStore(hashKey, nil, oldHashKey, nil)
	store.MaxAge(3600)
	e := sessionServer(t, store)
	good := login(t, e, `{"logged_in":true}`, false)
	now := time.Now().Unix()

	tests := []struct {
		name         string
		whenValue    string
		expectStatus int
	}{
		{name: "200-good", whenValue: good.Value, expectStatus: 200},
		{name: "200-signed-with-second-key", whenValue: reMAC(t, "session", good.Value, oldHashKey, now), expectStatus: 200},
		{name: "200-resigned-with-current-key", whenValue: reMAC(t, "session", good.Value, hashKey, now), expectStatus: 200},
		{name: "401-flipped-mac", whenValue: flipLast(good.Value), expectStatus: 401},
		{name: "401-bad-base64", whenValue: "!!!not-base64!!!", expectStatus: 401},
		{name: "401-rotated-out-key", whenValue: reMAC(t, "session", good.Value, []byte("an old key that was rotated out!"), now), expectStatus: 401},
		{name: "401-expired", whenValue: reMAC(t, "session", good.Value, hashKey, now-7200), expectStatus: 401},
		{name: "401-oversize", whenValue: strings.Repeat("A", 5000), expectStatus: 401},
		{name: "401-empty", whenValue: "", expectStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := call(e, "/rpc/user", "echo", &http.Cookie{Name: "session", Value: tt.whenValue}, nil)
			assert.Equal(t, tt.expectStatus, rec.Code, rec.Body.String())
			assert.Empty(t, rec.Result().Cookies(), "no cookie is set")
		})
	}
}

func flipLast(s string) string {
	raw, _ := base64.URLEncoding.DecodeString(s)
	raw[len(raw)-1] ^= 1
	return base64.URLEncoding.EncodeToString(raw)
}

func TestHostAuth(t *testing.T) {
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	echo2 := echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response { return echorpc.Success("", data) })
	echorpc.New(e, echorpc.Config{Prefix: "/rpc/local", HostAuth: []string{"127.0.0.1:5000", "Example.com", "[::1]:5000"},
		Functions: echorpc.Funcs{"echo": echo2}})
	echorpc.New(e, echorpc.Config{Prefix: "/rpc/tester"}).
		Functions(echorpc.Funcs{"open": echo2}).
		Functions(echorpc.Funcs{"local": echo2}, echorpc.WithHostAuth("127.0.0.1:5000"))

	long := strings.Repeat("a", 300) + ".com"
	tests := []struct {
		name         string
		whenPath     string
		whenFunction string
		whenHost     string
		whenTLS      bool
		expectStatus int
		expectBody   string
	}{
		{name: "200-exact", whenPath: "/rpc/local", whenFunction: "echo", whenHost: "127.0.0.1:5000", expectStatus: 200, expectBody: okReply},
		{name: "403-other-port", whenPath: "/rpc/local", whenFunction: "echo", whenHost: "127.0.0.1:5001", expectStatus: 403,
			expectBody: `{"weerpc":1.1,"ok":false,"message":"Unauthorized (127.0.0.1:5001)","data":null}`},
		{name: "403-localhost-is-another-host", whenPath: "/rpc/local", whenFunction: "echo", whenHost: "localhost:5000", expectStatus: 403,
			expectBody: `{"weerpc":1.1,"ok":false,"message":"Unauthorized (localhost:5000)","data":null}`},
		{name: "200-name-case-insensitive", whenPath: "/rpc/local", whenFunction: "echo", whenHost: "EXAMPLE.COM", expectStatus: 200, expectBody: okReply},
		{name: "200-default-http-port-dropped", whenPath: "/rpc/local", whenFunction: "echo", whenHost: "example.com:80", expectStatus: 200, expectBody: okReply},
		{name: "200-default-https-port-dropped", whenPath: "/rpc/local", whenFunction: "echo", whenHost: "example.com:443", whenTLS: true, expectStatus: 200, expectBody: okReply},
		{name: "403-https-port-on-http", whenPath: "/rpc/local", whenFunction: "echo", whenHost: "example.com:443", expectStatus: 403,
			expectBody: `{"weerpc":1.1,"ok":false,"message":"Unauthorized (example.com:443)","data":null}`},
		{name: "200-ipv6", whenPath: "/rpc/local", whenFunction: "echo", whenHost: "[::1]:5000", expectStatus: 200, expectBody: okReply},
		{name: "403-message-cut-to-128", whenPath: "/rpc/local", whenFunction: "echo", whenHost: long, expectStatus: 403,
			expectBody: `{"weerpc":1.1,"ok":false,"message":"Unauthorized (` + long[:128] + `…)","data":null}`},
		{name: "200-scoped-open", whenPath: "/rpc/tester", whenFunction: "open", whenHost: "evil.example", expectStatus: 200, expectBody: okReply},
		{name: "403-scoped", whenPath: "/rpc/tester", whenFunction: "local", whenHost: "evil.example", expectStatus: 403,
			expectBody: `{"weerpc":1.1,"ok":false,"message":"Unauthorized (evil.example)","data":null}`},
		{name: "200-scoped", whenPath: "/rpc/tester", whenFunction: "local", whenHost: "127.0.0.1:5000", expectStatus: 200, expectBody: okReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := call(e, tt.whenPath, tt.whenFunction, nil, func(r *http.Request) {
				r.Host = tt.whenHost
				if tt.whenTLS {
					r.TLS = &tls.ConnectionState{}
				}
			})
			assert.Equal(t, tt.expectStatus, rec.Code)
			assert.Equal(t, tt.expectBody, rec.Body.String())
		})
	}
}

func TestRemoteAuth(t *testing.T) {
	echo2 := echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response { return echorpc.Success("", data) })
	newServer := func(extractor echo.IPExtractor) *echo.Echo {
		e := echo.New()
		e.IPExtractor = extractor
		echorpc.New(e, echorpc.Config{Prefix: "/rpc/local", RemoteAuth: []string{"127.0.0.0/8", "::1", "::ffff:192.168.7.0/120"},
			Functions: echorpc.Funcs{"echo": echo2}})
		echorpc.New(e, echorpc.Config{Prefix: "/rpc/mixed"}).
			Functions(echorpc.Funcs{"open": echo2}).
			Functions(echorpc.Funcs{"local": echo2}, echorpc.WithRemoteAuth("10.1.0.0/16"))
		return e
	}
	behindProxy := echo.ExtractIPFromXFFHeader(echo.TrustLoopback(false), echo.TrustLinkLocal(false),
		echo.TrustPrivateNet(false), echo.TrustIPRange(mustCIDR(t, "10.9.0.0/16")))
	tests := []struct {
		name          string
		givenExtactor echo.IPExtractor
		whenPath      string
		whenFunction  string
		whenRemote    string
		whenXFF       string
		expectStatus  int
		expectBody    string
	}{
		{name: "200-loopback", whenPath: "/rpc/local", whenFunction: "echo", whenRemote: "127.0.0.1:4000", expectStatus: 200, expectBody: okReply},
		{name: "200-ipv6-loopback", whenPath: "/rpc/local", whenFunction: "echo", whenRemote: "[::1]:4000", expectStatus: 200, expectBody: okReply},
		{name: "200-v4-mapped", whenPath: "/rpc/local", whenFunction: "echo", whenRemote: "[::ffff:127.0.0.2]:4000", expectStatus: 200, expectBody: okReply},
		{name: "200-v4-mapped-prefix", whenPath: "/rpc/local", whenFunction: "echo", whenRemote: "192.168.7.9:4000", expectStatus: 200, expectBody: okReply},
		{name: "403-outside", whenPath: "/rpc/local", whenFunction: "echo", whenRemote: "10.0.0.1:4000", expectStatus: 403,
			expectBody: `{"weerpc":1.1,"ok":false,"message":"Unauthorized (10.0.0.1)","data":null}`},
		{name: "403-xff-ignored-without-extractor", whenPath: "/rpc/local", whenFunction: "echo", whenRemote: "10.0.0.1:4000", whenXFF: "127.0.0.1", expectStatus: 403,
			expectBody: `{"weerpc":1.1,"ok":false,"message":"Unauthorized (10.0.0.1)","data":null}`},
		{name: "403-unparseable", whenPath: "/rpc/local", whenFunction: "echo", whenRemote: "garbage", expectStatus: 403,
			expectBody: `{"weerpc":1.1,"ok":false,"message":"Unauthorized (garbage)","data":null}`},
		{name: "200-xff-from-trusted-proxy", givenExtactor: behindProxy, whenPath: "/rpc/local", whenFunction: "echo", whenRemote: "10.9.0.5:4000", whenXFF: "127.0.0.1", expectStatus: 200, expectBody: okReply},
		{name: "403-xff-from-untrusted-peer", givenExtactor: behindProxy, whenPath: "/rpc/local", whenFunction: "echo", whenRemote: "10.8.0.5:4000", whenXFF: "127.0.0.1", expectStatus: 403,
			expectBody: `{"weerpc":1.1,"ok":false,"message":"Unauthorized (10.8.0.5)","data":null}`},
		{name: "200-scoped-open", whenPath: "/rpc/mixed", whenFunction: "open", whenRemote: "8.8.8.8:1", expectStatus: 200, expectBody: okReply},
		{name: "403-scoped", whenPath: "/rpc/mixed", whenFunction: "local", whenRemote: "8.8.8.8:1", expectStatus: 403,
			expectBody: `{"weerpc":1.1,"ok":false,"message":"Unauthorized (8.8.8.8)","data":null}`},
		{name: "200-scoped", whenPath: "/rpc/mixed", whenFunction: "local", whenRemote: "10.1.2.3:1", expectStatus: 200, expectBody: okReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newServer(tt.givenExtactor)
			rec := call(e, tt.whenPath, tt.whenFunction, nil, func(r *http.Request) {
				r.RemoteAddr = tt.whenRemote
				if tt.whenXFF != "" {
					r.Header.Set("X-Forwarded-For", tt.whenXFF)
				}
			})
			assert.Equal(t, tt.expectStatus, rec.Code)
			assert.Equal(t, tt.expectBody, rec.Body.String())
		})
	}
}

func mustCIDR(t *testing.T, s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	require.NoError(t, err)
	return n
}

func TestSetupPanics(t *testing.T) {
	tests := []struct {
		name        string
		givenConfig echorpc.Config
		expectPanic string
	}{
		{name: "bad-cidr", givenConfig: echorpc.Config{RemoteAuth: []string{"10.0.0.0/33"}}, expectPanic: `echorpc: remote auth prefix "10.0.0.0/33"`},
		{name: "bad-address", givenConfig: echorpc.Config{RemoteAuth: []string{"localhost"}}, expectPanic: `echorpc: remote auth prefix "localhost"`},
		{name: "bad-origin-path", givenConfig: echorpc.Config{TrustedOrigins: []string{"https://app.example.com/path"}}, expectPanic: `echorpc: trusted origin "https://app.example.com/path"`},
		{name: "bad-origin-no-scheme", givenConfig: echorpc.Config{TrustedOrigins: []string{"app.example.com"}}, expectPanic: `echorpc: trusted origin "app.example.com"`},
		{name: "empty-host", givenConfig: echorpc.Config{HostAuth: []string{""}}, expectPanic: `echorpc: an allowed host is empty`},
		{name: "empty-session-key", givenConfig: echorpc.Config{SessionAuth: map[string][]any{"": {true}}}, expectPanic: `echorpc: a session rule has an empty key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				p := recover()
				require.NotNil(t, p)
				assert.Contains(t, p, tt.expectPanic)
			}()
			tt.givenConfig.Prefix = "/rpc"
			echorpc.New(echo.New(), tt.givenConfig)
		})
	}
}

func TestCrossOrigin(t *testing.T) {
	var calls int
	newServer := func(cfg echorpc.Config) *echo.Echo {
		e := echo.New()
		e.Logger.SetOutput(testWriter{t})
		e.Pre(middleware.MethodOverride())
		e.Use(session.Middleware(sessions.NewCookieStore(hashKey)))
		cfg.Prefix = "/rpc"
		rpc := echorpc.New(e, cfg)
		rpc.Functions(echorpc.Funcs{"echo": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response {
			calls++
			s, _ := session.Get("session", c)
			s.Values["touched"] = true
			_ = s.Save(c.Request(), c.Response())
			return echorpc.Success("", data)
		})})
		return e
	}
	const forbidden = `{"weerpc":1.1,"ok":false,"message":"Forbidden: the request came from another origin.","data":null}`
	tests := []struct {
		name         string
		givenConfig  echorpc.Config
		whenHeaders  map[string]string
		expectStatus int
	}{
		{name: "200-no-browser-headers", expectStatus: 200},
		{name: "200-same-origin", whenHeaders: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://app.test"}, expectStatus: 200},
		{name: "200-user-typed", whenHeaders: map[string]string{"Sec-Fetch-Site": "none"}, expectStatus: 200},
		{name: "403-cross-site", whenHeaders: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.test"}, expectStatus: 403},
		{name: "403-same-site", whenHeaders: map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://sub.app.test"}, expectStatus: 403},
		{name: "200-origin-matches-host", whenHeaders: map[string]string{"Origin": "http://app.test"}, expectStatus: 200},
		{name: "403-origin-other-host", whenHeaders: map[string]string{"Origin": "http://evil.test"}, expectStatus: 403},
		{name: "403-origin-other-port", whenHeaders: map[string]string{"Origin": "http://app.test:8080"}, expectStatus: 403},
		{name: "403-origin-null", whenHeaders: map[string]string{"Origin": "null"}, expectStatus: 403},
		{name: "403-origin-userinfo", whenHeaders: map[string]string{"Origin": "http://evil@app.test"}, expectStatus: 403},
		{name: "403-sec-fetch-same-origin-userinfo", whenHeaders: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://evil@app.test"}, expectStatus: 403},
		{name: "200-trusted-origin", givenConfig: echorpc.Config{TrustedOrigins: []string{"https://spa.test"}},
			whenHeaders: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://spa.test"}, expectStatus: 200},
		{name: "403-untrusted-origin-with-trusted-list", givenConfig: echorpc.Config{TrustedOrigins: []string{"https://spa.test"}},
			whenHeaders: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://spa.test:444"}, expectStatus: 403},
		{name: "200-check-off", givenConfig: echorpc.Config{InsecureSkipOriginCheck: true},
			whenHeaders: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.test"}, expectStatus: 200},
		// Turning the origin check off does not let a form's content type through.
		{name: "415-check-off-form", givenConfig: echorpc.Config{InsecureSkipOriginCheck: true},
			whenHeaders: map[string]string{"Origin": "http://evil.test", "Content-Type": "text/plain"}, expectStatus: 415},
		// MethodOverride cannot turn a POST into something else that runs functions.
		{name: "405-method-override", whenHeaders: map[string]string{"X-HTTP-Method-Override": "PUT"}, expectStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls = 0
			e := newServer(tt.givenConfig)
			rec := call(e, "/rpc", "echo", nil, func(r *http.Request) {
				r.Host = "app.test"
				for k, v := range tt.whenHeaders {
					r.Header.Set(k, v)
				}
			})
			assert.Equal(t, tt.expectStatus, rec.Code, rec.Body.String())
			if tt.expectStatus == 403 {
				assert.Equal(t, forbidden, rec.Body.String())
			}
			if tt.expectStatus == 200 {
				assert.Equal(t, 1, calls)
				assert.NotEmpty(t, rec.Header().Values("Set-Cookie"))
			} else {
				assert.Zero(t, calls, "no function runs")
				assert.Empty(t, rec.Header().Values("Set-Cookie"), "no cookie is set")
			}
		})
	}
}

// The origin check comes first, before sessions are loaded: a cross-site
// request to an instance with session rules and no session middleware is
// refused as cross-origin, not failed as a server error.
func TestCrossOriginBeforeSession(t *testing.T) {
	e := sessionServer(t, nil)
	rec := call(e, "/rpc/user", "echo", nil, func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") })
	assert.Equal(t, http.StatusForbidden, rec.Code)
}

func TestInsecureSkipOriginCheckWarns(t *testing.T) {
	var log bytes.Buffer
	e := echo.New()
	e.Logger.SetOutput(&log)
	e.Logger.SetLevel(glog.WARN)
	echorpc.New(e, echorpc.Config{Prefix: "/rpc", InsecureSkipOriginCheck: true})
	assert.Contains(t, log.String(), "InsecureSkipOriginCheck is set")
}
