package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/history"
	"github.com/rootguard/rootguard/internal/notify"
	"github.com/rootguard/rootguard/internal/store"
)

// digestRun is a daily audit of one account in a strict OU whose root
// gets a password on day 6.
func digestRun(at time.Time, day int) *audit.Report {
	a := &audit.Account{ID: "333333333333", Name: "prod", OUPath: "Root/Workloads/Prod", State: "ACTIVE", Method: audit.MethodAssumeRoot,
		Root: &audit.Root{Password: day >= 6}, SCPsChecked: true}
	a.Controls = audit.Evaluate(a, at)
	return &audit.Report{StartedAt: at, FinishedAt: at.Add(time.Minute),
		Organization: audit.OrgInfo{ID: "o-exampleorg1", ManagementAccountID: "111111111111"}, Accounts: []*audit.Account{a}}
}

// TestAuditDigest: audit digest writes the weekly digest from the
// scheduled audit's S3 history (gofakes3, the SDK's standard
// configuration) and from the history database: nine daily audits, the
// newest compared with the one seven days earlier, the regression of
// day 6 listed, exit 3 while an account needs action; an empty database
// is a digest saying so, exit 0.
func TestAuditDigest(t *testing.T) {
	client := startS3(t, "audits")
	db := filepath.Join(t.TempDir(), "rootguard.db")
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	loc := history.Location{Bucket: "audits", Prefix: "o-exampleorg1"}
	newest := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for day := 0; day <= 8; day++ {
		rep := digestRun(newest.Add(time.Duration(day-8)*24*time.Hour), day)
		if _, err := history.Put(t.Context(), client, loc, rep); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SaveAudit(t.Context(), rep); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	for _, src := range [][]string{{"--from", "s3://audits/o-exampleorg1", "--s3-path-style"}, {"--db", db}} {
		out, errOut, code := runMain(t, append([]string{"audit", "digest", "--strict-ou", "Root/Workloads/Prod"}, src...)...)
		if code != ExitFindings || !strings.Contains(out, "Weekly root digest of o-exampleorg1") ||
			!strings.Contains(out, "With root credentials:    1 (+1)") || !strings.Contains(out, "Got worse this week (1):") ||
			!strings.Contains(out, "333333333333 (prod): root credential appeared: root has a password") ||
			!strings.Contains(out, "strict: 1 OUs, 1 accounts, 1 with root credentials (+1)") {
			t.Errorf("%v: exit %d\n%s%s", src, code, out, errOut)
		}
		if want := "Details: rootguard audit history " + strings.Join(src[:2], " "); !strings.Contains(out, want) {
			t.Errorf("%v: no %q\n%s", src, want, out)
		}
		out, errOut, code = runMain(t, append([]string{"audit", "digest", "-o", "json"}, src...)...)
		var wk notify.Weekly
		if err := json.Unmarshal([]byte(out), &wk); err != nil || code != ExitFindings {
			t.Fatalf("%v json: exit %d %v\n%s%s", src, code, err, out, errOut)
		}
		if wk.Runs != 7 || wk.Then == nil || !wk.Then.At.Equal(newest.Add(-7*24*time.Hour)) || len(wk.Regressions) != 1 ||
			wk.Now.Posture != nil || len(wk.NeedsAction) != 1 || wk.NeedsAction[0].Account != "333333333333" {
			t.Errorf("%v json: %s", src, out)
		}
	}
	// A strict OU written otherwise than audit writes it would count
	// nothing as strict: refused, with the path to write instead.
	if out, errOut, code := runMain(t, "audit", "digest", "--db", db, "--strict-ou", "/Workloads/Prod"); code != ExitUsage || out != "" ||
		!strings.Contains(errOut, `--strict-ou "/Workloads/Prod": an OU path starts at Root (Root/Workloads/Prod)`) {
		t.Errorf("--strict-ou /Workloads/Prod: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code := runMain(t, "audit", "digest", "--from", "s3://audits/o-exampleorg1", "--s3-path-style", "--language", "ja")
	if code != ExitFindings || !strings.Contains(out, "今週悪化した項目（1 件）") {
		t.Errorf("ja: exit %d\n%s", code, out)
	}

	empty := filepath.Join(t.TempDir(), "empty.db")
	if out, errOut, code := runMain(t, "audit", "digest", "--db", empty); code != ExitOK || !strings.Contains(out, "holds no run of the scheduled audit yet") {
		t.Errorf("empty: exit %d\n%s%s", code, out, errOut)
	}
	for _, args := range [][]string{
		{"--from", "s3://audits/o-exampleorg1", "--db", db},
		{"--language", "fr"},
		{"-o", "csv"},
		{"--from", "audits/o-exampleorg1"},
	} {
		if _, errOut, code := runMain(t, append([]string{"audit", "digest"}, args...)...); code != ExitUsage {
			t.Errorf("%v: exit %d, want usage\n%s", args, code, errOut)
		}
	}
}
