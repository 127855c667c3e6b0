package main_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/testenv"
)

// TestClosedLoop: rootguard's own operations, recorded by awssim as AWS's
// CloudTrail records them, read back by rootguard. `audit` and `root
// delete-credentials` run against awssim; `scan` of the organization
// trail awssim delivered to its bucket finds exactly the root sessions
// they opened (the task, the account, how many), each issued by the
// operator, every action joined to its session and none outside its task
// policy; the same records, as the EventBridge events AWS sends, go
// through the alert function under the Lambda RIE, which sees the same
// sessions and actions.
func TestClosedLoop(t *testing.T) {
	sc, err := awssim.LoadScenario(filepath.Join(testenv.ModuleRoot(t), "internal", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e := startLambdaWith(t, sc, "SUMMARY_QUIET=1ms")
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": e.org.URL, "AWS_ACCESS_KEY_ID": e.org.AccessKeyID, "AWS_SECRET_ACCESS_KEY": e.org.SecretAccessKey,
		"AWS_SESSION_TOKEN": "", "AWS_REGION": testenv.Region, "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"XDG_STATE_HOME": dir,
	} {
		t.Setenv(k, v)
	}
	operator := "arn:aws:iam::" + sc.Organization.ManagementAccount + ":user/" + awssim.AdminUserName
	const audit, del = "IAMAuditRootUserCredentials", "IAMDeleteRootUserCredentials"
	want := map[string]int{} // "account task" -> sessions rootguard says it opened

	// audit: one audit session per account it read with AssumeRoot (one
	// of them refused by an SCP after the session was issued).
	out, errOut, code := rootguard(t, "audit", "-o", "json")
	if code > 1 {
		t.Fatalf("audit: exit %d\n%s", code, errOut)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r struct{ Record, Account, Method string }
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Record == "account" && r.Method == "assume-root" {
			want[r.Account+" "+audit]++
		}
	}
	if len(want) != 5 {
		t.Fatalf("audit read %d accounts with root sessions, want 5:\n%s", len(want), out)
	}

	// delete-credentials: an audit session per target to plan, a delete
	// session per account changed.
	out, errOut, code = rootguard(t, "root", "delete-credentials", "--account", "333333333333", "--account", "444444444444",
		"--yes", "-o", "json", "--db", filepath.Join(dir, "rootguard.db"))
	if code != 0 {
		t.Fatalf("delete-credentials: exit %d\n%s%s", code, out, errOut)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r struct {
			Account, Status string
			Changes         []string
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		want[r.Account+" "+audit]++
		if r.Status != "done" || len(r.Changes) == 0 {
			t.Fatalf("delete-credentials %s: %s", r.Account, l)
		}
		want[r.Account+" "+del]++
	}

	// scan of the trail bucket.
	trailURI := "s3://" + e.org.Server.TrailBucket() + "/AWSLogs/" + sc.Organization.ID + "/"
	out, errOut, code = rootguard(t, "scan", "-o", "json", trailURI)
	if code != 3 {
		t.Fatalf("scan: exit %d\n%s", code, errOut)
	}
	got := map[string]int{}
	keys := map[string]string{} // issued access key -> "account task"
	var actions []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var f map[string]any
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatal(err)
		}
		s, _ := f["session"].(map[string]any)
		switch f["category"] {
		case "root-session-issued":
			if s["issuedBy"] != operator || f["account"] != sc.Organization.ManagementAccount {
				t.Errorf("session issued by %v in %v, want %s in the management account", s["issuedBy"], f["account"], operator)
			}
			k := fmt.Sprint(s["targetAccount"], " ", s["taskPolicy"])
			got[k]++
			keys[s["accessKeyId"].(string)] = k
		case "root-session-activity":
			actions = append(actions, f)
		default:
			t.Errorf("scan found %v %v in %v: rootguard's operations are root sessions only", f["category"], f["eventName"], f["account"])
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("scan found sessions %v, want those rootguard opened %v", got, want)
	}
	perSession := map[string]int{}
	for _, f := range actions {
		s := f["session"].(map[string]any)
		k, ok := keys[f["accessKeyId"].(string)]
		if !ok || s["attributed"] != true || s["issuedBy"] != operator || k != fmt.Sprint(f["account"], " ", s["taskPolicy"]) {
			t.Errorf("%v in %v not joined to its session: %v", f["eventName"], f["account"], s)
		}
		if s["outsideTaskPolicy"] != false {
			t.Errorf("%v in %v (%v) is outside its task policy", f["eventName"], f["account"], s["taskPolicy"])
		}
		perSession[f["accessKeyId"].(string)]++
	}
	if len(perSession) != len(keys) {
		t.Errorf("%d sessions acted, %d issued: every session rootguard opens makes calls", len(perSession), len(keys))
	}

	// The same records as EventBridge events, through the alert function.
	var issued, acted int
	for _, ev := range e.org.Server.TrailEvents() {
		res, inv := e.invoke(t, ev)
		if inv.FunctionError {
			t.Fatalf("invoke: %s\n%s", inv.Body, e.rie.Logs())
		}
		switch res.Category {
		case "root-session-issued":
			issued++
		case "root-session-activity":
			acted++
			if res.Outcome != alert.Summarised || res.Severity != "medium" {
				t.Errorf("alert: %+v: an action within its task policy is kept for the summary", res)
			}
		default:
			if res.Outcome != alert.Dropped {
				t.Errorf("alert: %+v: rootguard's other calls are not root activity", res)
			}
		}
	}
	if issued != len(keys) || acted != len(actions) {
		t.Errorf("alert saw %d sessions and %d actions; scan %d and %d", issued, acted, len(keys), len(actions))
	}
	if res, _ := e.invoke(t, []byte(`{"rootguard":"flush"}`)); res.Summaries != len(keys) {
		t.Errorf("flush: %d summaries, want one per session (%d)", res.Summaries, len(keys))
	}
	msgs := e.main.Receive(t, time.Second)
	cats := map[string]int{}
	for _, m := range msgs {
		cats[m.Attributes["category"]]++
		if strings.Contains(m.Message, "outside its task policy") {
			t.Errorf("%q says an action was outside its task policy", m.Subject)
		}
	}
	if cats["root-session-issued"] != len(keys) || cats["session-summary"] != len(keys) || len(cats) != 2 {
		t.Errorf("alerts by category %v, want %d starts and %d summaries", cats, len(keys), len(keys))
	}
}
