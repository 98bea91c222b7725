// Command jstestserver is the server that the JS client's Node tests call:
// echorpc instances with functions for every outcome, on a random loopback
// port that it prints as its first line ("http://127.0.0.1:PORT").
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	srv := &http.Server{Handler: newServer(), ReadHeaderTimeout: 5 * time.Second}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// newServer returns the server with every instance and test route.
func newServer() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(session.Middleware(sessions.NewCookieStore([]byte("jstestserver-session-key-0123456789"))))

	funcs := echorpc.Funcs{
		"add_numbers": echorpc.Func(func(c echo.Context, in []float64) (float64, error) {
			sum := 0.0
			for _, n := range in {
				sum += n
			}
			return sum, nil
		}),
		"echo": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response { return echorpc.Success("echoed", data) }),
		"fail": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response {
			return echorpc.Fail("Invalid data type.", map[string]string{"data": "list"})
		}),
		"boom": echorpc.Func(func(c echo.Context, in any) (any, error) { return nil, errors.New("secret") }),
		"sleep": echorpc.Func(func(c echo.Context, ms int) (int, error) {
			select {
			case <-time.After(time.Duration(ms) * time.Millisecond):
				return ms, nil
			case <-c.Request().Context().Done():
				return 0, c.Request().Context().Err()
			}
		}),
		"deadline": echorpc.Func(func(c echo.Context, _ any) (string, error) {
			return c.Request().Header.Get("Wrpc-Timeout-Ms"), nil
		}),
		"login": echorpc.Func(func(c echo.Context, _ any) (bool, error) {
			s, err := session.Get("session", c)
			if err != nil {
				return false, err
			}
			s.Values["logged_in"] = true
			return true, s.Save(c.Request(), c.Response())
		}),
	}
	for name, h := range streams() {
		if name != "drop_once" && name != "cut_each" {
			funcs[name] = h
		}
	}
	rpc := echorpc.New(e.Group("/rpc/tester"), echorpc.Config{Functions: funcs, MaxBatch: 5, StreamPing: 20 * time.Millisecond})
	rpc.Functions(echorpc.Funcs{"secret": funcs["echo"]}, echorpc.WithSessionAuth("logged_in", true))
	echorpc.New(e.Group("/rpc/nobatch"), echorpc.Config{Functions: echorpc.Funcs{"echo": funcs["echo"]}})
	// /rpc/drop has drop_once, without pings: a handler that panics (to cut
	// the connection) leaves echorpc's ping goroutine writing to a finished
	// response, which crashes the server (an echorpc bug).
	echorpc.New(e.Group("/rpc/drop"), echorpc.Config{Functions: echorpc.Funcs{"drop_once": streams()["drop_once"], "cut_each": streams()["cut_each"]}, StreamPing: -1})

	// /rpc/flaky answers 503 to the first two tries of each call id, then
	// runs it; /flaky-count tells how many tries a call id took.
	var mu sync.Mutex
	tries := map[string]int{}
	flaky := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Method != http.MethodPost {
				return next(c)
			}
			id := c.Request().Header.Get("X-Call-Id")
			mu.Lock()
			tries[id]++
			n := tries[id]
			mu.Unlock()
			if n <= 2 {
				return c.HTML(http.StatusServiceUnavailable, "<h1>busy</h1>")
			}
			return next(c)
		}
	}
	flakyRPC := echorpc.New(e.Group("/rpc/flaky", flaky), echorpc.Config{Manifest: true})
	flakyRPC.Functions(echorpc.Funcs{"read": funcs["echo"]}, echorpc.Idempotent())
	flakyRPC.Functions(echorpc.Funcs{"write": funcs["echo"]})
	e.GET("/flaky-count", func(c echo.Context) error {
		mu.Lock()
		defer mu.Unlock()
		return c.String(http.StatusOK, strconv.Itoa(tries[c.QueryParam("id")]))
	})

	// /rpc/query has the manifest and queries (echorpc.Query), for the
	// client's get option and the TanStack helpers: add_numbers (cached a
	// minute), method and "dotted.method" (which answer the HTTP method
	// they were called with; the second's name has no URL), and
	// post_method, the same but not a query.
	method := echorpc.Func(func(c echo.Context, _ any) (string, error) { return c.Request().Method, nil })
	queryRPC := echorpc.New(e.Group("/rpc/query"), echorpc.Config{Manifest: true, MaxBatch: 5})
	queryRPC.Functions(echorpc.Funcs{"add_numbers": funcs["add_numbers"]}, echorpc.Query(time.Minute))
	queryRPC.Functions(echorpc.Funcs{"method": method, "dotted.method": method, "sleep": funcs["sleep"]}, echorpc.Query(0))
	queryRPC.Functions(echorpc.Funcs{"post_method": method})

	files(e, flaky)
	liveQueries(e)

	// /rpc/skew: "deploy" registers one more function, as a deploy changes
	// an instance's functions, so that a page loaded before it is stale.
	skewRPC := echorpc.New(e.Group("/rpc/skew"), echorpc.Config{Manifest: true, MaxBatch: 5})
	var deploys atomic.Int32
	skewRPC.Functions(echorpc.Funcs{"echo": funcs["echo"], "deploy": echorpc.Func(func(c echo.Context, _ any) (int32, error) {
		n := deploys.Add(1)
		skewRPC.Functions(echorpc.Funcs{fmt.Sprintf("new_%d", n): funcs["echo"]})
		return n, nil
	})})

	e.GET("/stream-state", func(c echo.Context) error {
		streamMu.Lock()
		defer streamMu.Unlock()
		return c.JSON(http.StatusOK, map[string]any{"open": streamOpen, "ended": streamEnded, "lastIDs": lastIDs[c.QueryParam("key")]})
	})
	e.POST("/html", func(c echo.Context) error { return c.HTML(http.StatusBadGateway, "<h1>Bad gateway</h1>") })
	e.POST("/plain-json", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]int{"x": 1}) })

	return e
}

