package api_test

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/berthdev/terraform-provider-berth/controlplane/api"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// The auth matrix: every route of every dialect is called with no
// credential, with bad ones, with another team's and with the right one.
// A route the matrix has no row for fails the test, so a new route cannot
// ship without deciding who may call it. docs/api/conventions.md states
// the rules the rows encode.

// publicRoutes are the routes anyone may call (AuthNone). Making a route
// public means adding it here and to docs/api/conventions.md.
var publicRoutes = []string{
	"GET /healthz",
	"GET /openapi.json",
	"GET /readyz",
	"POST /users",
	"POST /users/{email}/password",
	"POST /users/{email}/tokens",
}

// otherTeam is what a signed-in user of another team gets from a route
// (another project's key, on the stack routes).
type otherTeam int

const (
	// refused: 403, the caller is known but not allowed (tsuru, lain).
	refused otherTeam = iota
	// hidden: 404, the thing named is not the caller's to know of (an app
	// token of another user, a stack of another project).
	hidden
	// ownScope: the route acts on the caller's own account, team or
	// project; the answer must show nothing of the owning team's.
	ownScope
	// anyUser: shared by every signed-in user, as in the original (Akkeris
	// pipelines, the platform and healer lists).
	anyUser
	// adminOnly: admins only; even a member of the owning team gets 403.
	adminOnly
)

// authCall is one call of a row: a concrete path, a body, and the
// credential (filled in by the row's kind when empty).
type authCall struct {
	path  string
	body  any
	token string
	key   string
}

type authRow struct {
	other otherTeam
	// calls returns the authorized call and the other team's. It may create
	// what they act on (a fresh app to delete, say).
	calls func(t *testing.T, f *authFixture) (right, other authCall)
}

// same is a row whose two calls differ only in their credential.
func same(kind otherTeam, path string, body any) authRow {
	return authRow{other: kind, calls: func(*testing.T, *authFixture) (authCall, authCall) {
		return authCall{path: path, body: body}, authCall{path: path, body: body}
	}}
}

// fresh is a row whose call acts on something made for it.
func fresh(kind otherTeam, build func(t *testing.T, f *authFixture) (path string, body any)) authRow {
	return authRow{other: kind, calls: func(t *testing.T, f *authFixture) (authCall, authCall) {
		path, body := build(t, f)
		return authCall{path: path, body: body}, authCall{path: path, body: body}
	}}
}

// each is a row whose two calls differ (ownScope routes where each caller
// acts on its own things).
func each(kind otherTeam, build func(t *testing.T, f *authFixture) (right, other authCall)) authRow {
	return authRow{other: kind, calls: build}
}

// The fixture's team owns everything named "alpha...", so that the answer
// of an ownScope route to the other team can be searched for leaks.
const (
	ownerTeam = "alpha"
	leakMark  = "alpha"
)

