package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"time"
)

const (
	smallScale  = 100
	seedWorkers = 64
	listLimit   = 100
	// midLimit is the page size from the middle: half the apps of the
	// small case, so that both cases answer full pages.
	midLimit    = smallScale / 2
	scaleGets   = 2000
	scaleLists  = 300
	scaleLeases = 500
)

// scaleCase is one berthd holding n apps and, in one project, n stacks.
type scaleCase struct {
	n                     int
	seedApps, seedStacks  time.Duration
	afterSeed, afterLoad  memory
	get, list, mid, lease result
}

// scale measures, with 100 and with -scale apps and stacks, the latency of
// one client calling one thing at a time: GET /apps/{app} of a random app,
// the first page and a page from the middle of GET /apps?limit=, and a
// stack request for a new branch (each followed by its release, untimed).
// Everything is created over HTTP, apps and stacks by 64 clients at once.
// berthd's memory is read from /proc after seeding and after the load.
func (b *bench) scale(ctx context.Context) error {
	cases := []*scaleCase{{n: smallScale}, {n: b.cfg.scaleApps}}
	for _, c := range cases {
		if err := b.scaleCase(ctx, c); err != nil {
			return fmt.Errorf("%d apps: %w", c.n, err)
		}
	}
	small, large := cases[0], cases[1]
	within2x := func(figure string, s, l result) {
		r := float64(l.p50()) / float64(s.p50())
		b.report.add(row{
			figure:   fmt.Sprintf("scale: %s, %s vs %s (p50)", figure, commas(int64(large.n)), commas(int64(small.n))),
			berth:    ms(l.p50()),
			baseline: ms(s.p50()),
			ratio:    ratio(r),
			target:   "≤ 2x",
			met:      r <= 2,
		})
	}
	within2x("GET /apps/{app}", small.get, large.get)
	within2x(fmt.Sprintf("GET /apps?limit=%d, first page", listLimit), small.list, large.list)
	within2x("POST /stacks/request, stacks in project", small.lease, large.lease)
	for _, m := range []struct {
		when       string
		large, low memory
	}{{"after seeding", large.afterSeed, small.afterSeed}, {"after the get/list/lease load", large.afterLoad, small.afterLoad}} {
		b.report.add(row{
			figure:   fmt.Sprintf("memory: berthd RSS with %s apps + %s stacks, %s", commas(int64(large.n)), commas(int64(large.n)), m.when),
			berth:    mib(m.large.rss),
			baseline: mib(m.low.rss) + fmt.Sprintf(" (%d apps)", small.n),
			ratio:    ratio(float64(m.large.rss) / float64(m.low.rss)),
			target:   "< 300 MiB",
			met:      m.large.rss < 300<<20,
		})
	}

	lines := []string{
		fmt.Sprintf("Each case is a fresh berthd. Seeding goes through the API: `POST /apps` from %d users of one team at once (%d concurrent requests: Badger writes concurrent commits with one sync, so this is as fast as a store-level import would be), and stacks by %d concurrent `POST /stacks/request` for distinct branches, then their releases. Then one client, one request at a time: %d `GET /apps/{app}` of random apps as a member of their team, %d `GET /apps?limit=%d` (first page) and %d `GET /apps?limit=%d&cursor=` the middle app, and %d stack requests for new branches, each released afterwards (the release is not timed). Memory is VmRSS (VmHWM, the peak, in parentheses) from /proc/<pid>/status.", seedWorkers, seedWorkers, seedWorkers, scaleGets, scaleLists, listLimit, scaleLists, midLimit, scaleLeases),
		"",
		"| | " + commas(int64(small.n)) + " apps and stacks | " + commas(int64(large.n)) + " apps and stacks | ratio (p50) |",
		"|---|---|---|---|",
	}
	pp := func(r result) string { return ms(r.p50()) + " / " + ms(r.p99()) }
	for _, l := range []struct {
		name string
		s, l result
	}{
		{"GET /apps/{app} p50 / p99", small.get, large.get},
		{fmt.Sprintf("GET /apps?limit=%d first page p50 / p99", listLimit), small.list, large.list},
		{fmt.Sprintf("GET /apps?limit=%d&cursor=(middle app) p50 / p99", midLimit), small.mid, large.mid},
		{"POST /stacks/request p50 / p99", small.lease, large.lease},
	} {
		lines = append(lines, fmt.Sprintf("| %s | %s | %s | %s |", l.name, pp(l.s), pp(l.l), ratio(float64(l.l.p50())/float64(l.s.p50()))))
	}
	seedRate := func(n int, d time.Duration) string {
		return fmt.Sprintf("%s (%s)", d.Round(100*time.Millisecond), perSec(float64(n)/d.Seconds()))
	}
	memText := func(m memory) string { return fmt.Sprintf("%s (%s)", mib(m.rss), mib(m.peak)) }
	lines = append(lines,
		fmt.Sprintf("| seeding apps over HTTP | %s | %s | |", seedRate(small.n, small.seedApps), seedRate(large.n, large.seedApps)),
		fmt.Sprintf("| seeding stacks over HTTP (request + release) | %s | %s | |", seedRate(small.n, small.seedStacks), seedRate(large.n, large.seedStacks)),
		fmt.Sprintf("| RSS after seeding | %s | %s | |", memText(small.afterSeed), memText(large.afterSeed)),
		fmt.Sprintf("| RSS after the load | %s | %s | |", memText(small.afterLoad), memText(large.afterLoad)),
	)
	b.report.section("Scale", lines...)
	return nil
}

