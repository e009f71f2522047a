package store

import (
	"errors"
	"strconv"

	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// nsReconcile is the reconciler's queue: the apps whose desired state
// changed since it last made the runtime agree. Every write of an app
// marks it (PutApp, DeleteApp), in the transaction that makes the change,
// so no change is missed by a crash; the mark counts the changes, so that
// the reconciler clears only the mark it acted on, never a later one.
const nsReconcile = "reconcile" // app id -> number of changes

func (tx *Tx) markAppChanged(appID string) error {
	k := key(nsReconcile, appID)
	n := int64(0)
	switch v, err := tx.getRaw(k); {
	case err == nil:
		if n, err = strconv.ParseInt(string(v), 10, 64); err != nil {
			return err
		}
	case !errors.Is(err, errNoKey):
		return err
	}
	tx.Notify(persist.ReconcileTopic)
	return tx.putRaw(k, []byte(strconv.FormatInt(n+1, 10)))
}

// AppsToReconcile returns up to limit apps marked as changed, by id.
func (tx *Tx) AppsToReconcile(limit int) ([]persist.AppChange, error) {
	var out []persist.AppChange
	err := tx.scan(prefix(nsReconcile), "", limit, false, func(k, v []byte) error {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return err
		}
		out = append(out, persist.AppChange{AppID: lastPart(k), Changes: n})
		return nil
	})
	return out, err
}

// Reconciled clears the mark of an app if nothing changed since c was read.
func (tx *Tx) Reconciled(c persist.AppChange) error {
	k := key(nsReconcile, c.AppID)
	v, err := tx.getRaw(k)
	if errors.Is(err, errNoKey) {
		return nil
	}
	if err != nil {
		return err
	}
	if string(v) != strconv.FormatInt(c.Changes, 10) {
		return nil
	}
	return tx.delete(k)
}

// MarkAppChanged queues an app for the reconciler without changing it (a
// restart asked for, a unit found dead).
func (tx *Tx) MarkAppChanged(appID string) error { return tx.markAppChanged(appID) }

// InstallationID names this berth installation's objects in the runtime,
// made on the first start.
func (tx *Tx) InstallationID() (string, error) {
	b, err := tx.getRaw(key(nsMeta, metaInstallation))
	if errors.Is(err, errNoKey) {
		return "", nil
	}
	return string(b), err
}

// PutInstallationID records the installation's id.
func (tx *Tx) PutInstallationID(id string) error {
	return tx.putRaw(key(nsMeta, metaInstallation), []byte(id))
}

const metaInstallation = "installation-id"
