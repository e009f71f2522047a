package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// Promotions run in the background, one at a time, oldest first. The state
// machine lives in the store: a promotion and each of its targets are
// pending until carried out, and the release a target receives is written
// in the same transaction that marks the target successful. A restart
// therefore resumes exactly the targets not yet done: none is lost and none
// is applied twice. Running one promotion at a time serialises promotions
// to the same target in the order they were created.

const (
	// promotionPollInterval is how often the runner looks for pending
	// promotions when nothing wakes it: a safety net, since creating a
	// promotion wakes it at once.
	promotionPollInterval = 30 * time.Second
	// promotionRetryMin is the first wait after a failed run; it doubles
	// up to promotionPollInterval.
	promotionRetryMin = time.Second
	// pendingBatch bounds how many pending promotions one read fetches.
	pendingBatch = 100
)

// promotionsTopic is the store notification a new promotion sends, so that
// the runner (on whichever berthd holds the scheduler's lease) starts it at
// once.
const promotionsTopic = "promotions"

// putPromotion saves p, whose stored status was was ("" for a new
// promotion), and moves the status counters in the same transaction.
func putPromotion(tx persist.Tx, p *domain.Promotion, was string) error {
	if to := p.Status; to != was {
		if was != "" {
			if err := tx.AddCount(persist.PromotionCounter(was), -1); err != nil {
				return err
			}
		}
		if err := tx.AddCount(persist.PromotionCounter(to), 1); err != nil {
			return err
		}
	}
	return tx.PutPromotion(p)
}

func (s *Pipelines) gauges(ctx context.Context) ([]Gauge, error) {
	var out []Gauge
	err := s.store.View(ctx, func(tx persist.Tx) error {
		for _, status := range []string{domain.PromotionPending, domain.PromotionSuccessful, domain.PromotionFailed} {
			n, err := tx.Count(persist.PromotionCounter(status))
			if err != nil {
				return err
			}
			out = append(out, Gauge{Kind: "promotion", State: status, Value: float64(n)})
		}
		return nil
	})
	return out, err
}

// NewPromotion asks to promote a release of Source to Targets. Pipeline,
// Source and Targets are names or ids; SourceRelease is a release id or
// version, empty for the source's newest release.
type NewPromotion struct {
	Pipeline      string
	Source        string
	SourceRelease string
	Targets       []string
	Safe          bool
}

// CreatePromotion checks a promotion and queues it. Every target must be
// coupled to the pipeline in the stage right after the source's; the
// release must pass every required status check of every target (409
// otherwise, one detail per unmet check); a safe promotion also needs the
// same config var names and bound services on source and targets (422
// otherwise, one detail per difference). Nothing is queued unless all
// hold. Only members of teams owning the source and every target, or
// admins, may promote.
func (s *Pipelines) CreatePromotion(ctx context.Context, id *domain.Identity, n NewPromotion) (*domain.Promotion, error) {
	if n.Pipeline == "" || n.Source == "" {
		return nil, domain.Invalid("a promotion needs a pipeline and a source app")
	}
	if len(n.Targets) == 0 {
		return nil, domain.Invalid("targets must name at least one app")
	}
	var p *domain.Promotion
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		p, err = s.createPromotionTx(tx, id, n)
		if err == nil {
			tx.Notify(promotionsTopic)
		}
		return err
	})
	return p, err
}

