package engine

import (
	"context"
	"fmt"
	"regexp"
	"sync"
)

var channelRe = regexp.MustCompile(`^[a-z0-9_-]{1,63}$`)

// CheckChannel validates a notification channel name.
func CheckChannel(channel string) error {
	if !channelRe.MatchString(channel) {
		return fmt.Errorf("engine: invalid notification channel %q", channel)
	}
	return nil
}

// Hub fans notifications out to the subscribers of one process. Engines
// use it for delivery inside the process; one whose storage is shared
// feeds it what other processes notify too.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// Subscribe registers a subscriber of channel until ctx ends. The returned
// channel has room for one value: notifications that arrive while one is
// waiting are merged into it.
func (h *Hub) Subscribe(ctx context.Context, channel string) (<-chan struct{}, error) {
	if err := CheckChannel(channel); err != nil {
		return nil, err
	}
	c := make(chan struct{}, 1)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[string]map[chan struct{}]struct{}{}
	}
	if h.subs[channel] == nil {
		h.subs[channel] = map[chan struct{}]struct{}{}
	}
	h.subs[channel][c] = struct{}{}
	h.mu.Unlock()
	context.AfterFunc(ctx, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs[channel], c)
		if len(h.subs[channel]) == 0 {
			delete(h.subs, channel)
		}
	})
	return c, nil
}

// Publish wakes every subscriber of each channel without blocking.
func (h *Hub) Publish(channels ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range channels {
		for c := range h.subs[ch] {
			select {
			case c <- struct{}{}:
			default:
			}
		}
	}
}

// PublishAll wakes every subscriber of every channel: what an engine does
// when it may have missed notifications (a broken connection).
func (h *Hub) PublishAll() {
	h.mu.Lock()
	channels := make([]string, 0, len(h.subs))
	for ch := range h.subs {
		channels = append(channels, ch)
	}
	h.mu.Unlock()
	h.Publish(channels...)
}
