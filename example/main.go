// Command example is the wrpc example app: every feature of package echorpc
// in one Echo server, with clients kept in SQLite and two pages that call it
// from the browser.
//
//	go run ./example                 # http://127.0.0.1:5000
//	go run ./example -addr 127.0.0.1:8080 -db /tmp/clients.db
//	go run ./example -addr :8080 -host app.example.com   # another name it is reached by
//	go run ./example -tls-cert cert.pem -tls-key key.pem  # https://127.0.0.1:5000, HTTP/2
//	go run ./example -h2c            # HTTP/2 without TLS too, for a proxy in front
//	SESSION_SECRET=… go run ./example -redis redis://127.0.0.1:6379/0 \
//	    -db postgres://user@127.0.0.1:5432/wrpc          # one of several instances
//
// SESSION_SECRET sets the session signing key (a random one otherwise, so
// sessions end with the process); SESSION_SECRET_OLD, the previous key,
// keeps sessions signed before a key rotation valid.
//
// On SIGTERM or SIGINT the server stops accepting connections, lets the
// calls in flight finish (for at most -shutdown-timeout), then closes the
// database and exits.
//
// For tests only: WRPC_EXAMPLE_TEST_CREATE_DELAY, a Go duration such as
// "2s", makes every create wait that long before it writes, so a test can
// have a write in flight when it stops the server; WRPC_EXAMPLE_TEST_PUBLISH=1
// mounts /rpc/testhooks, whose publish puts any change on the changes topic
// (the fleet's fault tests publish through it). Never set them otherwise.
package main

//go:generate go run . -write-types static

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
)

// createDelayEnv names the test-only hook that makes create slow.
const createDelayEnv = "WRPC_EXAMPLE_TEST_CREATE_DELAY"

func main() {
	addr := flag.String("addr", "127.0.0.1:5000", "address to listen on; the host rules follow it")
	db := flag.String("db", "example.db", "SQLite file for the clients (created on first start), or a postgres:// URL")
	redisURL := flag.String("redis", "", "keep sessions in Redis at this redis:// URL (needs SESSION_SECRET), to run several instances")
	var extraHosts hostList
	flag.Var(&extraHosts, "host", "another Host header to serve, such as a proxy's name (repeatable)")
	shutdownTimeout := flag.Duration("shutdown-timeout", 10*time.Second, "how long calls in flight may run on after SIGTERM")
	writeTypes := flag.String("write-types", "", "write the TypeScript of the typed instances into this folder, and exit")
	var tr transport
	flag.StringVar(&tr.certFile, "tls-cert", "", "serve HTTPS (HTTP/2 and HTTP/1.1) with this PEM certificate (needs -tls-key)")
	flag.StringVar(&tr.keyFile, "tls-key", "", "the PEM private key of -tls-cert")
	flag.BoolVar(&tr.h2c, "h2c", false, "also serve unencrypted HTTP/2 (prior knowledge) on the plain port, for a proxy that speaks it to its upstreams")
	traceConsole := flag.Bool("trace-console", false, "print a span for every call to stdout (the same as OTEL_TRACES_EXPORTER=console)")
	flag.Parse()
	logger := log.New(os.Stderr, "example: ", log.LstdFlags)
	if err := tr.check(); err != nil {
		logger.Fatal(err)
	}

	var keys [][]byte
	for _, env := range []string{"SESSION_SECRET", "SESSION_SECRET_OLD"} {
		if k := os.Getenv(env); k != "" {
			keys = append(keys, []byte(k))
		}
	}
	if *writeTypes != "" {
		*db = filepath.Join(os.TempDir(), "wrpc-example-types.db")
		*redisURL = ""
		keys = [][]byte{[]byte("types only")}
	}
	cfg := Config{DB: *db, Redis: *redisURL, SessionKeys: keys, Addr: *addr, Hosts: extraHosts, Log: logger, TLS: tr.certFile != ""}
	if *writeTypes == "" {
		testHooks(&cfg, logger)
	}
	if *traceConsole {
		os.Setenv("OTEL_TRACES_EXPORTER", "console")
	}
	interceptor, shutdownTracing, err := setupTracing(context.Background())
	if err != nil {
		logger.Fatal(err)
	}
	if interceptor != nil && *writeTypes == "" {
		cfg.Interceptors = append(cfg.Interceptors, interceptor)
		logger.Print("tracing: on, from the OTEL_* settings")
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdownTracing(ctx); err != nil {
			logger.Printf("tracing: %v", err)
		}
	}()
	app, err := NewApp(cfg)
	if err != nil {
		logger.Fatal(err)
	}
	if *writeTypes != "" {
		err := writeTypeScript(app, *writeTypes)
		app.Close()
		if err != nil {
			logger.Fatal(err)
		}
		return
	}
	sessionsIn := "signed cookies"
	if *redisURL != "" {
		sessionsIn = "Redis at " + redact(*redisURL)
	}
	logger.Printf("clients in %s; sessions in %s", redact(*db), sessionsIn)
	if err := serve(app, *addr, tr, *shutdownTimeout, logger); err != nil {
		logger.Print(err)
		os.Exit(1)
	}
}

