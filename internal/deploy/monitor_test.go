package deploy

import (
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/monitor"
)

// TestScheduledAudit: the audit template runs the scheduled audit as a
// second function from the same code, on an EventBridge Scheduler
// schedule (daily by default) whose input the binary's audit handler
// takes, keeping its history in a versioned, KMS-encrypted, private
// bucket, with root sessions limited to the audit task policy.
func TestScheduledAudit(t *testing.T) {
	tpl := rendered(t)[AuditTemplate]
	res := resources(tpl)
	params := tpl["Parameters"].(map[string]any)
	if d := params[ParamAuditSchedule].(map[string]any)["Default"]; d != DefaultAuditSchedule {
		t.Errorf("AuditSchedule default %v", d)
	}

	sched := res["AuditRunSchedule"]
	if sched["Type"] != "AWS::Scheduler::Schedule" {
		t.Fatalf("AuditRunSchedule: %v", sched)
	}
	p := properties(sched)
	target := p["Target"].(map[string]any)
	input, _ := target["Input"].(string)
	if mustJSON(t, p["ScheduleExpression"]) != `{"Ref":"AuditSchedule"}` ||
		mustJSON(t, target["Arn"]) != `{"Fn::GetAtt":["AuditFunction","Arn"]}` || !monitor.IsAuditEvent([]byte(input)) {
		t.Errorf("schedule %s", mustJSON(t, p))
	}

	fn := properties(res["AuditFunction"])
	alertFn := properties(res["Function"])
	env := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
	if mustJSON(t, fn["Code"]) != mustJSON(t, alertFn["Code"]) {
		t.Errorf("the audit function's code %s is not the alert function's %s", mustJSON(t, fn["Code"]), mustJSON(t, alertFn["Code"]))
	}
	if _, ok := env["TABLE_NAME"]; ok || env["HISTORY"] == nil || env["TOPIC_ARN"] == nil || mustJSON(t, fn["Timeout"]) != "900" {
		t.Errorf("audit function %s", mustJSON(t, fn))
	}

	b := properties(res["HistoryBucket"])
	enc := mustJSON(t, b["BucketEncryption"])
	if mustJSON(t, b["VersioningConfiguration"]) != `{"Status":"Enabled"}` || !strings.Contains(enc, `"aws:kms"`) ||
		!strings.Contains(mustJSON(t, b["PublicAccessBlockConfiguration"]), `"RestrictPublicBuckets":true`) ||
		res["HistoryBucket"]["DeletionPolicy"] != "Retain" {
		t.Errorf("history bucket %s", mustJSON(t, b))
	}

	var assumeRoot []string
	for _, s := range properties(res["AuditFunctionPolicy"])["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		st := s.(map[string]any)
		if slices.Contains(st["Action"].([]any), any("sts:AssumeRoot")) {
			assumeRoot = append(assumeRoot, mustJSON(t, st["Condition"]))
		}
	}
	if len(assumeRoot) != 1 || !strings.Contains(assumeRoot[0], `"sts:TaskPolicyArn":{"Fn::Sub":"arn:${AWS::Partition}:iam::aws:policy/root-task/IAMAuditRootUserCredentials"}`) {
		t.Errorf("sts:AssumeRoot statements: %v", assumeRoot)
	}

	key := mustJSON(t, properties(res["Key"])["KeyPolicy"])
	for _, role := range []string{"AuditFunctionRole", "SchedulerRole"} {
		if !strings.Contains(key, `{"Fn::GetAtt":["`+role+`","Arn"]}`) {
			t.Errorf("the key policy does not let %s use the key", role)
		}
	}
}

// TestCheckAuditAccount asks awssim's Organizations, through the SDK,
// which account may open root sessions: the scenario's IAM delegated
// administrator (222222222222) or its management account; any other
// Audit account is refused with what to do.
func TestCheckAuditAccount(t *testing.T) {
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	srv := awssim.New(sc, awssim.Options{})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	api := organizations.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")})
	for _, tc := range []struct {
		account, as string
		says        string
	}{
		{"222222222222", "delegated-administrator", "IAM delegated administrator for centralized root access"},
		{"111111111111", "management", "management account 111111111111"},
		{"333333333333", "", "register-delegated-administrator --service-principal iam.amazonaws.com --account-id 333333333333"},
	} {
		p, err := CheckAuditAccount(t.Context(), api, tc.account)
		if err != nil {
			t.Fatal(err)
		}
		if p.As != tc.as || p.OK() != (tc.as != "") || !strings.Contains(p.String(), tc.says) || p.ManagementAccount != "111111111111" {
			t.Errorf("%s: %+v %q", tc.account, p, p)
		}
	}
}

// TestWeeklyDigest: the audit template publishes the weekly digest from
// the scheduled audit's function, on a second schedule (Mondays by
// default) whose input the binary's digest handler takes, through the
// same role and dead-letter queue; DigestSchedule off leaves the
// schedule out (condition HasDigest).
func TestWeeklyDigest(t *testing.T) {
	tpl := rendered(t)[AuditTemplate]
	res := resources(tpl)
	param := tpl["Parameters"].(map[string]any)[ParamDigestSchedule].(map[string]any)
	if param["Default"] != DefaultDigestSchedule {
		t.Errorf("DigestSchedule default %v", param["Default"])
	}
	pattern := regexp.MustCompile(param["AllowedPattern"].(string))
	for v, ok := range map[string]bool{DefaultDigestSchedule: true, "rate(7 days)": true, DigestOff: true, "weekly": false, "": false} {
		if pattern.MatchString(v) != ok {
			t.Errorf("AllowedPattern on %q: %v, want %v", v, !ok, ok)
		}
	}
	if got := mustJSON(t, tpl["Conditions"].(map[string]any)["HasDigest"]); got != `{"Fn::Not":[{"Fn::Equals":[{"Ref":"DigestSchedule"},"off"]}]}` {
		t.Errorf("HasDigest %s", got)
	}
	sched := res["DigestRunSchedule"]
	if sched["Type"] != "AWS::Scheduler::Schedule" || sched["Condition"] != "HasDigest" {
		t.Fatalf("DigestRunSchedule: %v", sched)
	}
	p := properties(sched)
	target := p["Target"].(map[string]any)
	input, _ := target["Input"].(string)
	if mustJSON(t, p["ScheduleExpression"]) != `{"Ref":"DigestSchedule"}` ||
		mustJSON(t, target["Arn"]) != `{"Fn::GetAtt":["AuditFunction","Arn"]}` ||
		mustJSON(t, target["RoleArn"]) != `{"Fn::GetAtt":["SchedulerRole","Arn"]}` ||
		!monitor.IsDigestEvent([]byte(input)) || monitor.IsAuditEvent([]byte(input)) {
		t.Errorf("digest schedule %s", mustJSON(t, p))
	}
	c := testConfig()
	c.DigestSchedule = DigestOff
	found := false
	for _, kv := range c.auditParams() {
		if aws.ToString(kv.ParameterKey) == ParamDigestSchedule {
			found = aws.ToString(kv.ParameterValue) == DigestOff
		}
	}
	if !found {
		t.Errorf("--digest-schedule off is not passed to the stack: %v", c.auditParams())
	}
}
