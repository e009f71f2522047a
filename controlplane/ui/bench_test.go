package ui_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/store"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// BenchmarkConsoleAppsPage measures the apps page, first page and a page
// from the middle (?cursor=), for a member of the team that owns every app
// and for an admin, with 100 and with 100,000 apps. The page goes through
// the store's indexes one page at a time, so its cost must not grow with
// the number of apps.
//
//	go test -run '^$' -bench ConsoleAppsPage -benchtime 200x ./controlplane/ui/
func BenchmarkConsoleAppsPage(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		srv := berthtest.Start(b, func(o *berthtest.Options) { o.SkipValidation = true })
		member := srv.NewTeamUser(b, "member@example.com", "devs")
		start := time.Now()
		seedApps(b, srv, "devs", n)
		b.Logf("%d apps seeded in %s", n, time.Since(start).Round(time.Millisecond))
		waitReconciled(b, srv)
		b.Logf("reconciled after %s", time.Since(start).Round(time.Millisecond))
		visitors := map[string]*visitor{"member": newVisitor(b, srv.URL), "admin": newVisitor(b, srv.URL)}
		visitors["member"].signIn(member.Email, member.Password)
		visitors["admin"].signIn("admin@berth.local", adminPassword(b, srv))
		middle := fmt.Sprintf("app-%06d", n/2)
		// The API's page of the same size, as the baseline.
		for page, path := range map[string]string{"first": "/apps?limit=50", "middle": "/apps?limit=50&cursor=" + middle} {
			b.Run(fmt.Sprintf("apps=%d/api-member/%s", n, page), func(b *testing.B) {
				var lat []time.Duration
				for b.Loop() {
					t0 := time.Now()
					r := srv.Req(b, http.MethodGet, path, member.Token, nil)
					lat = append(lat, time.Since(t0))
					if r.Status != http.StatusOK {
						b.Fatalf("%s: %d", path, r.Status)
					}
				}
				reportLatency(b, lat)
			})
		}
		for _, who := range []string{"member", "admin"} {
			v := visitors[who]
			for page, path := range map[string]string{"first": "/ui/apps", "middle": "/ui/apps?cursor=" + middle} {
				b.Run(fmt.Sprintf("apps=%d/%s/%s", n, who, page), func(b *testing.B) {
					var lat []time.Duration
					for b.Loop() {
						t0 := time.Now()
						p := v.get(path)
						lat = append(lat, time.Since(t0))
						if p.Status != http.StatusOK || p.byID("apps") == nil {
							b.Fatalf("%s: %d", path, p.Status)
						}
					}
					reportLatency(b, lat)
				})
			}
		}
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// waitReconciled waits until the reconciler has been through every app the
// seeding queued, so that it does not share the cores with the measure.
func waitReconciled(b *testing.B, srv *berthtest.Server) {
	b.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var left int
		err := srv.Instance().Store.View(bg, func(tx *store.Tx) error {
			changes, err := tx.AppsToReconcile(1)
			left = len(changes)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("the reconciler did not get through the seeded apps in 10 minutes")
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// seedApps writes n apps of team straight through the store, 1000 to a
// transaction: making 100,000 over HTTP would take minutes (one synced
// transaction each).
func seedApps(b *testing.B, srv *berthtest.Server, team string, n int) {
	b.Helper()
	st := srv.Instance().Store
	now := time.Now().UTC()
	const batch = 1000
	for from := 0; from < n; from += batch {
		err := st.Update(bg, func(tx *store.Tx) error {
			for i := from; i < min(from+batch, n); i++ {
				name := fmt.Sprintf("app-%06d", i)
				a := &domain.App{
					ID: uuid.NewString(), Name: name, Type: domain.AppTypeApp, Platform: "go",
					TeamOwner: team, Teams: []string{team}, Owner: "member@example.com",
					IP: name + ".berth.local", Env: map[string]domain.EnvVar{}, CreatedAt: now, UpdatedAt: now,
					Procs: []domain.Proc{{Name: "web", NumInstances: 2, State: "started"}},
				}
				a.SyncUnits()
				if err := tx.PutApp(a); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
