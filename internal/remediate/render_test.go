package remediate

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestWritePlanEscapes renders a plan whose account name and OU path an
// attacker with rights in the organization chose: a spreadsheet formula,
// a newline that would forge a row, a cursor escape. Each format is
// compared with its golden file: one row, CSV cells that cannot be read
// as formulas, tables with the control characters escaped.
func TestWritePlanEscapes(t *testing.T) {
	p := &Plan{Accounts: []AccountPlan{{
		Account: "111111111111", Name: `=HYPERLINK("http://evil.example/","ok")`,
		OUPath: "Root/@prod\n222222222222\tlegit\x1b[2K", Action: ActionDelete, Reason: "-holds an access key",
	}}}
	for _, tt := range []struct {
		name, format string
		pretty       bool
	}{
		{"escape-plan.csv", FormatCSV, false},
		{"escape-plan.tsv", FormatTable, false},
		{"escape-plan.table", FormatTable, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WritePlan(&b, p, tt.format, tt.pretty); err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(b.Bytes(), []byte("\n")); n != 2 {
				t.Errorf("%d lines, want a header and one row:\n%s", n, b.String())
			}
			if bytes.ContainsAny(b.Bytes(), "\x1b\r") {
				t.Errorf("control character in output: %q", b.String())
			}
			path := filepath.Join("testdata", tt.name)
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -update creates it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("differs from %s (go test -update rewrites it)\n got:\n%s\nwant:\n%s", path, b.Bytes(), want)
			}
		})
	}
}
