package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// TestLainProcLimits: procs per app, instances per proc and units per app
// are bounded, with a 400 naming the limit, on registration, on a change
// of the meta and on a scale.
func TestLainProcLimits(t *testing.T) {
	srv := berthtest.Start(t)
	kai := srv.NewTeamUser(t, "kai@example.com", "lain-team")
	procs := func(n, instances int) []map[string]any {
		out := make([]map[string]any, n)
		for i := range out {
			out[i] = map[string]any{"name": fmt.Sprintf("p%d", i), "num_instances": instances}
		}
		return out
	}
	expect := func(r *berthtest.Response, limit int) {
		t.Helper()
		if r.Status != http.StatusBadRequest || !strings.Contains(r.ErrorMessage(t), fmt.Sprint(limit)) {
			t.Errorf("%s: want 400 naming %d", r, limit)
		}
	}
	// The meta: 6,000 procs of 100 instances.
	expect(srv.Req(t, "POST", "/api/v1/repos/", kai.Token, map[string]any{"appname": "amp", "meta": map[string]any{"procs": procs(6000, 100)}}), domain.MaxProcsPerApp)
	expect(srv.Req(t, "POST", "/api/v1/repos/", kai.Token, map[string]any{"appname": "amp", "meta": map[string]any{"procs": procs(domain.MaxProcsPerApp, domain.MaxProcInstances)}}), domain.MaxUnitsPerApp)

	// As many full procs as the units allow, and one more with none.
	full := domain.MaxUnitsPerApp / domain.MaxProcInstances
	wide := append(procs(full, domain.MaxProcInstances), map[string]any{"name": "spare", "num_instances": 0})
	srv.Req(t, "POST", "/api/v1/repos/", kai.Token, map[string]any{"appname": "wide", "meta": map[string]any{"procs": wide}}).Expect(t, http.StatusCreated)
	expect(srv.Req(t, "PUT", "/api/v1/repos/wide/", kai.Token, map[string]any{"meta": map[string]any{"procs": procs(domain.MaxProcsPerApp+1, 1)}}), domain.MaxProcsPerApp)
	srv.Req(t, "POST", "/api/v1/apps/", kai.Token, map[string]string{"appname": "wide"}).Expect(t, http.StatusAccepted)
	expect(srv.Req(t, "PATCH", "/api/v1/apps/wide/procs/spare/", kai.Token, map[string]int{"num_instances": 1}), domain.MaxUnitsPerApp)
	var procList struct {
		Procs []struct {
			ProcName string
			Pods     []struct{ Name string }
		}
	}
	srv.Req(t, "GET", "/api/v1/apps/wide/procs/", kai.Token, nil).Expect(t, http.StatusOK).JSON(t, &procList)
	units := 0
	for _, p := range procList.Procs {
		units += len(p.Pods)
	}
	if len(procList.Procs) != full+1 || units != domain.MaxUnitsPerApp {
		t.Fatalf("after a refused scale: %d procs, %d units", len(procList.Procs), units)
	}
}
