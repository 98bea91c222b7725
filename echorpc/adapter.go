package echorpc

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/echo-rpc/wrpc/echorpc/internal/adapter"
	"github.com/echo-rpc/wrpc/echorpc/internal/describe"
	"github.com/labstack/echo/v4"
)

// Adapters (subpackages such as echorpcmcp) serve an instance's functions
// over another protocol. They reach the instance through internal/adapter,
// so that the instance exports nothing for them, and their calls take the
// pipeline as every other call does, through one more edge:
//
//	an adapter's call   the function's data as a body, the function named by the adapter
//
// The call runs on a context of its own (callContext) over a copy of the
// adapter's request (its headers, cookies and address, so the same rules
// hold), and its answer is recorded rather than sent: the adapter turns the
// envelope into its own protocol's answer.

func init() {
	adapter.Of = func(rpc any) adapter.Instance { return adapted{rpc.(*RPC)} }
}

// adapted is an instance as an adapter sees it (adapter.Instance).
type adapted struct{ rpc *RPC }

func (a adapted) Describe(c echo.Context) describe.Instance { return a.rpc.describe(c, false) }

func (a adapted) Open() (onChannels, channels int) { return a.rpc.streams.count() }

func (a adapted) Contract() []byte { return a.rpc.currentDescription().json }

func (a adapted) CrossOriginAllowed(r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
		post := *r // net/http's check lets safe methods through: check it as a POST
		post.Method = http.MethodPost
		r = &post
	}
	return a.rpc.origin.allowed(r)
}

func (a adapted) MayCall(c echo.Context, name string) error {
	fn := (*a.rpc.funcs.Load())[name]
	if fn == nil || fn.stream {
		return errFunction
	}
	who := caller{c: c, sessionName: a.rpc.config.SessionName}
	if failure := who.mayCall(a.rpc, fn); failure != nil {
		return failure
	}
	return nil
}

// adapterFunctionKey is where an adapter's call keeps the name of its
// function, on the call's own context.
const adapterFunctionKey = "echorpc.adapter.function"

var adapterEdge = &edge{decode: decodeAdapterCall}

func (a adapted) Call(ctx context.Context, c echo.Context, name string, data []byte) (int, []byte) {
	r := c.Request().Clone(ctx)
	r.Method = http.MethodPost
	r.Body, r.ContentLength, r.GetBody = io.NopCloser(bytes.NewReader(data)), int64(len(data)), nil
	r.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	r.Header.Set(echo.HeaderAccept, echo.MIMEApplicationJSON) // not an event stream: a stream is refused
	w := &recorded{header: http.Header{}}
	cc := newCallContext(c, w)
	cc.SetRequest(r)
	cc.Set(adapterFunctionKey, name)
	_ = a.rpc.serve(adapterEdge)(cc) // the pipeline answers every failure itself, in w
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.status, w.body.Bytes()
}

// decodeAdapterCall reads an adapter's call: the body is the data, as at a
// function's URL, and the function is the one the adapter names.
func decodeAdapterCall(x *exchange, body []byte) ([]item, writer, *Error) {
	name, _ := x.c.Get(adapterFunctionKey).(string)
	fn := x.funcs[name]
	if fn == nil {
		return nil, nil, errFunction
	}
	if fn.download {
		x.one[0] = item{fn: fn, v: v11, refused: x.errDownloadRoute(fn)}
		return x.one[:], writeEnvelope, nil
	}
	data, failure := checkData(body, x.rpc.config.MaxDepth)
	x.one[0] = item{fn: fn, v: v11, data: data, refused: failure}
	return x.one[:], writeEnvelope, nil
}

// recorded is the response of an adapter's call: its status, headers and
// body, kept for the adapter.
type recorded struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorded) Header() http.Header { return w.header }

func (w *recorded) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *recorded) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}
