package controlplane

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime/docker"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime/kubernetes"
	"github.com/berthdev/terraform-provider-berth/controlplane/store"
)

// What runs apps (Config.Runtime).
const (
	// RuntimeNone keeps units as records, for teams that deploy with their
	// own tooling.
	RuntimeNone = "none"
	// RuntimeDocker runs each unit as a container of the Docker Engine
	// that DOCKER_HOST (or the default socket) names.
	RuntimeDocker = "docker"
	// RuntimeKubernetes runs each proc as a Deployment of a Kubernetes
	// cluster (Config.Kubernetes says which and where).
	RuntimeKubernetes = "kubernetes"
)

// installationID is the name this installation's objects carry in the
// runtime (container labels), made on the first start, so that several
// installations on one engine never touch each other's.
func installationID(ctx context.Context, st *store.Store) (string, error) {
	var id string
	err := st.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.InstallationID()
		if err != nil || cur != "" {
			id = cur
			return err
		}
		id = "berth-" + rand.Text()[:16]
		return tx.PutInstallationID(id)
	})
	return id, err
}

// openRuntime connects to the runtime cfg names.
func openRuntime(ctx context.Context, cfg Config, st *store.Store, log *slog.Logger) (core.RuntimeConfig, error) {
	switch cfg.Runtime {
	case "", RuntimeNone:
		return core.RuntimeConfig{Name: RuntimeNone}, nil
	case RuntimeDocker:
		id, err := installationID(ctx, st)
		if err != nil {
			return core.RuntimeConfig{}, err
		}
		d, err := docker.New(id, docker.WithLogger(log.With("component", "docker")))
		if err != nil {
			return core.RuntimeConfig{}, err
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := d.Ping(pctx); err != nil {
			_ = d.Close()
			return core.RuntimeConfig{}, fmt.Errorf("runtime docker: no Docker Engine answers (set DOCKER_HOST, or run with --runtime none): %w", err)
		}
		opts := cfg.Rolling
		opts.Logger = log.With("component", "rollout")
		return core.RuntimeConfig{Driver: runtime.NewRolling(d, opts), Name: RuntimeDocker}, nil
	case RuntimeKubernetes:
		id, err := installationID(ctx, st)
		if err != nil {
			return core.RuntimeConfig{}, err
		}
		opts := cfg.Kubernetes
		opts.Installation = id
		opts.Logger = log.With("component", "kubernetes")
		d, err := kubernetes.New(opts)
		if err != nil {
			return core.RuntimeConfig{}, fmt.Errorf("runtime kubernetes: %w", err)
		}
		return core.RuntimeConfig{Driver: d, Name: RuntimeKubernetes}, nil
	}
	return core.RuntimeConfig{}, fmt.Errorf("unknown runtime %q: docker, kubernetes or none", cfg.Runtime)
}

// DockerAnswers reports whether a Docker Engine answers within timeout, for
// choosing the runtime when none was asked for.
func DockerAnswers(timeout time.Duration) error {
	d, err := docker.New("probe")
	if err != nil {
		return err
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := d.Ping(ctx); err != nil {
		return errors.Join(errors.New("no Docker Engine answers"), err)
	}
	return nil
}
