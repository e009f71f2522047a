package core

import (
	"context"
	"testing"

	"github.com/berthdev/terraform-provider-berth/controlplane/engine/badger"
	"github.com/berthdev/terraform-provider-berth/controlplane/store"
)

// memStore is an empty store in memory, closed when the test ends.
func memStore(t testing.TB) *store.Store {
	t.Helper()
	e, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.New(context.Background(), e, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}
