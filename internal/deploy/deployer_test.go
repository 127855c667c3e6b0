package deploy

import (
	"bytes"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rootguard/rootguard/internal/awssim"
)

const (
	mgmtAccount  = "111111111111"
	auditAccount = "222222222222" // Security OU
	prodAccount  = "333333333333" // Workloads/Prod
	euAccount    = "444444444444" // Workloads/Prod/EU
)

// simDeployer runs a Deployer against awssim through the SDK's
// CloudFormation client: the management account's admin user for the
// management stacks and the StackSet, a role session in the Audit account
// for the Audit stacks. mods change the scenario first; role returns the
// clients of a role session in another account.
func simDeployer(t *testing.T, c Config, mods ...func(*awssim.Scenario)) (d *Deployer, srv *awssim.Server, progress *bytes.Buffer, role func(account string) func(string) API) {
	t.Helper()
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc.Organization.TrustedAccess = append(sc.Organization.TrustedAccess, "member.org.stacksets.cloudformation.amazonaws.com")
	for _, m := range mods {
		m(sc)
	}
	srv = awssim.New(sc, awssim.Options{PageSize: 2})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	base := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, ""),
		BaseEndpoint: aws.String(hs.URL),
	}
	client := func(cfg aws.Config) func(string) API {
		return func(region string) API {
			return cfn.NewFromConfig(cfg, func(o *cfn.Options) { o.Region = region })
		}
	}
	role = func(account string) func(string) API {
		t.Helper()
		out, err := sts.NewFromConfig(base).AssumeRole(t.Context(), &sts.AssumeRoleInput{
			RoleArn:         aws.String("arn:aws:iam::" + account + ":role/OrganizationAccountAccessRole"),
			RoleSessionName: aws.String("rootguard-deploy"),
		})
		if err != nil {
			t.Fatal(err)
		}
		cfg := base.Copy()
		cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(out.Credentials.AccessKeyId),
			aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
		return client(cfg)
	}
	progress = &bytes.Buffer{}
	return &Deployer{Config: c, Audit: role(auditAccount), Management: client(base), Progress: progress, Poll: time.Millisecond}, srv, progress, role
}

func testConfig() Config {
	return Config{
		OrganizationID: "o-exampleorg1",
		AuditAccountID: auditAccount,
		HomeRegion:     "eu-west-1",
		Regions:        []string{"eu-west-1"},
		OUs:            []string{"ou-ex12-workload", "ou-ex12-security"},
		CodeBucket:     "rootguard-artifacts",
		CodeKey:        "lambda/rootguard.zip",
	}
}

func summary(steps []Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Name+"@"+s.Region+":"+string(s.Action))
	}
	return out
}

