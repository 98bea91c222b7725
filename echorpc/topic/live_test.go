package topic_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/topic"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
)

// liveApp starts an instance with live queries on engine: "list" (only for
// a session whose role is "admin"), "open" (for anyone), "create" (which
// invalidates both), "rename" (which invalidates "open" at run time when
// its data says so), "broken" and "declined" (which say so, then fail
// with an error and with ok false), "forgot"
// (Invalidate without the option), "login" (role admin), and "live".
func liveApp(t testing.TB, engine topic.Engine) string {
	t.Helper()
	e := echo.New()
	e.Use(session.Middleware(sessions.NewCookieStore([]byte("live-test-session-key-0123456789"))))
	live := topic.NewLive(engine)
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc", StreamPing: 50 * time.Millisecond})
	list := echorpc.Func(func(echo.Context, struct{}) ([]string, error) { return []string{"a"}, nil })
	rpc.Functions(echorpc.Funcs{"list": list}, echorpc.Query(0), echorpc.WithSessionAuth("role", "admin"))
	rpc.Functions(echorpc.Funcs{"open": list}, echorpc.Query(0))
	ok := echorpc.Func(func(echo.Context, struct{}) (bool, error) { return true, nil })
	rpc.Functions(echorpc.Funcs{"create": ok}, live.Invalidates("list", "open"))
	rpc.Functions(echorpc.Funcs{
		"rename": echorpc.Func(func(c echo.Context, in struct{ Open bool }) (bool, error) {
			if in.Open {
				topic.Invalidate(c, "open")
			}
			return true, nil
		}),
		"broken": echorpc.Func(func(c echo.Context, _ struct{}) (bool, error) {
			topic.Invalidate(c, "open")
			return false, errors.New("the write failed")
		}),
		"declined": echorpc.Func(func(c echo.Context, _ struct{}) (bool, error) {
			topic.Invalidate(c, "open")
			return false, &echorpc.Error{Message: "Not today."} // ok false, 200
		}),
	}, live.Invalidates())
	rpc.Functions(echorpc.Funcs{
		"forgot": echorpc.Func(func(c echo.Context, _ struct{}) (bool, error) {
			topic.Invalidate(c, "open")
			return true, nil
		}),
		"login": echorpc.Func(func(c echo.Context, _ struct{}) (bool, error) {
			s, _ := session.Get("session", c)
			s.Values["role"] = "admin"
			return true, s.Save(c.Request(), c.Response())
		}),
		"live": live.Serve(rpc),
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL + "/rpc"
}

// browser is a caller with a cookie jar, as a browser keeps its session.
func browser(t testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// callFn calls fn with data (JSON) as hc and returns the reply's status
// and envelope.
func callFn(t testing.TB, hc *http.Client, url, fn, data string) (int, string) {
	t.Helper()
	res, err := hc.Post(url, "application/json", strings.NewReader(`{"weerpc":1.1,"function":"`+fn+`","data":`+data+`}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body)
}

// hold subscribes as hc to the invalidations of query, resuming after
// lastID unless it is "".
func hold(t testing.TB, ctx context.Context, hc *http.Client, url, query, lastID string) <-chan event {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"weerpc":1.1,"function":"live","data":{"query":"`+query+`"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	return events(t, hc, req)
}

// invalidation is an item of a live stream, with its event id.
type invalidation struct {
	topic.Invalidation
	ID string
}

// next returns the next invalidation of events, failing on anything else
// and after 5 s.
func next(t testing.TB, events <-chan event) invalidation {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("the stream ended")
		}
		var env struct {
			OK   bool
			Data topic.Invalidation
		}
		if err := json.Unmarshal([]byte(ev.Data), &env); ev.Type != "" || err != nil || !env.OK {
			t.Fatalf("event %q: %s (%v)", ev.Type, ev.Data, err)
		}
		return invalidation{env.Data, ev.ID}
	case <-time.After(5 * time.Second):
		t.Fatal("no invalidation within 5 s")
	}
	panic("unreachable")
}

// quiet fails if events brings anything within 300 ms.
func quiet(t testing.TB, events <-chan event) {
	t.Helper()
	select {
	case ev := <-events:
		t.Fatalf("got %+v, want nothing", ev)
	case <-time.After(300 * time.Millisecond):
	}
}

func TestLiveScopesInvalidationsByTheQueryRules(t *testing.T) {
	url := liveApp(t, topic.NewMemory(0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	anon, admin := browser(t), browser(t)
	if status, env := callFn(t, admin, url, "login", "null"); status != 200 {
		t.Fatalf("login: %d %s", status, env)
	}

	for query, want := range map[string]string{"list": `"status":401`, "nothing": `"status":404`, "live": `"status":404`} {
		if ev := <-hold(t, ctx, anon, url, query, ""); ev.Type != "reply" || !strings.Contains(ev.Data, want) {
			t.Errorf("anonymous subscription to %q: %+v, want a reply with %s", query, ev, want)
		}
	}
	anonOpen := hold(t, ctx, anon, url, "open", "")
	adminList, adminOpen := hold(t, ctx, admin, url, "list", ""), hold(t, ctx, admin, url, "open", "")
	for name, s := range map[string]<-chan event{"anonymous open": anonOpen, "admin list": adminList, "admin open": adminOpen} {
		if got := next(t, s); !got.Start || got.Gap || got.ID != "live" {
			t.Errorf("%s: first item %+v, want Start with id live", name, got)
		}
	}

	if status, env := callFn(t, anon, url, "create", "null"); status != 200 {
		t.Fatalf("create: %d %s", status, env)
	}
	if got := next(t, adminList); got.Query != "list" || got.Start || got.Gap || got.ID == "" {
		t.Errorf("admin list: %+v", got)
	}
	for name, s := range map[string]<-chan event{"anonymous open": anonOpen, "admin open": adminOpen} {
		if got := next(t, s); got.Query != "open" || got.Start || got.Gap {
			t.Errorf("%s: %+v", name, got)
		}
	}
	quiet(t, anonOpen) // "list" never reaches the page that may not call it
}

func TestLiveInvalidateAtRunTime(t *testing.T) {
	url := liveApp(t, topic.NewMemory(0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hc := browser(t)
	open := hold(t, ctx, hc, url, "open", "")
	next(t, open) // Start

	for _, c := range []struct {
		fn, data string
		want     int
	}{
		{"rename", `{"Open":false}`, 200}, // decides not to
		{"rename", `{"Open":"yes"}`, 400}, // data that does not decode
		{"broken", `null`, 500},           // says so, then fails
		{"declined", `null`, 200},         // says so, then answers ok false
		{"forgot", `null`, 500},           // a setup mistake
	} {
		if status, env := callFn(t, hc, url, c.fn, c.data); status != c.want {
			t.Errorf("%s: %d %s, want %d", c.fn, status, env, c.want)
		}
	}
	quiet(t, open) // none of them invalidated "open"
	if status, env := callFn(t, hc, url, "rename", `{"Open":true}`); status != 200 {
		t.Fatalf("rename: %d %s", status, env)
	}
	if got := next(t, open); got.Query != "open" || got.Start || got.Gap {
		t.Errorf("after rename: %+v", got)
	}
	quiet(t, open)
}

func TestLiveResumesAndSignalsGap(t *testing.T) {
	url := liveApp(t, topic.NewMemory(3))
	hc := browser(t)
	ctx, cancel := context.WithCancel(context.Background())
	open := hold(t, ctx, hc, url, "open", "")
	next(t, open) // Start
	callFn(t, hc, url, "create", "null")
	first := next(t, open)
	cancel()

	callFn(t, hc, url, "create", "null") // while the page is away
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	resumed := hold(t, ctx, hc, url, "open", first.ID)
	if got := next(t, resumed); got.Start || got.Gap || got.ID == first.ID || got.ID == "live" {
		t.Errorf("resumed after %s: %+v, want the invalidation made while away", first.ID, got)
	}
	quiet(t, resumed)

	// the id of a Start item is no place in the log: a gap, and the stream goes on
	afterStart := hold(t, ctx, hc, url, "open", "live")
	if got := next(t, afterStart); !got.Gap || got.Start {
		t.Errorf("resumed after a Start item: %+v, want a Gap", got)
	}
	for range 4 { // the log keeps 3: first's is gone
		callFn(t, hc, url, "create", "null")
	}
	for range 4 {
		next(t, afterStart)
	}
	lost := hold(t, ctx, hc, url, "open", first.ID)
	if got := next(t, lost); !got.Gap {
		t.Errorf("resumed after an id past retention: %+v, want a Gap", got)
	}
	callFn(t, hc, url, "create", "null")
	if got := next(t, lost); got.Gap || got.Start || got.Query != "open" {
		t.Errorf("after the gap: %+v, want the next invalidation", got)
	}
}
