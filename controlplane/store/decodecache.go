package store

import (
	"bytes"
	"sync"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// appCache keeps recently decoded app records beside the bytes they were
// decoded from. A read still gets the record's bytes from the engine, in
// its own transaction; only when they are the very bytes cached does it
// skip the JSON decoding (the most expensive part of a read) and take a
// copy of the cached app. So it can never answer anything but what the
// store holds, whichever process wrote it.
type appCache struct {
	mu      sync.Mutex
	entries map[string]appCacheEntry
}

type appCacheEntry struct {
	raw []byte
	app *domain.App
}

// appCacheSize bounds the cache: a few thousand apps, a few MiB.
const appCacheSize = 4096

func (c *appCache) get(name string, raw []byte) *domain.App {
	c.mu.Lock()
	e, ok := c.entries[name]
	c.mu.Unlock()
	if !ok || !bytes.Equal(e.raw, raw) {
		return nil
	}
	return e.app.Clone()
}

func (c *appCache) put(name string, raw []byte, a *domain.App) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[string]appCacheEntry, appCacheSize)
	}
	if len(c.entries) >= appCacheSize {
		for k := range c.entries { // an arbitrary one: map order is random
			delete(c.entries, k)
			break
		}
	}
	c.entries[name] = appCacheEntry{raw: bytes.Clone(raw), app: a.Clone()}
}
