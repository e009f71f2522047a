package core

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// Operations that call a broker run detached from the client's request
// context (context.WithoutCancel): once a broker has acted, berth must
// record it or undo it even if the client hung up. Each broker call still
// has its own deadline, Config.BrokerTimeout.

// NewInstance describes a service instance to create.
type NewInstance struct {
	Name    string
	Service string
	// Owner is the team that owns the instance; empty means every team of
	// the caller that may use the service.
	Owner string
}

// CreateInstance creates a service instance, at the service's broker first
// when it has one. If recording it fails, the broker's instance is removed
// again.
func (s *Services) CreateInstance(ctx context.Context, id *domain.Identity, n NewInstance) (*domain.ServiceInstance, error) {
	if err := domain.ValidateInstanceName(n.Name); err != nil {
		return nil, err
	}
	if n.Service == "" {
		return nil, domain.Invalid("service_name is required")
	}
	inst := &domain.ServiceInstance{Name: n.Name, Service: n.Service, CreatedBy: id.Email(), CreatedAt: s.now().UTC()}
	var svc *domain.Service
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		if svc, err = serviceForUse(tx, id, n.Service); err != nil {
			return err
		}
		if inst.Teams, err = instanceTeams(tx, id, svc, n.Owner); err != nil {
			return err
		}
		return instanceNameFree(tx, n.Name)
	})
	if err != nil {
		return nil, err
	}
	release, err := s.busy.acquire(ctx, "creating the instance", busyInstance(n.Name))
	if err != nil {
		return nil, err
	}
	defer release()
	ctx = context.WithoutCancel(ctx)
	if !svc.Static() {
		if err := s.broker(svc).createInstance(ctx, inst); err != nil {
			return nil, err
		}
	}
	err = s.store.Update(ctx, func(tx persist.Tx) error {
		// The service may have been removed while its broker was called.
		if _, err := serviceForUse(tx, id, n.Service); err != nil {
			return err
		}
		if err := instanceNameFree(tx, n.Name); err != nil {
			return err
		}
		return tx.PutInstance(inst)
	})
	if err != nil {
		if !svc.Static() {
			s.undo("remove the broker's instance", svc, n.Name, s.broker(svc).destroyInstance(ctx, n.Name))
		}
		return nil, err
	}
	return inst, nil
}

func instanceNameFree(tx persist.Tx, name string) error {
	exists, err := tx.InstanceExists(name)
	if err == nil && exists {
		return domain.Conflict("service instance %q already exists", name)
	}
	return err
}

// instanceTeams picks the owner teams of a new instance: the team named
// (which the caller must be in, unless admin, and which may use the
// service), else every team of the caller that may use it.
func instanceTeams(tx persist.Tx, id *domain.Identity, svc *domain.Service, owner string) ([]string, error) {
	if owner != "" {
		if !id.IsAdmin() && !id.InTeam(owner) {
			return nil, domain.Forbidden("user %q is not a member of team %q", id.Email(), owner)
		}
		if !id.IsAdmin() && !svc.UsableBy([]string{owner}) {
			return nil, domain.Forbidden("team %q may not use service %q", owner, svc.Name)
		}
		if exists, err := tx.TeamExists(owner); err != nil {
			return nil, err
		} else if !exists {
			return nil, domain.NotFound("team %q not found", owner)
		}
		return []string{owner}, nil
	}
	var teams []string
	for _, t := range id.Teams {
		if svc.UsableBy([]string{t}) {
			teams = append(teams, t)
		}
	}
	if len(teams) == 0 {
		teams = slices.Clone(id.Teams) // an admin using a service none of its teams was granted
	}
	if len(teams) == 0 {
		return nil, domain.Forbidden("user %q is not a member of any team: create a team first", id.Email())
	}
	return teams, nil
}

// instanceForChange loads an instance the caller may bind, unbind or
// remove.
func instanceForChange(tx persist.Tx, id *domain.Identity, name string) (*domain.ServiceInstance, error) {
	inst, err := tx.Instance(name)
	if err != nil {
		return nil, err
	}
	return inst, checkInstanceChange(id, inst)
}

// checkInstanceChange: members of an instance's teams and admins may bind,
// unbind and remove it.
func checkInstanceChange(id *domain.Identity, inst *domain.ServiceInstance) error {
	if !id.IsAdmin() && !id.InAnyTeam(inst.Teams) {
		return forbidden(id, fmt.Sprintf("use service instance %q", inst.Name))
	}
	return nil
}

