package cli

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/deploy"
)

func TestDeployPrint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "templates")
	out, errOut, code := runMain(t, "deploy", "print", "--dir", dir)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, name := range deploy.TemplateNames {
		p := filepath.Join(dir, name+".json")
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := deploy.Render(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) || !json.Valid(got) {
			t.Errorf("%s differs from the rendered template", p)
		}
		if !strings.Contains(out, p+"\n") {
			t.Errorf("stdout does not name %s:\n%s", p, out)
		}
	}
	if _, errOut, code := runMain(t, "deploy", "print"); code != ExitUsage || !strings.Contains(errOut, "--dir is required") {
		t.Errorf("without --dir: exit %d\n%s", code, errOut)
	}
}

func TestDeployPlanApplyAgainstSandbox(t *testing.T) {
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc.Organization.TrustedAccess = append(sc.Organization.TrustedAccess, "member.org.stacksets.cloudformation.amazonaws.com")
	sc.Regions = []string{"ap-east-1"} // an opt-in Region, enabled
	b, err := sc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "stacksets.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	startSandbox(t, "--scenario", path)

	// 222222222222 is the Audit account and IAM's delegated administrator.
	args := []string{"--audit-account", "222222222222",
		"--audit-role-arn", "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole",
		"--iam-admin-role-arn", "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole",
		"--ou", "ou-ex12-workload", "--home-region", "eu-west-1",
		"--code-bucket", "artifacts", "--code-key", "rootguard.zip", "--poll-interval", "1ms"}
	run := func(verb string, extra ...string) (string, string, int) {
		return runMain(t, append(append([]string{"deploy", verb}, args...), extra...)...)
	}

	// The 17 Regions enabled by default and ap-east-1 are enabled; the
	// management stack covers us-east-1 and eu-west-1, the AssumeRoot stack
	// the 16 others, in the management account and in the IAM delegated
	// administrator: 5 + 2 x 16 stacks.
	const stacks = 5 + 2*16
	out, errOut, code := run("plan")
	if code != ExitOK || strings.Count(out, "create ") != stacks || !strings.Contains(out, "Add Function (AWS::Lambda::Function)") ||
		!strings.Contains(out, "Add AuditRunSchedule (AWS::Scheduler::Schedule)") ||
		!strings.Contains(out, "Add DigestRunSchedule (AWS::Scheduler::Schedule)") ||
		!strings.Contains(errOut, "scheduled audit: rate(1 day); weekly digest: cron(0 0 ? * MON *)") ||
		!strings.Contains(errOut, "scheduled audit runs in the Audit account 222222222222, the IAM delegated administrator") ||
		!strings.Contains(out, "Add AccountFunction (AWS::Lambda::Function)") ||
		!strings.Contains(errOut, "rootguard: new accounts: no --mode-config: every new or moved account is audited and reported; enforcement is off") {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errOut)
	}
	for _, who := range []string{"management", "iam-admin "} {
		for _, r := range []string{"ap-east-1", "us-west-2", "eu-central-1"} {
			if want := "create     stack    rootguard-assumeroot    " + who + " " + r + "\n"; !strings.Contains(out, want) {
				t.Errorf("plan lacks %q", want)
			}
		}
		for _, r := range []string{"us-east-1", "eu-west-1", "me-south-1"} {
			if bad := "rootguard-assumeroot    " + who + " " + r + "\n"; strings.Contains(out, bad) {
				t.Errorf("plan has %q: governed or not enabled", bad)
			}
		}
	}
	// No warning but the one TestDeployWarnsWhenIAMAdminUncovered is about
	// (the delegated administrator sits in Security, outside --ou).
	if !strings.HasPrefix(out, "present    trail    arn:aws:cloudtrail:us-east-1:111111111111:trail/awssim-org-trail") ||
		strings.Count(errOut, "warning") != strings.Count(errOut, "is under no --ou") {
		t.Errorf("plan: the sandbox's organization trail is not reported present:\n%s%s", out, errOut)
	}
	out, errOut, code = run("apply")
	if code != ExitOK || !strings.Contains(errOut, "dry run: nothing changed") || strings.Contains(out, "created") {
		t.Fatalf("apply without --yes: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run("apply", "--yes")
	// Workloads holds two accounts: 2 x 2 regions.
	if code != ExitOK || strings.Count(out, "created ") != stacks || !strings.Contains(out, "4 stack instances succeeded") ||
		!strings.Contains(errOut, "rootguard-member create instances") {
		t.Fatalf("apply --yes: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run("apply", "--yes", "-o", "json")
	if code != ExitOK || strings.Count(out, `"action":"unchanged"`) != stacks || !strings.Contains(errOut, "nothing to change") {
		t.Fatalf("apply again: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := runMain(t, "deploy", "plan", "--audit-account", "222222222222"); code != ExitUsage || !strings.Contains(errOut, "required") {
		t.Errorf("missing flags: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := run("plan", "--language", "fr"); code != ExitUsage || !strings.Contains(errOut, `language "fr"`) {
		t.Errorf("bad language: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := run("plan", "--audit-schedule", "daily"); code != ExitUsage || !strings.Contains(errOut, `audit schedule "daily"`) {
		t.Errorf("bad schedule: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := run("plan", "--digest-schedule", "weekly"); code != ExitUsage || !strings.Contains(errOut, `digest schedule "weekly"`) {
		t.Errorf("bad digest schedule: exit %d\n%s", code, errOut)
	}
	// Turning the digest off is an update of the Audit stack's parameter
	// (its condition HasDigest then leaves the schedule out), and plan
	// says so.
	out, errOut, code = run("plan", "--digest-schedule", "off", "-o", "json")
	if code != ExitOK || !strings.Contains(errOut, "weekly digest: off") || !strings.Contains(out, `"name":"rootguard-audit","account":"audit","region":"eu-west-1","action":"update"`) {
		t.Errorf("digest off: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := run("plan", "--mode-config", "rootguard.yaml"); code != ExitUsage || !strings.Contains(errOut, `mode config "rootguard.yaml": want s3://BUCKET/KEY`) {
		t.Errorf("bad mode config: exit %d\n%s", code, errOut)
	}
}

// TestDescribeEnforcement: what deploy plan says of new accounts, read
// from rootguard.yaml in S3 (gofakes3) through the real SDK client.
func TestDescribeEnforcement(t *testing.T) {
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(fake.Close)
	s3c := s3.New(s3.Options{BaseEndpoint: aws.String(fake.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	if _, err := s3c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("ccoe")}); err != nil {
		t.Fatal(err)
	}
	put := func(key, body string) {
		if _, err := s3c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("ccoe"), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	put("on.yaml", "default: flexible\nous:\n  - {ou: Root/Workloads/Prod, mode: strict, enforce: true}\n")
	put("off.yaml", "default: flexible\nous:\n  - {ou: Root/Workloads/Prod, mode: strict}\n")
	put("bad.yaml", "default: sometimes\n")
	for _, tc := range []struct{ loc, want string }{
		{"", "no --mode-config"},
		{"s3://ccoe/on.yaml", "s3://ccoe/on.yaml: ENFORCEMENT ON: the root credentials of an account created in, moved to or joining Root/Workloads/Prod"},
		{"s3://ccoe/off.yaml", "enforcement is off (no strict OU has enforce: true)"},
		{"s3://ccoe/bad.yaml", `warning: newaccount: s3://ccoe/bad.yaml: default (line 1): "sometimes": want strict or flexible`},
		{"s3://ccoe/missing.yaml", "warning: newaccount: read s3://ccoe/missing.yaml"},
	} {
		if got := describeEnforcement(t.Context(), deploy.Config{ModeConfig: tc.loc}, aws.Config{}, s3c); !strings.Contains(got, tc.want) {
			t.Errorf("%q: %s", tc.loc, got)
		}
	}
}

func TestDeployConvergeAndCallAsAgainstSandbox(t *testing.T) {
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const principal = "member.org.stacksets.cloudformation.amazonaws.com"
	sc.Organization.TrustedAccess = append(sc.Organization.TrustedAccess, principal)
	sc.Organization.DelegatedAdministrators = append(sc.Organization.DelegatedAdministrators,
		awssim.DelegatedAdministrator{Account: "222222222222", ServicePrincipal: principal})
	b, err := sc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "stacksets.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	startSandbox(t, "--scenario", path)

	args := []string{"--audit-account", "222222222222",
		"--audit-role-arn", "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole",
		"--ou", "ou-ex12-workload", "--home-region", "eu-west-1",
		"--code-bucket", "artifacts", "--code-key", "rootguard.zip", "--poll-interval", "1ms"}
	run := func(verb string, extra ...string) (string, string, int) {
		return runMain(t, append(append([]string{"deploy", verb}, args...), extra...)...)
	}
	// Workloads holds two accounts: 2 x 3 regions.
	if out, errOut, code := run("apply", "--yes", "--regions", "ap-northeast-1"); code != ExitOK || !strings.Contains(out, "6 stack instances succeeded") {
		t.Fatalf("apply --yes: exit %d\n%s%s", code, out, errOut)
	}

	// ap-northeast-1 dropped: plan names the instances, apply without --yes
	// and with --keep-removed removes nothing.
	removals := []string{
		"    Remove instances in OUs ou-ex12-workload, regions ap-northeast-1\n",
		"    Remove account 333333333333 region ap-northeast-1 (OU ou-ex12-workload, CURRENT)\n",
		"    Remove account 444444444444 region ap-northeast-1 (OU ou-ex12-workload, CURRENT)\n",
	}
	for _, extra := range [][]string{{"plan"}, {"apply"}} {
		out, errOut, code := run(extra[0])
		if code != ExitOK || !strings.Contains(out, "update     stackset rootguard-member") {
			t.Fatalf("%s: exit %d\n%s%s", extra[0], code, out, errOut)
		}
		for _, want := range removals {
			if !strings.Contains(out, want) {
				t.Errorf("%s does not show %q:\n%s", extra[0], want, out)
			}
		}
	}
	// ap-northeast-1 is no longer governed: the AssumeRoot stack goes there.
	out, errOut, code := run("apply", "--yes", "--keep-removed")
	if code != ExitOK || strings.Contains(out, "instances removed") || strings.Contains(out, "deleted ") ||
		!strings.Contains(out, "created    stack    rootguard-assumeroot    management ap-northeast-1\n") ||
		!strings.Contains(out, "    Keep account 444444444444 region ap-northeast-1 (OU ou-ex12-workload, CURRENT): outside the OUs and regions given\n") ||
		!strings.Contains(out, "unchanged  stack    rootguard-management    management ap-northeast-1\n"+
			"    Keep stack (CREATE_COMPLETE): ap-northeast-1 is not governed (us-east-1, eu-west-1): rootguard-assumeroot takes its place there; kept (--keep-removed)\n") {
		t.Fatalf("apply --keep-removed: exit %d\n%s%s", code, out, errOut)
	}
	// Without it: the instances, then the stacks, go.
	out, errOut, code = run("apply", "--yes")
	if code != ExitOK || !strings.Contains(out, "updated    stackset rootguard-member") || !strings.Contains(out, "    2 stack instances removed\n") ||
		!strings.Contains(errOut, "rootguard-member delete instances") ||
		!strings.HasSuffix(out, "deleted    stack    rootguard-management    management ap-northeast-1\n"+
			"    Delete stack (CREATE_COMPLETE) and its resources: ap-northeast-1 is not governed (us-east-1, eu-west-1): rootguard-assumeroot takes its place there\n") ||
		!strings.Contains(out, "deleted    stack    rootguard-audit-region  audit      ap-northeast-1\n") ||
		!strings.Contains(errOut, "rootguard-management ap-northeast-1 (management): DELETE_IN_PROGRESS") {
		t.Fatalf("apply --yes: exit %d\n%s%s", code, out, errOut)
	}
	// 5 stacks and 15 AssumeRoot stacks (the Regions enabled by default
	// but us-east-1 and eu-west-1); the IAM delegated administrator's are
	// skipped for want of its credentials, and that is said.
	out, errOut, code = run("apply", "--yes", "-o", "json")
	if code != ExitOK || strings.Count(out, `"action":"unchanged"`) != 5+15 || !strings.Contains(errOut, "nothing to change") ||
		!strings.Contains(out, `"account":"iam-admin","region":"*","action":"skipped"`) ||
		!strings.Contains(errOut, "rootguard: warning: no credentials for the IAM delegated administrator 222222222222") {
		t.Fatalf("apply again: exit %d\n%s%s", code, out, errOut)
	}

	// --call-as DELEGATED_ADMIN: from the registered account it reads the
	// management account's StackSet; from another it is refused.
	role := func(account string) string { return "arn:aws:iam::" + account + ":role/OrganizationAccountAccessRole" }
	out, errOut, code = run("plan", "--call-as", "DELEGATED_ADMIN", "--stackset-role-arn", role("222222222222"))
	if code != ExitOK || !strings.Contains(out, "unchanged  stackset rootguard-member        delegated-admin eu-west-1") {
		t.Errorf("DELEGATED_ADMIN from the delegated administrator: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run("plan", "--call-as", "delegated_admin", "--stackset-role-arn", role("333333333333"))
	if code != ExitUsage || out != "" || !strings.Contains(errOut, "account 333333333333 is not a StackSets delegated administrator of o-exampleorg1 (registered: 222222222222)") {
		t.Errorf("DELEGATED_ADMIN from another account: exit %d\n%s%s", code, out, errOut)
	}
	for _, tc := range []struct {
		extra []string
		want  string
	}{
		{[]string{"--call-as", "ADMIN"}, `--call-as "ADMIN"`},
		{[]string{"--call-as", "DELEGATED_ADMIN"}, "needs --stackset-profile or --stackset-role-arn"},
		{[]string{"--stackset-role-arn", role("222222222222")}, "go with --call-as DELEGATED_ADMIN"},
	} {
		if _, errOut, code := run("plan", tc.extra...); code != ExitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d\n%s", tc.extra, code, errOut)
		}
	}
}

// TestDeployPlanSaysWhatTrailIsMissing: against an organization whose
// trail is a single-Region account trail, plan lists what is missing and
// warns, and still plans the stacks (exit 0).
func TestDeployPlanSaysWhatTrailIsMissing(t *testing.T) {
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc.Trail = awssim.Trail{AccountOnly: true, SingleRegion: true}
	sc.Organization.TrustedAccess = append(sc.Organization.TrustedAccess, deploy.StackSetsServicePrincipal)
	b, err := sc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "trail.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	startSim(t, path)
	out, errOut, code := runMain(t, "deploy", "plan", "--audit-account", "222222222222",
		"--audit-role-arn", "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole", "--ou", "ou-ex12-workload",
		"--home-region", "us-east-1", "--code-bucket", "artifacts", "--code-key", "rootguard.zip", "--poll-interval", "1ms")
	if code != ExitOK || !strings.Contains(out, "create ") {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"missing    trail    arn:aws:cloudtrail:us-east-1:111111111111:trail/awssim-org-trail management us-east-1",
		"    missing: trail awssim-org-trail is not an organization trail",
		"    missing: trail awssim-org-trail logs us-east-1 only, not every Region",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "rootguard: warning: no logging, multi-Region organization trail (2 things missing") {
		t.Errorf("no warning:\n%s", errOut)
	}
}

// stackSetsScenario writes the sample scenario with StackSets trusted
// access enabled and returns its path.
func stackSetsScenario(t *testing.T) string {
	t.Helper()
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc.Organization.TrustedAccess = append(sc.Organization.TrustedAccess, deploy.StackSetsServicePrincipal)
	b, err := sc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "stacksets.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// deployArgs are deploy's flags with some replaced or dropped (value "").
func deployArgs(verb string, set map[string]string, extra ...string) []string {
	flags := [][2]string{
		{"--audit-account", "222222222222"},
		{"--audit-role-arn", "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"},
		{"--ou", "ou-ex12-workload"}, {"--home-region", "eu-west-1"},
		{"--code-bucket", "artifacts"}, {"--code-key", "rootguard.zip"}, {"--poll-interval", "1ms"},
	}
	args := []string{"deploy", verb}
	for _, f := range flags {
		v, ok := set[f[0]]
		if !ok {
			v = f[1]
		}
		if v != "" {
			args = append(args, f[0], v)
		}
	}
	return append(args, extra...)
}

// TestDeployRefusesBadTargetsAgainstSandbox: each bad target is a usage
// error naming it, and nothing changes: the instances deployed before are
// all still there (a second plan finds everything unchanged).
func TestDeployRefusesBadTargetsAgainstSandbox(t *testing.T) {
	startSandbox(t, "--scenario", stackSetsScenario(t))
	if out, errOut, code := runMain(t, deployArgs("apply", nil, "--yes")...); code != ExitOK || !strings.Contains(out, "4 stack instances succeeded") {
		t.Fatalf("first apply: exit %d\n%s%s", code, out, errOut)
	}
	for _, tc := range []struct {
		name string
		set  map[string]string
		want string
	}{
		{"mistyped OU", map[string]string{"--ou": "ou-zzzz-doesnotexist"},
			"--ou ou-zzzz-doesnotexist: no such OU or root in organization o-exampleorg1"},
		{"audit stack with the management account's credentials", map[string]string{"--audit-role-arn": ""},
			"the Audit stack goes only into the Audit account 222222222222, and the current credentials are in 111111111111: give --audit-role-arn"},
		{"audit role in another account", map[string]string{"--audit-role-arn": "arn:aws:iam::333333333333:role/OrganizationAccountAccessRole"},
			"reaches account 333333333333, not the Audit account 222222222222"},
		{"audit account outside the organization", map[string]string{"--audit-account": "999999999999"},
			"--audit-account 999999999999: not an account of organization o-exampleorg1"},
		{"wrong organization", map[string]string{"--ou": "ou-ex12-workload"},
			""},
	} {
		args := deployArgs("apply", tc.set, "--yes")
		if tc.want == "" {
			args, tc.want = append(args, "--org-id", "o-otherorg0001"), "organization o-otherorg0001: the credentials manage o-exampleorg1"
		}
		out, errOut, code := runMain(t, args...)
		if code != ExitUsage || out != "" || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "nothing was changed") {
			t.Errorf("%s: exit %d, want 2 naming %q\n%s%s", tc.name, code, tc.want, out, errOut)
		}
	}
	// Credentials for IAM's delegated administrator (222222222222) that
	// reach another account: deploy would create and delete stacks there.
	bad := "arn:aws:iam::333333333333:role/OrganizationAccountAccessRole"
	if out, errOut, code := runMain(t, deployArgs("apply", nil, "--yes", "--iam-admin-role-arn", bad)...); code != ExitUsage || out != "" ||
		!strings.Contains(errOut, "--iam-admin-role-arn "+bad+" reaches account 333333333333, not IAM's delegated administrator 222222222222") {
		t.Errorf("IAM admin role in another account: exit %d\n%s%s", code, out, errOut)
	}
	// An OU inside the one the StackSet targets: dropping the outer OU
	// would delete the inner one's instances too; refused at plan.
	out, errOut, code := runMain(t, deployArgs("apply", map[string]string{"--ou": "ou-ex12-prod0001"}, "--yes")...)
	if code != ExitError || strings.Contains(out, "instances removed") || strings.Contains(out, "updated    stackset") ||
		!strings.Contains(out, "--ou ou-ex12-prod0001 is inside ou-ex12-workload, which the StackSet targets and this deployment drops") {
		t.Errorf("nested OU: exit %d\n%s%s", code, out, errOut)
	}
	// 5 stacks and the AssumeRoot stacks of the 15 other enabled Regions.
	out, errOut, code = runMain(t, deployArgs("plan", nil, "-o", "json")...)
	if code != ExitOK || strings.Count(out, `"action":"unchanged"`) != 5+15 || strings.Contains(out, `"action":"create"`) {
		t.Errorf("after the refusals: exit %d, want every step unchanged\n%s%s", code, out, errOut)
	}
}

// TestDeployWithoutTrustedAccessAgainstSandbox: the shipped scenario has
// no StackSets trusted access; deploy says so, with the fix, before the
// first stack is created.
func TestDeployWithoutTrustedAccessAgainstSandbox(t *testing.T) {
	startSandbox(t, "--scenario", filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	out, errOut, code := runMain(t, deployArgs("apply", nil, "--yes")...)
	if code != ExitUsage || out != "" || !strings.Contains(errOut, "StackSets trusted access is not enabled in organization o-exampleorg1") ||
		!strings.Contains(errOut, "activate-organizations-access") {
		t.Fatalf("exit %d, want 2 with advice\n%s%s", code, out, errOut)
	}
	cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRegion("eu-west-1"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = cloudformation.NewFromConfig(cfg).DescribeStacks(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String(deploy.ManagementStackName)})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("the management stack: %v, want it not created", err)
	}
}

// TestDeployAsksBeforeRemovingInstances: on a terminal, a plan that
// deletes instances asks for them by count, after listing them.
func TestDeployAsksBeforeRemovingInstances(t *testing.T) {
	startSandbox(t, "--scenario", stackSetsScenario(t))
	if out, errOut, code := runMain(t, deployArgs("apply", nil, "--yes", "--regions", "ap-northeast-1")...); code != ExitOK {
		t.Fatalf("first apply: exit %d\n%s%s", code, out, errOut)
	}
	var out, errb bytes.Buffer
	code := Main(t.Context(), deployArgs("apply", nil), IO{In: strings.NewReader("n\n"), Out: &out, Err: &errb, OutTTY: true, ErrTTY: true})
	q := "Apply these 4 changes, deleting the 2 stacks (delete) and the 2 stack instances (Remove account ...) listed above? [y/N]"
	if code != ExitOK || !strings.Contains(errb.String(), q) || !strings.Contains(errb.String(), "nothing changed") ||
		!strings.Contains(out.String(), "Remove account 333333333333 region ap-northeast-1") ||
		!strings.Contains(out.String(), "delete     stack    rootguard-management    management ap-northeast-1\n"+
			"    Delete stack (CREATE_COMPLETE) and its resources: ap-northeast-1 is not governed (us-east-1, eu-west-1): rootguard-assumeroot takes its place there\n") ||
		!strings.Contains(out.String(), "delete     stack    rootguard-audit-region  audit      ap-northeast-1\n") {
		t.Errorf("exit %d, want the removals listed, then asked\n%s%s", code, out.String(), errb.String())
	}
	// Applied, the deletions are the last JSON lines; then nothing is left
	// to delete.
	stdout, errOut, code := runMain(t, deployArgs("apply", nil, "--yes", "-o", "json")...)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != ExitOK || len(lines) < 2 ||
		!strings.HasPrefix(lines[len(lines)-2], `{"kind":"stack","name":"rootguard-audit-region","account":"audit","region":"ap-northeast-1","action":"delete","applied":true,"changes":["Delete stack (CREATE_COMPLETE) and its resources: `) ||
		!strings.HasPrefix(lines[len(lines)-1], `{"kind":"stack","name":"rootguard-management","account":"management","region":"ap-northeast-1","action":"delete","applied":true,`) {
		t.Fatalf("apply --yes: exit %d\n%s%s", code, stdout, errOut)
	}
	if stdout, errOut, code := runMain(t, deployArgs("plan", nil)...); code != ExitOK || strings.Contains(stdout, "delete ") {
		t.Errorf("plan after: exit %d\n%s%s", code, stdout, errOut)
	}
}

// TestDeployWarnsWhenIAMAdminUncovered: the IAM delegated administrator
// (222222222222, in Security) records the sts:AssumeRoot calls it makes;
// with the StackSet on Workloads only, nothing forwards them in the
// governed Regions, and plan says so with the OU to add. With Security
// among the OUs the warning is gone.
func TestDeployWarnsWhenIAMAdminUncovered(t *testing.T) {
	startSandbox(t, "--scenario", stackSetsScenario(t))
	const warning = "rootguard: warning: the IAM delegated administrator 222222222222 (security, in Root/Security) is under no --ou"
	out, errOut, code := runMain(t, deployArgs("plan", nil)...)
	if code != ExitOK || strings.Count(errOut, warning) != 1 || !strings.Contains(errOut, "add --ou ou-ex12-security (or an OU above it)") {
		t.Errorf("Workloads only: exit %d, want 0 and the warning once\n%s%s", code, out, errOut)
	}
	for _, ous := range []string{"ou-ex12-workload,ou-ex12-security", "r-ex12"} {
		out, errOut, code = runMain(t, deployArgs("plan", map[string]string{"--ou": ous})...)
		if code != ExitOK || strings.Contains(errOut, "is under no --ou") {
			t.Errorf("--ou %s: exit %d, want 0 and no warning\n%s%s", ous, code, out, errOut)
		}
	}
}
