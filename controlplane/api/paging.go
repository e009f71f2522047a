package api

import (
	"net/http"
	"strconv"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// maxPageLimit caps ?limit= on every list.
const maxPageLimit = 1000

// pageOf reads ?limit= and ?cursor= of a list request. Without limit a list
// answers everything, as the original APIs do; with it, at most limit
// entries after cursor, and X-Next-Cursor names the cursor of the next page.
func pageOf(r *http.Request) (domain.Page, error) {
	q := r.URL.Query()
	p := domain.Page{After: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageLimit {
			return p, domain.Invalid("invalid limit %q: must be an integer from 1 to %d", v, maxPageLimit)
		}
		p.Limit = n
	}
	return p, nil
}

// setNextCursor announces the next page of a list, if there is one.
func setNextCursor(w http.ResponseWriter, next string) {
	if next != "" {
		w.Header().Set("X-Next-Cursor", next)
	}
}

// pageSlice pages a list the server holds in memory (domain.PageSlice).
func pageSlice[T any](items []T, p domain.Page, key func(T) string) ([]T, string, error) {
	return domain.PageSlice(items, p, key)
}
