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