// instanceForRead also lets the service's owners see an instance.
func instanceForRead(tx persist.Tx, id *domain.Identity, name string) (*domain.ServiceInstance, *domain.Service, error) {
	inst, err := tx.Instance(name)
	if err != nil {
		return nil, nil, err
	}
	svc, err := tx.Service(inst.Service)
	if err != nil {
		return nil, nil, err
	}
	if !id.IsAdmin() && !id.InAnyTeam(inst.Teams) && !svc.OwnedBy(id.Teams) {
		return nil, nil, forbidden(id, fmt.Sprintf("read service instance %q", name))
	}
	return inst, svc, nil
}

// Instance returns a service instance the caller may see.
func (s *Services) Instance(ctx context.Context, id *domain.Identity, name string) (*domain.ServiceInstance, error) {
	var inst *domain.ServiceInstance
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		inst, _, err = instanceForRead(tx, id, name)
		return err
	})
	return inst, err
}

// InstanceStatus asks the broker how an instance is; a static service's
// instances are always "up".
func (s *Services) InstanceStatus(ctx context.Context, id *domain.Identity, name string) (*domain.ServiceInstance, string, error) {
	var inst *domain.ServiceInstance
	var svc *domain.Service
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		inst, svc, err = instanceForRead(tx, id, name)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if svc.Static() {
		return inst, "up", nil
	}
	status, err := s.broker(svc).status(ctx, inst.Name)
	return inst, status, err
}

// DeleteInstance removes an unbound instance, at its broker first. If the
// record cannot be removed afterwards, a retry finds the broker's instance
// gone (which counts as removed) and completes.
func (s *Services) DeleteInstance(ctx context.Context, id *domain.Identity, name string) error {
	if _, err := s.unboundInstance(ctx, id, name); err != nil {
		return err
	}
	release, err := s.busy.acquire(ctx, "removing the instance", busyInstance(name))
	if err != nil {
		return err
	}
	defer release()
	ctx = context.WithoutCancel(ctx)
	// Reload: it may have been bound before it was marked busy.
	inst, err := s.unboundInstance(ctx, id, name)
	if err != nil {
		return err
	}
	var svc *domain.Service
	if err := s.store.View(ctx, func(tx persist.Tx) (err error) { svc, err = tx.Service(inst.Service); return err }); err != nil {
		return err
	}
	if !svc.Static() {
		if err := s.broker(svc).destroyInstance(ctx, name); err != nil {
			return err
		}
	}
	return s.store.Update(ctx, func(tx persist.Tx) error {
		inst, err := tx.Instance(name)
		if err != nil {
			return err
		}
		return tx.DeleteInstance(inst)
	})
}

func (s *Services) unboundInstance(ctx context.Context, id *domain.Identity, name string) (*domain.ServiceInstance, error) {
	var inst *domain.ServiceInstance
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		if inst, err = instanceForChange(tx, id, name); err != nil {
			return err
		}
		if len(inst.Bindings) > 0 {
			return domain.Conflict("service instance %q is bound to apps (%s): unbind them first", name, inst.Bindings[0].App)
		}
		return nil
	})
	return inst, err
}

// bindTarget is what a bind or unbind works on, loaded and authorized.
type bindTarget struct {
	inst *domain.ServiceInstance
	svc  *domain.Service
	app  *domain.App
}