// testHooks sets what the tests' environment variables ask of cfg:
// a slow create, and publishing any change.
func testHooks(cfg *Config, logger *log.Logger) {
	if d := os.Getenv(createDelayEnv); d != "" {
		delay, err := time.ParseDuration(d)
		if err != nil {
			logger.Fatalf("%s: %v", createDelayEnv, err)
		}
		logger.Printf("%s is set: every create waits %s (a hook for tests only)", createDelayEnv, delay)
		cfg.BeforeCreate = func(c echo.Context) {
			logger.Printf("test hook: create waits %s", delay)
			select {
			case <-time.After(delay):
			case <-c.Request().Context().Done():
			}
		}
	}
	if os.Getenv(testPublishEnv) == "1" {
		logger.Printf("%s is set: /rpc/testhooks publishes any change (a hook for tests only)", testPublishEnv)
		cfg.TestPublish = true
	}
}

// serve runs the app at addr, over tr, until SIGTERM or SIGINT, then shuts down in
// order: stop accepting, let the calls in flight finish (for at most
// timeout, after which their connections are closed), and only then close
// the database and the session store, so no call loses its write.
func serve(app *App, addr string, tr transport, timeout time.Duration, logger *log.Logger) error {
	// Echo's own server has no timeouts; these keep slow clients from
	// holding connections.
	srv := &http.Server{
		Handler:           app,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	if err := tr.configure(srv); err != nil {
		app.Close()
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		app.Close()
		return err
	}
	served := make(chan error, 1)
	go func() { served <- tr.serve(srv, ln) }()
	logger.Printf("serving on %s://%s (answering to %s; %s)", tr.scheme(), app.Hosts.Local, strings.Join(app.Hosts.Served, ", "), tr.describe())

	select {
	case err := <-served: // the server failed on its own
		app.Close()
		return err
	case <-ctx.Done():
	}
	stop() // a second signal stops the process at once
	// Said once the listener is closed (Shutdown runs its hooks after
	// closing it, as it runs echorpc's, which end the open streams).
	said := make(chan struct{})
	srv.RegisterOnShutdown(func() {
		logger.Printf("shutting down: no new connections; waiting up to %s for calls in flight", timeout)
		close(said)
	})
	shutdown, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err = srv.Shutdown(shutdown)
	<-said
	if err != nil {
		logger.Printf("calls still running after %s: closing their connections", timeout)
		srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Print(err)
	}
	if err := app.Close(); err != nil {
		return err
	}
	logger.Print("stopped")
	return nil
}

// redact hides the password of a database or Redis URL; a file name is
// left as it is.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
		return u.Redacted()
	}
	return s
}

// writeTypeScript writes the TypeScript of the typed instances, for the
// SPA page (static/spa.js) to check its calls against.
func writeTypeScript(app *App, dir string) error {
	files := map[string]string{
		"tester-api.d.ts":  app.Tester.TypeScript(),
		"clients-api.d.ts": app.Clients.TypeScript(),
	}
	for name, ts := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(ts), 0o644); err != nil {
			return err
		}
	}
	return nil
}
