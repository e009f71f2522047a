package store

import (
	"errors"

	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// nsLease holds the leases of background work: which process runs it, and
// a fencing token that moves each time another process takes over.
const nsLease = "lease" // name -> persist.SchedulerLease

// SchedulerLease returns the lease called name, or nil when none was ever
// taken.
func (tx *Tx) SchedulerLease(name string) (*persist.SchedulerLease, error) {
	var l persist.SchedulerLease
	if err := tx.get(key(nsLease, name), &l); err != nil {
		if errors.Is(err, errNoKey) {
			return nil, nil
		}
		return nil, err
	}
	return &l, nil
}

// PutSchedulerLease records a lease.
func (tx *Tx) PutSchedulerLease(name string, l *persist.SchedulerLease) error {
	return tx.put(key(nsLease, name), l)
}
