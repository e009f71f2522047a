package badger_test

import (
	"bytes"
	"context"
	"os"
	"strings"
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

// TestErrorsQuoteNoStoredBytes: Badger quotes what it refuses (a hex dump
// of an oversized key) in its errors; the engine's errors, which end up in
// logs, must not.
func TestErrorsQuoteNoStoredBytes(t *testing.T) {
	e, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	secret := bytes.Repeat([]byte("S3CRET"), 70000/6)
	err = e.Update(context.Background(), func(tx engine.Txn) error { return tx.Delete(secret) })
	if err == nil {
		t.Fatal("deleting a 70 KB key: no error")
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || strings.Contains(msg, "S3CR") || strings.Contains(msg, "53 33 43 52") || len(msg) > 512 {
		t.Fatalf("the engine's error quotes the key: %q", msg)
	}
}
