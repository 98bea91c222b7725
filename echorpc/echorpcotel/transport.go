package echorpcotel

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TransportOption configures [Transport].
type TransportOption func(*transport)

// WithClientSpans makes [Transport] start a client span for each request,
// the child of the span in the request's context and the parent of the
// server's span. Its name is "<path>/<function>", such as
// "/rpc/tester/add", as the server names its span, when the request's body
// is a single call as [echorpc.Client] writes it (the function is read from
// the body's first bytes, through Request.GetBody); else, as for a batch,
// it is the URL's path. Its attributes are rpc.system, rpc.service (the
// path), rpc.method (when read), server.address, http.request.method and
// http.response.status_code; its status is Error for a failure to send and
// for an HTTP status of 400 or more. The transport does not read the
// reply, so an ok:false answered with HTTP 200 does not make it an error.
// The span ends when the reply's body is read to its end or closed.
func WithClientSpans() TransportOption {
	return func(t *transport) { t.spans = true }
}

// WithTracerProvider sets the provider of [Transport]'s client spans.
// Default otel.GetTracerProvider().
func WithTracerProvider(provider trace.TracerProvider) TransportOption {
	return func(t *transport) { t.provider = provider }
}

// WithPropagator sets how [Transport] writes the trace context into the
// request's headers. Default otel.GetTextMapPropagator().
func WithPropagator(propagator propagation.TextMapPropagator) TransportOption {
	return func(t *transport) { t.propagator = propagator }
}

// Transport returns a RoundTripper that writes the trace context of each
// request's context (W3C traceparent and baggage, with the global
// propagator by default) into the request's headers, then sends it with
// base (http.DefaultTransport when nil). Give it to the http.Client of an
// [echorpc.Client] and the server's spans join the caller's trace:
//
//	client := &echorpc.Client{
//		Endpoint:   "http://127.0.0.1:5000/rpc/tester",
//		HTTPClient: &http.Client{Transport: echorpcotel.Transport(nil, echorpcotel.WithClientSpans())},
//	}
//	err := client.Call(ctx, "add", []int{1, 2}, &sum) // ctx carries the caller's span
//
// The request passed in is not changed: the headers are set on a clone.
func Transport(base http.RoundTripper, opts ...TransportOption) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	t := &transport{base: base}
	for _, opt := range opts {
		opt(t)
	}
	if t.provider == nil {
		t.provider = otel.GetTracerProvider()
	}
	if t.propagator == nil {
		t.propagator = otel.GetTextMapPropagator()
	}
	t.tracer = t.provider.Tracer(ScopeName)
	return t
}

type transport struct {
	base       http.RoundTripper
	spans      bool
	provider   trace.TracerProvider
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
}

// RoundTrip sends req with the trace context in its headers.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var span trace.Span
	if t.spans {
		service := strings.TrimSuffix(req.URL.Path, "/")
		name := service
		attrs := make([]attribute.KeyValue, 0, 5)
		attrs = append(attrs, keySystem.String(System), keyService.String(service))
		if fn := functionOf(req); fn != "" {
			name = service + "/" + fn
			attrs = append(attrs, keyMethod.String(fn))
		}
		attrs = append(attrs, keyServerAddress.String(req.URL.Hostname()), keyHTTPMethod.String(req.Method))
		ctx, span = t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	}
	out := req.Clone(ctx)
	t.propagator.Inject(ctx, propagation.HeaderCarrier(out.Header))
	res, err := t.base.RoundTrip(out)
	if span == nil {
		return res, err
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		span.End()
		return res, err
	}
	span.SetAttributes(keyStatus.Int(res.StatusCode))
	if res.StatusCode >= http.StatusBadRequest {
		span.SetStatus(codes.Error, http.StatusText(res.StatusCode))
	}
	if res.Body == nil || res.Body == http.NoBody {
		span.End()
		return res, nil
	}
	res.Body = &spanBody{ReadCloser: res.Body, span: span}
	return res, nil
}

// CloseIdleConnections closes the idle connections of the base transport,
// when it can, so http.Client.CloseIdleConnections works through Transport.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// spanBody ends a client span when the reply has been read or closed.
type spanBody struct {
	io.ReadCloser
	span trace.Span
	once sync.Once
}

func (b *spanBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		if err != io.EOF {
			b.span.RecordError(err)
			b.span.SetStatus(codes.Error, err.Error())
		}
		b.end()
	}
	return n, err
}

func (b *spanBody) Close() error {
	err := b.ReadCloser.Close()
	b.end()
	return err
}

func (b *spanBody) end() { b.once.Do(func() { b.span.End() }) }

// Single-call bodies as echorpc.Client (and Flask-RPC's RPCRequest) write
// them: the version first, then the function.
var callPrefixes = [][]byte{
	[]byte(`{"weerpc":1.1,"function":"`),
	[]byte(`{"wrpc":1.0,"function":"`),
}

// maxPeek bounds how much of a body functionOf reads.
const maxPeek = 160

// functionOf reads the function a request calls from the start of a body
// in echorpc.Client's form, through GetBody so the body itself is not
// consumed; "" when the body is in another form, or the name is escaped or
// long.
func functionOf(req *http.Request) string {
	if req.GetBody == nil || req.Method != http.MethodPost {
		return ""
	}
	body, err := req.GetBody()
	if err != nil {
		return ""
	}
	defer body.Close()
	var buf [maxPeek]byte
	n, _ := io.ReadFull(body, buf[:])
	head := buf[:n]
	for _, prefix := range callPrefixes {
		if !bytes.HasPrefix(head, prefix) {
			continue
		}
		name := head[len(prefix):]
		end := bytes.IndexByte(name, '"')
		if end <= 0 || bytes.IndexByte(name[:end], '\\') >= 0 {
			return ""
		}
		return string(name[:end])
	}
	return ""
}
