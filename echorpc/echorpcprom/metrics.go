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
// The instance label is the route's path, such as "/rpc/tester". A
// rejection's function label is "" until the request names a registered
// function, so callers cannot grow the label set.
package echorpcprom

import (
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
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
	config.Registerer.MustRegister(m.calls, m.failures, m.duration, m.rejections, m.open, m.items)
	return m
}

// Interceptor records each call. Put it first among an instance's
// Config.Interceptors to time the others too.
func (m *Metrics) Interceptor() echorpc.Interceptor {
	return func(next echorpc.CallFunc) echorpc.CallFunc {
		return func(c echo.Context, call echorpc.Call) echorpc.Result {
			instance := call.Instance
			if call.Stream && !call.Rejected {
				open := m.open.WithLabelValues(instance, call.Function)
				open.Inc()
				defer open.Dec()
			}
			start := time.Now()
			res := next(c, call)
			if call.Stream && res.Items > 0 {
				m.items.WithLabelValues(instance, call.Function).Add(float64(res.Items))
			}
			if call.Rejected {
				m.rejections.WithLabelValues(instance, call.Function, res.Class()).Inc()
				return res
			}
			m.duration.WithLabelValues(instance, call.Function).Observe(time.Since(start).Seconds())
			m.calls.WithLabelValues(instance, call.Function).Inc()
			if class := res.Class(); class != "ok" {
				m.failures.WithLabelValues(instance, call.Function, class).Inc()
			}
			return res
		}
	}
}
