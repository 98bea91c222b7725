package echorpc_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// batchOf is a batch body of n calls of function, item i with data i.
func batchOf(function string, n int) string {
	calls := make([]string, n)
	for i := range calls {
		calls[i] = fmt.Sprintf(`{"weerpc":1.1,"function":%q,"data":%d}`, function, i)
	}
	return "[" + strings.Join(calls, ",") + "]"
}

// postBatch posts a batch, streamed when accept is text/event-stream.
func postBatch(e http.Handler, body, accept string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/rpc", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// batchEvent is one event of a streamed batch, as the wire has it.
type batchEvent struct {
	Event string
	Index int
	Env   map[string]any
	Raw   string
}

// readBatchEvents reads a streamed batch's events, in the order they came.
func readBatchEvents(t *testing.T, body string) []batchEvent {
	t.Helper()
	var out []batchEvent
	var ev batchEvent
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.Raw != "" {
				require.NoError(t, json.Unmarshal([]byte(ev.Raw), &ev.Env), ev.Raw)
				ev.Index = int(ev.Env["index"].(float64))
				out = append(out, ev)
			}
			ev = batchEvent{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event: "):
			ev.Event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.Raw = strings.TrimPrefix(line, "data: ")
		default:
			t.Fatalf("unexpected line %q", line)
		}
	}
	return out
}

// chainFuncs has "chain": item i of a batch of n (its data) answers only
// once item i+1 has, so the items finish last to first, which they can
// only do if they all run at once.
func chainFuncs(n int) echorpc.Funcs {
	done := make([]chan struct{}, n+1)
	for i := range done {
		done[i] = make(chan struct{})
	}
	close(done[n])
	return echorpc.Funcs{"chain": echorpc.Func(func(c echo.Context, i int) (int, error) {
		select {
		case <-done[i+1]:
		case <-c.Request().Context().Done():
			return 0, c.Request().Context().Err()
		}
		defer close(done[i])
		return i * 10, nil
	})}
}

// Items run at once: a batch whose items finish last to first answers,
// unstreamed, with today's array in the items' order, and streamed with
// each item as it finished, tagged with its index.
func TestBatchRunsItemsAtOnce(t *testing.T) {
	const n = 5
	newServer := func() *echo.Echo {
		e := echo.New()
		e.Logger.SetOutput(testWriter{t})
		echorpc.New(e, echorpc.Config{Prefix: "/rpc", MaxBatch: 10}).Functions(chainFuncs(n))
		return e
	}

	t.Run("array-in-order", func(t *testing.T) {
		rec := postBatch(newServer(), batchOf("chain", n), "", nil)
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		assert.Equal(t, `[{"weerpc":1.1,"ok":true,"message":null,"data":0,"status":200},`+
			`{"weerpc":1.1,"ok":true,"message":null,"data":10,"status":200},`+
			`{"weerpc":1.1,"ok":true,"message":null,"data":20,"status":200},`+
			`{"weerpc":1.1,"ok":true,"message":null,"data":30,"status":200},`+
			`{"weerpc":1.1,"ok":true,"message":null,"data":40,"status":200}]`, rec.Body.String())
	})

	// The caller releases the items one by one, last to first, and reads
	// each one's event before it releases the next: each comes as soon as
	// it is done, flushed, tagged with its index.
	t.Run("streamed-as-done", func(t *testing.T) {
		release := make([]chan struct{}, n)
		for i := range release {
			release[i] = make(chan struct{})
		}
		e := echo.New()
		e.Logger.SetOutput(testWriter{t})
		echorpc.New(e, echorpc.Config{Prefix: "/rpc", MaxBatch: 10}).Functions(echorpc.Funcs{
			"hold": echorpc.Func(func(c echo.Context, i int) (int, error) {
				<-release[i]
				return i * 10, nil
			}),
		})
		srv := httptest.NewServer(e)
		defer srv.Close()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/rpc", strings.NewReader(batchOf("hold", n)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
		assert.Equal(t, "no", res.Header.Get("X-Accel-Buffering"))
		assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
		lines := bufio.NewReader(res.Body)
		for i := n - 1; i >= 0; i-- {
			close(release[i])
			event, _ := lines.ReadString('\n')
			data, _ := lines.ReadString('\n')
			blank, _ := lines.ReadString('\n')
			assert.Equal(t, "event: item\n", event)
			assert.Equal(t, fmt.Sprintf("data: {\"weerpc\":1.1,\"ok\":true,\"message\":null,\"data\":%d,\"status\":200,\"index\":%d}\n", i*10, i), data)
			assert.Equal(t, "\n", blank)
		}
		_, err = lines.ReadByte()
		assert.Equal(t, io.EOF, err, "the response ends after the last item")
	})
}

