package domain

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQuote(t *testing.T) {
	if got := Quote("web"); got != `"web"` {
		t.Fatalf("Quote(web) = %s", got)
	}
	long := Quote(strings.Repeat("é", 5000))
	if n := utf8.RuneCountInString(long); n != MaxEchoed+3 || !strings.HasSuffix(long, `…"`) {
		t.Fatalf("Quote of 5000 characters: %d characters, %q", n, long[len(long)-10:])
	}
	for in, want := range map[string]string{
		"a\nb":          `"a\nb"`,
		"main\u200b":    `"main\u200b"`,
		"x\u202ey":      `"x\u202ey"`,
		"nul\x00":       `"nul\x00"`,
		"bad\xffutf8":   `"bad\xffutf8"`,
		`say "hi"`:      `"say \"hi\""`,
		"tab\there ok?": `"tab\there ok?"`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestErrorsEchoLittle: whatever a message repeats (quoted or not, a
// string, a string type or an error), a huge value makes a short message
// with its non-printing characters escaped.
func TestErrorsEchoLittle(t *testing.T) {
	huge := strings.Repeat("z", 1<<20) + "\x1b[31m"
	type name string
	for _, err := range []error{
		Invalid("invalid app name %q: it must be short", huge),
		NotFound("no route for %s %s", "GET", huge),
		Conflict("%v is busy", errors.New(huge)),
		Invalid("bad %q", name(huge)),
	} {
		msg := err.Error()
		if len(msg) > 2*maxEchoedText {
			t.Errorf("a 1 MiB value made a %d-byte message", len(msg))
		}
		if strings.ContainsRune(msg, 0x1b) {
			t.Errorf("the message carries a raw escape character: %q", msg[:40])
		}
		if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrConflict) {
			t.Errorf("kind lost: %v", err)
		}
	}
	msg := Invalid("invalid app name %q: it must be short", huge).Error()
	if !strings.HasPrefix(msg, `invalid app name "zzz`) || !strings.HasSuffix(msg, `…": it must be short`) {
		t.Errorf("message: %s...%s", msg[:30], msg[len(msg)-30:])
	}
	// Short values, numbers and berth's own phrases are left as they are.
	if got := Forbidden("user %q is not allowed to %s (%d)", "ana@example.com", "remove required status checks from web: that loosens a gate", 7).Error(); got != `user "ana@example.com" is not allowed to remove required status checks from web: that loosens a gate (7)` {
		t.Errorf("message changed: %s", got)
	}
}
