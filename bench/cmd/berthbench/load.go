package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is what a load run measured: the operations that completed inside
// the measured window and how long each took.
type result struct {
	ops     int
	window  time.Duration
	latency []time.Duration // sorted
}

func (r result) perSecond() float64 { return float64(r.ops) / r.window.Seconds() }

// percentile returns the p-th percentile latency (nearest rank).
func (r result) percentile(p float64) time.Duration {
	if len(r.latency) == 0 {
		return 0
	}
	i := int(float64(len(r.latency))*p/100+0.5) - 1
	return r.latency[min(max(i, 0), len(r.latency)-1)]
}

func (r result) p50() time.Duration { return r.percentile(50) }
func (r result) p99() time.Duration { return r.percentile(99) }

// closedLoop runs op back to back from workers goroutines, each waiting for
// its answer before sending the next: first for warmup, unmeasured, then
// for window, where every operation that completes is counted and timed.
// op says which of classes kinds of operation it made (a lease request, a
// release); the results are by kind. The first error stops the run.
func closedLoop(ctx context.Context, workers, classes int, warmup, window time.Duration, op func(worker int) (class int, err error)) ([]result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	from := time.Now().Add(warmup)
	until := from.Add(window)
	lat := make([][][]time.Duration, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lat[w] = make([][]time.Duration, classes)
		wg.Go(func() {
			for ctx.Err() == nil {
				start := time.Now()
				class, err := op(w)
				if err != nil {
					cancel(err)
					return
				}
				end := time.Now()
				if end.After(until) {
					return
				}
				if !start.Before(from) {
					lat[w][class] = append(lat[w][class], end.Sub(start))
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	out := make([]result, classes)
	for c := range out {
		var all []time.Duration
		for w := range lat {
			all = append(all, lat[w][c]...)
		}
		slices.Sort(all)
		out[c] = result{ops: len(all), window: window, latency: all}
	}
	return out, nil
}

// forEach runs op(i) for i in [0, n) from workers goroutines and returns
// the first error.
func forEach(ctx context.Context, workers, n int, op func(worker, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := op(w, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// sequential times n calls of op made one after the other.
func sequential(ctx context.Context, n int, op func(i int) error) (result, error) {
	lat := make([]time.Duration, 0, n)
	began := time.Now()
	for i := range n {
		if err := ctx.Err(); err != nil {
			return result{}, err
		}
		start := time.Now()
		if err := op(i); err != nil {
			return result{}, err
		}
		lat = append(lat, time.Since(start))
	}
	window := time.Since(began)
	slices.Sort(lat)
	return result{ops: n, window: window, latency: lat}, nil
}

// httpClient makes the raw HTTP calls of the load: what a CI job or a
// script does, one keep-alive connection per concurrent caller.
type httpClient struct {
	base string
	http *http.Client
}

func newHTTPClient(base string, conns int) *httpClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns
	tr.MaxIdleConnsPerHost = conns
	tr.MaxConnsPerHost = conns
	tr.DisableCompression = true
	return &httpClient{base: base, http: &http.Client{Transport: tr, Timeout: time.Minute}}
}

func (c *httpClient) close() { c.http.CloseIdleConnections() }

// statusError is an answer with an unexpected status.
type statusError struct {
	method, path string
	status       int
	body         []byte
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, bytes.TrimSpace(e.body))
}

// call sends a request with header set and JSON body (when not nil),
// expects 200 and decodes the answer into out (when not nil). It returns
// the raw body.
func (c *httpClient) call(ctx context.Context, method, path string, header map[string]string, body, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{method, path, resp.StatusCode, b}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return b, nil
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "bearer " + token}
}

func apiKey(key string) map[string]string { return map[string]string{"X-API-Key": key} }