var authMatrix = map[string]authRow{
	// Metrics and identity.
	"GET /metrics": same(adminOnly, "/metrics", nil),
	"DELETE /users": each(ownScope, func(t *testing.T, f *authFixture) (authCall, authCall) {
		return authCall{path: "/users", token: f.newUser(t, "alpha").Token}, authCall{path: "/users", token: f.newUser(t, "beta").Token}
	}),
	"GET /users/info": same(ownScope, "/users/info", nil),
	"DELETE /users/tokens": each(ownScope, func(t *testing.T, f *authFixture) (authCall, authCall) {
		return authCall{path: "/users/tokens", token: f.srv.Login(t, f.owner.Email, f.owner.Password)},
			authCall{path: "/users/tokens", token: f.srv.Login(t, f.other.Email, f.other.Password)}
	}),
	"PUT /users/password": each(ownScope, func(t *testing.T, f *authFixture) (authCall, authCall) {
		a, b := f.newUser(t, "alpha"), f.newUser(t, "beta")
		return authCall{path: "/users/password", token: a.Token, body: map[string]string{"old": a.Password, "new": "new-password"}},
			authCall{path: "/users/password", token: b.Token, body: map[string]string{"old": b.Password, "new": "new-password"}}
	}),
	"GET /users/keys": same(ownScope, "/users/keys", nil),
	"POST /users/keys": each(ownScope, func(t *testing.T, f *authFixture) (authCall, authCall) {
		return authCall{path: "/users/keys", body: map[string]string{"name": f.name("alpha-key"), "key": "ssh-ed25519 AAAA" + f.name("alpha")}},
			authCall{path: "/users/keys", body: map[string]string{"name": f.name("beta-key"), "key": "ssh-ed25519 AAAA" + f.name("beta")}}
	}),
	"DELETE /users/keys": each(ownScope, func(t *testing.T, f *authFixture) (authCall, authCall) {
		right, other := f.name("alpha-key"), f.name("beta-key")
		f.call(t, "POST", "/users/keys", f.owner.Token, map[string]string{"name": right, "key": "ssh-ed25519 " + right})
		f.call(t, "POST", "/users/keys", f.other.Token, map[string]string{"name": other, "key": "ssh-ed25519 " + other})
		return authCall{path: "/users/keys", body: map[string]string{"name": right}}, authCall{path: "/users/keys", body: map[string]string{"name": other}}
	}),

	"GET /teams": same(ownScope, "/teams", nil),
	"POST /teams": each(ownScope, func(t *testing.T, f *authFixture) (authCall, authCall) {
		return authCall{path: "/teams", body: map[string]string{"name": f.name("alpha-t")}}, authCall{path: "/teams", body: map[string]string{"name": f.name("beta-t")}}
	}),
	"GET /teams/{team}": same(refused, "/teams/alpha", nil),
	"DELETE /teams/{team}": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/teams/" + f.team(t), nil
	}),
	"PUT /teams/{team}/{user}": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/teams/alpha/" + f.newUser(t, "alpha").Email, nil
	}),
	"DELETE /teams/{team}/{user}": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		u := f.newUser(t, "alpha")
		f.call(t, "PUT", "/teams/alpha/"+u.Email, f.owner.Token, nil)
		return "/teams/alpha/" + u.Email, nil
	}),
	"POST /tokens": same(ownScope, "/tokens", map[string]any{}),
	"GET /tokens":  same(ownScope, "/tokens", nil),
	"DELETE /tokens/{id}": fresh(hidden, func(t *testing.T, f *authFixture) (string, any) {
		var tok struct{ ID string }
		f.call(t, "POST", "/tokens", f.owner.Token, map[string]any{}).JSON(t, &tok)
		return "/tokens/" + tok.ID, nil
	}),

	// tsuru apps, quotas, healers, platforms.
	"GET /apps": same(ownScope, "/apps", nil),
	"POST /apps": each(ownScope, func(t *testing.T, f *authFixture) (authCall, authCall) {
		return authCall{path: "/apps", body: map[string]string{"name": f.name("alpha-a"), "platform": "go", "teamOwner": "alpha"}},
			authCall{path: "/apps", body: map[string]string{"name": f.name("beta-a"), "platform": "go", "teamOwner": "beta"}}
	}),
	"GET /apps/{app}": same(refused, "/apps/alpha-app", nil),
	"DELETE /apps/{app}": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/apps/" + f.app(t), nil
	}),
	"GET /apps/{app}/restart": same(refused, "/apps/alpha-app/restart", nil),
	"POST /apps/{app}/deploy": same(refused, "/apps/alpha-app/deploy", map[string]string{"image": "registry.example/alpha:1"}),
	"PUT /apps/{app}/units": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		app := f.app(t)
		f.call(t, "POST", "/apps/"+app+"/deploy", f.owner.Token, map[string]string{"image": "registry.example/alpha:1"})
		return "/apps/" + app + "/units?units=1", nil
	}),
	"DELETE /apps/{app}/units": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		app := f.app(t)
		f.call(t, "POST", "/apps/"+app+"/deploy", f.owner.Token, map[string]string{"image": "registry.example/alpha:1"})
		return "/apps/" + app + "/units?units=1", nil
	}),
	"GET /apps/{app}/env":    same(refused, "/apps/alpha-app/env", nil),
	"POST /apps/{app}/env":   same(refused, "/apps/alpha-app/env", map[string]string{"ALPHA_VAR": "1"}),
	"DELETE /apps/{app}/env": same(refused, "/apps/alpha-app/env?env=ALPHA_VAR", nil),
	"PUT /swap": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/swap?force=true&app1=" + f.app(t) + "&app2=" + f.app(t), nil
	}),
	"GET /quota/{user}":     same(refused, "/quota/owner@alpha.example", nil),
	"PUT /quota/{user}":     same(adminOnly, "/quota/owner@alpha.example", map[string]int{"limit": -1}),
	"GET /healers":          same(anyUser, "/healers", nil),
	"GET /healers/{healer}": same(adminOnly, "/healers/units", nil),
	"GET /platforms":        same(anyUser, "/platforms", nil),

	// tsuru services and instances.
	"GET /services": same(ownScope, "/services", nil),
	"POST /services": each(ownScope, func(t *testing.T, f *authFixture) (authCall, authCall) {
		return authCall{path: "/services", body: f.broker.manifest(f.name("alpha-s"))}, authCall{path: "/services", body: f.broker.manifest(f.name("beta-s"))}
	}),
	"PUT /services": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/services", f.broker.manifest("alpha-svc")
	}),
	"GET /services/instances": same(ownScope, "/services/instances", nil),
	"POST /services/instances": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/services/instances", map[string]string{"name": f.name("alpha-i"), "service_name": "alpha-svc"}
	}),
	"GET /services/instances/{instance}": same(refused, "/services/instances/alpha-inst", nil),
	"DELETE /services/instances/{instance}": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/services/instances/" + f.instance(t), nil
	}),
	"GET /services/instances/{instance}/status": same(refused, "/services/instances/alpha-inst/status", nil),
	"PUT /services/instances/{instance}/{app}": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/services/instances/" + f.instance(t) + "/" + f.app(t), nil
	}),
	"DELETE /services/instances/{instance}/{app}": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		inst, app := f.bound(t)
		return "/services/instances/" + inst + "/" + app, nil
	}),
	"PUT /services/{service}/instances/{instance}/{app}": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/services/alpha-svc/instances/" + f.instance(t) + "/" + f.app(t), nil
	}),
	"DELETE /services/{service}/instances/{instance}/{app}": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		inst, app := f.bound(t)
		return "/services/alpha-svc/instances/" + inst + "/" + app, nil
	}),
	"GET /services/{service}": same(refused, "/services/alpha-svc", nil),
	"DELETE /services/{service}": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		name := f.name("alpha-s")
		f.call(t, "POST", "/services", f.owner.Token, f.broker.manifest(name))
		return "/services/" + name, nil
	}),
	"GET /services/{service}/doc":      same(refused, "/services/alpha-svc/doc", nil),
	"PUT /services/{service}/doc":      same(refused, "/services/alpha-svc/doc", "How to use alpha-svc."),
	"GET /services/{service}/manifest": same(refused, "/services/alpha-svc/manifest", nil),
	"PUT /services/{service}/{team}": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/services/alpha-svc/" + f.team(t), nil
	}),
	"DELETE /services/{service}/{team}": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		team := f.team(t)
		f.call(t, "PUT", "/services/alpha-svc/"+team, f.owner.Token, nil)
		return "/services/alpha-svc/" + team, nil
	}),

	// lain; the routes without the trailing slash use the same rows.
	"GET /api/v1/repos/": same(ownScope, "/api/v1/repos/", nil),
	"POST /api/v1/repos/": each(ownScope, func(t *testing.T, f *authFixture) (authCall, authCall) {
		return authCall{path: "/api/v1/repos/", body: map[string]string{"appname": f.name("alpha-l"), "team": "alpha"}},
			authCall{path: "/api/v1/repos/", body: map[string]string{"appname": f.name("beta-l"), "team": "beta"}}
	}),
	"GET /api/v1/repos/{app}/":                  same(refused, "/api/v1/repos/alpha-lain/", nil),
	"PUT /api/v1/repos/{app}/":                  same(refused, "/api/v1/repos/alpha-lain/", map[string]any{"meta": webOnlyMeta()}),
	"GET /api/v1/repos/{app}/roles/":            same(refused, "/api/v1/repos/alpha-lain/roles/", nil),
	"GET /api/v1/repos/{app}/roles/{username}/": same(refused, "/api/v1/repos/alpha-lain/roles/owner@alpha.example/", nil),
	"GET /api/v1/repos/{app}/maintainers/":      same(refused, "/api/v1/repos/alpha-lain/maintainers/", nil),
	"POST /api/v1/repos/{app}/maintainers/": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/api/v1/repos/alpha-lain/maintainers/", map[string]string{"username": f.newUser(t, "alpha").Email, "role": "maintainer"}
	}),
	"GET /api/v1/repos/{app}/maintainers/{username}/": same(refused, "/api/v1/repos/alpha-lain/maintainers/owner@alpha.example/", nil),
	"DELETE /api/v1/repos/{app}/maintainers/{username}/": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		u := f.newUser(t, "alpha")
		f.call(t, "POST", "/api/v1/repos/alpha-lain/maintainers/", f.owner.Token, map[string]string{"username": u.Email, "role": "maintainer"})
		return "/api/v1/repos/alpha-lain/maintainers/" + u.Email + "/", nil
	}),
	"GET /api/v1/apps/": same(ownScope, "/api/v1/apps/", nil),
	"POST /api/v1/apps/": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/api/v1/apps/", map[string]string{"appname": f.repo(t)}
	}),
	"GET /api/v1/apps/{app}/": same(refused, "/api/v1/apps/alpha-lain/", nil),
	"PUT /api/v1/apps/{app}/": same(refused, "/api/v1/apps/alpha-lain/", map[string]string{"meta_version": metaVersion}),
	"DELETE /api/v1/apps/{app}/": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/api/v1/apps/" + f.deployed(t) + "/", nil
	}),
	"GET /api/v1/apps/{app}/procs/": same(refused, "/api/v1/apps/alpha-lain/procs/", nil),
	"POST /api/v1/apps/{app}/procs/": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		app := f.deployed(t)
		f.call(t, "DELETE", "/api/v1/apps/"+app+"/procs/web/", f.owner.Token, nil)
		return "/api/v1/apps/" + app + "/procs/", map[string]string{"procname": "web"}
	}),
	"GET /api/v1/apps/{app}/procs/{proc}/":   same(refused, "/api/v1/apps/alpha-lain/procs/web/", nil),
	"PATCH /api/v1/apps/{app}/procs/{proc}/": same(refused, "/api/v1/apps/alpha-lain/procs/web/", map[string]int{"num_instances": 1}),
	"DELETE /api/v1/apps/{app}/procs/{proc}/": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/api/v1/apps/" + f.deployed(t) + "/procs/web/", nil
	}),
	"GET /api/v1/resources/{resource}/instances/": same(refused, "/api/v1/resources/alpha-res/instances/", nil),

	// Akkeris: app routes need access to the app; pipelines, couplings and
	// promotions are read by every signed-in user, as in Akkeris.
	"POST /apps/{app}/releases": same(refused, "/apps/alpha-app/releases", map[string]string{"image": "registry.local/alpha:2"}),
	"GET /apps/{app}/releases":  same(refused, "/apps/alpha-app/releases", nil),
	"GET /apps/{app}/releases/{release}": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/apps/alpha-app/releases/" + f.releaseID, nil
	}),
	"POST /apps/{app}/releases/{release}/statuses": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/apps/alpha-app/releases/" + f.releaseID + "/statuses", map[string]string{"context": "ci/" + f.name("alpha"), "state": "success"}
	}),
	"GET /apps/{app}/releases/{release}/statuses": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/apps/alpha-app/releases/" + f.releaseID + "/statuses", nil
	}),
	"GET /apps/{app}/releases/{release}/statuses/{status}": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/apps/alpha-app/releases/" + f.releaseID + "/statuses/" + f.statusID, nil
	}),
	"PATCH /apps/{app}/releases/{release}/statuses/{status}": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/apps/alpha-app/releases/" + f.releaseID + "/statuses/" + f.statusID, map[string]string{"state": "success"}
	}),
	"GET /apps/{app}/pipeline-couplings": same(refused, "/apps/alpha-app/pipeline-couplings", nil),
	"POST /pipelines": each(anyUser, func(t *testing.T, f *authFixture) (authCall, authCall) {
		return authCall{path: "/pipelines", body: map[string]string{"name": f.name("alpha-p")}}, authCall{path: "/pipelines", body: map[string]string{"name": f.name("beta-p")}}
	}),
	"GET /pipelines":                               same(anyUser, "/pipelines", nil),
	"GET /pipelines/{pipeline}":                    same(anyUser, "/pipelines/alpha-pipe", nil),
	"GET /pipelines/{pipeline}/statuses":           same(anyUser, "/pipelines/alpha-pipe/statuses", nil),
	"GET /pipelines/{pipeline}/pipeline-couplings": same(anyUser, "/pipelines/alpha-pipe/pipeline-couplings", nil),
	// Deleting a pipeline removes its couplings, which loosens gates:
	// admins only (an empty pipeline is anyone's to delete, as in Akkeris).
	"DELETE /pipelines/{pipeline}": fresh(adminOnly, func(t *testing.T, f *authFixture) (string, any) {
		p := f.name("alpha-p")
		f.call(t, "POST", "/pipelines", f.owner.Token, map[string]string{"name": p})
		f.call(t, "POST", "/pipeline-couplings", f.owner.Token, map[string]string{"app": f.app(t), "pipeline": p, "stage": "development"})
		return "/pipelines/" + p, nil
	}),
	"GET /pipeline-stages": same(anyUser, "/pipeline-stages", nil),
	"POST /pipeline-couplings": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/pipeline-couplings", map[string]string{"app": f.app(t), "pipeline": "alpha-pipe", "stage": "production"}
	}),
	"GET /pipeline-couplings": same(anyUser, "/pipeline-couplings", nil),
	"GET /pipeline-couplings/{coupling}": fresh(anyUser, func(t *testing.T, f *authFixture) (string, any) {
		return "/pipeline-couplings/" + f.couplingID, nil
	}),
	"PATCH /pipeline-couplings/{coupling}": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/pipeline-couplings/" + f.couplingID, map[string]any{"required_status_checks": map[string]any{"contexts": []string{"ci/alpha"}}}
	}),
	"DELETE /pipeline-couplings/{coupling}": fresh(adminOnly, func(t *testing.T, f *authFixture) (string, any) {
		var c struct{ ID string }
		f.call(t, "POST", "/pipeline-couplings", f.owner.Token, map[string]string{"app": f.app(t), "pipeline": "alpha-pipe", "stage": "production"}).JSON(t, &c)
		return "/pipeline-couplings/" + c.ID, nil
	}),
	"POST /pipeline-promotions": same(refused, "/pipeline-promotions", promotionBody("alpha-pipe", "alpha-app", "alpha-stg")),
	"GET /pipeline-promotions":  same(anyUser, "/pipeline-promotions", nil),
	"GET /pipeline-promotions/{promotion}": fresh(anyUser, func(t *testing.T, f *authFixture) (string, any) {
		return "/pipeline-promotions/" + f.promotionID, nil
	}),
	"GET /pipeline-promotions/{promotion}/promotion-targets": fresh(anyUser, func(t *testing.T, f *authFixture) (string, any) {
		return "/pipeline-promotions/" + f.promotionID + "/promotion-targets", nil
	}),

	// Stack leases: the project key decides the project, so another
	// project's key acts on its own stacks and cannot see this one's.
	"POST /requestStack":          same(ownScope, "/requestStack", map[string]string{"branch": "main"}),
	"POST /stacks/request":        same(ownScope, "/stacks/request", map[string]string{"branch": "main"}),
	"POST /setLastDeployedCommit": same(hidden, "/setLastDeployedCommit", map[string]string{"stackName": "alpha-1", "lastDeployedCommit": "a1b2c3d"}),
	"POST /stacks/commit":         same(hidden, "/stacks/commit", map[string]string{"stackName": "alpha-1", "lastDeployedCommit": "a1b2c3d"}),
	"POST /releaseStack": fresh(hidden, func(t *testing.T, f *authFixture) (string, any) {
		return "/releaseStack", map[string]string{"stackName": f.stack(t)}
	}),
	"POST /stacks/release": fresh(hidden, func(t *testing.T, f *authFixture) (string, any) {
		return "/stacks/release", map[string]string{"stackName": f.stack(t)}
	}),
	"POST /deleteLastStack": fresh(ownScope, func(t *testing.T, f *authFixture) (string, any) {
		f.stack(t)
		f.otherStack(t)
		return "/deleteLastStack", map[string]bool{"force": true}
	}),
	"POST /stacks/delete-last": fresh(ownScope, func(t *testing.T, f *authFixture) (string, any) {
		f.stack(t)
		f.otherStack(t)
		return "/stacks/delete-last", map[string]bool{"force": true}
	}),
	"GET /listStacks": same(ownScope, "/listStacks", nil),
	"GET /stacks":     same(ownScope, "/stacks", nil),
	// Another project's key does not see this project's stacks at all.
	"GET /stacks/{stackName}": same(hidden, "/stacks/alpha-1", nil),
	"GET /project":            same(ownScope, "/project", nil),
	"PUT /project":            same(ownScope, "/project", map[string]string{"initialCommit": "0a1b2c3"}),
	"POST /projects": each(ownScope, func(t *testing.T, f *authFixture) (authCall, authCall) {
		return authCall{path: "/projects", body: map[string]string{"name": f.name("alpha-pr"), "team": "alpha"}}, authCall{path: "/projects", body: map[string]string{"name": f.name("beta-pr"), "team": "beta"}}
	}),
	"GET /projects":        same(ownScope, "/projects", nil),
	"GET /projects/{name}": same(refused, "/projects/alpha-proj", nil),
	"PUT /projects/{name}": same(refused, "/projects/alpha-proj", map[string]string{"initialCommit": "0a1b2c3"}),
	"DELETE /projects/{name}": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/projects/" + f.project(t), nil
	}),
	"POST /projects/{name}/keys": fresh(refused, func(t *testing.T, f *authFixture) (string, any) {
		return "/projects/" + f.project(t) + "/keys", nil
	}),
}