// gate counts the items running at once, and holds them until released.
type gate struct {
	running, most atomic.Int32
	release       chan struct{}
}

func newGate() *gate { return &gate{release: make(chan struct{})} }

func (g *gate) funcs() echorpc.Funcs {
	return echorpc.Funcs{"wait": echorpc.Func(func(c echo.Context, in int) (int, error) {
		now := g.running.Add(1)
		defer g.running.Add(-1)
		for {
			most := g.most.Load()
			if now <= most || g.most.CompareAndSwap(most, now) {
				break
			}
		}
		<-g.release
		return in, nil
	})}
}

// At most BatchConcurrency items run at once, and each counts against
// MaxInFlight: a batch over a busy instance takes only the slots that are
// free, and goes on with the one it was admitted on.
func TestBatchConcurrencyBound(t *testing.T) {
	tests := []struct {
		name            string
		givenBound      int
		givenMaxFlight  int
		whenItems       int
		expectAtOnce    int
		expectShedOther bool // a call made meanwhile is answered 503
	}{
		{name: "default-8", whenItems: 20, expectAtOnce: 8},
		{name: "bound-3", givenBound: 3, whenItems: 10, expectAtOnce: 3},
		{name: "bound-1-one-after-another", givenBound: 1, whenItems: 4, expectAtOnce: 1},
		{name: "fewer-items-than-bound", givenBound: 8, whenItems: 2, expectAtOnce: 2},
		{name: "max-in-flight-2", givenBound: 8, givenMaxFlight: 2, whenItems: 6, expectAtOnce: 2, expectShedOther: true},
		{name: "max-in-flight-1", givenBound: 8, givenMaxFlight: 1, whenItems: 3, expectAtOnce: 1, expectShedOther: true},
		{name: "max-in-flight-above-bound", givenBound: 2, givenMaxFlight: 5, whenItems: 6, expectAtOnce: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate()
			e := echo.New()
			e.Logger.SetOutput(testWriter{t})
			echorpc.New(e, echorpc.Config{Prefix: "/rpc", MaxBatch: 50, BatchConcurrency: tt.givenBound, MaxInFlight: tt.givenMaxFlight}).
				Functions(g.funcs()).
				Functions(echorpc.Funcs{"ping": echorpc.Func(func(c echo.Context, _ any) (string, error) { return "pong", nil })})
			done := make(chan *httptest.ResponseRecorder)
			go func() { done <- postBatch(e, batchOf("wait", tt.whenItems), "text/event-stream", nil) }()
			require.Eventually(t, func() bool { return g.running.Load() == int32(tt.expectAtOnce) }, 5*time.Second, time.Millisecond)
			time.Sleep(20 * time.Millisecond) // room for an item over the bound to start, were there one
			assert.Equal(t, int32(tt.expectAtOnce), g.running.Load())

			other := post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"ping"}`)
			if tt.expectShedOther {
				assert.Equal(t, http.StatusServiceUnavailable, other.Code, "the batch's items hold every slot")
			} else {
				assert.Equal(t, http.StatusOK, other.Code)
			}
			close(g.release)
			rec := <-done
			events := readBatchEvents(t, rec.Body.String())
			require.Len(t, events, tt.whenItems)
			seen := map[int]bool{}
			for _, ev := range events {
				assert.Equal(t, true, ev.Env["ok"])
				assert.Equal(t, float64(ev.Index), ev.Env["data"])
				seen[ev.Index] = true
			}
			assert.Len(t, seen, tt.whenItems, "each index once")
			assert.Equal(t, int32(tt.expectAtOnce), g.most.Load())
			after := post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"ping"}`)
			assert.Equal(t, http.StatusOK, after.Code, "the batch gave its slots back")
		})
	}
}

