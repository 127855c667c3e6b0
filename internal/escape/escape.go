// Package escape makes text from untrusted inputs (file names, object keys,
// record fields, account names) safe to print: control characters cannot
// break a line, move the cursor or reorder what a terminal shows, and a
// spreadsheet cannot read a cell as a formula.
package escape

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Control returns s with every control character escaped, Go style: \n,
// \r, \t, \x1b, \u0085, \u202e ... C0 and C1 controls, DEL, the Unicode
// line and paragraph separators, and the bidirectional formatting
// characters are escaped, as are bytes that are not UTF-8. A string with
// none is returned unchanged.
func Control(s string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unsafe(r, n) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case !unsafe(r, n):
			b.WriteString(s[i : i+n])
		case r == utf8.RuneError:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += n
	}
	return b.String()
}

// unsafe reports whether the rune r, n bytes long, must be escaped.
func unsafe(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1:
		return true
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r == '\u2028', r == '\u2029': // line and paragraph separators
		return true
	case r == '\u061c', r == '\u200e', r == '\u200f', // bidi marks
		r >= '\u202a' && r <= '\u202e', // bidi embeddings and overrides
		r >= '\u2066' && r <= '\u2069': // bidi isolates
		return true
	}
	return false
}

// Lines is Control for text that may hold several lines of its own (an
// error that joins others): each line is escaped, the newlines between
// them are kept.
func Lines(s string) string {
	if !strings.Contains(s, "\n") {
		return Control(s)
	}
	ls := strings.Split(s, "\n")
	for i := range ls {
		ls[i] = Control(ls[i])
	}
	return strings.Join(ls, "\n")
}

// Cell makes s safe as a CSV cell opened by a spreadsheet, as OWASP's CSV
// injection guidance (and ASVS 1.2.10) recommends: a cell that starts with
// =, +, -, @, a tab, a carriage return or a NUL is prefixed with a single
// quote, so it is shown as text and never evaluated. The CSV writer still
// quotes the cell.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', 0:
		return "'" + s
	}
	return s
}
