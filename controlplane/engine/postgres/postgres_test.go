package postgres_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/engine"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine/enginetest"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine/postgres"
	"github.com/berthdev/terraform-provider-berth/internal/pgtest"
)

func openURL(url string) (engine.Engine, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return postgres.Open(ctx, postgres.Options{URL: url})
}

func TestMain(m *testing.M) {
	enginetest.CrashChild(openURL)
	os.Exit(pgtest.Main(m))
}

func TestConformance(t *testing.T) {
	enginetest.Run(t, enginetest.Harness{
		New:    func(t *testing.T) string { return pgtest.URL(t) },
		Open:   openURL,
		Shared: true,
	})
}
