package core

import (
	"context"

	"github.com/berthdev/terraform-provider-berth/controlplane/store"
)

// Gauge is one number about the control plane's state, for /metrics.
type Gauge struct {
	Kind  string
	State string
	Value float64
}

// gaugeSources count entities by state; areas register them in init.
var gaugeSources []func(tx *store.Tx) ([]Gauge, error)

// Gauges reads every registered gauge in one consistent snapshot.
func (s *Service) Gauges(ctx context.Context) ([]Gauge, error) {
	var out []Gauge
	err := s.store.View(ctx, func(tx *store.Tx) error {
		for _, src := range gaugeSources {
			g, err := src(tx)
			if err != nil {
				return err
			}
			out = append(out, g...)
		}
		return nil
	})
	return out, err
}

// sizer is implemented by stores that know their size on disk.
type sizer interface{ Size() (lsm, vlog int64) }

// StoreSize returns the size of the store on disk (0 when unknown).
func (s *Service) StoreSize() (lsm, vlog int64) {
	if z, ok := s.store.(sizer); ok {
		return z.Size()
	}
	return 0, 0
}
