// Package routerbench measures berth's router against the unit behind it:
// the same closed-loop load, straight to the unit's port and through the
// router, in the same run, alternating so that a burst of load from
// elsewhere on the machine does not land on one side only.
//
// Compare drives any two targets (bench/cmd/berthbench can point it at a
// berthd router and a real unit); InProcess starts a unit and a router in
// this process for `go test -bench` and quick runs.
package routerbench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/router"
)

// Target is where a load goes.
type Target struct {
	Name string
	// URL is the base URL the load connects to: http://host:port.
	URL string
	// Host is the Host header; empty means the URL's.
	Host string
}

// Config shapes the load. Zero values take the defaults.
type Config struct {
	// Conns is the number of concurrent keep-alive connections, each
	// sending its next request when the last answer is read (default 32).
	Conns int
	// Warmup is run before each round and not measured (default 500ms).
	Warmup time.Duration
	// Window is the measured time of a round (default 2s).
	Window time.Duration
	// Rounds is how many rounds each target gets, alternating (default 2).
	Rounds int
	// Path is the path requested (default "/").
	Path string
}

func (c *Config) setDefaults() {
	if c.Conns <= 0 {
		c.Conns = 32
	}
	if c.Warmup <= 0 {
		c.Warmup = 500 * time.Millisecond
	}
	if c.Window <= 0 {
		c.Window = 2 * time.Second
	}
	if c.Rounds <= 0 {
		c.Rounds = 2
	}
	if c.Path == "" {
		c.Path = "/"
	}
}

// Result is what the load measured on one target over all its rounds.
type Result struct {
	Target    string
	Requests  int
	Window    time.Duration // measured time, all rounds together
	PerSecond float64
	P50, P99  time.Duration
	// CPUPerRequest is this process's CPU time in the measured windows
	// per request. With InProcess targets it is the client's and the
	// unit's (and the router's, when routed), so the difference between
	// the two targets is what the router costs.
	CPUPerRequest time.Duration
	// Rounds are the requests per second of each round.
	Rounds []float64
}

// Report compares the router with the unit it proxies to.
type Report struct {
	Direct, Routed Result
	// Ratio is Routed.PerSecond / Direct.PerSecond.
	Ratio float64
}

func (r Report) String() string {
	return fmt.Sprintf("direct %.0f req/s (p50 %s, p99 %s, CPU %s/req), routed %.0f req/s (p50 %s, p99 %s, CPU %s/req): %.2fx",
		r.Direct.PerSecond, r.Direct.P50, r.Direct.P99, r.Direct.CPUPerRequest,
		r.Routed.PerSecond, r.Routed.P50, r.Routed.P99, r.Routed.CPUPerRequest, r.Ratio)
}

// Compare loads direct and routed in turn, cfg.Rounds times each. Every
// answer must be a 200 with the body the first answer of direct had.
func Compare(ctx context.Context, cfg Config, direct, routed Target) (Report, error) {
	cfg.setDefaults()
	want, err := fetch(ctx, http.DefaultClient, direct, cfg.Path)
	if err != nil {
		return Report{}, fmt.Errorf("routerbench: %s: %w", direct.Name, err)
	}
	targets := []Target{direct, routed}
	lat := make([][]time.Duration, len(targets))
	cpu := make([]time.Duration, len(targets))
	perRound := make([][]float64, len(targets))
	for range cfg.Rounds {
		for i, t := range targets {
			l, used, err := closedLoop(ctx, cfg, t, want)
			if err != nil {
				return Report{}, fmt.Errorf("routerbench: %s: %w", t.Name, err)
			}
			lat[i] = append(lat[i], l...)
			cpu[i] += used
			perRound[i] = append(perRound[i], float64(len(l))/cfg.Window.Seconds())
		}
	}
	res := make([]Result, len(targets))
	for i, t := range targets {
		slices.Sort(lat[i])
		window := time.Duration(cfg.Rounds) * cfg.Window
		res[i] = Result{
			Target: t.Name, Requests: len(lat[i]), Window: window,
			PerSecond: float64(len(lat[i])) / window.Seconds(),
			P50:       percentile(lat[i], 50), P99: percentile(lat[i], 99),
			Rounds: perRound[i],
		}
		if len(lat[i]) > 0 {
			res[i].CPUPerRequest = cpu[i] / time.Duration(len(lat[i]))
		}
	}
	rep := Report{Direct: res[0], Routed: res[1]}
	if rep.Direct.PerSecond > 0 {
		rep.Ratio = rep.Routed.PerSecond / rep.Direct.PerSecond
	}
	return rep, nil
}

// percentile is the p-th percentile of sorted (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// newTransport keeps one keep-alive connection per worker.
func newTransport(conns int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		DisableCompression:  true,
	}
}

