// Command jstestserver is the server that the JS client's Node tests call:
// echorpc instances with functions for every outcome, on a random loopback
// port that it prints as its first line ("http://127.0.0.1:PORT").
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
)

func main() {
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
			return c.Request().Header.Get(echorpc.TimeoutHeader), nil
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
	rpc := echorpc.New(e.Group("/rpc/tester"), echorpc.Config{Functions: funcs, MaxBatch: 5})
	rpc.Functions(echorpc.Funcs{"secret": funcs["echo"]}, echorpc.WithSessionAuth("logged_in", true))
	echorpc.New(e.Group("/rpc/nobatch"), echorpc.Config{Functions: echorpc.Funcs{"echo": funcs["echo"]}})

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

	e.POST("/html", func(c echo.Context) error { return c.HTML(http.StatusBadGateway, "<h1>Bad gateway</h1>") })
	e.POST("/plain-json", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]int{"x": 1}) })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
