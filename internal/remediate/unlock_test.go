package remediate

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/store"
)

func lockedBucketPolicy(bucket string) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"DenyAll","Effect":"Deny","Principal":"*","Action":"s3:*",` +
		`"Resource":["arn:aws:s3:::` + bucket + `","arn:aws:s3:::` + bucket + `/*"]}]}`
}

func tlsOnlyPolicy(bucket string) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"TLSOnly","Effect":"Deny","Principal":"*","Action":"s3:*",` +
		`"Resource":["arn:aws:s3:::` + bucket + `","arn:aws:s3:::` + bucket + `/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
}

func lockedQueuePolicy(arn string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"sqs:*","Resource":"` + arn + `"}]}`
}

// unlockScenario is the example organization with buckets and queues:
// locked ones in prod (333) and prod-eu (444), one in the management
// account (never a target), and a sandbox (555) whose SCP denies root
// sessions everything.
func unlockScenario(t *testing.T) *awssim.Scenario {
	t.Helper()
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sc.Accounts {
		a := &sc.Accounts[i]
		switch a.ID {
		case exMgmt:
			a.Buckets = []awssim.S3Bucket{{Name: "mgmt-locked", Policy: lockedBucketPolicy("mgmt-locked")}}
		case exProd:
			a.Buckets = []awssim.S3Bucket{
				{Name: "prod-logs", Versioning: "Enabled", MFADelete: "Enabled"},
				{Name: "prod-locked", Region: "eu-west-1", Policy: lockedBucketPolicy("prod-locked")},
				{Name: "prod-data", Region: "eu-west-1", Policy: tlsOnlyPolicy("prod-data")},
			}
			a.Queues = []awssim.SQSQueue{
				{Name: "orders", Policy: lockedQueuePolicy("arn:aws:sqs:us-east-1:333333333333:orders")},
				{Name: "events"},
				{Name: "audit", Region: "eu-west-1", Policy: lockedQueuePolicy("arn:aws:sqs:eu-west-1:333333333333:audit")},
			}
		case exProdEU:
			a.Buckets = []awssim.S3Bucket{
				{Name: "eu-archive", Region: "eu-central-1", Versioning: "Enabled", MFADelete: "Disabled"},
				{Name: "eu-locked", Region: "eu-central-1", Policy: `{"Statement":{"Effect":"Deny","Principal":{"AWS":"*"},"NotAction":"s3:GetObject","Resource":"arn:aws:s3:::eu-locked"}}`},
			}
		case exSandbox:
			a.Buckets = []awssim.S3Bucket{{Name: "sandbox-tmp", Policy: lockedBucketPolicy("sandbox-tmp")}}
		case exInvited:
			a.Buckets = []awssim.S3Bucket{{Name: "invited-data"}}
		}
	}
	return sc
}

func unlockOpts(regions ...string) UnlockOptions {
	return UnlockOptions{Options: testOpts(), Regions: regions, S3PathStyle: true}
}

