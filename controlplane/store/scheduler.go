package store

import (
	"errors"
	"time"
)

// nsLease holds the leases of background work: which process runs it, and
// a fencing token that moves each time another process takes over.
const nsLease = "lease" // name -> SchedulerLease

// SchedulerLease is one process's claim to run the background work.
type SchedulerLease struct {
	Holder    string    `json:"holder"`
	Token     int64     `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// SchedulerLease returns the lease called name, or nil when none was ever
// taken.
func (tx *Tx) SchedulerLease(name string) (*SchedulerLease, error) {
	var l SchedulerLease
	if err := tx.get(key(nsLease, name), &l); err != nil {
		if errors.Is(err, errNoKey) {
			return nil, nil
		}
		return nil, err
	}
	return &l, nil
}

// PutSchedulerLease records a lease.
func (tx *Tx) PutSchedulerLease(name string, l *SchedulerLease) error {
	return tx.put(key(nsLease, name), l)
}
