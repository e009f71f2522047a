package router_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/router"
	"github.com/berthdev/terraform-provider-berth/controlplane/router/routerbench"
)

// BenchmarkProxy sends requests from 32 keep-alive connections to one
// unit, straight (direct) and through the router (routed), client, router
// and unit sharing the process's cores. Besides ns/op it reports req/s
// and the p99 latency.
func BenchmarkProxy(b *testing.B) {
	direct, routed, stop, err := routerbench.InProcess(0, router.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := stop(); err != nil {
			b.Error(err)
		}
	})
	for _, t := range []routerbench.Target{direct, routed} {
		b.Run(t.Name, func(b *testing.B) { benchTarget(b, t) })
	}
}

func benchTarget(b *testing.B, t routerbench.Target) {
	const conns = 32
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(conns / max(1, testingProcs()))
	b.ReportAllocs()
	began := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		req, err := http.NewRequest(http.MethodGet, t.URL+"/", nil)
		if err != nil {
			b.Error(err)
			return
		}
		req.Host = t.Host
		if req.Host == "" {
			req.Host = req.URL.Host
		}
		var mine []time.Duration
		var buf bytes.Buffer
		for pb.Next() {
			start := time.Now()
			resp, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			buf.Reset()
			_, err = io.Copy(&buf, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(buf.Bytes(), routerbench.Body) {
				b.Errorf("%s: %d, %v", t.Name, resp.StatusCode, err)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(began)
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}

// BenchmarkCompare is the figure for bench/RESULTS.md: routerbench.Compare
// with its defaults (32 connections, 2 alternating rounds of 2s per side),
// to a unit that answers at once (the router's worst case: it costs as
// much as the unit) and to one that works 100µs per request, a light app.
// One iteration each; read the ratio, req/s, p99 and CPU per request,
// ns/op is the length of the run.
func BenchmarkCompare(b *testing.B) {
	for _, work := range []time.Duration{0, 100 * time.Microsecond} {
		b.Run("unit-work="+work.String(), func(b *testing.B) {
			direct, routed, stop, err := routerbench.InProcess(work, router.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				if err := stop(); err != nil {
					b.Error(err)
				}
			}()
			var rep routerbench.Report
			for b.Loop() {
				if rep, err = routerbench.Compare(context.Background(), routerbench.Config{}, direct, routed); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(rep.Ratio, "ratio")
			b.ReportMetric(rep.Direct.PerSecond, "direct-req/s")
			b.ReportMetric(rep.Routed.PerSecond, "routed-req/s")
			b.ReportMetric(float64(rep.Direct.P99.Microseconds()), "direct-p99-µs")
			b.ReportMetric(float64(rep.Routed.P99.Microseconds()), "routed-p99-µs")
			b.ReportMetric(float64((rep.Routed.CPUPerRequest - rep.Direct.CPUPerRequest).Microseconds()), "router-CPU-µs/req")
			b.Log(rep)
		})
	}
}

func testingProcs() int { return runtime.GOMAXPROCS(0) }
