package domain

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// hiddenRune reports whether r changes what a text means without showing:
// control characters (NUL, escapes, line breaks), Unicode format
// characters (zero-width spaces and joiners, bidi overrides and isolates,
// the byte order mark, soft hyphens) and the line and paragraph
// separators. "main\u200b" must not be another branch than "main" to a
// machine and the same one to a person.
func hiddenRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// CheckLabel checks a one-line text that names or labels something (a
// branch, a commit, an image, a status name): at most max bytes of valid
// UTF-8 without hidden runes. Every validator of such a text uses it.
func CheckLabel(field, v string, max int) error {
	if len(v) > max {
		return Invalid("%s is too long: at most %d bytes", field, max)
	}
	if !utf8.ValidString(v) || strings.ContainsFunc(v, hiddenRune) {
		return Invalid("%s must be printable UTF-8 on one line, without control or invisible formatting characters (NUL, zero-width spaces, bidi overrides)", field)
	}
	return nil
}

// CheckProse checks a free text for people (a description): CheckLabel's
// rule, except that it may span lines and hold tabs.
func CheckProse(field, v string, max int) error {
	if len(v) > max {
		return Invalid("%s is too long: at most %d bytes", field, max)
	}
	hidden := func(r rune) bool { return r != '\n' && r != '\t' && r != '\r' && hiddenRune(r) }
	if !utf8.ValidString(v) || strings.ContainsFunc(v, hidden) {
		return Invalid("%s must be printable UTF-8 without control or invisible formatting characters (NUL, zero-width spaces, bidi overrides); line breaks and tabs are fine", field)
	}
	return nil
}

// CheckHTTPURL checks an absolute http or https URL with a host, at most
// max bytes, as CheckLabel does its text.
func CheckHTTPURL(field, v string, max int) error {
	if err := CheckLabel(field, v, max); err != nil {
		return err
	}
	u, err := url.Parse(v)
	if err != nil || !strings.HasPrefix(v, u.Scheme+"://") || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return Invalid("invalid %s: it must be an http or https URL with a host", field)
	}
	return nil
}