// loadBindTarget loads an instance and an app the caller may both use.
// service, when set (tsuru's later route form), must be the instance's.
func (s *Services) loadBindTarget(ctx context.Context, id *domain.Identity, service, instance, app string) (*bindTarget, error) {
	var t bindTarget
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		if t.inst, err = tx.Instance(instance); err != nil {
			return err
		}
		if service != "" && t.inst.Service != service {
			return domain.NotFound("service instance %q not found in service %q", instance, service)
		}
		if t.app, err = appForChange(tx, id, app); err != nil {
			return err
		}
		if err := checkInstanceChange(id, t.inst); err != nil {
			return err
		}
		t.svc, err = tx.Service(t.inst.Service)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// Bind binds an app to a service instance and returns the vars it exports
// into the app. Binding twice is not an error: the second call answers the
// vars of the existing binding.
//
// The broker is asked first (static services export their manifest's env);
// then one transaction adds the vars to the app's env, tagged with the
// instance, refreshes TSURU_SERVICES, records the binding on both sides and
// moves the config version. If that transaction fails (a var the app's
// users set has the same name, say), the broker binding is undone.
func (s *Services) Bind(ctx context.Context, id *domain.Identity, service, instance, app string) (map[string]string, error) {
	t, err := s.loadBindTarget(ctx, id, service, instance, app)
	if err != nil {
		return nil, err
	}
	if b := t.inst.Binding(t.app.Name); b != nil {
		return b.Env, nil
	}
	release, err := s.busy.acquire(ctx, fmt.Sprintf("binding %q to %q", t.inst.Name, t.app.Name), busyApp(t.app.Name), busyInstance(t.inst.Name))
	if err != nil {
		return nil, err
	}
	defer release()
	ctx = context.WithoutCancel(ctx)
	if t, err = s.loadBindTarget(ctx, id, service, instance, app); err != nil {
		return nil, err
	}
	if b := t.inst.Binding(t.app.Name); b != nil {
		return b.Env, nil
	}
	vars := maps.Clone(t.svc.Env)
	if !t.svc.Static() {
		if vars, err = s.broker(t.svc).bindApp(ctx, t.inst.Name, t.app); err != nil {
			return nil, err
		}
	}
	if vars == nil {
		vars = map[string]string{}
	}
	err = s.store.Update(ctx, func(tx persist.Tx) error { return s.bindTx(tx, t.inst.Name, t.app.ID, vars) })
	if err != nil {
		if !t.svc.Static() {
			s.undo("unbind at the broker", t.svc, t.inst.Name, s.broker(t.svc).unbindApp(ctx, t.inst.Name, t.app))
		}
		return nil, err
	}
	return vars, nil
}

// Unbind unbinds an app from a service instance: at the broker first, then
// one transaction removes exactly the vars the binding exported (a var
// another bound instance also exports gets that instance's value back) and
// the binding records. If that transaction fails, the app is bound at the
// broker again.
func (s *Services) Unbind(ctx context.Context, id *domain.Identity, service, instance, app string) error {
	t, err := s.loadBindTarget(ctx, id, service, instance, app)
	if err != nil {
		return err
	}
	if t.inst.Binding(t.app.Name) == nil {
		return domain.NotFound("app %q is not bound to service instance %q", t.app.Name, t.inst.Name)
	}
	release, err := s.busy.acquire(ctx, fmt.Sprintf("unbinding %q from %q", t.inst.Name, t.app.Name), busyApp(t.app.Name), busyInstance(t.inst.Name))
	if err != nil {
		return err
	}
	defer release()
	return s.unbindBusy(ctx, t.inst.Name, t.app.Name)
}

// unbindAppFromInstance unbinds for DeleteApp, which holds the app busy.
func (s *Services) unbindAppFromInstance(ctx context.Context, instance, app string) error {
	release, err := s.busy.acquire(ctx, fmt.Sprintf("unbinding %q from %q", instance, app), busyInstance(instance))
	if err != nil {
		return err
	}
	defer release()
	return s.unbindBusy(ctx, instance, app)
}

// unbindBusy unbinds once the app and the instance are marked busy.
func (s *Services) unbindBusy(ctx context.Context, instance, app string) error {
	ctx = context.WithoutCancel(ctx)
	var t bindTarget
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		if t.inst, err = tx.Instance(instance); err != nil {
			return err
		}
		if t.app, err = tx.App(app); err != nil {
			return err
		}
		if t.inst.Binding(app) == nil {
			return domain.NotFound("app %q is not bound to service instance %q", app, instance)
		}
		t.svc, err = tx.Service(t.inst.Service)
		return err
	})
	if err != nil {
		return err
	}
	if !t.svc.Static() {
		if err := s.broker(t.svc).unbindApp(ctx, instance, t.app); err != nil {
			return err
		}
	}
	err = s.store.Update(ctx, func(tx persist.Tx) error { return s.unbindTx(tx, instance, t.app.ID) })
	if err != nil && !t.svc.Static() {
		_, rebindErr := s.broker(t.svc).bindApp(ctx, instance, t.app)
		s.undo("bind at the broker again", t.svc, instance, rebindErr)
	}
	return err
}

// undo logs a failed compensation: the broker and berth now disagree, and
// an operator must look.
func (s *Services) undo(what string, svc *domain.Service, instance string, err error) {
	if err != nil {
		s.log.Error("could not undo a broker call after a failure; the broker and berth disagree", "undo", what, "service", svc.Name, "instance", instance, "err", err)
	}
}

