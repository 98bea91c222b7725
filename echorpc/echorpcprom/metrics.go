// Package echorpcprom records Prometheus metrics for the calls of echorpc
// instances, labelled by instance and function: with one route for every
// function, Echo's own request metrics see only "POST /rpc".
//
//	m := echorpcprom.New(echorpcprom.Config{})
//	echorpc.New(e.Group("/rpc/tester"), echorpc.Config{
//		Interceptors: []echorpc.Interceptor{m.Interceptor()},
//	})
//	e.GET("/metrics", echo.WrapHandler(promhttp.Handler()))
//
// It records:
//
//	wrpc_calls_total{instance, function}                   calls that reached a function
//	wrpc_call_failures_total{instance, function, class}    those that failed, by class (see echorpc.Result.Class)
//	wrpc_call_duration_seconds{instance, function}         their latency histogram
//	wrpc_rejections_total{instance, function, class}       requests refused before a function ran
//	wrpc_streams_open{instance, function}                  streams open now (see echorpc.Stream)
//	wrpc_stream_items_total{instance, function}            items that streams sent
//
// and, for each instance given to [Metrics.Watch], read when scraped:
//
//	wrpc_channels_open{instance}                           shared stream connections open now (echorpc.Config.MaxChannels)
//	wrpc_channel_streams_open{instance}                    the streams they carry now (counted in wrpc_streams_open too)
//
// The instance label is the route's path, such as "/rpc/tester". A
// rejection's function label is "" until the request names a registered
// function, so callers cannot grow the label set.
package echorpcprom

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/internal/adapter"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures the metrics.
type Config struct {
	// Namespace prefixes the metric names.
	// Optional. Default "wrpc".
	Namespace string
	// Registerer registers the metrics.
	// Optional. Default prometheus.DefaultRegisterer.
	Registerer prometheus.Registerer
	// Buckets are the latency histogram's buckets, in seconds.
	// Optional. Default prometheus.DefBuckets.
	Buckets []float64
}

// Metrics holds the collectors; its Interceptor records into them.
type Metrics struct {
	calls      *prometheus.CounterVec
	failures   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	rejections *prometheus.CounterVec
	open       *prometheus.GaugeVec
	items      *prometheus.CounterVec

	bound sync.Map // [2]string{instance, function} → *bound
	live  liveCollector
}

// New makes and registers the metrics. Registering twice on one
// Registerer panics, as with any Prometheus collector; make one Metrics and
// share its Interceptor between instances.
func New(config Config) *Metrics {
	if config.Namespace == "" {
		config.Namespace = "wrpc"
	}
	if config.Registerer == nil {
		config.Registerer = prometheus.DefaultRegisterer
	}
	if config.Buckets == nil {
		config.Buckets = prometheus.DefBuckets
	}
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: config.Namespace, Name: "calls_total",
			Help: "Calls of weeRPC functions.",
		}, []string{"instance", "function"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: config.Namespace, Name: "call_failures_total",
			Help: "Calls of weeRPC functions that failed, by class: failed (application failure), invalid (data refused), internal (error or panic), deadline, and the classes of other HTTP statuses.",
		}, []string{"instance", "function", "class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: config.Namespace, Name: "call_duration_seconds",
			Help:    "Time spent in weeRPC functions, interceptors inside this one included.",
			Buckets: config.Buckets,
		}, []string{"instance", "function"}),
	}
	m.rejections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: config.Namespace, Name: "rejections_total",
		Help: "Requests refused before a weeRPC function ran, by class: forbidden, unauthorized, not_found, invalid, too_large, unsupported, overloaded, deadline.",
	}, []string{"instance", "function", "class"})
	m.open = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: config.Namespace, Name: "streams_open",
		Help: "Streams of weeRPC streaming functions open now.",
	}, []string{"instance", "function"})
	m.items = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: config.Namespace, Name: "stream_items_total",
		Help: "Items sent by streams of weeRPC streaming functions.",
	}, []string{"instance", "function"})
	m.live.channels = prometheus.NewDesc(prometheus.BuildFQName(config.Namespace, "", "channels_open"),
		"Shared stream connections (WebSockets at Prefix/channel.ws) open now.", []string{"instance"}, nil)
	m.live.streams = prometheus.NewDesc(prometheus.BuildFQName(config.Namespace, "", "channel_streams_open"),
		"Streams of weeRPC streaming functions open now on shared stream connections.", []string{"instance"}, nil)
	config.Registerer.MustRegister(m.calls, m.failures, m.duration, m.rejections, m.open, m.items, &m.live)
	return m
}

// Watch reports what rpc has open when the metrics are scraped: its shared
// stream connections and the streams on them, apart (a connection carries
// any number of streams, and MaxStreams and MaxChannels bound each). An
// interceptor cannot count them: a connection is not a call. Watch an
// instance once.
func (m *Metrics) Watch(rpc *echorpc.RPC) {
	in := adapter.Of(rpc)
	m.live.mu.Lock()
	defer m.live.mu.Unlock()
	m.live.instances = append(m.live.instances, watched{path: in.Describe(nil).Path, in: in})
}

