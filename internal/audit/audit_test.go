package audit

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/rootguard/rootguard/internal/awssim"
)

// simConfig starts the simulator on 127.0.0.1 and returns a configuration
// for its management account, as AWS_ENDPOINT_URL would give.
func simConfig(t *testing.T, sc *awssim.Scenario, opts awssim.Options) (aws.Config, *awssim.Server) {
	t.Helper()
	srv := awssim.New(sc, opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, ""),
		BaseEndpoint: aws.String(hs.URL),
	}, srv
}

func exampleScenario(t *testing.T) *awssim.Scenario {
	t.Helper()
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

var auditNow = time.Date(2025, 11, 29, 0, 0, 0, 0, time.UTC)

func runAudit(t *testing.T, cfg aws.Config, opts Options) *Report {
	t.Helper()
	opts.Now = func() time.Time { return auditNow }
	opts.ReportPoll = 10 * time.Millisecond
	rep, err := Run(t.Context(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func byID(rep *Report) map[string]*Account {
	m := map[string]*Account{}
	for _, a := range rep.Accounts {
		m[a.ID] = a
	}
	return m
}

// TestAuditScenario audits the example organization through the real SDK
// clients and the simulator: every case of root credentials it holds.
func TestAuditScenario(t *testing.T) {
	cfg, srv := simConfig(t, exampleScenario(t), awssim.Options{ReportDelay: 20 * time.Millisecond})
	rep := runAudit(t, cfg, Options{Workers: 4})
	o := rep.Organization
	if o.ID != "o-exampleorg1" || o.ManagementAccountID != "111111111111" || !o.IAMTrustedAccess ||
		len(o.EnabledFeatures) != 2 || strings.Join(o.IAMDelegatedAdmins, ",") != "222222222222" || o.Error != "" {
		t.Errorf("organization = %+v", o)
	}
	accts := byID(rep)
	if len(accts) != 8 {
		t.Fatalf("accounts = %d", len(accts))
	}
	tests := []struct {
		id, ou, state string
		method        Method
		want          map[string]Outcome
		check         func(t *testing.T, a *Account)
	}{
		{"111111111111", "Root", "ACTIVE", MethodManagement,
			map[string]Outcome{CtlNoAccessKeys: Pass, CtlRootMFA: Pass, CtlHardwareMFA: Pass, CtlCredentialsGone: NotApplicable, CtlNotUsedRecently: Fail},
			func(t *testing.T, a *Account) {
				if !a.Management || !a.Root.Password || a.Root.PasswordLastUsed.IsZero() || a.Root.MFADevices[0].Kind != MFANotVirtual {
					t.Errorf("management root = %+v", a.Root)
				}
			}},
		{"222222222222", "Root/Security", "ACTIVE", MethodAssumeRoot,
			map[string]Outcome{CtlNoAccessKeys: Pass, CtlRootMFA: NotApplicable, CtlHardwareMFA: NotApplicable, CtlCredentialsGone: Pass, CtlSCPRootSessions: NotApplicable}, nil},
		{"333333333333", "Root/Workloads/Prod", "ACTIVE", MethodAssumeRoot,
			map[string]Outcome{CtlNoAccessKeys: Fail, CtlRootMFA: Fail, CtlHardwareMFA: Fail, CtlCredentialsGone: Fail, CtlNotUsedRecently: Fail, CtlSCPRootSessions: Pass},
			func(t *testing.T, a *Account) {
				r := a.Root
				if !r.Password || len(r.AccessKeys) != 2 || r.AccessKeys[0].LastUsedService != "s3" || r.AccessKeys[1].Status != "Inactive" {
					t.Errorf("root = %+v", r)
				}
				if !r.LastUsed.Equal(time.Date(2025, 9, 1, 10, 0, 0, 0, time.UTC)) {
					t.Errorf("last used = %s", r.LastUsed)
				}
			}},
		{"444444444444", "Root/Workloads/Prod/EU", "ACTIVE", MethodAssumeRoot,
			// A passkey beside a virtual device: "NON_COMPLIANT if any virtual
			// MFA devices are permitted for signing in with root credentials"
			// (AWS Config, root-account-hardware-mfa-enabled).
			map[string]Outcome{CtlNoAccessKeys: Pass, CtlRootMFA: Pass, CtlHardwareMFA: Fail, CtlCredentialsGone: Fail},
			func(t *testing.T, a *Account) {
				if len(a.Root.MFADevices) != 2 || len(a.Root.SigningCertificates) != 2 {
					t.Errorf("root = %+v", a.Root)
				}
				kinds := map[MFAKind]bool{}
				for _, d := range a.Root.MFADevices {
					kinds[d.Kind] = true
				}
				if !kinds[MFAPasskey] || !kinds[MFAVirtual] {
					t.Errorf("MFA kinds = %v", kinds)
				}
			}},
		{"555555555555", "Root/Sandbox", "ACTIVE", MethodAssumeRoot,
			map[string]Outcome{CtlSCPRootSessions: Fail, CtlNoAccessKeys: Unknown},
			func(t *testing.T, a *Account) {
				if !strings.Contains(a.Error, "p-denyroot01") || !strings.Contains(a.Error, "AccessDenied") {
					t.Errorf("error = %q: should say AWS refused and which SCP is why", a.Error)
				}
			}},
		{"666666666666", "Root/Suspended", "SUSPENDED", MethodNone,
			map[string]Outcome{CtlNoAccessKeys: NotApplicable, CtlRootMFA: NotApplicable}, nil},
		{"777777777777", "Root/Suspended", "CLOSED", MethodNone, map[string]Outcome{CtlRootMFA: NotApplicable}, nil},
		{"888888888888", "Root", "ACTIVE", MethodAssumeRoot, map[string]Outcome{CtlRootMFA: Fail}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			a := accts[tt.id]
			if a.OUPath != tt.ou || a.State != tt.state || a.Method != tt.method {
				t.Errorf("ou=%q state=%q method=%q, want %q %q %q", a.OUPath, a.State, a.Method, tt.ou, tt.state, tt.method)
			}
			got := outcomes(a.Controls)
			for id, want := range tt.want {
				if got[id] != want {
					t.Errorf("%s = %s, want %s", id, got[id], want)
				}
			}
			if tt.check != nil {
				tt.check(t, a)
			}
		})
	}
	if rep.Summary.Failed != 1 || rep.Summary.Audited != 5 || !rep.Failed() {
		t.Errorf("summary = %+v", rep.Summary)
	}
	// One root session per member read that way; none on the management account.
	if n := srv.Counts()["sts:AssumeRoot"]; n != 5 {
		t.Errorf("AssumeRoot calls = %d, want 5", n)
	}
}

// TestAuditFaults: throttling and server errors still yield a complete
// audit of a generated organization.
func TestAuditFaults(t *testing.T) {
	sc := awssim.GenerateScenario(60, 3)
	cfg, srv := simConfig(t, sc, awssim.Options{
		RateLimits: map[string]float64{"sts:AssumeRoot": 40, "iam:ListAccessKeys": 100},
		FaultRate:  0.05, Seed: 9, Latency: 2 * time.Millisecond,
	})
	rep := runAudit(t, cfg, Options{Workers: 16, AssumeRootRate: 80})
	blocked := 0
	for _, a := range rep.Accounts {
		if a.Error != "" {
			if len(BlockingSCPs(a)) == 0 {
				t.Errorf("account %s failed: %s", a.ID, a.Error)
			}
			blocked++
		}
	}
	if rep.Summary.Accounts != 60 || rep.Summary.Failed != blocked {
		t.Errorf("summary = %+v", rep.Summary)
	}
	c := srv.Counts()
	if c["sts:AssumeRoot"] <= int64(rep.Summary.Audited-1) {
		t.Errorf("AssumeRoot calls = %d: faults and throttles should have forced retries", c["sts:AssumeRoot"])
	}
	t.Logf("AssumeRoot calls %d for %d accounts", c["sts:AssumeRoot"], rep.Summary.Accounts)
}

// TestAuditWithRole reads members through a role and the credential report.
func TestAuditWithRole(t *testing.T) {
	cfg, _ := simConfig(t, exampleScenario(t), awssim.Options{ReportDelay: 20 * time.Millisecond})
	rep := runAudit(t, cfg, Options{RoleName: "OrganizationAccountAccessRole"})
	a := byID(rep)
	prod := a["333333333333"]
	if prod.Method != MethodCredentialReport || prod.Root == nil || len(prod.Root.AccessKeys) != 2 || len(prod.Root.Notes) == 0 {
		t.Errorf("prod = %+v root=%+v", prod, prod.Root)
	}
	if sb := a["555555555555"]; sb.Root == nil || len(sb.Root.MFADevices) != 1 || sb.Root.MFADevices[0].Kind != MFAVirtual ||
		sb.Root.MFADevices[0].Serial != "arn:aws:iam::555555555555:mfa/root" {
		t.Errorf("sandbox account's virtual MFA through the role: %+v", sb.Root)
	}
	// The root of 222222222222 was deleted centrally: GetAccountSummary
	// (AccountPasswordPresent 0, AccountAccessKeysPresent 0,
	// AccountSigningCertificatesPresent 0, AccountMFAEnabled 0) says so,
	// and the role-based audit raises no alarm the root session would not.
	if sec := a["222222222222"]; sec.Root == nil || sec.Root.HasCredentials() || len(sec.Root.MFADevices) != 0 {
		t.Errorf("security account through the role: %+v root=%+v", sec, sec.Root)
	} else {
		got := outcomes(sec.Controls)
		want := map[string]Outcome{CtlNoAccessKeys: Pass, CtlRootMFA: NotApplicable, CtlHardwareMFA: NotApplicable, CtlCredentialsGone: Pass}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("security account through the role: %s = %s, want %s", id, got[id], w)
			}
		}
		if !slices.ContainsFunc(sec.Root.Notes, func(n string) bool { return strings.Contains(n, "not visible without a root session") }) {
			t.Errorf("notes should say what the role cannot see: %q", sec.Root.Notes)
		}
		if slices.ContainsFunc(sec.Root.Notes, func(n string) bool { return strings.Contains(n, "assumed") }) {
			t.Errorf("notes should not assume anything: %q", sec.Root.Notes)
		}
	}
	if !prod.Root.Password {
		t.Errorf("prod's root password (AccountPasswordPresent 1) not seen: %+v", prod.Root)
	}
	if inv := a["888888888888"]; inv.Error == "" || !strings.Contains(inv.Error, "OrganizationAccountAccessRole") {
		t.Errorf("invited account without the role: error = %q", inv.Error)
	}
}

func TestAuditCancelled(t *testing.T) {
	cfg, _ := simConfig(t, awssim.GenerateScenario(30, 1), awssim.Options{Latency: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	_, err := Run(ctx, cfg, Options{Workers: 2})
	if err == nil {
		t.Fatal("a cancelled audit must say so")
	}
}
