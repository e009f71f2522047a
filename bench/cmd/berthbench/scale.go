package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"time"
)

const (
	smallScale = 100
	// seedUsers create the apps of the offline seeding, one goroutine each.
	seedUsers = 8
	listLimit = 100
	// midLimit is the page size from the middle: half the apps of the
	// small case, so that both cases answer full pages.
	midLimit    = smallScale / 2
	scaleGets   = 2000
	scaleLists  = 300
	scaleLeases = 500
	// createWindow is how long POST /apps is driven in the small case.
	createWindow = 2 * time.Second
)

// scaleCase is one berthd holding n apps and, in one project, n stacks.
type scaleCase struct {
	n                     int
	seedApps, seedStacks  time.Duration
	diskBytes             int64
	startup, firstLease   time.Duration
	afterStart, afterLoad memory
	get, list, mid, lease result
	creates               result // POST /apps from seedUsers clients
}

// scale measures, with 100 and with -scale apps and stacks, the latency of
// one client calling one thing at a time: GET /apps/{app} of a random app,
// the first page and a page from the middle of GET /apps?limit=, and a
// stack request for a new branch (each followed by its release, untimed).
// Users, team and project are made over HTTP; apps and stacks by the
// offline seeder (see offlineSeeder for why), then berthd starts again on
// the seeded directory. berthd's memory is read from /proc after the start
// and after the load.
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
	within2x(fmt.Sprintf("GET /apps?limit=%d&cursor=, middle", midLimit), small.mid, large.mid)
	within2x("POST /stacks/request, stacks in project", small.lease, large.lease)
	for _, m := range []struct {
		when        string
		large, base memory
	}{{"after start on the seeded data", large.afterStart, small.afterStart}, {"after the get/list/lease load", large.afterLoad, small.afterLoad}} {
		b.report.add(row{
			figure:   fmt.Sprintf("memory: berthd RSS, %s apps + %s stacks, %s", commas(int64(large.n)), commas(int64(large.n)), m.when),
			berth:    mib(m.large.rss),
			baseline: mib(m.base.rss) + fmt.Sprintf(" (%d apps)", small.n),
			ratio:    ratio(float64(m.large.rss) / float64(m.base.rss)),
			target:   "< 300 MiB",
			met:      m.large.rss < 300<<20,
		})
	}

	lines := []string{
		fmt.Sprintf("Each case is a fresh berthd. Users, team and stack project are made over HTTP; then, with berthd stopped, the offline seeder (bench/cmd/berthbench/seed.go) creates the apps through `core.CreateApp` from %d users of the team and the stacks through `core.RequestStack` for distinct branches and `core.ReleaseStack`, on the store opened with `store.BulkLoad` (commits unsynced, synced by Close). Over HTTP this would take minutes: Badger syncs its log once per transaction, so `POST /apps` runs at the disk's sync rate (measured below). berthd then starts again on that directory, and one client makes one request at a time: %d `GET /apps/{app}` of random apps as a member of their team, %d `GET /apps?limit=%d` (first page) and %d `GET /apps?limit=%d&cursor=` the middle app, and %d stack requests for new branches, each released afterwards (the release is not timed). Memory is from /proc/<pid>/status: VmRSS (= RssAnon + RssFile, the mapped database files) and the peak, VmHWM; the Go heap in use from berthd's /metrics. With -profile, the heap profile after the load shows what holds it: at 100,000 apps and stacks, about 60 MiB are Badger's block cache, table buffers and memtable, and 25 MiB the stack writer's index of 100,000 stacks.", seedUsers, scaleGets, scaleLists, listLimit, scaleLists, midLimit, scaleLeases),
		"",
		"| | " + commas(int64(small.n)) + " apps and stacks | " + commas(int64(large.n)) + " apps and stacks | ratio |",
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
		lines = append(lines, fmt.Sprintf("| %s | %s | %s | %s (p50) |", l.name, pp(l.s), pp(l.l), ratio(float64(l.l.p50())/float64(l.s.p50()))))
	}
	seedRate := func(n int, d time.Duration) string {
		return fmt.Sprintf("%s (%s)", d.Round(time.Millisecond), perSec(float64(n)/d.Seconds()))
	}
	memText := func(m memory) string {
		return fmt.Sprintf("%s (anon %s + file %s), peak %s; Go heap in use %s", mib(m.rss), mib(m.anon), mib(m.file), mib(m.peak), mib(m.heap))
	}
	row := func(name, s, l string) string { return fmt.Sprintf("| %s | %s | %s | |", name, s, l) }
	lines = append(lines,
		row("first stack request after the start (indexes the project)", ms(small.firstLease), ms(large.firstLease)),
		row("offline seeding: apps", seedRate(small.n, small.seedApps), seedRate(large.n, large.seedApps)),
		row("offline seeding: stacks (request + release)", seedRate(small.n, small.seedStacks), seedRate(large.n, large.seedStacks)),
		row("data directory on disk", mib(small.diskBytes), mib(large.diskBytes)),
		row("berthd start, until listening", ms(small.startup), ms(large.startup)),
		row("RSS after start", memText(small.afterStart), memText(large.afterStart)),
		row("RSS after the load", memText(small.afterLoad), memText(large.afterLoad)),
		"",
		fmt.Sprintf("App creation over HTTP (small case): `POST /apps` from %d users at once for %s: %s, p50 %s, p99 %s. Each creation is one transaction, and Badger syncs its write-ahead log once per transaction.", seedUsers, createWindow, perSec(small.creates.perSecond()), ms(small.creates.p50()), ms(small.creates.p99())),
	)
	b.report.section("Scale", lines...)
	return nil
}