func webOnlyMeta() map[string]any {
	return map[string]any{"procs": []map[string]any{{"name": "web", "num_instances": 1}}}
}

// authFixture is a server where team alpha owns one of everything and
// team beta has its own user, project and stack.
type authFixture struct {
	srv    *berthtest.Server
	broker *testBroker
	owner  *berthtest.User
	other  *berthtest.User
	keyA   string
	keyB   string
	// revoked is a session of the owner that was logged out.
	revoked string
	// forged is a well-formed session token of the owner, signed with a
	// key that is not the server's.
	forged string

	releaseID, statusID, couplingID, promotionID string

	seq int
}

func newAuthFixture(t *testing.T) *authFixture {
	srv := berthtest.Start(t)
	f := &authFixture{srv: srv, broker: newTestBroker(t)}
	f.owner = srv.NewTeamUser(t, "owner@alpha.example", ownerTeam)
	f.other = srv.NewTeamUser(t, "other@beta.example", "beta")

	f.revoked = srv.Login(t, f.owner.Email, f.owner.Password)
	f.call(t, "DELETE", "/users/tokens", f.revoked, nil)
	forged, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer: "berth", Subject: f.owner.Email, ID: "forged",
		IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	}).SignedString([]byte("not the server's signing key"))
	if err != nil {
		t.Fatal(err)
	}
	f.forged = forged

	owner := f.owner.Token
	f.call(t, "POST", "/apps", owner, map[string]string{"name": "alpha-app", "platform": "go"})
	f.call(t, "POST", "/apps", owner, map[string]string{"name": "alpha-stg", "platform": "go"})
	f.call(t, "POST", "/apps/alpha-app/env", owner, map[string]string{"ALPHA_VAR": "1"})
	f.call(t, "POST", "/tokens", owner, map[string]string{"app": "alpha-app"})
	f.call(t, "POST", "/users/keys", owner, map[string]string{"name": "alpha-key", "key": "ssh-ed25519 AAAAalpha"})

	f.call(t, "POST", "/api/v1/repos/", owner, map[string]any{"appname": "alpha-lain", "meta": webOnlyMeta()})
	f.call(t, "POST", "/api/v1/apps/", owner, map[string]string{"appname": "alpha-lain"})
	f.call(t, "POST", "/api/v1/repos/", owner, map[string]any{"appname": "alpha-res", "meta": map[string]any{"apptype": "resource"}})

	f.call(t, "POST", "/services", owner, f.broker.manifest("alpha-svc"))
	f.call(t, "POST", "/services/instances", owner, map[string]string{"name": "alpha-inst", "service_name": "alpha-svc"})

	var rel struct{ ID string }
	f.call(t, "POST", "/apps/alpha-app/releases", owner, map[string]string{"image": "registry.local/alpha:1"}).JSON(t, &rel)
	f.releaseID = rel.ID
	var st struct{ ID string }
	f.call(t, "POST", "/apps/alpha-app/releases/"+rel.ID+"/statuses", owner, map[string]string{"context": "ci/alpha", "state": "pending"}).JSON(t, &st)
	f.statusID = st.ID
	f.call(t, "POST", "/pipelines", owner, map[string]string{"name": "alpha-pipe"})
	var c struct{ ID string }
	f.call(t, "POST", "/pipeline-couplings", owner, map[string]string{"app": "alpha-app", "pipeline": "alpha-pipe", "stage": "development"}).JSON(t, &c)
	f.couplingID = c.ID
	f.call(t, "POST", "/pipeline-couplings", owner, map[string]string{"app": "alpha-stg", "pipeline": "alpha-pipe", "stage": "staging"})
	var p struct{ ID string }
	f.call(t, "POST", "/pipeline-promotions", owner, promotionBody("alpha-pipe", "alpha-app", "alpha-stg")).JSON(t, &p)
	f.promotionID = p.ID

	var proj struct{ APIKey string }
	f.call(t, "POST", "/projects", owner, map[string]string{"name": "alpha-proj", "prefix": "alpha-"}).JSON(t, &proj)
	f.keyA = proj.APIKey
	f.call(t, "POST", "/projects", f.other.Token, map[string]string{"name": "beta-proj", "prefix": "beta-"}).JSON(t, &proj)
	f.keyB = proj.APIKey
	if f.stack(t) != "alpha-1" {
		t.Fatal("the first stack of alpha-proj is not alpha-1")
	}
	f.otherStack(t)
	return f
}

