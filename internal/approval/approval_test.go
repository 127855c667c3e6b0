package approval

import (
	"strings"
	"testing"
	"time"
)

const valid = `approvals:
  - id: CHG-1234
    account: "123456789012"
    from: 2026-10-08T01:00:00Z
    until: 2026-10-08T02:00:00Z
    requester: sato
    approver: ccoe-lead
    reason: enable MFA Delete on the archive bucket
  - id: CHG-1300
    account: "123456789012"
    from: 2026-10-08T01:30:00+09:00
    until: 2026-10-08T12:00:00+09:00
    requester: tanaka
    approver: ccoe-lead
`

func TestFind(t *testing.T) {
	s, err := Parse([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	at := func(v string) time.Time { tm, _ := time.Parse(time.RFC3339, v); return tm }
	tests := []struct {
		account, when, want string
	}{
		// CHG-1300 runs 2026-10-07T16:30Z..2026-10-08T03:00Z once in UTC.
		{"123456789012", "2026-10-08T01:00:00Z", "CHG-1234"}, // both cover it: the later window wins
		{"123456789012", "2026-10-08T02:00:00Z", "CHG-1234"}, // window end is covered
		{"123456789012", "2026-10-08T02:30:00Z", "CHG-1300"},
		{"123456789012", "2026-10-08T00:59:59Z", "CHG-1300"},
		{"123456789012", "2026-10-08T03:00:01Z", ""},
		{"123456789012", "2026-10-07T16:29:59Z", ""},
		{"999999999999", "2026-10-08T01:30:00Z", ""},
	}
	for _, tt := range tests {
		got := ""
		if a := s.Find(tt.account, at(tt.when)); a != nil {
			got = a.ID
		}
		if got != tt.want {
			t.Errorf("Find(%s, %s) = %q, want %q", tt.account, tt.when, got, tt.want)
		}
	}
	var none *Set
	if none.Find("123456789012", at("2026-10-08T01:30:00Z")) != nil {
		t.Error("a nil set approves nothing")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"approver is requester", `approvals:
  - {id: A, account: "123456789012", from: 2026-10-08T01:00:00Z, until: 2026-10-08T02:00:00Z, requester: sato, approver: Sato}
`, []string{"approval 1 (A): approver: must differ from the requester"}},
		{"missing fields", `approvals:
  - {account: 123456789012}
`, []string{"approval 1: id: missing", "from: missing", "until: missing", "requester: missing", "approver: missing"}},
		{"bad account and window", `approvals:
  - {id: B, account: "12345", from: 2026-10-08T02:00:00Z, until: 2026-10-08T01:00:00Z, requester: a, approver: b}
`, []string{`approval 1 (B): account: "12345" is not a 12-digit account id`, "approval 1 (B): until: must be after from"}},
		{"duplicate id", `approvals:
  - {id: C, account: "123456789012", from: 2026-10-08T01:00:00Z, until: 2026-10-08T02:00:00Z, requester: a, approver: b}
  - {id: C, account: "123456789012", from: 2026-10-08T01:00:00Z, until: 2026-10-08T02:00:00Z, requester: a, approver: b}
`, []string{"approval 2 (C): id: duplicate of approval 1"}},
		{"unknown field", `approvals:
  - {id: D, acount: "123456789012"}
`, []string{"field acount not found"}},
		{"not a time", `approvals:
  - {id: E, account: "123456789012", from: tomorrow, until: 2026-10-08T01:00:00Z, requester: a, approver: b}
`, []string{"parse"}},
		{"empty", ``, []string{"empty file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatal("invalid approvals accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestApproverPatterns(t *testing.T) {
	as, err := ParseApprovers([]string{
		"arn:aws:sts::*:assumed-role/AWSReservedSSO_SecurityApprover_*/*",
		"arn:aws:iam::111111111111:user/ccoe-lead",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		arn  string
		want bool
	}{
		{"arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_SecurityApprover_fedcba9876543210/bob@example.com", true},
		{"arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_Operator_0123/bob@example.com", false},
		{"arn:aws:sts::222222222222:assumed-role/awsreservedsso_securityapprover_x/bob", false}, // ArnLike is case-sensitive
		{"arn:aws:iam::111111111111:user/ccoe-lead", true},
		{"arn:aws:iam::111111111111:user/ccoe-lead2", false},
		{"arn:aws:iam::111111111111:role/AWSReservedSSO_SecurityApprover_x", false}, // a role, not a session of it
	}
	for _, tt := range tests {
		if _, got := as.Match(tt.arn); got != tt.want {
			t.Errorf("Match(%s) = %v, want %v", tt.arn, got, tt.want)
		}
	}
	for _, bad := range []string{"ccoe-lead", "arn:aws:sts::*:*", "arn:aws:s3:::bucket", "arn:aws:iam::*:**"} {
		if _, err := ParsePattern(bad); err == nil {
			t.Errorf("ParsePattern(%q) accepted", bad)
		}
	}
}

func TestSamePerson(t *testing.T) {
	const (
		op  = "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_Operator_0123/alice@example.com"
		apr = "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_SecurityApprover_4567/Alice@Example.com"
	)
	tests := []struct {
		a, b string
		want bool
	}{
		{op, op, true},
		{op, apr, true}, // one Identity Center user in two permission sets
		{op, "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_SecurityApprover_4567/bob@example.com", false},
		// Outside Identity Center a session name is chosen by the caller: only the same ARN is the same person.
		{"arn:aws:sts::222222222222:assumed-role/Ops/alice", "arn:aws:sts::222222222222:assumed-role/Approvers/alice", false},
		{"arn:aws:iam::111111111111:user/alice", "arn:aws:iam::111111111111:user/ALICE", true},
		{"arn:aws:iam::111111111111:user/alice", "arn:aws:iam::111111111111:user/bob", false},
	}
	for _, tt := range tests {
		if got := SamePerson(tt.a, tt.b); got != tt.want {
			t.Errorf("SamePerson(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestTasks(t *testing.T) {
	for _, task := range Tasks {
		got, err := ParseTask(string(task))
		if err != nil || got != task {
			t.Errorf("ParseTask(%s) = %q, %v", task, got, err)
		}
		if p := task.TaskPolicy(); (p == "") != (task == TaskConsole) || (p != "" && TaskOfPolicy("arn:aws:iam::aws:policy/root-task/"+p) != task) {
			t.Errorf("%s: task policy %q does not map back", task, p)
		}
	}
	if _, err := ParseTask("root"); err == nil {
		t.Error("ParseTask(root) accepted")
	}
}
