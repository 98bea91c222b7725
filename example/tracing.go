package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/echorpcotel"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// tracingServiceName is the service.name of the example's spans, unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES says otherwise.
const tracingServiceName = "wrpc-example"

// setupTracing turns tracing on from OpenTelemetry's standard environment:
//
//	OTEL_TRACES_EXPORTER=console              spans printed to stdout, one line each
//	OTEL_EXPORTER_OTLP_ENDPOINT=http://…:4318 spans sent with OTLP over HTTP
//	OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=…      (the same, traces only)
//	OTEL_TRACES_EXPORTER=otlp                 OTLP to the default http://localhost:4318
//	OTEL_TRACES_EXPORTER=none, OTEL_SDK_DISABLED=true   off
//
// OTEL_TRACES_EXPORTER may list both ("console,otlp"). The OTLP exporter
// also reads the other OTEL_EXPORTER_OTLP_* variables (headers, timeout,
// TLS); it speaks http/protobuf only. The SDK reads OTEL_TRACES_SAMPLER
// and OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES.
//
// When on, it sets the global tracer provider and the W3C TraceContext and
// Baggage propagator, and returns the interceptor to give every instance;
// shutdown flushes the spans still buffered. With none of these set it
// returns a nil interceptor and a shutdown that does nothing: no spans,
// no cost.
func setupTracing(ctx context.Context) (interceptor echorpc.Interceptor, shutdown func(context.Context) error, err error) {
	return setupTracingFrom(ctx, os.Getenv, os.Stdout)
}

// setupTracingFrom is setupTracing with the environment and stdout given.
func setupTracingFrom(ctx context.Context, getenv func(string) string, stdout io.Writer) (echorpc.Interceptor, func(context.Context) error, error) {
	off := func(context.Context) error { return nil }
	exporters, err := tracingExporters(getenv)
	if err != nil || len(exporters) == 0 {
		return nil, off, err
	}
	var opts []sdktrace.TracerProviderOption
	for _, name := range exporters {
		switch name {
		case "console": // printed as each span ends, for a developer watching
			opts = append(opts, sdktrace.WithSyncer(&consoleExporter{w: stdout}))
		case "otlp":
			exp, err := otlptracehttp.New(ctx) // reads OTEL_EXPORTER_OTLP_*
			if err != nil {
				return nil, off, fmt.Errorf("tracing: the %s exporter: %w", name, err)
			}
			opts = append(opts, sdktrace.WithBatcher(exp))
		}
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", tracingServiceName)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, off, fmt.Errorf("tracing: %w", err)
	}
	tp := sdktrace.NewTracerProvider(append(opts, sdktrace.WithResource(res))...)
	w3c := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(w3c)
	tel := echorpcotel.New(echorpcotel.Config{TracerProvider: tp, Propagator: w3c})
	return tel.Interceptor(), tp.Shutdown, nil
}

// tracingExporters lists the exporters the environment asks for: none,
// "console", "otlp", or both.
func tracingExporters(getenv func(string) string) ([]string, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return nil, nil
	}
	endpoint := getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	names := getenv("OTEL_TRACES_EXPORTER")
	if strings.TrimSpace(names) == "" {
		if endpoint {
			names = "otlp"
		} else {
			return nil, nil
		}
	}
	var out []string
	for _, name := range strings.Split(names, ",") {
		switch name = strings.TrimSpace(name); name {
		case "none":
			return nil, nil
		case "console", "otlp":
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		default:
			return nil, fmt.Errorf("tracing: OTEL_TRACES_EXPORTER=%q: want console, otlp or none", name)
		}
	}
	if slices.Contains(out, "otlp") {
		protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
		if protocol == "" {
			protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
		}
		if protocol != "" && protocol != "http/protobuf" {
			return nil, fmt.Errorf("tracing: OTLP protocol %q: the example sends http/protobuf only", protocol)
		}
	}
	return out, nil
}

// consoleExporter prints each span on one line, for reading in a terminal
// as calls come in:
//
//	span /rpc/tester/add_numbers server 410µs ok trace=4bf9… span=00f0… parent=… rpc.method=add_numbers …
//
// then one indented line per event (an exception, say). The status is "ok"
// or "error: <description>" (the description is the call's class). The
// resource (service.name and the SDK's version) is the same for every span
// and printed once, before the first.
type consoleExporter struct {
	mu       sync.Mutex
	w        io.Writer
	resource bool // printed
}

// ExportSpans prints spans.
func (x *consoleExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	var b strings.Builder
	for _, s := range spans {
		if !x.resource && s.Resource() != nil {
			x.resource = true
			b.WriteString("resource")
			writeAttrs(&b, s.Resource().Attributes())
			b.WriteByte('\n')
		}
		status := "ok"
		if s.Status().Code == codes.Error {
			status = "error: " + s.Status().Description
		}
		fmt.Fprintf(&b, "span %s %s %s %s trace=%s span=%s", s.Name(), s.SpanKind(),
			s.EndTime().Sub(s.StartTime()).Round(10*time.Microsecond), status, s.SpanContext().TraceID(), s.SpanContext().SpanID())
		if p := s.Parent(); p.IsValid() {
			fmt.Fprintf(&b, " parent=%s", p.SpanID())
			if p.IsRemote() {
				b.WriteString("(remote)")
			}
		}
		writeAttrs(&b, s.Attributes())
		b.WriteByte('\n')
		for _, ev := range s.Events() {
			b.WriteString("  event " + ev.Name)
			writeAttrs(&b, ev.Attributes)
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(x.w, b.String())
	return err
}

// Shutdown has nothing to flush: every span is printed when exported.
func (x *consoleExporter) Shutdown(context.Context) error { return nil }

// writeAttrs appends " key=value" for each attribute.
func writeAttrs(b *strings.Builder, attrs []attribute.KeyValue) {
	for _, kv := range attrs {
		v := kv.Value.String()
		if strings.ContainsAny(v, " \t\n\"") || v == "" {
			v = fmt.Sprintf("%q", v)
		}
		fmt.Fprintf(b, " %s=%s", kv.Key, v)
	}
}
