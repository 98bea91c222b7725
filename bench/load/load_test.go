package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Each endpoint answers the sum over a real socket, and the generator
// reads those answers (Content-Length or chunked) without error.
func TestEndpointsAnswerTheSum(t *testing.T) {
	srv := httptest.NewServer(newEcho())
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, name := range []string{"rpc", "plain", "static"} {
		ep, err := dial(addr, name, 2)
		if err != nil {
			t.Fatal(err)
		}
		n, _, err := ep.run(20 * time.Millisecond)
		ep.close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n == 0 {
			t.Fatalf("%s: no answers", name)
		}
	}
}

// An answer that is not a 200 with the sum stops the run with an error.
func TestWrongAnswersFail(t *testing.T) {
	for name, handler := range map[string]http.HandlerFunc{
		"status": func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusTeapot) },
		"sum":    func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"data":54}`)) },
		"chunked": func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"data":`))
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte(`54}`))
		},
	} {
		srv := httptest.NewServer(handler)
		ep, err := dial(strings.TrimPrefix(srv.URL, "http://"), "rpc", 1)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = ep.run(10 * time.Millisecond)
		ep.close()
		srv.Close()
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// A chunked answer with the sum is read whole.
func TestChunkedAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"ok":true,"data":55`))
		w.(http.Flusher).Flush()
		_, _ = w.Write([]byte(`}`))
	}))
	defer srv.Close()
	ep, err := dial(strings.TrimPrefix(srv.URL, "http://"), "rpc", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.close()
	if n, _, err := ep.run(10 * time.Millisecond); err != nil || n == 0 {
		t.Fatalf("%d answers, %v", n, err)
	}
}
