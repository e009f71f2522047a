package core

import (
	"errors"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

func isNotFound(err error) bool { return errors.Is(err, domain.ErrNotFound) }