// call makes a setup call as token and fails the test unless it succeeds.
func (f *authFixture) call(t *testing.T, method, path, token string, body any) *berthtest.Response {
	t.Helper()
	r := f.srv.Req(t, method, path, token, body)
	if r.Status >= 300 {
		t.Fatalf("setup: %s", r)
	}
	return r
}

// name returns a name no other call of the test uses.
func (f *authFixture) name(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s%d", prefix, f.seq)
}

func (f *authFixture) newUser(t *testing.T, team string) *berthtest.User {
	return f.srv.NewUser(t, f.name("user")+"@"+team+".example")
}

// team is a new team of the owner's.
func (f *authFixture) team(t *testing.T) string {
	name := f.name("alpha-t")
	f.call(t, "POST", "/teams", f.owner.Token, map[string]string{"name": name})
	return name
}

// app is a new tsuru app of team alpha.
func (f *authFixture) app(t *testing.T) string {
	name := f.name("alpha-a")
	f.call(t, "POST", "/apps", f.owner.Token, map[string]string{"name": name, "platform": "go", "teamOwner": "alpha"})
	return name
}

// repo is a new lain app of team alpha, registered, not deployed.
func (f *authFixture) repo(t *testing.T) string {
	name := f.name("alpha-l")
	f.call(t, "POST", "/api/v1/repos/", f.owner.Token, map[string]any{"appname": name, "team": "alpha", "meta": webOnlyMeta()})
	return name
}

