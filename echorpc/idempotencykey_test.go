package echorpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/idempotency"
)

const testKey = `"0123456789abcdef0123456789abcdef"`

// keyedServer is an instance with "create", declared Idempotent, that
// counts its runs and answers its scoped key; release, when not nil, holds
// each run until it is closed.
type keyedServer struct {
	e       *echo.Echo
	runs    atomic.Int64
	keys    chan string
	release chan struct{}
	calls   []echorpc.Call // what the interceptor saw
	mu      sync.Mutex
}

func newKeyedServer(t *testing.T, config echorpc.Config) *keyedServer {
	s := &keyedServer{e: echo.New(), keys: make(chan string, 100)}
	s.e.Logger.SetOutput(testWriter{t})
	config.Interceptors = append(config.Interceptors, func(next echorpc.CallFunc) echorpc.CallFunc {
		return func(c echo.Context, call echorpc.Call) echorpc.Result {
			s.mu.Lock()
			s.calls = append(s.calls, call)
			s.mu.Unlock()
			return next(c, call)
		}
	})
	rpc := echorpc.New(s.e.Group("/rpc"), config)
	rpc.Functions(echorpc.Funcs{
		"create": echorpc.Func(func(c echo.Context, in struct{ Name string }) (map[string]any, error) {
			n := s.runs.Add(1)
			s.keys <- idempotency.Key(c)
			if s.release != nil {
				<-s.release
			}
			switch in.Name {
			case "fail":
				return nil, errors.New("the database is down")
			case "refuse":
				return nil, &echorpc.Error{Message: "No such name."}
			}
			return map[string]any{"id": n, "name": in.Name}, nil
		}),
	}, echorpc.Idempotent())
	rpc.Functions(echorpc.Funcs{
		"plain": echorpc.Func(func(c echo.Context, _ struct{}) (int64, error) { return s.runs.Add(1), nil }),
	})
	return s
}

