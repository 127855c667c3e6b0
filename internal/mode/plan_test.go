package mode

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/audit"
)

// asOf is when the hand-built audits ran.
var asOf = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)

func daysAgo(n int) time.Time { return asOf.Add(-time.Duration(n) * 24 * time.Hour) }

// Root users the tests combine.
var (
	noCreds      = &audit.Root{}
	mfaLeftOver  = &audit.Root{MFADevices: []audit.MFADevice{{Serial: "arn:aws:iam::1:mfa/root", Kind: audit.MFAVirtual}}}
	passkeyOnly  = &audit.Root{Password: true, MFADevices: []audit.MFADevice{{Serial: "arn:aws:iam::1:u2f/root-user/X", Kind: audit.MFAPasskey}}}
	virtualOnly  = &audit.Root{Password: true, MFADevices: []audit.MFADevice{{Serial: "arn:aws:iam::1:mfa/root", Kind: audit.MFAVirtual}}}
	passwordOnly = &audit.Root{Password: true}
	usedRecently = &audit.Root{Password: true, PasswordLastUsed: daysAgo(10), LastUsed: daysAgo(10),
		MFADevices: []audit.MFADevice{{Serial: "GAHT1", Kind: audit.MFAHardware}}}
	keyNoPassword = &audit.Root{AccessKeys: []audit.AccessKey{{ID: "AKIAOLDKEY", Status: "Active"}}}
	everything    = &audit.Root{Password: true,
		AccessKeys: []audit.AccessKey{
			{ID: "AKIARECENT", Status: "Active", LastUsed: daysAgo(3), LastUsedService: "s3"},
			{ID: "AKIAINACTIVE", Status: "Inactive"}},
		SigningCertificates: []audit.Certificate{{ID: "CERT1", Status: "Active"}},
		MFADevices:          []audit.MFADevice{{Serial: "arn:aws:iam::1:mfa/root", Kind: audit.MFAVirtual}},
		LastUsed:            daysAgo(3)}
	blocking = []audit.RootDenySCP{{ID: "p-denyroot01", Name: "DenyRootUser", Target: "Sandbox (ou-ex12-sandbox1)"}}
)

