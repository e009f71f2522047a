package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const leaseClients = 64

// leaseWorkload names the branch a client asks for on each cycle.
type leaseWorkload struct {
	name, about string
	branch      func(client, cycle int) string
}

var leaseWorkloads = []leaseWorkload{
	{"own-branch", "every client asks for its own branch again and gets its stack back",
		func(client, _ int) string { return fmt.Sprintf("ci-%d", client) }},
	{"new-branch", "every request is for a new branch and takes the available stack used longest ago",
		func(client, cycle int) string { return fmt.Sprintf("ci-%d-%d", client, cycle) }},
}

// leases runs lease cycles (POST /stacks/request, then POST /stacks/release
// with the lease id) from leaseClients clients, each in its own project per
// workload. The tool tracks who holds which stack: a stack handed to a
// client while another holds it is counted, and the server refuses (409) the
// release of a lease it has since given away, which stops the run. The
// baseline is the rate at which the same disk completes synced writes one
// after the other: what one transaction per lease would allow.
func (b *bench) leases(ctx context.Context) error {
	sync, err := syncs(ctx, b.dir, 2*time.Second)
	if err != nil {
		return err
	}
	syncRate := sync.perSecond()
	srv, err := b.startBerthd(ctx, "leases")
	if err != nil {
		return err
	}
	defer srv.stop()
	f, err := newFixture(ctx, srv, 1, leaseClients)
	if err != nil {
		return err
	}
	defer f.close()

	lines := []string{
		fmt.Sprintf("%d clients, each a keep-alive connection, in a closed loop of POST /stacks/request then POST /stacks/release with the lease id, for %s after %s of warm-up, in a project of its own per workload. One lease = one request + one release. The baseline: synced 512-byte appends to one file in the data directory's file system, one after the other, for 2 s: %s, p50 %s, p99 %s, slowest %s. Slow syncs (other processes writing to the disk) show in the leases' tail latency.", leaseClients, b.cfg.window, warmup, perSec(syncRate), ms(sync.p50()), ms(sync.p99()), ms(sync.percentile(100))),
		"",
		"| workload | leases/s | request p50 | request p99 | release p99 | berthd CPU per lease | stacks held twice | stacks in project |",
		"|---|---|---|---|---|---|---|---|",
	}
	for _, wl := range leaseWorkloads {
		b.logf("leases: %s", wl.name)
		key, err := f.createProject(ctx, "leases-"+wl.name)
		if err != nil {
			return err
		}
		h := &holders{by: map[string]int{}}
		held := make([]*stackJSON, leaseClients)
		cycle := make([]int, leaseClients)
		wait := srv.profileCPU(ctx, b.cfg.window, filepath.Join(b.dir, "leases-"+wl.name+".pprof"))
		cpu0, err := srv.cpuTime()
		if err != nil {
			return err
		}
		rs, err := closedLoop(ctx, leaseClients, 2, warmup, b.cfg.window, func(w int) (int, error) {
			if st := held[w]; st != nil {
				h.give(st.StackName)
				held[w] = nil
				return 1, f.releaseStack(ctx, key, *st)
			}
			var st stackJSON
			if err := f.requestStack(ctx, key, wl.branch(w, cycle[w]), &st); err != nil {
				return 0, err
			}
			cycle[w]++
			h.take(st.StackName, w)
			held[w] = &st
			return 0, nil
		})
		if err != nil {
			return err
		}
		cpu1, err := srv.cpuTime()
		if err != nil {
			return err
		}
		if err := wait(); err != nil {
			return err
		}
		for w, st := range held {
			if st != nil {
				h.give(st.StackName)
				if err := f.releaseStack(ctx, key, *st); err != nil {
					return fmt.Errorf("release what client %d holds: %w", w, err)
				}
			}
		}
		var list struct{ Stacks []stackJSON }
		if _, err := f.http.call(ctx, "GET", "/stacks", apiKey(key), nil, &list); err != nil {
			return err
		}
		for _, st := range list.Stacks {
			if !st.IsAvailable {
				return fmt.Errorf("stack %s still leased after every client released", st.StackName)
			}
		}
		req, rel := rs[0], rs[1]
		leases := req.perSecond()
		// berthd's CPU covers the warm-up too: divide by the leases of the
		// whole run, counted at the measured rate.
		cpuPerLease := float64((cpu1 - cpu0).Microseconds()) / (leases * (warmup + b.cfg.window).Seconds())
		twice := len(h.violations)
		b.report.add(row{
			figure:   fmt.Sprintf("leases (%s): request + release, %d clients", wl.name, leaseClients),
			berth:    perSec(leases),
			baseline: perSec(syncRate) + " (synced writes)",
			ratio:    ratio(leases / syncRate),
			target:   "≥ 1,000/s",
			met:      leases >= 1000,
		})
		b.report.add(row{
			figure:   fmt.Sprintf("leases (%s): request p99; stacks held twice", wl.name),
			berth:    fmt.Sprintf("%s; %d", ms(req.p99()), twice),
			baseline: ms(sync.p99()) + " (synced write p99)",
			ratio:    ratio(float64(req.p99()) / float64(sync.p99())),
			target:   "< 100 ms; 0",
			met:      req.p99() < 100*time.Millisecond && twice == 0,
		})
		lines = append(lines, fmt.Sprintf("| %s: %s | %s | %s | %s | %s | %.0f µs | %d of %d leases | %d |", wl.name, wl.about, perSec(leases), ms(req.p50()), ms(req.p99()), ms(rel.p99()), cpuPerLease, twice, req.ops, len(list.Stacks)))
		if twice > 0 {
			lines = append(lines, "", "Held twice: "+strings.Join(h.violations[:min(len(h.violations), 10)], "; "), "")
		}
	}
	b.report.section("Leases", lines...)
	return nil
}

// syncs times synced appends to a file in dir, one after the other, for d.
func syncs(ctx context.Context, dir string, d time.Duration) (result, error) {
	f, err := os.CreateTemp(dir, "sync-rate-")
	if err != nil {
		return result{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	block := make([]byte, 512)
	rs, err := closedLoop(ctx, 1, 1, 0, d, func(int) (int, error) {
		if _, err := f.Write(block); err != nil {
			return 0, err
		}
		return 0, f.Sync()
	})
	if err != nil {
		return result{}, err
	}
	return rs[0], nil
}