// Every item keeps the request's one deadline: one that waits for it is
// answered 504 in its own place, and the others as they are done; the
// streamed batch ends once every item has.
func TestStreamedBatchDeadline(t *testing.T) {
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	echorpc.New(e, echorpc.Config{Prefix: "/rpc", MaxBatch: 10}).Functions(echorpc.Funcs{
		"hang": echorpc.Func(func(c echo.Context, _ any) (any, error) {
			<-c.Request().Context().Done()
			return nil, c.Request().Context().Err()
		}),
		"quick": echorpc.Func(func(c echo.Context, in int) (int, error) { return in, nil }),
	})
	body := `[{"weerpc":1.1,"function":"hang"},{"weerpc":1.1,"function":"quick","data":1},{"weerpc":1.1,"function":"quick","data":2}]`
	rec := postBatch(e, body, "text/event-stream", map[string]string{"Wrpc-Timeout-Ms": "50"})
	events := readBatchEvents(t, rec.Body.String())
	require.Len(t, events, 3)
	assert.Equal(t, 0, events[2].Index, "the item that waited for its deadline came last")
	assert.Equal(t, map[string]any{"weerpc": 1.1, "ok": false, "message": "Deadline exceeded.", "data": nil, "status": float64(504), "index": float64(0)}, events[2].Env)
	for _, ev := range events[:2] {
		assert.Equal(t, true, ev.Env["ok"])
	}
}

// Headers and cookies that an item's function sets go with the array, as
// if the items had run one after another; a streamed batch cannot carry
// them, so such an item is answered 406, telling the caller to call it
// alone, and nothing of its headers is sent. Nothing is lost silently.
func TestBatchHeadersAndCookies(t *testing.T) {
	newServer := func(t *testing.T) (*echo.Echo, *strings.Builder) {
		var log strings.Builder
		e := echo.New()
		e.Logger.SetOutput(&log)
		e.Use(session.Middleware(sessions.NewCookieStore(hashKey)))
		echorpc.New(e, echorpc.Config{Prefix: "/rpc", MaxBatch: 10}).Functions(echorpc.Funcs{
			"login": echorpc.Func(func(c echo.Context, id int) (int, error) {
				s, err := session.Get("session", c)
				if err != nil {
					return 0, err
				}
				s.Values["user_id"] = id
				return id, s.Save(c.Request(), c.Response())
			}),
			"cookie": echorpc.Func(func(c echo.Context, name string) (string, error) {
				c.SetCookie(&http.Cookie{Name: name, Value: "1"})
				return name, nil
			}),
			"header": echorpc.Func(func(c echo.Context, v string) (string, error) {
				c.Response().Header().Set("X-Item", v)
				return v, nil
			}),
			"add": echorpc.Func(func(c echo.Context, in [2]int) (int, error) { return in[0] + in[1], nil }),
		})
		return e, &log
	}
	body := `[{"weerpc":1.1,"function":"login","data":7},{"weerpc":1.1,"function":"add","data":[1,2]},` +
		`{"weerpc":1.1,"function":"cookie","data":"a"},{"weerpc":1.1,"function":"cookie","data":"b"},` +
		`{"weerpc":1.1,"function":"header","data":"first"},{"weerpc":1.1,"function":"header","data":"second"}]`

	t.Run("array-carries-them", func(t *testing.T) {
		e, _ := newServer(t)
		rec := postBatch(e, body, "", nil)
		require.Equal(t, http.StatusOK, rec.Code)
		var items []map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &items))
		for _, it := range items {
			assert.Equal(t, true, it["ok"], it)
		}
		cookies := rec.Result().Cookies()
		names := []string{}
		for _, c := range cookies {
			names = append(names, c.Name)
		}
		assert.Equal(t, []string{"session", "a", "b"}, names, "every cookie, in the items' order")
		assert.Equal(t, "second", rec.Header().Get("X-Item"), "a later item's header replaces an earlier one's")
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	})

	t.Run("stream-refuses-them", func(t *testing.T) {
		e, log := newServer(t)
		rec := postBatch(e, body, "text/event-stream", nil)
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Empty(t, rec.Header().Values("Set-Cookie"))
		assert.Empty(t, rec.Header().Get("X-Item"))
		events := readBatchEvents(t, rec.Body.String())
		require.Len(t, events, 6)
		byIndex := map[int]map[string]any{}
		for _, ev := range events {
			byIndex[ev.Index] = ev.Env
		}
		assert.Equal(t, map[string]any{"weerpc": 1.1, "ok": true, "message": nil, "data": float64(3), "status": float64(200), "index": float64(1)}, byIndex[1])
		for _, i := range []int{0, 2, 3, 4, 5} {
			assert.Equal(t, float64(406), byIndex[i]["status"], i)
			assert.Equal(t, false, byIndex[i]["ok"], i)
			assert.Contains(t, byIndex[i]["message"], "call it alone", i)
		}
		assert.Contains(t, log.String(), `function \"login\" set a response header or cookie inside a streamed batch`)
	})
}

