package cli

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/store"
)

// readVerbs begin the names of the operations that only read. Everything
// else awssim counts (Delete..., Put..., Set..., Create..., Move...,
// GenerateCredentialReport, sts:AssumeRoot) is a call a refused command
// must not send.
var readVerbs = []string{"Get", "List", "Describe", "Head"}

// sentCalls splits what srv received into changes (any operation that is
// not a read) and root sessions (sts:AssumeRoot: entering a member
// account, which a command does only for a target it has checked).
func sentCalls(srv *awssim.Server) (changes map[string]int64, sessions int64) {
	changes = map[string]int64{}
	for op, n := range srv.Counts() {
		_, name, _ := strings.Cut(op, ":")
		switch {
		case op == "sts:AssumeRoot":
			sessions = n
		case slices.ContainsFunc(readVerbs, func(v string) bool { return strings.HasPrefix(name, v) }):
		default:
			changes[op] = n
		}
	}
	return changes, sessions
}

// errorLines are the lines of stderr but the usage hint every usage
// error ends with.
func errorLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		if l != "Run 'rootguard --help' for usage." {
			out = append(out, l)
		}
	}
	return out
}

// refusedFirst checks a refusal: exit 2, one line on stderr holding each
// of want and none of notWant, nothing on stdout, and no call that
// changes state (nor, unless sessionsOK, a root session) sent to srv.
func refusedFirst(t *testing.T, srv *awssim.Server, sessionsOK bool, want, notWant []string, args ...string) {
	t.Helper()
	out, errOut, code := runMain(t, args...)
	if code != ExitUsage {
		t.Errorf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if lines := errorLines(errOut); len(lines) != 1 {
		t.Errorf("stderr has %d lines, want one:\n%s", len(lines), errOut)
	}
	if out != "" {
		t.Errorf("stdout, want nothing:\n%s", out)
	}
	for _, w := range want {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr does not name %q:\n%s", w, errOut)
		}
	}
	for _, w := range notWant {
		if strings.Contains(errOut, w) {
			t.Errorf("stderr names %q, which is a good target:\n%s", w, errOut)
		}
	}
	changes, sessions := sentCalls(srv)
	if len(changes) > 0 {
		t.Errorf("refused, but sent calls that change state: %v", changes)
	}
	if sessions > 0 && !sessionsOK {
		t.Errorf("refused, but opened %d root sessions before checking the targets", sessions)
	}
}

