package provider

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// providerConfigWithStackKey is the provider block pointing at srv with a
// token and a stack project key.
func providerConfigWithStackKey(srv *berthtest.Server, token, stackKey string) string {
	return fmt.Sprintf(`
provider "berth" {
  endpoint      = %q
  token         = %q
  stack_api_key = %q
}
`, srv.URL, token, stackKey)
}

// stackLeaseWithProjectConfig is a project "p" and a lease "l" on it with
// the project's key; ttl 0 and an empty commit are left out.
func stackLeaseWithProjectConfig(branch string, ttl int, commit string) string {
	attrs := ""
	if ttl != 0 {
		attrs += fmt.Sprintf("  ttl     = %d\n", ttl)
	}
	if commit != "" {
		attrs += fmt.Sprintf("  commit  = %q\n", commit)
	}
	return stackProjectConfig("web", "admin", "", "base") + fmt.Sprintf(`
resource "berth_stack_lease" "l" {
  api_key = berth_stack_project.p.api_key
  branch  = %[1]q
%[2]s}
`, branch, attrs)
}

// heldLease checks that the lease in the state holds its stack on the
// server, for branch and with commit, and records the lease in *got.
func heldLease(ctx context.Context, c func() *client.Client, branch, commit string, got *client.Stack) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		name, err := stackStateAttr(s, "berth_stack_lease.l", "stack_name")
		if err != nil {
			return err
		}
		leaseID, err := stackStateAttr(s, "berth_stack_lease.l", "lease_id")
		if err != nil {
			return err
		}
		st, _, err := c().Stacks.Get(ctx, name)
		if err != nil {
			return err
		}
		if st.LeaseID != leaseID || st.Branch != branch || st.LastDeployedCommit != commit {
			return fmt.Errorf("server stack %+v; want lease %s, branch %q, commit %q", st, leaseID, branch, commit)
		}
		*got = *st
		return nil
	}
}

