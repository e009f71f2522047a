package core

import (
	"fmt"
	"slices"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// What deleting a thing takes with it, and what keeps it from going, in one
// place per thing: every dialect deletes through these, so an invariant of
// one area holds against a deletion made through any other.

// deleteAppTx removes an app and everything that hangs on it, in this
// order:
//
//  1. lain: a resource that still has instances is kept (the apps that use
//     it must be undeployed first); the app's own resource instances are
//     deleted, each through deleteAppTx;
//  2. pipelines: the app's coupling, and the status contexts its releases
//     carried, which stop counting for the pipeline;
//  3. services: the app's bindings, on the instances' side (Apps.Delete
//     unbinds them at the brokers before it gets here);
//  4. identity: the creator gets the quota back;
//  5. the app itself, its indexes and its releases.
func deleteAppTx(tx persist.Tx, a *domain.App) error {
	if err := refuseIfInstancesTx(tx, a); err != nil {
		return err
	}
	if err := deleteResourceInstancesOf(tx, a); err != nil {
		return err
	}
	switch c, err := tx.CouplingOfApp(a.ID); {
	case err == nil:
		if err := tx.DeleteCoupling(c); err != nil {
			return err
		}
	case !isNotFound(err):
		return err
	}
	if err := tx.DeleteStatusContexts(a.ID); err != nil {
		return err
	}
	for _, b := range a.Bindings {
		inst, err := tx.Instance(b.Instance)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		inst.RemoveBinding(a.Name)
		if err := tx.PutInstance(inst); err != nil {
			return err
		}
	}
	if u, err := tx.User(a.Owner); err == nil {
		if u.QuotaInUse > 0 {
			u.QuotaInUse--
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
	} else if !isNotFound(err) {
		return err
	}
	return tx.DeleteApp(a)
}

// refuseDeletionTx is what keeps an app from being deleted by a user,
// through any dialect, on top of what deleteAppTx itself refuses: a
// resource instance lives and dies with the app it serves (lain's
// invariant), so it goes only when that app stops using the resource, is
// undeployed or is deleted.
func refuseDeletionTx(tx persist.Tx, a *domain.App) error {
	if a.Type != domain.AppTypeResourceInstance {
		return nil
	}
	client, err := tx.App(a.ResourceClient)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if slices.Contains(client.ResourceInstances(), a.Name) {
		return domain.Conflict("resource instance %q serves app %q, which is deployed and uses resource %q: it goes when %q stops using the resource or is undeployed", a.Name, client.Name, a.Resource, client.Name)
	}
	return nil
}

// deleteTeamTx removes a team that owns nothing. What a team may own, in
// the order it is checked: apps (by access), services (owned or granted),
// service instances, stack projects.
func deleteTeamTx(tx persist.Tx, t *domain.Team) error {
	refuse := func(why string) error {
		return domain.Conflict("team %q cannot be removed: %s", t.Name, why)
	}
	apps, _, err := tx.ListApps(persist.AppFilter{Scope: domain.AppScope{Teams: []string{t.Name}}}, domain.Page{Limit: 1})
	if err != nil {
		return err
	}
	if len(apps) > 0 {
		return refuse(fmt.Sprintf("it has access to apps (%s, ...); remove them or revoke the team's access first", apps[0].Name))
	}
	if svc, err := tx.TeamHasServices(t.Name); err != nil {
		return err
	} else if svc != "" {
		return refuse(fmt.Sprintf("it owns or was granted services (%s, ...); remove them or revoke the team's access first", svc))
	}
	if inst, err := tx.TeamHasInstances(t.Name); err != nil {
		return err
	} else if inst != "" {
		return refuse(fmt.Sprintf("it owns service instances (%s, ...); remove them first", inst))
	}
	if name, err := tx.StackProjectOfTeam(t.Name); err != nil {
		return err
	} else if name != "" {
		return refuse(fmt.Sprintf("it owns stack projects (%s, ...); delete them first", name))
	}
	// Grants of resources to the team go with it, so that a team made
	// later under the same name inherits none.
	granted, err := tx.ResourcesGrantedTo(t.Name)
	if err != nil {
		return err
	}
	for _, name := range granted {
		r, err := tx.App(name)
		if err != nil {
			return err
		}
		r.ResourceGrants = slices.DeleteFunc(r.ResourceGrants, func(g string) bool { return g == t.Name })
		if err := tx.PutApp(r); err != nil {
			return err
		}
	}
	return tx.DeleteTeam(t)
}

// deleteUserTx removes a user, in this order: its team memberships (the
// last member of a team must first remove the team or add someone); its
// place among the maintainers of lain apps (the last owner of an app must
// first hand it over), so that a later account with the same e-mail
// inherits nothing; its keys and app tokens, with the user record.
func deleteUserTx(tx persist.Tx, email string, now time.Time) error {
	teams, err := tx.TeamsOf(email)
	if err != nil {
		return err
	}
	for _, name := range teams {
		t, err := tx.Team(name)
		if err != nil {
			return err
		}
		if len(t.Members) == 1 {
			return domain.Conflict("user %q is the last member of team %q: remove the team or add another member first", email, name)
		}
		t.RemoveMember(email)
		if err := tx.PutTeam(t); err != nil {
			return err
		}
	}
	if err := forgetMaintainerTx(tx, email, now); err != nil {
		return err
	}
	return tx.DeleteUser(email)
}

// deletePipelineTx removes a pipeline and its couplings. Promotions made in
// it are kept as history.
func deletePipelineTx(tx persist.Tx, p *domain.Pipeline, couplings []domain.Coupling) error {
	for i := range couplings {
		if err := tx.DeleteCoupling(&couplings[i]); err != nil {
			return err
		}
	}
	return tx.DeletePipeline(p)
}