// liveCollector reads what the watched instances have open.
type liveCollector struct {
	channels, streams *prometheus.Desc

	mu        sync.Mutex
	instances []watched
}

type watched struct {
	path string
	in   adapter.Instance
}

func (o *liveCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- o.channels
	ch <- o.streams
}

func (o *liveCollector) Collect(ch chan<- prometheus.Metric) {
	o.mu.Lock()
	instances := o.instances
	o.mu.Unlock()
	for _, w := range instances {
		onChannels, channels := w.in.Open()
		ch <- prometheus.MustNewConstMetric(o.channels, prometheus.GaugeValue, float64(channels), w.path)
		ch <- prometheus.MustNewConstMetric(o.streams, prometheus.GaugeValue, float64(onChannels), w.path)
	}
}

// Interceptor records each call. Put it first among an instance's
// Config.Interceptors to time the others too.
//
// The collectors of each instance and function are looked up once, on
// their first use, not per call: echorpc chains the interceptor once per
// function, so the chain keeps them.
func (m *Metrics) Interceptor() echorpc.Interceptor {
	return func(next echorpc.CallFunc) echorpc.CallFunc {
		var last atomic.Pointer[bound] // the function this chain served last
		return func(c echo.Context, call echorpc.Call) echorpc.Result {
			b := last.Load()
			if b == nil || b.function != call.Function || b.instance != call.Instance {
				b = m.bind(call.Instance, call.Function)
				last.Store(b)
			}
			if call.Stream && !call.Rejected {
				open := b.streams(m).open
				open.Inc()
				defer open.Dec()
			}
			start := monotonic()
			res := next(c, call)
			if call.Stream && res.Items > 0 {
				b.streams(m).items.Add(float64(res.Items))
			}
			if call.Rejected {
				b.byClass(&b.rejections, m.rejections, res.Class()).Inc()
				return res
			}
			calls := b.calls(m)
			calls.duration.Observe((monotonic() - start).Seconds())
			calls.total.Inc()
			if class := res.Class(); class != "ok" {
				b.byClass(&b.failures, m.failures, class).Inc()
			}
			return res
		}
	}
}

// bound holds the collectors of one instance and function, each group
// made on its first use, so that a function's refusals alone or a
// function that does not stream add no series.
type bound struct {
	instance, function string

	call       atomic.Pointer[callCollectors]
	stream     atomic.Pointer[streamCollectors]
	failures   sync.Map // class → prometheus.Counter
	rejections sync.Map // class → prometheus.Counter
}

type callCollectors struct {
	total    prometheus.Counter
	duration prometheus.Observer
}

type streamCollectors struct {
	open  prometheus.Gauge
	items prometheus.Counter
}

// bind returns the collectors of an instance's function, made once.
func (m *Metrics) bind(instance, function string) *bound {
	k := [2]string{instance, function}
	if b, ok := m.bound.Load(k); ok {
		return b.(*bound)
	}
	b, _ := m.bound.LoadOrStore(k, &bound{instance: instance, function: function})
	return b.(*bound)
}

// calls returns the calls counter and duration histogram of b.
func (b *bound) calls(m *Metrics) *callCollectors {
	if c := b.call.Load(); c != nil {
		return c
	}
	c := &callCollectors{
		total:    m.calls.WithLabelValues(b.instance, b.function),
		duration: m.duration.WithLabelValues(b.instance, b.function),
	}
	b.call.CompareAndSwap(nil, c) // a racing call's are the same collectors
	return c
}

// streams returns the open streams gauge and items counter of b.
func (b *bound) streams(m *Metrics) *streamCollectors {
	if s := b.stream.Load(); s != nil {
		return s
	}
	s := &streamCollectors{
		open:  m.open.WithLabelValues(b.instance, b.function),
		items: m.items.WithLabelValues(b.instance, b.function),
	}
	b.stream.CompareAndSwap(nil, s)
	return s
}

// byClass returns the counter of vec for b's instance, function and class,
// made once.
func (b *bound) byClass(cache *sync.Map, vec *prometheus.CounterVec, class string) prometheus.Counter {
	if c, ok := cache.Load(class); ok {
		return c.(prometheus.Counter)
	}
	c, _ := cache.LoadOrStore(class, vec.WithLabelValues(b.instance, b.function, class))
	return c.(prometheus.Counter)
}

// epoch is the clock's origin for monotonic.
var epoch = time.Now()

// monotonic is the time since epoch: one read of the monotonic clock, where
// time.Now also reads the wall clock (on a virtual machine each read can
// cost tens of nanoseconds, a good part of the interceptor's cost).
func monotonic() time.Duration { return time.Since(epoch) }
