package api_test

import (
	"net/http"
	"testing"

	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// TestPipelinesBelongToATeam: a pipeline is its team's: others neither
// see it nor couple into it, and a team removes its own couplings that
// have no required checks without an admin.
func TestPipelinesBelongToATeam(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "alpha")
	bo := srv.NewTeamUser(t, "bo@example.com", "beta")
	srv.Req(t, "POST", "/apps", ana.Token, map[string]string{"name": "alpha-dev", "platform": "go"}).Expect(t, http.StatusOK)
	srv.Req(t, "POST", "/apps", bo.Token, map[string]string{"name": "beta-dev", "platform": "go"}).Expect(t, http.StatusOK)
	var p struct {
		ID   string
		Team string
	}
	srv.Req(t, "POST", "/pipelines", ana.Token, map[string]string{"name": "alpha-pipe"}).Expect(t, http.StatusCreated).JSON(t, &p)
	if p.Team != "alpha" {
		t.Fatalf("pipeline team %q", p.Team)
	}
	var c struct{ ID string }
	srv.Req(t, "POST", "/pipeline-couplings", ana.Token, map[string]string{"app": "alpha-dev", "pipeline": "alpha-pipe", "stage": "development"}).Expect(t, http.StatusCreated).JSON(t, &c)

	var list []struct{ Name string }
	srv.Req(t, "GET", "/pipelines", bo.Token, nil).Expect(t, http.StatusOK).JSON(t, &list)
	if len(list) != 0 {
		t.Errorf("beta lists alpha's pipelines: %+v", list)
	}
	srv.Req(t, "GET", "/pipelines/alpha-pipe", bo.Token, nil).Expect(t, http.StatusForbidden)
	srv.Req(t, "GET", "/pipeline-couplings/"+c.ID, bo.Token, nil).Expect(t, http.StatusForbidden)
	var couplings []any
	srv.Req(t, "GET", "/pipeline-couplings", bo.Token, nil).Expect(t, http.StatusOK).JSON(t, &couplings)
	if len(couplings) != 0 {
		t.Errorf("beta lists alpha's couplings: %+v", couplings)
	}
	srv.Req(t, "POST", "/pipeline-couplings", bo.Token, map[string]string{"app": "beta-dev", "pipeline": "alpha-pipe", "stage": "staging"}).Expect(t, http.StatusForbidden)

	// A coupling without required checks is the team's to remove.
	srv.Req(t, "DELETE", "/pipeline-couplings/"+c.ID, ana.Token, nil).Expect(t, http.StatusOK)
}
