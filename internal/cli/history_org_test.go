package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/store"
)

// twoOrgHistory writes a history database holding two audits of
// o-exampleorg1 (the sandbox's organization) and, newest, one of
// o-otherorg0001 whose accounts all differ.
func twoOrgHistory(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rootguard.db")
	st, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	rep := func(org, account string, at time.Time) *audit.Report {
		return &audit.Report{StartedAt: at, FinishedAt: at.Add(time.Minute), Organization: audit.OrgInfo{ID: org},
			Accounts: []*audit.Account{{ID: account, Name: "acct-" + account, State: "ACTIVE", OUPath: "Root", Root: &audit.Root{}}}}
	}
	for _, r := range []*audit.Report{
		rep("o-exampleorg1", "111111111111", t0),
		rep("o-exampleorg1", "111111111111", t0.Add(time.Hour)),
		rep("o-otherorg0001", "999999999999", t0.Add(2*time.Hour)),
	} {
		if _, err := st.SaveAudit(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestAuditDiffNeverMixesOrganizations: the newest audit is another
// organization's; diff does not compare it with the previous one (of
// o-exampleorg1) but says it has one audit of it, and --org compares
// o-exampleorg1's two.
func TestAuditDiffNeverMixesOrganizations(t *testing.T) {
	db := twoOrgHistory(t)
	out, errOut, code := runMain(t, "audit", "diff", "--db", db)
	if code != ExitError || out != "" || !strings.Contains(errOut, "holds 1 audit(s) of organization o-otherorg0001: diff needs two of the same organization (the history also holds o-exampleorg1: --org chooses)") {
		t.Errorf("diff: exit %d, want 1 and no change compared\n%s%s", code, out, errOut)
	}
	out, errOut, code = runMain(t, "audit", "diff", "--db", db, "--org", "o-exampleorg1")
	if code != ExitOK || !strings.Contains(errOut, "rootguard: organization o-exampleorg1 (the history also holds o-otherorg0001") || !strings.Contains(errOut, "0 changes") {
		t.Errorf("diff --org: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := runMain(t, "audit", "diff", "--db", db, "--org", "o-nosuchorg01"); code != ExitUsage || !strings.Contains(errOut, "holds no audit of it") {
		t.Errorf("diff --org unknown: exit %d\n%s", code, errOut)
	}
}

// TestPlanReadsTheCurrentOrganizationsAudit: with two organizations in
// the history, plan reads the credentials' organization's audit (not the
// newest, another organization's) and says which; --org chooses.
func TestPlanReadsTheCurrentOrganizationsAudit(t *testing.T) {
	db := twoOrgHistory(t)
	cfg := writeConfig(t, "default: flexible\n")
	startSim(t, filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	out, errOut, code := runMain(t, "plan", "--db", db, "--config", cfg, "-o", "csv")
	if code == ExitUsage || code == ExitError || !strings.Contains(out, "111111111111") || strings.Contains(out, "999999999999") ||
		!strings.Contains(errOut, "of organization o-exampleorg1") {
		t.Errorf("plan: exit %d, want o-exampleorg1's audit\n%s%s", code, out, errOut)
	}
	out, errOut, code = runMain(t, "plan", "--db", db, "--config", cfg, "-o", "csv", "--org", "o-otherorg0001")
	if !strings.Contains(out, "999999999999") || strings.Contains(out, "111111111111") || !strings.Contains(errOut, "of organization o-otherorg0001") {
		t.Errorf("plan --org: exit %d\n%s%s", code, out, errOut)
	}
}
