package echorpcotel_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/echorpcotel"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// A remote caller's span, as a W3C traceparent header carries it.
const (
	remoteTrace       = "4bf92f3577b34da6a3ce929d0e0e4736"
	remoteSpan        = "00f067aa0ba902b7"
	remoteTraceparent = "00-" + remoteTrace + "-" + remoteSpan + "-01"
)

// world is a real server with two instances, traced into a span recorder
// and timed into a manual metric reader.
type world struct {
	srv      *httptest.Server
	spans    *tracetest.SpanRecorder
	tp       *sdktrace.TracerProvider
	metrics  *sdkmetric.ManualReader
	children chan trace.SpanContext // the parents the "child" function saw
}

func newWorld(t *testing.T, config echorpcotel.Config, middleware ...echo.MiddlewareFunc) *world {
	t.Helper()
	w := &world{spans: tracetest.NewSpanRecorder(), metrics: sdkmetric.NewManualReader(), children: make(chan trace.SpanContext, 1)}
	w.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(w.spans))
	config.TracerProvider = w.tp
	config.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(w.metrics))
	config.Propagator = propagation.TraceContext{}
	tel := echorpcotel.New(config)

	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	e.Use(middleware...)
	cfg := echorpc.Config{MaxBatch: 10, Interceptors: []echorpc.Interceptor{tel.Interceptor()}}
	echorpc.New(e.Group("/rpc/tester"), cfg).Functions(echorpc.Funcs{
		"add": echorpc.Func(func(c echo.Context, in []int) (int, error) {
			s := 0
			for _, n := range in {
				s += n
			}
			return s, nil
		}),
		"fail": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response {
			return echorpc.Fail("Jane Doe has no account.", nil)
		}),
		"boom": echorpc.Func(func(c echo.Context, in any) (any, error) { return nil, errors.New("disk on fire") }),
		"raw": echorpc.RawFunc(func(c echo.Context, data json.RawMessage) echorpc.Response {
			return echorpc.Success("", json.RawMessage(`{"echo":`+string(data)+`}`))
		}),
		// ticks streams n items; -1 fails after one; 1000 sends slowly until the caller leaves.
		"ticks": echorpc.Stream(func(c echo.Context, n int, send func(string, int) error) error {
			if n < 0 {
				_ = send("", 0)
				return &echorpc.Error{Message: "Jane Doe stopped the clock."}
			}
			for i := range n {
				if err := send("", i); err != nil {
					return err
				}
				if n >= 1000 {
					time.Sleep(5 * time.Millisecond)
				}
			}
			return nil
		}),
		"child": echorpc.Func(func(c echo.Context, in any) (any, error) {
			_, span := w.tp.Tracer("handler").Start(c.Request().Context(), "child work")
			w.children <- span.SpanContext()
			span.End()
			return nil, nil
		}),
	})
	guarded := cfg
	guarded.HostAuth = []string{"127.0.0.1:5000"}
	echorpc.New(e.Group("/rpc/guarded"), guarded).Functions(echorpc.Funcs{
		"add": echorpc.Func(func(c echo.Context, in []int) (int, error) { return len(in), nil }),
	})
	w.srv = httptest.NewServer(e)
	t.Cleanup(w.srv.Close)
	return w
}

