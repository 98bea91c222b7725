// Package echorpcotel traces the calls of echorpc instances with
// OpenTelemetry and times them in a histogram. An Echo app behind
// OpenTelemetry otherwise sees one HTTP span for "POST /rpc/tester",
// whatever function ran, and most failures are HTTP 200 with ok:false.
//
//	tel := echorpcotel.New(echorpcotel.Config{}) // the global providers and propagator
//	echorpc.New(e.Group("/rpc/tester"), echorpc.Config{
//		Interceptors: []echorpc.Interceptor{tel.Interceptor()},
//	})
//	// A Go client joins its caller's trace:
//	client := &echorpc.Client{Endpoint: url, HTTPClient: &http.Client{Transport: echorpcotel.Transport(nil)}}
//
// # Spans
//
// Each function call, batch item, stream and refusal gets a server span
// named "<instance>/<function>", such as "/rpc/tester/add"; a request
// refused before it named a registered function is "<instance>/(unknown)",
// never the name the caller sent. A stream on a shared stream connection
// (the channel, GET <instance>/channel.ws) has its span too, made from a
// context that descends from the upgrade's: with an HTTP middleware that
// traces requests (otelecho), each stream's span is a child of its
// connection's. Its attributes follow OpenTelemetry's RPC
// semantic conventions (v1.37, the last with these names):
//
//	rpc.system                 "weerpc"
//	rpc.service                the instance's route, such as "/rpc/tester"
//	rpc.method                 the function (absent when unknown)
//	http.response.status_code  the answer's HTTP status (a batch item's own)
//	weerpc.class               "ok", or the failure class (see echorpc.Result.Class)
//	weerpc.rejected            true when refused before the function ran
//	weerpc.stream.items        a stream's items sent
//	weerpc.stream.end          how a stream ended: "complete", "failed" (an application
//	                           failure), "canceled" (the caller went away), "deadline",
//	                           "shutdown" (the server's), "error"
//
// A span's status is Error when the answer's ok is false or the function
// failed (Result.Err, which is also recorded as an exception event); its
// description is the class, not the message, which may hold personal data.
// Data are never recorded; [Config.RecordSizes] records their sizes. The
// attributes are set on spans that record only, when the call ends: a
// sampler sees the span's name and kind, not the attributes.
//
// The span's parent is the span already in the request's context (an HTTP
// middleware's, such as otelecho's), else the one the request's headers
// carry (W3C traceparent, with the configured propagator). Handlers see
// the call's span in c.Request().Context() and can start child spans.
//
// # Metrics
//
// Every answer, refusals included, is timed in the histogram
// rpc.server.duration, in milliseconds as semantic conventions v1.37 define
// it (v1.38 renamed it rpc.server.call.duration, in seconds), with the
// attributes rpc.system, rpc.service, rpc.method, http.response.status_code
// and weerpc.class.
package echorpcotel

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/echo-rpc/wrpc/echorpc/echorpcotel"

// System is the rpc.system attribute of every span and measurement.
const System = "weerpc"

// unknownFunction names the span of a request refused before it named a
// registered function.
const unknownFunction = "(unknown)"

// Attribute keys.
const (
	keySystem        = attribute.Key("rpc.system")
	keyService       = attribute.Key("rpc.service")
	keyMethod        = attribute.Key("rpc.method")
	keyStatus        = attribute.Key("http.response.status_code")
	keyClass         = attribute.Key("weerpc.class")
	keyRejected      = attribute.Key("weerpc.rejected")
	keyStreamItems   = attribute.Key("weerpc.stream.items")
	keyStreamEnd     = attribute.Key("weerpc.stream.end")
	keyRequestSize   = attribute.Key("weerpc.request.size")
	keyResponseSize  = attribute.Key("weerpc.response.size")
	keyServerAddress = attribute.Key("server.address")
	keyHTTPMethod    = attribute.Key("http.request.method")
)

// Config configures the tracing.
type Config struct {
	// TracerProvider makes the spans.
	// Optional. Default otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// MeterProvider makes the rpc.server.duration histogram.
	// Optional. Default otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// Propagator reads the caller's trace context from the request's
	// headers, when no span is in the request's context yet.
	// Optional. Default otel.GetTextMapPropagator().
	Propagator propagation.TextMapPropagator
	// RecordSizes records on each span the size in bytes of the request's
	// data (weerpc.request.size: the raw JSON, "null" when absent) and, when
	// it costs nothing, of the answer's data (weerpc.response.size: only
	// for data that is nil or a json.RawMessage, as echorpc.RawFunc may
	// return; other data would have to be encoded twice to be measured).
	// Optional. Default false: no sizes.
	RecordSizes bool
	// PublicEndpoint makes a trace context from the request's headers a
	// link rather than the parent: each call starts a new trace, so
	// callers on the internet cannot join their spans to yours, nor choose
	// your sampling. A span already in the request's context (an HTTP
	// middleware's) is still the parent.
	// Optional. Default false: the caller's traceparent is the parent.
	PublicEndpoint bool
}

