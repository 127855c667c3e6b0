package cli

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rootguard/rootguard/internal/awssim"
)

const (
	lockedProd = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyAll","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::prod-locked","arn:aws:s3:::prod-locked/*"]}]}`
	lockedEU   = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"*","Resource":"arn:aws:s3:::eu-locked"}]}`
	lockedMgmt = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::mgmt-locked"}]}`
	lockedQ    = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"sqs:*","Resource":"arn:aws:sqs:eu-west-1:333333333333:orders"}]}`
)

// startUnlockSim serves the example organization with buckets and queues,
// some of them locked.
func startUnlockSim(t *testing.T) *awssim.Server {
	t.Helper()
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sc.Accounts {
		a := &sc.Accounts[i]
		switch a.ID {
		case "111111111111":
			a.Buckets = []awssim.S3Bucket{{Name: "mgmt-locked", Policy: lockedMgmt}}
		case "333333333333":
			a.Buckets = []awssim.S3Bucket{
				{Name: "prod-logs", Versioning: "Enabled", MFADelete: "Enabled"},
				{Name: "prod-locked", Region: "eu-west-1", Policy: lockedProd},
			}
			a.Queues = []awssim.SQSQueue{{Name: "orders", Region: "eu-west-1", Policy: lockedQ}, {Name: "events"}}
		case "444444444444":
			a.Buckets = []awssim.S3Bucket{{Name: "eu-locked", Region: "eu-central-1", Policy: lockedEU}}
		}
	}
	b, err := sc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return startSim(t, path)
}

func TestUnlockFindAgainstSandbox(t *testing.T) {
	startUnlockSim(t)
	regions := "us-east-1,eu-west-1,eu-central-1"
	out, errOut, code := runMain(t, "unlock", "find", "--all", "--exclude", "Sandbox", "--regions", regions, "--s3-path-style", "-o", "json")
	if code != ExitFindings {
		t.Fatalf("find: exit %d\n%s%s", code, out, errOut)
	}
	rows := jsonLines(t, out)
	var got []string
	for _, r := range rows {
		got = append(got, r["account"].(string)+" "+r["service"].(string)+" "+r["region"].(string)+" "+r["resource"].(string))
		if !strings.Contains(r["why"].(string), "only the root user can repair the policy") {
			t.Errorf("why: %v", r)
		}
	}
	want := []string{
		"333333333333 s3 eu-west-1 prod-locked",
		"333333333333 sqs eu-west-1 https://sqs.eu-west-1.amazonaws.com/333333333333/orders",
		"444444444444 s3 eu-central-1 eu-locked",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(errOut, "3 locked, 0 could not be read") || !strings.Contains(errOut, "111111111111 management: management account: never a target") ||
		!strings.Contains(errOut, "rootguard unlock s3 --account ID --bucket NAME") {
		t.Errorf("summary:\n%s", errOut)
	}

	// The sandbox's SCP denies its root sessions: an error, exit 1; the rest is still listed.
	out, errOut, code = runMain(t, "unlock", "find", "--all", "--regions", regions, "--s3-path-style", "-o", "csv")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != ExitError || lines[0] != "account,name,service,region,resource,why,error" || len(lines) != 1+3+4 ||
		!strings.Contains(errOut, "4 could not be read") || !strings.Contains(out, `555555555555,sandbox,s3,,,,"account 555555555555: list buckets`) {
		t.Errorf("--all: exit %d\n%s%s", code, out, errOut)
	}
	// One error per account, once: in its row, not again on stderr.
	if strings.Contains(errOut, "list buckets") {
		t.Errorf("--all: the account's error is repeated on stderr:\n%s", errOut)
	}

	// Nothing locked in the default region of one account: exit 0.
	out, errOut, code = runMain(t, "unlock", "find", "--account", "444444444444", "--s3-path-style")
	if code != ExitOK || strings.TrimSpace(out) != "ACCOUNT\tNAME\tSERVICE\tREGION\tRESOURCE\tWHY\tERROR" || !strings.Contains(errOut, "0 locked") {
		t.Errorf("nothing locked: exit %d\n%s%s", code, out, errOut)
	}
}

func TestUnlockS3AgainstSandbox(t *testing.T) {
	srv := startUnlockSim(t)
	args := []string{"unlock", "s3", "--account", "333333333333", "--bucket", "prod-locked", "--s3-path-style"}

	// Off a terminal without --yes: a dry run that shows the policy.
	out, errOut, code := runMain(t, append(args, "-o", "json")...)
	if code != ExitOK || !strings.Contains(errOut, "current policy:") || !strings.Contains(errOut, `"Sid": "DenyAll"`) ||
		!strings.Contains(errOut, "locked: ") || !strings.Contains(errOut, "would delete it") || !strings.Contains(errOut, "dry run: nothing was changed") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	if rows := jsonLines(t, out); len(rows) != 1 || rows[0]["action"] != "delete-policy" || rows[0]["policy"] != lockedProd || rows[0]["region"] != "eu-west-1" {
		t.Errorf("dry-run plan: %s", out)
	}

	// On a terminal: asked; no changes nothing.
	changeStdinIsTerminal = func(io.Reader) bool { return true }
	t.Cleanup(func() { changeStdinIsTerminal = func(r io.Reader) bool { return false } })
	_, errOut, code = runMainWithInput(t, "n\n", args...)
	if code != ExitOK || !strings.Contains(errOut, "Delete the policy of bucket prod-locked in account 333333333333? The current policy is saved in the journal first. [y/N]") ||
		!strings.Contains(errOut, "not applied") {
		t.Errorf("answered no: exit %d\n%s", code, errOut)
	}
	if c := srv.Counts(); c["s3:DeleteBucketPolicy"] != 0 {
		t.Fatal("changed without a yes")
	}

	// Yes: deleted, journaled.
	out, errOut, code = runMainWithInput(t, "y\n", append(args, "-o", "json")...)
	rows := jsonLines(t, out)
	if code != ExitOK || len(rows) != 1 || rows[0]["status"] != "done" || srv.Counts()["s3:DeleteBucketPolicy"] != 1 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	runID := rows[0]["runId"].(string)
	if !strings.Contains(errOut, "rootguard root journal "+runID+" -o json") {
		t.Errorf("apply summary:\n%s", errOut)
	}
	out, errOut, code = runMain(t, "root", "journal", runID, "-o", "json")
	steps := jsonLines(t, out)
	if code != ExitOK || len(steps) != 4 || !strings.Contains(errOut, "unlock-s3 of organization o-exampleorg1") {
		t.Fatalf("journal: exit %d\n%s%s", code, out, errOut)
	}
	var saved struct{ Policy string }
	if steps[1]["step"] != "save-policy" || json.Unmarshal([]byte(steps[1]["detail"].(string)), &saved) != nil || saved.Policy != lockedProd {
		t.Errorf("the old policy is not in the journal: %v", steps[1])
	}
	if steps[2]["action"] != "s3:DeleteBucketPolicy" || steps[3]["step"] != "verify" || steps[3]["result"] != "ok" {
		t.Errorf("steps: %v", steps)
	}
	out, errOut, code = runMain(t, args...)
	if code != ExitOK || !strings.Contains(errOut, "nothing to do: the bucket has no policy") || !strings.Contains(out, "none") {
		t.Errorf("again: exit %d\n%s%s", code, out, errOut)
	}

	// --policy replaces, with --yes.
	fixed := filepath.Join(t.TempDir(), "fixed.json")
	if err := os.WriteFile(fixed, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::eu-locked/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = runMain(t, "unlock", "s3", "--account", "444444444444", "--bucket", "eu-locked", "--policy", fixed, "--yes", "--s3-path-style", "-o", "csv")
	if code != ExitOK || !strings.Contains(errOut, "would replace it with:") || !strings.Contains(out, ",done,s3:PutBucketPolicy,") || srv.Counts()["s3:PutBucketPolicy"] != 1 {
		t.Errorf("replace: exit %d\n%s%s", code, out, errOut)
	}

	// Refusals: usage errors, nothing changed.
	locking := filepath.Join(t.TempDir(), "locking.json")
	if err := os.WriteFile(locking, []byte(lockedEU), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"unlock", "s3", "--account", "111111111111", "--bucket", "mgmt-locked", "--yes", "--s3-path-style"}, "management account is never a target"},
		{[]string{"unlock", "s3", "--bucket", "prod-locked"}, "name the account"},
		{[]string{"unlock", "s3", "--account", "333333333333"}, "name the bucket"},
		{[]string{"unlock", "sqs", "--account", "333333333333"}, "name the queue"},
		{[]string{"unlock", "s3", "--account", "333333333333", "--bucket", "eu-locked", "--s3-path-style"}, "not among the buckets of account 333333333333"},
		{[]string{"unlock", "s3", "--account", "444444444444", "--bucket", "eu-locked", "--policy", locking, "--s3-path-style"}, "locks the resource too"},
		{[]string{"unlock", "s3", "--account", "444444444444", "--bucket", "eu-locked", "--policy", filepath.Join(t.TempDir(), "missing")}, "read --policy"},
		{[]string{"unlock", "find"}, "name the targets"},
		{[]string{"unlock", "find", "--account", "111111111111"}, "management account is never a target"},
		{[]string{"unlock", "find", "--all", "-o", "xml"}, "unknown output format"},
	} {
		_, errOut, code := runMain(t, tt.args...)
		if code != ExitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, want 2 and %q\n%s", tt.args, code, tt.want, errOut)
		}
	}
	if c := srv.Counts(); c["s3:DeleteBucketPolicy"] != 1 || c["s3:PutBucketPolicy"] != 1 {
		t.Errorf("a refusal changed something: %v", c)
	}
}

func TestUnlockSQSAgainstSandbox(t *testing.T) {
	srv := startUnlockSim(t)
	url := awssim.QueueURL("eu-west-1", "333333333333", "orders")
	out, errOut, code := runMain(t, "unlock", "sqs", "--account", "333333333333", "--queue-url", url, "--yes")
	if code != ExitOK || !strings.Contains(errOut, "queue "+url+" of account 333333333333 (prod), eu-west-1") ||
		!strings.Contains(out, "done") || srv.Counts()["sqs:SetQueueAttributes"] != 1 {
		t.Fatalf("unlock sqs: exit %d\n%s%s", code, out, errOut)
	}
	_, errOut, code = runMain(t, "unlock", "sqs", "--account", "333333333333", "--queue-url", url)
	if code != ExitOK || !strings.Contains(errOut, "nothing to do: the queue has no policy") {
		t.Errorf("again: exit %d\n%s", code, errOut)
	}
	_, errOut, code = runMain(t, "unlock", "sqs", "--account", "444444444444", "--queue-url", url)
	if code != ExitUsage || !strings.Contains(errOut, "belongs to account 333333333333") {
		t.Errorf("another account's queue: exit %d\n%s", code, errOut)
	}
}

// TestDeleteCredentialsMFADelete: the s3-mfa-delete check through the
// CLI: honest without a role, refusing with one, overridden by --force.
func TestDeleteCredentialsMFADelete(t *testing.T) {
	startUnlockSim(t)
	plan := func(extra ...string) map[string]any {
		t.Helper()
		out, errOut, code := runMain(t, append([]string{"root", "delete-credentials", "plan", "--account", "333333333333", "-o", "json", "--out", filepath.Join(t.TempDir(), "p.json")}, extra...)...)
		rows := jsonLines(t, out)
		if code != ExitOK || len(rows) != 1 {
			t.Fatalf("plan %v: exit %d\n%s%s", extra, code, out, errOut)
		}
		return rows[0]
	}
	if row := plan(); row["action"] != "delete-credentials" {
		t.Errorf("without a role: %v", row)
	}
	row := plan("--mfa-delete-role", "OrganizationAccountAccessRole", "--s3-path-style")
	if row["action"] != "refuse" || !strings.Contains(row["reason"].(string), "s3-mfa-delete: MFA Delete enabled on prod-logs (us-east-1)") ||
		!strings.Contains(row["reason"].(string), "unknown for prod-locked (eu-west-1): AccessDenied") {
		t.Errorf("with a role: %v", row)
	}
	if row := plan("--mfa-delete-role", "OrganizationAccountAccessRole", "--s3-path-style", "--force", "s3-mfa-delete"); row["action"] != "delete-credentials" {
		t.Errorf("forced: %v", row)
	}
	file := filepath.Join(t.TempDir(), "plan.json")
	if _, errOut, code := runMain(t, "root", "delete-credentials", "plan", "--account", "333333333333", "--out", file); code != ExitOK {
		t.Fatalf("plan: exit %d\n%s", code, errOut)
	}
	if doc, err := os.ReadFile(file); err != nil || !strings.Contains(string(doc), "not checkable with root sessions: no root-task policy allows s3:GetBucketVersioning") {
		t.Errorf("the plan does not say MFA Delete is not checked: %v\n%s", err, doc)
	}
}

// TestUnlockFindBadRegion: a malformed --regions value is a usage error
// before any AWS call (no credentials are configured here), not a region
// whose queues silently cannot be listed.
func TestUnlockFindBadRegion(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_PROFILE", "")
	_, errOut, code := runMain(t, "unlock", "find", "--all", "--regions", "eu-west-1,eu_west_2")
	if code != ExitUsage || !strings.Contains(errOut, `--regions "eu_west_2" is not a Region name`) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
