package core

import (
	"maps"
	"time"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// NewRelease describes a release to create.
type NewRelease struct {
	Image       string
	MetaVersion string
	Description string
	PromotionID string
}

// createReleaseTx adds the next release of a, snapshotting its current
// config, and saves both. Every path that releases (the Akkeris releases
// API, a lain redeploy, a promotion) goes through here.
func createReleaseTx(tx persist.Tx, a *domain.App, now time.Time, n NewRelease) (*domain.Release, error) {
	a.LastRelease++
	if n.MetaVersion != "" {
		a.MetaVersion = n.MetaVersion
	}
	if n.Image != "" && a.Meta == nil && len(a.Procs) == 0 {
		a.Procs = []domain.Proc{domain.DefaultWebProc(now)}
		a.SyncUnits()
	}
	a.UpdatedAt = now
	r := &domain.Release{
		ID:            uuid.NewString(),
		AppID:         a.ID,
		AppName:       a.Name,
		Version:       a.LastRelease,
		Image:         n.Image,
		MetaVersion:   n.MetaVersion,
		Description:   n.Description,
		Config:        maps.Clone(a.Env),
		ConfigVersion: a.ConfigVersion,
		PromotionID:   n.PromotionID,
		Rollout:       domain.RolloutQueued,
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	if err := tx.PutRelease(r); err != nil {
		return nil, err
	}
	return r, tx.PutApp(a)
}
