package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// appTestMember signs up email as a member of teams (created by the admin
// when missing) and returns its token and a client acting as it.
func appTestMember(t *testing.T, srv *berthtest.Server, admin *client.Client, email string, teams ...string) (string, *client.Client) {
	t.Helper()
	ctx := context.Background()
	const password = "secret-password"
	if _, err := admin.Users.Create(ctx, email, password); err != nil {
		t.Fatal(err)
	}
	for _, team := range teams {
		if _, _, err := admin.Teams.Get(ctx, team); client.IsNotFound(err) {
			if _, _, err := admin.Teams.Create(ctx, team); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := admin.Teams.AddMember(ctx, team, email); err != nil {
			t.Fatal(err)
		}
	}
	anon, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := anon.Users.Login(ctx, email, password, false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(srv.URL, client.WithToken(token))
	if err != nil {
		t.Fatal(err)
	}
	return token, c
}

// appHCL is a berth_app resource "a" in HCL.
type appHCL struct {
	name, team, platform string
	appType              string
	public, sensitive    map[string]string
	// procs is the HCL of the procs list, verbatim; empty leaves it out.
	procs string
}

func (a appHCL) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "resource \"berth_app\" \"a\" {\n  name = %q\n  team = %q\n  platform = %q\n", a.name, a.team, a.platform)
	if a.appType != "" {
		fmt.Fprintf(&b, "  app_type = %q\n", a.appType)
	}
	for _, m := range []struct {
		attr string
		vars map[string]string
	}{{"config_vars", a.public}, {"sensitive_config_vars", a.sensitive}} {
		if m.vars == nil {
			continue
		}
		fmt.Fprintf(&b, "  %s = {\n", m.attr)
		for _, k := range slices.Sorted(maps.Keys(m.vars)) {
			fmt.Fprintf(&b, "    %s = %q\n", k, m.vars[k])
		}
		b.WriteString("  }\n")
	}
	if a.procs != "" {
		fmt.Fprintf(&b, "  procs = %s\n", a.procs)
	}
	b.WriteString("}\n")
	return b.String()
}

// serverEnv is an app's env as an admin reads it (private values shown).
func serverEnv(ctx context.Context, admin *client.Client, app string) (map[string]client.EnvVar, error) {
	vars, _, err := admin.Env.List(ctx, app, nil)
	if err != nil {
		return nil, err
	}
	out := map[string]client.EnvVar{}
	for _, v := range vars {
		out[v.Name] = v
	}
	return out, nil
}

// expectEnv checks the app's env on the server: want maps names to values,
// with a "private:" prefix for private vars; absent lists vars that must
// not exist.
func expectEnv(admin *client.Client, app string, want map[string]string, absent ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		env, err := serverEnv(context.Background(), admin, app)
		if err != nil {
			return err
		}
		for name, value := range want {
			v, ok := env[name]
			got := v.Value
			if !v.Public {
				got = "private:" + got
			}
			if !ok || got != value {
				return fmt.Errorf("server var %s = %q (present %v), want %q", name, got, ok, value)
			}
		}
		for _, name := range absent {
			if _, ok := env[name]; ok {
				return fmt.Errorf("server var %s still exists", name)
			}
		}
		return nil
	}
}

func expectProcs(admin *client.Client, app string, want ...client.ProcSpec) resource.TestCheckFunc {
	return func(*terraform.State) error {
		repo, _, err := admin.Repos.Get(context.Background(), app)
		if err != nil {
			return err
		}
		if !slices.Equal(repo.Meta.Procs, want) {
			return fmt.Errorf("server procs of %s: %+v, want %+v", app, repo.Meta.Procs, want)
		}
		return nil
	}
}

func expectApp(admin *client.Client, app string, check func(*client.App, *client.Repo) error) resource.TestCheckFunc {
	return func(*terraform.State) error {
		a, _, err := admin.Apps.Get(context.Background(), app)
		if err != nil {
			return err
		}
		repo, _, err := admin.Repos.Get(context.Background(), app)
		if err != nil {
			return err
		}
		return check(a, repo)
	}
}

