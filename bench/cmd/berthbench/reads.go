package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"
)

const (
	readConns  = 32
	readRounds = 2
	warmup     = time.Second
)

// reads compares GET /apps/{app} on berthd with a bare net/http server
// answering the same bytes and headers, from the same client at the same
// concurrency. The two alternate, readRounds times each, so that a burst of
// load from elsewhere on the machine does not land on one side only.
func (b *bench) reads(ctx context.Context) error {
	srv, err := b.startBerthd(ctx, "reads")
	if err != nil {
		return err
	}
	defer srv.stop()
	f, err := newFixture(ctx, srv, 1, readConns)
	if err != nil {
		return err
	}
	defer f.close()
	if _, err := f.seedApps(ctx, 0, 100); err != nil {
		return err
	}
	path := "/apps/" + appName(42)
	auth := bearer(f.users[0].token)

	want, headers, err := sample(ctx, srv.url+path, auth)
	if err != nil {
		return err
	}
	bodyPath := filepath.Join(b.dir, "reads-body.json")
	if err := os.WriteFile(bodyPath, want, 0o644); err != nil {
		return err
	}
	base, err := startBaseline(ctx, bodyPath, headers, filepath.Join(b.dir, "baseline.log"))
	if err != nil {
		return err
	}
	defer base.stop()

	targets := []*readTarget{
		{name: "baseline", srv: base, http: newHTTPClient(base.url, readConns)},
		{name: "berthd", srv: srv, http: f.http},
	}
	for round := range readRounds {
		for _, t := range targets {
			b.logf("reads: %s, round %d", t.name, round+1)
			wait := t.srv.profileCPU(ctx, b.cfg.window, filepath.Join(b.dir, fmt.Sprintf("reads-%s-%d.pprof", t.name, round+1)))
			cpu0, err := t.srv.cpuTime()
			if err != nil {
				return err
			}
			self0, err := ownCPUTime()
			if err != nil {
				return err
			}
			rs, err := closedLoop(ctx, readConns, 1, warmup, b.cfg.window, func(int) (int, error) {
				got, err := t.http.call(ctx, http.MethodGet, path, auth, nil, nil)
				if err == nil && !bytes.Equal(got, want) {
					err = fmt.Errorf("%s answered GET %s with %d bytes, not the %d expected", t.name, path, len(got), len(want))
				}
				return 0, err
			})
			if err != nil {
				return err
			}
			r := rs[0]
			cpu1, err := t.srv.cpuTime()
			if err != nil {
				return err
			}
			self1, err := ownCPUTime()
			if err != nil {
				return err
			}
			if err := wait(); err != nil {
				return err
			}
			t.results = append(t.results, r)
			// The server's CPU covers the warm-up too, so it is divided by
			// the requests of the whole run, counted at the measured rate.
			t.cpu += cpu1 - cpu0
			t.clientCPU += self1 - self0
			t.requests += r.perSecond() * (warmup + b.cfg.window).Seconds()
		}
	}
	targets[0].http.close()

	baseR, berthR := merge(targets[0].results...), merge(targets[1].results...)
	rate := berthR.perSecond() / baseR.perSecond()
	b.report.add(row{
		figure:   fmt.Sprintf("reads: GET /apps/{app}, %d connections", readConns),
		berth:    perSec(berthR.perSecond()),
		baseline: perSec(baseR.perSecond()) + " (bare net/http)",
		ratio:    ratio(rate),
		target:   "≥ 0.50x",
		met:      rate >= 0.5,
	})
	b.report.add(row{
		figure:   "reads: p50 / p99 latency",
		berth:    ms(berthR.p50()) + " / " + ms(berthR.p99()),
		baseline: ms(baseR.p50()) + " / " + ms(baseR.p99()),
		ratio:    ratio(float64(berthR.p50())/float64(baseR.p50())) + " / " + ratio(float64(berthR.p99())/float64(baseR.p99())),
	})
	var lines []string
	lines = append(lines,
		fmt.Sprintf("`GET %s` as a member of the app's team (session token), %d keep-alive connections in a closed loop, %d alternating rounds of %s (after %s of warm-up) per server. Every answer is checked byte for byte. The baseline is a bare `net/http` handler in its own process writing the body and headers berthd gave (%d bytes of JSON).", path, readConns, readRounds, b.cfg.window, warmup, len(want)),
		"",
		"| server | requests/s | p50 | p99 | server CPU per request | load generator CPU per request |",
		"|---|---|---|---|---|---|",
	)
	for _, t := range targets {
		r := merge(t.results...)
		lines = append(lines, fmt.Sprintf("| %s | %s | %s | %s | %.0f µs | %.0f µs |", t.name, perSec(r.perSecond()), ms(r.p50()), ms(r.p99()), float64(t.cpu.Microseconds())/t.requests, float64(t.clientCPU.Microseconds())/t.requests))
	}
	perRequest := func(t *readTarget) float64 { return float64((t.cpu + t.clientCPU).Microseconds()) / t.requests }
	lines = append(lines, "", fmt.Sprintf("Server and load generator share the machine's cores, so when the cores are saturated requests/s follow the CPU a request costs on both sides together: %.0f µs for the baseline, %.0f µs for berthd, a ratio of %s. That ratio depends much less than requests/s on what else runs on the machine.", perRequest(targets[0]), perRequest(targets[1]), ratio(perRequest(targets[0])/perRequest(targets[1]))), "", "Per round (requests/s):", "")
	for _, t := range targets {
		var rates []string
		for _, r := range t.results {
			rates = append(rates, perSec(r.perSecond()))
		}
		lines = append(lines, fmt.Sprintf("- %s: %v", t.name, rates))
	}
	b.report.section("Reads", lines...)
	return nil
}

type readTarget struct {
	name      string
	srv       *server
	http      *httpClient
	results   []result
	cpu       time.Duration
	clientCPU time.Duration
	requests  float64
}

// sample makes one request and returns the body and the response headers
// to replay, as "Name: value" (all but those net/http sets itself).
func sample(ctx context.Context, url string, header map[string]string) ([]byte, []string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, body.Bytes())
	}
	var headers []string
	for k, vs := range resp.Header {
		if k == "Date" || k == "Content-Length" {
			continue
		}
		for _, v := range vs {
			headers = append(headers, k+": "+v)
		}
	}
	slices.Sort(headers)
	return body.Bytes(), headers, nil
}

// merge pools the runs of one measurement.
func merge(rs ...result) result {
	var m result
	for _, r := range rs {
		m.ops += r.ops
		m.window += r.window
		m.latency = append(m.latency, r.latency...)
	}
	slices.Sort(m.latency)
	return m
}
