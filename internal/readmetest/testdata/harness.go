package main

// The harness of the README's Go snippets: what a snippet takes as given.
// readme_test.go drops the imports a snippet does not use and the
// declarations it makes itself, appends the snippet's own declarations and
// its statements (in func snippet() error), then the snippet's check.

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/echorpcmcp"
	"github.com/echo-rpc/wrpc/echorpc/echorpcotel"
	"github.com/echo-rpc/wrpc/echorpc/echorpcprom"
	"github.com/echo-rpc/wrpc/echorpc/echorpctest"
	"github.com/go-playground/validator/v10"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var (
	e   = echo.New()
	rpc = echorpc.New(e.Group("/rpc/tester"), echorpc.Config{})
	ctx = context.Background()

	client = &echorpc.Client{Endpoint: "http://127.0.0.1:1/rpc/tester"}
	sum    float64
	order  = map[string]int{"cents": 100}
	store  = sessions.NewCookieStore([]byte("the harness's key, 32 bytes long"))

	addNumbers = echorpc.Func(func(c echo.Context, in []float64) (float64, error) { return 0, nil })
	addString  = func(c echo.Context, data json.RawMessage) echorpc.Response { return echorpc.Success("", nil) }
	countdown  = echorpc.Stream(func(c echo.Context, n int, send func(id string, item int) error) error { return nil })
	reindex    = echorpc.Func(func(c echo.Context, _ struct{}) (any, error) { return nil, nil })
	prices     = echorpc.Func(func(c echo.Context, _ struct{}) ([]int, error) { return nil, nil })
	placeOrder = echorpc.Func(func(c echo.Context, in struct {
		Items int `json:"items"`
	}) (int, error) {
		return in.Items, nil
	})
	myOrders = echorpc.Func(func(c echo.Context, _ struct{}) ([]int, error) { return nil, nil })
)

// Avatar is the files section's input type.
type Avatar struct {
	Name  string       `json:"name"`
	Image echorpc.File `json:"image"`
}

// saveAvatar is the app's own store of avatars.
func saveAvatar(ctx context.Context, name, typ string, r io.Reader) (string, error) {
	n, err := io.Copy(io.Discard, r)
	return fmt.Sprintf("%s: %d bytes of %s", name, n, typ), err
}

// invoicePath is where the app keeps an invoice.
func invoicePath(id int) string { return fmt.Sprintf("invoices/%d.pdf", id) }

// passwordOK is the app's own password check.
// newRPC makes the instance a test checks.
func newRPC() *echorpc.RPC { return rpc }

func passwordOK(user, password string) bool { return user == "ada" && password == "lovelace" }

// fail stops a check with a message.
func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

// post sends a weeRPC call to srv's path and returns the status and the
// reply's body.
func post(hc *http.Client, url, function, data string) (int, string) {
	body := `{"weerpc": 1.1, "function": "` + function + `"`
	if data != "" {
		body += `, "data": ` + data
	}
	res, err := hc.Post(url, "application/json", strings.NewReader(body+"}"))
	if err != nil {
		fail("POST %s %s: %v", url, function, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b))
}

// expect fails unless a call answers status and body.
func expect(hc *http.Client, url, function, data string, status int, body string) {
	gotStatus, gotBody := post(hc, url, function, data)
	if gotStatus != status || gotBody != body {
		fail("%s(%s): got %d %s\nwant %d %s", function, data, gotStatus, gotBody, status, body)
	}
}

// keep uses what only some snippets use.
var _ = []any{errors.New, log.Println, net.ParseCIDR, time.Second, httptest.NewServer, cookiejar.New, neturl.Parse,
	validator.New, session.Get, middleware.CORS, promhttp.Handler, echorpcotel.New, echorpcprom.New, http.StatusOK}