// roleS3 is an S3 client in a role session (OrganizationAccountAccessRole).
func (e *env) roleS3(t *testing.T, account, region string) *s3.Client {
	t.Helper()
	out, err := sts.NewFromConfig(e.cfg).AssumeRole(t.Context(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + account + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("test"),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	return s3.NewFromConfig(e.cfg, func(o *s3.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
		o.Region, o.UsePathStyle = region, true
	})
}

func TestFindLocked(t *testing.T) {
	e := newEnv(t, unlockScenario(t), awssim.Options{})
	res, err := FindLocked(t.Context(), e.cfg, Selection{All: true}, unlockOpts("us-east-1", "eu-west-1", "eu-central-1"))
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ account, service, region, resource string }
	var locked, failed []row
	for _, f := range res.Found {
		r := row{f.Account, f.Service, f.Region, f.Resource}
		if f.Error != "" {
			failed = append(failed, r)
			if !strings.Contains(f.Error, "AccessDenied") || !strings.Contains(f.Error, "service control policy") {
				t.Errorf("error %+v should name the SCP", f)
			}
			continue
		}
		locked = append(locked, r)
		if f.Why == "" || f.ARN == "" || len(f.Statements) == 0 || f.Name == "" {
			t.Errorf("incomplete finding %+v", f)
		}
	}
	want := []row{
		{exProd, "s3", "eu-west-1", "prod-locked"},
		{exProd, "sqs", "eu-west-1", awssim.QueueURL("eu-west-1", exProd, "audit")},
		{exProd, "sqs", "us-east-1", awssim.QueueURL("us-east-1", exProd, "orders")},
		{exProdEU, "s3", "eu-central-1", "eu-locked"},
	}
	if !slices.Equal(locked, want) {
		t.Errorf("locked:\n got %v\nwant %v", locked, want)
	}
	// The sandbox's SCP refuses its root sessions: S3 once, SQS per region.
	if len(failed) != 4 || slices.ContainsFunc(failed, func(r row) bool { return r.account != exSandbox }) {
		t.Errorf("errors: %v", failed)
	}
	if n, errs := res.Tally(); n != 4 || errs != 4 || res.Accounts != 5 || len(res.Skipped) != 3 || res.Buckets != 6 || res.Queues != 3 {
		t.Errorf("tally %d/%d, %d accounts, %d skipped, %d buckets, %d queues", n, errs, res.Accounts, len(res.Skipped), res.Buckets, res.Queues)
	}
	if res.Skipped[0].Account != exMgmt {
		t.Errorf("skipped: %+v", res.Skipped)
	}
	// Finding only reads.
	for op, n := range e.srv.Counts() {
		if strings.Contains(op, "Put") || strings.Contains(op, "Delete") || strings.Contains(op, "Set") {
			t.Errorf("find called %s %d times", op, n)
		}
	}

	// Default region (the configuration's): eu buckets and queues are not read.
	res, err = FindLocked(t.Context(), e.cfg, Selection{Accounts: []string{exProd}}, unlockOpts())
	if err != nil || len(res.Found) != 1 || res.Found[0].Resource != awssim.QueueURL("us-east-1", exProd, "orders") || res.Buckets != 1 {
		t.Errorf("default region: %v %+v", err, res)
	}
	// The management account is never a target.
	_, err = FindLocked(t.Context(), e.cfg, Selection{Accounts: []string{exMgmt}}, unlockOpts())
	if !errors.Is(err, ErrManagementAccount) {
		t.Errorf("management account: %v", err)
	}
}

// journalOf returns the only run of the journal and its steps by key.
func journalOf(t *testing.T, j *store.Store, runID string) (*store.JournalRun, map[string]store.JournalStep) {
	t.Helper()
	run, err := j.Run(t.Context(), runID)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := j.Steps(t.Context(), runID)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]store.JournalStep{}
	var keys []string
	for _, s := range steps {
		m[s.Step] = s
		keys = append(keys, s.Step)
	}
	if len(steps) > 0 && !slices.Equal(keys, []string{"assume-root", "save-policy", "change-policy", "verify"}[:len(keys)]) {
		t.Errorf("steps %v", keys)
	}
	return run, m
}

