package echorpcotel_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/echorpcotel"
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// A server traced into an in-memory recorder, and a Go client whose
// Transport carries the caller's trace to it. An app would rather set the
// global providers and propagator (otel.SetTracerProvider,
// otel.SetTextMapPropagator) and leave the Config empty.
func Example() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	w3c := propagation.TraceContext{}

	tel := echorpcotel.New(echorpcotel.Config{TracerProvider: tp, Propagator: w3c})
	e := echo.New()
	echorpc.New(e.Group("/rpc/tester"), echorpc.Config{
		Interceptors: []echorpc.Interceptor{tel.Interceptor()},
	}).Functions(echorpc.Funcs{
		"add": echorpc.Func(func(c echo.Context, in []int) (int, error) { return in[0] + in[1], nil }),
	})
	srv := httptest.NewServer(e)
	defer srv.Close()

	client := &echorpc.Client{
		Endpoint:   srv.URL + "/rpc/tester",
		HTTPClient: &http.Client{Transport: echorpcotel.Transport(nil, echorpcotel.WithPropagator(w3c))},
	}
	ctx, caller := tp.Tracer("caller").Start(context.Background(), "caller")
	var sum int
	_ = client.Call(ctx, "add", []int{1, 2}, &sum)
	_ = client.Call(ctx, "sub", []int{1, 2}, nil)
	caller.End()

	for _, s := range spans.Ended()[:2] { // the server's spans
		fmt.Println(s.Name(), s.SpanKind(), s.Status().Code, s.Status().Description,
			"same trace:", s.SpanContext().TraceID() == caller.SpanContext().TraceID())
	}
	// Output:
	// /rpc/tester/add server Unset  same trace: true
	// /rpc/tester/(unknown) server Error not_found same trace: true
}
