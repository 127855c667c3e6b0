package audit

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
			map[string]Outcome{CtlNoAccessKeys: Pass, CtlRootMFA: NotApplicable, CtlHardwareMFA: NotApplicable, CtlCredentialsGone: Pass, CtlSCPRootSessions: Pass}, nil},
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
				if !strings.Contains(a.Error, "p-denyroot01") || !strings.Contains(a.Error, "AccessDenied") || !strings.Contains(a.Error, "this is why") {
					t.Errorf("error = %q: should say AWS refused and which SCP is why", a.Error)
				}
				// The Sandbox OU's DenyRootUser has no aws:AssumedRoot
				// exemption: every task is refused, by that statement.
				if len(a.SessionBlocks) != 5 {
					t.Errorf("blocks = %+v, want all 5 tasks", a.SessionBlocks)
				}
				for _, b := range a.SessionBlocks {
					if b.Policy != "p-denyroot01" || b.Decision != "explicit-deny" || !strings.Contains(b.Target, "ou-ex12-sandbox1") {
						t.Errorf("block = %+v", b)
					}
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
	refused := 0
	for _, a := range rep.Accounts {
		if a.Error != "" {
			if _, ok := blocked(a, "IAMAuditRootUserCredentials"); !ok {
				t.Errorf("account %s failed: %s", a.ID, a.Error)
			}
			refused++
		}
	}
	if rep.Summary.Accounts != 60 || rep.Summary.Failed != refused {
		t.Errorf("summary = %+v", rep.Summary)
	}
	c := srv.Counts()
	if c["sts:AssumeRoot"] <= int64(rep.Summary.Audited-1) {
		t.Errorf("AssumeRoot calls = %d: faults and throttles should have forced retries", c["sts:AssumeRoot"])
	}
	t.Logf("AssumeRoot calls %d for %d accounts", c["sts:AssumeRoot"], rep.Summary.Accounts)
}