// post sends a body with extra headers (name, value pairs) and returns the
// reply's status.
func (w *world) post(t *testing.T, path, body string, header ...string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, w.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := w.srv.Client().Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// ended returns the spans ended so far, by name.
func (w *world) ended(t *testing.T, want int) []sdktrace.ReadOnlySpan {
	t.Helper()
	spans := w.spans.Ended()
	require.Len(t, spans, want, "spans: %v", names(spans))
	return spans
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestSpanOfEachKindOfAnswer(t *testing.T) {
	tests := []struct {
		name         string
		givenPath    string
		whenBody     string
		expectName   string
		expectStatus int
		expectClass  string
		expectMethod string // "" for none
		expectError  bool
		expectReject bool
		expectEvent  string // an event's name, or ""
	}{
		{name: "call", givenPath: "/rpc/tester", whenBody: `{"weerpc":1.1,"function":"add","data":[1,2]}`,
			expectName: "/rpc/tester/add", expectStatus: 200, expectClass: "ok", expectMethod: "add"},
		{name: "application-failure", givenPath: "/rpc/tester", whenBody: `{"weerpc":1.1,"function":"fail"}`,
			expectName: "/rpc/tester/fail", expectStatus: 200, expectClass: "failed", expectMethod: "fail", expectError: true},
		{name: "invalid-data", givenPath: "/rpc/tester", whenBody: `{"weerpc":1.1,"function":"add","data":"x"}`,
			expectName: "/rpc/tester/add", expectStatus: 400, expectClass: "invalid", expectMethod: "add", expectError: true},
		{name: "error", givenPath: "/rpc/tester", whenBody: `{"weerpc":1.1,"function":"boom"}`,
			expectName: "/rpc/tester/boom", expectStatus: 500, expectClass: "internal", expectMethod: "boom", expectError: true, expectEvent: "exception"},
		{name: "404-unknown-function", givenPath: "/rpc/tester", whenBody: `{"weerpc":1.1,"function":"secret-name"}`,
			expectName: "/rpc/tester/(unknown)", expectStatus: 404, expectClass: "not_found", expectError: true, expectReject: true},
		{name: "400-bad-version", givenPath: "/rpc/tester", whenBody: `{"weerpc":2,"function":"add"}`,
			expectName: "/rpc/tester/(unknown)", expectStatus: 400, expectClass: "invalid", expectError: true, expectReject: true},
		{name: "403-host-rule", givenPath: "/rpc/guarded", whenBody: `{"weerpc":1.1,"function":"add"}`,
			expectName: "/rpc/guarded/(unknown)", expectStatus: 403, expectClass: "forbidden", expectError: true, expectReject: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, echorpcotel.Config{})
			status := w.post(t, tt.givenPath, tt.whenBody)
			assert.Equal(t, tt.expectStatus, status)

			span := w.ended(t, 1)[0]
			assert.Equal(t, tt.expectName, span.Name())
			assert.Equal(t, trace.SpanKindServer, span.SpanKind())
			assert.False(t, span.Parent().IsValid(), "a call with no caller's trace is a root")
			a := attrs(span)
			assert.Equal(t, "weerpc", a["rpc.system"].AsString())
			assert.Equal(t, tt.givenPath, a["rpc.service"].AsString())
			assert.Equal(t, int64(tt.expectStatus), a["http.response.status_code"].AsInt64())
			assert.Equal(t, tt.expectClass, a["weerpc.class"].AsString())
			method, has := a["rpc.method"]
			assert.Equal(t, tt.expectMethod != "", has)
			assert.Equal(t, tt.expectMethod, method.AsString())
			assert.Equal(t, tt.expectReject, a["weerpc.rejected"].AsBool())
			if tt.expectError {
				assert.Equal(t, codes.Error, span.Status().Code)
				assert.Equal(t, tt.expectClass, span.Status().Description)
			} else {
				assert.Equal(t, codes.Unset, span.Status().Code)
			}
			var events []string
			for _, ev := range span.Events() {
				events = append(events, ev.Name)
			}
			if tt.expectEvent != "" {
				assert.Contains(t, events, tt.expectEvent)
			} else {
				assert.Empty(t, events)
			}
			for k, v := range a {
				assert.NotContains(t, v.String(), "secret-name", "the caller's name is in %s", k)
				assert.NotContains(t, v.String(), "Jane", "the message is in %s", k)
			}
			assert.NotContains(t, span.Status().Description, "Jane")
			_, hasSize := a["weerpc.request.size"]
			assert.False(t, hasSize, "sizes are off by default")
		})
	}
}

func TestBatchItemsAreSiblingsUnderTheCaller(t *testing.T) {
	w := newWorld(t, echorpcotel.Config{})
	status := w.post(t, "/rpc/tester", `[`+
		`{"weerpc":1.1,"function":"add","data":[1]},`+
		`{"weerpc":1.1,"function":"fail"},`+
		`{"weerpc":1.1,"function":"nope"}]`,
		"traceparent", remoteTraceparent)
	require.Equal(t, http.StatusOK, status)

	// the items run at once: their spans end in any order
	spans := w.ended(t, 3)
	assert.ElementsMatch(t, []string{"/rpc/tester/add", "/rpc/tester/fail", "/rpc/tester/(unknown)"}, names(spans))
	ids := map[trace.SpanID]bool{}
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		assert.Equal(t, remoteTrace, s.SpanContext().TraceID().String())
		assert.Equal(t, remoteSpan, s.Parent().SpanID().String(), s.Name())
		ids[s.SpanContext().SpanID()] = true
		byName[s.Name()] = s
	}
	assert.Len(t, ids, 3)
	require.Len(t, byName, 3)
	assert.Equal(t, int64(404), attrs(byName["/rpc/tester/(unknown)"])["http.response.status_code"].AsInt64(), "an item's own status")
	assert.Equal(t, codes.Error, byName["/rpc/tester/fail"].Status().Code)
	assert.Equal(t, codes.Unset, byName["/rpc/tester/add"].Status().Code)
}