func TestPlanAccount(t *testing.T) {
	strict := Decision{Mode: Strict, Source: "test"}
	flexible := Decision{Mode: Flexible, Source: "test"}
	for _, tc := range []struct {
		name     string
		a        audit.Account
		d        Decision
		status   Status
		drift    []string // control ids, in order
		by       []string // who does each action, in order
		commands []string // substrings of the actions' commands, in order
		notes    []string // substrings of the notes
	}{
		{name: "strict, nothing left", a: audit.Account{Root: noCreds}, d: strict, status: StatusOK},
		{name: "strict, an MFA device left behind", a: audit.Account{Root: mfaLeftOver}, d: strict, status: StatusDrift,
			drift: []string{"RG.ROOT.1"}, by: []string{ByRootguard}, commands: []string{"rootguard root delete-credentials --account 222222222222"}},
		{name: "strict, every credential, a key in use", a: audit.Account{Root: everything}, d: strict, status: StatusDrift,
			drift: []string{"RG.ROOT.1", "RG.ROOT.1", "RG.ROOT.1", "RG.ROOT.1"},
			by:    []string{ByCCoE, ByRootguard}, commands: []string{"rootguard scan --account 222222222222 --since 90d", "rootguard root delete-credentials --account 222222222222"},
			notes: []string{"active root signing certificate", "root was used recently"}},
		{name: "strict, behind a blocking SCP", a: audit.Account{Root: passwordOnly, RootDenySCPs: blocking}, d: strict, status: StatusDrift,
			drift: []string{"RG.ROOT.1"}, by: []string{ByCCoE, ByRootguard}, commands: []string{"", "delete-credentials"}},
		{name: "flexible, passkey", a: audit.Account{Root: passkeyOnly}, d: flexible, status: StatusOK},
		{name: "flexible, no credentials", a: audit.Account{Root: noCreds}, d: flexible, status: StatusOK, notes: []string{"already meets strict"}},
		{name: "flexible, password without MFA", a: audit.Account{Root: passwordOnly}, d: flexible, status: StatusDrift,
			drift: []string{"IAM.9", "IAM.6"}, by: []string{ByEmailOwner}},
		{name: "flexible, virtual MFA only", a: audit.Account{Root: virtualOnly}, d: flexible, status: StatusDrift,
			drift: []string{"IAM.6"}, by: []string{ByEmailOwner}},
		{name: "flexible, used 10 days ago", a: audit.Account{Root: usedRecently}, d: flexible, status: StatusDrift,
			drift: []string{"RG.ROOT.2"}, by: []string{ByCCoE}, commands: []string{"rootguard scan --account 222222222222"}},
		{name: "flexible, a key and no password", a: audit.Account{Root: keyNoPassword}, d: flexible, status: StatusDrift,
			drift: []string{"IAM.4", "IAM.9", "IAM.6"}, by: []string{ByEmailOwner, ByCCoE, ByRootguard, ByEmailOwner},
			commands: []string{"", "aws sts assume-root --target-principal 222222222222 --task-policy-arn arn=arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials; then, with the session's credentials: aws iam delete-access-key --access-key-id AKIAOLDKEY",
				"rootguard root allow-recovery --account 222222222222", ""}},
		{name: "flexible, every credential", a: audit.Account{Root: everything, RootDenySCPs: blocking}, d: flexible, status: StatusDrift,
			drift: []string{"IAM.4", "IAM.6", "RG.ROOT.2"}, by: []string{ByCCoE, ByEmailOwner, ByCCoE, ByCCoE, ByEmailOwner, ByCCoE},
			commands: []string{"rootguard scan", "", "delete-access-key --access-key-id AKIARECENT; aws iam delete-access-key --access-key-id AKIAINACTIVE", "", "", "rootguard scan"}},
		{name: "management with a key", a: audit.Account{Management: true, Root: &audit.Root{Password: true, AccessKeys: []audit.AccessKey{{ID: "AKIAMGMT", Status: "Active"}},
			MFADevices: []audit.MFADevice{{Serial: "GAHT1", Kind: audit.MFAHardware}}}},
			d: Decision{Mode: Flexible, Configured: Strict}, status: StatusDrift, drift: []string{"IAM.4"}, by: []string{ByEmailOwner}},
		{name: "management without MFA", a: audit.Account{Management: true, Root: passwordOnly}, d: flexible, status: StatusDrift,
			drift: []string{"IAM.9", "IAM.6"}, by: []string{ByEmailOwner}},
		{name: "not audited, blocking SCP", a: audit.Account{Error: "assume root: AccessDenied", RootDenySCPs: blocking, State: "ACTIVE"}, d: strict,
			status: StatusNotAudited, by: []string{ByCCoE}, notes: []string{"not audited: assume root: AccessDenied"}},
		{name: "not audited", a: audit.Account{Error: "assume root: Throttling", State: "ACTIVE"}, d: flexible,
			status: StatusNotAudited, by: []string{ByRootguard}, commands: []string{"rootguard audit"}},
		{name: "suspended", a: audit.Account{State: "SUSPENDED"}, d: strict, status: StatusInactive, notes: []string{"SUSPENDED"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.a.ID, tc.a.OUPath = "222222222222", "Root/X"
			if tc.a.Management {
				tc.a.ID = "111111111111"
			}
			p := PlanAccount(&tc.a, tc.d, asOf)
			if p.Status != tc.status {
				t.Errorf("status %s, want %s", p.Status, tc.status)
			}
			var drift, by, cmds []string
			for _, d := range p.Drift {
				drift = append(drift, d.Control)
			}
			for _, a := range p.Actions {
				by = append(by, a.By)
				cmds = append(cmds, a.Command)
			}
			if !slices.Equal(drift, tc.drift) {
				t.Errorf("drift %v, want %v: %+v", drift, tc.drift, p.Drift)
			}
			if !slices.Equal(by, tc.by) {
				t.Errorf("actions by %v, want %v: %+v", by, tc.by, p.Actions)
			}
			for i, want := range tc.commands {
				if i >= len(cmds) || !strings.Contains(cmds[i], want) || (want == "" && cmds[i] != "") {
					t.Errorf("action %d command %q, want %q", i, at(cmds, i), want)
				}
			}
			for _, want := range tc.notes {
				if !slices.ContainsFunc(p.Notes, func(n string) bool { return strings.Contains(n, want) }) {
					t.Errorf("notes %q lack %q", p.Notes, want)
				}
			}
		})
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}

// TestPlanStrictSaysWhatGoes: the delete-credentials action names every
// credential it deletes.
func TestPlanStrictSaysWhatGoes(t *testing.T) {
	p := PlanAccount(&audit.Account{ID: "222222222222", Root: everything}, Decision{Mode: Strict}, asOf)
	last := p.Actions[len(p.Actions)-1]
	want := "delete the password, access key(s) AKIARECENT, AKIAINACTIVE, 1 signing certificate(s) and 1 MFA device(s) in one IAMDeleteRootUserCredentials root session"
	if last.Step != want {
		t.Errorf("step %q, want %q", last.Step, want)
	}
}

// TestPlanUsesStoredControls: the audit's own control outcomes decide
// flexible drift (an Unknown IAM.6 is a note, not drift).
func TestPlanUsesStoredControls(t *testing.T) {
	a := &audit.Account{ID: "222222222222", Root: virtualOnly, Controls: []audit.Control{
		{ID: audit.CtlNoAccessKeys, Outcome: audit.Pass}, {ID: audit.CtlRootMFA, Outcome: audit.Pass},
		{ID: audit.CtlHardwareMFA, Outcome: audit.Unknown, Detail: "MFA kind unknown"}, {ID: audit.CtlNotUsedRecently, Outcome: audit.Pass},
	}}
	p := PlanAccount(a, Decision{Mode: Flexible}, asOf)
	if p.Status != StatusOK || len(p.Notes) != 1 || p.Notes[0] != "IAM.6 unknown: MFA kind unknown" {
		t.Errorf("plan %+v", p)
	}
}

func TestNeedsAttention(t *testing.T) {
	for _, tc := range []struct {
		statuses []Status
		want     bool
	}{
		{[]Status{StatusOK, StatusInactive}, false},
		{[]Status{StatusOK, StatusDrift}, true},
		{[]Status{StatusNotAudited}, true},
		{nil, false},
	} {
		var ps []AccountPlan
		for _, s := range tc.statuses {
			ps = append(ps, AccountPlan{Status: s})
		}
		if got := NeedsAttention(ps); got != tc.want {
			t.Errorf("%v: %t", tc.statuses, got)
		}
	}
}
