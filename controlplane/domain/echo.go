package domain

import (
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error messages repeat what the client sent ("invalid app name "x"") so
// that the client sees what was refused. They never repeat much of it: a
// 1 MiB name must not make a 1 MiB error body, nor a control character or
// a bidi override reach a terminal or a log line as it is.

// MaxEchoed is how many characters of one value a message repeats when it
// quotes it (%q, or Quote).
const MaxEchoed = 100

// maxEchoedText bounds the other values a message is built from (%s, %v of
// strings and errors): those are mostly phrases of berth's own, so the
// bound is looser, but a client's value passed that way is still cut.
const maxEchoedText = 1024

// Quote is s as a message repeats it: cut to MaxEchoed characters (with an
// ellipsis when cut) and quoted as Go's %q does, with control, format and
// other non-printing characters escaped.
func Quote(s string) string { return strconv.Quote(cut(s, MaxEchoed)) }

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	count := 0
	for i := range s {
		if count == n {
			return s[:i] + "…"
		}
		count++
	}
	return s
}

// escapeNonPrinting writes s with every rune that is not printable (control
// and format characters, invalid UTF-8) escaped as %q would, and leaves the
// rest, quotes included, as it is.
func escapeNonPrinting(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || (!unicode.IsPrint(r) && r != ' ') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsPrint(r) || r == ' ':
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}

// echoed is a string argument of a message: %q quotes it with Quote, any
// other verb writes it cut to maxEchoedText with non-printing characters
// escaped.
type echoed string

func (e echoed) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = io.WriteString(f, Quote(string(e)))
		return
	}
	_, _ = io.WriteString(f, escapeNonPrinting(cut(string(e), maxEchoedText)))
}

// echoArgs wraps the string-like arguments of a message (strings, string
// types, errors) in echoed, so that every message built by this package's
// constructors keeps to the bounds above, whichever value it repeats.
func echoArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = echoed(v)
		case error:
			out[i] = echoed(v.Error())
		default:
			if rv := reflect.ValueOf(a); rv.Kind() == reflect.String {
				out[i] = echoed(rv.String())
			} else {
				out[i] = a
			}
		}
	}
	return out
}
