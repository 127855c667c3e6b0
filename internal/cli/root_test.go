package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/awssim"
)

// startSim serves the scenario with awssim like startSandbox, through
// httptest, whose Close drops the SDK's spare connections at once (the
// sandbox's graceful shutdown waits seconds for them).
func startSim(t *testing.T, scenario string) *awssim.Server {
	t.Helper()
	sc, err := awssim.LoadScenario(scenario)
	if err != nil {
		t.Fatal(err)
	}
	srv := awssim.New(sc, awssim.Options{ReportDelay: 10 * time.Millisecond})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": hs.URL, "AWS_ACCESS_KEY_ID": akid, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"), "XDG_STATE_HOME": t.TempDir(),
	} {
		t.Setenv(k, v)
	}
	return srv
}

func runMainWithInput(t *testing.T, input string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(t.Context(), args, IO{In: strings.NewReader(input), Out: &out, Err: &errb})
	return out.String(), errb.String(), code
}

// jsonLines decodes JSON Lines into maps.
func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		out = append(out, m)
	}
	return out
}

func actionOf(t *testing.T, account string) string {
	t.Helper()
	out, errOut, code := runMain(t, "root", "delete-credentials", "plan", "--account", account, "-o", "json")
	if code != ExitOK {
		t.Fatalf("plan %s: exit %d\n%s", account, code, errOut)
	}
	rows := jsonLines(t, out)
	if len(rows) != 1 {
		t.Fatalf("plan %s: %s", account, out)
	}
	return rows[0]["action"].(string)
}

