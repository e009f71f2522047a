package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

const (
	nsApp          = "app"                // name -> App
	nsAppByID      = "idx-app-id"         // id -> name
	nsAppByTeam    = "idx-app-team"       // team, name -> ""
	nsAppByType    = "idx-app-type"       // type, name -> ""
	nsAppByMaint   = "idx-app-maintainer" // EmailKey(maintainer), name -> ""
	nsAppByGrant   = "idx-app-grant"      // team granted a resource, resource name -> ""
	nsRelease      = "release"            // app id, zero-padded version -> Release
	nsReleaseByID  = "idx-release-id"
	releaseVersion = "%010d"
)

// App returns the app called name.
func (tx *Tx) App(name string) (*domain.App, error) {
	k := key(nsApp, name)
	raw, err := tx.getRaw(k)
	if errors.Is(err, errNoKey) {
		return nil, domain.NotFound("app %q not found", name)
	}
	if err != nil {
		return nil, err
	}
	if tx.apps != nil {
		if a := tx.apps.get(name, raw); a != nil {
			return a, nil
		}
	}
	var a domain.App
	if err := decode(k, raw, &a); err != nil {
		return nil, err
	}
	if tx.apps != nil {
		tx.apps.put(name, raw, &a)
	}
	return &a, nil
}

// AppByID returns the app with that UUID.
func (tx *Tx) AppByID(id string) (*domain.App, error) {
	name, err := tx.getRaw(key(nsAppByID, id))
	if errors.Is(err, errNoKey) {
		return nil, domain.NotFound("app %q not found", id)
	}
	if err != nil {
		return nil, err
	}
	return tx.App(string(name))
}

// AppExists reports whether an app is called name.
func (tx *Tx) AppExists(name string) (bool, error) { return tx.exists(key(nsApp, name)) }

// PutApp creates or replaces an app and keeps its indexes in step.
func (tx *Tx) PutApp(a *domain.App) error {
	var old domain.App
	switch err := tx.get(key(nsApp, a.Name), &old); {
	case errors.Is(err, errNoKey):
		if err := tx.putRaw(key(nsAppByID, a.ID), []byte(a.Name)); err != nil {
			return err
		}
	case err != nil:
		return err
	case old.ID != a.ID:
		return fmt.Errorf("app %q: id changed from %s to %s", a.Name, old.ID, a.ID)
	}
	for _, t := range old.Teams {
		if !a.HasTeam(t) {
			if err := tx.delete(key(nsAppByTeam, t, a.Name)); err != nil {
				return err
			}
		}
	}
	for _, t := range a.Teams {
		if !old.HasTeam(t) {
			if err := tx.putRaw(key(nsAppByTeam, t, a.Name), nil); err != nil {
				return err
			}
		}
	}
	for _, m := range old.Maintainers {
		if !hasMaintainer(a, m.Username) {
			if err := tx.delete(key(nsAppByMaint, domain.EmailKey(m.Username), a.Name)); err != nil {
				return err
			}
		}
	}
	for _, m := range a.Maintainers {
		if !hasMaintainer(&old, m.Username) {
			if err := tx.putRaw(key(nsAppByMaint, domain.EmailKey(m.Username), a.Name), nil); err != nil {
				return err
			}
		}
	}
	for _, t := range old.ResourceGrants {
		if !slices.Contains(a.ResourceGrants, t) {
			if err := tx.delete(key(nsAppByGrant, t, a.Name)); err != nil {
				return err
			}
		}
	}
	for _, t := range a.ResourceGrants {
		if !slices.Contains(old.ResourceGrants, t) {
			if err := tx.putRaw(key(nsAppByGrant, t, a.Name), nil); err != nil {
				return err
			}
		}
	}
	if old.Type != a.Type {
		if old.Type != "" {
			if err := tx.delete(key(nsAppByType, string(old.Type), a.Name)); err != nil {
				return err
			}
		}
		if err := tx.putRaw(key(nsAppByType, string(a.Type), a.Name), nil); err != nil {
			return err
		}
	}
	if err := tx.markAppChanged(a.ID); err != nil {
		return err
	}
	if err := tx.syncRoute(a, false); err != nil {
		return err
	}
	return tx.put(key(nsApp, a.Name), a)
}

// PutAppUnits records what runs of an app (its units' state and
// addresses) without queueing it for the reconciler again: the
// reconciler's own report of what it observed. The app must exist.
func (tx *Tx) PutAppUnits(a *domain.App) error {
	if ok, err := tx.exists(key(nsApp, a.Name)); err != nil || !ok {
		if err == nil {
			err = domain.NotFound("app %q not found", a.Name)
		}
		return err
	}
	if err := tx.syncRoute(a, false); err != nil {
		return err
	}
	return tx.put(key(nsApp, a.Name), a)
}

func hasMaintainer(a *domain.App, email string) bool {
	for _, m := range a.Maintainers {
		if domain.SameEmail(m.Username, email) {
			return true
		}
	}
	return false
}

