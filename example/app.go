package main

import (
	"crypto/rand"
	"log"
	"net/http"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Config is what the app is built from.
type Config struct {
	// DB is the SQLite file.
	DB string
	// SessionKeys sign the session cookie: the current key first, older
	// ones after it, so cookies signed before a rotation stay valid. None
	// means a random key, and sessions that do not survive a restart.
	SessionKeys [][]byte
	// LocalHost is the host that the host-guarded functions accept.
	LocalHost string
	// Log receives the app's start-up notes. Optional.
	Log *log.Logger
}

// App is the example server: an Echo instance with every RPC instance, the
// pages, and the database behind them.
type App struct {
	*echo.Echo
	// Tester and Clients are the instances whose TypeScript the SPA uses.
	Tester, Clients *echorpc.RPC
	store           *Store
}

// sessionMaxAge is how long a session lasts, in seconds.
const sessionMaxAge = 7 * 24 * 3600

// NewApp builds the app. Close it to close the database.
func NewApp(cfg Config) (*App, error) {
	store, err := OpenStore(cfg.DB)
	if err != nil {
		return nil, err
	}
	if cfg.LocalHost == "" {
		cfg.LocalHost = "127.0.0.1:5000"
	}
	keys := cfg.SessionKeys
	if len(keys) == 0 {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		keys = [][]byte{key}
		if cfg.Log != nil {
			cfg.Log.Print("SESSION_SECRET is not set: using a random session key, so sessions will not survive a restart")
		}
	}

	e := echo.New()
	e.HideBanner = true
	e.Use(middleware.Recover())
	e.Use(session.Middleware(cookieStore(keys)))

	// /rpc/tester: open functions, and one guarded by the session, one by the host.
	tester := echorpc.New(e.Group("/rpc/tester"), echorpc.Config{Name: "TesterAPI", Manifest: true, MaxBatch: 20})
	tester.Functions(echorpc.Funcs{"add_numbers": addNumbers, "add_string": addString}, echorpc.Idempotent(),
		echorpc.WithDoc("Open to everyone."))
	tester.Functions(echorpc.Funcs{"add_string_auth_session": addString},
		echorpc.WithSessionAuth(echorpc.SessionKeyIn("logged_in", true)), echorpc.WithDoc("Needs a logged-in session."))
	tester.Functions(echorpc.Funcs{"add_string_auth_host": addString},
		echorpc.WithHostAuth(cfg.LocalHost), echorpc.WithDoc("Only at "+cfg.LocalHost+"."))

	// /rpc/auth/login logs in; /rpc/auth needs a logged-in session.
	echorpc.New(e.Group("/rpc/auth/login"), echorpc.Config{
		Functions: echorpc.Funcs{"login": login, "make_admin": makeAdmin},
	})
	echorpc.New(e.Group("/rpc/auth"), echorpc.Config{
		SessionAuth: []echorpc.SessionKey{echorpc.SessionKeyIn("logged_in", true)},
		Functions:   echorpc.Funcs{"logout": logout, "session": sessionValues},
	})

	// /rpc/admin needs an admin's session; /rpc/local the local host.
	echorpc.New(e.Group("/rpc/admin"), echorpc.Config{
		SessionAuth: []echorpc.SessionKey{
			echorpc.SessionKeyIn("logged_in", true),
			echorpc.SessionKeyIn("user_type", "admin"),
		},
		Functions: echorpc.Funcs{"add_numbers": addNumbers},
	})
	echorpc.New(e.Group("/rpc/local"), echorpc.Config{
		HostAuth:  []string{cfg.LocalHost},
		Functions: echorpc.Funcs{"add_numbers": addNumbers},
	})

	// /rpc/empty has no functions; /rpc/clients keeps clients in SQLite.
	echorpc.New(e.Group("/rpc/empty"), echorpc.Config{})
	clients := echorpc.New(e.Group("/rpc/clients"), echorpc.Config{Name: "ClientsAPI", Manifest: true, Functions: clientFuncs(store)})

	// The browser client at /rpc/client.js and /rpc/client.mjs, and the pages.
	echorpc.MountClient(e, "/rpc")
	if err := mountPages(e); err != nil {
		store.Close()
		return nil, err
	}
	return &App{Echo: e, Tester: tester, Clients: clients, store: store}, nil
}

// Close closes the database.
func (a *App) Close() error { return a.store.Close() }

// cookieStore makes the session store with safe cookies: HttpOnly,
// SameSite=Lax, and a max age that the signed timestamp agrees with (Secure
// is set per request by saveSession). Keys come as signing keys; the cookie
// is signed, not encrypted, since it holds nothing secret.
func cookieStore(keys [][]byte) sessions.Store {
	pairs := make([][]byte, 0, 2*len(keys))
	for _, k := range keys {
		pairs = append(pairs, k, nil)
	}
	store := sessions.NewCookieStore(pairs...)
	store.MaxAge(sessionMaxAge)
	store.Options.Path = "/"
	store.Options.HttpOnly = true
	store.Options.SameSite = http.SameSiteLaxMode
	return store
}