// The streaming functions' shared state, read by GET /stream-state: how
// many "forever" streams are open and have ended, and the Last-Event-ID
// headers that each "drop_once" key saw ("" for none).
var (
	streamMu    sync.Mutex
	streamOpen  int
	streamEnded int
	lastIDs     = map[string][]string{}
)

// streams are the streaming functions of /rpc/tester.
func streams() echorpc.Funcs {
	return echorpc.Funcs{
		// countdown sends n, n-1, ..., 1.
		"countdown": echorpc.Stream(func(c echo.Context, n int, send func(string, int) error) error {
			for i := n; i > 0; i-- {
				if err := send("", i); err != nil {
					return err
				}
			}
			return nil
		}),
		// fail_after_one sends 1, then fails with a 409.
		"fail_after_one": echorpc.Stream(func(c echo.Context, _ any, send func(string, int) error) error {
			if err := send("", 1); err != nil {
				return err
			}
			return &echorpc.Error{Status: http.StatusConflict, Message: "Gone wrong.", Data: map[string]int{"at": 1}}
		}),
		// forever sends "tick" every 10 ms until the caller goes away.
		"forever": echorpc.Stream(func(c echo.Context, _ any, send func(string, string) error) error {
			streamMu.Lock()
			streamOpen++
			streamMu.Unlock()
			defer func() {
				streamMu.Lock()
				streamOpen--
				streamEnded++
				streamMu.Unlock()
			}()
			for {
				if err := send("", "tick"); err != nil {
					return err
				}
				select {
				case <-time.After(10 * time.Millisecond):
				case <-c.Request().Context().Done():
					return c.Request().Context().Err()
				}
			}
		}),
		// last_id sends the Last-Event-ID it got, with the id "custom-" + it.
		"last_id": echorpc.Stream(func(c echo.Context, _ any, send func(string, string) error) error {
			id := c.Request().Header.Get("Last-Event-ID")
			return send("custom-"+id, id)
		}),
		// drop_once sends 1..n with ids "n-1".."n-n", resuming after the
		// Last-Event-ID. The first connection of each key cuts the
		// connection after 2 items; with always, every later one cuts it
		// before any item.
		"drop_once": echorpc.Stream(func(c echo.Context, in struct {
			Key    string `json:"key"`
			N      int    `json:"n"`
			Always bool   `json:"always"`
		}, send func(string, int) error) error {
			from, _ := strconv.Atoi(strings.TrimPrefix(c.Request().Header.Get("Last-Event-ID"), "n-"))
			streamMu.Lock()
			lastIDs[in.Key] = append(lastIDs[in.Key], c.Request().Header.Get("Last-Event-ID"))
			first := len(lastIDs[in.Key]) == 1
			streamMu.Unlock()
			for i := from + 1; i <= in.N; i++ {
				if (first && i == 3) || (in.Always && !first) {
					panic(http.ErrAbortHandler)
				}
				if err := send("n-"+strconv.Itoa(i), i); err != nil {
					return err
				}
			}
			return nil
		}),
		// cut_each sends one item per connection and then cuts it: the
		// count of items so far (resumed after the Last-Event-ID "c-N"),
		// with the id "c-" + it. The i-th connection of a key stays up
		// upMs[i] ms after its item before the cut (0 past the list).
		"cut_each": echorpc.Stream(func(c echo.Context, in struct {
			Key  string `json:"key"`
			UpMs []int  `json:"upMs"`
		}, send func(string, int) error) error {
			from, _ := strconv.Atoi(strings.TrimPrefix(c.Request().Header.Get("Last-Event-ID"), "c-"))
			streamMu.Lock()
			lastIDs[in.Key] = append(lastIDs[in.Key], c.Request().Header.Get("Last-Event-ID"))
			conn := len(lastIDs[in.Key]) - 1
			streamMu.Unlock()
			if err := send("c-"+strconv.Itoa(from+1), from+1); err != nil {
				return err
			}
			if conn < len(in.UpMs) {
				select {
				case <-time.After(time.Duration(in.UpMs[conn]) * time.Millisecond):
				case <-c.Request().Context().Done():
					return c.Request().Context().Err()
				}
			}
			panic(http.ErrAbortHandler)
		}),
	}
}

