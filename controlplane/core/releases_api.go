package core

import (
	"context"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// CreateRelease releases an app the caller may change: a new version that
// runs an image or a meta_version with the app's current config.
func (s *Apps) CreateRelease(ctx context.Context, id *domain.Identity, appRef string, n NewRelease) (*domain.Release, *domain.App, error) {
	if err := domain.ValidateReleaseInput(n.Image, n.MetaVersion, n.Description); err != nil {
		return nil, nil, err
	}
	var r *domain.Release
	var a *domain.App
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if a, err = appForChange(tx, id, appRef); err != nil {
			return err
		}
		r, err = createReleaseTx(tx, a, s.now().UTC(), n)
		return err
	})
	return r, a, err
}

// ListReleases returns one page of an app's releases, newest first, and the
// app.
func (s *Apps) ListReleases(ctx context.Context, id *domain.Identity, appRef string, p domain.Page) ([]domain.Release, *domain.App, string, error) {
	var releases []domain.Release
	var a *domain.App
	var next string
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		if a, err = appForRead(tx, id, appRef); err != nil {
			return err
		}
		releases, next, err = tx.ListReleases(a, p)
		return err
	})
	return releases, a, next, err
}

// GetRelease returns one release of an app, by id or version number, and
// the app.
func (s *Apps) GetRelease(ctx context.Context, id *domain.Identity, appRef, releaseRef string) (*domain.Release, *domain.App, error) {
	var r *domain.Release
	var a *domain.App
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		if a, err = appForRead(tx, id, appRef); err != nil {
			return err
		}
		r, err = releaseOf(tx, a, releaseRef)
		return err
	})
	return r, a, err
}

// releaseOf finds a release of a by its UUID or its version number.
func releaseOf(tx persist.Tx, a *domain.App, ref string) (*domain.Release, error) {
	if v, err := strconv.Atoi(ref); err == nil && v > 0 {
		return tx.ReleaseByVersion(a.ID, v)
	}
	return tx.Release(a.ID, ref)
}

// CreateReleaseStatus records a check result on a release and returns it
// with the release's id. A context exists once per release; the name
// defaults to the context.
func (s *Apps) CreateReleaseStatus(ctx context.Context, id *domain.Identity, appRef, releaseRef string, in domain.ReleaseStatusInput) (*domain.ReleaseStatus, string, error) {
	if err := domain.ValidateStatusContext(in.Context); err != nil {
		return nil, "", err
	}
	if in.State == nil {
		return nil, "", domain.Invalid("state is required: pending, success, failure or error")
	}
	if err := in.Validate(); err != nil {
		return nil, "", err
	}
	var st domain.ReleaseStatus
	var releaseID string
	err := s.store.Update(ctx, func(tx persist.Tx) error {
		a, r, err := s.releaseForChange(tx, id, appRef, releaseRef)
		if err != nil {
			return err
		}
		releaseID = r.ID
		if r.Status(in.Context) != nil {
			return domain.Conflict("release v%d of %s already has a status %q: update that status instead", r.Version, a.Name, in.Context)
		}
		now := s.now().UTC()
		st = domain.ReleaseStatus{ID: uuid.NewString(), Context: in.Context, Name: in.Context, CreatedAt: now}
		applyStatusInput(&st, in, now)
		r.Statuses = append(r.Statuses, st)
		r.UpdatedAt = now
		if err := tx.PutRelease(r); err != nil {
			return err
		}
		return tx.AddStatusContext(a.ID, domain.StatusContext{Context: st.Context, Name: st.Name})
	})
	if err != nil {
		return nil, "", err
	}
	return &st, releaseID, nil
}

// UpdateReleaseStatus changes the fields of a release status that in sets
// and returns it with the release's id.
func (s *Apps) UpdateReleaseStatus(ctx context.Context, id *domain.Identity, appRef, releaseRef, statusID string, in domain.ReleaseStatusInput) (*domain.ReleaseStatus, string, error) {
	if in.State == nil && in.Name == nil && in.Description == nil && in.TargetURL == nil {
		return nil, "", domain.Invalid("nothing to change: set state, name, description or target_url")
	}
	if err := in.Validate(); err != nil {
		return nil, "", err
	}
	var st domain.ReleaseStatus
	var releaseID string
	err := s.store.Update(ctx, func(tx persist.Tx) error {
		a, r, err := s.releaseForChange(tx, id, appRef, releaseRef)
		if err != nil {
			return err
		}
		releaseID = r.ID
		cur := r.StatusByID(statusID)
		if cur == nil {
			return domain.NotFound("release status %q not found on release v%d of %s", statusID, r.Version, a.Name)
		}
		now := s.now().UTC()
		applyStatusInput(cur, in, now)
		st = *cur
		r.UpdatedAt = now
		if err := tx.PutRelease(r); err != nil {
			return err
		}
		return tx.AddStatusContext(a.ID, domain.StatusContext{Context: st.Context, Name: st.Name})
	})
	if err != nil {
		return nil, "", err
	}
	return &st, releaseID, nil
}

func applyStatusInput(st *domain.ReleaseStatus, in domain.ReleaseStatusInput, now time.Time) {
	if in.Name != nil && *in.Name != "" {
		st.Name = *in.Name
	}
	if in.State != nil {
		st.State = *in.State
	}
	if in.Description != nil {
		st.Description = *in.Description
	}
	if in.TargetURL != nil {
		st.TargetURL = *in.TargetURL
	}
	st.UpdatedAt = now
}

func (s *Apps) releaseForChange(tx persist.Tx, id *domain.Identity, appRef, releaseRef string) (*domain.App, *domain.Release, error) {
	a, err := appForChange(tx, id, appRef)
	if err != nil {
		return nil, nil, err
	}
	r, err := releaseOf(tx, a, releaseRef)
	return a, r, err
}

// GetReleaseStatus returns one status of a release, with the release's id.
func (s *Apps) GetReleaseStatus(ctx context.Context, id *domain.Identity, appRef, releaseRef, statusID string) (*domain.ReleaseStatus, string, error) {
	r, a, err := s.GetRelease(ctx, id, appRef, releaseRef)
	if err != nil {
		return nil, "", err
	}
	st := r.StatusByID(statusID)
	if st == nil {
		return nil, "", domain.NotFound("release status %q not found on release v%d of %s", statusID, r.Version, a.Name)
	}
	return st, r.ID, nil
}