func TestTraceparentIsTheParent(t *testing.T) {
	w := newWorld(t, echorpcotel.Config{})
	w.post(t, "/rpc/tester", `{"weerpc":1.1,"function":"add","data":[1]}`, "traceparent", remoteTraceparent)

	span := w.ended(t, 1)[0]
	assert.True(t, span.Parent().IsRemote())
	assert.Equal(t, remoteSpan, span.Parent().SpanID().String())
	assert.Equal(t, remoteTrace, span.SpanContext().TraceID().String())
}

// A call the sampler drops records no span, but its handler still sees the
// caller's trace, not sampled, so its own spans are dropped too and calls
// it makes carry the trace on; the histogram still times it.
func TestUnsampledCallKeepsTheTrace(t *testing.T) {
	w := newWorld(t, echorpcotel.Config{})
	unsampled := "00-" + remoteTrace + "-" + remoteSpan + "-00"
	assert.Equal(t, http.StatusOK, w.post(t, "/rpc/tester", `{"weerpc":1.1,"function":"child"}`, "traceparent", unsampled))
	assert.Equal(t, http.StatusOK, w.post(t, "/rpc/tester", `{"weerpc":1.1,"function":"add","data":[1]}`, "traceparent", unsampled))

	parent := <-w.children
	assert.Equal(t, remoteTrace, parent.TraceID().String())
	assert.False(t, parent.IsSampled())
	w.ended(t, 0)

	var rm metricdata.ResourceMetrics
	require.NoError(t, w.metrics.Collect(context.Background(), &rm))
	hist := rm.ScopeMetrics[0].Metrics[0].Data.(metricdata.Histogram[float64])
	counts := map[string]uint64{}
	for _, dp := range hist.DataPoints {
		method, _ := dp.Attributes.Value("rpc.method")
		counts[method.AsString()] = dp.Count
	}
	assert.Equal(t, map[string]uint64{"child": 1, "add": 1}, counts)
}

func TestPublicEndpointLinksTheCaller(t *testing.T) {
	w := newWorld(t, echorpcotel.Config{PublicEndpoint: true})
	w.post(t, "/rpc/tester", `{"weerpc":1.1,"function":"add","data":[1]}`, "traceparent", remoteTraceparent)

	span := w.ended(t, 1)[0]
	assert.False(t, span.Parent().IsValid())
	assert.NotEqual(t, remoteTrace, span.SpanContext().TraceID().String())
	require.Len(t, span.Links(), 1)
	assert.Equal(t, remoteSpan, span.Links()[0].SpanContext.SpanID().String())
}

func TestMiddlewareSpanIsTheParent(t *testing.T) {
	var restored []bool
	var w *world
	// An HTTP middleware that traces the request, as otelecho does (this
	// one ignores the caller's traceparent).
	httpSpans := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, span := w.tp.Tracer("http").Start(c.Request().Context(), "POST "+c.Path(), trace.WithSpanKind(trace.SpanKindServer))
			defer span.End()
			r := c.Request().WithContext(ctx)
			c.SetRequest(r)
			err := next(c)
			restored = append(restored, c.Request() == r)
			return err
		}
	}
	w = newWorld(t, echorpcotel.Config{}, httpSpans)
	w.post(t, "/rpc/tester", `{"weerpc":1.1,"function":"child"}`, "traceparent", remoteTraceparent)

	spans := w.ended(t, 3)
	require.Equal(t, []string{"child work", "/rpc/tester/child", "POST /rpc/tester"}, names(spans))
	child, call, outer := spans[0], spans[1], spans[2]
	assert.Equal(t, outer.SpanContext().SpanID(), call.Parent().SpanID(), "the middleware's span, not the header's")
	assert.Equal(t, call.SpanContext().SpanID(), child.Parent().SpanID(), "handlers see the call's span")
	assert.Equal(t, child.SpanContext(), <-w.children)
	assert.Equal(t, outer.SpanContext().TraceID(), call.SpanContext().TraceID())
	assert.NotEqual(t, remoteTrace, call.SpanContext().TraceID().String(), "the header is not read when a span is in the context")
	assert.Equal(t, []bool{true}, restored, "the request is restored after the call")
}

