package core

import "context"

// Gauge is one number about the control plane's state, for /metrics.
type Gauge struct {
	Kind  string
	State string
	Value float64
}

// Gauges reads every gauge. They come from the store (counters kept in the
// transactions that change what they count, or an index checked against a
// stored generation), so every replica reports the same numbers; none is a
// scan of the store.
func (c *Core) Gauges(ctx context.Context) ([]Gauge, error) {
	var out []Gauge
	for _, src := range c.gauges {
		g, err := src(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, g...)
	}
	return out, nil
}

// StoreSize returns the size of the store on disk (0 when unknown).
func (c *Core) StoreSize() (lsm, vlog int64) { return c.store.Size() }
