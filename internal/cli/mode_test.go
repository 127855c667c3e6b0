package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sandboxAudited starts the sandbox over the example scenario and records
// one audit in the history (the sandbox account behind a blocking SCP
// cannot be read: the audit exits 1).
func sandboxAudited(t *testing.T) {
	t.Helper()
	startSandbox(t, "--scenario", filepath.Join("..", "awssim", "testdata", "scenario.yaml"), "--report-delay", "10ms")
	if _, errOut, code := runMain(t, "audit", "-o", "csv"); code != ExitError || !strings.Contains(errOut, "recorded as audit 1") {
		t.Fatalf("audit: exit %d\n%s", code, errOut)
	}
}

// writeConfig writes a rootguard.yaml; the OU id makes plan read the OU
// tree from the sandbox.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rootguard.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const sandboxConfig = `default: flexible
ous:
  - ou: Root/Workloads/Prod
    mode: strict
  - ou: ou-ex12-sandbox1
    mode: strict
exceptions:
  - account: "444444444444"
    mode: flexible
    reason: S3 MFA Delete on the archive bucket needs root
`

type planLine struct {
	Account string
	OUPath  string
	Status  string
	Mode    struct{ Mode, Source, Configured string }
	Drift   []struct{ Control, Problem string }
	Actions []struct{ By, Step, Command string }
	Notes   []string
}

func TestPlanAgainstSandbox(t *testing.T) {
	sandboxAudited(t)
	cfg := writeConfig(t, sandboxConfig)
	out, errOut, code := runMain(t, "plan", "--config", cfg, "-o", "json")
	if code != ExitFindings {
		t.Fatalf("plan: exit %d, want 3\n%s%s", code, out, errOut)
	}
	plans := map[string]planLine{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var p planLine
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		plans[p.Account] = p
	}
	if len(plans) != 8 {
		t.Fatalf("%d accounts, want 8:\n%s", len(plans), out)
	}
	prod := plans["333333333333"]
	if prod.Mode.Mode != "strict" || prod.Status != "drift" || len(prod.Drift) != 2 ||
		prod.Actions[len(prod.Actions)-1].Command != "rootguard root delete-credentials --account 333333333333" ||
		!strings.Contains(prod.Actions[len(prod.Actions)-1].Step, "the password and access key(s) AKIAEXAMPLEROOT00001, AKIAEXAMPLEROOT00002") {
		t.Errorf("prod: %+v", prod)
	}
	// A passkey beside a virtual device fails IAM.6 ("NON_COMPLIANT if any
	// virtual MFA devices are permitted for signing in with root
	// credentials", AWS Config root-account-hardware-mfa-enabled): the
	// email owner removes the virtual device.
	if eu := plans["444444444444"]; eu.Mode.Mode != "flexible" || !strings.HasPrefix(eu.Mode.Source, "exceptions[0]") || eu.Status != "drift" ||
		len(eu.Drift) != 1 || eu.Drift[0].Control != "IAM.6" || len(eu.Actions) != 1 || !strings.Contains(eu.Actions[0].Step, "remove the virtual MFA device") {
		t.Errorf("prod-eu: %+v (flexible by exception, a passkey beside a virtual device)", eu)
	}
	if sb := plans["555555555555"]; sb.Status != "not-audited" || sb.Mode.Source != "ous[1] ou-ex12-sandbox1 = Root/Sandbox" ||
		!strings.Contains(sb.Actions[0].Step, "p-denyroot01") {
		t.Errorf("sandbox: %+v", sb)
	}
	if m := plans["111111111111"]; m.Mode.Mode != "flexible" || m.Status != "ok" {
		t.Errorf("management: %+v", m)
	}
	if s := plans["666666666666"]; s.Status != "inactive" {
		t.Errorf("suspended: %+v", s)
	}
	if !strings.Contains(errOut, "plan from audit 1 of ") || !strings.Contains(errOut, "8 accounts:") {
		t.Errorf("stderr:\n%s", errOut)
	}

	// The table on a pipe: one tab-separated row per account.
	out, _, code = runMain(t, "plan", "--config", cfg)
	if code != ExitFindings || strings.Count(out, "\n") != 9 || !strings.HasPrefix(out, "ACCOUNT\tNAME\tOU\tMODE\tSOURCE\tSTATUS\tDRIFT\tACTIONS\n") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
	// CSV.
	out, _, code = runMain(t, "plan", "--config", cfg, "-o", "csv")
	if code != ExitFindings || !strings.HasPrefix(out, "account,name,ou,mode,source,status,drift,actions\n") {
		t.Errorf("csv: exit %d\n%s", code, out)
	}
	// The summary counts the account the audit could not read.
	calm := writeConfig(t, "default: flexible\nous:\n  - {ou: Root/Security, mode: strict}\n  - {ou: Root/Sandbox, mode: strict}\n")
	_, errOut, code = runMain(t, "plan", "--config", calm, "-o", "json")
	if code != ExitFindings || !strings.Contains(errOut, "1 not audited") {
		t.Errorf("calm plan: exit %d\n%s", code, errOut)
	}
}

// TestPlanFreshAudit: --audit reads the organization now instead of the
// history.
func TestPlanFreshAudit(t *testing.T) {
	startSandbox(t, "--scenario", filepath.Join("..", "awssim", "testdata", "scenario.yaml"), "--report-delay", "10ms")
	cfg := writeConfig(t, "default: flexible\n")
	out, errOut, code := runMain(t, "plan", "--audit", "--config", cfg, "-o", "json")
	if code != ExitFindings || strings.Count(out, "\n") != 8 || !strings.Contains(errOut, "plan from the audit just run") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	// Nothing was recorded.
	if _, errOut, code := runMain(t, "plan", "--config", cfg); code != ExitError || !strings.Contains(errOut, "holds no audit") {
		t.Errorf("plan without history: exit %d\n%s", code, errOut)
	}
}

func TestPlanUsage(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Chdir(t.TempDir())
	bad := writeConfig(t, "default: flexible\nous:\n  - {ou: Workloads, mode: strickt}\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"plan"}, "rootguard.yaml"},
		{[]string{"plan", "--config", "nope.yaml"}, "nope.yaml"},
		{[]string{"plan", "--config", bad}, `ous[0] (line 3): mode: "strickt": want strict or flexible`},
		{[]string{"plan", "--config", bad}, `ous[0] (line 3): ou: "Workloads": an OU path starts at Root`},
		{[]string{"plan", "-o", "xml"}, "unknown output format"},
		{[]string{"advise", "-o", "csv"}, "want table or json"},
		{[]string{"advise", "--config", bad}, "strickt"},
		{[]string{"advise", "--trail", "x", "--since", "yesterday"}, "--since"},
	} {
		_, errOut, code := runMain(t, tc.args...)
		if code != ExitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q\n%s", tc.args, code, tc.want, errOut)
		}
	}
}

type adviceLine struct {
	OU       string
	Mode     struct{ Mode, Source string }
	Accounts int
	NeedRoot []struct {
		Account string
		Reasons []string
	}
	ToDelete       []string
	Activity       *struct{ Sessions, SignIns, Actions int }
	Exposure       struct{ WithCredentials, WithoutMFA, WithAccessKeys int }
	Recommendation string
}

// TestAdviseWithTrail: the example trail's AssumeRoot targets
// 222222222222 (Security); 333333333333's root signed in.
func TestAdviseWithTrail(t *testing.T) {
	sandboxAudited(t)
	trailDir, err := filepath.Abs(filepath.Join("..", "..", "examples", "org-trail"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // no rootguard.yaml here
	out, errOut, code := runMain(t, "advise", "--trail", trailDir, "--since", "2026-01-01", "-o", "json")
	if code != ExitOK {
		t.Fatalf("advise: exit %d\n%s%s", code, out, errOut)
	}
	adv := map[string]adviceLine{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var a adviceLine
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		adv[a.OU] = a
	}
	if sec := adv["Root/Security"]; sec.Activity == nil || sec.Activity.Sessions != 1 || !strings.HasPrefix(sec.Recommendation, "strict: no member root credentials are left") {
		t.Errorf("Security: %+v", sec)
	}
	prod := adv["Root/Workloads/Prod"]
	if prod.Mode.Mode != "flexible" || prod.Activity == nil || prod.Activity.SignIns != 1 || len(prod.NeedRoot) != 1 ||
		prod.Exposure.WithAccessKeys != 1 || prod.Exposure.WithoutMFA != 1 {
		t.Errorf("Prod: %+v", prod)
	}
	if eu := adv["Root/Workloads/Prod/EU"]; len(eu.NeedRoot) != 1 || !strings.Contains(strings.Join(eu.NeedRoot[0].Reasons, " "), "signing certificate") {
		t.Errorf("EU: %+v", eu)
	}
	for _, want := range []string{"no rootguard.yaml: every OU is taken as flexible", "root sessions issued", "advice for 6 OUs from audit 1"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}

	// On a pipe, the table: one row per OU.
	out, _, code = runMain(t, "advise")
	if code != ExitOK || strings.Count(out, "\n") != 7 || !strings.HasPrefix(out, "OU\tMODE\tACCOUNTS") {
		t.Errorf("table: exit %d\n%s", code, out)
	}

	// An unreadable trail input: exit 1, the advice still written.
	broken := filepath.Join(t.TempDir(), "broken.json.gz")
	if err := os.WriteFile(broken, []byte("not gzip"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = runMain(t, "advise", "--trail", trailDir, "--trail", broken, "--since", "2026-01-01", "-o", "json")
	if code != ExitError || strings.Count(out, "\n") != 6 || !strings.Contains(errOut, "broken.json.gz") {
		t.Errorf("broken trail: exit %d\n%s%s", code, out, errOut)
	}
}