// TestTargetsValidatedFirst: every target of the commands that change
// member accounts (root delete-credentials and allow-recovery, bare and
// plan; unlock find, s3 and sqs; account create; org enable's
// --delegated-admin) is checked before
// anything is changed: a malformed account id, one the organization does
// not have, a suspended or closed account, the management account, an OU
// that does not exist, a target named twice, a target both named and
// excluded, and a mix of good and wrong targets each end in exit 2 with
// one line naming every wrong target, and awssim received no call that
// changes state and no sts:AssumeRoot.
func TestTargetsValidatedFirst(t *testing.T) {
	const (
		prod, prodEU, mgmt       = "333333333333", "444444444444", "111111111111"
		suspended, closed, stray = "666666666666", "777777777777", "999999999999"
		typo                     = "33333333333" // 11 digits
	)
	dc := []string{"root", "delete-credentials", "--yes"}
	ar := []string{"root", "allow-recovery", "--yes"}
	find := []string{"unlock", "find"}
	s3 := func(account string) []string {
		return []string{"unlock", "s3", "--yes", "--s3-path-style", "--account", account, "--bucket", "prod-locked"}
	}
	sqs := func(account string) []string {
		return []string{"unlock", "sqs", "--yes", "--account", account, "--queue-url", awssim.QueueURL("eu-west-1", account, "orders")}
	}
	args := func(cmd []string, more ...string) []string { return append(slices.Clone(cmd), more...) }
	plan := filepath.Join(t.TempDir(), "plan.json")
	for _, tt := range []struct {
		name    string
		args    []string
		want    []string
		notWant []string
	}{
		{"delete-credentials/malformed account", args(dc, "--account", typo), []string{"target " + typo + ": not a 12-digit account id"}, nil},
		{"delete-credentials/account not in the organization", args(dc, "--account", stray), []string{"target " + stray + ": not in the organization"}, nil},
		{"delete-credentials/suspended account", args(dc, "--account", suspended), []string{"target " + suspended, "SUSPENDED"}, nil},
		{"delete-credentials/closed account", args(dc, "--account", closed), []string{"target " + closed, "CLOSED"}, nil},
		{"delete-credentials/management account", args(dc, "--account", mgmt), []string{"target " + mgmt, "management account is never a target"}, nil},
		{"delete-credentials/OU that does not exist", args(dc, "--ou", "Workloads/Nope"), []string{"target Workloads/Nope: OU not in the organization"}, nil},
		{"delete-credentials/OU id that does not exist", args(dc, "--ou", "ou-ex12-nope0000"), []string{"target ou-ex12-nope0000: OU not in the organization"}, nil},
		{"delete-credentials/exclusion that does not exist", args(dc, "--all", "--exclude", "Workloads/Nope"), []string{"Workloads/Nope: --exclude: not in the organization"}, nil},
		{"delete-credentials/account named twice", args(dc, "--account", prod, "--account", prodEU, "--account", prod), []string{"target " + prod + ": named more than once"}, []string{prodEU}},
		{"delete-credentials/OU named twice by path and id", args(dc, "--ou", "Workloads", "--ou", "ou-ex12-workload"), []string{"ou-ex12-workload", "named more than once"}, nil},
		{"delete-credentials/account named and excluded", args(dc, "--account", prod, "--exclude", prod), []string{"target " + prod + ": both named with --account and excluded"}, nil},
		{"delete-credentials/good and wrong accounts mixed", args(dc, "--account", prod, "--account", stray, "--account", prodEU, "--account", suspended),
			[]string{"2 wrong targets", "target " + stray + ": not in the organization", "target " + suspended}, []string{prod, prodEU}},
		{"delete-credentials plan/wrong account, no plan written", args([]string{"root", "delete-credentials", "plan", "--out", plan}, "--account", prod, "--account", typo),
			[]string{"target " + typo}, []string{prod}},
		{"allow-recovery/malformed account", args(ar, "--account", "8888-8888-8888"), []string{"target 8888-8888-8888: not a 12-digit account id"}, nil},
		{"allow-recovery/account not in the organization", args(ar, "--account", stray), []string{"target " + stray + ": not in the organization"}, nil},
		{"allow-recovery/suspended account", args(ar, "--account", suspended), []string{"target " + suspended, "SUSPENDED"}, nil},
		{"allow-recovery/closed account", args(ar, "--account", closed), []string{"target " + closed, "CLOSED"}, nil},
		{"allow-recovery/management account", args(ar, "--account", mgmt), []string{"management account is never a target"}, nil},
		{"allow-recovery/account named twice", args(ar, "--account", "888888888888", "--account", "888888888888"), []string{"named more than once"}, nil},
		{"allow-recovery/good and wrong accounts mixed", args(ar, "--account", "888888888888", "--account", typo), []string{"target " + typo}, []string{"888888888888"}},
		{"unlock find/account not in the organization", args(find, "--account", stray), []string{"target " + stray + ": not in the organization"}, nil},
		{"unlock find/suspended account", args(find, "--account", suspended), []string{"target " + suspended, "SUSPENDED"}, nil},
		{"unlock find/OU that does not exist", args(find, "--ou", "Nope"), []string{"target Nope: OU not in the organization"}, nil},
		{"unlock find/good and wrong targets mixed", args(find, "--account", prod, "--ou", "Nope", "--account", typo), []string{"2 wrong targets", "target Nope", "target " + typo}, []string{prod}},
		{"unlock s3/malformed account", s3(typo), []string{"target " + typo + ": not a 12-digit account id"}, nil},
		{"unlock s3/account not in the organization", s3(stray), []string{"target " + stray + ": not in the organization"}, nil},
		{"unlock s3/suspended account", s3(suspended), []string{"target " + suspended, "SUSPENDED"}, nil},
		{"unlock s3/closed account", s3(closed), []string{"target " + closed, "CLOSED"}, nil},
		{"unlock s3/management account", s3(mgmt), []string{"management account is never a target"}, nil},
		{"unlock sqs/account not in the organization", sqs(stray), []string{"target " + stray + ": not in the organization"}, nil},
		{"unlock sqs/suspended account", sqs(suspended), []string{"target " + suspended, "SUSPENDED"}, nil},
		{"unlock sqs/management account", sqs(mgmt), []string{"management account is never a target"}, nil},
		{"unlock sqs/queue of another account", []string{"unlock", "sqs", "--yes", "--account", prodEU, "--queue-url", awssim.QueueURL("eu-west-1", prod, "orders")},
			[]string{"belongs to account " + prod}, nil},
		{"account create/OU that does not exist", []string{"account", "create", "--yes", "--name", "n", "--email", "new@example.com", "--ou", "Workloads/Nope"}, []string{"Workloads/Nope"}, nil},
		{"account create/OU id that does not exist", []string{"account", "create", "--yes", "--name", "n", "--email", "new@example.com", "--ou", "ou-ex12-nope0000"}, []string{"ou-ex12-nope0000"}, nil},
		{"account create/email of an existing account", []string{"account", "create", "--yes", "--name", "n", "--email", "aws-prod@example.com", "--ou", "Workloads"}, []string{"aws-prod@example.com"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := startUnlockSim(t)
			refusedFirst(t, srv, false, tt.want, tt.notWant, tt.args...)
		})
	}
	if _, err := os.Stat(plan); err == nil {
		t.Errorf("a refused plan was written to %s", plan)
	}

	// org enable --delegated-admin on an organization where every step is
	// still to do: a wrong account changes nothing (trusted access stays
	// off).
	fresh := filepath.Join("..", "awssim", "testdata", "fresh-org.yaml")
	for _, tt := range []struct{ name, account, want string }{
		{"org enable/delegated admin malformed", typo, "--delegated-admin " + typo + ": not a 12-digit account id"},
		{"org enable/delegated admin not in the organization", stray, "--delegated-admin " + stray + ": not in the organization"},
		{"org enable/delegated admin suspended", suspended, "--delegated-admin " + suspended + ": the account is SUSPENDED"},
		{"org enable/delegated admin the management account", mgmt, "cannot be its own delegated administrator"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSim(t, fresh)
			refusedFirst(t, srv, false, []string{tt.want, "nothing was changed"}, nil, "org", "enable", "--yes", "--delegated-admin", tt.account)
		})
	}

	// A bucket or queue the account does not have is known only inside
	// the account: a root session reads it, and nothing is changed.
	t.Run("unlock s3/bucket not in the account", func(t *testing.T) {
		srv := startUnlockSim(t)
		refusedFirst(t, srv, true, []string{"bucket eu-locked: not among the buckets of account " + prod}, nil,
			"unlock", "s3", "--yes", "--s3-path-style", "--account", prod, "--bucket", "eu-locked")
	})
	t.Run("unlock sqs/queue not in the account", func(t *testing.T) {
		srv := startUnlockSim(t)
		refusedFirst(t, srv, true, []string{"no such queue in account " + prodEU}, nil, sqs(prodEU)...)
	})
}

