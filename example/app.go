package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/echorpcmcp"
	"github.com/echo-rpc/wrpc/echorpc/idempotency"
	"github.com/echo-rpc/wrpc/echorpc/idempotency/idemredis"
	"github.com/echo-rpc/wrpc/echorpc/topic"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/redis/go-redis/v9"
)

// Config is what the app is built from.
type Config struct {
	// DB is the SQLite file, or a postgres:// URL to keep the clients in
	// PostgreSQL (for several instances).
	DB string
	// Redis, a redis:// URL, keeps sessions in Redis instead of in the
	// cookie, so that several instances share them and logging out revokes
	// a session everywhere. It needs SessionKeys, the same on every instance.
	Redis string
	// SessionKeys sign the session cookie: the current key first, older
	// ones after it, so cookies signed before a rotation stay valid. None
	// means a random key, and sessions that do not survive a restart.
	SessionKeys [][]byte
	// Addr is the address the app is served at, "127.0.0.1:5000" when
	// empty. The host-guarded functions accept its host and port; the
	// instances that touch sessions or data accept the hosts it serves
	// (see servedHosts) and Hosts.
	Addr string
	// TLS is set when the app is served over TLS (-tls-cert): the host
	// rules then drop port 443, which browsers leave out of the Host
	// header, and the page links to https.
	TLS bool
	// Hosts are more Host headers to accept (-host), such as the name a
	// reverse proxy passes on.
	Hosts []string
	// Interceptors wrap every call of every instance (tracing, when
	// OTEL_* asks for it; see tracing.go). Optional.
	Interceptors []echorpc.Interceptor
	// TestPublish mounts /rpc/testhooks, whose publish puts any change on
	// the changes topic (see testPublishFuncs): the fleet's fault tests
	// publish through it. False otherwise.
	TestPublish bool
	// BeforeCreate runs before create writes. Tests use it to make a slow
	// write; nil otherwise.
	BeforeCreate func(echo.Context)
	// Log receives the app's start-up notes. Optional.
	Log *log.Logger
}

// App is the example server: an Echo instance with every RPC instance, the
// pages, and the database behind them.
type App struct {
	*echo.Echo
	// Tester and Clients are the instances whose TypeScript the SPA uses.
	Tester, Clients *echorpc.RPC
	// Hosts are the hosts the app answers to.
	Hosts Hosts
	store *Store
	// changes carries the clients' writes to the changes streams.
	changes *Changes
	// closeSessions closes the session store's connections, if it has any.
	closeSessions func() error
}

