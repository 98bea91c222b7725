// Command example is the wrpc example app: every feature of package echorpc
// in one Echo server, with clients kept in SQLite and two pages that call it
// from the browser.
//
//	go run ./example                 # http://127.0.0.1:5000
//	go run ./example -addr :8080 -db /tmp/clients.db
//
// SESSION_SECRET sets the session signing key (a random one otherwise, so
// sessions end with the process); SESSION_SECRET_OLD, the previous key,
// keeps sessions signed before a key rotation valid.
package main

//go:generate go run . -write-types static

import (
	"context"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5000", "address to listen on")
	db := flag.String("db", "example.db", "SQLite file for the clients (created on first start)")
	writeTypes := flag.String("write-types", "", "write the TypeScript of the typed instances into this folder, and exit")
	flag.Parse()
	logger := log.New(os.Stderr, "example: ", log.LstdFlags)

	var keys [][]byte
	for _, env := range []string{"SESSION_SECRET", "SESSION_SECRET_OLD"} {
		if k := os.Getenv(env); k != "" {
			keys = append(keys, []byte(k))
		}
	}
	if *writeTypes != "" {
		*db = filepath.Join(os.TempDir(), "wrpc-example-types.db")
		keys = [][]byte{[]byte("types only")}
	}
	app, err := NewApp(Config{DB: *db, SessionKeys: keys, LocalHost: "127.0.0.1:5000", Log: logger})
	if err != nil {
		logger.Fatal(err)
	}
	defer app.Close()
	if *writeTypes != "" {
		if err := writeTypeScript(app, *writeTypes); err != nil {
			logger.Fatal(err)
		}
		return
	}

	// Echo's own server has no timeouts; these keep slow clients from
	// holding connections.
	srv := &http.Server{
		Addr:              *addr,
		Handler:           app,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Printf("serving on http://%s (clients in %s)", *addr, *db)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Fatal(err)
	}
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
