package echorpcotel_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/echorpcotel"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func TestClientAndServerShareOneTrace(t *testing.T) {
	tests := []struct {
		name        string
		givenSpans  bool
		whenVersion string
	}{
		{name: "inject-only", givenSpans: false},
		{name: "client-spans", givenSpans: true},
		{name: "client-spans-wrpc-1.0", givenSpans: true, whenVersion: "1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, echorpcotel.Config{})
			opts := []echorpcotel.TransportOption{echorpcotel.WithTracerProvider(w.tp), echorpcotel.WithPropagator(propagation.TraceContext{})}
			if tt.givenSpans {
				opts = append(opts, echorpcotel.WithClientSpans())
			}
			client := &echorpc.Client{
				Endpoint:   w.srv.URL + "/rpc/tester",
				Version:    tt.whenVersion,
				HTTPClient: &http.Client{Transport: echorpcotel.Transport(w.srv.Client().Transport, opts...)},
			}
			ctx, caller := w.tp.Tracer("caller").Start(context.Background(), "caller")
			var sum int
			require.NoError(t, client.Call(ctx, "add", []int{1, 2, 3}, &sum))
			assert.Equal(t, 6, sum, "the body reached the server whole")
			caller.End()

			want := 2
			if tt.givenSpans {
				want = 3
			}
			spans := w.ended(t, want)
			var server, clientSpan trace.SpanContext
			for _, s := range spans {
				assert.Equal(t, caller.SpanContext().TraceID(), s.SpanContext().TraceID(), s.Name())
				switch s.SpanKind() {
				case trace.SpanKindServer:
					server = s.Parent()
				case trace.SpanKindClient:
					clientSpan = s.SpanContext()
					assert.Equal(t, "/rpc/tester/add", s.Name())
					assert.Equal(t, caller.SpanContext().SpanID(), s.Parent().SpanID())
					a := attrs(s)
					assert.Equal(t, "weerpc", a["rpc.system"].AsString())
					assert.Equal(t, "/rpc/tester", a["rpc.service"].AsString())
					assert.Equal(t, "add", a["rpc.method"].AsString())
					assert.Equal(t, "127.0.0.1", a["server.address"].AsString())
					assert.Equal(t, int64(200), a["http.response.status_code"].AsInt64())
					assert.Equal(t, codes.Unset, s.Status().Code)
				}
			}
			if tt.givenSpans {
				assert.Equal(t, clientSpan.SpanID(), server.SpanID(), "the server's parent is the client span")
			} else {
				assert.Equal(t, caller.SpanContext().SpanID(), server.SpanID(), "the server's parent is the caller's span")
			}
			assert.True(t, server.IsRemote())
		})
	}
}

func TestClientSpanName(t *testing.T) {
	tests := []struct {
		name       string
		whenBody   string
		expectName string
		expectCode codes.Code
	}{
		{name: "single-call", whenBody: `{"weerpc":1.1,"function":"add","data":[1]}`, expectName: "/rpc/tester/add"},
		{name: "batch", whenBody: `[{"weerpc":1.1,"function":"add","data":[1]}]`, expectName: "/rpc/tester"},
		{name: "escaped-name", whenBody: `{"weerpc":1.1,"function":"a\"dd"}`, expectName: "/rpc/tester", expectCode: codes.Error},
		{name: "long-name", whenBody: `{"weerpc":1.1,"function":"` + strings.Repeat("x", 200) + `"}`, expectName: "/rpc/tester", expectCode: codes.Error},
		{name: "other-form", whenBody: `{"function":"add","weerpc":1.1,"data":[1]}`, expectName: "/rpc/tester"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, echorpcotel.Config{})
			rt := echorpcotel.Transport(w.srv.Client().Transport, echorpcotel.WithTracerProvider(w.tp), echorpcotel.WithClientSpans())
			req, err := http.NewRequest(http.MethodPost, w.srv.URL+"/rpc/tester", strings.NewReader(tt.whenBody))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			res, err := (&http.Client{Transport: rt}).Do(req)
			require.NoError(t, err)
			res.Body.Close()
			assert.Empty(t, req.Header.Get("traceparent"), "the caller's request is not changed")

			var client []string
			for _, s := range w.spans.Ended() {
				if s.SpanKind() == trace.SpanKindClient {
					client = append(client, s.Name())
					assert.Equal(t, tt.expectCode, s.Status().Code)
				}
			}
			assert.Equal(t, []string{tt.expectName}, client)
		})
	}
}