// NewApp builds the app. Close it to close the database and the session
// store.
func NewApp(cfg Config) (_ *App, err error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:5000"
	}
	hosts, err := servedHosts(cfg.Addr, cfg.Hosts, cfg.TLS)
	if err != nil {
		return nil, err
	}
	// Innermost of the app's interceptors, so tracing sees the 503s it
	// makes of engines that do not answer (see outage.go).
	cfg.Interceptors = append(cfg.Interceptors[:len(cfg.Interceptors):len(cfg.Interceptors)], answerOutages)
	keys := cfg.SessionKeys
	if len(keys) == 0 {
		if cfg.Redis != "" {
			return nil, errors.New("sessions in Redis need SESSION_SECRET, the same on every instance, to sign their cookies")
		}
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		keys = [][]byte{key}
		if cfg.Log != nil {
			cfg.Log.Print("SESSION_SECRET is not set: using a random session key, so sessions will not survive a restart")
		}
	}
	store, err := OpenStore(cfg.DB)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			store.Close()
		}
	}()
	var sessionStore sessions.Store = cookieStore(keys)
	closeSessions := func() error { return nil }
	closeRedis := func() error { return nil }
	changes := newChanges()
	var idempotencyStore idempotency.Store // nil: in memory, for one instance
	if cfg.Redis != "" {
		rs, err := redisStore(cfg.Redis, keys)
		if err != nil {
			return nil, err
		}
		// create's outcomes are kept in the same Redis, so that a retry the
		// load balancer sends to another instance finds them.
		opts, err := redis.ParseURL(cfg.Redis)
		if err != nil {
			rs.Close()
			return nil, err
		}
		rdb := redis.NewClient(opts)
		idempotencyStore = idemredis.New(rdb, "")
		defer func() {
			if err != nil {
				rdb.Close()
			}
		}()
		closeRedis = rdb.Close
		// The clients' changes are a topic on the same Redis (Redis
		// Streams), so that a changes stream on one instance sees the
		// writes made on another, and resumes on any of them.
		if changes, err = redisChanges(cfg.Redis, cfg.Log); err != nil {
			rs.Close()
			return nil, fmt.Errorf("the changes in Redis: %w", err)
		}
		sessionStore, closeSessions = rs, func() error { return errors.Join(changes.Close(), rs.Close(), closeRedis()) }
	}

	e := echo.New()
	e.Validator = newValidator()
	e.HideBanner = true
	e.Use(middleware.Recover())
	// Every reply, the pages above all, says it may be framed only by the
	// app's own pages (clickjacking), and loads scripts and styles only from
	// the app.
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		ContentTypeNosniff:    "nosniff",
		XFrameOptions:         "SAMEORIGIN",
		ContentSecurityPolicy: contentSecurityPolicy,
		ReferrerPolicy:        "same-origin",
	}))
	e.Use(session.Middleware(sessionStore))

	// /rpc/tester: open functions, and one guarded by the session, one by the host.
	tester := echorpc.New(e.Group("/rpc/tester"), echorpc.Config{Name: "TesterAPI", Manifest: true, Console: true, MaxBatch: 20, Interceptors: cfg.Interceptors})
	tester.Functions(echorpc.Funcs{"add_numbers": echorpc.RawFunc(addNumbers), "add_string": echorpc.RawFunc(addString)}, echorpc.Query(0),
		echorpc.WithDoc("Open to everyone. Free of side effects."))
	tester.Functions(echorpc.Funcs{"countdown": echorpc.Stream(countdown)}, echorpc.WithInterceptors(checkCountdown),
		echorpc.WithDoc("Streams n, n-1, ..., 1 (n from 1 to 100), one item every 50 ms."))
	tester.Functions(echorpc.Funcs{"add_string_auth_session": echorpc.RawFunc(addString)},
		echorpc.WithSessionAuth("logged_in", true), echorpc.WithDoc("Needs a logged-in session."))
	tester.Functions(echorpc.Funcs{"add_string_auth_host": echorpc.RawFunc(addString)},
		echorpc.WithHostAuth(hosts.Local), echorpc.WithDoc("Only at "+hosts.Local+"."))

	// Every instance that touches sessions or stored data answers only at
	// the hosts the app serves: a page on a DNS-rebound name passes the
	// browser's same-origin rules, but its Host header names it (403).
	// /rpc/auth/login logs in (make_admin needs a login first); /rpc/auth's
	// session needs a logged-in session, its logout nothing, so that any
	// cookie, even one that no longer decodes, can be logged out.
	authLogin := echorpc.New(e.Group("/rpc/auth/login"), echorpc.Config{
		Interceptors: cfg.Interceptors,
		HostAuth:     hosts.Served,
		Functions:    echorpc.Funcs{"login": echorpc.RawFunc(login)},
	})
	authLogin.Functions(echorpc.Funcs{"make_admin": echorpc.RawFunc(makeAdmin)}, echorpc.WithSessionAuth("logged_in", true))
	auth := echorpc.New(e.Group("/rpc/auth"), echorpc.Config{
		Interceptors: cfg.Interceptors,
		HostAuth:     hosts.Served,
		Functions:    echorpc.Funcs{"logout": echorpc.RawFunc(logout)},
	})
	auth.Functions(echorpc.Funcs{"session": echorpc.RawFunc(sessionValues)}, echorpc.WithSessionAuth("logged_in", true))

	// /rpc/admin needs an admin's session; /rpc/local the local host.
	echorpc.New(e.Group("/rpc/admin"), echorpc.Config{
		Interceptors: cfg.Interceptors,
		HostAuth:     hosts.Served,
		SessionAuth:  map[string][]any{"logged_in": {true}, "user_type": {"admin"}},
		Functions:    echorpc.Funcs{"add_numbers": echorpc.RawFunc(addNumbers)},
	})
	echorpc.New(e.Group("/rpc/local"), echorpc.Config{
		Interceptors: cfg.Interceptors,
		HostAuth:     []string{hosts.Local},
		Functions:    echorpc.Funcs{"add_numbers": echorpc.RawFunc(addNumbers)},
	})

	// /rpc/empty has no functions; /rpc/clients keeps clients in the store.
	echorpc.New(e.Group("/rpc/empty"), echorpc.Config{Interceptors: cfg.Interceptors})
	clients := echorpc.New(e.Group("/rpc/clients"), echorpc.Config{
		Interceptors: cfg.Interceptors,
		Name:         "ClientsAPI", Manifest: true, Console: true, HostAuth: hosts.Served,
		IdempotencyStore: idempotencyStore,
	})
	// The list is a live query: each write invalidates it, through the
	// changes' engine (Redis in fleet mode, so every instance hears it), and
	// the pages that hold it, subscribed to "live", read it again.
	live := topic.NewLive(changes.liveEngine())
	clients.Functions(clientFuncs(store, changes), live.Invalidates("list"))
	clients.Functions(createFunc(store, changes, cfg.BeforeCreate), echorpc.Idempotent(), echorpc.WithTimeout(createTimeout), live.Invalidates("list"),
		echorpc.WithDoc("Creates a client, once per Idempotency-Key (the clients send one and retry)."))
	clients.Functions(clientQueries(store), echorpc.Query(0),
		echorpc.WithDoc("Reads without writing."))
	clients.Functions(echorpc.Funcs{"live": live.Serve(clients)},
		echorpc.WithDoc(`Holds a query: streams {query, start?, gap?} each time a write invalidates it ({"query": "list"}); the page reads it again.`))
	clients.Functions(echorpc.Funcs{"changes": changesStream(changes)},
		echorpc.WithDoc("Streams every write to the clients after it starts: {op: create|update|delete, client}."))
	if cfg.TestPublish {
		echorpc.New(e.Group("/rpc/testhooks"), echorpc.Config{Interceptors: cfg.Interceptors, Functions: testPublishFuncs(changes)})
	}
	// /rpc/live feeds the live page's views (live.go).
	mountLive(e, store, changes, echorpc.Config{Interceptors: cfg.Interceptors, HostAuth: hosts.Served})
	// /rpc/attachments keeps files for the clients, in the store (attachments.go).
	mountAttachments(e, store, echorpc.Config{Interceptors: cfg.Interceptors, HostAuth: hosts.Served})

	// MCP: agents call the tester's and the clients' functions as tools,
	// those their caller's session and host may call (see echorpcmcp).
	e.Any("/mcp/tester", echorpcmcp.NewHandler(tester, echorpcmcp.Config{}))
	e.Any("/mcp/clients", echorpcmcp.NewHandler(clients, echorpcmcp.Config{}))

	// The pages; each instance serves the browser client at its prefix
	// (/rpc/tester/client.js and /rpc/tester/client.mjs).
	scheme := "http"
	if cfg.TLS {
		scheme = "https"
	}
	if err := mountPages(e, scheme+"://"+hosts.Local); err != nil {
		closeSessions()
		return nil, err
	}
	return &App{Echo: e, Tester: tester, Clients: clients, Hosts: hosts, store: store, changes: changes, closeSessions: closeSessions}, nil
}

// createTimeout bounds a create, and so how long a key's lease outlives an
// instance that died running it: a retry meanwhile is answered 409 with
// Retry-After.
const createTimeout = 5 * time.Second

// contentSecurityPolicy lets the pages load scripts, styles and the RPC
// calls from the app only, and be framed only by the app's own pages.
const contentSecurityPolicy = "default-src 'self'; style-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"

// Close closes the session store's connections and the database.
func (a *App) Close() error {
	return errors.Join(a.closeSessions(), a.store.Close())
}