func (s *Pipelines) createPromotionTx(tx persist.Tx, id *domain.Identity, n NewPromotion) (*domain.Promotion, error) {
	pl, err := pipelineFor(tx, id, n.Pipeline)
	if err != nil {
		return nil, err
	}
	src, err := appByNameOrID(tx, n.Source)
	if err != nil {
		return nil, err
	}
	targets := make([]*domain.App, 0, len(n.Targets))
	for _, ref := range n.Targets {
		if ref == "" {
			return nil, domain.Invalid("every target of a promotion needs an app")
		}
		a, err := appByNameOrID(tx, ref)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(targets, func(t *domain.App) bool { return t.ID == a.ID }) {
			return nil, domain.Invalid("app %q is named twice in targets", a.Name)
		}
		targets = append(targets, a)
	}
	var denied []string
	for _, a := range append([]*domain.App{src}, targets...) {
		if !domain.CanAccessApp(id, a) {
			denied = append(denied, a.Name)
		}
	}
	if len(denied) > 0 {
		return nil, forbidden(id, "promote: only members of teams owning the source and every target may; no access to "+strings.Join(denied, ", "))
	}

	srcCoupling, err := tx.CouplingOfApp(src.ID)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	if err != nil || srcCoupling.PipelineID != pl.ID {
		return nil, domain.Unprocessable("app %q is not coupled to pipeline %q", src.Name, pl.Name)
	}
	next, ok := domain.NextStage(srcCoupling.Stage)
	if !ok {
		return nil, domain.Unprocessable("app %q is in stage %s, the last one: there is no stage to promote it to", src.Name, srcCoupling.Stage)
	}
	var misplaced []string
	targetCouplings := make([]*domain.Coupling, len(targets))
	for i, a := range targets {
		c, err := tx.CouplingOfApp(a.ID)
		switch {
		case isNotFound(err) || (err == nil && c.PipelineID != pl.ID):
			misplaced = append(misplaced, fmt.Sprintf("app %q is not coupled to pipeline %q", a.Name, pl.Name))
		case err != nil:
			return nil, err
		case c.Stage != next:
			misplaced = append(misplaced, fmt.Sprintf("app %q is in stage %s, not %s", a.Name, c.Stage, next))
		}
		targetCouplings[i] = c
	}
	if len(misplaced) > 0 {
		return nil, domain.WithDetails(domain.KindUnprocessable,
			fmt.Sprintf("cannot promote %s (stage %s): every target must be coupled to pipeline %s in stage %s", src.Name, srcCoupling.Stage, pl.Name, next), misplaced)
	}

	var release *domain.Release
	switch {
	case n.SourceRelease != "":
		if release, err = releaseOf(tx, src, n.SourceRelease); err != nil {
			return nil, err
		}
	case src.LastRelease == 0:
		return nil, domain.Unprocessable("app %q has no release to promote", src.Name)
	default:
		if release, err = tx.ReleaseByVersion(src.ID, src.LastRelease); err != nil {
			return nil, err
		}
	}

	var unmet []string
	for _, c := range targetCouplings {
		for _, line := range release.UnmetStatusChecks(c.RequiredStatusChecks) {
			if !slices.Contains(unmet, line) {
				unmet = append(unmet, line)
			}
		}
	}
	if len(unmet) > 0 {
		return nil, domain.WithDetails(domain.KindConflict,
			fmt.Sprintf("promotion of release v%d of %s blocked by required status checks", release.Version, src.Name), unmet)
	}

	if n.Safe {
		var diffs []string
		for _, a := range targets {
			diffs = append(diffs, domain.SafePromotionDifferences(src, a)...)
		}
		if len(diffs) > 0 {
			return nil, domain.WithDetails(domain.KindUnprocessable,
				fmt.Sprintf("safe promotion refused: the config var names and bound services of %s and its targets differ", src.Name), diffs)
		}
	}

	now := s.now().UTC()
	p := &domain.Promotion{
		ID:              uuid.NewString(),
		PipelineID:      pl.ID,
		PipelineName:    pl.Name,
		Team:            pl.Team,
		SourceAppID:     src.ID,
		SourceAppName:   src.Name,
		SourceReleaseID: release.ID,
		SourceVersion:   release.Version,
		Safe:            n.Safe,
		Status:          domain.PromotionPending,
		CreatedBy:       id.Email(),
		CreatedAt:       now,
		UpdatedAt:       now,
	}
	for _, a := range targets {
		p.Targets = append(p.Targets, domain.PromotionTarget{
			ID: uuid.NewString(), AppID: a.ID, AppName: a.Name, Status: domain.PromotionPending, UpdatedAt: now,
		})
	}
	return p, putPromotion(tx, p, "")
}