// deployed is a new lain app of team alpha, deployed.
func (f *authFixture) deployed(t *testing.T) string {
	name := f.repo(t)
	f.call(t, "POST", "/api/v1/apps/", f.owner.Token, map[string]string{"appname": name})
	return name
}

// instance is a new instance of alpha-svc.
func (f *authFixture) instance(t *testing.T) string {
	name := f.name("alpha-i")
	f.call(t, "POST", "/services/instances", f.owner.Token, map[string]string{"name": name, "service_name": "alpha-svc"})
	return name
}

// bound is a new instance bound to a new app.
func (f *authFixture) bound(t *testing.T) (instance, app string) {
	instance, app = f.instance(t), f.app(t)
	f.call(t, "PUT", "/services/instances/"+instance+"/"+app, f.owner.Token, nil)
	return instance, app
}

// project is a new stack project of team alpha.
func (f *authFixture) project(t *testing.T) string {
	name := f.name("alpha-pr")
	f.call(t, "POST", "/projects", f.owner.Token, map[string]string{"name": name, "team": "alpha"})
	return name
}

// stack leases a stack of alpha-proj and returns its name.
func (f *authFixture) stack(t *testing.T) string {
	var st struct{ StackName string }
	r := f.srv.Do(t, berthtest.Call{Method: "POST", Path: "/requestStack", Header: map[string]string{"X-API-Key": f.keyA}, Body: map[string]string{"branch": "main"}})
	r.Expect(t, http.StatusOK).JSON(t, &st)
	return st.StackName
}