func (s *keyedServer) call(body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/rpc", strings.NewReader(body))
	req.Header.Set(echo.HeaderContentType, "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, req)
	return rec
}

const createAda = `{"weerpc":1.1,"function":"create","data":{"Name":"ada"}}`

func TestIdempotencyKeyStatuses(t *testing.T) {
	tests := []struct {
		name         string
		givenHeaders []string
		whenBody     string
		expectStatus int
		expectText   string
	}{
		{"400-short-key", []string{"Idempotency-Key", `"short"`}, createAda, 400, "Invalid Idempotency-Key"},
		{"400-unterminated-string", []string{"Idempotency-Key", `"0123456789abcdef0123`}, createAda, 400, "Invalid Idempotency-Key"},
		{"400-bad-escape", []string{"Idempotency-Key", `"0123456789abcdef\n0123"`}, createAda, 400, "Invalid Idempotency-Key"},
		{"400-control-char", []string{"Idempotency-Key", "0123456789abcdef\x01"}, createAda, 400, "Invalid Idempotency-Key"},
		{"400-two-keys", []string{"Idempotency-Key", testKey, "Idempotency-Key", testKey}, createAda, 400, "Invalid Idempotency-Key"},
		{"400-in-a-batch", []string{"Idempotency-Key", testKey}, "[" + createAda + "," + createAda + "]", 200, "names one call"},
		{"200-bare-token", []string{"Idempotency-Key", "8e03978e-40d5-43e8-bc93-6894a57f9324"}, createAda, 200, `"ok":true`},
		{"200-sf-string-escapes", []string{"Idempotency-Key", `"0123456789abcdef\"\\"`}, createAda, 200, `"ok":true`},
		{"200-not-idempotent-ignores-it", []string{"Idempotency-Key", `"short"`}, `{"weerpc":1.1,"function":"plain"}`, 200, `"ok":true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newKeyedServer(t, echorpc.Config{MaxBatch: 5})
			rec := s.call(tt.whenBody, tt.givenHeaders...)
			assert.Equal(t, tt.expectStatus, rec.Code, rec.Body.String())
			assert.Contains(t, rec.Body.String(), tt.expectText)
			if tt.expectStatus != 200 {
				assert.Zero(t, s.runs.Load(), "a refused key runs nothing")
			}
		})
	}
}

func TestIdempotencyKeyReplay(t *testing.T) {
	s := newKeyedServer(t, echorpc.Config{})
	first := s.call(createAda, "Idempotency-Key", testKey)
	require.Equal(t, 200, first.Code, first.Body.String())
	assert.Empty(t, first.Header().Get("Idempotent-Replayed"))
	key := <-s.keys
	assert.Len(t, key, 64, "the handler gets the scoped key")

	again := s.call(createAda, "Idempotency-Key", testKey)
	require.Equal(t, 200, again.Code)
	assert.Equal(t, first.Body.String(), again.Body.String(), "the stored envelope")
	assert.Equal(t, "true", again.Header().Get("Idempotent-Replayed"))
	assert.EqualValues(t, 1, s.runs.Load(), "the function ran once")
	last := s.calls[len(s.calls)-1]
	assert.True(t, last.Replayed, "interceptors see the replay")

	// The function's own URL is the same call: same data, same key.
	req := httptest.NewRequest(http.MethodPost, "/rpc/create", strings.NewReader(`{"Name":"ada"}`))
	req.Header.Set(echo.HeaderContentType, "application/json")
	req.Header.Set("Idempotency-Key", testKey)
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, req)
	assert.Equal(t, first.Body.String(), rec.Body.String())
	assert.EqualValues(t, 1, s.runs.Load())

	// Other data under the key: 422; no key: a new call.
	other := s.call(`{"weerpc":1.1,"function":"create","data":{"Name":"bob"}}`, "Idempotency-Key", testKey)
	assert.Equal(t, http.StatusUnprocessableEntity, other.Code, other.Body.String())
	assert.Contains(t, other.Body.String(), "other data")
	s.call(createAda)
	assert.EqualValues(t, 2, s.runs.Load())

	// An application failure is final: kept and replayed too.
	refuse := `{"weerpc":1.1,"function":"create","data":{"Name":"refuse"}}`
	const key2 = `"fedcba9876543210fedcba9876543210"`
	a, b := s.call(refuse, "Idempotency-Key", key2), s.call(refuse, "Idempotency-Key", key2)
	assert.Equal(t, a.Body.String(), b.Body.String())
	assert.Equal(t, "true", b.Header().Get("Idempotent-Replayed"))
	assert.EqualValues(t, 3, s.runs.Load())
}

func TestIdempotencyKeyFailureIsNotKept(t *testing.T) {
	s := newKeyedServer(t, echorpc.Config{})
	fail := `{"weerpc":1.1,"function":"create","data":{"Name":"fail"}}`
	for range 2 {
		rec := s.call(fail, "Idempotency-Key", testKey)
		assert.Equal(t, 500, rec.Code)
		assert.Empty(t, rec.Header().Get("Idempotent-Replayed"))
	}
	assert.EqualValues(t, 2, s.runs.Load(), "a 500 releases the key: the retry runs again")
	k1, k2 := <-s.keys, <-s.keys
	assert.Equal(t, k1, k2, "with the same key for the handler, which can find its write")
}

func TestIdempotencyKeyConcurrentDuplicate(t *testing.T) {
	s := newKeyedServer(t, echorpc.Config{Timeout: 5 * time.Second})
	s.release = make(chan struct{})
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- s.call(createAda, "Idempotency-Key", testKey) }()
	<-s.keys // the first call runs
	dup := s.call(createAda, "Idempotency-Key", testKey)
	assert.Equal(t, http.StatusConflict, dup.Code, dup.Body.String())
	assert.Contains(t, []string{"5", "6"}, dup.Header().Get("Retry-After"), "the seconds left of the lease")
	close(s.release)
	first := <-done
	assert.Equal(t, 200, first.Code)
	after := s.call(createAda, "Idempotency-Key", testKey)
	assert.Equal(t, first.Body.String(), after.Body.String())
	assert.EqualValues(t, 1, s.runs.Load())
}

// unreachableStore is a store that cannot be reached.
type unreachableStore struct{}

var errUnreachable = errors.New("dial tcp: connection refused")

func (unreachableStore) Begin(context.Context, string, string, time.Duration) (idempotency.Record, bool, string, error) {
	return idempotency.Record{}, false, "", errUnreachable
}
func (unreachableStore) Finish(context.Context, string, string, string, idempotency.Outcome, time.Duration) error {
	return errUnreachable
}
func (unreachableStore) Release(context.Context, string, string) error { return errUnreachable }

func TestIdempotencyKeyStoreUnreachable(t *testing.T) {
	s := newKeyedServer(t, echorpc.Config{IdempotencyStore: unreachableStore{}})
	rec := s.call(createAda, "Idempotency-Key", testKey)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Contains(t, rec.Body.String(), "Idempotency store is unavailable")
	assert.Zero(t, s.runs.Load())
	assert.Equal(t, 200, s.call(createAda).Code, "a call without a key needs no store")
}

func TestIdempotencyKeyTTL(t *testing.T) {
	s := newKeyedServer(t, echorpc.Config{IdempotencyTTL: 50 * time.Millisecond})
	s.call(createAda, "Idempotency-Key", testKey)
	assert.Equal(t, "true", s.call(createAda, "Idempotency-Key", testKey).Header().Get("Idempotent-Replayed"))
	time.Sleep(60 * time.Millisecond)
	rec := s.call(createAda, "Idempotency-Key", testKey)
	assert.Empty(t, rec.Header().Get("Idempotent-Replayed"), "past the TTL, the key is new")
	assert.EqualValues(t, 2, s.runs.Load())
}

func TestIdempotencyKeyScopedByCaller(t *testing.T) {
	store := sessions.NewCookieStore([]byte("0123456789abcdef0123456789abcdef"))
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	e.Use(session.Middleware(store))
	var runs atomic.Int64
	rpc := echorpc.New(e.Group("/rpc"), echorpc.Config{})
	rpc.Functions(echorpc.Funcs{
		"login": echorpc.RawFunc(func(c echo.Context, user json.RawMessage) echorpc.Response {
			s, _ := session.Get("session", c)
			s.Values["logged_in"], s.Values["user"] = true, string(user)
			_ = s.Save(c.Request(), c.Response())
			return echorpc.Success("", nil)
		}),
	})
	rpc.Functions(echorpc.Funcs{
		"pay": echorpc.Func(func(c echo.Context, _ struct{}) (int64, error) { return runs.Add(1), nil }),
	}, echorpc.Idempotent(), echorpc.WithSessionAuth("logged_in", true))
	srv := httptest.NewServer(e)
	defer srv.Close()
	call := func(fn string, cookie *http.Cookie, data ...string) *http.Response {
		body := `{"weerpc":1.1,"function":"` + fn + `"`
		if len(data) > 0 {
			body += `,"data":"` + data[0] + `"`
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/rpc", strings.NewReader(body+"}"))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", testKey)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res
	}
	login := func(user string) *http.Cookie { return call("login", nil, user).Cookies()[0] }
	alice, bob := login("alice"), login("bob")
	assert.Equal(t, 200, call("pay", alice).StatusCode)
	assert.Equal(t, "true", call("pay", alice).Header.Get("Idempotent-Replayed"))
	assert.Equal(t, http.StatusUnauthorized, call("pay", nil).StatusCode, "a replay passes the same rules")
	res := call("pay", bob)
	assert.Equal(t, 200, res.StatusCode)
	assert.Empty(t, res.Header.Get("Idempotent-Replayed"), "another caller's key is another call")
	assert.EqualValues(t, 2, runs.Load())
}

func TestMemoryStoreBoundsReachTheCaller(t *testing.T) {
	s := newKeyedServer(t, echorpc.Config{IdempotencyStore: idempotency.NewMemory(1, 0), Timeout: 5 * time.Second})
	s.release = make(chan struct{})
	done := make(chan struct{})
	go func() { s.call(createAda, "Idempotency-Key", testKey); close(done) }()
	<-s.keys
	rec := s.call(createAda, "Idempotency-Key", `"another-key-of-16-chars"`)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "a full store of running calls: 503, to try again")
	close(s.release)
	<-done
	rec = s.call(createAda, "Idempotency-Key", `"another-key-of-16-chars"`)
	assert.Equal(t, 200, rec.Code, "a finished outcome makes room")
}

// TestClientRetriesWithOneKey cuts the connection of the first try after
// the function ran: the client's retry carries the same key, so it gets
// the first try's outcome and the function runs once.
func TestClientRetriesWithOneKey(t *testing.T) {
	s := newKeyedServer(t, echorpc.Config{})
	var tries atomic.Int64
	var seen sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("Idempotency-Key"), true)
		if tries.Add(1) == 1 {
			s.e.ServeHTTP(httptest.NewRecorder(), r) // it runs, and the reply is lost
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		s.e.ServeHTTP(w, r)
	}))
	defer srv.Close()
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc", Retry: &echorpc.Retry{Base: 10 * time.Millisecond},
		Idempotent: map[string]bool{"create": true}}
	var out map[string]any
	require.NoError(t, client.Call(context.Background(), "create", map[string]string{"Name": "ada"}, &out))
	assert.EqualValues(t, 1, out["id"])
	assert.EqualValues(t, 2, tries.Load())
	assert.EqualValues(t, 1, s.runs.Load())
	n := 0
	seen.Range(func(k, _ any) bool { n++; assert.Len(t, k, 34); return true })
	assert.Equal(t, 1, n, "one key for both tries")

	// A function not in Idempotent gets no key.
	require.NoError(t, client.Call(context.Background(), "plain", nil, nil))
	_, keyless := seen.Load("")
	assert.True(t, keyless)
}

// TestClientWaitsOutAConflict: a retry that finds the first try still
// running gets 409 with Retry-After, waits, and gets the outcome.
func TestClientWaitsOutAConflict(t *testing.T) {
	s := newKeyedServer(t, echorpc.Config{Timeout: time.Second})
	s.release = make(chan struct{})
	var tries atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) == 1 {
			go s.e.ServeHTTP(httptest.NewRecorder(), r.Clone(context.Background())) // still running when the connection drops
			<-s.keys
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		s.e.ServeHTTP(w, r)
		if tries.Load() == 2 {
			close(s.release) // the first try ends while the client waits
		}
	}))
	defer srv.Close()
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc", Retry: &echorpc.Retry{Base: 10 * time.Millisecond},
		Idempotent: map[string]bool{"create": true}}
	var out map[string]any
	require.NoError(t, client.Call(context.Background(), "create", map[string]string{"Name": "ada"}, &out))
	assert.EqualValues(t, 3, tries.Load(), "cut, 409, replay")
	assert.EqualValues(t, 1, s.runs.Load())
}
