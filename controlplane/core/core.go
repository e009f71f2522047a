// Package core holds berth's operations: every rule that decides what a
// request may do and what it changes. Each API dialect calls it; it calls the
// store. Nothing here knows about HTTP.
package core

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// Config holds the tunables of the control plane. Zero values are replaced
// by DefaultConfig's.
type Config struct {
	// DefaultQuota is how many apps a new user may create; -1 is unlimited.
	DefaultQuota int
	// Platforms apps may be created on.
	Platforms []string
	// SessionTTL and LongSessionTTL bound login sessions.
	SessionTTL     time.Duration
	LongSessionTTL time.Duration
	// PasswordResetTTL bounds a password reset token.
	PasswordResetTTL time.Duration
	// BcryptCost for password hashes (tests lower it).
	BcryptCost int
	// AppDomain is the domain app addresses live under (app.<domain>).
	AppDomain string
	// GitHost is where app repositories are said to live.
	GitHost string
	// StackLeaseTTL is how long a stack lease lasts when the request does
	// not say.
	StackLeaseTTL time.Duration
	// PromotionDeadline is how long a promotion may stay pending before the
	// promotions healer fails it.
	PromotionDeadline time.Duration
	// BrokerTimeout bounds each call to a service broker.
	BrokerTimeout time.Duration
	// GCInterval is how often the engine's garbage is collected (Badger's
	// value log).
	GCInterval time.Duration
	// ImageRegistry is where lain images live: a release at meta_version
	// runs <ImageRegistry>/<app>:release-<meta_version>.
	ImageRegistry string
}

