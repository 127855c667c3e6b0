package trail

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseLayout: object keys and file names are the archive writer's to
// choose. Whatever the key, ParseLayout does not panic, and a layout it
// reads names a 12-digit account, an organization id that starts "o-" (or
// none) and, when it has a day, one that exists.
func FuzzParseLayout(f *testing.F) {
	for _, s := range []string{
		"AWSLogs/o-abc123/111111111111/CloudTrail/us-east-1/2026/10/08/x.json.gz",
		"s3://b/p/AWSLogs/111111111111/CloudTrail-Digest/eu-west-1/2026/02/30/d.json.gz",
		`C:\logs\AWSLogs\111111111111\CloudTrail\us-east-1\2026\13\01\f.json`,
		"AWSLogs/o-/12/CloudTrail", "AWSLogs/", "AWSLogs/AWSLogs/111111111111/x/y/-1/0/99",
		"AWSLogs/111111111111/CloudTrail/us-east-1/99999999999999999999/1/1/f",
		"AWSLogs/000000000000///292277027000/1/1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		l, ok := ParseLayout(p)
		if !ok {
			return
		}
		if !isAccountID(l.Account) {
			t.Fatalf("ParseLayout(%q): account %q", p, l.Account)
		}
		if l.OrgID != "" && !strings.HasPrefix(l.OrgID, "o-") {
			t.Fatalf("ParseLayout(%q): organization %q", p, l.OrgID)
		}
		if !l.Day.IsZero() && (l.Day.Year() < 1970 || l.Day.Year() > 9999 || l.Day.Hour() != 0 || l.Day.Location().String() != "UTC") {
			t.Fatalf("ParseLayout(%q): day %v", p, l.Day)
		}
	})
}

// TestKeepHostileDay: a key whose date overflows or does not exist is not
// taken for some other day, so --since does not skip the file unread.
func TestKeepHostileDay(t *testing.T) {
	f := Filter{Since: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}
	for _, key := range []string{
		"AWSLogs/111111111111/CloudTrail/us-east-1/292277027000/1/1/f.json.gz",
		"AWSLogs/111111111111/CloudTrail/us-east-1/0/10/08/f.json.gz",
		"AWSLogs/111111111111/CloudTrail/us-east-1/2026/02/31/f.json.gz",
	} {
		if !f.Keep(key) {
			t.Errorf("Keep(%q) = false: a file with an impossible date was skipped", key)
		}
	}
	if f.Keep("AWSLogs/111111111111/CloudTrail/us-east-1/2026/02/28/f.json.gz") {
		t.Error("a real day before --since was kept: pruning broken")
	}
}
