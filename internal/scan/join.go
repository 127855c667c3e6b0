package scan

import (
	"github.com/rootguard/rootguard/internal/detect"
)

// dedupe keeps one finding per event: the same event arrives twice when an
// organization trail and an account trail both deliver it. For a GuardDuty
// finding, which is updated in place as its count grows, the latest update
// wins. Findings without an id are kept as they are.
func dedupe(fs []detect.Finding, st *Stats) []detect.Finding {
	at := make(map[string]int, len(fs))
	out := fs[:0]
	for _, f := range fs {
		if f.EventID == "" {
			out = append(out, f)
			continue
		}
		key := "ct:" + f.EventID
		if f.GuardDuty != nil {
			key = "gd:" + f.EventID
		}
		if i, ok := at[key]; ok {
			st.Duplicates++
			if newer(f, out[i]) {
				out[i] = f
			}
			continue
		}
		at[key] = len(out)
		out = append(out, f)
	}
	return out
}

// newer reports whether a replaces b as the copy of one event to keep.
func newer(a, b detect.Finding) bool {
	if a.GuardDuty != nil && b.GuardDuty != nil {
		return a.GuardDuty.UpdatedAt.After(b.GuardDuty.UpdatedAt) ||
			(a.GuardDuty.UpdatedAt.Equal(b.GuardDuty.UpdatedAt) && a.GuardDuty.Count > b.GuardDuty.Count)
	}
	// Keep the first copy read, by input name, so output does not depend
	// on which worker finished first.
	return a.Source.File < b.Source.File
}

// attributeSessions joins actions in member accounts to the AssumeRoot call
// that issued their credentials: the member's userIdentity.accessKeyId is
// the accessKeyId of the credentials in the AssumeRoot response.
func attributeSessions(fs []detect.Finding) {
	issued := map[string]*detect.Session{}
	for i := range fs {
		f := &fs[i]
		if f.Category == detect.RootSessionIssued && f.Session != nil && f.Session.AccessKeyID != "" {
			issued[f.Session.AccessKeyID] = f.Session
		}
	}
	for i := range fs {
		f := &fs[i]
		if f.Category == detect.RootSessionIssued || f.AccessKeyID == "" {
			continue
		}
		s, ok := issued[f.AccessKeyID]
		if !ok || (s.TargetAccount != "" && s.TargetAccount != f.Account) {
			continue
		}
		joined := *s
		joined.OutsideTaskPolicy = !detect.AllowedByTaskPolicy(s.TaskPolicy, f.EventSource, f.EventName)
		joined.Attributed = true
		f.Session = &joined
		if f.GuardDuty != nil {
			continue // the second signal of the same session: keep its category
		}
		f.Category = detect.RootSessionActivity
		f.Rule = "root-session-activity"
		if joined.OutsideTaskPolicy {
			f.Severity = detect.Critical
		} else {
			f.Severity = detect.Medium
		}
	}
	for i := range fs {
		f := &fs[i]
		if f.Category == detect.RootSessionActivity && f.Session != nil && !f.Session.Attributed {
			f.Rule = "root-session-activity"
			f.Severity = detect.High
		}
	}
}