// otherStack leases a stack of beta-proj.
func (f *authFixture) otherStack(t *testing.T) {
	f.srv.Do(t, berthtest.Call{Method: "POST", Path: "/requestStack", Header: map[string]string{"X-API-Key": f.keyB}, Body: map[string]string{"branch": "main"}}).Expect(t, http.StatusOK)
}

// send makes c on route r with the credential headers given.
func (f *authFixture) send(t *testing.T, r api.Route, c authCall, header map[string]string) *berthtest.Response {
	t.Helper()
	return f.srv.Do(t, berthtest.Call{Method: r.Method, Path: c.path, Body: c.body, Header: header})
}

// credential is the header a call presents.
func credential(r api.Route, c authCall) map[string]string {
	if r.Auth == api.AuthProjectKey {
		return map[string]string{"X-API-Key": c.key}
	}
	return map[string]string{"Authorization": "bearer " + c.token}
}

// badCredentials are the credentials every protected route must refuse
// with 401, by name.
func (f *authFixture) badCredentials(r api.Route) map[string]map[string]string {
	if r.Auth == api.AuthProjectKey {
		return map[string]map[string]string{
			"unknown project key":      {"X-API-Key": "berth_sp_0123456789abcdef0123456789abcdef"},
			"user token as a key":      {"X-API-Key": f.owner.Token},
			"user token in bearer":     {"Authorization": "bearer " + f.owner.Token},
			"project key in bearer":    {"Authorization": "bearer " + f.keyA},
			"empty project key header": {"X-API-Key": ""},
		}
	}
	bad := map[string]map[string]string{
		"garbage token":          {"Authorization": "bearer not-a-token"},
		"logged out session":     {"Authorization": "bearer " + f.revoked},
		"session of another key": {"Authorization": "bearer " + f.forged},
		"project key":            {"Authorization": "bearer " + f.keyA},
		"token without scheme":   {"Authorization": f.owner.Token},
		"basic scheme":           {"Authorization": "Basic b3duZXJAYWxwaGEuZXhhbXBsZTpwYXNzd29yZA=="},
	}
	if strings.HasPrefix(r.Path, "/api/v1/") {
		bad["garbage access-token"] = map[string]string{"access-token": "not-a-token"}
		bad["logged out access-token"] = map[string]string{"access-token": f.revoked}
	}
	return bad
}

