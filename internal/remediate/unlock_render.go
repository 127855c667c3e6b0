package remediate

import (
	"io"
	"strings"
)

// WriteLocked writes one row (or JSON object) per locked resource or
// error FindLocked reported.
func WriteLocked(w io.Writer, found []LockedResource, format string, pretty bool) error {
	head := []string{"ACCOUNT", "NAME", "SERVICE", "REGION", "RESOURCE", "WHY", "ERROR"}
	row := func(i int) []string {
		f := found[i]
		return []string{f.Account, f.Name, f.Service, f.Region, f.Resource, f.Why, f.Error}
	}
	return write(w, format, pretty, head, len(found), row, func(i int) any { return found[i] })
}

// WriteUnlockPlan writes an unlock plan as one row; its JSON form holds
// the current policy in full.
func WriteUnlockPlan(w io.Writer, p *UnlockPlan, format string, pretty bool) error {
	head := []string{"ACCOUNT", "NAME", "SERVICE", "REGION", "RESOURCE", "ACTION", "REASON"}
	row := func(int) []string {
		return []string{p.Account, p.Name, p.Service, p.Region, p.Resource, string(p.Action), p.Reason}
	}
	return write(w, format, pretty, head, 1, row, func(int) any { return p })
}

// WriteUnlockOutcome writes how an unlock ended as one row.
func WriteUnlockOutcome(w io.Writer, o *UnlockOutcome, format string, pretty bool) error {
	head := []string{"ACCOUNT", "SERVICE", "REGION", "RESOURCE", "STATUS", "CHANGES", "ERROR", "RUN"}
	row := func(int) []string {
		return []string{o.Account, o.Service, o.Region, o.Resource, string(o.Status), strings.Join(o.Changes, "; "), o.Error, o.RunID}
	}
	return write(w, format, pretty, head, 1, row, func(int) any { return o })
}
