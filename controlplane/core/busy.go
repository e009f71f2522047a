package core

import (
	"context"
	"strconv"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// busyMarks mark the apps and service instances an operation is working on
// while it talks to a service broker (or swaps two apps), so that a second
// operation on the same app or instance is refused with 409 instead of
// racing the first one at the broker. The marks live in the store, so they
// hold across every berthd process on it; each expires after busyTTL, so a
// process that dies holding one frees it by then.
type busyMarks struct {
	deps
}

// busyTTL outlasts any operation that holds a mark: a handful of broker
// calls, each bounded by Config.BrokerTimeout.
func (b *busyMarks) ttl() time.Duration { return 6*b.cfg.BrokerTimeout + time.Minute }

// acquire marks every one of whats as busy with op, or none of them when one
// already is. release must be called when op is done; it runs detached from
// ctx, so that a client hanging up does not leave the marks behind.
func (b *busyMarks) acquire(ctx context.Context, op string, whats ...string) (release func(), err error) {
	holder := randomToken(12)
	err = b.store.Update(ctx, func(tx persist.Tx) error {
		now := b.now().UTC()
		for _, w := range whats {
			m, err := tx.BusyMark(w, now)
			if err != nil {
				return err
			}
			if m != nil {
				return domain.Conflict("%s is busy: %s is in progress; try again when it is done", w, m.Operation)
			}
		}
		for _, w := range whats {
			if err := tx.PutBusyMark(w, persist.BusyMark{Holder: holder, Operation: op}, now.Add(b.ttl())); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return func() {
		err := b.store.Update(context.WithoutCancel(ctx), func(tx persist.Tx) error {
			for _, w := range whats {
				if err := tx.DeleteBusyMark(w, holder, b.now().UTC()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.log.Warn("could not clear busy marks; they expire by themselves", "marks", whats, "err", err)
		}
	}, nil
}

func busyApp(name string) string      { return "app " + strconv.Quote(name) }
func busyInstance(name string) string { return "service instance " + strconv.Quote(name) }