// TestRootDeleteCredentialsAgainstSandbox: plan file round trip, refusal
// off a terminal, apply, the journal, exit codes.
func TestRootDeleteCredentialsAgainstSandbox(t *testing.T) {
	srv := startSim(t, filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	plan := filepath.Join(t.TempDir(), "plan.json")
	var all strings.Builder

	out, errOut, code := runMain(t, "root", "delete-credentials", "plan", "--account", "333333333333", "--ou", "Workloads/Prod/EU", "--out", plan, "-o", "json")
	all.WriteString(out + errOut)
	if code != ExitOK {
		t.Fatalf("plan: exit %d\n%s", code, errOut)
	}
	rows := jsonLines(t, out)
	if len(rows) != 2 || rows[0]["account"] != "333333333333" || rows[0]["action"] != "delete-credentials" || rows[1]["account"] != "444444444444" {
		t.Errorf("plan rows:\n%s", out)
	}
	if !strings.Contains(errOut, "2 to change (9 steps)") || !strings.Contains(errOut, "apply "+plan) {
		t.Errorf("plan summary:\n%s", errOut)
	}
	doc, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Kind     string
		Accounts []struct {
			Account string
			Steps   []struct{ Key string }
		}
	}
	if err := json.Unmarshal(doc, &p); err != nil || p.Kind != "delete-credentials" || len(p.Accounts) != 2 || len(p.Accounts[1].Steps) != 6 {
		t.Fatalf("plan file: %v %+v", err, p)
	}

	// Off a terminal, apply refuses without --yes; the bare form is a dry run.
	_, errOut, code = runMain(t, "root", "delete-credentials", "apply", plan)
	if code != ExitUsage || !strings.Contains(errOut, "refusing to apply without --yes") || !strings.Contains(errOut, "cannot be undone") {
		t.Errorf("apply without --yes: exit %d\n%s", code, errOut)
	}
	out, errOut, code = runMain(t, "root", "delete-credentials", "--account", "333333333333")
	if code != ExitOK || !strings.Contains(errOut, "dry run: nothing was changed") || !strings.Contains(out, "delete-credentials") {
		t.Errorf("bare form without --yes: exit %d\n%s%s", code, out, errOut)
	}
	if a := actionOf(t, "333333333333"); a != "delete-credentials" {
		t.Fatalf("a refused apply changed prod: action now %s", a)
	}

	// Apply for real.
	out, errOut, code = runMain(t, "root", "delete-credentials", "apply", plan, "--yes", "-o", "csv")
	all.WriteString(out + errOut)
	if code != ExitOK {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "account,name,status,changes") || strings.Count(out, ",done,") != 2 {
		t.Errorf("apply output:\n%s", out)
	}
	if !strings.Contains(errOut, "2 done") || !strings.Contains(errOut, "rootguard root journal ") {
		t.Errorf("apply summary:\n%s", errOut)
	}
	// prod-eu's virtual MFA device is deactivated, and the root session may
	// not delete it: said so, and the account is done, not failed.
	if !strings.Contains(out, "444444444444") || !strings.Contains(out, "device deactivated, could not be deleted by a root session") {
		t.Errorf("apply output does not report the kept device:\n%s", out)
	}
	if c := srv.Counts(); c["iam:DeleteAccessKey"] != 2 || c["iam:DeleteLoginProfile"] != 2 || c["iam:DeleteVirtualMFADevice"] != 1 {
		t.Errorf("deletions = %v", c)
	}
	for _, id := range []string{"333333333333", "444444444444"} {
		if a := actionOf(t, id); a != "none" {
			t.Errorf("%s after apply: action %s", id, a)
		}
	}
	if a := actionOf(t, "888888888888"); a != "delete-credentials" {
		t.Errorf("an account outside the plan changed: %s", a)
	}

	// The journal: one run, its steps with request ids.
	out, _, code = runMain(t, "root", "journal", "-o", "json")
	runs := jsonLines(t, out)
	if code != ExitOK || len(runs) != 1 || runs[0]["status"] != "done" || runs[0]["callerArn"] != "arn:aws:iam::111111111111:user/awssim-admin" {
		t.Fatalf("journal: exit %d\n%s", code, out)
	}
	runID := runs[0]["id"].(string)
	out, errOut, code = runMain(t, "root", "journal", runID, "-o", "json")
	steps := jsonLines(t, out)
	if code != ExitOK || len(steps) != 2*3+3+6 || !strings.Contains(errOut, "by arn:aws:iam::111111111111:user/awssim-admin") {
		t.Errorf("journal %s: exit %d, %d steps\n%s%s", runID, code, len(steps), out, errOut)
	}
	for _, s := range steps {
		want := "ok"
		if s["action"] == "iam:DeleteVirtualMFADevice" {
			want = "kept"
		}
		if s["requestId"] == "" || s["result"] != want {
			t.Errorf("step %v", s)
		}
	}

	// Re-applying the finished plan changes nothing.
	out, errOut, code = runMain(t, "root", "delete-credentials", "apply", plan, "--yes", "-o", "json")
	if code != ExitOK || strings.Count(out, `"status":"no-change"`) != 2 {
		t.Errorf("second apply: exit %d\n%s%s", code, out, errOut)
	}

	// --all --yes: the unreadable sandbox account makes exit 1, the rest is done.
	out, errOut, code = runMain(t, "root", "delete-credentials", "--all", "--yes", "-o", "json")
	all.WriteString(out + errOut)
	if code != ExitError || !strings.Contains(errOut, "555555555555") || !strings.Contains(out, `"account":"888888888888","name":"invited","ouPath":"Root","status":"done"`) {
		t.Errorf("--all --yes: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "111111111111 management: management account: never a target") {
		t.Errorf("--all does not say the management account is skipped:\n%s", errOut)
	}

	// Recovery for the invited account, asked and answered on a "terminal".
	changeStdinIsTerminal = func(io.Reader) bool { return true }
	t.Cleanup(func() { changeStdinIsTerminal = func(r io.Reader) bool { return false } })
	out, errOut, code = runMainWithInput(t, "n\n", "root", "allow-recovery", "--account", "888888888888")
	if code != ExitOK || !strings.Contains(errOut, "Allow root password recovery in 1 accounts? [y/N]") || !strings.Contains(errOut, "not applied") {
		t.Errorf("recovery answered no: exit %d\n%s%s", code, out, errOut)
	}
	// Show, then ask: the accounts (id, name, email, changes) come before the question.
	row, ask := strings.Index(errOut, "888888888888  invited  aws-invited@example.com"), strings.Index(errOut, "Allow root password recovery")
	if row < 0 || row > ask || !strings.Contains(errOut[row:ask], "CreateLoginProfile") {
		t.Errorf("the account table does not come before the question:\n%s", errOut)
	}
	out, errOut, code = runMainWithInput(t, "y\n", "root", "allow-recovery", "--account", "888888888888", "-o", "json")
	all.WriteString(out + errOut)
	if code != ExitOK || !strings.Contains(out, `"changes":["CreateLoginProfile"]`) || !strings.Contains(errOut, "Forgot password") {
		t.Errorf("recovery: exit %d\n%s%s", code, out, errOut)
	}
	if a := actionOf(t, "888888888888"); a != "delete-credentials" {
		t.Errorf("invited after recovery: action %s, want delete-credentials (it has a password again)", a)
	}

	// Never a credential that AssumeRoot returned.
	if s := all.String(); strings.Contains(s, "SecretAccessKey") || strings.Contains(s, "SessionToken") || strings.Contains(s, "ASIA") {
		t.Errorf("credentials printed:\n%s", s)
	}
}

func TestRootUsage(t *testing.T) {
	srv := startSim(t, filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	dir := t.TempDir()
	recovery := filepath.Join(dir, "recovery.json")
	if _, errOut, code := runMain(t, "root", "allow-recovery", "plan", "--account", "888888888888", "--out", recovery); code != ExitOK {
		t.Fatalf("recovery plan: exit %d\n%s", code, errOut)
	}
	// A reviewed plan for prod, its account id edited by hand to invited's.
	reviewed := filepath.Join(dir, "reviewed.json")
	if _, errOut, code := runMain(t, "root", "delete-credentials", "plan", "--account", "333333333333", "--out", reviewed); code != ExitOK {
		t.Fatalf("plan: exit %d\n%s", code, errOut)
	}
	doc, err := os.ReadFile(reviewed)
	if err != nil {
		t.Fatal(err)
	}
	edited := filepath.Join(dir, "edited.json")
	if err := os.WriteFile(edited, bytes.ReplaceAll(doc, []byte(`"333333333333"`), []byte(`"888888888888"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version":1,"kind":"delete-credentials","managementAccount":"111111111111","accounts":[{"account":"111111111111","action":"delete-credentials","steps":[{"key":"DeleteLoginProfile:root","op":"DeleteLoginProfile","target":"root"}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"root", "delete-credentials"}, "name the targets"},
		{[]string{"root", "delete-credentials", "plan", "333333333333"}, "unexpected argument"},
		{[]string{"root", "delete-credentials", "--account", "111111111111", "--yes"}, "management account is never a target"},
		{[]string{"root", "delete-credentials", "plan", "--account", "999999999999"}, "not in the organization"},
		{[]string{"root", "delete-credentials", "plan", "--ou", "Nope"}, "not in the organization"},
		{[]string{"root", "delete-credentials", "plan", "--all", "--force", "nope"}, "no such check"},
		{[]string{"root", "delete-credentials", "plan", "--all", "-o", "xml"}, "unknown output format"},
		{[]string{"root", "delete-credentials", "apply"}, "needs a plan file"},
		{[]string{"root", "delete-credentials", "apply", "a", "b"}, "one plan file"},
		{[]string{"root", "delete-credentials", "apply", "--resume", "nope", "--yes"}, "no such run"},
		{[]string{"root", "delete-credentials", "apply", recovery, "--yes"}, "allow-recovery plan"},
		{[]string{"root", "delete-credentials", "apply", bad, "--yes"}, "never a target"},
		{[]string{"root", "delete-credentials", "apply", edited, "--yes"}, "its digest does not match its content"},
		{[]string{"root", "delete-credentials", "apply", filepath.Join(dir, "missing.json")}, "read plan"},
		{[]string{"root", "allow-recovery", "--all"}, "unknown flag"},
		{[]string{"root", "journal", "a", "b"}, "at most one"},
	} {
		_, errOut, code := runMain(t, tt.args...)
		if code != ExitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, want 2 and %q\n%s", tt.args, code, tt.want, errOut)
		}
	}
	if _, errOut, code := runMain(t, "root", "journal", "no-such-run"); code != ExitError || !strings.Contains(errOut, "no run no-such-run") {
		t.Errorf("journal of an unknown run: exit %d\n%s", code, errOut)
	}
	for op, n := range srv.Counts() {
		if op == "sts:AssumeRoot" && n > 2 || strings.HasPrefix(op, "iam:Delete") || strings.HasPrefix(op, "iam:Create") {
			t.Errorf("a refused command called %s %d times", op, n)
		}
	}
}

// TestWritePrivate: a plan names accounts and what will change in them;
// the file is its owner's only, whether new or overwriting one that others
// could read, and nothing of a longer earlier plan is left in it.
func TestWritePrivate(t *testing.T) {
	for _, tt := range []struct {
		name   string
		before func(t *testing.T, path string)
	}{
		{"new", func(*testing.T, string) {}},
		{"existing world-readable and longer", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte(strings.Repeat("old plan ", 100)), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, 0o666); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "plan.json")
			tt.before(t, path)
			if err := writePrivate(path, []byte(`{"version":1}`)); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", st.Mode().Perm())
			}
			if b, _ := os.ReadFile(path); string(b) != `{"version":1}` {
				t.Errorf("content %q", b)
			}
		})
	}
}