// rowFor finds the row of a route and says how to turn the row's paths
// into the route's: a lain route without its trailing slash shares the row
// of the one with it.
func rowFor(r api.Route) (key string, adjust func(string) string, ok bool) {
	key = r.Method + " " + r.Path
	if _, ok := authMatrix[key]; ok {
		return key, func(p string) string { return p }, true
	}
	if strings.HasPrefix(r.Path, "/api/v1/") && !strings.HasSuffix(r.Path, "/") {
		if _, ok := authMatrix[key+"/"]; ok {
			return key + "/", func(p string) string {
				path, query, hasQuery := strings.Cut(p, "?")
				path = strings.TrimSuffix(path, "/")
				if hasQuery {
					return path + "?" + query
				}
				return path
			}, true
		}
	}
	return "", nil, false
}

func TestAuthMatrix(t *testing.T) {
	f := newAuthFixture(t)
	routes := f.srv.Instance().API.Routes()

	var public []string
	used := map[string]bool{}
	for _, r := range routes {
		key := r.Method + " " + r.Path
		if r.Auth == api.AuthNone {
			public = append(public, key)
			continue
		}
		rowKey, _, ok := rowFor(r)
		if !ok {
			t.Errorf("route %s has no row in the auth matrix (auth_matrix_test.go): add one", key)
			continue
		}
		used[rowKey] = true
		t.Run(key, func(t *testing.T) { f.check(t, r) })
	}
	slices.Sort(public)
	if !slices.Equal(public, publicRoutes) {
		t.Errorf("public routes are %q, the matrix (and docs/api/conventions.md) say %q", public, publicRoutes)
	}
	for key := range authMatrix {
		if !used[key] {
			t.Errorf("auth matrix row %s matches no protected route", key)
		}
	}
}

