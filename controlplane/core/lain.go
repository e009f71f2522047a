package core

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// The lain dialect: app registration (repos), maintainers and roles,
// deployment and resource instances. Procs are in procs.go.
//
// Invariant kept by every operation here: an app that is deployed runs one
// resource-instance app, resource.<resource>.<app>, per resource its meta
// uses, and no other; an undeployed app runs none. Instances share the
// access (teams, maintainers) of the app they serve.

// Lain is the lain area: registration, maintainers and roles, deployment,
// procs and resource instances.
type Lain struct {
	deps
	// apps creates the apps lain registers.
	apps *Apps
}

// RepoRegistration describes an app registered through lain.
type RepoRegistration struct {
	Name string
	// Team owns the app; it may be empty when the caller is in one team.
	Team     string
	Platform string
	// Meta is what the app declares; nil declares a plain app without procs.
	Meta *domain.AppMeta
}

// RegisterRepo creates an app whose owner is the caller.
func (s *Lain) RegisterRepo(ctx context.Context, id *domain.Identity, r RepoRegistration) (*domain.App, error) {
	if err := domain.ValidateAppName(r.Name); err != nil {
		return nil, err
	}
	meta := r.Meta
	if meta == nil {
		meta = &domain.AppMeta{Type: domain.AppTypeApp}
	}
	if err := domain.ValidateMeta(meta); err != nil {
		return nil, err
	}
	var a *domain.App
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		a, err = s.apps.createAppTx(tx, id, NewApp{Name: r.Name, Type: meta.Type, Platform: r.Platform, TeamOwner: r.Team, Meta: meta})
		if err != nil {
			return err
		}
		if err := checkResourcesTx(tx, id, a, meta.UseResources); err != nil {
			return err
		}
		a.Maintainers = []domain.Maintainer{{Username: id.Email(), Role: domain.RoleOwner}}
		return tx.PutApp(a)
	})
	return a, err
}

// SetRepoMeta replaces what an app declares. On a deployed app the procs
// and resource instances follow at once: every declared proc runs with its
// declared size, undeclared procs stop. The apptype of a deployed app
// cannot change.
func (s *Lain) SetRepoMeta(ctx context.Context, id *domain.Identity, name string, meta *domain.AppMeta) (*domain.App, error) {
	if err := domain.ValidateMeta(meta); err != nil {
		return nil, err
	}
	var a *domain.App
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if a, err = appForChange(tx, id, name); err != nil {
			return err
		}
		if a.Type == domain.AppTypeResourceInstance {
			return domain.Forbidden("resource instance %q declares what its resource %q declares; change the resource instead", a.Name, a.Resource)
		}
		if meta.Type != a.Type {
			if a.Deployed {
				return domain.Conflict("app %q is deployed as %s: its apptype cannot change to %s while it is deployed", a.Name, a.Type, meta.Type)
			}
			if err := refuseIfInstancesTx(tx, a); err != nil {
				return err
			}
		}
		if err := checkResourcesTx(tx, id, a, meta.UseResources); err != nil {
			return err
		}
		now := s.now().UTC()
		previously := a.UsedResources()
		a.Meta, a.Type, a.UpdatedAt = meta, meta.Type, now
		if a.Type != domain.AppTypeResource {
			a.ResourceGrants = nil
		}
		if a.Deployed {
			a.DeployDeclaredProcs(now)
			if err := s.syncResourceInstancesTx(tx, a, previously); err != nil {
				return err
			}
		}
		return tx.PutApp(a)
	})
	return a, err
}

// checkResourcesTx checks that client may use every resource it names: a
// registered app of type resource whose owners consent to client's use of
// it (domain.MayUseResource). A name the caller may neither see nor use is
// refused with the words of a missing one, so that the refusal reveals
// nothing of apps the caller cannot see.
func checkResourcesTx(tx persist.Tx, id *domain.Identity, client *domain.App, resources []string) error {
	for _, r := range resources {
		unusable := domain.Unprocessable("use_resources: %q is not a registered resource that app %q may use", r, client.Name)
		res, err := tx.App(r)
		if isNotFound(err) {
			return unusable
		}
		if err != nil {
			return err
		}
		visible := domain.CanAccessApp(id, res)
		consent := res.Type == domain.AppTypeResource && domain.MayUseResource(id, res, client)
		switch {
		case !visible && !consent:
			return unusable
		case res.Type != domain.AppTypeResource:
			return domain.Unprocessable("use_resources: %q is an app of type %s, not a resource", r, res.Type)
		case !consent:
			return domain.Forbidden("use_resources: resource %q is not shared with the teams of app %q (%s): its owners may grant one of them its use", r, client.Name, strings.Join(client.Teams, ", "))
		}
	}
	return nil
}

