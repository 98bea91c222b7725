package main

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/topic"
	"github.com/labstack/echo/v4"
)

// liveQueries adds /rpc/live, live queries on a memory engine: "count" (a
// query: how many bumps, and how many times count was read), "bump" (which
// invalidates count), "hidden" (a query no caller may call: a host rule),
// and "live". GET /live-gap makes every open subscription lose its place,
// as topicredis's do when Redis lost its data; GET /live-open tells how
// many are open.
func liveQueries(e *echo.Echo) {
	engine := &gappy{Memory: topic.NewMemory(0), lost: make(chan struct{})}
	live := topic.NewLive(engine)
	rpc := echorpc.New(e.Group("/rpc/live"), echorpc.Config{Manifest: true, StreamPing: 20 * time.Millisecond})
	var bumps, reads atomic.Int64
	rpc.Functions(echorpc.Funcs{
		"count": echorpc.Func(func(echo.Context, any) (map[string]int64, error) {
			return map[string]int64{"bumps": bumps.Load(), "reads": reads.Add(1)}, nil
		}),
	}, echorpc.Query(0))
	rpc.Functions(echorpc.Funcs{"hidden": echorpc.Func(func(echo.Context, any) (int, error) { return 1, nil })}, echorpc.Query(0), echorpc.WithHostAuth("example.invalid"))
	rpc.Functions(echorpc.Funcs{
		"bump": echorpc.Func(func(echo.Context, any) (int64, error) { return bumps.Add(1), nil }),
	}, live.Invalidates("count"))
	rpc.Functions(echorpc.Funcs{"live": live.Serve(rpc)})
	e.GET("/live-gap", func(c echo.Context) error {
		engine.lose()
		return c.NoContent(http.StatusNoContent)
	})
	e.GET("/live-open", func(c echo.Context) error { return c.JSON(http.StatusOK, engine.open.Load()) })
}

// gappy is a memory engine whose subscriptions can be made to lose their
// place (lose): each one's Next then fails with ErrGap.
type gappy struct {
	*topic.Memory
	open atomic.Int64 // subscriptions not closed
	mu   sync.Mutex
	lost chan struct{} // closed and replaced by lose
}

func (g *gappy) lose() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.lost)
	g.lost = make(chan struct{})
}

func (g *gappy) Subscribe(ctx context.Context, name, after string) (topic.Subscription, error) {
	s, err := g.Memory.Subscribe(ctx, name, after)
	if err != nil {
		return nil, err
	}
	g.open.Add(1)
	return &gappySub{Subscription: s, g: g}, nil
}

type gappySub struct {
	topic.Subscription
	g      *gappy
	closed sync.Once
}

func (s *gappySub) Next(ctx context.Context) ([]topic.Item, error) {
	s.g.mu.Lock()
	lost := s.g.lost
	s.g.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-lost:
			cancel()
		case <-ctx.Done():
		}
	}()
	items, err := s.Subscription.Next(ctx)
	select {
	case <-lost:
		return nil, topic.ErrGap
	default:
		return items, err
	}
}

func (s *gappySub) Close() {
	s.closed.Do(func() { s.g.open.Add(-1) })
	s.Subscription.Close()
}