func TestRecordSizes(t *testing.T) {
	w := newWorld(t, echorpcotel.Config{RecordSizes: true})
	w.post(t, "/rpc/tester", `{"weerpc":1.1,"function":"raw","data":[1,2,3]}`)
	w.post(t, "/rpc/tester", `{"weerpc":1.1,"function":"add","data":[1,2,3]}`)
	w.post(t, "/rpc/tester", `{"weerpc":1.1,"function":"nope"}`)

	spans := w.ended(t, 3)
	raw, typed, refused := attrs(spans[0]), attrs(spans[1]), attrs(spans[2])
	assert.Equal(t, int64(len(`[1,2,3]`)), raw["weerpc.request.size"].AsInt64())
	assert.Equal(t, int64(len(`{"echo":[1,2,3]}`)), raw["weerpc.response.size"].AsInt64())
	assert.Equal(t, int64(len(`[1,2,3]`)), typed["weerpc.request.size"].AsInt64())
	_, has := typed["weerpc.response.size"]
	assert.False(t, has, "typed data is not encoded twice for its size")
	_, has = refused["weerpc.request.size"]
	assert.False(t, has, "a refusal's data was not read")
}

func TestDurationHistogram(t *testing.T) {
	w := newWorld(t, echorpcotel.Config{})
	w.post(t, "/rpc/tester", `{"weerpc":1.1,"function":"add","data":[1]}`)
	w.post(t, "/rpc/tester", `{"weerpc":1.1,"function":"add","data":[2]}`)
	w.post(t, "/rpc/tester", `{"weerpc":1.1,"function":"fail"}`)
	w.post(t, "/rpc/tester", `{"weerpc":1.1,"function":"nope"}`)

	var rm metricdata.ResourceMetrics
	require.NoError(t, w.metrics.Collect(context.Background(), &rm))
	require.Len(t, rm.ScopeMetrics, 1)
	assert.Equal(t, echorpcotel.ScopeName, rm.ScopeMetrics[0].Scope.Name)
	require.Len(t, rm.ScopeMetrics[0].Metrics, 1)
	m := rm.ScopeMetrics[0].Metrics[0]
	assert.Equal(t, "rpc.server.duration", m.Name)
	assert.Equal(t, "ms", m.Unit)
	hist, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "%T", m.Data)
	counts := map[string]uint64{}
	for _, dp := range hist.DataPoints {
		method, _ := dp.Attributes.Value("rpc.method")
		class, _ := dp.Attributes.Value("weerpc.class")
		status, _ := dp.Attributes.Value("http.response.status_code")
		system, _ := dp.Attributes.Value("rpc.system")
		service, _ := dp.Attributes.Value("rpc.service")
		assert.Equal(t, "weerpc", system.AsString())
		assert.Equal(t, "/rpc/tester", service.AsString())
		counts[method.AsString()+" "+class.AsString()+" "+status.String()] = dp.Count
	}
	assert.Equal(t, map[string]uint64{"add ok 200": 2, "fail failed 200": 1, " not_found 404": 1}, counts)
}

