package deploy

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation"
)

// TestCfnLint runs cfn-lint on every template `rootguard deploy print`
// writes (Templates; the CLI's TestDeployPrint checks that print writes
// exactly these) and wants no error and no warning. Beside them it lints
// a template known to be wrong (a StackSet carrying goformation's empty
// "Version", E3001), so a linter that reports nothing at all fails the
// test too. cfn-lint comes from the machine (.ci/run checks it is there);
// without it the test is skipped, except under CI=true, where it fails.
func TestCfnLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("cfn-lint is not on PATH; CI lints every template (.ci/run installs it)")
		}
		t.Skip("cfn-lint is not on PATH")
	}
	ts, err := Templates()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var files []string
	for _, tpl := range ts {
		p := filepath.Join(dir, tpl.Name+".json")
		if err := os.WriteFile(p, tpl.Body, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	bad := stackSetTemplate("{}")
	bad.Resources["MemberStackSet"] = &cloudformation.CustomResource{
		Type:       "AWS::CloudFormation::StackSet",
		Properties: bad.Resources["MemberStackSet"].(*untypedResource).Properties,
	}
	badBody, err := render(bad)
	if err != nil {
		t.Fatal(err)
	}
	badFile := filepath.Join(dir, "known-bad.json")
	if err := os.WriteFile(badFile, badBody, 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.CommandContext(t.Context(), bin, append([]string{"--format", "parseable", "--", badFile}, files...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("cfn-lint: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("cfn-lint stderr:\n%s", stderr.String())
	}
	sawBad := false
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if line == "" {
			continue
		}
		// parseable: FILE:LINE:COL:ENDLINE:ENDCOL:RULE:MESSAGE
		f := strings.SplitN(line, ":", 7)
		if len(f) < 7 {
			t.Errorf("cfn-lint: unexpected line %q", line)
			continue
		}
		switch {
		case f[0] == badFile && f[5] == "E3001":
			sawBad = true
		case f[0] == badFile:
			t.Logf("known-bad template: %s", line)
		case strings.HasPrefix(f[5], "I"):
			t.Logf("cfn-lint (informational): %s", line)
		default:
			t.Errorf("cfn-lint: %s", line)
		}
	}
	if !sawBad {
		t.Errorf("cfn-lint did not report E3001 on the known-bad template; is it linting at all?\n%s", stdout.String())
	}
}
