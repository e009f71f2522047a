package badger_test

import (
	"os"
	"testing"

	"github.com/berthdev/terraform-provider-berth/controlplane/engine"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine/badger"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine/enginetest"
)

func openDir(dir string) (engine.Engine, error) { return badger.Open(badger.Options{Dir: dir}) }

func TestMain(m *testing.M) {
	enginetest.CrashChild(openDir)
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) {
	enginetest.Run(t, enginetest.Harness{
		New:  func(t *testing.T) string { return t.TempDir() },
		Open: openDir,
	})
}