func TestUnlockS3(t *testing.T) {
	e := newEnv(t, unlockScenario(t), awssim.Options{})
	ctx := t.Context()
	target := UnlockTarget{Service: ServiceS3, Account: exProd, Bucket: "prod-locked"}

	role := e.roleS3(t, exProd, "eu-west-1")
	if _, err := role.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("prod-locked")}); errorCode(err) != "AccessDenied" {
		t.Fatalf("a role reads the locked bucket: %v", err)
	}

	p, err := PlanUnlock(ctx, e.cfg, target, unlockOpts())
	if err != nil {
		t.Fatal(err)
	}
	if p.Action != UnlockDelete || !p.Lock.Locked || p.Policy != lockedBucketPolicy("prod-locked") || p.Region != "eu-west-1" ||
		p.Name != "prod" || p.Organization != "o-exampleorg1" || !strings.Contains(p.Reason, "only the root user") {
		t.Fatalf("plan %+v", p)
	}
	if c := e.srv.Counts(); c["s3:DeleteBucketPolicy"] != 0 {
		t.Fatal("planning changed something")
	}
	out, err := ApplyUnlock(ctx, e.cfg, p, e.j, unlockOpts())
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != StatusDone || !slices.Equal(out.Changes, []string{"s3:DeleteBucketPolicy"}) || out.Error != "" {
		t.Fatalf("outcome %+v", out)
	}
	// The journal keeps the old policy in full.
	run, steps := journalOf(t, e.j, out.RunID)
	if run.Kind != "unlock-s3" || run.Status != store.RunDone || run.CallerARN != "arn:aws:iam::111111111111:user/awssim-admin" {
		t.Errorf("run %+v", run)
	}
	var saved struct{ Policy, Resource, Region string }
	if err := json.Unmarshal([]byte(steps["save-policy"].Detail), &saved); err != nil || saved.Policy != lockedBucketPolicy("prod-locked") ||
		saved.Resource != "prod-locked" || saved.Region != "eu-west-1" {
		t.Errorf("saved policy: %v %+v", err, saved)
	}
	for key, action := range map[string]string{"assume-root": "sts:AssumeRoot", "save-policy": "s3:GetBucketPolicy",
		"change-policy": "s3:DeleteBucketPolicy", "verify": "s3:GetBucketPolicy"} {
		if s := steps[key]; s.Action != action || s.Result != "ok" || s.RequestID == "" || s.Account != exProd {
			t.Errorf("step %s: %+v", key, s)
		}
	}
	var plan UnlockPlan
	if err := json.Unmarshal(run.Plan, &plan); err != nil || plan.Policy != p.Policy {
		t.Errorf("plan in the journal: %v", err)
	}
	// The role is back in; nothing is left to unlock.
	if _, err := role.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("prod-locked")}); err != nil {
		t.Errorf("role after unlock: %v", err)
	}
	if p, err := PlanUnlock(ctx, e.cfg, target, unlockOpts()); err != nil || p.Action != UnlockNone || !strings.Contains(p.Reason, "no policy") {
		t.Errorf("second plan: %v %+v", err, p)
	}

	// Replace instead of delete: PutBucketPolicy, the new policy in the journal.
	eu := UnlockTarget{Service: ServiceS3, Account: exProdEU, Bucket: "eu-locked", Replacement: tlsOnlyPolicy("eu-locked")}
	p, err = PlanUnlock(ctx, e.cfg, eu, unlockOpts())
	if err != nil || p.Action != UnlockReplace {
		t.Fatalf("replace plan: %v %+v", err, p)
	}
	out, err = ApplyUnlock(ctx, e.cfg, p, e.j, unlockOpts())
	if err != nil || out.Status != StatusDone || !slices.Equal(out.Changes, []string{"s3:PutBucketPolicy"}) {
		t.Fatalf("replace: %v %+v", err, out)
	}
	_, steps = journalOf(t, e.j, out.RunID)
	if !strings.Contains(steps["change-policy"].Detail, "TLSOnly") || !strings.Contains(steps["save-policy"].Detail, "NotAction") {
		t.Errorf("replace journal: %+v", steps)
	}
	got, err := e.roleS3(t, exProdEU, "eu-central-1").GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("eu-locked")})
	if err != nil || aws.ToString(got.Policy) != tlsOnlyPolicy("eu-locked") {
		t.Errorf("after replace: %v", err)
	}

	// A policy that locks no one out is left alone unless forced.
	data := UnlockTarget{Service: ServiceS3, Account: exProd, Bucket: "prod-data"}
	if p, err := PlanUnlock(ctx, e.cfg, data, unlockOpts()); err != nil || p.Action != UnlockNone || !strings.Contains(p.Reason, "--force") {
		t.Errorf("unlocked policy: %v %+v", err, p)
	}
	data.Force = true
	if p, err := PlanUnlock(ctx, e.cfg, data, unlockOpts()); err != nil || p.Action != UnlockDelete || !strings.Contains(p.Reason, "forced") {
		t.Errorf("forced: %v %+v", err, p)
	}
}

