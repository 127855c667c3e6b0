package approval

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// FuzzParse: any input is either a valid set or an error, never a panic,
// and a valid set holds only entries that pass validation.
func FuzzParse(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte("approvals:\n  - {id: A, account: \"123456789012\", from: 2026-10-08T01:00:00Z, until: 2026-10-08T02:00:00Z, requester: a, approver: a}\n"))
	f.Add([]byte("approvals: 7"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		for _, a := range s.Items() {
			if a.ID == "" || !accountRE.MatchString(a.Account) || !a.Until.After(a.From) || a.Approver == a.Requester {
				t.Fatalf("invalid approval accepted: %+v", a)
			}
		}
	})
}

// FuzzParsePattern: a pattern either fails or matches the text it was
// written as (when that text has no wildcard), and never matches every
// principal.
func FuzzParsePattern(f *testing.F) {
	f.Add("arn:aws:sts::*:assumed-role/AWSReservedSSO_SecurityApprover_*/*")
	f.Add("arn:aws:iam::111111111111:user/ccoe-lead")
	f.Add("arn:aws:sts::*:*")
	f.Add("arn:aws:iam::*:user/a(b)[c]+.")
	f.Add("arn:aws:*::*:*/*") // was accepted: any user or role session could approve
	f.Add("arn:*:*:*:*:*/*/*")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err != nil {
			return
		}
		if p.Match("arn:aws:iam::000000000000:user/x-unrelated-principal-7") && p.Match("arn:aws:sts::999999999999:assumed-role/r/s") {
			t.Fatalf("%q matches unrelated principals of both kinds", s)
		}
	})
}

// FuzzParseTask: --task and the task field name one of the known tasks or
// are an error quoting them.
func FuzzParseTask(f *testing.F) {
	for _, s := range []string{"audit", " delete-credentials ", "console", "Audit", "", "s3-unlock\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		task, err := ParseTask(s)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
				t.Fatalf("ParseTask(%q): %v does not quote it", s, err)
			}
			return
		}
		if !slices.Contains(Tasks, task) || string(task) != strings.TrimSpace(s) {
			t.Fatalf("ParseTask(%q) = %q", s, task)
		}
	})
}

// FuzzParseApprovers: APPROVERS, STANDING_AUDIT_PRINCIPALS and
// `approvers:` (comma-separated in the environment) keep every good
// pattern and name every bad one, each once.
func FuzzParseApprovers(f *testing.F) {
	f.Add("arn:aws:sts::*:assumed-role/AWSReservedSSO_SecurityApprover_*/*,arn:aws:iam::111111111111:user/ccoe-lead")
	f.Add("arn:aws:iam::*:*,,not-an-arn")
	f.Add(" , ")
	f.Fuzz(func(t *testing.T, s string) {
		parts := strings.Split(s, ",")
		as, err := ParseApprovers(parts)
		good := 0
		for _, p := range parts {
			if strings.TrimSpace(p) == "" {
				continue
			}
			if _, perr := ParsePattern(p); perr != nil {
				if err == nil || !strings.Contains(err.Error(), perr.Error()) {
					t.Fatalf("ParseApprovers(%q): %v does not report %v", s, err, perr)
				}
				continue
			}
			good++
		}
		if len(as) != good {
			t.Fatalf("ParseApprovers(%q) kept %d of %d good patterns", s, len(as), good)
		}
	})
}