func TestAccStackLease(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	cfg := providerConfig(srv, srv.AdminToken)
	const res = "berth_stack_lease.l"

	// The project's key is known once the first step applied it.
	var key string
	recordKey := func(s *terraform.State) (err error) {
		key, err = stackStateAttr(s, "berth_stack_project.p", "api_key")
		return err
	}
	ci := func() *client.Client { return stackKeyClient(t, srv, key) }
	var lease, previous client.Stack
	remember := func(*terraform.State) error { previous = lease; return nil }
	newLease := func(*terraform.State) error {
		if lease.LeaseID == previous.LeaseID {
			return fmt.Errorf("still lease %s, want a new one", lease.LeaseID)
		}
		return nil
	}
	sameLease := func(*terraform.State) error {
		if lease.LeaseID != previous.LeaseID {
			return fmt.Errorf("lease %s became %s", previous.LeaseID, lease.LeaseID)
		}
		return nil
	}
	stackIs := func(want string) resource.TestCheckFunc {
		return resource.TestCheckResourceAttr(res, "stack_name", want)
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, _, err := admin.Projects.Get(ctx, "web"); !client.IsNotFound(err) {
				return fmt.Errorf("project web still exists after destroy: %v", err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: cfg + stackLeaseWithProjectConfig("feature-a", 3600, "c1"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("id"), knownvalue.StringExact("test-1")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("stack_name"), knownvalue.StringExact("test-1")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("ttl"), knownvalue.Int64Exact(3600)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("commit"), knownvalue.StringExact("c1")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("expires_at"), knownvalue.StringRegexp(regexpMust(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`))),
				},
				Check: resource.ComposeTestCheckFunc(recordKey, heldLease(ctx, ci, "feature-a", "c1", &lease), func(*terraform.State) error {
					if d := lease.ExpiresAt.Sub(lease.LeasedAt); d != time.Hour {
						return fmt.Errorf("a lease of %s, want 1h", d)
					}
					return nil
				}),
			},
			{
				// In place: the commit.
				Config: cfg + stackLeaseWithProjectConfig("feature-a", 3600, "c2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
				},
				Check: resource.ComposeTestCheckFunc(remember, heldLease(ctx, ci, "feature-a", "c2", &lease), sameLease),
			},
			{
				// A CI job deploys another commit by hand: that is drift.
				PreConfig: func() {
					if _, _, err := ci().Stacks.SetLastDeployedCommit(ctx, "test-1", "by-hand"); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg + stackLeaseWithProjectConfig("feature-a", 3600, "c2"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: cfg + stackLeaseWithProjectConfig("feature-a", 3600, "c2"),
				Check:  resource.ComposeTestCheckFunc(remember, heldLease(ctx, ci, "feature-a", "c2", &lease), sameLease),
			},
			{
				// Another branch replaces the lease: the stack is released,
				// then leased again (it is the only one, so the same stack).
				Config: cfg + stackLeaseWithProjectConfig("feature-b", 3600, "c2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionReplace)},
				},
				Check: resource.ComposeTestCheckFunc(remember, heldLease(ctx, ci, "feature-b", "c2", &lease), newLease, stackIs("test-1")),
			},
			{
				// So does another ttl.
				Config: cfg + stackLeaseWithProjectConfig("feature-b", 7200, "c2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionReplace)},
				},
				Check: resource.ComposeTestCheckFunc(remember, heldLease(ctx, ci, "feature-b", "c2", &lease), newLease,
					resource.TestCheckResourceAttr(res, "ttl", "7200")),
			},
			{
				// Released out of band: the lease is lost, and apply leases
				// again.
				PreConfig: func() {
					if _, _, err := ci().Stacks.Release(ctx, "test-1", ""); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg + stackLeaseWithProjectConfig("feature-b", 7200, "c2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate)},
				},
				Check: resource.ComposeTestCheckFunc(remember, heldLease(ctx, ci, "feature-b", "c2", &lease), newLease, stackIs("test-1")),
			},
			{
				// The lease ran out.
				PreConfig: func() { srv.Clock.Advance(7201 * time.Second) },
				Config:    cfg + stackLeaseWithProjectConfig("feature-b", 7200, "c2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate)},
				},
				Check: resource.ComposeTestCheckFunc(remember, heldLease(ctx, ci, "feature-b", "c2", &lease), newLease),
			},
			{
				// The lease ran out and another job took the stack: Terraform
				// leases another stack and leaves that job's lease alone.
				PreConfig: func() {
					srv.Clock.Advance(7201 * time.Second)
					if _, _, err := ci().Stacks.Request(ctx, client.StackRequest{Branch: "feature-b"}); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg + stackLeaseWithProjectConfig("feature-b", 7200, "c2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate)},
				},
				Check: resource.ComposeTestCheckFunc(heldLease(ctx, ci, "feature-b", "c2", &lease), stackIs("test-2"), func(*terraform.State) error {
					other, _, err := ci().Stacks.Get(ctx, "test-1")
					if err != nil || other.IsAvailable {
						return fmt.Errorf("the other job's stack: %+v %v", other, err)
					}
					return nil
				}),
			},
			{
				// The stack itself is gone (the last stack deleted by hand).
				PreConfig: func() {
					if _, _, err := ci().Stacks.DeleteLast(ctx, true); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg + stackLeaseWithProjectConfig("feature-b", 7200, "c2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate)},
				},
				Check: resource.ComposeTestCheckFunc(heldLease(ctx, ci, "feature-b", "c2", &lease), stackIs("test-2")),
			},
		},
	})
}

// TestAccStackLeaseWithTheProviderKey leases with the provider's
// stack_api_key, imports the lease by stack name, and checks that destroy
// releases it.
func TestAccStackLeaseWithTheProviderKey(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	p, _, err := admin.Projects.Create(ctx, client.NewProject{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	ci := stackKeyClient(t, srv, p.APIKey)
	// test-1 is leased by a CI job, test-2 is available: Terraform gets
	// test-2.
	job, _, err := ci.Stacks.Request(ctx, client.StackRequest{Branch: "job"})
	if err != nil {
		t.Fatal(err)
	}
	free, _, err := ci.Stacks.Request(ctx, client.StackRequest{Branch: "free"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ci.Stacks.Release(ctx, free.StackName, free.LeaseID); err != nil {
		t.Fatal(err)
	}
	const lease = `
resource "berth_stack_lease" "l" {
  branch = "main"
}
`
	const res = "berth_stack_lease.l"
	cfg := providerConfigWithStackKey(srv, srv.AdminToken, p.APIKey)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			stacks, _, err := ci.Stacks.List(ctx, nil)
			if err != nil {
				return err
			}
			for _, st := range stacks {
				if st.StackName != job.StackName && !st.IsAvailable {
					return fmt.Errorf("stack %s is still leased after destroy", st.StackName)
				}
				if st.StackName == job.StackName && st.IsAvailable {
					return fmt.Errorf("destroy released the CI job's stack %s", st.StackName)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config:      providerConfig(srv, srv.AdminToken) + lease,
				ExpectError: regexpMust(`Missing stack project key[\s\S]*stack_api_key`),
			},
			{
				Config: cfg + lease,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("stack_name"), knownvalue.StringExact("test-2")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("branch"), knownvalue.StringExact("main")),
					// The server's default lease: 6 hours.
					statecheck.ExpectKnownValue(res, tfjsonpath.New("ttl"), knownvalue.Int64Exact(6*3600)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("commit"), knownvalue.Null()),
				},
			},
			{
				ResourceName:      res,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				ResourceName:  res,
				ImportState:   true,
				ImportStateId: "test-9",
				ExpectError:   regexpMust(`Cannot import stack lease[\s\S]*not found`),
			},
			{
				// Setting the key on a lease that used the provider's keeps
				// the lease.
				Config: cfg + fmt.Sprintf(`
resource "berth_stack_lease" "l" {
  branch  = "main"
  api_key = %q
}
`, p.APIKey),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("stack_name"), knownvalue.StringExact("test-2")),
				},
			},
		},
	})
}

// TestAccStackLeaseImportOfAnAvailableStack: only a leased stack can be
// imported.
func TestAccStackLeaseImportOfAnAvailableStack(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	p, _, err := admin.Projects.Create(ctx, client.NewProject{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	ci := stackKeyClient(t, srv, p.APIKey)
	st, _, err := ci.Stacks.Request(ctx, client.StackRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ci.Stacks.Release(ctx, st.StackName, st.LeaseID); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: providerConfigWithStackKey(srv, srv.AdminToken, p.APIKey) + `
import {
  to = berth_stack_lease.l
  id = "test-1"
}

resource "berth_stack_lease" "l" {}
`,
				ExpectError: regexpMust(`stack test-1 is available: only a leased stack can be imported`),
			},
		},
	})
}
