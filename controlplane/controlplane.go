// Package controlplane wires berthd together: the store, the domain service
// and the HTTP API. cmd/berthd and the test harness both start it from here,
// so tests run the same server users do.
package controlplane

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/api"
	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine/badger"
	"github.com/berthdev/terraform-provider-berth/controlplane/store"
)

// Config configures an Instance.
type Config struct {
	DataDir  string
	InMemory bool
	Core     core.Config
	Logger   *slog.Logger
	// BootstrapToken, when set, is the admin token created on first start.
	BootstrapToken string
	// GCInterval is how often Badger's value log is garbage collected.
	GCInterval time.Duration
	// CoreOptions are passed to core.New (a test clock, say).
	CoreOptions []core.Option
}

// Instance is a running control plane minus its listener.
type Instance struct {
	Store *store.Store
	Core  *core.Service
	API   *api.Server
	// IssuedAdminToken is the admin token when this start created it, else "".
	IssuedAdminToken string

	cfg    Config
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
}

// Open opens the store, bootstraps it on first start and builds the API.
func Open(ctx context.Context, cfg Config) (*Instance, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	eng, err := badger.Open(badger.Options{Dir: cfg.DataDir, InMemory: cfg.InMemory, Logger: log})
	if err != nil {
		return nil, err
	}
	st, err := store.New(ctx, eng, store.Options{Logger: log})
	if err != nil {
		return nil, errors.Join(err, eng.Close())
	}
	svc, err := core.New(ctx, st, cfg.Core, append([]core.Option{core.WithLogger(log)}, cfg.CoreOptions...)...)
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	issued, err := svc.Bootstrap(ctx, cfg.BootstrapToken)
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	return &Instance{
		Store:            st,
		Core:             svc,
		API:              api.New(svc, api.Options{Logger: log}),
		IssuedAdminToken: issued,
		cfg:              cfg,
		log:              log,
	}, nil
}

// Start runs the background work (lease expiry, promotions, value-log GC)
// until Close.
func (i *Instance) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	i.cancel = cancel
	i.done = make(chan struct{})
	i.Core.Start(ctx)
	interval := i.cfg.GCInterval
	if interval <= 0 {
		interval = 10 * time.Minute
	}
	go func() {
		defer close(i.done)
		if !i.cfg.InMemory {
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if err := i.Store.CollectGarbage(); err != nil {
						i.log.Warn("value log garbage collection failed", "err", err)
					}
				}
			}
		}
	}()
}

// Close stops the background work and closes the store. Stop serving HTTP
// first.
func (i *Instance) Close() error {
	if i.cancel != nil {
		i.cancel()
		i.Core.Wait()
		<-i.done
	}
	return i.Store.Close()
}
