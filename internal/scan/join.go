package scan

import (
	"slices"
	"strings"

	"github.com/rootguard/rootguard/internal/detect"
)

// dedupe keeps one finding per event: the same event arrives twice when an
// organization trail and an account trail both deliver it. For a GuardDuty
// finding, which is updated in place as its count grows, the latest update
// wins. Copies of a CloudTrail event merge only when their content is the
// same (digest, by source); copies that differ are all kept, flagged as a
// conflict, so a forged or corrupted copy cannot hide the real one.
// Findings without an id are kept as they are.
func dedupe(fs []detect.Finding, digest map[detect.Source][32]byte, st *Stats) []detect.Finding {
	// Read copies in a fixed order so that which one is kept does not
	// depend on which worker finished first.
	slices.SortStableFunc(fs, func(a, b detect.Finding) int {
		if c := strings.Compare(a.Source.File, b.Source.File); c != 0 {
			return c
		}
		return a.Source.Record - b.Source.Record
	})
	at := make(map[string][]int, len(fs)) // key -> indexes in out of the distinct copies
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
		kept, ok := at[key]
		if !ok {
			at[key] = []int{len(out)}
			out = append(out, f)
			continue
		}
		if f.GuardDuty != nil {
			st.Duplicates++
			if newer(f, out[kept[0]]) {
				out[kept[0]] = f
			}
			continue
		}
		same := false
		for _, i := range kept {
			if digest[out[i].Source] == digest[f.Source] {
				same = true
				break
			}
		}
		if same {
			st.Duplicates++
			continue
		}
		at[key] = append(kept, len(out))
		out = append(out, f)
	}
	for _, kept := range at {
		if len(kept) < 2 {
			continue
		}
		for _, i := range kept {
			out[i].Conflict = true
			for _, j := range kept {
				if j != i {
					out[i].ConflictsWith = append(out[i].ConflictsWith, out[j].Source)
				}
			}
			st.Conflicts++
		}
	}
	return out
}

// newer reports whether a replaces b as the copy of one event to keep.
func newer(a, b detect.Finding) bool {
	if a.GuardDuty != nil && b.GuardDuty != nil {
		return a.GuardDuty.UpdatedAt.After(b.GuardDuty.UpdatedAt) ||
			(a.GuardDuty.UpdatedAt.Equal(b.GuardDuty.UpdatedAt) && a.GuardDuty.Count > b.GuardDuty.Count)
	}
	return false // the first copy read, in source order
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