// TestStreamSpanEnds checks each way a stream ends on the interceptor
// directly; TestStreamEndToEnd runs real streams.
func TestStreamSpanEnds(t *testing.T) {
	tests := []struct {
		name        string
		whenResult  echorpc.Result
		expectEnd   string
		expectError bool
	}{
		{name: "complete", whenResult: echorpc.Result{Response: echorpc.Response{OK: true}, Status: 200, Items: 3}, expectEnd: "complete"},
		{name: "failed", whenResult: echorpc.Result{Status: 200, Items: 1}, expectEnd: "failed", expectError: true},
		{name: "canceled", whenResult: echorpc.Result{Status: 500, Items: 2, Err: context.Canceled}, expectEnd: "canceled", expectError: true},
		{name: "deadline", whenResult: echorpc.Result{Status: 504, Items: 2, Err: context.DeadlineExceeded}, expectEnd: "deadline", expectError: true},
		{name: "shutdown", whenResult: echorpc.Result{Status: 503, Items: 2, Err: http.ErrServerClosed}, expectEnd: "shutdown", expectError: true},
		{name: "error", whenResult: echorpc.Result{Status: 500, Err: errors.New("x")}, expectEnd: "error", expectError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spans := tracetest.NewSpanRecorder()
			tel := echorpcotel.New(echorpcotel.Config{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))})
			c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/rpc/tester", nil), httptest.NewRecorder())
			var inside trace.SpanContext
			call := tel.Interceptor()(func(c echo.Context, call echorpc.Call) echorpc.Result {
				inside = trace.SpanContextFromContext(c.Request().Context())
				return tt.whenResult
			})
			res := call(c, echorpc.Call{Instance: "/rpc/tester", Function: "ticks", Data: json.RawMessage("null"), Stream: true})
			assert.Equal(t, tt.whenResult, res)

			require.Len(t, spans.Ended(), 1)
			span := spans.Ended()[0]
			assert.Equal(t, "/rpc/tester/ticks", span.Name())
			assert.Equal(t, span.SpanContext(), inside)
			a := attrs(span)
			assert.Equal(t, int64(tt.whenResult.Items), a["weerpc.stream.items"].AsInt64())
			assert.Equal(t, tt.expectEnd, a["weerpc.stream.end"].AsString())
			assert.Equal(t, tt.expectError, span.Status().Code == codes.Error)
			assert.False(t, trace.SpanContextFromContext(c.Request().Context()).IsValid(), "the request is restored")
		})
	}
}

func TestAbortedCallEndsItsSpan(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tel := echorpcotel.New(echorpcotel.Config{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))})
	req := httptest.NewRequest(http.MethodPost, "/rpc/tester", nil)
	c := echo.New().NewContext(req, httptest.NewRecorder())
	call := tel.Interceptor()(func(echo.Context, echorpc.Call) echorpc.Result { panic(http.ErrAbortHandler) })
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() { call(c, echorpc.Call{Instance: "/rpc/tester", Function: "f"}) })
	require.Len(t, spans.Ended(), 1)
	assert.Equal(t, codes.Error, spans.Ended()[0].Status().Code)
	assert.Same(t, req, c.Request())
}

// The streams of one shared connection (the Go client's channel) each get
// a span of their own, a child of the connection's: an HTTP middleware's
// span around the upgrade, since each stream's context descends from it.
func TestChannelStreamSpansAreChildrenOfTheConnection(t *testing.T) {
	var w *world
	upgrade := make(chan trace.SpanContext, 4)
	httpSpans := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, span := w.tp.Tracer("http").Start(c.Request().Context(), c.Request().Method+" "+c.Path(), trace.WithSpanKind(trace.SpanKindServer))
			defer span.End()
			if strings.HasSuffix(c.Path(), "/channel.ws") {
				upgrade <- span.SpanContext()
			}
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
	w = newWorld(t, echorpcotel.Config{}, httpSpans)
	client := &echorpc.Client{Endpoint: w.srv.URL + "/rpc/tester"}
	for range 2 {
		for _, err := range client.Stream(context.Background(), "ticks", 2) {
			require.NoError(t, err)
		}
	}
	require.Len(t, upgrade, 1, "one connection for both streams")
	conn := <-upgrade
	var streams []sdktrace.ReadOnlySpan
	require.Eventually(t, func() bool {
		streams = streams[:0]
		for _, s := range w.spans.Ended() {
			if s.Name() == "/rpc/tester/ticks" {
				streams = append(streams, s)
			}
		}
		return len(streams) == 2
	}, 5*time.Second, 5*time.Millisecond)
	for _, s := range streams {
		assert.Equal(t, conn.SpanID(), s.Parent().SpanID(), "the connection's span is the stream's parent")
		assert.Equal(t, conn.TraceID(), s.SpanContext().TraceID())
	}
	assert.NotEqual(t, streams[0].SpanContext().SpanID(), streams[1].SpanContext().SpanID(), "a span per stream")
}
