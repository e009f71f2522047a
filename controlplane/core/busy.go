package core

import (
	"strconv"
	"sync"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// busyRegistry marks the apps and service instances an operation is working
// on while it talks to a service broker (or swaps two apps), so that a
// second operation on the same app or instance is refused with 409 instead
// of racing the first one at the broker. One berthd process owns a store, so
// process memory is the right place: a crash releases everything.
type busyRegistry struct {
	mu   sync.Mutex
	held map[string]string // what, e.g. `app "web"` -> the operation holding it
}

// acquire marks every one of whats as busy with op, or none of them when one
// already is. release must be called when op is done.
func (b *busyRegistry) acquire(op string, whats ...string) (release func(), err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, w := range whats {
		if other, ok := b.held[w]; ok {
			return nil, domain.Conflict("%s is busy: %s is in progress; try again when it is done", w, other)
		}
	}
	if b.held == nil {
		b.held = map[string]string{}
	}
	for _, w := range whats {
		b.held[w] = op
	}
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, w := range whats {
			delete(b.held, w)
		}
	}, nil
}

func busyApp(name string) string      { return "app " + strconv.Quote(name) }
func busyInstance(name string) string { return "service instance " + strconv.Quote(name) }
