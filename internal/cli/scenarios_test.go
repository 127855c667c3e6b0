package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestShippedFreshOrgScenario: fresh-org.yaml has every root-access
// feature off; org enable turns them on, and deploy still names the
// StackSets trusted access it lacks, before any change.
func TestShippedFreshOrgScenario(t *testing.T) {
	startSandbox(t, "--scenario", filepath.Join("..", "awssim", "testdata", "fresh-org.yaml"))
	out, errOut, code := runMain(t, "org", "status", "-o", "json")
	if code != ExitFindings || strings.Contains(out, "RootSessions") {
		t.Fatalf("status: exit %d, want features off\n%s%s", code, out, errOut)
	}
	if out, errOut, code := runMain(t, "org", "enable", "--delegated-admin", "222222222222", "--yes", "-o", "json"); code != ExitOK || !strings.Contains(out, `"state":"done"`) {
		t.Fatalf("enable: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runMain(t, "org", "status", "-o", "json")
	if !strings.Contains(out, `"enabledFeatures":["RootCredentialsManagement","RootSessions"]`) {
		t.Errorf("status after enable: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := runMain(t, deployArgs("plan", nil)...); code != ExitUsage || !strings.Contains(errOut, "StackSets trusted access is not enabled") {
		t.Errorf("deploy: exit %d\n%s", code, errOut)
	}
}

// TestShippedLockedPoliciesScenario: locked-policies.yaml has a locked
// bucket and queue for unlock.
func TestShippedLockedPoliciesScenario(t *testing.T) {
	startSandbox(t, "--scenario", filepath.Join("..", "awssim", "testdata", "locked-policies.yaml"))
	out, errOut, code := runMain(t, "unlock", "find", "--all", "--exclude", "Sandbox", "--regions", "us-east-1,eu-west-1,eu-central-1", "--s3-path-style", "-o", "csv")
	if code != ExitFindings || !strings.Contains(errOut, "3 locked") || !strings.Contains(out, "prod-locked") ||
		!strings.Contains(out, "/333333333333/orders") || !strings.Contains(out, "eu-locked") {
		t.Errorf("unlock find: exit %d\n%s%s", code, out, errOut)
	}
}
