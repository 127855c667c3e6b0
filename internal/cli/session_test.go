package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/store"
)

// TestRootSession: a session opens only under an approval requested by
// the caller and approved by another principal; its key is recorded
// against the approval and in the journal before COMMAND runs with the
// credentials; the credentials appear nowhere else. Without approval it
// refuses, unless --emergency, which pages.
func TestRootSession(t *testing.T) {
	e := startApprovalEnv(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "rootguard.db")
	alice := e.as(t, operatorRole, "alice@example.com")
	out, errOut, code := runMain(t, "approval", "request", "--account", "333333333333", "--task", "s3-unlock", "--for", "1h",
		"--reason", "INC-4711", "-o", "json")
	if code != ExitOK {
		t.Fatalf("request: %s", errOut)
	}
	id := decodeApproval(t, out).ID

	// Not yet approved: refused.
	_, errOut, code = runMain(t, "root", "session", "--account", "333333333333", "--task", "s3-unlock", "--db", db, "--export-credentials", "process")
	if code != ExitError || !strings.Contains(errOut, "refused: no approval covers s3-unlock for 333333333333 by "+alice) {
		t.Fatalf("before approval: exit %d\n%s", code, errOut)
	}
	e.as(t, approverRole, "bob@example.com")
	if _, errOut, code := runMain(t, "approval", "approve", id, "--config", e.config); code != ExitOK {
		t.Fatalf("approve: %s", errOut)
	}
	e.queue.Receive(t, time.Second) // the request and the approval

	e.as(t, operatorRole, "alice@example.com")
	secretFile := filepath.Join(dir, "seen")
	out, errOut, code = runMain(t, "root", "session", "--account", "333333333333", "--task", "s3-unlock", "--db", db, "--config", e.config, "--",
		"sh", "-c", `printf '%s %s %s' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "${AWS_PROFILE-unset}" > "$0"; exit 7`, secretFile)
	if code != 7 {
		t.Fatalf("session: exit %d, want the command's 7\n%s%s", code, out, errOut)
	}
	seen, err := os.ReadFile(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(seen))
	if len(f) != 3 || !strings.HasPrefix(f[0], "ASIA") || f[1] == "" || f[2] != "unset" {
		t.Fatalf("the command saw %q", seen)
	}
	akid, secret := f[0], f[1]
	if strings.Contains(out+errOut, secret) {
		t.Error("the secret was printed")
	}
	wantIn(t, errOut, "root session "+akid+" on 333333333333 (S3UnlockBucketPolicy) under request "+id)

	// A second session in the window, its credentials printed on request.
	out, errOut, code = runMain(t, "root", "session", "--account", "333333333333", "--task", "s3-unlock", "--db", db, "--export-credentials", "process")
	var creds struct {
		Version                                                int
		AccessKeyId, SecretAccessKey, SessionToken, Expiration string
	}
	if code != ExitOK || json.Unmarshal([]byte(out), &creds) != nil || creds.Version != 1 || creds.AccessKeyId == akid || creds.SessionToken == "" {
		t.Fatalf("--export-credentials process: exit %d\n%s%s", code, out, errOut)
	}
	if exp, err := time.Parse(time.RFC3339, creds.Expiration); err != nil || exp.After(time.Now().Add(901*time.Second)) {
		t.Errorf("expiration %q: a root session lasts at most 900 s", creds.Expiration)
	}

	// Both sessions are recorded against the approval and in the journal.
	tb := alert.NewTable(e.db.Client, "rootguard")
	a, err := tb.GetApproval(t.Context(), id)
	if err != nil || len(a.Sessions) != 2 || a.Sessions[0] != akid || a.Status(time.Now()) != alert.StatusUsed {
		t.Fatalf("approval after two sessions: %+v, %v", a, err)
	}
	if by, _ := tb.ApprovalByKey(t.Context(), creds.AccessKeyId); by == nil || by.ID != id {
		t.Errorf("the second key does not lead to %s", id)
	}
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.Runs(t.Context(), 10)
	if err != nil || len(runs) != 2 || runs[0].Kind != "root-session" || runs[0].CallerARN != alice {
		t.Fatalf("journal runs %+v, %v", runs, err)
	}
	var journal strings.Builder
	for _, r := range runs {
		steps, _ := st.Steps(t.Context(), r.ID)
		for _, s := range steps {
			journal.WriteString(s.Step + " " + s.Action + " " + s.Result + " " + s.Detail + " " + s.Error + "\n")
		}
	}
	wantIn(t, journal.String(), `"accessKeyId":"`+akid+`"`, `"approval":"`+id+`"`, "command exec failed  exit 7")
	if strings.Contains(journal.String(), secret) || strings.Contains(journal.String(), creds.SecretAccessKey) {
		t.Error("a secret reached the journal")
	}

	// --renew: COMMAND gets a local credentials endpoint, not keys in its
	// environment; the SDK's container provider reads the session from it.
	uriFile := filepath.Join(dir, "endpoint")
	type result struct {
		out, errOut string
		code        int
	}
	done := make(chan result, 1)
	go func() {
		out, errOut, code := runMain(t, "root", "session", "--account", "333333333333", "--task", "s3-unlock", "--db", db, "--renew", "--",
			"sh", "-c", `printf '%s %s %s' "$AWS_CONTAINER_CREDENTIALS_FULL_URI" "$AWS_CONTAINER_AUTHORIZATION_TOKEN" "${AWS_ACCESS_KEY_ID-unset}" > "$0.tmp" && mv "$0.tmp" "$0"
while [ ! -e "$0.done" ]; do sleep 0.05; done`, uriFile)
		done <- result{out, errOut, code}
	}()
	var endpoint []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(uriFile); err == nil {
			endpoint = strings.Fields(string(b))
			break
		}
	}
	if len(endpoint) != 3 || !strings.HasPrefix(endpoint[0], "http://127.0.0.1:") || endpoint[2] != "unset" {
		t.Fatalf("--renew: the command saw %q", endpoint)
	}
	renewed, err := endpointcreds.New(endpoint[0], func(o *endpointcreds.Options) { o.AuthorizationToken = endpoint[1] }).Retrieve(t.Context())
	if werr := os.WriteFile(uriFile+".done", nil, 0o600); werr != nil {
		t.Fatal(werr)
	}
	r := <-done
	if err != nil || !strings.HasPrefix(renewed.AccessKeyID, "ASIA") || renewed.SessionToken == "" {
		t.Fatalf("--renew: credentials from the endpoint: %+v, %v", renewed.AccessKeyID, err)
	}
	if r.code != ExitOK || strings.Contains(r.out+r.errOut, renewed.SecretAccessKey) {
		t.Fatalf("--renew: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	if by, _ := tb.ApprovalByKey(t.Context(), renewed.AccessKeyID); by == nil || by.ID != id {
		t.Errorf("--renew: the endpoint's key %s is not recorded against %s", renewed.AccessKeyID, id)
	}

	// Someone without an approval: refused; with --emergency: opened, paged.
	carol := e.as(t, operatorRole, "carol@example.com")
	if _, errOut, code := runMain(t, "root", "session", "--account", "333333333333", "--task", "s3-unlock", "--db", db, "--", "true"); code != ExitError ||
		!strings.Contains(errOut, "refused: no approval covers") {
		t.Errorf("carol without approval: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := runMain(t, "root", "session", "--account", "333333333333", "--task", "s3-unlock", "--emergency", "--", "true"); code != ExitUsage ||
		!strings.Contains(errOut, "--emergency needs --reason") {
		t.Errorf("--emergency without reason: exit %d\n%s", code, errOut)
	}
	_, errOut, code = runMain(t, "root", "session", "--account", "333333333333", "--task", "delete-credentials", "--db", db,
		"--emergency", "--reason", "leaked root key (INC-9)", "--", "true")
	if code != ExitOK || !strings.Contains(errOut, "EMERGENCY") {
		t.Fatalf("emergency: exit %d\n%s", code, errOut)
	}
	msgs := e.queue.Receive(t, time.Second)
	if len(msgs) != 1 || msgs[0].Attributes["page"] != "true" || msgs[0].Attributes["severity"] != "critical" {
		t.Fatalf("emergency page: %+v", msgs)
	}
	wantIn(t, msgs[0].Message, carol, "leaked root key (INC-9)", "EMERGENCY root session WITHOUT approval")
	all, _ := tb.Approvals(t.Context(), "333333333333")
	var emergency *alert.Approval
	for i := range all {
		if all[i].Origin == alert.OriginEmergency {
			emergency = &all[i]
		}
	}
	if emergency == nil || emergency.Requester != carol || len(emergency.Sessions) != 1 || emergency.Status(time.Now()) != alert.StatusEmergency {
		t.Errorf("emergency record %+v", emergency)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--account", "333333333333", "--task", "console", "--", "true"}, "opens no session"},
		{[]string{"--account", "333333333333", "--task", "audit"}, "give COMMAND"},
		{[]string{"--account", "333333333333", "--task", "audit", "--export-credentials", "yaml"}, "want process or env"},
		{[]string{"--account", "33", "--task", "audit", "--", "true"}, "12-digit"},
		{[]string{"--account", "333333333333", "--task", "audit", "--renew", "--export-credentials", "env"}, "--renew needs COMMAND"},
	} {
		if _, errOut, code := runMain(t, append([]string{"root", "session"}, tt.args...)...); code != ExitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, want 2 and %q\n%s", tt.args, code, tt.want, errOut)
		}
	}
}
