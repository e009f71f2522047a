package core

import (
	"cmp"
	"context"
	"slices"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// Healer is a built-in maintenance task that an admin can run on demand
// (tsuru's healers). The scheduler runs the same work in the background.
type Healer struct {
	Name        string
	Description string
	// Run repairs what it finds and reports what it did.
	Run func(ctx context.Context) (HealerReport, error)
}

// HealerReport says what a healer run changed.
type HealerReport struct {
	Healer  string
	Healed  int
	Details []string
}

// maxHealerDetails caps the lines of a healer report; Healed still counts
// everything.
const maxHealerDetails = 1000

func (r *HealerReport) add(detail string) {
	r.Healed++
	if len(r.Details) < maxHealerDetails {
		r.Details = append(r.Details, detail)
	}
}

// Healers lists the healers by name.
func (c *Core) Healers() []Healer {
	out := slices.Clone(c.healers)
	slices.SortFunc(out, func(a, b Healer) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// RunHealer runs one healer now. Only admins may.
func (c *Core) RunHealer(ctx context.Context, id *domain.Identity, name string) (HealerReport, error) {
	if !id.IsAdmin() {
		return HealerReport{}, forbidden(id, "run healers")
	}
	i := slices.IndexFunc(c.healers, func(h Healer) bool { return h.Name == name })
	if i < 0 {
		return HealerReport{}, domain.NotFound("healer %q not found", name)
	}
	rep, err := c.healers[i].Run(ctx)
	rep.Healer = name
	if rep.Details == nil {
		rep.Details = []string{}
	}
	return rep, err
}