// closedLoop runs cfg.Conns workers against t for cfg.Warmup and then
// cfg.Window, and returns the latency of each request that started and
// ended inside the window, and the CPU time the process used in it.
func closedLoop(ctx context.Context, cfg Config, t Target, want []byte) ([]time.Duration, time.Duration, error) {
	tr := newTransport(cfg.Conns)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	from := time.Now().Add(cfg.Warmup)
	until := from.Add(cfg.Window)
	lat := make([][]time.Duration, cfg.Conns)
	var wg sync.WaitGroup
	var cpu time.Duration
	wg.Go(func() {
		cpu0, err := waitCPU(ctx, from)
		if err != nil {
			return
		}
		cpu1, err := waitCPU(ctx, until)
		if err == nil {
			cpu = cpu1 - cpu0
		}
	})
	for w := range cfg.Conns {
		wg.Go(func() {
			req, err := newRequest(ctx, t, cfg.Path)
			if err != nil {
				cancel(err)
				return
			}
			buf := make([]byte, 0, len(want)+512)
			for ctx.Err() == nil {
				start := time.Now()
				if buf, err = roundTrip(hc, req, buf[:0]); err == nil && !bytes.Equal(buf, want) {
					err = fmt.Errorf("answered %d bytes, not the %d expected", len(buf), len(want))
				}
				if err != nil {
					cancel(err)
					return
				}
				end := time.Now()
				if end.After(until) {
					return
				}
				if !start.Before(from) {
					lat[w] = append(lat[w], end.Sub(start))
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, 0, err
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return all, cpu, nil
}

// waitCPU waits until at and returns the CPU time the process used so far.
func waitCPU(ctx context.Context, at time.Time) (time.Duration, error) {
	select {
	case <-time.After(time.Until(at)):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

func newRequest(ctx context.Context, t Target, path string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL+path, nil)
	if err != nil {
		return nil, err
	}
	if t.Host != "" {
		req.Host = t.Host
	}
	return req, nil
}

// roundTrip sends req and appends the answer's body to buf.
func roundTrip(hc *http.Client, req *http.Request, buf []byte) ([]byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return buf, err
	}
	defer resp.Body.Close()
	w := bytes.NewBuffer(buf)
	if _, err := io.Copy(w, resp.Body); err != nil {
		return buf, err
	}
	if resp.StatusCode != http.StatusOK {
		return buf, fmt.Errorf("status %d: %q", resp.StatusCode, bytes.TrimSpace(w.Bytes()))
	}
	return w.Bytes(), nil
}

func fetch(ctx context.Context, hc *http.Client, t Target, path string) ([]byte, error) {
	req, err := newRequest(ctx, t, path)
	if err != nil {
		return nil, err
	}
	return roundTrip(hc, req, nil)
}

// Body is what the in-process unit answers: 271 bytes of JSON, the size of
// GET /apps/{app} in bench/RESULTS.md.
var Body = []byte(`{"id":"0b0e0f4e-7d1c-4a0e-9b53-3f5b2c9a1d42","name":"app-000042","platform":"go","team_owner":"team-a","teams":["team-a"],"owner":"user-0@example.com","repository_url":"","ip":"app-000042.localhost","deployed":false,"config_version":0,"last_release":0,"created_at":"2026"}`)

// InProcess starts, on loopback in this process, a unit answering Body to
// every request and a router with one app, "bench", routed to it. With
// unitWork > 0 the unit first computes for about that long (SHA-256 over
// a buffer, sized once at start), as an app does; with 0 it answers at
// once, which shows the router at its most expensive relative to the unit.
// Stop shuts both down.
func InProcess(unitWork time.Duration, opts router.Options) (direct, routed Target, stop func() error, err error) {
	unitLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Target{}, Target{}, nil, err
	}
	rounds := workRounds(unitWork)
	unit := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		work(rounds)
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{strconv.Itoa(len(Body))}
		_, _ = w.Write(Body)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = unit.Serve(unitLn) }()

	r, err := router.New(nil, opts)
	if err != nil {
		_ = unit.Close()
		return Target{}, Target{}, nil, err
	}
	table, err := router.NewTable([]router.App{{
		ID: "bench", Name: "bench", Hostnames: []string{"bench.localhost"},
		Backends: []router.Backend{{UnitID: "bench-1", Address: unitLn.Addr().String()}},
	}})
	if err != nil {
		_ = unit.Close()
		return Target{}, Target{}, nil, err
	}
	r.Update(table)
	routerLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = unit.Close()
		return Target{}, Target{}, nil, err
	}
	front := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = front.Serve(routerLn) }()

	stop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := errors.Join(front.Shutdown(ctx), unit.Shutdown(ctx))
		r.CloseIdleConnections()
		return err
	}
	direct = Target{Name: "unit", URL: "http://" + unitLn.Addr().String()}
	routed = Target{Name: "router", URL: "http://" + routerLn.Addr().String(), Host: "bench.localhost"}
	return direct, routed, stop, nil
}

// work hashes a KiB rounds times, each round over the last one's sum.
func work(rounds int) {
	var buf [1024]byte
	for range rounds {
		sum := sha256.Sum256(buf[:])
		copy(buf[:], sum[:])
	}
	workSink.Store(uint32(buf[0]))
}

// workSink keeps the compiler from dropping work.
var workSink atomic.Uint32

// workRounds is how many rounds of work take d: the fastest of a few
// timings, so that other load on the machine inflates it less.
func workRounds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	const probe = 2000
	best := time.Duration(1<<63 - 1)
	for range 5 {
		start := time.Now()
		work(probe)
		best = min(best, time.Since(start))
	}
	return max(1, int(float64(probe)*float64(d)/float64(best)))
}
