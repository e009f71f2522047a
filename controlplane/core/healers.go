package core

import (
	"cmp"
	"context"
	"slices"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// Healer is a built-in maintenance task that GET /healers/{name} runs.
type Healer struct {
	Name        string
	Description string
	// Run repairs what it finds and reports what it did.
	Run func(s *Service, ctx context.Context) (HealerReport, error)
}

// HealerReport says what a healer run changed.
type HealerReport struct {
	Healer  string   `json:"healer"`
	Healed  int      `json:"healed"`
	Details []string `json:"details"`
}

// healers are registered by the areas that need them, in init.
var healers = map[string]Healer{}

func registerHealer(h Healer) { healers[h.Name] = h }

// Healers lists the healers by name.
func (s *Service) Healers() []Healer {
	out := make([]Healer, 0, len(healers))
	for _, h := range healers {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b Healer) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// RunHealer runs one healer now. Only admins may.
func (s *Service) RunHealer(ctx context.Context, id *domain.Identity, name string) (HealerReport, error) {
	if !id.IsAdmin() {
		return HealerReport{}, forbidden(id, "run healers")
	}
	h, ok := healers[name]
	if !ok {
		return HealerReport{}, domain.NotFound("healer %q not found", name)
	}
	rep, err := h.Run(s, ctx)
	rep.Healer = name
	if rep.Details == nil {
		rep.Details = []string{}
	}
	return rep, err
}