func TestUnlockRefusals(t *testing.T) {
	e := newEnv(t, unlockScenario(t), awssim.Options{})
	ctx := t.Context()
	for _, tt := range []struct {
		name string
		t    UnlockTarget
		want string
	}{
		{"management account", UnlockTarget{Service: ServiceS3, Account: exMgmt, Bucket: "mgmt-locked"}, "management account is never a target"},
		{"not a member", UnlockTarget{Service: ServiceS3, Account: "999999999999", Bucket: "x-1"}, "not in the organization"},
		{"suspended", UnlockTarget{Service: ServiceS3, Account: exSuspended, Bucket: "x-1"}, "SUSPENDED"},
		{"another account's bucket", UnlockTarget{Service: ServiceS3, Account: exProd, Bucket: "eu-locked"}, "not among the buckets"},
		{"a replacement that locks again", UnlockTarget{Service: ServiceS3, Account: exProd, Bucket: "prod-locked", Replacement: lockedBucketPolicy("prod-locked")}, "locks the resource too"},
		{"a replacement that is not JSON", UnlockTarget{Service: ServiceS3, Account: exProd, Bucket: "prod-locked", Replacement: "{"}, "invalid policy"},
		{"queue URL of another account", UnlockTarget{Service: ServiceSQS, Account: exProd, QueueURL: awssim.QueueURL("us-east-1", exProdEU, "q")}, "belongs to account 444444444444"},
		{"no such queue", UnlockTarget{Service: ServiceSQS, Account: exProd, QueueURL: awssim.QueueURL("us-east-1", exProd, "nope")}, "no such queue"},
		{"not a queue URL", UnlockTarget{Service: ServiceSQS, Account: exProd, QueueURL: "orders"}, "not a queue URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PlanUnlock(ctx, e.cfg, tt.t, unlockOpts())
			var te *TargetError
			if !errors.As(err, &te) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a TargetError with %q", err, tt.want)
			}
		})
	}
	// A plan naming the management account is not applied either.
	if _, err := ApplyUnlock(ctx, e.cfg, &UnlockPlan{Action: UnlockDelete, Account: exMgmt, ManagementAccount: exMgmt}, e.j, unlockOpts()); !errors.Is(err, ErrManagementAccount) {
		t.Errorf("apply to the management account: %v", err)
	}
	if c := e.srv.Counts(); c["s3:DeleteBucketPolicy"]+c["s3:PutBucketPolicy"] != 0 {
		t.Errorf("a refusal changed something: %v", c)
	}

	// The policy changed between showing and applying: nothing is changed.
	p, err := PlanUnlock(ctx, e.cfg, UnlockTarget{Service: ServiceS3, Account: exProd, Bucket: "prod-locked"}, unlockOpts())
	if err != nil {
		t.Fatal(err)
	}
	p.PolicyDigest = policyDigest("something else")
	out, err := ApplyUnlock(ctx, e.cfg, p, e.j, unlockOpts())
	if err != nil || out.Status != StatusFailed || !strings.Contains(out.Error, "changed since it was shown") || len(out.Changes) != 0 {
		t.Fatalf("changed policy: %v %+v", err, out)
	}
	run, steps := journalOf(t, e.j, out.RunID)
	if run.Status != store.RunIncomplete || steps["save-policy"].Result != "failed" || len(steps) != 2 {
		t.Errorf("journal of a refused change: %+v %+v", run, steps)
	}
	if c := e.srv.Counts(); c["s3:DeleteBucketPolicy"] != 0 {
		t.Error("deleted anyway")
	}
}