func TestAccApp(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	token, dev := appTestMember(t, srv, admin, "dev@example.com", "devs", "ops")
	cfg := providerConfig(srv, token)
	const addr = "berth_app.a"

	app := appHCL{
		name: "web", team: "devs", platform: "go",
		public:    map[string]string{"PORT": "8080", "LOG_LEVEL": "info"},
		sensitive: map[string]string{"DB_PASSWORD": "hunter2", "API_KEY": "k1"},
		procs:     `[{ name = "web", num_instances = 2, memory = "64M" }]`,
	}
	// Moves API_KEY to the public vars and LOG_LEVEL to the private ones,
	// changes DB_PASSWORD, adds FEATURE, declares a worker and retypes the app.
	updated := app
	updated.appType = "service"
	updated.public = map[string]string{"PORT": "8080", "API_KEY": "k1", "FEATURE": "on"}
	updated.sensitive = map[string]string{"DB_PASSWORD": "correct-horse", "LOG_LEVEL": "info"}
	updated.procs = `[{ name = "web", num_instances = 3, memory = "64M" }, { name = "worker", num_instances = 1, cpu = 2, memory = "1G" }]`
	updatedEnv := map[string]string{
		"PORT": "8080", "API_KEY": "k1", "FEATURE": "on",
		"DB_PASSWORD": "private:correct-horse", "LOG_LEVEL": "private:info",
	}
	// Without FEATURE.
	trimmed := updated
	trimmed.public = map[string]string{"PORT": "8080", "API_KEY": "k1"}
	trimmedEnv := maps.Clone(updatedEnv)
	delete(trimmedEnv, "FEATURE")
	// Fewer web units.
	scaledDown := trimmed
	scaledDown.procs = `[{ name = "web", num_instances = 1, memory = "64M" }, { name = "worker", num_instances = 1, cpu = 2, memory = "1G" }]`
	replatformed := scaledDown
	replatformed.platform = "python"
	reteamed := replatformed
	reteamed.team = "ops"

	var firstID string
	mustSetEnv := func(vars ...client.EnvVar) {
		if _, _, err := dev.Env.Set(ctx, "web", vars...); err != nil {
			t.Fatal(err)
		}
	}
	update := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)}}
	replace := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionReplace)}}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, _, err := admin.Apps.Get(ctx, "web"); !client.IsNotFound(err) {
				return fmt.Errorf("app web still exists after destroy: %v", err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: cfg + app.String(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexpMust(`^[0-9a-f-]{36}$`))),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("app_type"), knownvalue.StringExact("app")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("repository_url"), knownvalue.StringExact("git@git.berth.local:web.git")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("ip"), knownvalue.StringExact("web.berth.local")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("units"), knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("procs"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"name": knownvalue.StringExact("web"), "num_instances": knownvalue.Int64Exact(2),
							"cpu": knownvalue.Int64Exact(1), "memory": knownvalue.StringExact("64M"),
						}),
					})),
					statecheck.ExpectSensitiveValue(addr, tfjsonpath.New("sensitive_config_vars")),
				},
				Check: resource.ComposeTestCheckFunc(
					expectEnv(admin, "web", map[string]string{"PORT": "8080", "LOG_LEVEL": "info", "DB_PASSWORD": "private:hunter2", "API_KEY": "private:k1"}),
					expectProcs(admin, "web", client.ProcSpec{Name: "web", NumInstances: 2, CPU: 1, Memory: "64M"}),
					expectApp(admin, "web", func(a *client.App, r *client.Repo) error {
						firstID = a.ID
						if a.TeamOwner != "devs" || a.Platform != "go" || r.AppType != "app" {
							return fmt.Errorf("server app: %+v %+v", a, r)
						}
						return nil
					}),
				),
			},
			{
				// A member reads private values masked: they import as such.
				ResourceName:            addr,
				ImportState:             true,
				ImportStateId:           "web",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"sensitive_config_vars"},
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					attrs := states[0].Attributes
					for _, name := range []string{"DB_PASSWORD", "API_KEY"} {
						if got := attrs["sensitive_config_vars."+name]; got != "*** (private variable)" {
							return fmt.Errorf("imported %s = %q", name, got)
						}
					}
					return nil
				},
			},
			{
				// An admin reads them: the import is complete, by id too.
				Config:            providerConfig(srv, srv.AdminToken) + app.String(),
				ResourceName:      addr,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				Config:           cfg + updated.String(),
				ConfigPlanChecks: update,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("app_type"), knownvalue.StringExact("service")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("procs"), knownvalue.ListSizeExact(2)),
				},
				Check: resource.ComposeTestCheckFunc(
					expectEnv(admin, "web", updatedEnv),
					expectProcs(admin, "web",
						client.ProcSpec{Name: "web", NumInstances: 3, CPU: 1, Memory: "64M"},
						client.ProcSpec{Name: "worker", NumInstances: 1, CPU: 2, Memory: "1G"}),
					expectApp(admin, "web", func(a *client.App, r *client.Repo) error {
						if a.ID != firstID || r.AppType != "service" {
							return fmt.Errorf("not updated in place: %s (was %s), type %s", a.ID, firstID, r.AppType)
						}
						return nil
					}),
				),
			},
			{
				// A declared public var changed by hand is drift.
				PreConfig:          func() { mustSetEnv(client.EnvVar{Name: "PORT", Value: "9999", Public: true}) },
				Config:             cfg + updated.String(),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config:           cfg + updated.String(),
				ConfigPlanChecks: update,
				Check:            expectEnv(admin, "web", updatedEnv),
			},
			{
				// So is a declared private var changed by hand, though the
				// member only ever reads it masked (the digest tells).
				PreConfig:          func() { mustSetEnv(client.EnvVar{Name: "DB_PASSWORD", Value: "stolen"}) },
				Config:             cfg + updated.String(),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config:           cfg + updated.String(),
				ConfigPlanChecks: update,
				Check:            expectEnv(admin, "web", updatedEnv),
			},
			{
				// A declared var removed by hand, and one whose kind changed.
				PreConfig: func() {
					if _, _, err := dev.Env.Unset(ctx, "web", "LOG_LEVEL"); err != nil {
						t.Fatal(err)
					}
					mustSetEnv(client.EnvVar{Name: "API_KEY", Value: "k1"})
				},
				Config:           cfg + updated.String(),
				ConfigPlanChecks: update,
				Check:            expectEnv(admin, "web", updatedEnv),
			},
			{
				// Vars set by others are not the resource's: a person's, a
				// public and a private one, and those a binding exported.
				PreConfig: func() {
					mustSetEnv(client.EnvVar{Name: "SET_BY_CI", Value: "1", Public: true}, client.EnvVar{Name: "CI_SECRET", Value: "s"})
					if _, _, err := admin.Services.Create(ctx, client.ServiceManifest{ID: "cache", Team: "devs", Env: map[string]string{"CACHE_URL": "redis://cache:6379"}}); err != nil {
						t.Fatal(err)
					}
					if _, _, err := dev.Instances.Create(ctx, client.CreateInstanceRequest{Name: "cache1", Service: "cache", Owner: "devs"}); err != nil {
						t.Fatal(err)
					}
					if _, _, err := dev.Instances.Bind(ctx, "cache1", "web"); err != nil {
						t.Fatal(err)
					}
				},
				Config:   cfg + updated.String(),
				PlanOnly: true,
			},
			{
				// Removing a var unsets exactly that var.
				Config:           cfg + trimmed.String(),
				ConfigPlanChecks: update,
				Check: resource.ComposeTestCheckFunc(
					expectEnv(admin, "web", trimmedEnv, "FEATURE"),
					expectEnv(admin, "web", map[string]string{"SET_BY_CI": "1", "CI_SECRET": "private:s", "CACHE_URL": "private:redis://cache:6379"}),
				),
			},
			{
				// Deployed through lain, the app runs units; procs scaled
				// through lain are drift.
				PreConfig: func() {
					if _, _, err := dev.Deployments.Deploy(ctx, "web"); err != nil {
						t.Fatal(err)
					}
					n := 5
					if _, _, err := dev.Procs.Scale(ctx, "web", "web", client.ProcScale{NumInstances: &n}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg + trimmed.String(),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config:           cfg + trimmed.String(),
				ConfigPlanChecks: update,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("units"), knownvalue.ListSizeExact(4)),
				},
			},
			{
				// Fewer instances: fewer units, in the same apply. The
				// worker's unit keeps its name web/3 while web shrinks to
				// web/0: another proc scaling renames no unit.
				Config: cfg + scaledDown.String(),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(addr, tfjsonpath.New("units")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("units"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{"name": knownvalue.StringExact("web/0"), "state": knownvalue.StringExact("started")}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{"name": knownvalue.StringExact("web/3"), "state": knownvalue.StringExact("started")}),
					})),
				},
			},
			{
				// berthd cannot change an app's platform: a new app.
				Config:           cfg + replatformed.String(),
				ConfigPlanChecks: replace,
				Check: resource.ComposeTestCheckFunc(
					expectApp(admin, "web", func(a *client.App, _ *client.Repo) error {
						if a.ID == firstID || a.Platform != "python" {
							return fmt.Errorf("not replaced: %+v", a)
						}
						return nil
					}),
					expectEnv(admin, "web", trimmedEnv, "SET_BY_CI", "CACHE_URL"),
				),
			},
			{
				// Nor its owner team.
				Config:           cfg + reteamed.String(),
				ConfigPlanChecks: replace,
				Check: expectApp(admin, "web", func(a *client.App, _ *client.Repo) error {
					if a.TeamOwner != "ops" {
						return fmt.Errorf("owner %q, want ops", a.TeamOwner)
					}
					return nil
				}),
			},
			{
				// Deleted by hand: refresh forgets it and apply recreates it.
				PreConfig: func() {
					if _, err := admin.Apps.Delete(ctx, "web"); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg + reteamed.String(),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate)},
				},
				Check: expectEnv(admin, "web", trimmedEnv),
			},
		},
	})
}