// calls returns the authorized call of protected route r and the other
// team's, with their credentials, from the route's row; it fails the test
// when the route has none.
func (f *authFixture) calls(t *testing.T, r api.Route) (right, other authCall, kind otherTeam) {
	t.Helper()
	key, adjust, ok := rowFor(r)
	if !ok {
		t.Fatalf("route %s %s has no row in the auth matrix", r.Method, r.Path)
	}
	row := authMatrix[key]
	right, other = row.calls(t, f)
	right.path, other.path = adjust(right.path), adjust(other.path)
	switch {
	case r.Auth == api.AuthProjectKey:
		right.key, other.key = cmp.Or(right.key, f.keyA), cmp.Or(other.key, f.keyB)
	case row.other == adminOnly:
		right.token, other.token = cmp.Or(right.token, f.srv.AdminToken), cmp.Or(other.token, f.owner.Token)
	default:
		right.token, other.token = cmp.Or(right.token, f.owner.Token), cmp.Or(other.token, f.other.Token)
	}
	return right, other, row.other
}

func (f *authFixture) check(t *testing.T, r api.Route) {
	right, other, kind := f.calls(t, r)

	expectCode := func(resp *berthtest.Response, status int, code, what string) {
		t.Helper()
		if resp.Status != status {
			t.Errorf("%s: %d, want %d; body %s", what, resp.Status, status, resp.Body)
			return
		}
		var e struct{ Code, Message string }
		resp.JSON(t, &e)
		if e.Code != code || e.Message == "" {
			t.Errorf("%s: error body %s, want code %q and a message", what, resp.Body, code)
		}
	}
	resp := f.send(t, r, right, nil)
	expectCode(resp, http.StatusUnauthorized, "unauthorized", "no credential")
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no credential: 401 without WWW-Authenticate")
	}
	bad := f.badCredentials(r)
	names := make([]string, 0, len(bad))
	for name := range bad {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		expectCode(f.send(t, r, right, bad[name]), http.StatusUnauthorized, "unauthorized", name)
	}

	resp = f.send(t, r, other, credential(r, other))
	switch kind {
	case refused, adminOnly:
		expectCode(resp, http.StatusForbidden, "forbidden", "other team")
	case hidden:
		expectCode(resp, http.StatusNotFound, "not_found", "other team")
	case ownScope:
		if resp.Status >= 300 {
			t.Errorf("other team, on its own things: %s", resp)
		}
		if strings.Contains(string(resp.Body), leakMark) {
			t.Errorf("other team sees team %s's things: %s", ownerTeam, resp.Body)
		}
	case anyUser:
		if resp.Status >= 300 {
			t.Errorf("other team: %s", resp)
		}
	}

	if resp := f.send(t, r, right, credential(r, right)); resp.Status >= 300 {
		t.Errorf("right credential: %s", resp)
	}
}