// DeleteApp removes an app, its indexes and its releases.
func (tx *Tx) DeleteApp(a *domain.App) error {
	for _, m := range a.Maintainers {
		if err := tx.delete(key(nsAppByMaint, domain.EmailKey(m.Username), a.Name)); err != nil {
			return err
		}
	}
	for _, t := range a.Teams {
		if err := tx.delete(key(nsAppByTeam, t, a.Name)); err != nil {
			return err
		}
	}
	for _, t := range a.ResourceGrants {
		if err := tx.delete(key(nsAppByGrant, t, a.Name)); err != nil {
			return err
		}
	}
	if err := tx.delete(key(nsAppByType, string(a.Type), a.Name)); err != nil {
		return err
	}
	if err := tx.delete(key(nsAppByID, a.ID)); err != nil {
		return err
	}
	if err := tx.markAppChanged(a.ID); err != nil {
		return err
	}
	if err := tx.syncRoute(a, true); err != nil {
		return err
	}
	var releases [][]byte
	err := tx.scan(prefix(nsRelease, a.ID), "", 0, false, func(k, v []byte) error {
		var r struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
		releases = append(releases, append([]byte{}, k...), key(nsReleaseByID, r.ID))
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range releases {
		if err := tx.delete(k); err != nil {
			return err
		}
	}
	return tx.delete(key(nsApp, a.Name))
}

// ListApps returns one page of the apps f selects, ordered by name. The
// names come from the team and maintainer indexes (or, for every app, the
// type index or the records); each app is then checked against the whole
// filter, so the index only narrows what is read.
func (tx *Tx) ListApps(f persist.AppFilter, p Page) ([]domain.App, string, error) {
	keep := func(a *domain.App) bool {
		return f.Scope.Includes(a) && (f.Type == "" || a.Type == f.Type) && (!f.DeployedOnly || a.Deployed)
	}
	if f.Scope.All && f.Type == "" && !f.DeployedOnly {
		return scanPage[domain.App](tx, prefix(nsApp), p)
	}
	var pfxs [][]byte
	switch {
	case f.Scope.All && f.Type != "":
		pfxs = [][]byte{prefix(nsAppByType, string(f.Type))}
	case f.Scope.All:
		pfxs = [][]byte{prefix(nsApp)}
	default:
		for _, t := range f.Scope.Teams {
			pfxs = append(pfxs, prefix(nsAppByTeam, t))
		}
		if f.Scope.Maintainer != "" {
			pfxs = append(pfxs, prefix(nsAppByMaint, domain.EmailKey(f.Scope.Maintainer)))
		}
	}
	return pageByIndex(tx, pfxs, p, func(name string) (*domain.App, bool, error) {
		a, err := tx.App(name)
		if err != nil {
			return nil, false, err
		}
		return a, keep(a), nil
	})
}

// ResourcesGrantedTo returns the names of the resources granted to team,
// in order.
func (tx *Tx) ResourcesGrantedTo(team string) ([]string, error) {
	var names []string
	err := tx.scan(prefix(nsAppByGrant, team), "", 0, true, func(k, _ []byte) error {
		names = append(names, lastPart(k))
		return nil
	})
	return names, err
}

// mergeIndexNames returns up to limit distinct last key components after
// cursor across the prefixes, in order.
func (tx *Tx) mergeIndexNames(pfxs [][]byte, after string, limit int) ([]string, error) {
	seen := map[string]bool{}
	var names []string
	for _, pfx := range pfxs {
		err := tx.scan(pfx, after, limit, true, func(k, _ []byte) error {
			n := lastPart(k)
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(names)
	if limit > 0 && len(names) > limit {
		names = names[:limit]
	}
	return names, nil
}

// Release returns the release of app with that id.
func (tx *Tx) Release(appID, releaseID string) (*domain.Release, error) {
	k, err := tx.getRaw(key(nsReleaseByID, releaseID))
	if errors.Is(err, errNoKey) {
		return nil, domain.NotFound("release %q not found", releaseID)
	}
	if err != nil {
		return nil, err
	}
	var r domain.Release
	if err := tx.get(k, &r); err != nil {
		return nil, err
	}
	if r.AppID != appID {
		return nil, domain.NotFound("release %q not found", releaseID)
	}
	return &r, nil
}

// ReleaseByVersion returns version v of an app.
func (tx *Tx) ReleaseByVersion(appID string, v int) (*domain.Release, error) {
	var r domain.Release
	if err := tx.get(key(nsRelease, appID, fmt.Sprintf(releaseVersion, v)), &r); err != nil {
		if errors.Is(err, errNoKey) {
			return nil, domain.NotFound("release version %d not found", v)
		}
		return nil, err
	}
	return &r, nil
}

// PutRelease creates or replaces a release.
func (tx *Tx) PutRelease(r *domain.Release) error {
	k := key(nsRelease, r.AppID, fmt.Sprintf(releaseVersion, r.Version))
	if err := tx.putRaw(key(nsReleaseByID, r.ID), k); err != nil {
		return err
	}
	return tx.put(k, r)
}

// ListReleases returns an app's releases, newest first. The page cursor is
// a version number.
func (tx *Tx) ListReleases(a *domain.App, p Page) ([]domain.Release, string, error) {
	var out []domain.Release
	start := a.LastRelease
	if p.After != "" {
		var v int
		if _, err := fmt.Sscanf(p.After, "%d", &v); err != nil {
			return nil, "", domain.Invalid("invalid cursor %q", p.After)
		}
		start = v - 1
	}
	for v := start; v >= 1; v-- {
		r, err := tx.ReleaseByVersion(a.ID, v)
		if errors.Is(err, domain.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		out = append(out, *r)
		if p.Limit > 0 && len(out) == p.Limit {
			return out, fmt.Sprint(v), nil
		}
	}
	return out, "", nil
}