// refuseIfInstancesTx refuses to change a resource that has instances.
func refuseIfInstancesTx(tx persist.Tx, a *domain.App) error {
	if a.Type != domain.AppTypeResource {
		return nil
	}
	inst, _, err := tx.AppsNamedWithPrefix(domain.ResourceInstancePrefix(a.Name), domain.Page{Limit: 1})
	if err != nil || len(inst) == 0 {
		return err
	}
	return domain.Conflict("resource %q still has instances (%s, ...): undeploy the apps that use it first", a.Name, inst[0].Name)
}

// Roles.

// AppRole returns the role of username on an app, or the caller's role when
// username is empty. The caller must have access to the app.
func (s *Lain) AppRole(ctx context.Context, id *domain.Identity, app, username string) (*domain.App, string, error) {
	var a *domain.App
	var role string
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		if a, err = appForRead(tx, id, app); err != nil {
			return err
		}
		who := domain.SubjectOf(id)
		if username != "" && !domain.SameEmail(username, id.Email()) {
			u, err := tx.User(username)
			if err != nil {
				return err
			}
			teams, err := tx.TeamsOf(username)
			if err != nil {
				return err
			}
			who = domain.AppSubject{Email: u.Email, Teams: teams, Admin: u.Admin}
		}
		if role = domain.AppRole(a, who); role == "" {
			return domain.NotFound("user %q has no role on app %q", who.Email, a.Name)
		}
		return nil
	})
	return a, role, err
}

// Maintainers.

// Maintainers returns the listed maintainers of an app, by username.
func (s *Lain) Maintainers(ctx context.Context, id *domain.Identity, app string) (*domain.App, []domain.Maintainer, error) {
	a, err := s.apps.Get(ctx, id, app)
	if err != nil {
		return nil, nil, err
	}
	ms := slices.Clone(a.Maintainers)
	slices.SortFunc(ms, func(x, y domain.Maintainer) int { return cmp.Compare(x.Username, y.Username) })
	return a, ms, nil
}

// Maintainer returns one listed maintainer of an app.
func (s *Lain) Maintainer(ctx context.Context, id *domain.Identity, app, username string) (*domain.App, *domain.Maintainer, error) {
	a, err := s.apps.Get(ctx, id, app)
	if err != nil {
		return nil, nil, err
	}
	i := maintainerIndex(a, username)
	if i < 0 {
		return nil, nil, domain.NotFound("user %q is not a maintainer of app %q", username, a.Name)
	}
	return a, &a.Maintainers[i], nil
}

func maintainerIndex(a *domain.App, username string) int {
	return slices.IndexFunc(a.Maintainers, func(m domain.Maintainer) bool { return domain.SameEmail(m.Username, username) })
}

// SetMaintainer adds a maintainer, or changes the role of one already
// listed. Only owners and admins change maintainers; the last owner cannot
// step down.
func (s *Lain) SetMaintainer(ctx context.Context, id *domain.Identity, app, username, role string) (*domain.App, *domain.Maintainer, error) {
	if !domain.ValidMaintainerRole(role) {
		return nil, nil, domain.Invalid("invalid role %q: must be owner or maintainer", role)
	}
	var a *domain.App
	m := domain.Maintainer{Username: username, Role: role}
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if a, err = s.appForMaintainerChange(tx, id, app); err != nil {
			return err
		}
		u, err := tx.User(username)
		if err != nil {
			return err
		}
		m.Username = u.Email
		switch i := maintainerIndex(a, username); {
		case i < 0:
			a.Maintainers = append(a.Maintainers, m)
		case a.Maintainers[i].Role == role:
			return nil
		default:
			if a.Maintainers[i].Role == domain.RoleOwner && a.OwnerCount() == 1 {
				return domain.Conflict("user %q is the last owner of app %q: make someone else owner first", username, a.Name)
			}
			a.Maintainers[i].Role = role
		}
		return saveMaintainersTx(tx, a, s.now().UTC())
	})
	if err != nil {
		return nil, nil, err
	}
	return a, &m, nil
}

