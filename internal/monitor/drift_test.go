package monitor

import (
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/notify"
)

func base() *audit.Report {
	return &audit.Report{
		StartedAt:    time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC),
		Organization: audit.OrgInfo{ID: "o-1", ManagementAccountID: "111111111111", EnabledFeatures: []string{"RootCredentialsManagement", "RootSessions"}, IAMTrustedAccess: true},
		Accounts: []*audit.Account{{
			ID: "222222222222", Name: "prod", OUPath: "/Workloads/Prod", State: "ACTIVE",
			Root: &audit.Root{MFADevices: []audit.MFADevice{{Serial: "arn:aws:iam::222222222222:mfa/root", Kind: audit.MFAVirtual}},
				AccessKeys: []audit.AccessKey{{ID: "AKIAOLD", Status: "Inactive"}}},
			Controls: []audit.Control{{ID: audit.CtlSCPRootSessions, Outcome: audit.Pass}},
		}},
	}
}

func TestRegressions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(r *audit.Report)
		want   string // kind, "" for none
	}{
		{"nothing", func(*audit.Report) {}, ""},
		{"password", func(r *audit.Report) { r.Accounts[0].Root.Password = true }, CredentialAppeared},
		{"access key", func(r *audit.Report) {
			r.Accounts[0].Root.AccessKeys = append(r.Accounts[0].Root.AccessKeys, audit.AccessKey{ID: "AKIANEW", Status: "Active"})
		}, CredentialAppeared},
		{"key reactivated", func(r *audit.Report) { r.Accounts[0].Root.AccessKeys[0].Status = "Active" }, CredentialAppeared},
		{"key deactivated", func(r *audit.Report) { r.Accounts[0].Root.AccessKeys[0].Status = "Disabled" }, ""},
		{"certificate", func(r *audit.Report) {
			r.Accounts[0].Root.SigningCertificates = []audit.Certificate{{ID: "CERT", Status: "Active"}}
		}, CredentialAppeared},
		{"mfa removed", func(r *audit.Report) { r.Accounts[0].Root.MFADevices = nil }, MFARemoved},
		// Central deletion of root's credentials takes its MFA devices too.
		{"credentials deleted with their mfa", func(r *audit.Report) { r.Accounts[0].Root = &audit.Root{} }, ""},
		{"feature disabled", func(r *audit.Report) { r.Organization.EnabledFeatures = []string{"RootCredentialsManagement"} }, FeatureDisabled},
		{"new account with root", func(r *audit.Report) {
			r.Accounts = append(r.Accounts, &audit.Account{ID: "999999999999", OUPath: "/Sandbox", Root: &audit.Root{Password: true}})
		}, NewAccountWithRoot},
		{"new account without root", func(r *audit.Report) {
			r.Accounts = append(r.Accounts, &audit.Account{ID: "999999999999", OUPath: "/Sandbox", Root: &audit.Root{}})
		}, ""},
		{"new account not readable", func(r *audit.Report) {
			r.Accounts = append(r.Accounts, &audit.Account{ID: "999999999999", OUPath: "/Sandbox", Error: "AccessDenied"})
		}, ""},
		{"scp blocks sessions", func(r *audit.Report) { r.Accounts[0].Controls[0].Outcome = audit.Fail }, SCPBlocksSessions},
		{"left strict OU", func(r *audit.Report) { r.Accounts[0].OUPath = "/Sandbox" }, LeftStrictOU},
		{"moved within strict OU", func(r *audit.Report) { r.Accounts[0].OUPath = "/Workloads/Prod/EU" }, ""},
		{"account left", func(r *audit.Report) { r.Accounts = nil }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := base()
			tc.change(cur)
			got := Regressions(base(), cur, []string{"/Workloads/Prod"})
			switch {
			case tc.want == "" && len(got) != 0:
				t.Errorf("got %+v, want none", got)
			case tc.want != "" && (len(got) != 1 || got[0].Kind != tc.want):
				t.Errorf("got %+v, want one %s", got, tc.want)
			}
		})
	}
	if Regressions(nil, base(), nil) != nil {
		t.Error("first run: want no regressions")
	}
}

func TestRender(t *testing.T) {
	prev, cur := base(), base()
	cur.Accounts[0].Root.Password = true
	regs := Regressions(prev, cur, nil)
	for _, tc := range []struct {
		lang      notify.Lang
		want, not string
	}{
		{notify.English, "root credential appeared", "ルート"},
		{notify.Japanese, "ルート認証情報の出現", "root credential appeared"},
		{notify.Both, "ルート認証情報の出現", ""},
	} {
		a := Render(regs, prev, cur, "s3://b/p", tc.lang)
		if !strings.Contains(a.Body, tc.want) || (tc.not != "" && strings.Contains(a.Body, tc.not)) ||
			len([]rune(a.Subject)) > notify.MaxSubject || a.Attributes["page"] != "true" || a.Attributes["account"] != "222222222222" {
			t.Errorf("%s: %q %v\n%s", tc.lang, a.Subject, a.Attributes, a.Body)
		}
	}
}

// TestRenderOneLinePerRegression: an account's name is the account's own
// text; a line break in it must not forge lines of the page.
func TestRenderOneLinePerRegression(t *testing.T) {
	prev, cur := base(), base()
	cur.Accounts[0].Root.Password = true
	regs := Regressions(prev, cur, nil)
	regs[0].Name = "prod\nAll clear: no regressions\u2028x"
	regs[0].Detail = "password\r\nforged"
	a := Render(regs, prev, cur, "s3://b/p", notify.English)
	for _, line := range strings.Split(a.Body, "\n") {
		if strings.HasPrefix(line, "All clear") || strings.HasPrefix(line, "forged") {
			t.Errorf("forged line %q in\n%s", line, a.Body)
		}
	}
	if !strings.Contains(a.Body, "(prod All clear: no regressions x)") {
		t.Errorf("name not kept on one line:\n%s", a.Body)
	}
}
