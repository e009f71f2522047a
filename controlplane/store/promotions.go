package store

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

const (
	nsPromotion           = "promotion"              // id -> Promotion
	nsPromotionByTime     = "idx-promotion-time"     // newest-first key -> ""
	nsPromotionByPipeline = "idx-promotion-pipeline" // pipeline id, newest-first key -> ""
	nsPromotionByTeam     = "idx-promotion-team"     // team, newest-first key -> ""
	// nsPromotionPending holds exactly the promotions still pending, oldest
	// first: the runner's queue. It is written in the transaction that
	// changes a promotion's status, so a restart finds every unfinished
	// promotion and none that has ended.
	nsPromotionPending = "idx-promotion-pending" // oldest-first key -> ""
)

// newestFirst sorts promotions by creation time, newest first, in a
// forward key scan; the id breaks ties.
func newestFirst(p *domain.Promotion) string {
	return fmt.Sprintf("%019d-%s", math.MaxInt64-p.CreatedAt.UnixNano(), p.ID)
}

// oldestFirst sorts promotions by creation time, oldest first.
func oldestFirst(p *domain.Promotion) string {
	return fmt.Sprintf("%019d-%s", p.CreatedAt.UnixNano(), p.ID)
}

// promotionIDOf extracts the id from an ordering key component.
func promotionIDOf(part string) string {
	_, id, _ := strings.Cut(part, "-")
	return id
}

// Promotion returns the promotion with that id.
func (tx *Tx) Promotion(id string) (*domain.Promotion, error) {
	var p domain.Promotion
	if err := tx.get(key(nsPromotion, id), &p); err != nil {
		if errors.Is(err, errNoKey) {
			return nil, domain.NotFound("pipeline promotion %q not found", id)
		}
		return nil, err
	}
	return &p, nil
}

// PutPromotion creates or replaces a promotion and keeps it in the pending
// queue exactly while its status is pending.
func (tx *Tx) PutPromotion(p *domain.Promotion) error {
	if err := tx.putRaw(key(nsPromotionByTime, newestFirst(p)), nil); err != nil {
		return err
	}
	if err := tx.putRaw(key(nsPromotionByPipeline, p.PipelineID, newestFirst(p)), nil); err != nil {
		return err
	}
	// A promotion's team never changes once it has one.
	if p.Team != "" {
		if err := tx.putRaw(key(nsPromotionByTeam, p.Team, newestFirst(p)), nil); err != nil {
			return err
		}
	}
	pending := key(nsPromotionPending, oldestFirst(p))
	if p.Status == domain.PromotionPending {
		if err := tx.putRaw(pending, nil); err != nil {
			return err
		}
	} else if err := tx.delete(pending); err != nil {
		return err
	}
	return tx.put(key(nsPromotion, p.ID), p)
}

// ListPromotions returns one page of the promotions f selects, newest
// first.
func (tx *Tx) ListPromotions(f persist.PromotionFilter, p Page) ([]domain.Promotion, string, error) {
	var pfxs [][]byte
	switch {
	case f.PipelineID != "":
		pfxs = [][]byte{prefix(nsPromotionByPipeline, f.PipelineID)}
	case f.All:
		pfxs = [][]byte{prefix(nsPromotionByTime)}
	default:
		for _, t := range f.Teams {
			pfxs = append(pfxs, prefix(nsPromotionByTeam, t))
		}
	}
	keys, err := tx.mergeIndexNames(pfxs, p.After, p.Limit)
	if err != nil {
		return nil, "", err
	}
	var ids []string
	var last string
	for _, k := range keys {
		last = k
		ids = append(ids, promotionIDOf(k))
	}
	out := make([]domain.Promotion, 0, len(ids))
	for _, id := range ids {
		pr, err := tx.Promotion(id)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *pr)
	}
	if p.Limit > 0 && len(out) == p.Limit {
		return out, last, nil
	}
	return out, "", nil
}

// PendingPromotions returns the ids of up to limit pending promotions,
// oldest first.
func (tx *Tx) PendingPromotions(limit int) ([]string, error) {
	var ids []string
	err := tx.scan(prefix(nsPromotionPending), "", limit, true, func(k, _ []byte) error {
		ids = append(ids, promotionIDOf(lastPart(k)))
		return nil
	})
	return ids, err
}