// TestOneTypoAmong500: a change naming every active member account of a
// 500-account organization (432), one of them mistyped, changes nothing: exit 2,
// one line naming the typo and no good account, no root session opened
// and no call that changes state. Thirty typos are still one line, naming
// the first ten and counting the rest.
func TestOneTypoAmong500(t *testing.T) {
	sc := awssim.GenerateScenario(500, 1)
	var good []string
	for _, a := range sc.Accounts {
		if a.ID != sc.Organization.ManagementAccount && (a.State == "" || a.State == "ACTIVE") {
			good = append(good, a.ID)
		}
	}
	if len(good) < 400 {
		t.Fatalf("only %d active member accounts", len(good))
	}
	known := map[string]bool{}
	for _, a := range sc.Accounts {
		known[a.ID] = true
	}
	// A typo: one digit of a good account changed, to an id the
	// organization does not have.
	mistype := func(id string) string {
		for d := '0'; d <= '9'; d++ {
			x := id[:5] + string(d) + id[6:]
			if !known[x] {
				return x
			}
		}
		t.Fatalf("no typo of %s", id)
		return ""
	}
	withTypos := func(n int) (accounts, typos []string) {
		accounts = slices.Clone(good)
		for i := range n {
			j := (i*37 + 250) % len(accounts)
			accounts[j] = mistype(accounts[j])
			typos = append(typos, accounts[j])
		}
		return accounts, typos
	}
	flags := func(cmd []string, accounts []string) []string {
		out := slices.Clone(cmd)
		for _, a := range accounts {
			out = append(out, "--account", a)
		}
		return out
	}
	for _, cmd := range [][]string{
		{"root", "delete-credentials", "--yes"},
		{"root", "allow-recovery", "--yes"},
		{"unlock", "find"},
	} {
		t.Run(strings.Join(cmd[:2], " "), func(t *testing.T) {
			srv := startSimWith(t, sc, nil)
			accounts, typos := withTypos(1)
			refusedFirst(t, srv, false, []string{"target " + typos[0] + ": not in the organization"},
				[]string{good[0], good[len(good)-1]}, flags(cmd, accounts)...)

			accounts, typos = withTypos(30)
			_, errOut, code := runMain(t, flags(cmd, accounts)...)
			if code != ExitUsage || len(errorLines(errOut)) != 1 || !strings.Contains(errOut, "30 wrong targets") ||
				!strings.Contains(errOut, "and 20 more") || !strings.Contains(errOut, typos[9]) || strings.Contains(errOut, typos[10]) {
				t.Errorf("30 typos: exit %d\n%s", code, errOut)
			}
			if changes, sessions := sentCalls(srv); len(changes) > 0 || sessions > 0 {
				t.Errorf("30 typos: sent %v and %d root sessions", changes, sessions)
			}
		})
	}
}

