package topic_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// event is one server-sent event as a test reads it.
type event struct{ Type, ID, Data string }

// openStream calls fn at url as a stream, with lastID as Last-Event-ID, and
// returns its events (a reply that is not a stream is one "reply" event) (closed at the stream's end or when ctx ends).
func openStream(t testing.TB, ctx context.Context, url, fn, lastID string) <-chan event {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"weerpc":1.1,"function":"`+fn+`","data":null}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	return events(t, http.DefaultClient, req)
}

// events sends req, a stream's, with hc and returns its events, as
// openStream does.
func events(t testing.TB, hc *http.Client, req *http.Request) <-chan event {
	t.Helper()
	res, err := hc.Do(req)
	if err != nil {
		t.Fatalf("opening %s: %v", req.URL, err)
	}
	out := make(chan event, 1024)
	if res.StatusCode != http.StatusOK { // answered as a call: one "reply" event
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		out <- event{Type: "reply", Data: `"status":` + strconv.Itoa(res.StatusCode) + " " + string(body)}
		close(out)
		return out
	}
	go func() {
		defer close(out)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				if ev.Data != "" {
					out <- ev
				}
				ev = event{}
				continue
			}
			field, value, _ := strings.Cut(line, ": ")
			switch field {
			case "event":
				ev.Type = value
			case "id":
				ev.ID = value
			case "data":
				ev.Data = value
			}
		}
	}()
	return out
}
