package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the server's Prometheus registry. Each Server has its own, so
// several servers in one test process do not collide.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	handler  http.Handler
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_http_requests_total",
			Help: "HTTP requests by method, route template and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "berth_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route template.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
	}
	m.registry.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&statsCollector{s: s},
	)
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
	s.Observe(func(method, route string, status int, elapsed time.Duration) {
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
		m.latency.WithLabelValues(method, route).Observe(elapsed.Seconds())
	})
	return m
}

// statsCollector reports the state of the control plane at scrape time:
// store size and whatever gauges core exposes (stacks, promotions).
type statsCollector struct{ s *Server }

var (
	storeBytesDesc = prometheus.NewDesc("berth_store_bytes", "Size of the Badger files on disk: part lsm (the .sst tables) or vlog (the value log, whose files are preallocated).", []string{"part"}, nil)
	gaugeDesc      = prometheus.NewDesc("berth_entities", "Entities by kind and state.", []string{"kind", "state"}, nil)
)

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- storeBytesDesc
	ch <- gaugeDesc
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lsm, vlog := c.s.core.StoreSize()
	ch <- prometheus.MustNewConstMetric(storeBytesDesc, prometheus.GaugeValue, float64(lsm), "lsm")
	ch <- prometheus.MustNewConstMetric(storeBytesDesc, prometheus.GaugeValue, float64(vlog), "vlog")
	gauges, err := c.s.core.Gauges(ctx)
	if err != nil {
		c.s.log.Warn("collect gauges", "err", err)
	}
	for _, g := range gauges {
		ch <- prometheus.MustNewConstMetric(gaugeDesc, prometheus.GaugeValue, g.Value, g.Kind, g.State)
	}
}

// metricsEndpoint serves the Prometheus exposition to admins.
func (s *Server) metricsEndpoint(w http.ResponseWriter, r *http.Request) error {
	if !identity(r).IsAdmin() {
		return forbiddenMetrics(identity(r).Email())
	}
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}

// Registerer is the registry /metrics serves, for the other parts of berthd
// (the router) to register their metrics on.
func (s *Server) Registerer() prometheus.Registerer { return s.metrics.registry }
