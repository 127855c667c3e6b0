package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/sandbox"
	"github.com/rootguard/rootguard/internal/testenv"
)

// TestSandboxPipeline: the sandbox serves the alert topics (goaws) and the
// approvals table (dynalite, which it starts itself), and prints the
// environment that points approval and alert test at them: a request by
// the administrator, approved by the sandbox's second principal, is
// listed as active, and both it and the sample alert reach the topic.
func TestSandboxPipeline(t *testing.T) {
	if _, err := sandbox.FindDynalite("."); err != nil {
		testenv.Missing(t, "%v: run `npm ci --prefix tools`", err)
	}
	startSandbox(t, "--scenario", filepath.Join("..", "awssim", "testdata", "scenario.yaml"), "--sns", "--dynamodb")
	for _, k := range []string{"AWS_ENDPOINT_URL_SNS", "AWS_ENDPOINT_URL_DYNAMODB", "TOPIC_ARN", "CHATBOT_TOPIC_ARN", "ROOTGUARD_TABLE",
		"ROOTGUARD_APPROVER_ARN", "ROOTGUARD_APPROVER_ACCESS_KEY_ID", "ROOTGUARD_APPROVER_SECRET_ACCESS_KEY", "ROOTGUARD_APPROVER_SESSION_TOKEN"} {
		if os.Getenv(k) == "" {
			t.Fatalf("the sandbox's environment has no %s", k)
		}
	}
	topic := os.Getenv("TOPIC_ARN")
	if !strings.HasPrefix(topic, "arn:aws:sns:us-east-1:111111111111:") {
		t.Errorf("TOPIC_ARN %q: want a topic of the management account", topic)
	}
	u := os.Getenv("AWS_ENDPOINT_URL_SNS")
	q := (&testenv.SNS{URL: u, Config: testenv.Config(u)}).Subscribe(t, topic)

	out, errOut, code := runMain(t, "alert", "test", "--account", "333333333333")
	if code != ExitOK || !strings.Contains(out, topic+"\t") {
		t.Fatalf("alert test: exit %d\n%s%s", code, out, errOut)
	}
	if msgs := q.Receive(t, time.Second); len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, "[TEST]") {
		t.Errorf("alert test: on the topic %+v", msgs)
	}

	out, errOut, code = runMain(t, "approval", "request", "--account", "333333333333", "--task", "s3-unlock",
		"--for", "1h", "--reason", "INC-1 the bucket policy denies everyone", "-o", "json")
	if code != ExitOK {
		t.Fatalf("approval request: exit %d\n%s", code, errOut)
	}
	req := decodeApproval(t, out)
	if req.Status != "pending" || !strings.HasPrefix(req.Requester, "arn:aws:iam::111111111111:user/") {
		t.Errorf("request %+v", req)
	}
	if msgs := q.Receive(t, time.Second); len(msgs) != 1 || !strings.Contains(msgs[0].Subject, req.ID) {
		t.Errorf("approval request: on the topic %+v", msgs)
	}

	config := filepath.Join(t.TempDir(), "rootguard.yaml")
	if err := os.WriteFile(config, []byte("default: flexible\napprovers:\n  - "+os.Getenv("ROOTGUARD_APPROVER_ARN")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	admin := map[string]string{}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		admin[k] = os.Getenv(k)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", os.Getenv("ROOTGUARD_APPROVER_ACCESS_KEY_ID"))
	t.Setenv("AWS_SECRET_ACCESS_KEY", os.Getenv("ROOTGUARD_APPROVER_SECRET_ACCESS_KEY"))
	t.Setenv("AWS_SESSION_TOKEN", os.Getenv("ROOTGUARD_APPROVER_SESSION_TOKEN"))
	out, errOut, code = runMain(t, "approval", "approve", req.ID, "--config", config, "-o", "json")
	if code != ExitOK {
		t.Fatalf("approval approve: exit %d\n%s", code, errOut)
	}
	if got := decodeApproval(t, out); got.Status != "active" || got.ApprovedBy != os.Getenv("ROOTGUARD_APPROVER_ARN") {
		t.Errorf("approved %+v", got)
	}
	for k, v := range admin {
		t.Setenv(k, v)
	}
	out, errOut, code = runMain(t, "approval", "list")
	if code != ExitOK || !strings.Contains(out, req.ID+"\t333333333333\ts3-unlock\t") || !strings.Contains(out, "\tactive\t") {
		t.Errorf("approval list: exit %d\n%s%s", code, out, errOut)
	}
}

// TestSandboxWithoutDynalite: where dynalite cannot start, the sandbox
// says in one line how to enable it and serves the rest (SNS, awssim).
func TestSandboxWithoutDynalite(t *testing.T) {
	out, errOut, code := runMain(t, "sandbox", "--scenario", filepath.Join("..", "awssim", "testdata", "scenario.yaml"),
		"--dynalite", filepath.Join(t.TempDir(), "no-dynalite"),
		"--", "sh", "-c", `echo "table=$ROOTGUARD_TABLE topic=$TOPIC_ARN"`)
	if code != ExitOK || !strings.Contains(out, "table= topic=arn:aws:sns:") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	if n := strings.Count(errOut, "npm ci --prefix tools"); n != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("want one line saying how to enable DynamoDB:\n%s", errOut)
	}
}
