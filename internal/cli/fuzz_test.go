package cli

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseTimeFlag: --since and --until never panic, and a duration
// "before now" is never after now (an overflowing "9999999999d" must not
// turn into a future time that filters every finding out).
func FuzzParseTimeFlag(f *testing.F) {
	for _, s := range []string{"", "2026-10-01", "2026-10-01T10:00:00Z", "72h", "30d", "30d ago", "1h30m", "-5d", "9999999999d", "106752d", "yesterday"} {
		f.Add(s, false)
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string, endOfDay bool) {
		got, err := parseTimeFlag(s, now, endOfDay)
		if err != nil {
			return
		}
		if strings.TrimSpace(s) == "" && !got.IsZero() {
			t.Fatalf("parseTimeFlag(%q) = %v, want zero", s, got)
		}
		d := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "ago"))
		isDuration := strings.HasSuffix(d, "d") || strings.ContainsAny(d, "hms")
		if _, perr := time.Parse(time.RFC3339, strings.TrimSpace(s)); perr == nil {
			isDuration = false
		}
		if isDuration && got.After(now) {
			t.Fatalf("parseTimeFlag(%q) = %v, after now %v", s, got, now)
		}
	})
}
