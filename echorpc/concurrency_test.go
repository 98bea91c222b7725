package echorpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Many callers, each with its own session, call a mix of functions at once;
// every reply must be the one expected for that caller.
func TestConcurrentSessions(t *testing.T) {
	e := echo.New()
	e.Logger.SetOutput(testWriter{t})
	e.Use(session.Middleware(sessions.NewCookieStore(hashKey)))
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc"})
	rpc.Functions(echorpc.Funcs{
		"login": echorpc.Func(func(c echo.Context, id int) (int, error) {
			s, err := session.Get("session", c)
			if err != nil {
				return 0, err
			}
			s.Values["logged_in"] = true
			s.Values["user_id"] = id
			return id, s.Save(c.Request(), c.Response())
		}),
		"add": echorpc.Func(func(c echo.Context, in [2]int) (int, error) { return in[0] + in[1], nil }),
	})
	rpc.Functions(echorpc.Funcs{
		"whoami": echorpc.Func(func(c echo.Context, _ any) (any, error) {
			s, err := session.Get("session", c)
			if err != nil {
				return nil, err
			}
			return s.Values["user_id"], nil
		}),
	}, echorpc.WithSessionAuth("logged_in", true))
	srv := httptest.NewServer(e)
	defer srv.Close()

	const callers, rounds = 32, 20
	var wg sync.WaitGroup
	errs := make(chan error, callers*rounds*4)
	for id := 0; id < callers; id++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			jar, _ := cookiejar.New(nil)
			c := &echorpc.Client{Endpoint: srv.URL + "/rpc", HTTPClient: &http.Client{Jar: jar}}
			anon := (&echorpc.Client{Endpoint: srv.URL + "/rpc"})
			ctx := context.Background()
			check := func(err error) {
				if err != nil {
					errs <- fmt.Errorf("caller %d: %w", id, err)
				}
			}
			var e401 *echorpc.Error
			if err := c.Call(ctx, "whoami", nil, nil); !errors.As(err, &e401) || e401.Status != http.StatusUnauthorized {
				check(fmt.Errorf("whoami before login: %v", err))
			}
			var got int
			check(c.Call(ctx, "login", id, &got))
			for r := 0; r < rounds; r++ {
				var who, sum int
				check(c.Call(ctx, "whoami", nil, &who))
				if who != id {
					check(fmt.Errorf("whoami = %d, want %d", who, id))
				}
				check(c.Call(ctx, "add", [2]int{id, r}, &sum))
				if sum != id+r {
					check(fmt.Errorf("add = %d, want %d", sum, id+r))
				}
				if err := anon.Call(ctx, "whoami", nil, nil); !errors.As(err, &e401) || e401.Status != http.StatusUnauthorized {
					check(fmt.Errorf("anonymous whoami: %v", err))
				}
			}
		}(id)
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	require.Empty(t, all)
}

// Registering functions while calls are served is safe.
func TestRegisterWhileServing(t *testing.T) {
	e := echo.New()
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc"})
	nop := echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response { return echorpc.Success("", data) })
	rpc.Functions(echorpc.Funcs{"f0": nop})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 1; i < 100; i++ {
			rpc.Functions(echorpc.Funcs{fmt.Sprintf("f%d", i): nop})
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			rec := post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"f0","data":1}`)
			assert.Equal(t, http.StatusOK, rec.Code)
		}
	}()
	wg.Wait()
	rec := post(e, "/rpc", "application/json", `{"weerpc":1.1,"function":"f99","data":1}`)
	assert.Equal(t, http.StatusOK, rec.Code)
}
