package store

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// Counters count entities by state for /metrics. They are moved in the
// transaction that changes what they count, so every replica reads the
// same numbers without scanning.
const nsCounter = "counter" // name -> decimal count

// Count returns a counter's value.
func (tx *Tx) Count(name string) (int64, error) {
	v, err := tx.getRaw(key(nsCounter, name))
	if errors.Is(err, errNoKey) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(v), 10, 64)
}

// AddCount moves a counter by delta.
func (tx *Tx) AddCount(name string, delta int64) error {
	n, err := tx.Count(name)
	if err != nil {
		return err
	}
	return tx.putRaw(key(nsCounter, name), []byte(strconv.FormatInt(n+delta, 10)))
}

// countPromotions sets the promotion counters from the promotions stored:
// schema 1 kept them in memory only.
func countPromotions(ctx context.Context, s *Store, _ time.Time) error {
	counts := map[string]int64{}
	err := s.View(ctx, func(tx *Tx) error {
		return tx.scan(prefix(nsPromotion), "", 0, false, func(k, v []byte) error {
			var p struct{ Status string }
			if err := decode(k, v, &p); err != nil {
				return err
			}
			counts[p.Status]++
			return nil
		})
	})
	if err != nil {
		return err
	}
	return s.Update(ctx, func(tx *Tx) error {
		for _, st := range []string{domain.PromotionPending, domain.PromotionSuccessful, domain.PromotionFailed} {
			if err := tx.putRaw(key(nsCounter, persist.PromotionCounter(st)), []byte(strconv.FormatInt(counts[st], 10))); err != nil {
				return err
			}
		}
		return nil
	})
}
