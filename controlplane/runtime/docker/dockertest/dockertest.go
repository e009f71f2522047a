// Package dockertest gives tests a docker driver of their own: a fresh
// installation id on the engine the environment names, whose containers
// are all removed when the test ends, passed or failed.
package dockertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime/docker"
	"github.com/berthdev/terraform-provider-berth/internal/testimage"
)

// Installation returns a new installation id, its containers removed at
// the end of the test (whichever driver made them).
func Installation(t testing.TB) string {
	t.Helper()
	cli := testimage.Docker(t) // fails the test when no engine answers
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	id := "test-" + hex.EncodeToString(b)
	t.Cleanup(func() { RemoveAll(t, cli, id) })
	return id
}

// New returns a driver for installation (a new one when empty), closed
// at the end of the test.
func New(t testing.TB, installation string, opts ...docker.Option) *docker.Driver {
	t.Helper()
	if installation == "" {
		installation = Installation(t)
	}
	d, err := docker.New(installation, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// RemoveAll force-removes every container of installation, straight
// through the engine API (not through the driver under test).
func RemoveAll(t testing.TB, cli *client.Client, installation string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := make(client.Filters).Add("label", runtime.LabelInstallation+"="+installation)
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Errorf("dockertest: list containers of %s: %v", installation, err)
		return
	}
	for _, c := range res.Items {
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("dockertest: remove container %s: %v", c.ID[:12], err)
		}
	}
}
