package router

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// statusClientClosed is what the metrics record for a client that left
// before an answer (nginx's 499); the client sees nothing.
const statusClientClosed = 499

// serveError is the ReverseProxy's ErrorHandler: RoundTrip gave up, or
// ReverseProxy failed before the unit's answer was written.
func (rt *route) serveError(w http.ResponseWriter, req *http.Request, err error) {
	reason := reasonFailed
	var pe *proxyError
	if errors.As(err, &pe) {
		reason = pe.reason
	}
	if reason == reasonClientGone || req.Context().Err() != nil {
		rt.metrics.answered(statusClientClosed)
		w.WriteHeader(statusClientClosed)
		return
	}
	rt.fail(w, reason)
}

// fail answers with the router's page for reason.
func (rt *route) fail(w http.ResponseWriter, reason string) {
	var status int
	var msg string
	switch reason {
	case reasonNoUnit:
		status, msg = http.StatusServiceUnavailable, fmt.Sprintf("app %q has no started unit.", rt.app)
	case reasonUnreachable:
		status, msg = http.StatusBadGateway, fmt.Sprintf("no unit of app %q accepted a connection.", rt.app)
	case reasonTimeout:
		status, msg = http.StatusGatewayTimeout, fmt.Sprintf("no unit of app %q answered within %s.", rt.app, rt.r.opts.ResponseHeaderTimeout)
	default:
		reason = reasonFailed
		status, msg = http.StatusBadGateway, fmt.Sprintf("a unit of app %q failed before it answered.", rt.app)
	}
	rt.metrics.errors[reason].Inc()
	rt.metrics.answered(status)
	writePage(w, status, reason, msg)
}

func (r *Router) unknownHost(w http.ResponseWriter, host string) {
	const maxShown = 100
	if len(host) > maxShown {
		host = host[:maxShown] + "..."
	}
	msg := fmt.Sprintf("no app answers at host %q.", host)
	if r.opts.Domain != "" {
		msg += fmt.Sprintf(" Apps answer at <app>.%s and at their cnames.", r.opts.Domain)
	}
	r.unknown.errors[reasonUnknownHost].Inc()
	r.unknown.answered(http.StatusNotFound)
	writePage(w, http.StatusNotFound, reasonUnknownHost, msg)
}

// writePage writes a small plain-text page: the status, what happened
// and who answered. X-Berth-Router carries the reason for scripts.
func writePage(w http.ResponseWriter, status int, reason, msg string) {
	page := strconv.Itoa(status) + " " + http.StatusText(status) + "\n\n" + msg + "\n\n-- berth router\n"
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(page)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Berth-Router", reason)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, page)
}