// RemoveMaintainer removes a listed maintainer. Only owners and admins
// change maintainers; the last owner cannot be removed.
func (s *Lain) RemoveMaintainer(ctx context.Context, id *domain.Identity, app, username string) error {
	return s.store.Update(ctx, func(tx persist.Tx) error {
		a, err := s.appForMaintainerChange(tx, id, app)
		if err != nil {
			return err
		}
		i := maintainerIndex(a, username)
		if i < 0 {
			return domain.NotFound("user %q is not a maintainer of app %q", username, a.Name)
		}
		if a.Maintainers[i].Role == domain.RoleOwner && a.OwnerCount() == 1 {
			return domain.Conflict("user %q is the last owner of app %q: make someone else owner first", username, a.Name)
		}
		a.Maintainers = slices.Delete(a.Maintainers, i, i+1)
		return saveMaintainersTx(tx, a, s.now().UTC())
	})
}

// forgetMaintainerTx takes a user being deleted off every app it maintains,
// so that a later account with the same e-mail inherits nothing. The last
// owner of an app blocks the deletion, as it blocks leaving the app.
func forgetMaintainerTx(tx persist.Tx, email string, now time.Time) error {
	apps, _, err := tx.ListApps(persist.AppFilter{Scope: domain.AppScope{Maintainer: email}}, domain.Page{})
	if err != nil {
		return err
	}
	for i := range apps {
		a := &apps[i]
		j := maintainerIndex(a, email)
		if j < 0 {
			continue
		}
		if a.Maintainers[j].Role == domain.RoleOwner && a.OwnerCount() == 1 {
			return domain.Conflict("user %q is the last owner of app %q: make someone else owner first", email, a.Name)
		}
		a.Maintainers = slices.Delete(a.Maintainers, j, j+1)
		if err := saveMaintainersTx(tx, a, now); err != nil {
			return err
		}
	}
	return nil
}

func (s *Lain) appForMaintainerChange(tx persist.Tx, id *domain.Identity, app string) (*domain.App, error) {
	a, err := appForRead(tx, id, app)
	if err != nil {
		return nil, err
	}
	if !domain.MayApp(id, a, domain.ChangeAppAccess) {
		return nil, forbidden(id, fmt.Sprintf("change the maintainers of app %q: only its owners may", a.Name))
	}
	if a.Type == domain.AppTypeResourceInstance {
		return nil, domain.Forbidden("resource instance %q has the maintainers of app %q; change them there", a.Name, a.ResourceClient)
	}
	return a, nil
}

func saveMaintainersTx(tx persist.Tx, a *domain.App, now time.Time) error {
	a.UpdatedAt = now
	for _, name := range a.ResourceInstances() {
		inst, err := tx.App(name)
		if err != nil {
			return err
		}
		shareAccess(inst, a)
		if err := tx.PutApp(inst); err != nil {
			return err
		}
	}
	return tx.PutApp(a)
}

// Deployment.

// DeployApp deploys a registered app: its declared procs start and its
// resource instances are created. It fails when the app is already
// deployed or uses something that is not a resource.
func (s *Lain) DeployApp(ctx context.Context, id *domain.Identity, name string) (*domain.App, error) {
	var a *domain.App
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		a, err = appForChange(tx, id, name)
		if isNotFound(err) {
			return domain.NotFound("app %q is not registered", name)
		}
		if err != nil {
			return err
		}
		if a.Deployed {
			return domain.Conflict("app %q is already deployed", a.Name)
		}
		if err := checkResourcesTx(tx, id, a, a.UsedResources()); err != nil {
			return err
		}
		now := s.now().UTC()
		a.Deployed, a.DeployedAt, a.UpdatedAt = true, now, now
		a.DeployDeclaredProcs(now)
		if err := s.syncResourceInstancesTx(tx, a, nil); err != nil {
			return err
		}
		return tx.PutApp(a)
	})
	return a, err
}

