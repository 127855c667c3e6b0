package detect

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzFromCloudTrail: no record makes detection panic, and whatever it
// reports carries a category from the vocabulary and a severity.
func FuzzFromCloudTrail(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "rules", "*", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"userIdentity":{"type":"Root"},"eventTime":7,"readOnly":"yes"}`))
	cats := map[Category]bool{}
	for _, c := range Categories {
		cats[c] = true
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fd, ok, _ := FromCloudTrail(b)
		if ok && (!cats[fd.Category] || fd.Severity == "" || fd.Rule == "") {
			t.Fatalf("finding outside the vocabulary: %+v", fd)
		}
		g, ok, _ := FromGuardDuty(b)
		if ok && g.Category != GuardDutyRootCredentialUsage {
			t.Fatalf("GuardDuty finding with category %s", g.Category)
		}
	})
}