// TestApplyRevalidatesTargets: a reviewed plan whose accounts changed
// since (one suspended, one renamed) is refused whole when applied: exit
// 2 naming both, and no root session is opened in any account of it.
func TestApplyRevalidatesTargets(t *testing.T) {
	scenario := filepath.Join("..", "awssim", "testdata", "scenario.yaml")
	startSim(t, scenario)
	plan := filepath.Join(t.TempDir(), "plan.json")
	if _, errOut, code := runMain(t, "root", "delete-credentials", "plan", "--account", "333333333333", "--account", "444444444444",
		"--account", "888888888888", "--out", plan); code != ExitOK {
		t.Fatalf("plan: exit %d\n%s", code, errOut)
	}
	// The same organization, later: prod-eu suspended, invited renamed.
	sc, err := awssim.LoadScenario(scenario)
	if err != nil {
		t.Fatal(err)
	}
	for i := range sc.Accounts {
		switch a := &sc.Accounts[i]; a.ID {
		case "444444444444":
			a.State = "SUSPENDED"
		case "888888888888":
			a.Name = "invited-renamed"
		}
	}
	srv := startSimWith(t, sc, nil)
	refusedFirst(t, srv, false, []string{"444444444444 (prod-eu): is SUSPENDED", `planned as "invited"`, "nothing was changed"},
		[]string{"333333333333"}, "root", "delete-credentials", "apply", plan, "--yes")
}

// TestRootSessionTargetValidatedFirst: root session checks its account
// against the organization before an approval is looked up or an
// emergency declared: an account the organization does not have, a
// suspended one and the management account are each one line and exit
// 2, with no emergency recorded, nothing paged and no root session
// opened.
func TestRootSessionTargetValidatedFirst(t *testing.T) {
	e := startApprovalEnv(t)
	db := filepath.Join(t.TempDir(), "rootguard.db")
	for _, tt := range []struct{ name, account, want string }{
		{"account not in the organization", "999999999999", "target 999999999999: not in the organization"},
		{"suspended account", "666666666666", "target 666666666666: not an active account: it is SUSPENDED"},
		{"closed account", "777777777777", "target 777777777777: not an active account: it is CLOSED"},
		{"management account", "111111111111", "management account is never a target"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			refusedFirst(t, e.sim.Server, false, []string{tt.want, "nothing was recorded or paged"}, nil,
				"root", "session", "--account", tt.account, "--task", "audit", "--db", db,
				"--emergency", "--reason", "typo drill", "--", "true")
			if msgs := e.queue.Receive(t, 0); len(msgs) != 0 {
				t.Errorf("paged: %+v", msgs)
			}
			if as, err := alert.NewTable(e.db.Client, "rootguard").Approvals(t.Context(), tt.account); err != nil || len(as) != 0 {
				t.Errorf("emergency recorded: %+v, %v", as, err)
			}
		})
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("journal written by a refused session")
	}
}

