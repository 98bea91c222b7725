package echorpc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// channelFrame is a message of the instance on the channel, as far as
// these tests read it.
type channelFrame struct {
	ID       int             `json:"id"`
	EventID  string          `json:"eventId"`
	Envelope json.RawMessage `json:"envelope"`
	End      json.RawMessage `json:"end"`
}

// A caller that opens the connection with ?batch=1 gets the messages that
// queued while a write was on its way in one WebSocket message, a JSON
// array, each batch within 32 KiB (the read limit that this test's
// client has by default); one that does not gets every message on
// its own. Either way each stream's items come once, in order, then its
// end.
func TestChannelBatches(t *testing.T) {
	srv := httptest.NewServer(streamServer(t, echorpc.Config{}, nil))
	defer srv.Close()
	const items = 3000
	for _, tt := range []struct {
		name  string
		query string
	}{
		{"batch", "?batch=1"},
		{"one-by-one", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/rpc/channel.ws"+tt.query, nil)
			require.NoError(t, err)
			defer conn.CloseNow()
			// two streams at once, each sending as fast as it can
			for id := 1; id <= 2; id++ {
				require.NoError(t, conn.Write(ctx, websocket.MessageText,
					[]byte(`{"open":`+strconv.Itoa(id)+`,"call":{"weerpc":1.1,"function":"countdown","data":3000}}`)))
			}
			next := map[int]int{1: items, 2: items} // each stream's next item
			ended, batches := 0, 0
			for ended < 2 {
				_, b, err := conn.Read(ctx)
				require.NoError(t, err)
				var frames []channelFrame
				if b[0] == '[' {
					require.NotEmpty(t, tt.query, "a batch to a caller that did not ask for it")
					require.LessOrEqual(t, len(b), 32<<10, "a batch over the queue's bound")
					require.NoError(t, json.Unmarshal(b, &frames))
					require.Greater(t, len(frames), 1, "a batch of one")
					batches++
				} else {
					var f channelFrame
					require.NoError(t, json.Unmarshal(b, &f), string(b))
					frames = []channelFrame{f}
				}
				for _, f := range frames {
					switch {
					case f.End != nil:
						assert.JSONEq(t, `{"weerpc":1.1,"ok":true,"message":null,"data":null}`, string(f.End))
						assert.Zero(t, next[f.ID], "stream %d ended early", f.ID)
						ended++
					default:
						require.Positive(t, next[f.ID], "stream %d: an item after its last", f.ID)
						assert.JSONEq(t, `{"weerpc":1.1,"ok":true,"message":null,"data":`+strconv.Itoa(next[f.ID])+`}`, string(f.Envelope))
						assert.Equal(t, strconv.Itoa(items-next[f.ID]+1), f.EventID)
						next[f.ID]--
					}
				}
			}
			if tt.query != "" {
				// The writer is slower than two streams that do nothing
				// but send: messages queue while it writes.
				assert.Positive(t, batches, "no message came in a batch")
			}
		})
	}
}

// An event over the Go client's MaxReplyBytes ends its stream with an
// error, after the items before it, alike on a request of its own and on
// the shared connection, where it may come in a batch with smaller ones.
func TestClientStreamEventOverTheLimit(t *testing.T) {
	for _, tt := range benchTransports {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			e.Logger.SetOutput(testWriter{t})
			echorpc.New(e, echorpc.Config{Prefix: "/rpc", DisableChannel: tt.off, Functions: echorpc.Funcs{
				"big": echorpc.Stream(func(c echo.Context, _ any, send func(string, string) error) error {
					for _, s := range []string{"a", "b", strings.Repeat("x", 2000), "c"} {
						if err := send("", s); err != nil {
							return err
						}
					}
					return nil
				}),
			}})
			srv := httptest.NewServer(e)
			defer srv.Close()
			client := &echorpc.Client{Endpoint: srv.URL + "/rpc", MaxReplyBytes: 1000}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var got []string
			var last error
			for item, err := range client.Stream(ctx, "big", nil) {
				if err != nil {
					last = err
					break
				}
				var s string
				require.NoError(t, json.Unmarshal(item, &s))
				got = append(got, s)
			}
			assert.Equal(t, []string{"a", "b"}, got)
			var werr *echorpc.Error
			require.ErrorAs(t, last, &werr)
			assert.Equal(t, http.StatusOK, werr.Status)
			assert.Contains(t, werr.Message, "larger than the client's limit of 1000 bytes")
		})
	}
}
