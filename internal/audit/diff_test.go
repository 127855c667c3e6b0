package audit

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// diffBase is an organization of two read accounts and one suspended
// one. Each call returns a fresh copy for a test case to change.
func diffBase() *Report {
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	return &Report{
		StartedAt: at,
		Organization: OrgInfo{
			ID: "o-abc123", ManagementAccountID: "111111111111", FeatureSet: "ALL",
			EnabledFeatures: []string{"RootCredentialsManagement"}, IAMTrustedAccess: false,
		},
		OrgControls: []Control{
			{ID: CtlOrgRootAccess, Outcome: Fail, Detail: "not enabled: RootSessions"},
			{ID: CtlOrgTrustedAccess, Outcome: Fail, Detail: "not enabled"},
		},
		Accounts: []*Account{
			{
				ID: "111111111111", Name: "management", OUPath: "/", State: "ACTIVE", Management: true,
				Root: &Root{
					Password: true, PasswordLastUsed: at.Add(-30 * 24 * time.Hour),
					MFADevices: []MFADevice{{Serial: "GAHT12345678", Kind: MFAHardware}},
					LastUsed:   at.Add(-30 * 24 * time.Hour),
				},
				Controls: []Control{
					{ID: CtlRootMFA, Outcome: Pass, Detail: "1 MFA device(s): hardware"},
					{ID: CtlNotUsedRecently, Outcome: Fail, Detail: "root last used 30 days ago"},
				},
			},
			{
				ID: "222222222222", Name: "prod", OUPath: "/Workloads/Prod", State: "ACTIVE",
				Root: &Root{
					Password:            true,
					MFADevices:          []MFADevice{{Serial: "arn:aws:iam::222222222222:mfa/root", Kind: MFAVirtual}},
					AccessKeys:          []AccessKey{{ID: "AKIAPROD1", Status: "Active", LastUsed: at.Add(-400 * 24 * time.Hour)}},
					SigningCertificates: []Certificate{{ID: "CERTPROD1", Status: "Active"}},
					LastUsed:            at.Add(-400 * 24 * time.Hour),
				},
				Controls: []Control{
					{ID: CtlNoAccessKeys, Outcome: Fail, Detail: "1 active root access key(s)"},
					{ID: CtlRootMFA, Outcome: Pass, Detail: "1 MFA device(s): virtual"},
				},
			},
			{ID: "333333333333", Name: "old", OUPath: "/Suspended", State: "SUSPENDED"},
		},
	}
}

// account finds an account of a report by id.
func account(r *Report, id string) *Account {
	for _, a := range r.Accounts {
		if a.ID == id {
			return a
		}
	}
	panic("no account " + id)
}

const mgmt, prod = "111111111111", "222222222222"

type diffCase struct {
	name   string
	change func(prev, cur *Report) // applied to two copies of diffBase
	want   []Change
}

