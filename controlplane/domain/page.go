package domain

import "slices"

// Page selects one page of a list ordered by key: the entries after the
// cursor After, at most Limit of them (0: all). Every list in every dialect
// pages this way; a dialect reads the two from its query string.
type Page struct {
	After string
	Limit int
}

// MaxPageLimit caps a page's Limit on every list.
const MaxPageLimit = 1000

// PageSlice cuts one page out of a list held in memory: the entries after
// the one whose key is p.After, at most p.Limit of them, and the cursor of
// the next page ("" on the last one). A cursor that names no entry is
// refused.
func PageSlice[T any](items []T, p Page, key func(T) string) ([]T, string, error) {
	if p.After != "" {
		i := slices.IndexFunc(items, func(t T) bool { return key(t) == p.After })
		if i < 0 {
			return nil, "", Invalid("invalid cursor %q", p.After)
		}
		items = items[i+1:]
	}
	if p.Limit > 0 && len(items) > p.Limit {
		items = items[:p.Limit]
		return items, key(items[len(items)-1]), nil
	}
	return items, "", nil
}
