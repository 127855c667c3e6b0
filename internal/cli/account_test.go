package cli

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

type createLine struct {
	DryRun bool
	Mode   *struct{ Mode, Source string }
	Plan   struct {
		OUID, OUPath string
		Steps        []string
		Warnings     []string
	}
	Result *struct {
		RequestID, Account, OUPath string
		Done                       []string
		Root                       *struct{ Password bool }
		Checks                     []struct {
			ID     string
			OK     bool
			Detail string
		}
		Secure bool
	}
}

// TestAccountCreateAgainstSandbox creates an account end to end: a dry
// run first, then --yes: CreateAccount, the wait, MoveAccount, and the
// checks in a root session; a later audit sees it where it belongs,
// without root credentials.
func TestAccountCreateAgainstSandbox(t *testing.T) {
	startSandbox(t, "--scenario", filepath.Join("..", "awssim", "testdata", "scenario.yaml"), "--report-delay", "10ms")
	cfg := writeConfig(t, sandboxConfig)
	args := []string{"account", "create", "--name", "payments-prod", "--email", "aws-payments-prod@example.com", "--ou", "Workloads/Prod", "--config", cfg}

	out, errOut, code := runMain(t, args...)
	if code != ExitOK || !strings.Contains(errOut, "dry run: nothing changed") ||
		!strings.Contains(out, "MoveAccount from the root r-ex12 to Root/Workloads/Prod (ou-ex12-prod0001)") ||
		!strings.Contains(out, "mode of Root/Workloads/Prod: strict (ous[0] Root/Workloads/Prod)") || strings.Contains(out, "not secure") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}

	out, errOut, code = runMain(t, append(args, "--yes", "--poll-interval", "10ms", "-o", "json")...)
	if code != ExitOK {
		t.Fatalf("create: exit %d\n%s%s", code, out, errOut)
	}
	var res createLine
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	r := res.Result
	if res.DryRun || r == nil || !r.Secure || r.Account == "" || len(r.Checks) != 4 || r.Root == nil || r.Root.Password || len(r.Done) != 3 {
		t.Fatalf("result %+v", r)
	}
	for _, want := range []string{"creating account: IN_PROGRESS", "creating account: SUCCEEDED", "account " + r.Account + " created in Root/Workloads/Prod"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(out+errOut, "SecretAccessKey") || strings.Contains(out+errOut, "SessionToken") {
		t.Error("credentials printed")
	}

	// The audit finds it in its OU, RG.ROOT.1 passing.
	out, _, _ = runMain(t, "audit", "-o", "json", "--no-history")
	var found bool
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var a struct {
			Account, OUPath string
			Controls        []struct{ ID, Outcome string }
		}
		if err := json.Unmarshal([]byte(l), &a); err != nil || a.Account != r.Account {
			continue
		}
		found = true
		for _, c := range a.Controls {
			if c.ID == "RG.ROOT.1" && c.Outcome != "pass" || a.OUPath != "Root/Workloads/Prod" {
				t.Errorf("audited new account: %+v", a)
			}
		}
	}
	if !found {
		t.Errorf("the audit does not list %s:\n%s", r.Account, out)
	}

	// The same email again is refused before anything changes.
	if _, errOut, code := runMain(t, append(args, "--yes")...); code != ExitUsage || !strings.Contains(errOut, "root email of account "+r.Account) {
		t.Errorf("same email: exit %d\n%s", code, errOut)
	}
}

// TestAccountCreateInsecure: in the Sandbox OU, whose SCP denies root
// sessions too, the account is created and reported not secure.
func TestAccountCreateInsecure(t *testing.T) {
	startSandbox(t, "--scenario", filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	args := []string{"account", "create", "--name", "lab", "--email", "aws-lab@example.com", "--ou", "ou-ex12-sandbox1", "--config", filepath.Join(t.TempDir(), "none.yaml")}
	// A named configuration that does not exist is a usage error.
	if _, errOut, code := runMain(t, args...); code != ExitUsage || !strings.Contains(errOut, "none.yaml") {
		t.Errorf("missing --config: exit %d\n%s", code, errOut)
	}
	args = args[:len(args)-2]
	out, _, code := runMain(t, args...)
	if code != ExitOK || !strings.Contains(out, "not secure: SCP p-denyroot01 (DenyRootUser, on Root/Sandbox (ou-ex12-sandbox1)) denies root sessions too") {
		t.Errorf("dry run: exit %d\n%s", code, out)
	}
	out, errOut, code := runMain(t, append(args, "--yes", "--poll-interval", "10ms")...)
	if code != ExitFindings || !strings.Contains(errOut, "is not secure: 2 check(s) failed") {
		t.Fatalf("create: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"done  MoveAccount r-ex12 -> Root/Sandbox", "FAIL  root-deny-scp", "FAIL  root-credentials  root user not read", "ok    ou                in Root/Sandbox (ou-ex12-sandbox1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

// TestAccountCreatePrompt: on a terminal, the plan is shown and a y/N
// question asked; anything but y changes nothing.
func TestAccountCreatePrompt(t *testing.T) {
	startSandbox(t, "--scenario", filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	run := func(answer string) (string, string, int) {
		var out, errb bytes.Buffer
		code := Main(t.Context(), []string{"account", "create", "--name", "x", "--email", "aws-x@example.com", "--ou", "Root", "--poll-interval", "10ms"},
			IO{In: strings.NewReader(answer), Out: &out, Err: &errb, OutTTY: true, ErrTTY: true})
		return out.String(), errb.String(), code
	}
	out, errOut, code := run("n\n")
	if code != ExitOK || !strings.Contains(errOut, `Create account "x" in Root? [y/N]`) || !strings.Contains(errOut, "nothing changed") || strings.Contains(out, "done") {
		t.Errorf("answer n: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run("y\n")
	// Under the root no root-deny SCP applies: created, not secure.
	if code != ExitFindings || !strings.Contains(out, "done  account ") || !strings.Contains(errOut, "creating account: SUCCEEDED") {
		t.Errorf("answer y: exit %d\n%s%s", code, out, errOut)
	}
}

func TestAccountCreateUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"account", "create"}, "needs --name, --email, --ou"},
		{[]string{"account", "create", "--name", "n", "--email", "no-at-sign", "--ou", "Root"}, "--email"},
		{[]string{"account", "create", "--name", strings.Repeat("n", 51), "--email", "a@example.com", "--ou", "Root"}, "--name"},
		{[]string{"account", "create", "--name", "tab\there", "--email", "a@example.com", "--ou", "Root"}, "--name"},
		{[]string{"account", "create", "--name", "n", "--email", "a@example.com", "--ou", "Root", "-o", "csv"}, "--output"},
		{[]string{"account", "create", "--name", "n", "--email", "a@example.com", "--ou", "Root", "--poll-interval", "0s"}, "--poll-interval"},
	} {
		if _, errOut, code := runMain(t, tc.args...); code != ExitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q\n%s", tc.args, code, tc.want, errOut)
		}
	}
	startSandbox(t, "--scenario", filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if _, errOut, code := runMain(t, "account", "create", "--name", "n", "--email", "a@example.com", "--ou", "Workloads/Nope"); code != ExitUsage || !strings.Contains(errOut, "no such OU") {
		t.Errorf("unknown OU: exit %d\n%s", code, errOut)
	}
}