// deployedAppForRead loads a deployed app the caller may see.
func (s *Lain) deployedAppForRead(tx persist.Tx, id *domain.Identity, name string) (*domain.App, error) {
	return s.deployedAppFor(tx, id, name, domain.ReadApp)
}

// deployedAppFor loads a deployed app the caller may do act with.
func (s *Lain) deployedAppFor(tx persist.Tx, id *domain.Identity, name string, act domain.AppAction) (*domain.App, error) {
	a, err := appFor(tx, id, name, act)
	if err != nil {
		return nil, err
	}
	if !a.Deployed {
		return nil, domain.NotFound("app %q has not been deployed", a.Name)
	}
	return a, nil
}

// DeployedApp returns a deployed app the caller may see.
func (s *Lain) DeployedApp(ctx context.Context, id *domain.Identity, name string) (*domain.App, error) {
	var a *domain.App
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		a, err = s.deployedAppForRead(tx, id, name)
		return err
	})
	return a, err
}

// DeployedApps returns one page of the deployed apps the caller may see,
// ordered by name, optionally only those of one type.
func (s *Lain) DeployedApps(ctx context.Context, id *domain.Identity, appType domain.AppType, p domain.Page) ([]domain.App, string, error) {
	f := persist.AppFilter{Scope: domain.AppScopeOf(id), Type: appType, DeployedOnly: true}
	var out []domain.App
	var next string
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		out, next, err = tx.ListApps(f, p)
		return err
	})
	return out, next, err
}

// RedeployApp releases a deployed app at metaVersion: a new release is
// created and every declared proc runs again with its declared size.
func (s *Lain) RedeployApp(ctx context.Context, id *domain.Identity, name, metaVersion string) (*domain.App, error) {
	if err := domain.ValidateMetaVersion(metaVersion); err != nil {
		return nil, err
	}
	var a *domain.App
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if a, err = s.deployedAppFor(tx, id, name, domain.ChangeApp); err != nil {
			return err
		}
		if err := checkResourcesTx(tx, id, a, a.UsedResources()); err != nil {
			return err
		}
		a.DeployDeclaredProcs(s.now().UTC())
		if err := s.syncResourceInstancesTx(tx, a, nil); err != nil {
			return err
		}
		if same, err := currentReleaseIs(tx, a, metaVersion); err != nil || same {
			if err != nil {
				return err
			}
			a.UpdatedAt = s.now().UTC()
			return tx.PutApp(a)
		}
		_, err = createReleaseTx(tx, a, s.now().UTC(), NewRelease{MetaVersion: metaVersion, Description: "lain deploy of " + metaVersion})
		return err
	})
	return a, err
}

// currentReleaseIs reports whether the app's current release already runs
// metaVersion with its present config: redeploying it then makes no new
// release, so a retried PUT stays idempotent.
func currentReleaseIs(tx persist.Tx, a *domain.App, metaVersion string) (bool, error) {
	if a.LastRelease == 0 {
		return false, nil
	}
	r, err := tx.ReleaseByVersion(a.ID, a.LastRelease)
	if err != nil {
		return false, err
	}
	return r.MetaVersion == metaVersion && r.Image == "" && r.ConfigVersion == a.ConfigVersion, nil
}

// UndeployApp stops a deployed app and removes its resource instances; its
// registration stays. Resources and resource instances cannot be
// undeployed: a resource serves its instances, an instance lives and dies
// with the app it serves.
func (s *Lain) UndeployApp(ctx context.Context, id *domain.Identity, name string) (*domain.App, error) {
	var a *domain.App
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if a, err = s.deployedAppFor(tx, id, name, domain.ChangeApp); err != nil {
			return err
		}
		switch a.Type {
		case domain.AppTypeResource:
			return domain.Forbidden("resource app %q cannot be undeployed", a.Name)
		case domain.AppTypeResourceInstance:
			return domain.Forbidden("resource instance %q is undeployed with app %q", a.Name, a.ResourceClient)
		}
		previously := a.UsedResources()
		a.Deployed, a.DeployedAt, a.UpdatedAt = false, time.Time{}, s.now().UTC()
		a.Procs = nil
		a.SyncUnits()
		if err := s.syncResourceInstancesTx(tx, a, previously); err != nil {
			return err
		}
		return tx.PutApp(a)
	})
	return a, err
}