func (b *bench) scaleCase(ctx context.Context, c *scaleCase) error {
	name := fmt.Sprintf("scale-%d", c.n)
	dataDir := filepath.Join(b.dir, name)
	srv, err := b.startBerthd(ctx, name)
	if err != nil {
		return err
	}
	f, err := newFixture(ctx, srv, seedUsers, seedUsers)
	if err != nil {
		return errors.Join(err, srv.stop())
	}
	defer f.close()
	key, err := f.createProject(ctx, "scale")
	if err := errors.Join(err, srv.stop()); err != nil {
		return err
	}

	b.logf("scale: seeding %d apps and %d stacks with berthd stopped", c.n, c.n)
	seeder, err := openSeeder(ctx, dataDir)
	if err != nil {
		return err
	}
	c.seedApps, err = seeder.apps(ctx, f.users, c.n)
	if err == nil {
		c.seedStacks, err = seeder.stacks(ctx, key, c.n, seedUsers)
	}
	if err := errors.Join(err, seeder.close()); err != nil {
		return err
	}
	if c.diskBytes, err = dirSize(dataDir); err != nil {
		return err
	}

	started := time.Now()
	if srv, err = b.startBerthd(ctx, name); err != nil {
		return err
	}
	c.startup = time.Since(started)
	defer srv.stop()
	if err := f.reconnect(srv, seedUsers); err != nil {
		return err
	}
	if c.afterStart, err = srv.memory(ctx, adminToken); err != nil {
		return err
	}
	// The stack writer indexes a project's stacks on the first request
	// after a start: that one is timed apart.
	var st stackJSON
	started = time.Now()
	if err := f.requestStack(ctx, key, "first-after-start", &st); err != nil {
		return err
	}
	c.firstLease = time.Since(started)
	if err := f.releaseStack(ctx, key, st); err != nil {
		return err
	}

	b.logf("scale: measuring with %d apps and stacks", c.n)
	wait := srv.profileCPU(ctx, 5*time.Second, filepath.Join(b.dir, name+".pprof"))
	one := f.http
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
	if c.n == smallScale {
		b.logf("scale: POST /apps over HTTP")
		next := make([]int, len(f.users))
		rs, err := closedLoop(ctx, len(f.users), 1, warmup, createWindow, func(w int) (int, error) {
			body := map[string]string{"name": fmt.Sprintf("created-%d-%d", w, next[w]), "platform": "go", "teamOwner": benchTeam}
			next[w]++
			_, err := f.http.call(ctx, http.MethodPost, "/apps", bearer(f.users[w].token), body, nil)
			return 0, err
		})
		if err != nil {
			return err
		}
		c.creates = rs[0]
	}
	if c.afterLoad, err = srv.memory(ctx, adminToken); err != nil {
		return err
	}
	return srv.saveProfile(ctx, "heap", filepath.Join(b.dir, name+"-heap.pprof"))
}
