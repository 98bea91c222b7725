package browsertest

import (
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/labstack/echo/v4"
)

// Streams counts how a page opens its streams on a server: upgrades of the
// shared stream connection (a path ending in /channel.ws), and streams
// sent as requests of their own (POSTs that accept text/event-stream).
type Streams struct {
	Upgrades, Own atomic.Int64
}

// Count is the Echo middleware that counts them.
func (s *Streams) Count(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch {
		case strings.HasSuffix(r.URL.Path, "/channel.ws"):
			s.Upgrades.Add(1)
		case r.Method == http.MethodPost && strings.Contains(r.Header.Get("Accept"), "text/event-stream"):
			s.Own.Add(1)
		}
		return next(c)
	}
}
