package store

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// nsBusy marks what an operation is working on across a call to a service
// broker (or a swap), in every berthd process at once. A mark expires, so
// that one left by a process that died frees itself.
const nsBusy = "busy" // what -> persist.BusyMark (expiring)

// BusyMark returns the live mark on what, if any.
func (tx *Tx) BusyMark(what string, now time.Time) (*persist.BusyMark, error) {
	k := key(nsBusy, what)
	b, err := tx.getLive(k, now)
	if errors.Is(err, errNoKey) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m persist.BusyMark
	if err := decode(k, b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// PutBusyMark marks what busy until expires.
func (tx *Tx) PutBusyMark(what string, m persist.BusyMark, expires time.Time) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return tx.putExpiring(key(nsBusy, what), b, expires)
}

// DeleteBusyMark removes the mark on what when holder holds it.
func (tx *Tx) DeleteBusyMark(what, holder string, now time.Time) error {
	m, err := tx.BusyMark(what, now)
	if err != nil || m == nil || m.Holder != holder {
		return err
	}
	return tx.deleteExpiring(key(nsBusy, what))
}
