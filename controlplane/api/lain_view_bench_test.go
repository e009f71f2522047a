package api

import (
	"fmt"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// appWithProcs is a deployed app declaring procs procs of instances units
// each, built directly (the API refuses such apps past its bounds).
func appWithProcs(procs, instances int) *domain.App {
	a := &domain.App{Name: "wide", IP: "wide.berth.local", Deployed: true, Meta: &domain.AppMeta{Type: domain.AppTypeApp}}
	for i := range procs {
		a.Meta.Procs = append(a.Meta.Procs, domain.ProcSpec{Name: fmt.Sprintf("p%d", i), NumInstances: instances, CPU: 1, Memory: "32M"})
	}
	a.DeployDeclaredProcs(time.Unix(0, 0))
	return a
}

// BenchmarkLainProcViews: the proc list reads each proc and unit once, so
// its cost follows the units it shows: at the bounds (50 procs, 1000
// units) and at the amplification (6,000 procs of 100 units, which
// took 15 s a read when each proc scanned every unit).
func BenchmarkLainProcViews(b *testing.B) {
	for _, c := range []struct{ procs, instances int }{{domain.MaxProcsPerApp, domain.MaxUnitsPerApp / domain.MaxProcsPerApp}, {6000, 100}} {
		b.Run(fmt.Sprintf("%dx%d", c.procs, c.instances), func(b *testing.B) {
			a := appWithProcs(c.procs, c.instances)
			for b.Loop() {
				if got := lainProcsOf(a); len(got) != c.procs {
					b.Fatalf("%d procs listed", len(got))
				}
			}
		})
	}
}
