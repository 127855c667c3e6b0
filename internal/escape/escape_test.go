package escape

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestControl(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain/path/a.json.gz", "plain/path/a.json.gz"},
		{"日本語.json", "日本語.json"},
		{"a\nrootguard: 0 problems", `a\nrootguard: 0 problems`},
		{"a\r\tb", `a\r\tb`},
		{"\x1b[2Jcleared", `\x1b[2Jcleared`},
		{"del\x7f", `del\x7f`},
		{"c1\u0085next", `c1\u0085next`},
		{"evil\u202egnp.json", `evil\u202egnp.json`},
		{"iso\u2066x\u2069", `iso\u2066x\u2069`},
		{"sep\u2028x", `sep\u2028x`},
		{"bad\xffutf8", `bad\xffutf8`},
	} {
		if got := Control(tt.in); got != tt.want {
			t.Errorf("Control(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCell(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"prod-account", "prod-account"},
		{`=HYPERLINK("http://x","y")`, `'=HYPERLINK("http://x","y")`},
		{"+1", "'+1"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"\x00=1", "'\x00=1"},
		{"'=1", "'=1"},
		{"a=1", "a=1"},
	} {
		if got := Cell(tt.in); got != tt.want {
			t.Errorf("Cell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzControl(f *testing.F) {
	for _, s := range []string{"a\nb", "\x1b[31m", "\u202e", "\xff\xfe", "ok"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Control(s)
		for i := 0; i < len(out); {
			r, n := utf8.DecodeRuneInString(out[i:])
			if unsafe(r, n) {
				t.Fatalf("Control(%q) = %q keeps %q", s, out, r)
			}
			i += n
		}
		if again := Control(out); again != out {
			t.Fatalf("Control(Control(%q)) = %q, want %q", s, again, out)
		}
	})
}

func TestLines(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"one line", "one line"},
		{"a\x1b[2K\nb\r", `a\x1b[2K` + "\n" + `b\r`},
		{"deploy: x\ny\u202e", "deploy: x\n" + `y\u202e`},
	} {
		if got := Lines(tt.in); got != tt.want {
			t.Errorf("Lines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzCell: whatever the text, the escaped CSV cell a spreadsheet sees
// neither starts a formula nor holds a control character, and text that
// needed nothing comes back unchanged.
func FuzzCell(f *testing.F) {
	for _, s := range []string{"=1+1", "@SUM(A1)", "-1", "+1", "\t=1", "\r=1", "\x00=1", "plain", "", "'=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Cell(Control(s))
		if out != "" && strings.ContainsRune("=+-@\t\r\x00", rune(out[0])) {
			t.Fatalf("Cell(Control(%q)) = %q starts a formula", s, out)
		}
		if strings.ContainsAny(out, "\n\r\t\x00\x1b") {
			t.Fatalf("Cell(Control(%q)) = %q holds a control character", s, out)
		}
		if Control(s) == s && s != "" && !strings.ContainsRune("=+-@", rune(s[0])) && out != s {
			t.Fatalf("Cell(Control(%q)) = %q changed safe text", s, out)
		}
	})
}

// FuzzLines: each line of the result is free of control characters, and
// there are exactly as many lines as the input had.
func FuzzLines(f *testing.F) {
	for _, s := range []string{"a\nb", "x\x1b[31m\n\u202e", "\n\n", "ok"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Lines(s)
		if strings.Count(out, "\n") != strings.Count(s, "\n") {
			t.Fatalf("Lines(%q) = %q: line count changed", s, out)
		}
		for _, l := range strings.Split(out, "\n") {
			if Control(l) != l {
				t.Fatalf("Lines(%q) = %q keeps a control character", s, out)
			}
		}
	})
}
