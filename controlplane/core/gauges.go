package core

import (
	"context"
)

// Gauge is one number about the control plane's state, for /metrics.
type Gauge struct {
	Kind  string
	State string
	Value float64
}

// gaugeSources count entities by state; areas register them in init. A
// source runs at every scrape, so it must be cheap: read an in-memory
// index or counter, never scan the store.
var gaugeSources []func(ctx context.Context, s *Service) ([]Gauge, error)

// Gauges reads every registered gauge.
func (s *Service) Gauges(ctx context.Context) ([]Gauge, error) {
	var out []Gauge
	for _, src := range gaugeSources {
		g, err := src(ctx, s)
		if err != nil {
			return out, err
		}
		out = append(out, g...)
	}
	return out, nil
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
