package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/history"
)

// TestAuditHistoryFromS3: audit history and audit diff read the
// scheduled audit's history (internal/history, as the function writes it)
// from S3 (gofakes3 on 127.0.0.1, the SDK's standard configuration).
func TestAuditHistoryFromS3(t *testing.T) {
	client := startS3(t, "audits")
	loc := history.Location{Bucket: "audits", Prefix: "o-exampleorg1"}
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	run := func(at time.Time, password bool) *audit.Report {
		outcome := audit.Pass
		if password {
			outcome = audit.Fail
		}
		return &audit.Report{StartedAt: at, FinishedAt: at.Add(time.Minute),
			Organization: audit.OrgInfo{ID: "o-exampleorg1", ManagementAccountID: "111111111111"},
			Accounts: []*audit.Account{{ID: "333333333333", Name: "prod", OUPath: "Root/Workloads/Prod", State: "ACTIVE",
				Root:     &audit.Root{Password: password},
				Controls: []audit.Control{{ID: audit.CtlCredentialsGone, Outcome: outcome}}}}}
	}
	for i, pw := range []bool{false, false, true} {
		if _, err := history.Put(t.Context(), client, loc, run(t0.Add(time.Duration(i)*24*time.Hour), pw)); err != nil {
			t.Fatal(err)
		}
	}

	out, errOut, code := runMain(t, "audit", "history", "--from", "s3://audits/o-exampleorg1", "--s3-path-style", "-o", "json", "--limit", "2")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != ExitOK || len(lines) != 2 || !strings.Contains(lines[0], `"id":3`) || !strings.Contains(lines[0], `"withFindings":1`) ||
		!strings.Contains(lines[0], `"source":"s3://audits/o-exampleorg1/2026/12/03/20261203T030000.000Z.jsonl.gz"`) ||
		!strings.Contains(lines[1], `"withFindings":0`) {
		t.Fatalf("history: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runMain(t, "audit", "diff", "--from", "s3://audits/o-exampleorg1", "--s3-path-style", "-o", "json")
	if code != ExitFindings || !strings.Contains(out, `"kind":"password-added"`) || !strings.Contains(errOut, "2026-12-02T03:00:00Z to the audit of 2026-12-03T03:00:00Z") {
		t.Fatalf("diff: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := runMain(t, "audit", "diff", "--from", "audits/o-exampleorg1"); code != ExitUsage || !strings.Contains(errOut, "s3://") {
		t.Errorf("bad --from: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := runMain(t, "audit", "diff", "--from", "s3://audits/none", "--s3-path-style"); code != ExitError || !strings.Contains(errOut, "holds 0 audit(s)") {
		t.Errorf("empty history: exit %d\n%s", code, errOut)
	}
	for _, extra := range [][]string{{"--db", "x.db"}, {"--org", "o-exampleorg1"}} {
		args := append([]string{"audit", "diff", "--from", "s3://audits/o-exampleorg1"}, extra...)
		if _, errOut, code := runMain(t, args...); code != ExitUsage || !strings.Contains(errOut, "--from with --db or --org") {
			t.Errorf("--from %v: exit %d\n%s", extra, code, errOut)
		}
	}
}