// fileSum is what the upload functions of /rpc/files answer for each file.
type fileSum struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Length int64  `json:"length"`
	SHA256 string `json:"sha256"`
}

// sum reads f and returns its name, type, length and sha256.
func sum(f echorpc.File) (fileSum, error) {
	r, err := f.Open()
	if err != nil {
		return fileSum{}, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	return fileSum{Name: f.Name, Type: f.Type, Length: n, SHA256: hex.EncodeToString(h.Sum(nil))}, err
}

// files adds /rpc/files, with the manifest: upload answers the note and
// the sums of its file and its more files (upload_again is the same,
// idempotent); avatar takes images only; report answers a file named name
// holding text (a failure for an empty text), and big_report one of n
// bytes; slow_upload takes a file and answers after ms; note is a plain
// function that answers its string. /rpc/flakyfiles has upload and upload_again behind flaky: the
// first two tries of each X-Call-Id get a 503.
func files(e *echo.Echo, flaky echo.MiddlewareFunc) {
	type upload struct {
		Note string         `json:"note"`
		File echorpc.File   `json:"file"`
		More []echorpc.File `json:"more"`
	}
	type sums struct {
		Note  string    `json:"note"`
		Files []fileSum `json:"files"`
	}
	uploadFn := echorpc.Func(func(c echo.Context, in upload) (sums, error) {
		out := sums{Note: in.Note}
		for _, f := range append([]echorpc.File{in.File}, in.More...) {
			s, err := sum(f)
			if err != nil {
				return out, err
			}
			out.Files = append(out.Files, s)
		}
		return out, nil
	})
	rpc := echorpc.New(e.Group("/rpc/files"), echorpc.Config{Manifest: true, MaxBatch: 5})
	rpc.Functions(echorpc.Funcs{
		"upload": uploadFn,
		"report": echorpc.Func(func(c echo.Context, in struct {
			Name string `json:"name"`
			Text string `json:"text"`
		}) (echorpc.File, error) {
			if in.Text == "" {
				return echorpc.File{}, &echorpc.Error{Message: "Nothing to report."}
			}
			return echorpc.File{Name: in.Name, Type: "text/plain", Size: int64(len(in.Text)), Body: strings.NewReader(in.Text)}, nil
		}),
		"note": echorpc.Func(func(c echo.Context, in string) (string, error) { return in, nil }),
		"slow_upload": echorpc.Func(func(c echo.Context, in struct {
			File echorpc.File `json:"file"`
			Ms   int          `json:"ms"`
		}) (int, error) {
			select {
			case <-time.After(time.Duration(in.Ms) * time.Millisecond):
				return in.Ms, nil
			case <-c.Request().Context().Done():
				return 0, c.Request().Context().Err()
			}
		}),
		"big_report": echorpc.Func(func(c echo.Context, n int) (echorpc.File, error) {
			return echorpc.File{Name: "big.bin", Type: "application/octet-stream", Size: int64(n), Body: strings.NewReader(strings.Repeat("x", n))}, nil
		}),
	})
	rpc.Functions(echorpc.Funcs{"upload_again": uploadFn}, echorpc.Idempotent())
	flakyRPC := echorpc.New(e.Group("/rpc/flakyfiles", flaky), echorpc.Config{})
	flakyRPC.Functions(echorpc.Funcs{"upload": uploadFn})
	flakyRPC.Functions(echorpc.Funcs{"upload_again": uploadFn}, echorpc.Idempotent())
	rpc.Functions(echorpc.Funcs{"avatar": echorpc.Func(func(c echo.Context, in struct {
		Image echorpc.File `json:"image"`
	}) (fileSum, error) {
		return sum(in.Image)
	})}, echorpc.WithFiles(echorpc.FileLimits{Accept: []string{"image/*"}}))
}
