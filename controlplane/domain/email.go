package domain

import "strings"

// E-mail addresses name users everywhere: in paths (/users/{email}/tokens,
// /teams/{team}/{user}, lain's maintainers), as team members and as the
// owner of tokens. One rule decides what an address may be, and one
// function what two addresses being the same means.

const (
	maxEmailLength     = 254 // RFC 5321's path limit, less the angle brackets
	maxEmailLocalPart  = 64
	maxEmailLabel      = 63
	emailLocalSpecials = "!$&'*+=_~-"
)

// ValidateEmail checks that s is a bare ASCII e-mail address, local@domain,
// that can stand as one path segment without escaping: the local part is
// dot-separated words of letters, digits and !$&'*+=_~- (no quoted local
// parts, no '/', '%', '?' or '#'); the domain is two or more dot-separated
// labels of letters, digits and inner hyphens.
func ValidateEmail(s string) error {
	if !validEmail(s) {
		return Invalid("invalid email %q: it must be a bare address such as ana@example.com: ASCII letters, digits and the characters %s before the @, a dotted domain after it, at most %d characters", s, ".!$&'*+=_~-", maxEmailLength)
	}
	return nil
}

func validEmail(s string) bool {
	if len(s) > maxEmailLength {
		return false
	}
	local, domainPart, ok := strings.Cut(s, "@")
	if !ok || len(local) > maxEmailLocalPart {
		return false
	}
	for _, word := range strings.Split(local, ".") {
		if word == "" {
			return false
		}
		for i := 0; i < len(word); i++ {
			if c := word[i]; !isASCIIAlnum(c) && strings.IndexByte(emailLocalSpecials, c) < 0 {
				return false
			}
		}
	}
	labels := strings.Split(domainPart, ".")
	if len(labels) < 2 {
		return false
	}
	for _, label := range labels {
		if label == "" || len(label) > maxEmailLabel || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isASCIIAlnum(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

func isASCIIAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// EmailKey is the form an address is keyed, indexed and compared by:
// case never distinguishes two accounts. Users keep the address as they
// gave it for display.
func EmailKey(s string) string { return strings.ToLower(s) }

// SameEmail reports whether a and b name the same account.
func SameEmail(a, b string) bool { return EmailKey(a) == EmailKey(b) }