// GetPromotion returns a promotion the caller may see (its pipeline's
// team, which keeps it after the pipeline is deleted), by id.
func (s *Pipelines) GetPromotion(ctx context.Context, id *domain.Identity, promotionID string) (*domain.Promotion, error) {
	var p *domain.Promotion
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		if p, err = tx.Promotion(promotionID); err != nil {
			return err
		}
		if !domain.MayPromotion(id, p) {
			return forbidden(id, fmt.Sprintf("access promotion %s of pipeline %q: it belongs to team %q", p.ID, p.PipelineName, p.Team))
		}
		return nil
	})
	return p, err
}

// ListPromotions returns one page of the promotions the caller may see,
// newest first: those of a pipeline (name or id), or all when pipelineRef
// is empty.
func (s *Pipelines) ListPromotions(ctx context.Context, id *domain.Identity, pipelineRef string, p domain.Page) ([]domain.Promotion, string, error) {
	var out []domain.Promotion
	var next string
	err := s.store.View(ctx, func(tx persist.Tx) error {
		f := persist.PromotionFilter{All: id.IsAdmin(), Teams: id.Teams}
		if pipelineRef != "" {
			pl, err := pipelineFor(tx, id, pipelineRef)
			if err != nil {
				return err
			}
			f.PipelineID = pl.ID
		}
		var err error
		out, next, err = tx.ListPromotions(f, p)
		return err
	})
	return out, next, err
}

// runPromotions is the background job that carries out pending
// promotions until ctx ends (the scheduler ends it when this process loses
// its lease). A new promotion wakes it through the store; it also looks
// every promotionPollInterval, in case a wake-up was lost.
func (s *Pipelines) runPromotions(ctx context.Context, fence fence) {
	wake, err := s.store.Subscribe(ctx, promotionsTopic)
	if err != nil {
		s.log.Error("promotion runner: cannot subscribe to new promotions; polling only", "err", err)
	}
	retry := promotionRetryMin
	for {
		wait := promotionPollInterval
		if err := s.runPendingPromotions(ctx, fence); err != nil && ctx.Err() == nil {
			s.log.Error("promotion runner: will retry", "err", err, "in", retry)
			wait, retry = retry, min(2*retry, promotionPollInterval)
		} else {
			retry = promotionRetryMin
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-time.After(wait):
		}
	}
}

