package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

	out, errOut, code := run("plan")
	if code != ExitOK || strings.Count(out, "create ") != 5 || !strings.Contains(out, "Add Function (AWS::Lambda::Function)") {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.HasPrefix(out, "present    trail    arn:aws:cloudtrail:us-east-1:111111111111:trail/awssim-org-trail") ||
		strings.Contains(errOut, "warning") {
		t.Errorf("plan: the sandbox's organization trail is not reported present:\n%s%s", out, errOut)
	}
	out, errOut, code = run("apply")
	if code != ExitOK || !strings.Contains(errOut, "dry run: nothing changed") || strings.Contains(out, "created") {
		t.Fatalf("apply without --yes: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run("apply", "--yes")
	// Workloads holds two accounts: 2 x 2 regions.
	if code != ExitOK || strings.Count(out, "created ") != 5 || !strings.Contains(out, "4 stack instances succeeded") ||
		!strings.Contains(errOut, "rootguard-member create instances") {
		t.Fatalf("apply --yes: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run("apply", "--yes", "-o", "json")
	if code != ExitOK || strings.Count(out, `"action":"unchanged"`) != 5 || !strings.Contains(errOut, "nothing to change") {
		t.Fatalf("apply again: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := runMain(t, "deploy", "plan", "--audit-account", "222222222222"); code != ExitUsage || !strings.Contains(errOut, "required") {
		t.Errorf("missing flags: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := run("plan", "--language", "fr"); code != ExitUsage || !strings.Contains(errOut, `language "fr"`) {
		t.Errorf("bad language: exit %d\n%s", code, errOut)
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
	out, errOut, code := run("apply", "--yes", "--keep-removed")
	if code != ExitOK || !strings.Contains(errOut, "nothing to change") ||
		!strings.Contains(out, "    Keep account 444444444444 region ap-northeast-1 (OU ou-ex12-workload, CURRENT): outside the OUs and regions given\n") {
		t.Fatalf("apply --keep-removed: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run("apply", "--yes")
	if code != ExitOK || !strings.Contains(out, "updated    stackset rootguard-member") || !strings.Contains(out, "    2 stack instances removed\n") ||
		!strings.Contains(errOut, "rootguard-member delete instances") {
		t.Fatalf("apply --yes: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run("apply", "--yes", "-o", "json")
	if code != ExitOK || strings.Count(out, `"action":"unchanged"`) != 5 || !strings.Contains(errOut, "nothing to change") {
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
	if code != ExitError || !strings.Contains(out, "Account used is not a delegated administrator") {
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
	b, err := sc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "trail.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	startSim(t, path)
	out, errOut, code := runMain(t, "deploy", "plan", "--audit-account", "222222222222", "--ou", "ou-ex12-workload",
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
