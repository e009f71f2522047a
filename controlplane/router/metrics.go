package router

import (
	"github.com/prometheus/client_golang/prometheus"
)

// UnknownApp is the app label of requests for a hostname no app has, so
// that unknown hosts add one series, not one per host. App names start
// with a letter; this one cannot collide.
const UnknownApp = "_unknown"

// Error reasons: the reason label of berth_router_errors_total.
const (
	reasonUnknownHost = "unknown_host"
	reasonNoUnit      = "no_unit"
	reasonUnreachable = "upstream_unreachable"
	reasonFailed      = "upstream_failed"
	reasonTimeout     = "upstream_timeout"
	// reasonClientGone is no router error: the client left before an
	// answer; it is counted as a 499 request only.
	reasonClientGone = "client_gone"
)

var appReasons = []string{reasonNoUnit, reasonUnreachable, reasonFailed, reasonTimeout}

type metrics struct {
	requests     *prometheus.CounterVec
	errors       *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	dialFailures *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_router_requests_total",
			Help: "Requests the router answered, by app and status class (1xx-5xx), router pages included. Unknown hosts count under app=\"" + UnknownApp + "\".",
		}, []string{"app", "class"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_router_errors_total",
			Help: "Requests the router answered itself: reason no_unit (503), upstream_unreachable (502: no unit accepted a connection), upstream_failed (502: a unit connected but did not answer), upstream_timeout (504), unknown_host (404).",
		}, []string{"app", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "berth_router_upstream_duration_seconds",
			Help:    "Time from sending a request to a unit to its response headers, by app.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"app"}),
		dialFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_router_unit_dial_failures_total",
			Help: "Connection attempts to units that failed, by app; the request went on to another unit when there was one.",
		}, []string{"app"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.errors, m.latency, m.dialFailures} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// appMetrics are one app's series, looked up once per app and Update so
// that a request touches no label map.
type appMetrics struct {
	requests    [6]prometheus.Counter // by status / 100; [0] for anything else
	errors      map[string]prometheus.Counter
	latency     prometheus.Observer
	dialFailure prometheus.Counter
}

var classes = [6]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

func (m *metrics) forApp(app string) *appMetrics {
	am := m.answers(app, appReasons)
	am.latency = m.latency.WithLabelValues(app)
	am.dialFailure = m.dialFailures.WithLabelValues(app)
	return am
}

// forUnknownHosts has no upstream series: no unit is ever asked.
func (m *metrics) forUnknownHosts() *appMetrics {
	return m.answers(UnknownApp, []string{reasonUnknownHost})
}

func (m *metrics) answers(app string, reasons []string) *appMetrics {
	am := &appMetrics{errors: make(map[string]prometheus.Counter, len(reasons))}
	for i, c := range classes {
		am.requests[i] = m.requests.WithLabelValues(app, c)
	}
	for _, r := range reasons {
		am.errors[r] = m.errors.WithLabelValues(app, r)
	}
	return am
}

// forget drops an app's series once no route has it.
func (m *metrics) forget(app string) {
	m.requests.DeletePartialMatch(prometheus.Labels{"app": app})
	m.errors.DeletePartialMatch(prometheus.Labels{"app": app})
	m.latency.DeleteLabelValues(app)
	m.dialFailures.DeleteLabelValues(app)
}

func (am *appMetrics) answered(status int) {
	c := status / 100
	if c < 1 || c > 5 {
		c = 0
	}
	am.requests[c].Inc()
}