func TestUnlockSQS(t *testing.T) {
	e := newEnv(t, unlockScenario(t), awssim.Options{})
	ctx := t.Context()
	url := awssim.QueueURL("eu-west-1", exProd, "audit")
	p, err := PlanUnlock(ctx, e.cfg, UnlockTarget{Service: ServiceSQS, Account: exProd, QueueURL: url}, unlockOpts())
	if err != nil {
		t.Fatal(err)
	}
	if p.Action != UnlockDelete || p.Region != "eu-west-1" || p.ARN != "arn:aws:sqs:eu-west-1:333333333333:audit" || !p.Lock.Locked {
		t.Fatalf("plan %+v", p)
	}
	out, err := ApplyUnlock(ctx, e.cfg, p, e.j, unlockOpts())
	if err != nil || out.Status != StatusDone || !slices.Equal(out.Changes, []string{"sqs:SetQueueAttributes"}) {
		t.Fatalf("apply: %v %+v", err, out)
	}
	run, steps := journalOf(t, e.j, out.RunID)
	if run.Kind != "unlock-sqs" || !strings.Contains(steps["save-policy"].Detail, `\"sqs:*\"`) || steps["verify"].Result != "ok" {
		t.Errorf("journal: %+v %+v", run, steps)
	}
	if p, err := PlanUnlock(ctx, e.cfg, UnlockTarget{Service: ServiceSQS, Account: exProd, QueueURL: url}, unlockOpts()); err != nil || p.Action != UnlockNone {
		t.Errorf("after: %v %+v", err, p)
	}
}

// TestS3MFADeleteCheck: without a role the check says no root session can
// read MFA Delete; with one it refuses accounts with MFA Delete enabled
// or unreadable, and --force overrides.
func TestS3MFADeleteCheck(t *testing.T) {
	sc := unlockScenario(t)
	for i := range sc.Accounts {
		if sc.Accounts[i].ID == exProdEU {
			sc.Accounts[i].Buckets = sc.Accounts[i].Buckets[:1] // eu-archive: versioned, MFA Delete disabled
		}
	}
	e := newEnv(t, sc, awssim.Options{})
	ctx := t.Context()
	sel := Selection{Accounts: []string{exProd, exProdEU, exInvited}}

	p, err := PlanDeleteCredentials(ctx, e.cfg, sel, nil, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(p.Warnings, func(w string) bool {
		return strings.Contains(w, "not checked: an S3 bucket with MFA Delete") && strings.Contains(w, "not checkable with root sessions") &&
			strings.Contains(w, "s3:GetBucketVersioning")
	}) {
		t.Errorf("warnings %q", p.Warnings)
	}
	if a := planAccounts(p)[exProd]; a.Action != ActionDelete {
		t.Errorf("without a role prod is %s", a.Action)
	}
	if c := e.srv.Counts(); c["s3:GetBucketVersioning"] != 0 || c["s3:ListBuckets"] != 0 {
		t.Errorf("read S3 without a role: %v", c)
	}

	opts := testOpts()
	opts.Checks = DeletionChecks(e.cfg, "OrganizationAccountAccessRole", true, opts)
	p, err = PlanDeleteCredentials(ctx, e.cfg, sel, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(p.Warnings, func(w string) bool { return strings.Contains(w, "MFA Delete") && strings.Contains(w, "not checked") }) {
		t.Errorf("a readable check is listed as not checked: %q", p.Warnings)
	}
	accts := planAccounts(p)
	check := func(a AccountPlan) CheckResult {
		for _, c := range a.Checks {
			if c.ID == CheckS3MFADelete {
				return c
			}
		}
		return CheckResult{}
	}
	prod := accts[exProd]
	if prod.Action != ActionRefuse || !strings.Contains(prod.Reason, "MFA Delete enabled on prod-logs (us-east-1)") ||
		!strings.Contains(prod.Reason, "unknown for prod-locked (eu-west-1): AccessDenied") {
		t.Errorf("prod: %s %q", prod.Action, prod.Reason)
	}
	if c := check(accts[exProdEU]); accts[exProdEU].Action != ActionDelete || c.Outcome != CheckPass || c.Detail != "1 buckets, none with MFA Delete (read with the role OrganizationAccountAccessRole)" {
		t.Errorf("prod-eu: %s %+v", accts[exProdEU].Action, c)
	}
	if c := check(accts[exInvited]); accts[exInvited].Action != ActionRefuse || !strings.Contains(c.Detail, "assume role") {
		t.Errorf("invited (no such role): %s %+v", accts[exInvited].Action, c)
	}

	p, err = PlanDeleteCredentials(ctx, e.cfg, sel, []string{CheckS3MFADelete}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if a := planAccounts(p)[exProd]; a.Action != ActionDelete || !check(a).Forced {
		t.Errorf("forced: %s %+v", a.Action, a.Checks)
	}
}