// Resource instances.

// ResourceInstances returns one page of the instances of a resource the
// caller may see, ordered by the name of the app each serves.
func (s *Lain) ResourceInstances(ctx context.Context, id *domain.Identity, resource string, p domain.Page) ([]domain.App, string, error) {
	var out []domain.App
	var next string
	err := s.store.View(ctx, func(tx persist.Tx) error {
		r, err := appForRead(tx, id, resource)
		if err != nil {
			return err
		}
		if r.Type != domain.AppTypeResource {
			return nil
		}
		out, next, err = tx.AppsNamedWithPrefix(domain.ResourceInstancePrefix(r.Name), p)
		return err
	})
	return out, next, err
}

// Resource grants and users: a resource's owners decide which other teams
// may use it, and may take a user off it.

// ResourceGrants returns a resource the caller may see and the teams
// granted its use, by name; an app that is not a resource has none.
func (s *Lain) ResourceGrants(ctx context.Context, id *domain.Identity, resource string) (*domain.App, []string, error) {
	r, err := s.apps.Get(ctx, id, resource)
	if err != nil {
		return nil, nil, err
	}
	grants := slices.Clone(r.ResourceGrants)
	slices.Sort(grants)
	return r, grants, nil
}

// resourceForAccessChange loads a resource whose grants and users the
// caller may change: its owners' and admins' (domain.ChangeAppAccess).
func resourceForAccessChange(tx persist.Tx, id *domain.Identity, resource string) (*domain.App, error) {
	r, err := appFor(tx, id, resource, domain.ChangeAppAccess)
	if err != nil {
		return nil, err
	}
	if r.Type != domain.AppTypeResource {
		return nil, domain.Unprocessable("app %q is of type %s, not a resource: only resources are used by other apps", r.Name, r.Type)
	}
	return r, nil
}

// GrantResource lets the apps of team use a resource. Granting again
// changes nothing.
func (s *Lain) GrantResource(ctx context.Context, id *domain.Identity, resource, team string) (*domain.App, error) {
	if err := domain.ValidateTeamName(team); err != nil {
		return nil, err
	}
	var r *domain.App
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if r, err = resourceForAccessChange(tx, id, resource); err != nil {
			return err
		}
		if exists, err := tx.TeamExists(team); err != nil {
			return err
		} else if !exists {
			return domain.NotFound("team %q not found", team)
		}
		if slices.Contains(r.ResourceGrants, team) {
			return nil
		}
		r.ResourceGrants = append(r.ResourceGrants, team)
		slices.Sort(r.ResourceGrants)
		r.UpdatedAt = s.now().UTC()
		return tx.PutApp(r)
	})
	return r, err
}

// RevokeResource withdraws a team's grant. Apps of the team that use the
// resource keep their instances until the owners remove them
// (RemoveResourceUser); their next deploy is refused.
func (s *Lain) RevokeResource(ctx context.Context, id *domain.Identity, resource, team string) error {
	return s.store.Update(ctx, func(tx persist.Tx) error {
		r, err := resourceForAccessChange(tx, id, resource)
		if err != nil {
			return err
		}
		i := slices.Index(r.ResourceGrants, team)
		if i < 0 {
			return domain.NotFound("team %q has no grant on resource %q", team, r.Name)
		}
		r.ResourceGrants = slices.Delete(r.ResourceGrants, i, i+1)
		r.UpdatedAt = s.now().UTC()
		return tx.PutApp(r)
	})
}

