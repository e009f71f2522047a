package api

import (
	"fmt"
	"strings"
)

// maxLoggedText bounds what a log line says about an error or a panic.
// The layers below keep stored bytes and secrets out of their errors (the
// store names keys only, the engines withhold what their databases quote);
// this bound keeps one line small whatever slips through.
const maxLoggedText = 1 << 10

// loggable is text cut to maxLoggedText bytes, on one line.
func loggable(text string) string {
	text = strings.ReplaceAll(text, "\n", `\n`)
	if len(text) <= maxLoggedText {
		return text
	}
	cut := maxLoggedText
	for cut > 0 && text[cut]&0xC0 == 0x80 {
		cut-- // not inside a UTF-8 sequence
	}
	return fmt.Sprintf("%s... (%d more bytes withheld)", text[:cut], len(text)-cut)
}
