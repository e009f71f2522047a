package domain

// Page selects one page of a list ordered by key: the entries after the
// cursor After, at most Limit of them (0: all). Every list in every dialect
// pages this way; a dialect reads the two from its query string.
type Page struct {
	After string
	Limit int
}

// MaxPageLimit caps a page's Limit on every list.
const MaxPageLimit = 1000
