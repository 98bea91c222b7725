package topic

import (
	"errors"
	"net/http"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
)

// errGone ends a stream whose items after its last id are lost: the caller
// reads its state again and opens a new stream without Last-Event-ID. The
// JS client throws it as a WrpcError with status 410 and data {gap: true}.
var errGone = &echorpc.Error{
	Status:  http.StatusGone,
	Message: "Items of this stream were lost: read again and open a new stream.",
	Data:    map[string]bool{"gap": true},
}

// Serve makes a stream function that delivers the items of a topic, of
// type Out, as e has them: name returns the topic for the caller and its
// input (a topic derived from the session, say), or an error (an
// [*echorpc.Error] with Status 403 for a caller that may not see it), which
// refuses the stream before it starts. The function's own rules (the
// registration's interceptors, auth) apply as to any function.
//
// Each item's event id is its id in the log, so a client that reconnects,
// to this instance or any other of the fleet, sends it back
// (Last-Event-ID) and resumes after it. A gap ends the stream with an error
// event: status 410, data {"gap": true}.
func Serve[In, Out any](e Engine, name func(c echo.Context, in In) (string, error)) echorpc.Handler {
	return echorpc.Stream(func(c echo.Context, in In, send func(id string, item Encoded[Out]) error) error {
		topic, err := name(c, in)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		sub, err := e.Subscribe(ctx, topic, c.Request().Header.Get("Last-Event-ID"))
		if errors.Is(err, ErrGap) {
			return errGone
		}
		if err != nil {
			return &echorpc.Error{Status: http.StatusServiceUnavailable, Message: "The topic is not available right now: try again shortly."}
		}
		defer sub.Close()
		for {
			items, err := sub.Next(ctx)
			switch {
			case errors.Is(err, ErrGap):
				return errGone
			case err != nil:
				return err
			}
			for _, it := range items {
				if err := send(it.ID, Encoded[Out]{data: it.Data}); err != nil {
					return err
				}
			}
		}
	})
}