// Telemetry holds the tracer and the histogram; its Interceptor records
// into them.
type Telemetry struct {
	tracer      trace.Tracer
	propagator  propagation.TextMapPropagator
	duration    metric.Float64Histogram
	sizes       bool
	publicEntry bool

	mu    sync.RWMutex
	calls map[callKey]*callInfo        // span names and attributes
	sets  map[resultKey]*answerOptions // the histogram's attributes
}

// maxCached bounds each cache: echorpc's Calls name only registered
// functions, but another interceptor could make up names.
const maxCached = 4096

type callKey struct{ instance, function string }

type resultKey struct {
	callKey
	status int
	class  string
}

// callInfo is what every span of one function shares.
type callInfo struct {
	instance, function string
	name               string
	attrs              []attribute.KeyValue
	opts               []trace.SpanStartOption
	answer             atomic.Pointer[answerOptions] // the last answer's histogram attributes
}

// answerOptions are the histogram's attributes for one kind of answer.
type answerOptions struct {
	status int
	class  string
	opts   []metric.RecordOption
}

// New makes the tracer and the histogram. Make one Telemetry and share its
// Interceptor between instances.
func New(config Config) *Telemetry {
	if config.TracerProvider == nil {
		config.TracerProvider = otel.GetTracerProvider()
	}
	if config.MeterProvider == nil {
		config.MeterProvider = otel.GetMeterProvider()
	}
	if config.Propagator == nil {
		config.Propagator = otel.GetTextMapPropagator()
	}
	duration, err := config.MeterProvider.Meter(ScopeName).Float64Histogram("rpc.server.duration",
		metric.WithUnit("ms"),
		metric.WithDescription("Time taken to answer weeRPC calls, refusals included, interceptors inside this one included."),
	)
	if err != nil {
		otel.Handle(err)
		duration = noop.Float64Histogram{}
	}
	return &Telemetry{
		tracer:      config.TracerProvider.Tracer(ScopeName),
		propagator:  config.Propagator,
		duration:    duration,
		sizes:       config.RecordSizes,
		publicEntry: config.PublicEndpoint,
		calls:       map[callKey]*callInfo{},
		sets:        map[resultKey]*answerOptions{},
	}
}

// Interceptor traces and times each call. Put it first among an
// instance's Config.Interceptors, so the others run inside its span.
//
// A call whose span is not recorded (the sampler dropped it) costs the
// tracer's Start, the copy of the request that carries the span to the
// handler, and the histogram's measurement: no attributes are made for
// it, and the histogram's attribute sets are made once per function and
// kind of answer, not per call.
func (t *Telemetry) Interceptor() echorpc.Interceptor {
	return func(next echorpc.CallFunc) echorpc.CallFunc {
		// echorpc chains the interceptor once per function, so one
		// function's calls find its span name and attributes here; the
		// instance's refusal chain sees many and falls back to t's cache.
		var last atomic.Pointer[callInfo]
		return func(c echo.Context, call echorpc.Call) echorpc.Result {
			start := monotonic()
			info := last.Load()
			if info == nil || info.function != call.Function || info.instance != call.Instance {
				info = t.info(call.Instance, call.Function)
				last.Store(info)
			}
			r := c.Request()
			ctx := r.Context()
			opts := info.opts
			if !trace.SpanContextFromContext(ctx).IsValid() {
				ctx = t.propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
				if t.publicEntry {
					if remote := trace.SpanContextFromContext(ctx); remote.IsValid() {
						opts = append(opts[:len(opts):len(opts)], trace.WithNewRoot(), trace.WithLinks(trace.Link{SpanContext: remote}))
					}
				}
			}
			ctx, span := t.tracer.Start(ctx, info.name, opts...)
			recording := span.IsRecording()
			ended := false
			defer func() {
				if !ended { // next panicked: http.ErrAbortHandler, which echorpc re-raises
					span.SetAttributes(info.attrs...)
					span.SetStatus(codes.Error, "aborted")
					span.End()
				}
			}()

			c.SetRequest(r.WithContext(ctx))
			res := func() echorpc.Result {
				defer c.SetRequest(r)
				return next(c, call)
			}()

			class := res.Class()
			if recording {
				t.annotate(span, info, &call, &res, class)
			}
			span.End()
			ended = true
			t.duration.Record(ctx, float64((monotonic()-start).Nanoseconds())/1e6, info.recordOptions(t, res.Status, class)...)
			return res
		}
	}
}