// TestAccAppProcsLeftAlone: without procs in the configuration, the procs
// the app declares through lain stay, and so do its units.
func TestAccAppProcsLeftAlone(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	token, dev := appTestMember(t, srv, admin, "dev@example.com", "devs")
	cfg := providerConfig(srv, token)
	const addr = "berth_app.a"
	bare := appHCL{name: "web", team: "devs", platform: "go"}
	withVars := bare
	withVars.public = map[string]string{"PORT": "8080"}
	lainProcs := []client.ProcSpec{{Name: "web", NumInstances: 2, CPU: 1, Memory: "64M"}}
	twoUnits := knownvalue.ListExact([]knownvalue.Check{
		knownvalue.ObjectExact(map[string]knownvalue.Check{"name": knownvalue.StringExact("web/0"), "state": knownvalue.StringExact("started")}),
		knownvalue.ObjectExact(map[string]knownvalue.Check{"name": knownvalue.StringExact("web/1"), "state": knownvalue.StringExact("started")}),
	})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, _, err := admin.Apps.Get(ctx, "web"); !client.IsNotFound(err) {
				return fmt.Errorf("app web still exists after destroy: %v", err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: cfg + bare.String(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("procs"), knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("config_vars"), knownvalue.Null()),
				},
			},
			{
				PreConfig: func() {
					if _, _, err := dev.Repos.SetMeta(ctx, "web", client.AppMeta{AppType: "app", Procs: lainProcs}); err != nil {
						t.Fatal(err)
					}
					if _, _, err := dev.Deployments.Deploy(ctx, "web"); err != nil {
						t.Fatal(err)
					}
				},
				Config:   cfg + bare.String(),
				PlanOnly: true,
			},
			{
				Config: cfg + withVars.String(),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("units"), twoUnits),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("units"), twoUnits),
				},
				Check: resource.ComposeTestCheckFunc(
					expectProcs(admin, "web", lainProcs...),
					expectEnv(admin, "web", map[string]string{"PORT": "8080"}),
				),
			},
		},
	})
}
