package core

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// MaskedValue replaces the value of a private var for callers who may not
// read it (tsuru's wording).
const MaskedValue = "*** (private variable)"

// EnvView is a config var as a caller sees it: the value of a private var
// is masked for everybody but admins, and Digest (private vars only) lets
// any reader notice that the value changed without learning it.
type EnvView struct {
	domain.EnvVar
	Digest string
}

// Env returns an app's config vars ordered by name, only those named when
// names is not empty. Private values are masked except for admins.
func (s *Apps) Env(ctx context.Context, id *domain.Identity, app string, names []string) ([]EnvView, error) {
	a, err := s.Get(ctx, id, app)
	if err != nil {
		return nil, err
	}
	return s.visibleEnv(id, a, names)
}

func (s *Apps) visibleEnv(id *domain.Identity, a *domain.App, names []string) ([]EnvView, error) {
	key := s.envKey
	out := make([]EnvView, 0, len(a.Env))
	for _, v := range a.Env {
		if len(names) > 0 && !slices.Contains(names, v.Name) {
			continue
		}
		view := EnvView{EnvVar: v}
		if !v.Public {
			view.Digest = envDigest(key, a.ID, v)
			if !id.IsAdmin() {
				view.Value = MaskedValue
			}
		}
		out = append(out, view)
	}
	slices.SortFunc(out, func(x, y EnvView) int { return cmp.Compare(x.Name, y.Name) })
	return out, nil
}

// envDigest is HMAC-SHA256 over the app's id, the var's name and its value.
// Keyed, so a digest cannot be checked against guesses away from the
// server; bound to app and name, so equal secrets do not look equal across
// apps or vars.
func envDigest(key []byte, appID string, v domain.EnvVar) string {
	mac := hmac.New(sha256.New, key)
	// Ids and names cannot contain NUL: the encoding is unambiguous.
	mac.Write([]byte(appID + "\x00" + v.Name + "\x00" + v.Value))
	return hex.EncodeToString(mac.Sum(nil))
}

// SetEnv sets config vars of an app and returns its env as Env shows it. A
// var a service binding exported, and TSURU_SERVICES, belong to the binding:
// setting one is a conflict. The config version moves when anything changed.
func (s *Apps) SetEnv(ctx context.Context, id *domain.Identity, app string, vars []domain.EnvVar) ([]EnvView, error) {
	if len(vars) == 0 {
		return nil, domain.Invalid("no environment variables given")
	}
	if len(vars) > domain.MaxEnvVars {
		return nil, domain.Invalid("%d environment variables given: an app has at most %d", len(vars), domain.MaxEnvVars)
	}
	seen := map[string]bool{}
	for _, v := range vars {
		if err := domain.ValidateEnvName(v.Name); err != nil {
			return nil, err
		}
		if err := domain.CheckEnvValue(v.Name, v.Value); err != nil {
			return nil, err
		}
		if seen[v.Name] {
			return nil, domain.Invalid("environment variable %q is given twice", v.Name)
		}
		seen[v.Name] = true
	}
	var a *domain.App
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if a, err = appForChange(tx, id, app); err != nil {
			return err
		}
		if a.Env == nil {
			a.Env = map[string]domain.EnvVar{}
		}
		before := maps.Clone(a.Env)
		for _, v := range vars {
			if err := checkUserOwned(a, v.Name); err != nil {
				return err
			}
			a.Env[v.Name] = domain.EnvVar{Name: v.Name, Value: v.Value, Public: v.Public}
		}
		if maps.Equal(before, a.Env) {
			return nil
		}
		if err := a.CheckEnv(); err != nil {
			return err
		}
		return putConfigChange(tx, a, s.now().UTC())
	})
	if err != nil {
		return nil, err
	}
	return s.visibleEnv(id, a, nil)
}

// UnsetEnv removes config vars of an app; names it does not have are
// ignored, so a retried call succeeds. Vars a binding owns are a conflict.
func (s *Apps) UnsetEnv(ctx context.Context, id *domain.Identity, app string, names []string) ([]EnvView, error) {
	if len(names) == 0 {
		return nil, domain.Invalid("no environment variable names given")
	}
	for _, n := range names {
		if err := domain.ValidateEnvName(n); err != nil {
			return nil, err
		}
	}
	var a *domain.App
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if a, err = appForChange(tx, id, app); err != nil {
			return err
		}
		changed := false
		for _, n := range names {
			if err := checkUserOwned(a, n); err != nil {
				return err
			}
			if _, ok := a.Env[n]; ok {
				delete(a.Env, n)
				changed = true
			}
		}
		if !changed {
			return nil
		}
		return putConfigChange(tx, a, s.now().UTC())
	})
	if err != nil {
		return nil, err
	}
	return s.visibleEnv(id, a, nil)
}

// checkUserOwned refuses changing a var a binding (or berth) maintains.
func checkUserOwned(a *domain.App, name string) error {
	if name == domain.ServicesEnvVar {
		return domain.Conflict("%s is maintained by berth from the app's service bindings", name)
	}
	if v, ok := a.Env[name]; ok && v.Instance != "" {
		return domain.Conflict("environment variable %q belongs to service instance %q (service %q): unbind the instance to remove it", name, v.Instance, v.Service)
	}
	return nil
}

// putConfigChange saves an app whose env changed: the config version moves,
// so the next release snapshots a new config.
func putConfigChange(tx persist.Tx, a *domain.App, now time.Time) error {
	a.ConfigVersion++
	a.UpdatedAt = now
	return tx.PutApp(a)
}