func (b *bench) scaleCase(ctx context.Context, c *scaleCase) error {
	name := fmt.Sprintf("scale-%d", c.n)
	srv, err := b.startBerthd(ctx, name)
	if err != nil {
		return err
	}
	defer srv.stop()
	// Logging users in costs a bcrypt each: the small case needs few.
	users := seedWorkers
	if c.n <= smallScale {
		users = 8
	}
	f, err := newFixture(ctx, srv, users, seedWorkers)
	if err != nil {
		return err
	}
	defer f.close()

	b.logf("scale: seeding %d apps", c.n)
	wait := srv.profileCPU(ctx, 10*time.Second, filepath.Join(b.dir, name+"-seed-apps.pprof"))
	if c.seedApps, err = f.seedApps(ctx, 0, c.n); err != nil {
		return err
	}
	if err := wait(); err != nil {
		return err
	}
	key, err := f.createProject(ctx, "scale")
	if err != nil {
		return err
	}
	b.logf("scale: seeding %d stacks", c.n)
	if c.seedStacks, err = f.seedStacks(ctx, key, c.n); err != nil {
		return err
	}
	if c.afterSeed, err = srv.memory(); err != nil {
		return err
	}

	b.logf("scale: measuring with %d apps and stacks", c.n)
	wait = srv.profileCPU(ctx, 5*time.Second, filepath.Join(b.dir, name+".pprof"))
	one := newHTTPClient(srv.url, 1)
	defer one.close()
	auth := bearer(f.users[0].token)
	rnd := rand.New(rand.NewPCG(uint64(c.n), 1))
	c.get, err = sequential(ctx, scaleGets, func(int) error {
		_, err := one.call(ctx, http.MethodGet, "/apps/"+appName(rnd.IntN(c.n)), auth, nil, nil)
		return err
	})
	if err != nil {
		return err
	}
	listPage := func(query string, want int) (result, error) {
		return sequential(ctx, scaleLists, func(int) error {
			var page []struct{ Name string }
			if _, err := one.call(ctx, http.MethodGet, "/apps?"+query, auth, nil, &page); err != nil {
				return err
			}
			if len(page) != want {
				return fmt.Errorf("GET /apps?%s: %d apps, want %d", query, len(page), want)
			}
			return nil
		})
	}
	if c.list, err = listPage(fmt.Sprintf("limit=%d", listLimit), listLimit); err != nil {
		return err
	}
	if c.mid, err = listPage(fmt.Sprintf("limit=%d&cursor=%s", midLimit, appName(c.n/2-1)), midLimit); err != nil {
		return err
	}
	var timed []time.Duration
	for i := range scaleLeases {
		var st stackJSON
		start := time.Now()
		if err := f.requestStack(ctx, key, fmt.Sprintf("scale-%d", i), &st); err != nil {
			return err
		}
		timed = append(timed, time.Since(start))
		if err := f.releaseStack(ctx, key, st); err != nil {
			return err
		}
	}
	c.lease = merge(result{ops: len(timed), latency: timed})
	if err := wait(); err != nil {
		return err
	}
	if c.afterLoad, err = srv.memory(); err != nil {
		return err
	}
	return srv.saveProfile(ctx, "heap", filepath.Join(b.dir, name+"-heap.pprof"))
}