func TestTransportFailureIsAnErrorSpan(t *testing.T) {
	w := newWorld(t, echorpcotel.Config{})
	url := w.srv.URL
	w.srv.Close()
	rt := echorpcotel.Transport(nil, echorpcotel.WithTracerProvider(w.tp), echorpcotel.WithClientSpans())
	client := &echorpc.Client{Endpoint: url + "/rpc/tester", HTTPClient: &http.Client{Transport: rt}}
	require.Error(t, client.Call(context.Background(), "add", []int{1}, nil))
	spans := w.ended(t, 1)
	assert.Equal(t, codes.Error, spans[0].Status().Code)
	assert.Equal(t, "/rpc/tester/add", spans[0].Name())
}

func TestStreamEndToEnd(t *testing.T) {
	tests := []struct {
		name        string
		whenN       int
		whenStopAt  int // the client stops reading after this many items; 0 reads all
		expectItems int64
		expectEnd   string
		expectClass string
	}{
		{name: "complete", whenN: 3, expectItems: 3, expectEnd: "complete", expectClass: "ok"},
		{name: "failed", whenN: -1, expectItems: 1, expectEnd: "failed", expectClass: "failed"},
		{name: "caller-leaves", whenN: 1000, whenStopAt: 2, expectEnd: "canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, echorpcotel.Config{}, noChannel)
			rt := echorpcotel.Transport(w.srv.Client().Transport, echorpcotel.WithTracerProvider(w.tp),
				echorpcotel.WithPropagator(propagation.TraceContext{}), echorpcotel.WithClientSpans())
			client := &echorpc.Client{Endpoint: w.srv.URL + "/rpc/tester", HTTPClient: &http.Client{Transport: rt}}
			ctx, caller := w.tp.Tracer("caller").Start(context.Background(), "caller")
			got := 0
			for _, err := range client.Stream(ctx, "ticks", tt.whenN) {
				if err != nil {
					break
				}
				if got++; got == tt.whenStopAt {
					break
				}
			}
			caller.End()

			var server, clientSpan sdktrace.ReadOnlySpan
			require.Eventually(t, func() bool { // the server sees a caller leave a little later
				for _, s := range w.spans.Ended() {
					switch s.SpanKind() {
					case trace.SpanKindServer:
						server = s
					case trace.SpanKindClient:
						clientSpan = s
					}
				}
				return server != nil && clientSpan != nil
			}, 5*time.Second, 10*time.Millisecond)
			assert.Equal(t, "/rpc/tester/ticks", server.Name())
			assert.Equal(t, "/rpc/tester/ticks", clientSpan.Name())
			assert.Equal(t, clientSpan.SpanContext().SpanID(), server.Parent().SpanID())
			assert.Equal(t, caller.SpanContext().TraceID(), server.SpanContext().TraceID())
			a := attrs(server)
			assert.Equal(t, tt.expectEnd, a["weerpc.stream.end"].AsString())
			if tt.expectClass != "" {
				assert.Equal(t, tt.expectClass, a["weerpc.class"].AsString())
				assert.Equal(t, tt.expectItems, a["weerpc.stream.items"].AsInt64())
			} else {
				assert.GreaterOrEqual(t, a["weerpc.stream.items"].AsInt64(), int64(tt.whenStopAt))
			}
			assert.Equal(t, tt.expectEnd != "complete", server.Status().Code == codes.Error)
		})
	}
}

// noChannel answers the shared stream connection's upgrade 404, as a server
// without it does, so that the Go client sends each stream as a request of
// its own, through the traced transport.
func noChannel(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if strings.HasSuffix(c.Path(), "/channel.ws") || strings.HasSuffix(c.Request().URL.Path, "/channel.ws") {
			return c.NoContent(http.StatusNotFound)
		}
		return next(c)
	}
}