// TestApplyWhileRunLockedSendsNothing: while a live run holds the
// journal's lock for the organization, a second apply of the plan is
// refused at once, naming the run, before it shows the plan, asks, or
// sends anything to AWS (not even a read).
func TestApplyWhileRunLockedSendsNothing(t *testing.T) {
	startSim(t, filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	dir := t.TempDir()
	plan, db := filepath.Join(dir, "plan.json"), filepath.Join(dir, "rootguard.db")
	if _, errOut, code := runMain(t, "root", "delete-credentials", "plan", "--account", "333333333333", "--out", plan, "--db", db); code != ExitOK {
		t.Fatalf("plan: exit %d\n%s", code, errOut)
	}
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	now := time.Now().UTC()
	if _, err := st.AcquireLock(t.Context(), store.Lock{OrgID: "o-exampleorg1", Operation: "delete-credentials", Token: "t", RunID: "20261206T000000Z-live",
		PID: os.Getpid(), Host: host, AcquiredAt: now, LeaseUntil: now.Add(time.Minute)}, func(store.Lock) bool { return false }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	srv := startSim(t, filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	out, errOut, code := runMain(t, "root", "delete-credentials", "apply", plan, "--yes", "--db", db)
	if code != ExitError || len(errorLines(errOut)) != 1 || !strings.Contains(errOut, "run 20261206T000000Z-live") ||
		!strings.Contains(errOut, "another run is in progress") || out != "" {
		t.Errorf("exit %d, want 1 and one line naming the run\n%s%s", code, out, errOut)
	}
	if c := srv.Counts(); len(c) != 0 {
		t.Errorf("sent %v while another run holds the lock", c)
	}

	// Plan-and-apply on a terminal: the plan is read, then refused before
	// the question is asked, and nothing is changed.
	changeStdinIsTerminal = func(io.Reader) bool { return true }
	t.Cleanup(func() { changeStdinIsTerminal = func(r io.Reader) bool { return false } })
	out, errOut, code = runMainWithInput(t, "y\n", "root", "delete-credentials", "--account", "333333333333", "--db", db)
	if code != ExitError || !strings.Contains(errOut, "run 20261206T000000Z-live") || strings.Contains(errOut, "[y/N]") || out != "" {
		t.Errorf("bare form: exit %d, want 1 naming the run before any question\n%s%s", code, out, errOut)
	}
	if changes, _ := sentCalls(srv); len(changes) > 0 {
		t.Errorf("bare form: sent %v while another run holds the lock", changes)
	}
	// Nor did it plan: no root session was opened to read the accounts.
	if n := srv.Counts()["sts:AssumeRoot"]; n > 0 {
		t.Errorf("bare form: %d root sessions opened while another run holds the lock", n)
	}
}

// TestRootSessionAccountNotChecked: from an Audit account that is no
// delegated administrator, Organizations refuses DescribeAccount ("You
// can only call this operation from the management account or a member
// account that is a delegated administrator."); root session says in one
// line that the account was not checked and goes on: to the approval
// lookup (refused: none covers the caller) and, with --emergency, to
// recording and paging the emergency, leaving the account to
// sts:AssumeRoot (which refuses this caller: "only the management account
// and the delegated administrator for IAM can perform privileged tasks on
// member accounts"). The refusals of an account the organization says
// cannot be entered are TestRootSessionTargetValidatedFirst's.
func TestRootSessionAccountNotChecked(t *testing.T) {
	e := startApprovalEnv(t, func(sc *awssim.Scenario) { sc.Organization.DelegatedAdministrators = nil })
	db := filepath.Join(t.TempDir(), "rootguard.db")
	carol := e.as(t, operatorRole, "carol@example.com")
	const notChecked = "rootguard: account 333333333333 not checked against the organization (AccessDeniedException); sts:AssumeRoot refuses an account it cannot enter"

	out, errOut, code := runMain(t, "root", "session", "--account", "333333333333", "--task", "audit", "--db", db, "--", "true")
	lines := errorLines(errOut)
	if code != ExitError || len(lines) != 2 || lines[0] != notChecked || out != "" ||
		!strings.HasPrefix(lines[1], "rootguard: refused: no approval covers audit for 333333333333 by "+carol+" now") {
		t.Errorf("without approval: exit %d, want 1, the line\n%s\nthen the approval lookup's refusal; got:\n%s%s", code, notChecked, out, errOut)
	}

	out, errOut, code = runMain(t, "root", "session", "--account", "333333333333", "--task", "audit", "--db", db,
		"--emergency", "--reason", "leaked root key (INC-9)", "--", "true")
	lines = errorLines(errOut)
	if code != ExitError || len(lines) != 3 || lines[0] != notChecked || out != "" ||
		!strings.HasPrefix(lines[1], "rootguard: EMERGENCY: no approval covers audit for 333333333333 by "+carol) ||
		!strings.Contains(lines[2], "not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::333333333333:root") {
		t.Errorf("--emergency: exit %d, want 1, the line\n%s\nthen the emergency and sts:AssumeRoot's refusal; got:\n%s%s", code, notChecked, out, errOut)
	}
	if msgs := e.queue.Receive(t, time.Second); len(msgs) != 1 || msgs[0].Attributes["page"] != "true" {
		t.Errorf("--emergency: paged %+v, want one page", msgs)
	}
	as, err := alert.NewTable(e.db.Client, "rootguard").Approvals(t.Context(), "333333333333")
	if err != nil || len(as) != 1 || as[0].Origin != alert.OriginEmergency || as[0].Requester != carol {
		t.Errorf("--emergency: recorded %+v, %v; want carol's emergency", as, err)
	}
}