// TestAuditThrottledOrganizations: with Organizations throttling the tree
// walk and each account's SCP chain, every account still gets its
// RG.SCP.1 verdict (none lost to retries running out), and the throttled
// answers stay a fraction of the calls, not a flood of retries (the plain
// SDK retryer, unpaced, drew about three throttled answers per call at
// 1,000 accounts).
func TestAuditThrottledOrganizations(t *testing.T) {
	sc := awssim.GenerateScenario(40, 5)
	cfg, srv := simConfig(t, sc, awssim.Options{
		RateLimits: map[string]float64{"organizations:ListPoliciesForTarget": 15, "organizations:ListAccountsForParent": 3},
		Seed:       4, Latency: 2 * time.Millisecond,
	})
	rep := runAudit(t, cfg, Options{Workers: 32, AssumeRootRate: 200})
	if rep.Summary.Accounts != 40 {
		t.Fatalf("summary = %+v", rep.Summary)
	}
	for _, a := range rep.Accounts {
		if o := outcomes(a.Controls)[CtlSCPRootSessions]; o == Unknown {
			t.Errorf("account %s: RG.SCP.1 unknown (%+v)", a.ID, a.Controls)
		}
	}
	calls, throttled := srv.Counts()["organizations:ListPoliciesForTarget"], srv.Throttled()["organizations:ListPoliciesForTarget"]
	if calls == 0 || throttled*5 > calls {
		t.Errorf("ListPoliciesForTarget: %d calls, %d throttled: want under a fifth", calls, throttled)
	}
	t.Logf("ListPoliciesForTarget: %d calls, %d throttled; ListAccountsForParent: %d calls, %d throttled", calls, throttled,
		srv.Counts()["organizations:ListAccountsForParent"], srv.Throttled()["organizations:ListAccountsForParent"])
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

// TestSCPByEffect audits an organization whose SCPs take the forms that a
// check by spelling misses, through the simulator (whose own evaluator
// refuses the calls). RG.SCP.1 names, per account, the tasks refused and
// the policy statement that refuses them. AWS Organizations User Guide,
// SCP evaluation: an Allow is needed "at every level from the root
// through each OU in the direct path to the account", and a Deny at any
// level refuses the permission.
func TestSCPByEffect(t *testing.T) {
	sc := exampleScenario(t)
	add := func(id, name, target, content string) {
		sc.Policies = append(sc.Policies, awssim.Policy{ID: id, Name: name, Content: content, Targets: []string{target}})
	}
	// A deny of a root action no task session uses.
	add("p-nocloseacct", "NoAccountClose", "222222222222", `{"Version":"2012-10-17","Statement":[{"Sid":"NoClose","Effect":"Deny",
		"Action":"account:CloseAccount","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"}}}]}`)
	// A Region deny: everything but global services outside eu-west-1.
	add("p-euonly0001", "EUOnly", "333333333333", `{"Version":"2012-10-17","Statement":[{"Sid":"DenyOutsideEU","Effect":"Deny",
		"NotAction":["iam:*","organizations:*","sts:*"],"Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1"]}}}]}`)
	// NotAction: nothing but IAM reads.
	add("p-readonly001", "ReadOnly", "444444444444", `{"Version":"2012-10-17","Statement":[{"Sid":"ReadOnly","Effect":"Deny",
		"NotAction":["iam:Get*","iam:List*"],"Resource":"*"}]}`)
	// Quarantine: deny everything.
	add("p-quarantine1", "Quarantine", "888888888888", `{"Version":"2012-10-17","Statement":[{"Sid":"Quarantine","Effect":"Deny","Action":"*","Resource":"*"}]}`)

	cfg, _ := simConfig(t, sc, awssim.Options{ReportDelay: 20 * time.Millisecond})
	rep := runAudit(t, cfg, Options{Workers: 4})
	accts := byID(rep)
	tasks := func(a *Account) []string {
		var out []string
		for _, b := range a.SessionBlocks {
			out = append(out, b.Task+"/"+b.Statement)
		}
		return out
	}
	tests := []struct {
		id      string
		want    Outcome
		blocked []string
		auditOK bool
	}{
		{"111111111111", NotApplicable, nil, true},
		{"222222222222", Pass, nil, true},
		{"333333333333", Fail, []string{"S3UnlockBucketPolicy/DenyOutsideEU", "SQSUnlockQueuePolicy/DenyOutsideEU"}, true},
		{"444444444444", Fail, []string{"IAMCreateRootUserPassword/ReadOnly", "IAMDeleteRootUserCredentials/ReadOnly",
			"S3UnlockBucketPolicy/ReadOnly", "SQSUnlockQueuePolicy/ReadOnly"}, true},
		{"888888888888", Fail, []string{"IAMAuditRootUserCredentials/Quarantine", "IAMCreateRootUserPassword/Quarantine",
			"IAMDeleteRootUserCredentials/Quarantine", "S3UnlockBucketPolicy/Quarantine", "SQSUnlockQueuePolicy/Quarantine"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			a := accts[tt.id]
			if got := outcomes(a.Controls)[CtlSCPRootSessions]; got != tt.want {
				t.Errorf("RG.SCP.1 = %s, want %s", got, tt.want)
			}
			got := tasks(a)
			slices.Sort(got)
			if !slices.Equal(got, tt.blocked) {
				t.Errorf("blocked = %v, want %v", got, tt.blocked)
			}
			if (a.Error == "") != tt.auditOK {
				t.Errorf("audit error = %q", a.Error)
			}
			if !tt.auditOK && !strings.Contains(a.Error, "this is why") {
				t.Errorf("error = %q: should say the SCP is why the audit's session was refused", a.Error)
			}
		})
	}
	if d := outcomes(accts["444444444444"].Controls); !strings.Contains(controlDetail(accts["444444444444"].Controls, CtlSCPRootSessions), "p-readonly001") || d[CtlSCPRootSessions] != Fail {
		t.Errorf("detail should name the policy: %v", accts["444444444444"].Controls)
	}
}

func controlDetail(cs []Control, id string) string {
	for _, c := range cs {
		if c.ID == id {
			return c.Detail
		}
	}
	return ""
}

// TestAuditStartsDuringDiscovery: accounts are read as soon as discovery
// lists them, not after the whole OU tree is walked. Every list of
// accounts after the root's is held until the simulator has seen the
// audit read an account (an AssumeRoot or the management account's
// GetAccountSummary); an audit that waits for the whole tree first never
// gets there, and the hold gives up after a while and says so.
func TestAuditStartsDuringDiscovery(t *testing.T) {
	srv := awssim.New(exampleScenario(t), awssim.Options{})
	var (
		mu        sync.Mutex
		lists     int
		started   = make(chan struct{})
		startOnce sync.Once
		gaveUp    atomic.Bool
	)
	giveUp := time.AfterFunc(10*time.Second, func() { gaveUp.Store(true); startOnce.Do(func() { close(started) }) })
	defer giveUp.Stop()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		target := r.Header.Get("X-Amz-Target")
		switch {
		case strings.HasSuffix(target, ".ListAccountsForParent"):
			mu.Lock()
			lists++
			hold := lists > 1
			mu.Unlock()
			if hold {
				<-started
			}
		case strings.Contains(string(body), "Action=AssumeRoot"), strings.Contains(string(body), "Action=GetAccountSummary"):
			startOnce.Do(func() { close(started) })
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""),
		BaseEndpoint: aws.String(hs.URL)}
	rep := runAudit(t, cfg, Options{Workers: 4})
	if gaveUp.Load() {
		t.Error("no account was read before the whole OU tree was listed")
	}
	if lists < 2 {
		t.Fatalf("%d lists of accounts: the scenario needs OUs below the root", lists)
	}
	if len(rep.Accounts) != 8 || rep.Summary.Audited == 0 {
		t.Errorf("%d accounts, %d audited", len(rep.Accounts), rep.Summary.Audited)
	}
}

// TestAuditAccounts audits one account of the organization: only it is
// opened and reported, with its OU path and controls as a full audit
// gives them.
func TestAuditAccounts(t *testing.T) {
	cfg, srv := simConfig(t, exampleScenario(t), awssim.Options{})
	full := byID(runAudit(t, cfg, Options{}))
	before := len(srv.TrailEvents())
	rep := runAudit(t, cfg, Options{Accounts: []string{"222222222222", "999999999999"}})
	if len(rep.Accounts) != 1 || rep.Accounts[0].ID != "222222222222" || rep.Organization.ID == "" {
		t.Fatalf("accounts: %+v", rep.Accounts)
	}
	got, want := rep.Accounts[0], full["222222222222"]
	if got.OUPath != want.OUPath || got.Root == nil || len(got.Controls) != len(want.Controls) {
		t.Errorf("one account: %+v, full audit: %+v", got, want)
	}
	sessions := 0
	for _, ev := range srv.TrailEvents()[before:] {
		if strings.Contains(string(ev), `"eventName":"AssumeRoot"`) {
			sessions++
		}
	}
	if sessions != 1 {
		t.Errorf("%d root sessions opened, want 1", sessions)
	}
}
