package store

import "github.com/berthdev/terraform-provider-berth/controlplane/domain"

// AppsNamedWithPrefix returns one page of the apps whose name starts with
// namePrefix, ordered by name. The cursor is the rest of the name after the
// prefix. Resource instances (resource.<resource>.<app>) are found this way.
func (tx *Tx) AppsNamedWithPrefix(namePrefix string, p Page) ([]domain.App, string, error) {
	return scanPage[domain.App](tx, append(prefix(nsApp), namePrefix...), p)
}