// runPendingPromotions carries out pending promotions, oldest first, until
// none is left. It stops at the first that cannot make progress (the store
// failing): the ones after it may target the same apps and must wait their
// turn; the promotions healer fails it once it is past its deadline.
func (s *Pipelines) runPendingPromotions(ctx context.Context, fence fence) error {
	for {
		var ids []string
		err := s.store.View(ctx, func(tx persist.Tx) (err error) {
			ids, err = tx.PendingPromotions(pendingBatch)
			return err
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		for _, id := range ids {
			if err := s.runPromotion(ctx, fence, id); err != nil {
				return fmt.Errorf("promotion %s: %w", id, err)
			}
		}
	}
}

// runPromotion carries out a promotion's pending targets, one transaction
// each, and settles it.
func (s *Pipelines) runPromotion(ctx context.Context, fence fence, promotionID string) error {
	for {
		var applied, settled string
		var ended bool
		err := s.store.Update(ctx, func(tx persist.Tx) error {
			applied, settled, ended = "", "", false
			if err := fence.check(tx); err != nil {
				return err
			}
			p, err := tx.Promotion(promotionID)
			if err != nil {
				return err
			}
			if p.Status != domain.PromotionPending {
				ended = true
				return nil
			}
			now := s.now().UTC()
			if i := p.NextPendingTarget(); i >= 0 {
				if err := promoteTarget(tx, p, &p.Targets[i], now); err != nil {
					return err
				}
				applied = p.Targets[i].AppID
			}
			if ended = p.Settle(now); ended {
				settled = p.Status
			} else {
				p.UpdatedAt = now
			}
			return putPromotion(tx, p, domain.PromotionPending)
		})
		if err != nil {
			return err
		}
		if settled != "" {
			s.log.Info("promotion ended", "promotion", promotionID, "status", settled)
		}
		if applied != "" && s.afterTarget != nil {
			s.afterTarget(ctx, promotionID, applied)
		}
		if ended {
			return nil
		}
	}
}

// promoteTarget gives target a new release with the image or meta_version
// of the promoted release and the target's own config, and records the
// outcome on t, in tx. A target or source that no longer exists fails the
// target; any other error aborts the transaction, to be retried.
func promoteTarget(tx persist.Tx, p *domain.Promotion, t *domain.PromotionTarget, now time.Time) error {
	t.UpdatedAt = now
	fail := func(format string, args ...any) error {
		t.Status, t.ErrorMessage = domain.PromotionFailed, fmt.Sprintf(format, args...)
		return nil
	}
	src, err := tx.Release(p.SourceAppID, p.SourceReleaseID)
	if isNotFound(err) {
		return fail("release v%d of %s no longer exists", p.SourceVersion, p.SourceAppName)
	}
	if err != nil {
		return err
	}
	a, err := tx.AppByID(t.AppID)
	if isNotFound(err) {
		return fail("app %s no longer exists", t.AppName)
	}
	if err != nil {
		return err
	}
	r, err := createReleaseTx(tx, a, now, NewRelease{
		Image:       src.Image,
		MetaVersion: src.MetaVersion,
		Description: fmt.Sprintf("Promoted from %s v%d (pipeline %s)", p.SourceAppName, p.SourceVersion, p.PipelineName),
		PromotionID: p.ID,
	})
	var de *domain.Error
	if errors.As(err, &de) {
		return fail("%s", de.Error())
	}
	if err != nil {
		return err
	}
	t.Status, t.ReleaseID, t.ErrorMessage = domain.PromotionSuccessful, r.ID, ""
	return nil
}

// healPromotions fails the promotions still pending after the promotion
// deadline: their remaining targets are failed and nothing more is applied.
func (s *Pipelines) healPromotions(ctx context.Context, fence fence) (HealerReport, error) {
	var rep HealerReport
	var ids []string
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		ids, err = tx.PendingPromotions(0)
		return err
	})
	if err != nil {
		return rep, err
	}
	deadline := s.cfg.PromotionDeadline
	for _, id := range ids {
		var failed *domain.Promotion
		err := s.store.Update(ctx, func(tx persist.Tx) error {
			failed = nil
			if err := fence.check(tx); err != nil {
				return err
			}
			p, err := tx.Promotion(id)
			if err != nil {
				return err
			}
			now := s.now().UTC()
			if p.Status != domain.PromotionPending || now.Sub(p.CreatedAt) <= deadline {
				return nil
			}
			for i := range p.Targets {
				if t := &p.Targets[i]; t.Status == domain.PromotionPending {
					t.Status, t.ErrorMessage, t.UpdatedAt = domain.PromotionFailed, fmt.Sprintf("the promotion did not complete within %s", deadline), now
				}
			}
			p.Settle(now)
			failed = p
			return putPromotion(tx, p, domain.PromotionPending)
		})
		if err != nil {
			return rep, err
		}
		if failed != nil {
			rep.add(fmt.Sprintf("promotion %s of %s v%d in pipeline %s failed: still pending after %s",
				failed.ID, failed.SourceAppName, failed.SourceVersion, failed.PipelineName, deadline))
		}
	}
	return rep, nil
}
