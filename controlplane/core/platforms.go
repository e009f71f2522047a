package core

import "slices"

// Platforms returns the platforms apps may be created on, ordered by name.
func (s *Apps) Platforms() []string {
	return slices.Sorted(slices.Values(s.cfg.Platforms))
}
