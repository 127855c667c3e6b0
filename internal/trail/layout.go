package trail

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Filter prunes inputs by what their path or key says about them, before
// they are read. Paths outside the CloudTrail layout are always kept; the
// events in them are filtered after detection.
type Filter struct {
	Since, Until time.Time // zero means unbounded
	Accounts     []string
	Regions      []string
	// Issuers are accounts whose logs are read even when Accounts leaves
	// them out: the management and delegated-administrator accounts, where
	// sts:AssumeRoot is recorded, so that root sessions in the chosen
	// accounts can be attributed.
	Issuers []string
	// NoPrune reads every input whatever its path or key says of its
	// account, Region or day: the filter then applies to the events'
	// own fields only. Pruning trusts that CloudTrail filed each log file;
	// a file filed elsewhere by someone who can write to the archive
	// would otherwise go unread.
	NoPrune bool
}

// Layout is what an organization or account trail's key tells: the parts
// of AWSLogs/[<org-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.
type Layout struct {
	OrgID   string
	Account string
	Kind    string // CloudTrail, CloudTrail-Digest, CloudTrail-Insight, ...
	Region  string
	Day     time.Time // zero when the key stops before the date
}

// ParseLayout reads the trail layout from a path or key. ok is false when
// the path does not follow it.
func ParseLayout(p string) (l Layout, ok bool) {
	p = strings.ReplaceAll(p, "\\", "/")
	i := strings.LastIndex(p, "AWSLogs/")
	if i < 0 {
		return l, false
	}
	parts := strings.Split(p[i+len("AWSLogs/"):], "/")
	if len(parts) > 0 && strings.HasPrefix(parts[0], "o-") {
		l.OrgID = parts[0]
		parts = parts[1:]
	}
	if len(parts) < 2 || !isAccountID(parts[0]) {
		return l, false
	}
	l.Account, l.Kind = parts[0], parts[1]
	parts = parts[2:]
	if len(parts) > 0 {
		l.Region = parts[0]
		parts = parts[1:]
	}
	if len(parts) >= 3 {
		y, e1 := strconv.Atoi(parts[0])
		m, e2 := strconv.Atoi(parts[1])
		d, e3 := strconv.Atoi(parts[2])
		// Only a day that exists: a year that overflows time.Time, or a
		// 31 February, would date the file to some other day, and date
		// pruning (--since/--until) would skip it without a word.
		if e1 == nil && e2 == nil && e3 == nil && y >= 1970 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= 31 {
			if day := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC); day.Day() == d {
				l.Day = day
			}
		}
	}
	return l, true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// IsDigest reports whether a path is a CloudTrail digest file, which holds
// hashes of log files rather than events.
func IsDigest(p string) bool {
	return strings.Contains(strings.ReplaceAll(p, "\\", "/"), "/CloudTrail-Digest/") || strings.HasPrefix(p, "CloudTrail-Digest/")
}

// deliveryMargin widens date pruning: a log file is filed under the day it
// was delivered, which can be after the day of the events in it.
const deliveryMargin = 24 * time.Hour

// Keep reports whether the input at path p may hold events the filter wants.
func (f Filter) Keep(p string) bool {
	if IsDigest(p) {
		return false
	}
	l, ok := ParseLayout(p)
	if !ok {
		return true
	}
	if l.Kind != "CloudTrail" {
		return false
	}
	return f.keepAccount(l.Account) && f.keepRegion(l.Region) && f.keepDay(l.Day)
}

func (f Filter) keepAccount(a string) bool {
	return f.NoPrune || a == "" || len(f.Accounts) == 0 || slices.Contains(f.Accounts, a) || slices.Contains(f.Issuers, a)
}

func (f Filter) keepRegion(r string) bool {
	return f.NoPrune || r == "" || len(f.Regions) == 0 || slices.Contains(f.Regions, r)
}

func (f Filter) keepDay(d time.Time) bool {
	if f.NoPrune || d.IsZero() {
		return true
	}
	if !f.Since.IsZero() && !d.Add(24*time.Hour+deliveryMargin).After(f.Since) {
		return false
	}
	if !f.Until.IsZero() && d.Add(-deliveryMargin).After(f.Until) {
		return false
	}
	return true
}

// Days lists the UTC days from since to until, widened by the delivery
// margin, for listing an S3 prefix day by day. It returns nil when either
// bound is open, the range is longer than maxDays, or NoPrune is set.
func (f Filter) Days(maxDays int) []time.Time {
	if f.NoPrune || f.Since.IsZero() || f.Until.IsZero() {
		return nil
	}
	first := f.Since.Add(-deliveryMargin).UTC().Truncate(24 * time.Hour)
	last := f.Until.Add(deliveryMargin).UTC().Truncate(24 * time.Hour)
	var days []time.Time
	for d := first; !d.After(last); d = d.Add(24 * time.Hour) {
		if len(days) == maxDays {
			return nil
		}
		days = append(days, d)
	}
	return days
}