func diffCases() []diffCase {
	return []diffCase{
		{"no change", func(prev, cur *Report) {}, nil},
		{"account order and times in other zones are not changes", func(prev, cur *Report) {
			cur.Accounts[0], cur.Accounts[1] = cur.Accounts[1], cur.Accounts[0]
			r := account(cur, prod).Root
			r.LastUsed = r.LastUsed.In(time.FixedZone("", 3600))
			cur.StartedAt = prev.StartedAt.Add(24 * time.Hour)
		}, nil},
		{"account added", func(prev, cur *Report) {
			cur.Accounts = append(cur.Accounts, &Account{ID: "444444444444", Name: "new", OUPath: "/Sandbox", State: "ACTIVE", Root: &Root{}})
		}, []Change{{"444444444444", "new", ChangeAccountAdded, "added in /Sandbox"}}},
		{"account removed", func(prev, cur *Report) {
			cur.Accounts = cur.Accounts[:2]
		}, []Change{{"333333333333", "old", ChangeAccountRemoved, "removed from /Suspended"}}},
		{"state changed", func(prev, cur *Report) {
			account(cur, "333333333333").State = "CLOSED"
		}, []Change{{"333333333333", "old", ChangeStateChanged, "SUSPENDED -> CLOSED"}}},
		{"moved to another OU", func(prev, cur *Report) {
			account(cur, prod).OUPath = "/Workloads/Legacy"
		}, []Change{{prod, "prod", ChangeOUChanged, "/Workloads/Prod -> /Workloads/Legacy"}}},
		{"password removed", func(prev, cur *Report) {
			account(cur, prod).Root.Password = false
		}, []Change{{prod, "prod", ChangePasswordRemoved, "root has no password"}}},
		{"password added", func(prev, cur *Report) {
			account(prev, prod).Root.Password = false
		}, []Change{{prod, "prod", ChangePasswordAdded, "root has a password"}}},
		{"access key added", func(prev, cur *Report) {
			r := account(cur, prod).Root
			r.AccessKeys = append(r.AccessKeys, AccessKey{ID: "AKIAPROD2", Status: "Active"})
		}, []Change{{prod, "prod", ChangeAccessKeyAdded, "AKIAPROD2 (Active)"}}},
		{"access key removed", func(prev, cur *Report) {
			account(cur, prod).Root.AccessKeys = nil
		}, []Change{{prod, "prod", ChangeAccessKeyRemoved, "AKIAPROD1"}}},
		{"access key deactivated", func(prev, cur *Report) {
			account(cur, prod).Root.AccessKeys[0].Status = "Inactive"
		}, []Change{{prod, "prod", ChangeAccessKeyStatus, "AKIAPROD1: Active -> Inactive"}}},
		{"access key replaced", func(prev, cur *Report) {
			account(cur, prod).Root.AccessKeys[0].ID = "AKIAPROD9"
		}, []Change{
			{prod, "prod", ChangeAccessKeyAdded, "AKIAPROD9 (Active)"},
			{prod, "prod", ChangeAccessKeyRemoved, "AKIAPROD1"},
		}},
		{"MFA device added, with its kind", func(prev, cur *Report) {
			r := account(cur, prod).Root
			r.MFADevices = append(r.MFADevices, MFADevice{Serial: "arn:aws:iam::222222222222:u2f/root-user/KEY", Kind: MFAPasskey})
		}, []Change{{prod, "prod", ChangeMFAAdded, "passkey arn:aws:iam::222222222222:u2f/root-user/KEY"}}},
		{"MFA device removed, with its kind", func(prev, cur *Report) {
			account(cur, mgmt).Root.MFADevices = nil
		}, []Change{{mgmt, "management", ChangeMFARemoved, "hardware GAHT12345678"}}},
		{"signing certificate added", func(prev, cur *Report) {
			account(prev, prod).Root.SigningCertificates = nil
		}, []Change{{prod, "prod", ChangeCertificateAdded, "CERTPROD1 (Active)"}}},
		{"signing certificate removed", func(prev, cur *Report) {
			account(cur, prod).Root.SigningCertificates = []Certificate{}
		}, []Change{{prod, "prod", ChangeCertificateRemoved, "CERTPROD1"}}},
		{"signing certificate re-activated", func(prev, cur *Report) {
			account(prev, prod).Root.SigningCertificates[0].Status = "Inactive"
		}, []Change{{prod, "prod", ChangeCertificateStatus, "CERTPROD1: Inactive -> Active"}}},
		{"root used with an access key", func(prev, cur *Report) {
			r := account(cur, prod).Root
			used := cur.StartedAt.Add(-2 * time.Hour)
			r.LastUsed, r.AccessKeys[0].LastUsed = used, used
			r.AccessKeys[0].LastUsedService, r.AccessKeys[0].LastUsedRegion = "s3", "eu-west-1"
		}, []Change{{prod, "prod", ChangeRootUsed,
			"last used 2026-11-01T22:00:00Z (access key AKIAPROD1, s3 in eu-west-1), previously 2025-09-27T00:00:00Z"}}},
		{"root signed in for the first time", func(prev, cur *Report) {
			r := account(cur, prod).Root
			account(prev, prod).Root.LastUsed = time.Time{}
			r.LastUsed, r.PasswordLastUsed = cur.StartedAt.Add(-time.Hour), cur.StartedAt.Add(-time.Hour)
		}, []Change{{prod, "prod", ChangeRootUsed, "last used 2026-11-01T23:00:00Z (password), previously never"}}},
		{"older last use is not a use", func(prev, cur *Report) {
			account(prev, prod).Root.LastUsed = cur.StartedAt.Add(-time.Hour)
		}, nil},
		{"control changed", func(prev, cur *Report) {
			account(cur, prod).Controls[1] = Control{ID: CtlRootMFA, Outcome: Fail, Detail: "root has credentials and no MFA device"}
		}, []Change{{prod, "prod", ChangeControlChanged, "IAM.9 pass -> fail: root has credentials and no MFA device"}}},
		{"a control detail alone is not a change", func(prev, cur *Report) {
			account(cur, mgmt).Controls[1].Detail = "root last used 31 days ago"
		}, nil},
		{"a control new in this audit is not a change", func(prev, cur *Report) {
			a := account(cur, prod)
			a.Controls = append(a.Controls, Control{ID: "RG.NEW.1", Outcome: Fail})
		}, nil},
		{"account newly unreadable: no credential or control noise", func(prev, cur *Report) {
			a := account(cur, prod)
			a.Root, a.Error, a.Method = nil, "account 222222222222: assume root: AccessDenied", MethodNone
			a.Controls = Evaluate(a, cur.StartedAt)
		}, []Change{{prod, "prod", ChangeAccountUnreadable, "account 222222222222: assume root: AccessDenied"}}},
		{"account readable again", func(prev, cur *Report) {
			a := account(prev, prod)
			a.Root, a.Error = nil, "account 222222222222: throttled"
			a.Controls = Evaluate(a, prev.StartedAt)
		}, []Change{{prod, "prod", ChangeAccountReadable, "previously: account 222222222222: throttled"}}},
		{"readable again and used since the previous audit", func(prev, cur *Report) {
			p := account(prev, prod)
			p.Root, p.Error = nil, "account 222222222222: throttled"
			r := account(cur, prod).Root
			r.LastUsed, r.AccessKeys[0].LastUsed = prev.StartedAt.Add(time.Hour), prev.StartedAt.Add(time.Hour)
		}, []Change{
			{prod, "prod", ChangeAccountReadable, "previously: account 222222222222: throttled"},
			{prod, "prod", ChangeRootUsed, "last used 2026-11-01T01:00:00Z (access key AKIAPROD1), after the previous audit"},
		}},
		{"still unreadable, with another error", func(prev, cur *Report) {
			p, a := account(prev, prod), account(cur, prod)
			p.Root, p.Error = nil, "throttled"
			a.Root, a.Error = nil, "access denied"
		}, nil},
		{"org feature enabled, with its control", func(prev, cur *Report) {
			cur.Organization.EnabledFeatures = append(cur.Organization.EnabledFeatures, "RootSessions")
			cur.OrgControls[0] = Control{ID: CtlOrgRootAccess, Outcome: Pass, Detail: "RootCredentialsManagement and RootSessions enabled"}
		}, []Change{
			{"", "o-abc123", ChangeControlChanged, "RG.ORG.1 fail -> pass: RootCredentialsManagement and RootSessions enabled"},
			{"", "o-abc123", ChangeOrgFeatureEnabled, "RootSessions"},
		}},
		{"org feature disabled", func(prev, cur *Report) {
			cur.Organization.EnabledFeatures = nil
		}, []Change{{"", "o-abc123", ChangeOrgFeatureDisabled, "RootCredentialsManagement"}}},
		{"IAM trusted access enabled", func(prev, cur *Report) {
			cur.Organization.IAMTrustedAccess = true
		}, []Change{{"", "o-abc123", ChangeOrgFeatureEnabled, "trusted access for iam.amazonaws.com"}}},
		{"IAM trusted access disabled", func(prev, cur *Report) {
			prev.Organization.IAMTrustedAccess = true
		}, []Change{{"", "o-abc123", ChangeOrgFeatureDisabled, "trusted access for iam.amazonaws.com"}}},
		{"organization not read: no feature noise", func(prev, cur *Report) {
			cur.Organization = OrgInfo{ID: "o-abc123", Error: "AccessDenied"}
			cur.OrgControls = EvaluateOrg(cur.Organization)
		}, nil},
		{"ordered by account, then kind, then detail", func(prev, cur *Report) {
			cur.Organization.IAMTrustedAccess = true
			cur.Accounts = append(cur.Accounts, &Account{ID: "000000000000", Name: "first", State: "ACTIVE"})
			r := account(cur, prod).Root
			r.Password = false
			r.AccessKeys = []AccessKey{{ID: "AKIAPROD3", Status: "Active"}, {ID: "AKIAPROD2", Status: "Active"}}
			account(cur, mgmt).Root.MFADevices = nil
		}, []Change{
			{"", "o-abc123", ChangeOrgFeatureEnabled, "trusted access for iam.amazonaws.com"},
			{"000000000000", "first", ChangeAccountAdded, "added"},
			{mgmt, "management", ChangeMFARemoved, "hardware GAHT12345678"},
			{prod, "prod", ChangeAccessKeyAdded, "AKIAPROD2 (Active)"},
			{prod, "prod", ChangeAccessKeyAdded, "AKIAPROD3 (Active)"},
			{prod, "prod", ChangeAccessKeyRemoved, "AKIAPROD1"},
			{prod, "prod", ChangePasswordRemoved, "root has no password"},
		}},
	}
}