func TestPlanApplyAgainstSimulator(t *testing.T) {
	d, srv, progress, _ := simDeployer(t, testConfig())
	ctx := t.Context()
	srv.FailStackInstances(euAccount, "eu-west-1", "Resource handler returned message: \"Access denied for operation 'CreateRole'\"")

	// Plan changes nothing.
	steps, err := d.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"rootguard-audit@eu-west-1:create", "rootguard-audit-region@us-east-1:create",
		"rootguard-management@us-east-1:create", "rootguard-management@eu-west-1:create", "rootguard-member@eu-west-1:create"}
	if got := summary(steps); !slices.Equal(got, want) {
		t.Fatalf("plan = %q, want %q", got, want)
	}
	if !slices.Contains(steps[0].Changes, "Add Function (AWS::Lambda::Function)") {
		t.Errorf("plan of the audit stack: %q", steps[0].Changes)
	}
	counts := srv.Counts()
	for _, op := range []string{"CreateChangeSet", "ExecuteChangeSet", "CreateStackSet", "CreateStackInstances"} {
		if counts["cloudformation:"+op] != 0 {
			t.Errorf("plan called %s", op)
		}
	}

	// Apply creates everything; the failing instance is named.
	steps, err = d.Apply(ctx)
	if err == nil || !strings.Contains(err.Error(), "1 of 5 steps failed") {
		t.Fatalf("apply: %v", err)
	}
	if got := summary(steps); !slices.Equal(got, want) {
		t.Fatalf("apply = %q, want %q", got, want)
	}
	for _, s := range steps[:4] {
		if !s.Applied || s.Error != "" {
			t.Errorf("%s %s: %+v", s.Name, s.Region, s)
		}
	}
	ss := steps[4]
	// Workloads (Prod, EU) and Security (the Audit account): 3 accounts x 2 regions.
	if ss.Instances != 5 || len(ss.Failures) != 1 || ss.Failures[0].Account != euAccount || ss.Failures[0].Region != "eu-west-1" ||
		!strings.Contains(ss.Failures[0].Reason, "CreateRole") || ss.Failures[0].OU != "ou-ex12-workload" {
		t.Errorf("stack set step: %+v", ss)
	}
	body, ok := srv.StackTemplate(auditAccount, "eu-west-1", AuditStackName)
	audit, _ := Render(AuditTemplate)
	compact, _ := Compact(audit)
	if !ok || body != string(compact) {
		t.Errorf("the Audit stack in the Audit account does not hold the audit template")
	}
	if _, ok := srv.StackTemplate(mgmtAccount, "eu-west-1", AuditStackName); ok {
		t.Errorf("the Audit stack was created in the management account")
	}
	for _, r := range []string{"us-east-1", "eu-west-1"} {
		if _, ok := srv.StackTemplate(mgmtAccount, r, ManagementStackName); !ok {
			t.Errorf("no management stack in %s", r)
		}
	}
	inst := srv.StackSetInstances(mgmtAccount, "eu-west-1", StackSetName)
	if len(inst) != 5 || slices.ContainsFunc(inst, func(s string) bool { return strings.HasPrefix(s, mgmtAccount) }) {
		t.Errorf("instances: %q", inst)
	}
	for _, want := range []string{"change set CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "rootguard-member create instances", "RUNNING"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress)
		}
	}

	// Again: nothing to do, and "no changes" is no error.
	srv.FailStackInstances(euAccount, "eu-west-1", "")
	before := srv.Counts()
	steps, err = d.Apply(ctx)
	if err != nil {
		t.Fatalf("second apply: %v", err)
	}
	for _, s := range steps {
		if s.Action != Unchanged {
			t.Errorf("second apply: %s %s %s %q", s.Name, s.Region, s.Action, s.Changes)
		}
	}
	after := srv.Counts()
	for _, op := range []string{"ExecuteChangeSet", "UpdateStackSet", "CreateStackInstances"} {
		if after["cloudformation:"+op] != before["cloudformation:"+op] {
			t.Errorf("second apply called %s", op)
		}
	}
	if after["cloudformation:DeleteChangeSet"]-before["cloudformation:DeleteChangeSet"] != 4 {
		t.Errorf("the empty change sets were not deleted")
	}

	// A new region and language: the Audit stack is updated, new regional
	// stacks are created, the StackSet gets instances there.
	d.Config.Regions = append(d.Config.Regions, "ap-northeast-1")
	d.Config.Language = "ja"
	steps, err = d.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"rootguard-audit@eu-west-1:update", "rootguard-audit-region@us-east-1:unchanged", "rootguard-audit-region@ap-northeast-1:create",
		"rootguard-management@us-east-1:unchanged", "rootguard-management@eu-west-1:unchanged", "rootguard-management@ap-northeast-1:create",
		"rootguard-member@eu-west-1:update"}
	if got := summary(steps); !slices.Equal(got, want) {
		t.Fatalf("plan = %q, want %q", got, want)
	}
	if got := steps[6].Changes; len(got) != 1 || got[0] != "Add instances in OUs ou-ex12-workload,ou-ex12-security, regions ap-northeast-1" {
		t.Errorf("stack set changes: %q", got)
	}
	steps, err = d.Apply(ctx)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if got := summary(steps); !slices.Equal(got, want) {
		t.Fatalf("apply = %q, want %q", got, want)
	}
	if steps[6].Instances != 3 {
		t.Errorf("instances added in ap-northeast-1: %+v", steps[6])
	}
}

func TestConfigValidate(t *testing.T) {
	c := testConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, ok := range []string{"rate(1 day)", "rate(12 hours)", "cron(0 3 ? * MON *)"} {
		c.AuditSchedule = ok
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, ok := range []string{"", "off", "rate(7 days)", DefaultDigestSchedule} {
		c.DigestSchedule = ok
		if err := c.Validate(); err != nil {
			t.Errorf("digest %s: %v", ok, err)
		}
	}
	c = Config{OrganizationID: "org", AuditAccountID: "12", HomeRegion: "moon", Regions: []string{"x"}, OUs: []string{"ou-"}, Language: "fr",
		AuditSchedule: "daily", StrictOUs: []string{"Root/A,Root/B", "/Workloads/Prod", ""}, DigestSchedule: "weekly"}
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"organization id", "audit account", "home region", `region "x"`, `OU "ou-"`, "language", "code location", "audit schedule",
		`strict OU "Root/A,Root/B": want one OU path`, `strict OU "/Workloads/Prod": an OU path starts at Root (Root/Workloads/Prod)`, `strict OU "": an OU path starts at Root`, "digest schedule"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	c = testConfig()
	c.Regions = []string{"ap-northeast-1", "eu-west-1", "us-east-1"}
	if got := c.AllRegions(); !slices.Equal(got, []string{"us-east-1", "eu-west-1", "ap-northeast-1"}) {
		t.Errorf("AllRegions = %q", got)
	}
}
