package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rootguard/rootguard/internal/awssim"
)

func TestOrgStatusAndEnable(t *testing.T) {
	// The example organization before centralized root access was enabled.
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc.Organization.Features = nil
	sc.Organization.TrustedAccess = nil
	sc.Organization.DelegatedAdministrators = nil
	b, err := sc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fresh.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	startSandbox(t, "--scenario", path)

	out, errOut, code := runMain(t, "org", "status")
	if code != ExitFindings || !strings.Contains(out, "root sessions             NOT enabled") || !strings.Contains(errOut, "p-denyroot01") {
		t.Errorf("status before: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runMain(t, "org", "enable", "--delegated-admin", "222222222222")
	if code != ExitOK || strings.Count(out, "would-do") != 4 || !strings.Contains(errOut, "dry run: nothing changed") {
		t.Errorf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runMain(t, "org", "enable", "--delegated-admin", "222222222222", "--yes", "-o", "json")
	if code != ExitOK || strings.Count(out, `"state":"done"`) != 4 {
		t.Errorf("apply: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = runMain(t, "org", "enable", "--delegated-admin", "222222222222", "--yes")
	if code != ExitOK || strings.Count(out, "already-done") != 4 {
		t.Errorf("again: exit %d\n%s", code, out)
	}
	out, errOut, code = runMain(t, "org", "status", "-o", "json")
	// Still exit 3: the SCP on Sandbox blocks root sessions there.
	if code != ExitFindings || !strings.Contains(out, `"enabledFeatures":["RootCredentialsManagement","RootSessions"]`) ||
		!strings.Contains(out, `"iamDelegatedAdministrators":["222222222222"]`) {
		t.Errorf("status after: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := runMain(t, "org", "enable", "--delegated-admin", "111111111111", "--yes"); code != ExitUsage || !strings.Contains(errOut, "own delegated administrator") {
		t.Errorf("management as delegated admin: exit %d\n%s", code, errOut)
	}
}