// DefaultConfig returns the configuration berthd runs with unless told
// otherwise.
func DefaultConfig() Config {
	return Config{
		DefaultQuota:      -1,
		Platforms:         []string{"go", "java", "node", "python", "ruby", "static"},
		SessionTTL:        time.Hour,
		LongSessionTTL:    30 * 24 * time.Hour,
		PasswordResetTTL:  time.Hour,
		BcryptCost:        10,
		AppDomain:         "berth.local",
		GitHost:           "git.berth.local",
		StackLeaseTTL:     6 * time.Hour,
		PromotionDeadline: 30 * time.Minute,
		BrokerTimeout:     10 * time.Second,
		GCInterval:        10 * time.Minute,
		ImageRegistry:     "registry.berth.local",
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.DefaultQuota == 0 {
		c.DefaultQuota = d.DefaultQuota
	}
	if len(c.Platforms) == 0 {
		c.Platforms = d.Platforms
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = d.SessionTTL
	}
	if c.LongSessionTTL == 0 {
		c.LongSessionTTL = d.LongSessionTTL
	}
	if c.PasswordResetTTL == 0 {
		c.PasswordResetTTL = d.PasswordResetTTL
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = d.BcryptCost
	}
	if c.AppDomain == "" {
		c.AppDomain = d.AppDomain
	}
	if c.GitHost == "" {
		c.GitHost = d.GitHost
	}
	if c.StackLeaseTTL == 0 {
		c.StackLeaseTTL = d.StackLeaseTTL
	}
	if c.PromotionDeadline == 0 {
		c.PromotionDeadline = d.PromotionDeadline
	}
	if c.BrokerTimeout == 0 {
		c.BrokerTimeout = d.BrokerTimeout
	}
	if c.GCInterval <= 0 {
		c.GCInterval = d.GCInterval
	}
	if c.ImageRegistry == "" {
		c.ImageRegistry = d.ImageRegistry
	}
	return c
}

// deps are what every area service works with.
type deps struct {
	store persist.Store
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
}

// Core is the control plane's domain logic over one store: one service per
// area, wired together in New. Every dialect calls these.
type Core struct {
	Identity  *Identity
	Apps      *Apps
	Services  *Services
	Lain      *Lain
	Pipelines *Pipelines
	Stacks    *Stacks

	deps
	healers    []Healer
	gauges     []func(context.Context) ([]Gauge, error)
	scheduler  *Scheduler
	reconciler *Reconciler
	// onRoutesChanged brings this process's router up to date (see
	// WithRoutesChanged).
	onRoutesChanged func(ctx context.Context)
}

type options struct {
	now           func() time.Time
	log           *slog.Logger
	promotionHook func(ctx context.Context, promotionID, targetAppID string)
	holder        string
	runtime       RuntimeConfig
	routesChanged func(ctx context.Context)
}

// Option customises a Core.
type Option func(*options)

// WithClock replaces time.Now (tests move time forward with it).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithPromotionStepHook makes the promotion runner call hook after each
// target has been carried out and committed. Tests use it to stop berthd in
// the middle of a promotion; a hook that blocks should return when ctx ends.
func WithPromotionStepHook(hook func(ctx context.Context, promotionID, targetAppID string)) Option {
	return func(o *options) { o.promotionHook = hook }
}

// New builds the control plane over st. It creates the session signing key
// on the first start and loads it afterwards.
func New(ctx context.Context, st persist.Store, cfg Config, opts ...Option) (*Core, error) {
	o := options{now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, f := range opts {
		f(&o)
	}
	d := deps{store: st, cfg: cfg.withDefaults(), log: o.log, now: o.now}
	signingKey, err := loadSigningKey(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("load signing key: %w", err)
	}
	envKey, err := hkdf.Key(sha256.New, signingKey, nil, "berth env digest v1", sha256.Size)
	if err != nil {
		return nil, err
	}
	unitKey, err := hkdf.Key(sha256.New, signingKey, nil, "berth unit config digest v1", sha256.Size)
	if err != nil {
		return nil, err
	}
	busy := &busyMarks{deps: d}
	c := &Core{deps: d, onRoutesChanged: o.routesChanged}
	c.Identity = newIdentity(d, signingKey)
	c.Services = &Services{deps: d, busy: busy}
	c.Apps = &Apps{deps: d, busy: busy, services: c.Services, envKey: envKey}
	c.Lain = &Lain{deps: d, apps: c.Apps}
	c.Pipelines = &Pipelines{deps: d, afterTarget: o.promotionHook}
	c.Stacks = &Stacks{deps: d}
	c.reconciler = newReconciler(d, o.runtime, unitKey)
	c.reconciler.routesChanged = c.routesChanged
	c.Apps.routesChanged = c.routesChanged
	c.healers = []Healer{
		{Name: "promotions", Description: "Fails pipeline promotions still pending after the promotion deadline.", Run: func(ctx context.Context) (HealerReport, error) {
			return c.Pipelines.healPromotions(ctx, fence{})
		}},
		{Name: "stack-leases", Description: "Releases stacks whose lease expired and removes the stacks of deleted projects.", Run: func(ctx context.Context) (HealerReport, error) {
			return c.Stacks.sweep(ctx, fence{})
		}},
		{Name: "units", Description: "puts every unit in state error back to started", Run: c.healUnits},
	}
	c.gauges = []func(context.Context) ([]Gauge, error){c.Stacks.gauges, c.Pipelines.gauges}
	c.scheduler = newScheduler(d, o.holder, c.jobs())
	return c, nil
}

// loadSigningKey reads the key sessions are signed with, making it on the
// first start.
func loadSigningKey(ctx context.Context, st persist.Store) ([]byte, error) {
	var key []byte
	err := st.Update(ctx, func(tx persist.Tx) error {
		k, err := tx.SigningKey()
		if err != nil || k != nil {
			key = k
			return err
		}
		k = make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return err
		}
		key = k
		return tx.PutSigningKey(k)
	})
	return key, err
}

// Config returns the effective configuration.
func (c *Core) Config() Config { return c.cfg }

// Ready reports whether the store is usable.
func (c *Core) Ready(ctx context.Context) error { return c.store.Ready(ctx) }

// Start runs the background work (under the scheduler's lease, so that of
// several berthd processes on one store only one does it) until ctx ends.
// Wait blocks until it has stopped.
func (c *Core) Start(ctx context.Context) { c.scheduler.start(ctx) }

// Wait blocks until the background work started by Start has returned.
func (c *Core) Wait() { c.scheduler.wait() }

// randomToken returns n random bytes, hex encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return fmt.Sprintf("%x", b)
}

func forbidden(id *domain.Identity, what string) error {
	return domain.Forbidden("user %q is not allowed to %s", id.Email(), what)
}
