package remediate

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/org"
	"github.com/rootguard/rootguard/internal/store"
)

// Accounts of internal/awssim/testdata/scenario.yaml.
const (
	exMgmt      = "111111111111"
	exSecurity  = "222222222222" // root deleted centrally
	exProd      = "333333333333" // password, two keys (one used 2025-09-01)
	exProdEU    = "444444444444" // password, passkey + virtual MFA, two certificates
	exSandbox   = "555555555555" // behind an SCP that blocks root sessions
	exSuspended = "666666666666"
	exClosed    = "777777777777"
	exInvited   = "888888888888" // password only
)

var testNow = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

// env is the simulator (behind the IAM fault injector), a management
// account configuration for the real SDK clients, and a journal.
type env struct {
	cfg    aws.Config
	srv    *awssim.Server
	faults *awssim.IAMFaults
	j      *store.Store
}

func newEnv(t *testing.T, sc *awssim.Scenario, opts awssim.Options) *env {
	t.Helper()
	if sc == nil {
		var err error
		if sc, err = awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml")); err != nil {
			t.Fatal(err)
		}
	}
	srv := awssim.New(sc, opts)
	faults := awssim.NewIAMFaults(srv)
	hs := httptest.NewServer(faults)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	j, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "rootguard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return &env{
		cfg: aws.Config{
			Region:       "us-east-1",
			Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, ""),
			BaseEndpoint: aws.String(hs.URL),
		},
		srv: srv, faults: faults, j: j,
	}
}

func testOpts() Options {
	return Options{Workers: 4, AssumeRootRate: 400, Now: func() time.Time { return testNow }, UnmodifiableBackoff: 5 * time.Millisecond}
}