// bindTx records a binding: the vars into the app's env, tagged with the
// instance (replacing another instance's value of a shared name), and the
// binding on both sides. A var the app's users set is never overwritten.
func (s *Services) bindTx(tx persist.Tx, instance, appID string, vars map[string]string) error {
	inst, err := tx.Instance(instance)
	if err != nil {
		return err
	}
	a, err := tx.AppByID(appID)
	if err != nil {
		return err
	}
	if inst.Binding(a.Name) != nil {
		return domain.Conflict("app %q is already bound to service instance %q", a.Name, instance)
	}
	if a.Env == nil {
		a.Env = map[string]domain.EnvVar{}
	}
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		if v, ok := a.Env[name]; ok && v.Instance == "" {
			return domain.Conflict("app %q has its own environment variable %q, which service instance %q exports too: unset it before binding", a.Name, name, instance)
		}
	}
	for name, value := range vars {
		a.Env[name] = domain.EnvVar{Name: name, Value: value, Instance: inst.Name, Service: inst.Service}
	}
	a.Bindings = append(a.Bindings, domain.Binding{Instance: inst.Name, Service: inst.Service})
	inst.Bindings = append(inst.Bindings, domain.InstanceBinding{App: a.Name, Env: vars, BoundAt: s.now().UTC()})
	if err := tx.PutInstance(inst); err != nil {
		return err
	}
	if err := refreshServicesVar(tx, a); err != nil {
		return err
	}
	// What a broker exports counts against the app's config bounds too.
	if err := a.CheckEnv(); err != nil {
		return err
	}
	return putConfigChange(tx, a, s.now().UTC())
}

// unbindTx removes a binding and exactly the vars it exported that the app
// still has from it; where another bound instance exports the same name,
// the most recently bound one's value takes its place.
func (s *Services) unbindTx(tx persist.Tx, instance, appID string) error {
	inst, err := tx.Instance(instance)
	if err != nil {
		return err
	}
	a, err := tx.AppByID(appID)
	if err != nil {
		return err
	}
	b := inst.Binding(a.Name)
	if b == nil {
		return domain.NotFound("app %q is not bound to service instance %q", a.Name, instance)
	}
	exported := b.Env
	inst.RemoveBinding(a.Name)
	if err := tx.PutInstance(inst); err != nil {
		return err
	}
	a.Bindings = slices.DeleteFunc(a.Bindings, func(b domain.Binding) bool { return b.Instance == instance })
	others, err := boundInstances(tx, a)
	if err != nil {
		return err
	}
	for name := range exported {
		if v, ok := a.Env[name]; !ok || v.Instance != instance {
			continue // another instance's value is in place
		}
		delete(a.Env, name)
		for i := len(a.Bindings) - 1; i >= 0; i-- {
			other := others[i]
			if value, ok := other.Binding(a.Name).Env[name]; ok {
				a.Env[name] = domain.EnvVar{Name: name, Value: value, Instance: other.Name, Service: other.Service}
				break
			}
		}
	}
	if err := refreshServicesVar(tx, a); err != nil {
		return err
	}
	return putConfigChange(tx, a, s.now().UTC())
}

// boundInstances loads the instances of a.Bindings, in the same order.
func boundInstances(tx persist.Tx, a *domain.App) ([]*domain.ServiceInstance, error) {
	out := make([]*domain.ServiceInstance, 0, len(a.Bindings))
	for _, b := range a.Bindings {
		inst, err := tx.Instance(b.Instance)
		if err != nil {
			return nil, err
		}
		if inst.Binding(a.Name) == nil {
			return nil, fmt.Errorf("app %q lists a binding to %q that the instance does not have", a.Name, b.Instance)
		}
		out = append(out, inst)
	}
	return out, nil
}

// servicesEntry is one instance in TSURU_SERVICES.
type servicesEntry struct {
	InstanceName string            `json:"instance_name"`
	Envs         map[string]string `json:"envs"`
}

// refreshServicesVar rewrites TSURU_SERVICES from the app's bindings:
// {"<service>": [{"instance_name": ..., "envs": {...}}]}, as tsuru exports
// it. An app with no bindings has none.
func refreshServicesVar(tx persist.Tx, a *domain.App) error {
	if len(a.Bindings) == 0 {
		delete(a.Env, domain.ServicesEnvVar)
		return nil
	}
	insts, err := boundInstances(tx, a)
	if err != nil {
		return err
	}
	summary := map[string][]servicesEntry{}
	for _, inst := range insts {
		env := inst.Binding(a.Name).Env
		if env == nil {
			env = map[string]string{}
		}
		summary[inst.Service] = append(summary[inst.Service], servicesEntry{InstanceName: inst.Name, Envs: env})
	}
	b, err := json.Marshal(summary)
	if err != nil {
		return err
	}
	if a.Env == nil {
		a.Env = map[string]domain.EnvVar{}
	}
	a.Env[domain.ServicesEnvVar] = domain.EnvVar{Name: domain.ServicesEnvVar, Value: string(b)}
	return nil
}