// RemoveResourceUser takes an app off a resource, whoever's it is: the
// resource leaves the app's use_resources and, when the app is deployed,
// its instance is deleted. This is how owners free a resource that other
// teams' instances keep from changing.
func (s *Lain) RemoveResourceUser(ctx context.Context, id *domain.Identity, resource, client string) error {
	return s.store.Update(ctx, func(tx persist.Tx) error {
		r, err := resourceForAccessChange(tx, id, resource)
		if err != nil {
			return err
		}
		c, err := tx.App(client)
		if isNotFound(err) || (err == nil && !slices.Contains(c.UsedResources(), r.Name)) {
			return domain.NotFound("app %q does not use resource %q", client, r.Name)
		}
		if err != nil {
			return err
		}
		previously := slices.Clone(c.UsedResources())
		meta := *c.Meta
		meta.UseResources = slices.DeleteFunc(slices.Clone(meta.UseResources), func(u string) bool { return u == r.Name })
		c.Meta, c.UpdatedAt = &meta, s.now().UTC()
		if err := s.syncResourceInstancesTx(tx, c, previously); err != nil {
			return err
		}
		return tx.PutApp(c)
	})
}

// syncResourceInstancesTx restores the invariant for client after its meta
// or deployment changed: instances of resources it used before (previously)
// but no longer runs with are deleted, missing ones are created, and every
// one it keeps gets client's access.
func (s *Lain) syncResourceInstancesTx(tx persist.Tx, client *domain.App, previously []string) error {
	wanted := client.ResourceInstances()
	for _, r := range previously {
		name := domain.ResourceInstanceName(r, client.Name)
		if slices.Contains(wanted, name) {
			continue
		}
		inst, err := tx.App(name)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if err := deleteAppTx(tx, inst); err != nil {
			return err
		}
	}
	if !client.Deployed {
		return nil
	}
	for _, r := range client.UsedResources() {
		inst, err := tx.App(domain.ResourceInstanceName(r, client.Name))
		switch {
		case err == nil:
			shareAccess(inst, client)
		case isNotFound(err):
			if inst, err = s.newResourceInstanceTx(tx, client, r); err != nil {
				return err
			}
		default:
			return err
		}
		if err := tx.PutApp(inst); err != nil {
			return err
		}
	}
	return nil
}

// newResourceInstanceTx makes the instance of resource that serves client,
// deployed with the procs the resource declares. It is built
// here rather than by createAppTx: berth makes it, not a user, so it counts
// against nobody's quota and belongs to the client's team whether or not
// the deploying maintainer is in that team.
func (s *Lain) newResourceInstanceTx(tx persist.Tx, client *domain.App, resourceName string) (*domain.App, error) {
	resource, err := tx.App(resourceName)
	if err != nil {
		return nil, err
	}
	name := domain.ResourceInstanceName(resource.Name, client.Name)
	meta := &domain.AppMeta{Type: domain.AppTypeResourceInstance}
	if resource.Meta != nil {
		meta.Procs = slices.Clone(resource.Meta.Procs)
	}
	now := s.now().UTC()
	inst := &domain.App{
		ID:             uuid.NewString(),
		Name:           name,
		Type:           domain.AppTypeResourceInstance,
		Platform:       resource.Platform,
		IP:             fmt.Sprintf("%s.%s", name, s.cfg.AppDomain),
		Meta:           meta,
		MetaVersion:    resource.MetaVersion,
		Resource:       resource.Name,
		ResourceClient: client.Name,
		Env:            map[string]domain.EnvVar{},
		Deployed:       true,
		DeployedAt:     now,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
	shareAccess(inst, client)
	inst.DeployDeclaredProcs(now)
	return inst, nil
}

// shareAccess gives a resource instance the access of the app it serves.
func shareAccess(inst, client *domain.App) {
	inst.TeamOwner = client.TeamOwner
	inst.Teams = slices.Clone(client.Teams)
	inst.Maintainers = slices.Clone(client.Maintainers)
}

// deleteResourceInstancesOf runs when an app is deleted (through any
// dialect): its resource instances go with it, and a resource that still
// has instances is kept.
func deleteResourceInstancesOf(tx persist.Tx, a *domain.App) error {
	if err := refuseIfInstancesTx(tx, a); err != nil {
		return err
	}
	for _, r := range a.UsedResources() {
		inst, err := tx.App(domain.ResourceInstanceName(r, a.Name))
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if err := deleteAppTx(tx, inst); err != nil {
			return err
		}
	}
	return nil
}
