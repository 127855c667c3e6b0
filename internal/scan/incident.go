package scan

import (
	"fmt"
	"slices"
	"time"

	"github.com/rootguard/rootguard/internal/detect"
)

// IncidentGap is the longest quiet spell inside one incident.
const IncidentGap = time.Hour

// Incident is one root session as a person lived it: a console sign-in or
// one access key, from one source, with no gap longer than IncidentGap.
type Incident struct {
	ID         string           `json:"incidentId"`
	Account    string           `json:"account"`
	Start      time.Time        `json:"start"`
	End        time.Time        `json:"end"`
	SourceIPs  []string         `json:"sourceIps"`
	AccessKeys []string         `json:"accessKeys,omitempty"`
	Categories []string         `json:"categories"`
	Severity   detect.Severity  `json:"severity"`
	Approval   detect.Approval  `json:"approval"`
	MFA        bool             `json:"mfa"`
	Session    *detect.Session  `json:"session,omitempty"`
	Timeline   []detect.Finding `json:"timeline"`
}

// Group gathers findings, which must be sorted by time, into incidents.
// A finding joins the open incident of its account that shares its access
// key, or, for a sign-in or a finding without a key, its source address,
// when that incident's last event is within IncidentGap. The AssumeRoot
// call that issues a root session opens the incident of its member
// account's session.
func Group(fs []detect.Finding) []Incident {
	var out []Incident
	type open struct {
		idx  int
		last time.Time
		keys map[string]bool
		ips  map[string]bool
	}
	var opened []*open
	for _, f := range fs {
		account, key, ip := f.Account, f.AccessKeyID, f.SourceIP
		if f.Category == detect.RootSessionIssued && f.Session != nil {
			account, key = f.Session.TargetAccount, f.Session.AccessKeyID
		}
		var hit *open
		for _, o := range opened {
			inc := &out[o.idx]
			if inc.Account != account || f.EventTime.Sub(o.last) > IncidentGap {
				continue
			}
			if (key != "" && o.keys[key]) || (ip != "" && o.ips[ip] && (key == "" || len(o.keys) == 0 || f.Category == detect.ConsoleLogin)) {
				hit = o
				break
			}
		}
		if hit == nil {
			out = append(out, Incident{
				ID:      fmt.Sprintf("%s-%s-%d", account, f.EventTime.UTC().Format("20060102T150405Z"), len(out)+1),
				Account: account, Start: f.EventTime,
				Approval: detect.Approval{Status: detect.Approved},
			})
			hit = &open{idx: len(out) - 1, keys: map[string]bool{}, ips: map[string]bool{}}
			opened = append(opened, hit)
		}
		inc := &out[hit.idx]
		hit.last = f.EventTime
		if key != "" {
			hit.keys[key] = true
		}
		if ip != "" {
			hit.ips[ip] = true
		}
		inc.End = f.EventTime
		inc.Timeline = append(inc.Timeline, f)
		if f.Severity.Rank() > inc.Severity.Rank() {
			inc.Severity = f.Severity
		}
		if f.Approval.Status != detect.Approved {
			inc.Approval = detect.Approval{Status: detect.Unapproved}
		} else if inc.Approval.Status == detect.Approved && inc.Approval.ID == "" {
			inc.Approval.ID = f.Approval.ID
		}
		if f.Category == detect.ConsoleLogin && f.MFA {
			inc.MFA = true
		}
		if f.Session != nil && inc.Session == nil {
			inc.Session = f.Session
		}
	}
	for i := range out {
		inc := &out[i]
		seenIP, seenKey, seenCat := map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, f := range inc.Timeline {
			if f.SourceIP != "" && !seenIP[f.SourceIP] {
				seenIP[f.SourceIP] = true
				inc.SourceIPs = append(inc.SourceIPs, f.SourceIP)
			}
			if f.AccessKeyID != "" && !seenKey[f.AccessKeyID] {
				seenKey[f.AccessKeyID] = true
				inc.AccessKeys = append(inc.AccessKeys, f.AccessKeyID)
			}
			if c := string(f.Category); !seenCat[c] {
				seenCat[c] = true
				inc.Categories = append(inc.Categories, c)
			}
		}
		slices.Sort(inc.SourceIPs)
	}
	return out
}
