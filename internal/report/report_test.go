package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/scan"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// exampleResult scans the repository's example archive.
func exampleResult(t *testing.T) *scan.Result {
	t.Helper()
	appr, err := approval.Load(filepath.Join("..", "..", "examples", "approvals.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := scan.Run(t.Context(), []string{filepath.Join("..", "..", "examples", "org-trail")}, scan.Options{Approvals: appr})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) == 0 {
		t.Fatal("the example archive yields no findings")
	}
	return res
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestGolden(t *testing.T) {
	res := exampleResult(t)
	incidents := scan.Group(res.Findings)
	tests := []struct {
		name      string
		opts      Options
		incidents bool
	}{
		{"findings.table", Options{Format: Table, Pretty: true}, false},
		{"findings.tsv", Options{Format: Table}, false},
		{"findings.jsonl", Options{Format: JSON}, false},
		{"findings.csv", Options{Format: CSV}, false},
		{"incidents.table", Options{Format: Table, Pretty: true}, true},
		{"incidents.tsv", Options{Format: Table}, true},
		{"incidents.jsonl", Options{Format: JSON}, true},
		{"incidents.csv", Options{Format: CSV}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			var err error
			if tt.incidents {
				err = Incidents(&b, incidents, tt.opts)
			} else {
				err = Findings(&b, res.Findings, tt.opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, b.Bytes())
		})
	}
	t.Run("summary", func(t *testing.T) {
		res.Stats.Elapsed = 0
		res.Problems = append(res.Problems, scan.Problem{Input: "logs/cut.json.gz", Record: -1, Error: "read: gzip: gzip stream truncated"},
			scan.Problem{Input: "logs/lines.jsonl", Record: 3, Error: "invalid JSON at byte 9: unexpected character 'o'"})
		res.Stats.InputsFailed, res.Stats.RecordsFailed = 1, 1
		var b bytes.Buffer
		Summary(&b, res)
		golden(t, "summary.txt", b.Bytes())
	})
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"table", "json", "csv"} {
		if f, err := ParseFormat(s); err != nil || string(f) != s {
			t.Errorf("ParseFormat(%q) = %q, %v", s, f, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil {
		t.Error("yaml accepted")
	}
}
