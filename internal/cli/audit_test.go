package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// startSandbox runs `rootguard sandbox` in-process and points the AWS SDK's
// standard configuration at it through the environment.
func startSandbox(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan map[string]string, 1)
	done := make(chan int, 1)
	cmd := newSandboxCmdReady(IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}},
		func() *slog.Logger { return slog.New(slog.DiscardHandler) }, func(env map[string]string) { ready <- env })
	// SNS and DynamoDB only where a test asks for them: goaws is one per
	// process, and dynalite takes a second to start.
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--sns") }) {
		args = append([]string{"--sns=false"}, args...)
	}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--dynamodb") }) {
		args = append([]string{"--dynamodb=false"}, args...)
	}
	cmd.SetArgs(args)
	go func() {
		err := cmd.ExecuteContext(ctx)
		code := 0
		if err != nil {
			code = 1
		}
		done <- code
	}()
	var env map[string]string
	select {
	case env = <-ready:
	case <-done:
		t.Fatal("sandbox stopped before serving")
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox did not start")
	}
	t.Cleanup(func() {
		cancel()
		<-done
	})
	for k, v := range env {
		t.Setenv(k, v)
	}
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("XDG_STATE_HOME", t.TempDir())
}

func runMain(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(t.Context(), args, IO{In: strings.NewReader(""), Out: &out, Err: &errb})
	return out.String(), errb.String(), code
}

func TestAuditAgainstSandbox(t *testing.T) {
	startSandbox(t, "--scenario", filepath.Join("..", "awssim", "testdata", "scenario.yaml"), "--report-delay", "10ms")
	dir := t.TempDir()
	asff, html := filepath.Join(dir, "findings.json"), filepath.Join(dir, "audit.html")
	out, errOut, code := runMain(t, "audit", "-o", "json", "--export", "asff="+asff, "--export", "html="+html, "--export", "securityhub")
	if code != ExitError {
		t.Errorf("exit %d, want 1: the sandbox account behind a blocking SCP cannot be audited\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 9 {
		t.Fatalf("%d records printed, want the organization and 8 accounts:\n%s", len(lines), out)
	}
	// The organization's record comes first, marked as such, with the
	// organization-wide controls: every verdict is on stdout.
	var org struct {
		Record       string
		Organization struct{ ID string }
		Controls     []struct{ ID, Outcome string }
	}
	if err := json.Unmarshal([]byte(lines[0]), &org); err != nil {
		t.Fatal(err)
	}
	if org.Record != "organization" || org.Organization.ID != "o-exampleorg1" || len(org.Controls) != 2 ||
		org.Controls[0].ID != "RG.ORG.1" || org.Controls[1].ID != "RG.ORG.2" {
		t.Errorf("organization record = %+v", org)
	}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, `{"record":"account",`) {
			t.Errorf("account record not marked: %.80s", l)
		}
	}
	var prod struct {
		Account  string
		Method   string
		Controls []struct{ ID, Outcome string }
	}
	for _, l := range lines {
		if strings.Contains(l, `"account":"333333333333"`) {
			if err := json.Unmarshal([]byte(l), &prod); err != nil {
				t.Fatal(err)
			}
		}
	}
	if prod.Method != "assume-root" || len(prod.Controls) != 6 {
		t.Errorf("prod = %+v", prod)
	}
	for _, want := range []string{"organization o-exampleorg1", "1 accounts could not be audited", "555555555555", "p-denyroot01", "recorded as audit 1",
		"Security Hub (us-east-1) imported 10 findings (10 failing, 0 resolved, 0 of accounts that left), refused 0"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	for _, p := range []string{asff, html} {
		b, err := os.ReadFile(p)
		if err != nil || len(b) < 1000 {
			t.Errorf("%s: %d bytes, %v", p, len(b), err)
		}
	}
	// Never a credential that AssumeRoot returned.
	if strings.Contains(out+errOut, "SecretAccessKey") || strings.Contains(out+errOut, "SessionToken") {
		t.Error("credentials printed")
	}

	// A second audit changes nothing: diff exits 0; history lists both.
	if _, errOut, code := runMain(t, "audit", "-o", "csv"); code != ExitError {
		t.Fatalf("second audit: exit %d\n%s", code, errOut)
	}
	out, errOut, code = runMain(t, "audit", "diff")
	if code != ExitOK || !strings.Contains(errOut, "0 changes") {
		t.Errorf("diff: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = runMain(t, "audit", "history", "-o", "csv")
	if code != ExitOK || strings.Count(out, "o-exampleorg1") != 2 {
		t.Errorf("history: exit %d\n%s", code, out)
	}
}

func TestSandboxUsage(t *testing.T) {
	for _, args := range [][]string{
		{"sandbox", "--throttle", "AssumeRoot"},
		{"sandbox", "--fault-rate", "2"},
		{"sandbox", "--accounts", "0"},
		{"sandbox", "--scenario", "no-such-file.yaml"},
		{"audit", "--export", "pdf=x"},
	} {
		if _, errOut, code := runMain(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, errOut)
		}
	}
}