func (e *env) plan(t *testing.T, sel Selection, force ...string) (*Plan, []byte) {
	t.Helper()
	p, err := PlanDeleteCredentials(t.Context(), e.cfg, sel, force, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return p, doc
}

func (e *env) apply(t *testing.T, doc []byte, opts Options) *Outcome {
	t.Helper()
	out, err := Apply(t.Context(), e.cfg, doc, e.j, opts)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// audited reads every account the way rootguard audit does.
func (e *env) audited(t *testing.T) map[string]*audit.Account {
	t.Helper()
	rep, err := audit.Run(t.Context(), e.cfg, audit.Options{Workers: 4, ReportPoll: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*audit.Account{}
	for _, a := range rep.Accounts {
		m[a.ID] = a
	}
	return m
}

func byAccount[T any](items []T, id func(T) string) map[string]T {
	m := map[string]T{}
	for _, it := range items {
		m[id(it)] = it
	}
	return m
}

func planAccounts(p *Plan) map[string]AccountPlan {
	return byAccount(p.Accounts, func(a AccountPlan) string { return a.Account })
}

func results(o *Outcome) map[string]Result {
	return byAccount(o.Results, func(r Result) string { return r.Account })
}

func stepKeys(steps []Step) []string {
	var keys []string
	for _, s := range steps {
		keys = append(keys, s.Key)
	}
	return keys
}

// TestPlanExampleScenario plans deletion across the example organization.
func TestPlanExampleScenario(t *testing.T) {
	e := newEnv(t, nil, awssim.Options{})
	p, doc := e.plan(t, Selection{All: true})
	if p.Kind != KindDeleteCredentials || p.Organization != "o-exampleorg1" || p.ManagementAccount != exMgmt ||
		p.CreatedBy != "arn:aws:iam::111111111111:user/awssim-admin" || !p.CreatedAt.Equal(testNow) {
		t.Errorf("plan header = %+v", p)
	}
	if len(p.Warnings) != 3 || !strings.Contains(p.Warnings[0], "cannot be undone") ||
		!strings.Contains(p.Warnings[1], CheckS3MFADelete) && !strings.Contains(p.Warnings[1], "MFA Delete") {
		t.Errorf("warnings = %q", p.Warnings)
	}
	tests := []struct {
		account string
		action  Action
		steps   []string
		reason  string
	}{
		{exMgmt, ActionSkip, nil, "management account"},
		{exSecurity, ActionNone, nil, "no root credentials"},
		{exProd, ActionDelete, []string{"DeleteLoginProfile:root", "DeleteAccessKey:AKIAEXAMPLEROOT00001", "DeleteAccessKey:AKIAEXAMPLEROOT00002"}, "delete password, 2 access keys (1 active)"},
		{exProdEU, ActionDelete, []string{
			"DeleteLoginProfile:root",
			"DeleteSigningCertificate:EXAMPLECERT000000000000000001", "DeleteSigningCertificate:EXAMPLECERT000000000000000002",
			"DeactivateMFADevice:arn:aws:iam::444444444444:u2f/root-user/EXAMPLEPASSKEY0000000001",
			"DeactivateMFADevice:arn:aws:iam::444444444444:mfa/root-account-mfa-device",
			"DeleteVirtualMFADevice:arn:aws:iam::444444444444:mfa/root-account-mfa-device",
		}, "2 MFA devices (passkey, virtual)"},
		{exSandbox, ActionError, nil, "could not read"},
		{exSuspended, ActionSkip, nil, "SUSPENDED"},
		{exClosed, ActionSkip, nil, "CLOSED"},
		{exInvited, ActionDelete, []string{"DeleteLoginProfile:root"}, "delete password"},
	}
	accts := planAccounts(p)
	if len(accts) != len(tests) {
		t.Fatalf("plan covers %d accounts, want %d", len(accts), len(tests))
	}
	for _, tt := range tests {
		a := accts[tt.account]
		if a.Action != tt.action || !slices.Equal(stepKeys(a.Steps), tt.steps) || !strings.Contains(a.Reason, tt.reason) {
			t.Errorf("%s: action %s steps %q reason %q; want %s %q %q", tt.account, a.Action, stepKeys(a.Steps), a.Reason, tt.action, tt.steps, tt.reason)
		}
	}
	if err := accts[exSandbox].Error; !strings.Contains(err, "AccessDenied") || !strings.Contains(err, "service control policy") {
		t.Errorf("sandbox error = %q: should say AWS refused and why", err)
	}
	if c := accts[exProd].Checks; len(c) != 1 || c[0].ID != CheckAccessKeyInUse || c[0].Outcome != CheckPass {
		t.Errorf("prod checks = %+v", c)
	}
	// The document reads back as it was written.
	back, err := DecodePlan(doc)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := back.Encode()
	if string(again) != string(doc) {
		t.Error("plan does not round-trip through its JSON form")
	}
	// Planning only reads: audit sessions, no write call.
	for op, n := range e.srv.Counts() {
		if strings.Contains(op, "Delete") || strings.Contains(op, "Deactivate") || strings.Contains(op, "Create") {
			t.Errorf("planning called %s %d times", op, n)
		}
	}
}

func TestPlanTargets(t *testing.T) {
	e := newEnv(t, nil, awssim.Options{})
	tests := []struct {
		name    string
		sel     Selection
		want    []string
		wantErr error
	}{
		{"OU path, recursive", Selection{OUs: []string{"Workloads"}}, []string{exProd, exProdEU}, nil},
		{"OU path with Root and case", Selection{OUs: []string{"root/workloads/prod/EU"}}, []string{exProdEU}, nil},
		{"OU id, exclude an account", Selection{OUs: []string{"ou-ex12-workload"}, Exclude: []string{exProdEU}}, []string{exProd}, nil},
		{"all but an OU", Selection{All: true, Exclude: []string{"ou-ex12-suspend1", "Workloads"}}, []string{exMgmt, exSecurity, exSandbox, exInvited}, nil},
		{"accounts", Selection{Accounts: []string{exInvited, exSecurity}}, []string{exSecurity, exInvited}, nil},
		{"management account named", Selection{Accounts: []string{exProd, exMgmt}}, nil, ErrManagementAccount},
		{"unknown account", Selection{Accounts: []string{"999999999999"}}, nil, ErrUnknownTarget},
		{"unknown OU", Selection{OUs: []string{"Nope"}}, nil, ErrUnknownTarget},
		{"unknown exclusion", Selection{All: true, Exclude: []string{"123"}}, nil, ErrUnknownTarget},
		{"nothing named", Selection{Exclude: []string{exProd}}, nil, ErrNoTargets},
		{"malformed account", Selection{Accounts: []string{"33333333333"}}, nil, ErrMalformedAccount},
		{"suspended account named", Selection{Accounts: []string{exProd, "666666666666"}}, nil, ErrInactiveAccount},
		{"closed account named", Selection{Accounts: []string{"777777777777"}}, nil, ErrInactiveAccount},
		{"suspended account under a named OU: skipped, not refused", Selection{OUs: []string{"Suspended"}}, []string{"666666666666", "777777777777"}, nil},
		{"account named twice", Selection{Accounts: []string{exProd, exProd}}, nil, ErrDuplicateTarget},
		{"OU named by path and id", Selection{OUs: []string{"Workloads", "ou-ex12-workload"}}, nil, ErrDuplicateTarget},
		{"every wrong target at once", Selection{Accounts: []string{"999999999999", exMgmt, "1"}, OUs: []string{"Nope"}}, nil, ErrMalformedAccount},
	}
	c, err := newClient(e.cfg, testOpts().withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.discover(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := selectTargets(o, tt.sel)
			if tt.wantErr != nil {
				var te *TargetError
				if !errors.Is(err, tt.wantErr) || !errors.As(err, &te) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("the error is more than one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range got {
				ids = append(ids, a.Account)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("targets = %v, want %v", ids, tt.want)
			}
		})
	}
	// Every wrong target is named in one error.
	_, err = selectTargets(o, Selection{Accounts: []string{"999999999999", exMgmt, "1"}, OUs: []string{"Nope"}})
	for _, want := range []error{ErrUnknownTarget, ErrManagementAccount, ErrMalformedAccount} {
		if !errors.Is(err, want) {
			t.Errorf("err = %v, want it to hold %v", err, want)
		}
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "remediate: 4 wrong targets: target 999999999999: not in the organization; target 111111111111: ") ||
		!strings.HasSuffix(msg, "target 1: not a 12-digit account id; target Nope: OU not in the organization") {
		t.Errorf("err = %q", msg)
	}

	// Naming the management account fails the plan before any session.
	_, err = PlanDeleteCredentials(t.Context(), e.cfg, Selection{Accounts: []string{exMgmt}}, nil, testOpts())
	if !errors.Is(err, ErrManagementAccount) || !strings.Contains(err.Error(), "never a target") {
		t.Errorf("err = %v", err)
	}
	if n := e.srv.Counts()["sts:AssumeRoot"]; n != 0 {
		t.Errorf("AssumeRoot called %d times", n)
	}
	if _, err := PlanDeleteCredentials(t.Context(), e.cfg, Selection{All: true}, []string{"no-such-check"}, testOpts()); err == nil {
		t.Error("--force with an unknown check must fail")
	}
}

// TestApplyDeletesExactlyPlanned: apply deletes what the plan lists in its
// accounts and nothing elsewhere, and the journal holds the evidence.
func TestApplyDeletesExactlyPlanned(t *testing.T) {
	e := newEnv(t, nil, awssim.Options{})
	p, doc := e.plan(t, Selection{Accounts: []string{exProd, exProdEU}})
	before := e.srv.Counts()
	out := e.apply(t, doc, testOpts())
	if out.Status != store.RunDone || out.Resumed || out.Caller != p.CreatedBy {
		t.Errorf("outcome = %+v", out)
	}
	res := results(out)
	if r := res[exProd]; r.Status != StatusDone || len(r.Changes) != 3 {
		t.Errorf("prod = %+v", r)
	}
	// The virtual device is deactivated; the root session may not delete
	// it (awssim's reading of the task policy's NotResource): reported,
	// not failed.
	if r := res[exProdEU]; r.Status != StatusDone || len(r.Changes) != 5 || r.Error != "" ||
		r.Detail != "arn:aws:iam::444444444444:mfa/root-account-mfa-device: "+keptDetail {
		t.Errorf("prod-eu = %+v", r)
	}
	after := e.srv.Counts()
	for op, want := range map[string]int64{
		"sts:AssumeRoot": 2, "iam:DeleteLoginProfile": 2, "iam:DeleteAccessKey": 2, "iam:DeleteSigningCertificate": 2,
		"iam:DeactivateMFADevice": 2, "iam:DeleteVirtualMFADevice": 1,
	} {
		if got := after[op] - before[op]; got != want {
			t.Errorf("%s: %d calls, want %d", op, got, want)
		}
	}

	// Through audit's reads: the targets hold nothing, the others are untouched.
	accts := e.audited(t)
	for _, id := range []string{exProd, exProdEU} {
		if r := accts[id].Root; r == nil || r.HasCredentials() || len(r.MFADevices) > 0 {
			t.Errorf("%s root after apply = %+v", id, r)
		}
	}
	if r := accts[exInvited].Root; r == nil || !r.Password {
		t.Errorf("invited (not targeted) lost its password: %+v", r)
	}
	if r := accts[exMgmt].Root; r == nil || !r.Password || len(r.MFADevices) != 1 {
		t.Errorf("management root = %+v", r)
	}

	// The journal: who, when, the plan, and each step with its request id.
	run, err := e.j.Run(t.Context(), out.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if run.CallerARN != "arn:aws:iam::111111111111:user/awssim-admin" || run.Status != store.RunDone ||
		run.Kind != string(KindDeleteCredentials) || string(run.Plan) != string(doc) || run.PlanDigest != Digest(doc) ||
		!run.StartedAt.Equal(testNow) || run.OrgID != "o-exampleorg1" {
		t.Errorf("run = %+v", run)
	}
	steps, err := e.j.Steps(t.Context(), out.RunID)
	if err != nil {
		t.Fatal(err)
	}
	var prodSteps []string
	for _, st := range steps {
		wantResult := resultOK
		if strings.HasPrefix(st.Step, string(OpDeleteVirtualMFADevice)) {
			wantResult = resultKept
		}
		if st.RequestID == "" || st.Result != wantResult || st.Error != "" || st.Attempts != 1 || !st.At.Equal(testNow) {
			t.Errorf("step %+v", st)
		}
		if st.Account == exProd {
			prodSteps = append(prodSteps, st.Action+" "+st.Target)
		}
	}
	want := []string{
		"sts:AssumeRoot arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials",
		"iam:GetLoginProfile,ListAccessKeys,ListSigningCertificates,ListMFADevices root",
		"iam:DeleteLoginProfile root",
		"iam:DeleteAccessKey AKIAEXAMPLEROOT00001",
		"iam:DeleteAccessKey AKIAEXAMPLEROOT00002",
		"iam:GetLoginProfile,ListAccessKeys,ListSigningCertificates,ListMFADevices root",
	}
	if !slices.Equal(prodSteps, want) {
		t.Errorf("prod journal:\n%s\nwant:\n%s", strings.Join(prodSteps, "\n"), strings.Join(want, "\n"))
	}
	var snap Credentials
	for _, st := range steps {
		if st.Account == exProd && st.Step == keySnapshot {
			if err := json.Unmarshal([]byte(st.Detail), &snap); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !snap.Password || len(snap.AccessKeys) != 2 {
		t.Errorf("snapshot = %+v", snap)
	}
}

// TestApplyIdempotent: applying a plan again changes nothing.
func TestApplyIdempotent(t *testing.T) {
	e := newEnv(t, nil, awssim.Options{})
	_, doc := e.plan(t, Selection{Accounts: []string{exProd, exProdEU, exInvited}})
	first := e.apply(t, doc, testOpts())
	before := e.srv.Counts()
	second := e.apply(t, doc, testOpts())
	if second.RunID == first.RunID || second.Resumed {
		t.Errorf("a finished run is not resumed: first %s, second %+v", first.RunID, second)
	}
	for _, r := range second.Results {
		if r.Status != StatusNoChange || len(r.Changes) != 0 {
			t.Errorf("second apply: %+v", r)
		}
	}
	after := e.srv.Counts()
	for _, op := range []string{"iam:DeleteLoginProfile", "iam:DeleteAccessKey", "iam:DeleteSigningCertificate", "iam:DeactivateMFADevice"} {
		if n := after[op] - before[op]; n != 0 {
			t.Errorf("second apply called %s %d times", op, n)
		}
	}
	// A deactivated virtual device cannot be listed by a root session, so
	// its deletion is asked once more, and refused again.
	if n := after["iam:DeleteVirtualMFADevice"] - before["iam:DeleteVirtualMFADevice"]; n != 1 {
		t.Errorf("DeleteVirtualMFADevice calls = %d, want 1", n)
	}
	steps, _ := e.j.Steps(t.Context(), second.RunID)
	for _, st := range steps {
		if strings.HasPrefix(st.Step, "Delete") || strings.HasPrefix(st.Step, "Deactivate") {
			if want := map[bool]string{true: resultKept, false: resultAlready}[strings.HasPrefix(st.Step, "DeleteVirtual")]; st.Result != want {
				t.Errorf("second run step %s: %s, want %s", st.Step, st.Result, want)
			}
		}
	}
}

// TestStepDeniedByTaskPolicy: a session whose task policy does not allow
// the call gets an error that says so.
func TestStepDeniedByTaskPolicy(t *testing.T) {
	e := newEnv(t, nil, awssim.Options{})
	c, err := newClient(e.cfg, testOpts().withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := c.assumeRoot(t.Context(), exProd, TaskAudit)
	if err != nil {
		t.Fatal(err)
	}
	o := runStep(t.Context(), c.memberIAM(s), TaskAudit, newStep(OpDeleteAccessKey, "AKIAEXAMPLEROOT00001"), c.opts)
	if o.result != resultFailed || o.requestID == "" || o.err == nil {
		t.Fatalf("outcome = %+v", o)
	}
	msg := o.err.Error()
	for _, want := range []string{"DeleteAccessKey AKIAEXAMPLEROOT00001", "access denied", "task policy IAMAuditRootUserCredentials cannot call iam:DeleteAccessKey", "IAMDeleteRootUserCredentials can", "AccessDenied"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	secret, err := s.Credentials.Provider().Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(msg, secret.SecretAccessKey) || strings.Contains(msg, secret.SessionToken) {
		t.Error("the error carries session credentials")
	}
	// And the recovery session cannot delete either.
	s2, _, err := c.assumeRoot(t.Context(), exProd, TaskCreatePassword)
	if err != nil {
		t.Fatal(err)
	}
	o = runStep(t.Context(), c.memberIAM(s2), TaskCreatePassword, newStep(OpDeleteLoginProfile, "root"), c.opts)
	if o.err == nil || !strings.Contains(o.err.Error(), "IAMCreateRootUserPassword cannot call iam:DeleteLoginProfile") {
		t.Errorf("err = %v", o.err)
	}
}

func TestEntityTemporarilyUnmodifiableRetried(t *testing.T) {
	e := newEnv(t, nil, awssim.Options{})
	_, doc := e.plan(t, Selection{Accounts: []string{exProd}})
	e.faults.Unmodifiable(exProd, "DeleteLoginProfile", 2)
	out := e.apply(t, doc, testOpts())
	if r := out.Results[0]; r.Status != StatusDone {
		t.Fatalf("result = %+v", r)
	}
	if n := e.srv.Counts()["iam:DeleteLoginProfile"]; n != 3 {
		t.Errorf("DeleteLoginProfile calls = %d, want 3 (two refusals, one success)", n)
	}
	steps, _ := e.j.Steps(t.Context(), out.RunID)
	for _, st := range steps {
		if st.Step == "DeleteLoginProfile:root" && (st.Attempts != 3 || st.Result != resultOK) {
			t.Errorf("journal step = %+v, want 3 attempts", st)
		}
	}

	// Past the attempts allowed, the account fails and says why.
	e2 := newEnv(t, nil, awssim.Options{})
	_, doc = e2.plan(t, Selection{Accounts: []string{exInvited}})
	e2.faults.Unmodifiable(exInvited, "DeleteLoginProfile", 100)
	opts := testOpts()
	opts.UnmodifiableAttempts = 3
	out = e2.apply(t, doc, opts)
	if r := out.Results[0]; r.Status != StatusFailed || !strings.Contains(r.Error, "EntityTemporarilyUnmodifiable after 3 attempts") {
		t.Errorf("result = %+v", r)
	}
}

// TestVerifyCatchesSurvivor: a deletion IAM acknowledged but did not do
// fails the account loudly, and a resume tries it again.
func TestVerifyCatchesSurvivor(t *testing.T) {
	e := newEnv(t, nil, awssim.Options{})
	_, doc := e.plan(t, Selection{Accounts: []string{exProd, exInvited}})
	e.faults.Sticky("AKIAEXAMPLEROOT00002")
	out := e.apply(t, doc, testOpts())
	res := results(out)
	r := res[exProd]
	if r.Status != StatusFailed || !strings.Contains(r.Error, "VERIFICATION FAILED") || !strings.Contains(r.Error, "access key AKIAEXAMPLEROOT00002") {
		t.Errorf("prod = %+v", r)
	}
	if res[exInvited].Status != StatusDone {
		t.Errorf("one account's failure stopped another: %+v", res[exInvited])
	}
	if out.Status != store.RunIncomplete {
		t.Errorf("run status = %s", out.Status)
	}
	steps, _ := e.j.Steps(t.Context(), out.RunID)
	var survived, verifyFailed bool
	for _, st := range steps {
		survived = survived || (st.Step == "DeleteAccessKey:AKIAEXAMPLEROOT00002" && st.Result == resultSurvived)
		verifyFailed = verifyFailed || (st.Account == exProd && st.Step == keyVerify && st.Result == resultFailed)
	}
	if !survived || !verifyFailed {
		t.Errorf("journal lacks the survivor (%v) or the failed verification (%v)", survived, verifyFailed)
	}
	// The resume asks for the survivor's deletion again, and only that.
	before := e.srv.Counts()
	again, err := Resume(t.Context(), e.cfg, out.RunID, e.j, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	after := e.srv.Counts()
	if n := after["iam:DeleteAccessKey"] - before["iam:DeleteAccessKey"]; n != 1 {
		t.Errorf("resume DeleteAccessKey calls = %d, want 1", n)
	}
	if n := after["iam:DeleteLoginProfile"] - before["iam:DeleteLoginProfile"]; n != 0 {
		t.Errorf("resume DeleteLoginProfile calls = %d, want 0", n)
	}
	if results(again)[exProd].Status != StatusFailed {
		t.Errorf("the key is still there: the account must still fail")
	}
}

// detachBlockingSCPs leaves every account of a generated organization
// reachable by root sessions.
func detachBlockingSCPs(sc *awssim.Scenario) {
	for i := range sc.Policies {
		if denies, exempts, err := org.AnalyzeSCP(sc.Policies[i].Content); err == nil && denies && !exempts {
			sc.Policies[i].Targets = nil
		}
	}
}

// doneRows counts, per account and step, the rows that did the step.
func doneRows(t *testing.T, j *store.Store, runID string) map[[2]string]int {
	t.Helper()
	steps, err := j.Steps(t.Context(), runID)
	if err != nil {
		t.Fatal(err)
	}
	m := map[[2]string]int{}
	for _, st := range steps {
		if st.Result == resultOK {
			m[[2]string{st.Account, st.Step}]++
		}
	}
	return m
}

// notDone counts, per operation, the plan's steps that the journal does
// not show done.
func notDone(t *testing.T, j *store.Store, runID string, p *Plan) map[string]int64 {
	t.Helper()
	steps, err := j.Steps(t.Context(), runID)
	if err != nil {
		t.Fatal(err)
	}
	last := map[[2]string]string{}
	for _, st := range steps {
		last[[2]string{st.Account, st.Step}] = st.Result
	}
	m := map[string]int64{}
	for _, a := range p.Accounts {
		for _, s := range a.Steps {
			if r := last[[2]string{a.Account, s.Key}]; r != resultOK && r != resultAlready && r != resultKept {
				m["iam:"+string(s.Op)]++
			}
		}
	}
	return m
}

// TestResumeAfterFaults: throttled root sessions and an IAM outage that
// outlast the retries leave accounts failed mid-way; re-applying the plan
// resumes the run and finishes it without repeating a step that was done.
func TestResumeAfterFaults(t *testing.T) {
	sc := awssim.GenerateScenario(24, 5)
	detachBlockingSCPs(sc)
	e := newEnv(t, sc, awssim.Options{RateLimits: map[string]float64{"sts:AssumeRoot": 20}, Seed: 3})
	p, doc := e.plan(t, Selection{All: true})
	tally := p.Tally()
	planned := map[Op]int64{}
	for _, a := range p.Accounts {
		for _, s := range a.Steps {
			planned[s.Op]++
		}
	}
	if tally[ActionDelete] < 10 || planned[OpDeleteAccessKey] == 0 || planned[OpDeleteSigningCertificate] == 0 {
		t.Fatalf("scenario too small: %v %v", tally, planned)
	}

	e.faults.Outage("DeleteSigningCertificate", true)
	opts := testOpts()
	opts.MaxAttempts, opts.MaxBackoff = 2, 5*time.Millisecond // throttles outlast the retries
	before := e.srv.Counts()
	first, err := Apply(t.Context(), e.cfg, doc, e.j, opts)
	if err != nil {
		t.Fatal(err)
	}
	failed := first.Tally()[StatusFailed]
	if first.Status != store.RunIncomplete || failed == 0 {
		t.Fatalf("first run: status %s, %v", first.Status, first.Tally())
	}
	mid := e.srv.Counts()
	throttledOut := 0
	for _, r := range first.Results {
		if strings.Contains(r.Error, "Throttling") {
			throttledOut++
		}
	}
	t.Logf("first run: %v; %d accounts throttled out; AssumeRoot calls %d", first.Tally(), throttledOut, mid["sts:AssumeRoot"]-before["sts:AssumeRoot"])
	left := notDone(t, e.j, first.RunID, p)
	if left["iam:DeleteSigningCertificate"] != planned[OpDeleteSigningCertificate] {
		t.Errorf("certificates left = %d, want all %d", left["iam:DeleteSigningCertificate"], planned[OpDeleteSigningCertificate])
	}

	// The outage ends; re-applying the same plan file finds the run.
	e.faults.Outage("DeleteSigningCertificate", false)
	// Paced below the limit, with retries that wait long enough.
	opts.MaxAttempts, opts.MaxBackoff, opts.AssumeRootRate = 10, 150*time.Millisecond, 15
	second, err := Apply(t.Context(), e.cfg, doc, e.j, opts)
	if err != nil {
		t.Fatal(err)
	}
	if second.RunID != first.RunID || !second.Resumed || second.Status != store.RunDone {
		t.Fatalf("second: %v", second.Tally())
	}
	end := e.srv.Counts()
	// Exactly the steps not done before were asked for, once each.
	for _, op := range []Op{OpDeleteLoginProfile, OpDeleteAccessKey, OpDeleteSigningCertificate, OpDeactivateMFADevice, OpDeleteVirtualMFADevice} {
		k := "iam:" + string(op)
		if n := end[k] - mid[k]; n != left[k] {
			t.Errorf("resume: %d %s calls, want %d (the steps not done)", n, op, left[k])
		}
	}
	// Only the failed accounts were entered again (throttled calls count too).
	if n := end["sts:AssumeRoot"] - mid["sts:AssumeRoot"]; n < int64(failed) {
		t.Errorf("resume AssumeRoot calls = %d for %d failed accounts", n, failed)
	}
	for k, n := range doneRows(t, e.j, first.RunID) {
		if n != 1 && k[1] != keyAssumeRoot {
			t.Errorf("%v done %d times", k, n)
		}
	}
	run, _ := e.j.Run(t.Context(), first.RunID)
	if run.Resumes != 1 || run.Status != store.RunDone || run.FinishedAt.IsZero() {
		t.Errorf("run = %+v", run)
	}
	steps, _ := e.j.Steps(t.Context(), first.RunID)
	if i := slices.IndexFunc(steps, func(st store.JournalStep) bool { return st.Step == "resume" }); i < 0 ||
		steps[i].Target != "arn:aws:iam::"+sc.Organization.ManagementAccount+":user/awssim-admin" || steps[i].RequestID == "" {
		t.Errorf("the journal does not say who resumed the run")
	}
	if _, err := Resume(t.Context(), e.cfg, first.RunID, e.j, testOpts()); !errors.Is(err, ErrRunFinished) {
		t.Errorf("resuming a done run: %v", err)
	}
}

// TestResumeAfterInterrupt: a run cancelled (Ctrl-C) part way resumes to
// the end, and the organization ends clean.
func TestResumeAfterInterrupt(t *testing.T) {
	sc := awssim.GenerateScenario(30, 8)
	detachBlockingSCPs(sc)
	e := newEnv(t, sc, awssim.Options{Latency: 2 * time.Millisecond})
	p, doc := e.plan(t, Selection{All: true})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	opts := testOpts()
	opts.Workers = 2
	var n atomic.Int64
	opts.Progress = func(done, total int) {
		if n.Add(1) == 4 {
			cancel()
		}
	}
	first, err := Apply(ctx, e.cfg, doc, e.j, opts)
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != store.RunInterrupted || first.Tally()[StatusInterrupted] == 0 {
		t.Fatalf("first: %s %v", first.Status, first.Tally())
	}
	second, err := Resume(t.Context(), e.cfg, first.RunID, e.j, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	if second.Status != store.RunDone {
		t.Fatalf("second: %v %+v", second.Tally(), second.Results)
	}
	for k, n := range doneRows(t, e.j, first.RunID) {
		if n != 1 && k[1] != keyAssumeRoot {
			t.Errorf("%v done %d times", k, n)
		}
	}
	accts := e.audited(t)
	for _, a := range p.Accounts {
		if a.Action != ActionDelete {
			continue
		}
		if r := accts[a.Account].Root; r == nil || r.HasCredentials() || len(r.MFADevices) > 0 {
			t.Errorf("%s after resume: %+v", a.Account, r)
		}
	}
}

// TestApplyUnderThrottlingAndFaults: the SDK's retries ride out 5xx
// answers and throttling across a generated organization.
func TestApplyUnderThrottlingAndFaults(t *testing.T) {
	sc := awssim.GenerateScenario(40, 2)
	detachBlockingSCPs(sc)
	e := newEnv(t, sc, awssim.Options{
		RateLimits: map[string]float64{"sts:AssumeRoot": 60, "iam:DeleteLoginProfile": 30},
		FaultRate:  0.05, Seed: 11,
	})
	_, doc := e.plan(t, Selection{All: true})
	opts := testOpts()
	opts.Workers = 16
	out := e.apply(t, doc, opts)
	if out.Status != store.RunDone {
		for _, r := range out.Results {
			if r.Error != "" {
				t.Errorf("%s: %s", r.Account, r.Error)
			}
		}
	}
}

// TestRefusedByCheck: a root key used recently refuses the account
// unless --force names the check.
func TestRefusedByCheck(t *testing.T) {
	e := newEnv(t, nil, awssim.Options{})
	opts := testOpts()
	opts.Now = func() time.Time { return time.Date(2025, 11, 29, 0, 0, 0, 0, time.UTC) } // prod's key used 88 days before
	p, err := PlanDeleteCredentials(t.Context(), e.cfg, Selection{Accounts: []string{exProd, exInvited}}, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	a := planAccounts(p)
	if pr := a[exProd]; pr.Action != ActionRefuse || len(pr.Steps) != 0 || !strings.Contains(pr.Reason, "AKIAEXAMPLEROOT00001 used 2025-09-01 (88 days ago) with s3") {
		t.Errorf("prod = %+v", pr)
	}
	if a[exInvited].Action != ActionDelete {
		t.Errorf("invited = %+v", a[exInvited])
	}
	doc, _ := p.Encode()
	out := e.apply(t, doc, opts) // the plan's own clock: a year later it would have expired
	if r := results(out)[exProd]; r.Status != StatusRefused || e.srv.Counts()["iam:DeleteAccessKey"] != 0 {
		t.Errorf("refused account touched: %+v", r)
	}

	p, err = PlanDeleteCredentials(t.Context(), e.cfg, Selection{Accounts: []string{exProd}}, []string{CheckAccessKeyInUse}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if pr := p.Accounts[0]; pr.Action != ActionDelete || len(pr.Checks) != 1 || !pr.Checks[0].Forced || p.Force[0] != CheckAccessKeyInUse {
		t.Errorf("forced prod = %+v", pr)
	}
}

// TestAllowRecoveryAndDrift: recovery gives a root user without a
// password a login profile; a deletion plan made before that refuses to
// touch the account (the password is not in the plan).
func TestAllowRecoveryAndDrift(t *testing.T) {
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sc.Accounts {
		if sc.Accounts[i].ID == exInvited { // a key, no password
			sc.Accounts[i].Root = awssim.Root{AccessKeys: []awssim.AccessKey{{ID: "AKIAEXAMPLEROOT00009", Status: "Inactive", Created: testNow.AddDate(-1, 0, 0)}}}
		}
	}
	e := newEnv(t, sc, awssim.Options{})
	_, delDoc := e.plan(t, Selection{Accounts: []string{exInvited}})

	rp, err := PlanAllowRecovery(t.Context(), e.cfg, Selection{Accounts: []string{exInvited, exProd}}, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	a := planAccounts(rp)
	if a[exInvited].Action != ActionAllowRecovery || a[exProd].Action != ActionNone || !strings.Contains(rp.Warnings[0], "Forgot password") {
		t.Fatalf("recovery plan = %+v", rp)
	}
	doc, _ := rp.Encode()
	out := e.apply(t, doc, testOpts())
	if r := results(out)[exInvited]; r.Status != StatusDone || !slices.Equal(r.Changes, []string{"CreateLoginProfile"}) {
		t.Errorf("recovery = %+v", r)
	}
	if n := e.srv.Counts()["iam:CreateLoginProfile"]; n != 1 {
		t.Errorf("CreateLoginProfile calls = %d", n)
	}
	if r := e.audited(t)[exInvited].Root; r == nil || !r.Password {
		t.Errorf("invited root after recovery = %+v", r)
	}

	// The deletion plan predates the password: nothing is deleted.
	del := e.apply(t, delDoc, testOpts())
	r := results(del)[exInvited]
	if r.Status != StatusFailed || !strings.Contains(r.Error, "a password (login profile), which the plan does not list") {
		t.Errorf("drifted account = %+v", r)
	}
	if n := e.srv.Counts()["iam:DeleteAccessKey"]; n != 0 {
		t.Errorf("DeleteAccessKey called %d times on a drifted account", n)
	}
}

func TestDecodePlanRejects(t *testing.T) {
	good := &Plan{Version: PlanVersion, Kind: KindDeleteCredentials, ManagementAccount: exMgmt, Accounts: []AccountPlan{
		{Account: exProd, Action: ActionDelete, Steps: []Step{newStep(OpDeleteAccessKey, "AKIA1")}},
	}}
	doc, _ := good.Encode()
	if _, err := DecodePlan(doc); err != nil {
		t.Fatalf("good plan: %v", err)
	}
	tests := []struct {
		name string
		edit func(p *Plan)
		want string
	}{
		{"management account", func(p *Plan) { p.Accounts[0].Account = exMgmt }, "never a target"},
		{"wrong kind of step", func(p *Plan) { p.Accounts[0].Steps[0] = newStep(OpCreateLoginProfile, "root") }, "does not belong"},
		{"bad key", func(p *Plan) { p.Accounts[0].Steps[0].Key = "x" }, "key"},
		{"duplicate step", func(p *Plan) { p.Accounts[0].Steps = append(p.Accounts[0].Steps, p.Accounts[0].Steps[0]) }, "twice"},
		{"version", func(p *Plan) { p.Version = 9 }, "version 9"},
		{"steps on a skipped account", func(p *Plan) { p.Accounts[0].Action = ActionSkip }, "with steps"},
		{"bad account", func(p *Plan) { p.Accounts[0].Account = "12" }, "12-digit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(good)
			var p Plan
			_ = json.Unmarshal(b, &p)
			tt.edit(&p)
			doc, _ := p.Encode()
			_, err := DecodePlan(doc)
			if !errors.Is(err, ErrInvalidPlan) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := DecodePlan([]byte(`{"version":1,"kind":"delete-credentials","accounts":[],"extra":1}`)); !errors.Is(err, ErrInvalidPlan) {
		t.Errorf("unknown field: %v", err)
	}
}

// TestApplyRefusesAnotherOrganization: a plan is applied only with the
// credentials of the organization it was made for.
func TestApplyRefusesAnotherOrganization(t *testing.T) {
	e := newEnv(t, nil, awssim.Options{})
	p, _ := e.plan(t, Selection{Accounts: []string{exInvited}})
	p.Organization = "o-someotherorg"
	doc, _ := p.Encode()
	if _, err := Apply(t.Context(), e.cfg, doc, e.j, testOpts()); !errors.Is(err, ErrWrongOrganization) {
		t.Errorf("err = %v", err)
	}
	if n := e.srv.Counts()["iam:DeleteLoginProfile"]; n != 0 {
		t.Errorf("DeleteLoginProfile called %d times", n)
	}
}

// Compile-time check: the IAM client type used by checks is the SDK's.
var _ = CheckInput{IAM: (*iam.Client)(nil)}