// annotate sets a recording span's attributes, in one slice, and status.
func (t *Telemetry) annotate(span trace.Span, info *callInfo, call *echorpc.Call, res *echorpc.Result, class string) {
	attrs := make([]attribute.KeyValue, 0, len(info.attrs)+7)
	attrs = append(attrs, info.attrs...)
	attrs = append(attrs, keyStatus.Int(res.Status), keyClass.String(class))
	if call.Rejected {
		attrs = append(attrs, keyRejected.Bool(true))
	}
	if call.Stream {
		attrs = append(attrs, keyStreamItems.Int(res.Items), keyStreamEnd.String(streamEnd(res, class)))
	}
	if t.sizes {
		if call.Data != nil {
			attrs = append(attrs, keyRequestSize.Int(len(call.Data)))
		}
		switch d := res.Data.(type) {
		case nil:
			if !call.Stream {
				attrs = append(attrs, keyResponseSize.Int(len("null")))
			}
		case json.RawMessage:
			attrs = append(attrs, keyResponseSize.Int(len(d)))
		}
	}
	span.SetAttributes(attrs...)
	if res.Err != nil {
		span.RecordError(res.Err)
	}
	if class != "ok" {
		span.SetStatus(codes.Error, class)
	}
}

// streamEnd says how a stream ended.
func streamEnd(res *echorpc.Result, class string) string {
	switch {
	case res.Err != nil && errors.Is(res.Err, context.Canceled):
		return "canceled"
	case class == "deadline":
		return "deadline"
	case res.Err != nil && errors.Is(res.Err, http.ErrServerClosed):
		return "shutdown"
	case res.Err != nil || res.Status >= http.StatusInternalServerError:
		return "error"
	case class != "ok":
		return "failed"
	}
	return "complete"
}

// info returns the span name and start options of a function's spans,
// made once.
func (t *Telemetry) info(instance, function string) *callInfo {
	k := callKey{instance, function}
	t.mu.RLock()
	info := t.calls[k]
	t.mu.RUnlock()
	if info != nil {
		return info
	}
	info = newCallInfo(instance, function)
	t.mu.Lock()
	if len(t.calls) < maxCached {
		t.calls[k] = info
	}
	t.mu.Unlock()
	return info
}

func newCallInfo(instance, function string) *callInfo {
	info := &callInfo{instance: instance, function: function, name: instance + "/" + function}
	info.attrs = []attribute.KeyValue{keySystem.String(System), keyService.String(instance)}
	if function == "" {
		info.name = instance + "/" + unknownFunction
	} else {
		info.attrs = append(info.attrs, keyMethod.String(function))
	}
	// The attributes are set on recording spans only, with the answer's:
	// given here, they would be copied for every span, sampled or not.
	// Samplers see the span's name, which holds the instance and the
	// function.
	info.opts = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	return info
}

// recordOptions returns the histogram's attributes for one kind of answer:
// the last one's, as most answers of a function are alike, else t's.
func (info *callInfo) recordOptions(t *Telemetry, status int, class string) []metric.RecordOption {
	if a := info.answer.Load(); a != nil && a.status == status && a.class == class {
		return a.opts
	}
	a := t.answerOptions(info, status, class)
	info.answer.Store(a)
	return a.opts
}

// answerOptions returns the histogram's attributes for one kind of answer,
// made once.
func (t *Telemetry) answerOptions(info *callInfo, status int, class string) *answerOptions {
	k := resultKey{callKey{info.instance, info.function}, status, class}
	t.mu.RLock()
	a := t.sets[k]
	t.mu.RUnlock()
	if a != nil {
		return a
	}
	attrs := append(info.attrs[:len(info.attrs):len(info.attrs)], keyStatus.Int(status), keyClass.String(class))
	a = &answerOptions{status: status, class: class, opts: []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrs...))}}
	t.mu.Lock()
	if len(t.sets) < maxCached {
		t.sets[k] = a
	}
	t.mu.Unlock()
	return a
}

// epoch is the clock's origin for monotonic.
var epoch = time.Now()

// monotonic is the time since epoch: one read of the monotonic clock, where
// time.Now also reads the wall clock (on a virtual machine each read can
// cost tens of nanoseconds, a good part of the interceptor's cost).
func monotonic() time.Duration { return time.Since(epoch) }
