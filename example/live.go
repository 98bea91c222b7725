package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/topic"
	"github.com/labstack/echo/v4"
)

// The live page (GET /live) holds many live views at once, each a stream
// of /rpc/live: the clients, a countdown, a clock, a counter, a
// notification badge, a job's progress, a chat pane and the server's
// stats. Every stream of a tab goes over one shared connection
// (/rpc/live/channel.ws), whatever the number of views; and its streamed
// batch shows one slow call arriving after nine quick ones coalesced with
// it, each settling as it is done.

// liveTick paces the page's views that change on their own.
const liveTick = 250 * time.Millisecond

// mountLive serves /rpc/live, whose functions feed the live page.
func mountLive(e *echo.Echo, store *Store, changes *Changes, cfg echorpc.Config) *echorpc.RPC {
	cfg.Name = "LiveAPI"
	cfg.MaxBatch = 20
	live := echorpc.New(e.Group("/rpc/live"), cfg)
	chat := &chatRoom{}
	live.Functions(echorpc.Funcs{
		"clients":   clientsStream(store, changes),
		"countdown": echorpc.Stream(countdown),
		"clock":     echorpc.Stream(clock),
		"counter":   echorpc.Stream(counter),
		"badge":     echorpc.Stream(badge),
		"progress":  echorpc.Stream(progress),
		"stats":     echorpc.Stream(stats),
		"chat":      echorpc.Stream(chat.follow),
		"say":       echorpc.Func(chat.say),
		"work":      echorpc.Func(work),
	})
	return live
}

// every sends next() every d until the caller goes away.
func every[T any](c echo.Context, d time.Duration, send func(string, T) error, next func(i int) T) error {
	t := time.NewTicker(d)
	defer t.Stop()
	done := c.Request().Context().Done()
	for i := 0; ; i++ {
		if err := send("", next(i)); err != nil {
			return err
		}
		select {
		case <-t.C:
		case <-done:
			return nil
		}
	}
}

// clock streams the server's time, as HH:MM:SS.
func clock(c echo.Context, _ struct{}, send func(string, string) error) error {
	return every(c, liveTick, send, func(int) string { return time.Now().UTC().Format("15:04:05") + " UTC" })
}

// counter streams 1, 2, 3...
func counter(c echo.Context, _ struct{}, send func(string, int) error) error {
	return every(c, liveTick, send, func(i int) int { return i + 1 })
}

// badge streams a notification count that grows, and is read (0) every
// tenth time.
func badge(c echo.Context, _ struct{}, send func(string, int) error) error {
	return every(c, 2*liveTick, send, func(i int) int { return i % 10 })
}

// progress streams a job's percentage, 0 to 100 over and over.
func progress(c echo.Context, _ struct{}, send func(string, int) error) error {
	return every(c, liveTick/5, send, func(i int) int { return i % 101 })
}

// serverStats is what the stats view shows.
type serverStats struct {
	Goroutines int    `json:"goroutines"`
	HeapKiB    uint64 `json:"heap_kib"`
	Uptime     string `json:"uptime"`
}

var started = time.Now()

// stats streams the server's goroutines, heap and uptime.
func stats(c echo.Context, _ struct{}, send func(string, serverStats) error) error {
	return every(c, 4*liveTick, send, func(int) serverStats {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return serverStats{Goroutines: runtime.NumGoroutine(), HeapKiB: m.HeapInuse >> 10, Uptime: time.Since(started).Round(time.Second).String()}
	})
}

// clientsStream streams the whole list of clients: now, and after every
// write (on the changes topic; after a gap in its log, the list is read
// again all the same).
func clientsStream(store *Store, changes *Changes) echorpc.Handler {
	return echorpc.Stream(func(c echo.Context, _ struct{}, send func(string, []Client) error) error {
		ctx := c.Request().Context()
		sub, err := changesEngine{changes}.Subscribe(ctx, changesTopic, "")
		if err != nil {
			return err
		}
		defer func() {
			if sub != nil {
				sub.Close()
			}
		}()
		for {
			list, err := store.list(ctx)
			if err != nil {
				return err
			}
			if err := send("", list); err != nil {
				return err
			}
			if _, err := sub.Next(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if !errors.Is(err, topic.ErrGap) {
					return err
				}
				sub.Close()
				sub, err = (changesEngine{changes}).Subscribe(ctx, changesTopic, "")
				if err != nil {
					return err
				}
			}
		}
	})
}

// chatMessage is one line of the chat pane.
type chatMessage struct {
	At   string `json:"at"`
	From string `json:"from"`
	Text string `json:"text"`
}

// chatRoom keeps the last messages and wakes the followers on each new
// one; a bot says something every few seconds.
type chatRoom struct {
	mu    sync.Mutex
	log   []chatMessage // the last chatKeep
	total int           // messages ever added
	wake  chan struct{} // closed on a new message
}

// chatKeep is how many messages the room keeps.
const chatKeep = 50

func (r *chatRoom) add(from, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total++
	r.log = append(r.log, chatMessage{At: time.Now().UTC().Format("15:04:05"), From: from, Text: text})
	if len(r.log) > chatKeep {
		r.log = r.log[len(r.log)-chatKeep:]
	}
	if r.wake != nil {
		close(r.wake)
		r.wake = nil
	}
}

// since returns the messages kept after the first seen ever added, the
// count of all added, and a channel closed on the next one.
func (r *chatRoom) since(seen int) ([]chatMessage, int, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.wake == nil {
		r.wake = make(chan struct{})
	}
	from := max(len(r.log)-(r.total-seen), 0)
	return append([]chatMessage(nil), r.log[from:]...), r.total, r.wake
}

// say posts a message to the chat.
func (r *chatRoom) say(c echo.Context, text string) (bool, error) {
	if text == "" || len(text) > 200 {
		return false, echorpc.InvalidData(echorpc.FieldError{Rule: "max", Param: "200", Message: "must be 1 to 200 characters"})
	}
	r.add("you", text)
	return true, nil
}

// follow streams the chat's messages, the last ones first, and a bot's
// line every second while someone follows.
func (r *chatRoom) follow(c echo.Context, _ struct{}, send func(string, chatMessage) error) error {
	ctx, cancel := context.WithCancel(c.Request().Context())
	defer cancel()
	go func() {
		t := time.NewTicker(4 * liveTick)
		defer t.Stop()
		for n := 1; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				r.add("bot", fmt.Sprintf("tick %d", n))
			}
		}
	}()
	seen := 0
	for {
		msgs, n, wake := r.since(seen)
		seen = n
		for _, m := range msgs {
			if err := send("", m); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		}
	}
}

// work takes ms milliseconds (0 to 2000) and says so: the streamed batch
// demo's calls, one slow among quick ones.
func work(c echo.Context, ms int) (string, error) {
	if ms < 0 || ms > 2000 {
		return "", echorpc.InvalidData(echorpc.FieldError{Rule: "max", Param: "2000", Message: "must be from 0 to 2000"})
	}
	select {
	case <-time.After(time.Duration(ms) * time.Millisecond):
	case <-c.Request().Context().Done():
		return "", c.Request().Context().Err()
	}
	return fmt.Sprintf("took %d ms", ms), nil
}
