package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/testenv"
)

// Roles of IAM Identity Center permission sets in the security account,
// as the approvals flow sees them.
const (
	operatorRole = "AWSReservedSSO_Operator_0123456789abcdef"
	approverRole = "AWSReservedSSO_SecurityApprover_fedcba9876543210"
	approverPat  = "arn:aws:sts::*:assumed-role/AWSReservedSSO_SecurityApprover_*/*"
)

// approvalEnv is dynalite (the table), goaws (the alert topics, a queue on
// each) and awssim (STS: who is calling) for the approval commands, with
// the SDK's standard configuration pointed at them.
type approvalEnv struct {
	db     *testenv.DynamoDB
	sim    *testenv.Organizations
	sns    *testenv.SNS
	topic  string
	queue  *testenv.Queue
	config string
}

// startApprovalEnv starts the approval environment over awssim's example
// scenario, changed by edit.
func startApprovalEnv(t *testing.T, edit ...func(*awssim.Scenario)) *approvalEnv {
	t.Helper()
	db := testenv.StartDynamoDB(t)
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sc.Accounts {
		if sc.Accounts[i].ID == "222222222222" {
			sc.Accounts[i].Roles = append(sc.Accounts[i].Roles, operatorRole, approverRole)
		}
	}
	for _, f := range edit {
		f(sc)
	}
	sim := testenv.StartOrganizations(t, sc, awssim.Options{})
	s := testenv.StartSNS(t)
	topic := s.CreateTopic(t, "alerts")
	e := &approvalEnv{db: db, sim: sim, sns: s, topic: topic, queue: s.Subscribe(t, topic)}
	useLocalAWS(t, map[string]string{"DYNAMODB": db.URL, "STS": sim.URL, "ORGANIZATIONS": sim.URL, "SNS": s.URL})
	if err := alert.CreateTable(t.Context(), db.Client, "rootguard"); err != nil {
		t.Fatal(err)
	}
	e.config = filepath.Join(t.TempDir(), "rootguard.yaml")
	if err := os.WriteFile(e.config, []byte("default: flexible\napprovers:\n  - "+approverPat+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ROOTGUARD_TABLE", "rootguard")
	t.Setenv("TOPIC_ARN", topic)
	e.asAdmin(t)
	return e
}

// asAdmin signs the next commands as awssim's administrator user.
func (e *approvalEnv) asAdmin(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", e.sim.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", e.sim.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
}

// as signs the next commands as a session of role in the security
// account named session (an Identity Center user) and returns its ARN.
func (e *approvalEnv) as(t *testing.T, role, session string) string {
	t.Helper()
	out, err := sts.NewFromConfig(e.sim.Config, func(o *sts.Options) { o.BaseEndpoint = aws.String(e.sim.URL) }).AssumeRole(t.Context(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::222222222222:role/" + role), RoleSessionName: aws.String(session),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	t.Setenv("AWS_ACCESS_KEY_ID", aws.ToString(c.AccessKeyId))
	t.Setenv("AWS_SECRET_ACCESS_KEY", aws.ToString(c.SecretAccessKey))
	t.Setenv("AWS_SESSION_TOKEN", aws.ToString(c.SessionToken))
	return aws.ToString(out.AssumedRoleUser.Arn)
}

type approvalOut struct {
	ID, Account, Task, Requester, Approver, ApprovedBy, Status, Origin string
	From, Until                                                        time.Time
	Sessions                                                           []string
}

func decodeApproval(t *testing.T, out string) approvalOut {
	t.Helper()
	var a approvalOut
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return a
}

// TestApprovalFlow: a request records the caller's ARN and tells the
// approvers; the requester cannot approve it, not even through another
// permission set; a principal outside the approvers list cannot; a
// configured approver can, once; every change is in the history.
func TestApprovalFlow(t *testing.T) {
	e := startApprovalEnv(t)
	alice := e.as(t, operatorRole, "alice@example.com")
	out, errOut, code := runMain(t, "approval", "request", "--account", "333333333333", "--task", "s3-unlock",
		"--for", "1h", "--reason", "the archive bucket policy denies everyone (INC-4711)", "--lang", "both", "-o", "json")
	if code != ExitOK {
		t.Fatalf("request: exit %d\n%s", code, errOut)
	}
	req := decodeApproval(t, out)
	if req.Requester != alice || req.Status != "pending" || req.Task != "s3-unlock" || !strings.HasPrefix(req.ID, "R-") || req.Until.Sub(req.From) != time.Hour {
		t.Fatalf("request %+v, want pending, requested by %s", req, alice)
	}
	msgs := e.queue.Receive(t, time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d messages to the approvers, want 1", len(msgs))
	}
	m := msgs[0]
	wantIn(t, m.Subject, "Root use requested: s3-unlock @ 333333333333 ("+req.ID+")")
	wantIn(t, m.Message, alice, "INC-4711", "rootguard approval approve "+req.ID, "ルートユーザー使用の承認申請", "申請者")
	if m.Attributes["page"] != "false" || m.Attributes["category"] != "approval-requested" {
		t.Errorf("attributes %v", m.Attributes)
	}

	// The requester, in the approvers' permission set: the same person.
	e.as(t, approverRole, "alice@example.com")
	_, errOut, code = runMain(t, "approval", "approve", req.ID, "--config", e.config)
	if code != ExitError || !strings.Contains(errOut, "requested by the same identity") {
		t.Errorf("self-approval: exit %d\n%s", code, errOut)
	}
	// Someone else, but not an approver.
	carol := e.as(t, operatorRole, "carol@example.com")
	_, errOut, code = runMain(t, "approval", "approve", req.ID, "--config", e.config)
	if code != ExitError || !strings.Contains(errOut, carol+" may not decide: not in the approvers list") {
		t.Errorf("non-approver: exit %d\n%s", code, errOut)
	}
	// No approvers configured: nobody may approve.
	empty := filepath.Join(t.TempDir(), "rootguard.yaml")
	if err := os.WriteFile(empty, []byte("default: strict\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code = runMain(t, "approval", "approve", req.ID, "--config", empty); code != ExitUsage || !strings.Contains(errOut, "lists no approvers") {
		t.Errorf("no approvers: exit %d\n%s", code, errOut)
	}
	if len(e.queue.Receive(t, 0)) != 0 {
		t.Error("a refused decision was announced")
	}

	bob := e.as(t, approverRole, "bob@example.com")
	out, errOut, code = runMain(t, "approval", "approve", req.ID, "--config", e.config, "--reason", "INC-4711 confirmed", "-o", "json")
	if code != ExitOK {
		t.Fatalf("approve: exit %d\n%s", code, errOut)
	}
	got := decodeApproval(t, out)
	if got.Status != "active" || got.ApprovedBy != bob || got.Approver != bob {
		t.Errorf("approved %+v, want active, approved by %s", got, bob)
	}
	msgs = e.queue.Receive(t, time.Second)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "Root use approved") || !strings.Contains(msgs[0].Message, bob) {
		t.Errorf("approval message: %+v", msgs)
	}
	// Deciding again: refused, the history keeps the first decision.
	e.as(t, approverRole, "dave@example.com")
	if _, errOut, code = runMain(t, "approval", "deny", req.ID, "--config", e.config, "--reason", "no"); code != ExitError || !strings.Contains(errOut, "is active: it cannot be denied") {
		t.Errorf("deny after approve: exit %d\n%s", code, errOut)
	}

	out, errOut, code = runMain(t, "approval", "list")
	if code != ExitOK || !strings.Contains(out, req.ID+"\t333333333333\ts3-unlock\t") || !strings.Contains(out, "\tactive\t"+alice+"\t"+bob+"\t0\t") {
		t.Errorf("list: exit %d\n%s%s", code, out, errOut)
	}
	e.asAdmin(t)
	out, errOut, code = runMain(t, "approval", "revoke", req.ID, "--reason", "done early", "-o", "json")
	if code != ExitOK || decodeApproval(t, out).Status != "revoked" {
		t.Errorf("revoke: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = runMain(t, "approval", "history", req.ID)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != ExitOK || len(lines) != 4 || !strings.Contains(lines[1], "\trequested\t"+alice) ||
		!strings.Contains(lines[2], "\tapproved\t"+bob) || !strings.Contains(lines[3], "\trevoked\tarn:aws:iam::111111111111:user/") {
		t.Errorf("history: exit %d\n%s", code, out)
	}
	if out, _, _ := runMain(t, "approval", "list"); strings.Contains(out, req.ID) {
		t.Errorf("a revoked approval is listed without --all:\n%s", out)
	}

	// A denied request, and a request that is refused outright.
	e.as(t, operatorRole, "alice@example.com")
	out, _, _ = runMain(t, "approval", "request", "--account", "333333333333", "--task", "console", "--for", "2h", "--reason", "MFA Delete", "--id", "CHG-77", "-o", "json")
	if decodeApproval(t, out).ID != "CHG-77" {
		t.Fatalf("request --id: %s", out)
	}
	e.as(t, approverRole, "bob@example.com")
	if _, errOut, code = runMain(t, "approval", "deny", "CHG-77", "--config", e.config); code != ExitUsage || !strings.Contains(errOut, "--reason") {
		t.Errorf("deny without a reason: exit %d\n%s", code, errOut)
	}
	out, _, code = runMain(t, "approval", "deny", "CHG-77", "--config", e.config, "--reason", "use the task policy instead", "-o", "json")
	if code != ExitOK || decodeApproval(t, out).Status != "denied" {
		t.Errorf("deny: exit %d\n%s", code, out)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--account", "333333333333", "--task", "root-everything", "--for", "1h", "--reason", "x"}, "want one of audit, create-password"},
		{[]string{"--account", "333333333333", "--task", "audit", "--for", "1h"}, "--reason"},
		{[]string{"--account", "333333333333", "--task", "audit", "--for", "25h", "--reason", "x"}, "longer than 24h"},
		{[]string{"--account", "3333", "--task", "audit", "--for", "1h", "--reason", "x"}, "not a 12-digit account id"},
		{[]string{"--account", "333333333333", "--task", "audit", "--reason", "x"}, "give --until or --for"},
	} {
		if _, errOut, code := runMain(t, append([]string{"approval", "request"}, tt.args...)...); code != ExitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("request %v: exit %d, want 2 and %q\n%s", tt.args, code, tt.want, errOut)
		}
	}
}

func wantIn(t *testing.T, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("lacks %q:\n%s", w, s)
		}
	}
}

// TestApprovalAccountValidatedFirst: request and grant check --account
// before anything is recorded or sent to the approvers: a malformed id
// (the same line from both, not the approvals file's message), an
// account the organization does not have, a suspended and a closed one
// are each one line naming it and exit 2. The Audit account, the IAM
// delegated administrator, reads the organization as the management
// account does ("You can only call this operation from the management
// account or a member account that is a delegated administrator.",
// DescribeAccount); run from an Audit account that is no delegated
// administrator, where Organizations refuses DescribeAccount, one line
// says the account was not checked and the request is recorded.
func TestApprovalAccountValidatedFirst(t *testing.T) {
	e := startApprovalEnv(t)
	tb := alert.NewTable(e.db.Client, "rootguard")
	for _, verb := range []string{"request", "grant"} {
		for _, tt := range []struct{ name, account, want string }{
			{"malformed", "12345", "rootguard: --account: remediate: target 12345: not a 12-digit account id; nothing was recorded\n"},
			{"not in the organization", "999999999999", "target 999999999999: not in the organization"},
			{"suspended", "666666666666", "target 666666666666: not an active account: it is SUSPENDED"},
			{"closed", "777777777777", "target 777777777777: not an active account: it is CLOSED"},
		} {
			t.Run(verb+" "+tt.name, func(t *testing.T) {
				args := []string{"approval", verb, "--account", tt.account, "--for", "1h", "--reason", "typo drill", "--id", "CHG-TYPO"}
				if verb == "request" {
					args = append(args, "--task", "console")
				} else {
					args = append(args, "--requester", "sato", "--approver", "ccoe-lead")
				}
				out, errOut, code := runMain(t, args...)
				if lines := errorLines(errOut); code != ExitUsage || len(lines) != 1 ||
					!strings.Contains(errOut, tt.account) || !strings.Contains(errOut, tt.want) || out != "" {
					t.Errorf("exit %d, want 2 and one line holding %q\n%s%s", code, tt.want, out, errOut)
				}
				if a, err := tb.GetApproval(t.Context(), "CHG-TYPO"); err == nil {
					t.Errorf("recorded: %+v", a)
				}
				if msgs := e.queue.Receive(t, 0); len(msgs) != 0 {
					t.Errorf("told the approvers: %+v", msgs)
				}
			})
		}
	}

	// From the Audit account, the delegated administrator: checked.
	e.as(t, operatorRole, "alice@example.com")
	out, errOut, code := runMain(t, "approval", "request", "--account", "666666666666", "--task", "console", "--for", "1h",
		"--reason", "MFA Delete", "--id", "CHG-AUDIT", "-o", "json")
	if code != ExitUsage || !strings.Contains(errOut, "target 666666666666: not an active account: it is SUSPENDED") {
		t.Errorf("suspended, from the Audit account: exit %d, want 2\n%s%s", code, out, errOut)
	}
	out, errOut, code = runMain(t, "approval", "request", "--account", "333333333333", "--task", "console", "--for", "1h",
		"--reason", "MFA Delete", "--id", "CHG-AUDIT", "-o", "json")
	if code != ExitOK || strings.Contains(errOut, "not checked") {
		t.Errorf("from the Audit account: exit %d\n%s%s", code, out, errOut)
	}
	if a, err := tb.GetApproval(t.Context(), "CHG-AUDIT"); err != nil || a.Account != "333333333333" {
		t.Errorf("not recorded: %+v, %v", a, err)
	}

	// From an Audit account that is no delegated administrator: not
	// checked, said in one line, recorded.
	e = startApprovalEnv(t, func(sc *awssim.Scenario) { sc.Organization.DelegatedAdministrators = nil })
	tb = alert.NewTable(e.db.Client, "rootguard")
	e.as(t, operatorRole, "alice@example.com")
	out, errOut, code = runMain(t, "approval", "request", "--account", "333333333333", "--task", "console", "--for", "1h",
		"--reason", "MFA Delete", "--id", "CHG-AUDIT", "-o", "json")
	if code != ExitOK || !strings.Contains(errOut, "rootguard: account 333333333333 not checked against the organization (AccessDeniedException)\n") {
		t.Errorf("from an Audit account that is no delegated administrator: exit %d\n%s%s", code, out, errOut)
	}
	if a, err := tb.GetApproval(t.Context(), "CHG-AUDIT"); err != nil || a.Account != "333333333333" {
		t.Errorf("not recorded: %+v, %v", a, err)
	}
}
