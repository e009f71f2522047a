// Package complete applies examples/complete with the real terraform CLI and
// a provider built from this repository, the way the README tells a
// newcomer to: `make dev-provider`, then `terraform apply` against berthd.
package complete

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

func TestCompleteExample(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("applies examples/complete with the terraform CLI: set TF_ACC=1 (make test does)")
	}
	tfBin := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tfBin == "" {
		var err error
		if tfBin, err = exec.LookPath("terraform"); err != nil {
			t.Fatal("the terraform CLI is not on PATH (set TF_ACC_TERRAFORM_PATH)")
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	run(t, root, nil, "make", "--no-print-directory", "dev-provider", "DEV_BIN="+bin)

	work := t.TempDir()
	copyConfig(t, filepath.Join(root, "examples", "complete"), work)
	srv := berthtest.Start(t)
	// A signed-up user who is no admin builds it all, and tears it all
	// down: everything in it is the team's own.
	member := srv.NewUser(t, "dev@shop.example")
	env := []string{
		"TF_CLI_CONFIG_FILE=" + filepath.Join(bin, "dev.tfrc"),
		"TF_IN_AUTOMATION=1",
		"TF_DATA_DIR=" + filepath.Join(work, ".terraform"),
		"BERTH_ENDPOINT=" + srv.URL,
		"BERTH_TOKEN=" + member.Token,
	}

	run(t, work, env, tfBin, "apply", "-auto-approve", "-input=false", "-no-color")
	key := strings.TrimSpace(run(t, work, env, tfBin, "output", "-raw", "stack_api_key"))
	checkApplied(t, srv, key)

	// A second plan of the same configuration must find nothing to do.
	cmd := exec.Command(tfBin, "plan", "-detailed-exitcode", "-input=false", "-no-color")
	cmd.Dir, cmd.Env = work, append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 2 {
		t.Fatalf("second plan is not empty:\n%s", out)
	} else if err != nil {
		t.Fatalf("terraform plan: %v\n%s", err, out)
	}

	run(t, work, env, tfBin, "destroy", "-auto-approve", "-input=false", "-no-color")
	checkDestroyed(t, srv)
}

// run runs a command and returns its standard output.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// checkApplied looks at what the example built, through the API.
func checkApplied(t *testing.T, srv *berthtest.Server, stackKey string) {
	t.Helper()
	ctx := context.Background()
	c := adminClient(t, srv)
	couplings, _, err := c.Couplings.ListByPipeline(ctx, "shop", nil)
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string]client.Coupling{}
	for _, cp := range couplings {
		stages[cp.Stage] = cp
	}
	if p, _, err := c.Pipelines.Get(ctx, "shop"); err != nil || p.Team != "shop" {
		t.Fatalf("pipeline: %+v %v", p, err)
	}
	if len(couplings) != 3 || stages["development"].App.Name != "shop-dev" || stages["staging"].App.Name != "shop-stg" || stages["production"].App.Name != "shop-prd" {
		t.Fatalf("couplings: %+v", couplings)
	}
	if got := stages["production"].RequiredStatusChecks.Contexts; !slices.Equal(got, []string{"ci/tests"}) {
		t.Fatalf("production checks: %v", got)
	}
	prd, _, err := c.Repos.Get(ctx, "shop-prd")
	if err != nil {
		t.Fatal(err)
	}
	if prd.Team != "shop" || len(prd.Meta.Procs) != 1 || prd.Meta.Procs[0].NumInstances != 3 {
		t.Fatalf("shop-prd: %+v", prd)
	}
	env, _, err := c.Env.List(ctx, "shop-stg", nil)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]client.EnvVar{}
	for _, v := range env {
		vars[v.Name] = v
	}
	if vars["CACHE_URL"].Instance != "shop-cache-stg" || vars["APP_ENV"].Value != "staging" || !vars["APP_ENV"].Public {
		t.Fatalf("shop-stg env: %+v", env)
	}
	keyed, err := client.New(srv.URL, client.WithProjectKey(stackKey))
	if err != nil {
		t.Fatal(err)
	}
	stacks, _, err := keyed.Stacks.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(stacks) != 1 || stacks[0].StackName != "shop-test-1" || stacks[0].IsAvailable || stacks[0].Branch != "feature-checkout" {
		t.Fatalf("stacks: %+v", stacks)
	}
}

// checkDestroyed makes sure destroy removed everything it made.
func checkDestroyed(t *testing.T, srv *berthtest.Server) {
	t.Helper()
	ctx := context.Background()
	c := adminClient(t, srv)
	for _, app := range []string{"shop-dev", "shop-stg", "shop-prd"} {
		if _, _, err := c.Apps.Get(ctx, app); !client.IsNotFound(err) {
			t.Errorf("app %s after destroy: %v", app, err)
		}
	}
	if _, _, err := c.Pipelines.Get(ctx, "shop"); !client.IsNotFound(err) {
		t.Errorf("pipeline after destroy: %v", err)
	}
	if _, _, err := c.Services.Get(ctx, "shop-cache"); !client.IsNotFound(err) {
		t.Errorf("service after destroy: %v", err)
	}
	if _, _, err := c.Projects.Get(ctx, "shop"); !client.IsNotFound(err) {
		t.Errorf("stack project after destroy: %v", err)
	}
}

func adminClient(t *testing.T, srv *berthtest.Server) *client.Client {
	t.Helper()
	c, err := client.New(srv.URL, client.WithToken(srv.AdminToken))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func copyConfig(t *testing.T, from, to string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(from, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no configuration in %s: %v", from, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, filepath.Base(f)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