// Hostile and broken items stay in their own place, tagged with their
// index, and never break the batch: a malformed item, an unknown
// function, a stream, a panic, a function that writes its own response.
func TestStreamedBatchHostile(t *testing.T) {
	var log strings.Builder
	e := echo.New()
	e.Logger.SetOutput(&log)
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc", MaxBatch: 10})
	rpc.Functions(testFuncs(nil))
	rpc.Functions(echorpc.Funcs{
		"panics": echorpc.Func(func(c echo.Context, _ any) (any, error) { panic("boom") }),
		"writes": echorpc.Func(func(c echo.Context, _ any) (any, error) { return nil, c.String(http.StatusTeapot, "mine") }),
		"ticks": echorpc.Stream(func(c echo.Context, _ any, send func(string, int) error) error {
			return send("", 1)
		}),
	})
	body := `[{"weerpc":1.1,"function":"add_numbers","data":[1,2]},7,{"weerpc":1.1,"function":"nope"},{"weerpc":1.1,"function":"panics"},` +
		`{"weerpc":1.1,"function":"writes"},{"weerpc":1.1,"function":"ticks"},{"weerpc":2,"function":"echo"}]`
	for _, accept := range []string{"text/event-stream", ""} {
		t.Run("accept-"+accept, func(t *testing.T) {
			rec := postBatch(e, body, accept, nil)
			require.Equal(t, http.StatusOK, rec.Code)
			var items []map[string]any
			if accept == "" {
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &items))
			} else {
				events := readBatchEvents(t, rec.Body.String())
				items = make([]map[string]any, len(events))
				for _, ev := range events {
					require.Nil(t, items[ev.Index], "each index once")
					items[ev.Index] = ev.Env
					delete(ev.Env, "index")
				}
			}
			require.Len(t, items, 7)
			statuses := []float64{}
			for _, it := range items {
				statuses = append(statuses, it["status"].(float64))
			}
			assert.Equal(t, []float64{200, 400, 404, 500, 500, 400, 400}, statuses)
			assert.Equal(t, float64(3), items[0]["data"])
			assert.Equal(t, "A streaming function cannot be a batch item.", items[5]["message"])
		})
	}
	assert.Contains(t, log.String(), `function \"writes\" wrote its own response inside a batch`)

	t.Run("whole-refusal-is-an-envelope", func(t *testing.T) {
		rec := postBatch(e, "["+strings.Repeat(`{"weerpc":1.1,"function":"echo"},`, 10)+`{"weerpc":1.1,"function":"echo"}]`, "text/event-stream", nil)
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		assert.Equal(t, `{"weerpc":1.1,"ok":false,"message":"Batch has more than 10 calls.","data":{"maxBatch":10}}`, rec.Body.String())
	})
}

