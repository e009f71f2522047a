package core

import (
	"context"
	"fmt"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// Swap exchanges the routing of two apps the caller may access: their
// cnames, then their addresses (and so their units' addresses). As tsuru
// does, it refuses apps of different platforms or unit counts unless force
// is set. Either app being busy (another swap, a binding) is a conflict.
func (s *Apps) Swap(ctx context.Context, id *domain.Identity, app1, app2 string, force bool) error {
	if app1 == "" || app2 == "" {
		return domain.Invalid("both app1 and app2 are required")
	}
	a, err := s.Get(ctx, id, app1)
	if err != nil {
		return err
	}
	b, err := s.Get(ctx, id, app2)
	if err != nil {
		return err
	}
	if a.ID == b.ID {
		return domain.Invalid("cannot swap app %q with itself", a.Name)
	}
	release, err := s.busy.acquire(ctx, fmt.Sprintf("a swap of %q and %q", a.Name, b.Name), busyApp(a.Name), busyApp(b.Name))
	if err != nil {
		return err
	}
	defer release()
	err = s.store.Update(ctx, func(tx persist.Tx) error {
		a, err := appForRead(tx, id, a.ID)
		if err != nil {
			return err
		}
		b, err := appForRead(tx, id, b.ID)
		if err != nil {
			return err
		}
		if !force {
			if a.Platform != b.Platform {
				return domain.Precondition("apps %q and %q have different platforms (%q, %q): use force=true to swap anyway", a.Name, b.Name, a.Platform, b.Platform)
			}
			if len(a.Units) != len(b.Units) {
				return domain.Precondition("apps %q and %q have different numbers of units (%d, %d): use force=true to swap anyway", a.Name, b.Name, len(a.Units), len(b.Units))
			}
		}
		a.CNames, b.CNames = b.CNames, a.CNames
		a.IP, b.IP = b.IP, a.IP
		a.RefreshUnitIPs()
		b.RefreshUnitIPs()
		now := s.now().UTC()
		a.UpdatedAt, b.UpdatedAt = now, now
		if err := tx.PutApp(a); err != nil {
			return err
		}
		return tx.PutApp(b)
	})
	if err != nil {
		return err
	}
	// Once the swap answers, this process's router sends every new request
	// for A's address to B's units and back.
	s.routesChanged(ctx)
	return nil
}
