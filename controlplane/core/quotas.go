package core

import (
	"context"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// SetQuota changes how many apps a user may own; -1 is unlimited. Only
// admins may. A limit below what the user already owns is refused, as in
// tsuru: remove apps first.
func (s *Identity) SetQuota(ctx context.Context, id *domain.Identity, email string, limit int) (*domain.User, error) {
	if !id.IsAdmin() {
		return nil, forbidden(id, "change quotas")
	}
	if limit < -1 {
		return nil, domain.Invalid("invalid quota limit %d: must be -1 (unlimited) or more", limit)
	}
	var u *domain.User
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if u, err = tx.User(email); err != nil {
			return err
		}
		if limit >= 0 && limit < u.QuotaInUse {
			return domain.Conflict("user %q already owns %d apps: the limit cannot go below that", email, u.QuotaInUse)
		}
		u.QuotaLimit = limit
		return tx.PutUser(u)
	})
	return u, err
}