// Items run on contexts of their own: each reads the session as the
// request brought it, even when a rule read it first on the request's
// context, with no data race between them (run with -race).
func TestBatchItemsReadTheSessionAtOnce(t *testing.T) {
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	e.Use(session.Middleware(sessions.NewCookieStore(hashKey)))
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc", MaxBatch: 20})
	rpc.Functions(echorpc.Funcs{
		"login": echorpc.Func(func(c echo.Context, id int) (int, error) {
			s, _ := session.Get("session", c)
			s.Values["logged_in"], s.Values["user_id"] = true, id
			return id, s.Save(c.Request(), c.Response())
		}),
	})
	rpc.Functions(echorpc.Funcs{
		"whoami": echorpc.Func(func(c echo.Context, _ int) (any, error) {
			s, err := session.Get("session", c)
			if err != nil {
				return nil, err
			}
			s.Values["seen"] = true // each item's own copy
			return s.Values["user_id"], nil
		}),
	}, echorpc.WithSessionAuth("logged_in", true))
	login := post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"login","data":42}`)
	require.Equal(t, http.StatusOK, login.Code)
	cookie := login.Header().Get("Set-Cookie")
	require.NotEmpty(t, cookie)
	for _, accept := range []string{"", "text/event-stream"} {
		rec := postBatch(e, batchOf("whoami", 16), accept, map[string]string{"Cookie": strings.Split(cookie, ";")[0]})
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, 16, strings.Count(rec.Body.String(), `"ok":true,"message":null,"data":42`), rec.Body.String())
	}
}

// Client.Batch yields each call's answer as it is done, tagged with its
// index; a refusal of the whole batch is every call's error; a server that
// answers the array has its items yielded in order; stopping the loop ends
// the request.
func TestClientBatch(t *testing.T) {
	const n = 4
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc", MaxBatch: 5})
	rpc.Functions(chainFuncs(n)).Functions(echorpc.Funcs{
		"fail": echorpc.Func(func(c echo.Context, _ any) (any, error) {
			return nil, &echorpc.Error{Status: http.StatusConflict, Message: "No."}
		}),
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	client := &echorpc.Client{Endpoint: srv.URL + "/rpc"}
	ctx := context.Background()
	chain := func(i int) echorpc.Call {
		return echorpc.Call{Function: "chain", Data: json.RawMessage(fmt.Sprint(i))}
	}

	t.Run("as-done", func(t *testing.T) {
		var order []int
		for i, res := range client.Batch(ctx, chain(0), chain(1), chain(2), chain(3)) {
			require.NoError(t, res.Err)
			assert.True(t, res.OK)
			assert.Equal(t, http.StatusOK, res.Status)
			assert.Equal(t, json.RawMessage(fmt.Sprint(i*10)), res.Data)
			order = append(order, i)
		}
		assert.ElementsMatch(t, []int{0, 1, 2, 3}, order, "each index once")
		assert.Equal(t, 3, order[0], "the first to finish came first")
	})

	t.Run("item-failure", func(t *testing.T) {
		got := map[int]echorpc.Result{}
		for i, res := range client.Batch(ctx, echorpc.Call{Function: "fail"}, echorpc.Call{Function: "nope"}) {
			got[i] = res
		}
		require.Len(t, got, 2)
		assert.Equal(t, &echorpc.Error{Status: http.StatusConflict, Message: "No."}, got[0].Err)
		assert.Equal(t, http.StatusNotFound, got[1].Status)
		assert.Equal(t, &echorpc.Error{Status: http.StatusNotFound, Message: "Invalid function."}, got[1].Err)
	})

	t.Run("whole-refusal", func(t *testing.T) {
		calls := make([]echorpc.Call, 6)
		for i := range calls {
			calls[i] = echorpc.Call{Function: "fail"}
		}
		seen := 0
		for _, res := range client.Batch(ctx, calls...) {
			seen++
			assert.Equal(t, http.StatusRequestEntityTooLarge, res.Status)
			assert.ErrorContains(t, res.Err, "Batch has more than 5 calls.")
		}
		assert.Equal(t, 6, seen)
	})

	t.Run("array-server", func(t *testing.T) {
		old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`[{"weerpc":1.1,"ok":true,"message":"hi","data":1,"status":200},{"weerpc":1.1,"ok":false,"message":"Bad.","data":null,"status":400}]`))
		}))
		defer old.Close()
		c := &echorpc.Client{Endpoint: old.URL}
		var order []int
		var results []echorpc.Result
		for i, res := range c.Batch(ctx, echorpc.Call{Function: "a"}, echorpc.Call{Function: "b"}, echorpc.Call{Function: "c"}) {
			order = append(order, i)
			results = append(results, res)
		}
		assert.Equal(t, []int{0, 1, 2}, order)
		assert.Equal(t, "hi", results[0].Message)
		assert.Equal(t, &echorpc.Error{Status: http.StatusBadRequest, Message: "Bad."}, results[1].Err)
		assert.ErrorContains(t, results[2].Err, "ended before every call was answered")
	})

	t.Run("stop", func(t *testing.T) {
		seen := 0
		for range client.Batch(ctx, chain(0), chain(1), chain(2), chain(3)) {
			seen++
			break
		}
		assert.Equal(t, 1, seen)
	})
}

// The items of a batch that a handler aborts (http.ErrAbortHandler) abort
// the connection, as a single call's would.
func TestBatchItemAborts(t *testing.T) {
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	echorpc.New(e, echorpc.Config{Prefix: "/rpc", MaxBatch: 5}).Functions(echorpc.Funcs{
		"abort": echorpc.Func(func(c echo.Context, _ any) (any, error) { panic(http.ErrAbortHandler) }),
		"ok":    echorpc.Func(func(c echo.Context, _ any) (bool, error) { return true, nil }),
	})
	srv := httptest.NewServer(e)
	srv.Config.ErrorLog = nil
	defer srv.Close()
	var wg sync.WaitGroup
	wg.Go(func() {
		res, err := http.Post(srv.URL+"/rpc", "application/json", strings.NewReader(`[{"weerpc":1.1,"function":"abort"},{"weerpc":1.1,"function":"ok"}]`))
		if err == nil {
			res.Body.Close()
		}
		assert.Error(t, err, "the connection is aborted")
	})
	wg.Wait()
}
