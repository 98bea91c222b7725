package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/echorpcotel"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// tracingServiceName is the service.name of the example's spans, unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES says otherwise.
const tracingServiceName = "wrpc-example"

// setupTracing turns tracing on from OpenTelemetry's standard environment:
//
//	OTEL_TRACES_EXPORTER=console              spans printed to stdout, as JSON
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
		var exp sdktrace.SpanExporter
		switch name {
		case "console":
			exp, err = stdouttrace.New(stdouttrace.WithWriter(stdout), stdouttrace.WithPrettyPrint())
		case "otlp":
			exp, err = otlptracehttp.New(ctx) // reads OTEL_EXPORTER_OTLP_*
		}
		if err != nil {
			return nil, off, fmt.Errorf("tracing: the %s exporter: %w", name, err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
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