func TestDiff(t *testing.T) {
	for _, tt := range diffCases() {
		t.Run(tt.name, func(t *testing.T) {
			prev, cur := diffBase(), diffBase()
			cur.StartedAt = prev.StartedAt.Add(24 * time.Hour)
			tt.change(prev, cur)
			got := Diff(prev, cur)
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff() =\n%s\nwant\n%s", changesJSON(t, got), changesJSON(t, tt.want))
			}
		})
	}
}

func TestDiffNoPrevious(t *testing.T) {
	if got := Diff(nil, diffBase()); got != nil {
		t.Errorf("Diff(nil, cur) = %v, want nil", got)
	}
	if got := Diff(diffBase(), nil); got != nil {
		t.Errorf("Diff(prev, nil) = %v, want nil", got)
	}
}

// Every kind declared in diff.go has a TestDiff case, and no two kinds
// share a value.
func TestDiffKindsCovered(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "diff.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{} // value -> constant
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if !strings.HasPrefix(n.Name, "Change") {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					t.Fatalf("%s is not a string literal", n.Name)
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				if other, dup := kinds[v]; dup {
					t.Errorf("%s and %s are both %q", other, n.Name, v)
				}
				kinds[v] = n.Name
			}
		}
	}
	if len(kinds) < 20 {
		t.Fatalf("found %d kinds in diff.go, want at least 20", len(kinds))
	}
	tested := map[string]bool{}
	for _, tc := range diffCases() {
		for _, c := range tc.want {
			tested[c.Kind] = true
		}
	}
	for v, name := range kinds {
		if !tested[v] {
			t.Errorf("%s (%q) has no TestDiff case", name, v)
		}
	}
}

func TestDiffChangeJSON(t *testing.T) {
	b, err := json.Marshal(Change{Account: prod, Name: "prod", Kind: ChangeMFAAdded, Detail: "passkey x"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"account":"222222222222","name":"prod","kind":"mfa-added","detail":"passkey x"}`
	if string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}

func changesJSON(t *testing.T, cs []Change) string {
	t.Helper()
	b, err := json.MarshalIndent(cs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
