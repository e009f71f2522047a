package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

func TestLeasePrintRelease(t *testing.T) {
	srv := berthtest.Start(t)
	ctx := context.Background()
	admin, err := client.New(srv.URL, client.WithToken(srv.AdminToken))
	if err != nil {
		t.Fatal(err)
	}
	project, _, err := admin.Projects.Create(ctx, client.NewProject{Name: "web", Team: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BERTH_ENDPOINT": srv.URL, "BERTH_STACK_API_KEY": project.APIKey}

	var out bytes.Buffer
	if err := run(ctx, []string{"-branch", "feature-x", "-commit", "abc123"}, func(k string) string { return env[k] }, &out); err != nil {
		t.Fatal(err)
	}
	var printed client.Stack
	if err := json.NewDecoder(strings.NewReader(out.String())).Decode(&printed); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if printed.StackName != "test-1" || printed.Branch != "feature-x" || printed.LastDeployedCommit != "abc123" || printed.IsAvailable {
		t.Fatalf("printed stack: %+v", printed)
	}
	if !strings.HasSuffix(out.String(), "released test-1\n") {
		t.Fatalf("output does not end with the release: %q", out.String())
	}

	keyed, err := client.New(srv.URL, client.WithProjectKey(project.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	stacks, _, err := keyed.Stacks.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(stacks) != 1 || !stacks[0].IsAvailable || stacks[0].Branch != "feature-x" {
		t.Fatalf("stacks after the run: %+v", stacks)
	}
}

func TestMissingConfiguration(t *testing.T) {
	err := run(context.Background(), []string{"-branch", "main"}, func(string) string { return "" }, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "BERTH_STACK_API_KEY") {
		t.Fatalf("error: %v", err)
	}
}
