package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/store"
)

// freshOrgScenario writes the sample scenario before centralized root
// access was enabled and returns its path.
func freshOrgScenario(t *testing.T) string {
	t.Helper()
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
	return path
}

// TestChangingCommandsTakeTheRunLock: while a live run of the same
// operation on the same organization holds the journal's lock, each
// command that changes the organization refuses at once (exit 1, one line
// naming the other run: its run id, pid, host and since) and sends no
// change to AWS.
func TestChangingCommandsTakeTheRunLock(t *testing.T) {
	host, _ := os.Hostname()
	for _, tt := range []struct {
		name, op string
		sim      func(t *testing.T) *awssim.Server
		args     []string
	}{
		{"deploy apply", "deploy", func(t *testing.T) *awssim.Server { return startSim(t, stackSetsScenario(t)) },
			deployArgs("apply", nil, "--yes")},
		{"org enable", "org-enable", func(t *testing.T) *awssim.Server { return startSim(t, freshOrgScenario(t)) },
			[]string{"org", "enable", "--delegated-admin", "222222222222", "--yes"}},
		{"account create", "account-create", func(t *testing.T) *awssim.Server {
			return startSim(t, filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
		}, []string{"account", "create", "--name", "lab", "--email", "aws-lab@example.com", "--ou", "ou-ex12-sandbox1",
			"--yes", "--poll-interval", "10ms"}},
		{"unlock s3", "unlock-s3", startUnlockSim,
			[]string{"unlock", "s3", "--account", "333333333333", "--bucket", "prod-locked", "--s3-path-style", "--yes"}},
		{"unlock sqs", "unlock-sqs", startUnlockSim,
			[]string{"unlock", "sqs", "--account", "333333333333", "--queue-url", awssim.QueueURL("eu-west-1", "333333333333", "orders"), "--yes"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := tt.sim(t)
			db := filepath.Join(t.TempDir(), "rootguard.db")
			st, err := store.Open(t.Context(), db)
			if err != nil {
				t.Fatal(err)
			}
			since := time.Now().UTC().Truncate(time.Second)
			if _, err := st.AcquireLock(t.Context(), store.Lock{OrgID: "o-exampleorg1", Operation: tt.op, Token: "t", RunID: "20261206T000000Z-live",
				PID: os.Getpid(), Host: host, AcquiredAt: since, LeaseUntil: since.Add(time.Minute)}, func(store.Lock) bool { return false }); err != nil {
				t.Fatal(err)
			}
			st.Close()
			out, errOut, code := runMain(t, append(tt.args, "--db", db)...)
			lines := errorLines(errOut)
			last := ""
			if len(lines) > 0 {
				last = lines[len(lines)-1]
			}
			for _, want := range []string{"another run is in progress", "another " + tt.op + " run of organization o-exampleorg1",
				"run 20261206T000000Z-live", "pid " + strconv.Itoa(os.Getpid()) + " on " + host, "since " + since.Format(time.RFC3339), "nothing was sent"} {
				if !strings.Contains(last, want) {
					t.Errorf("refusal %q does not hold %q", last, want)
				}
			}
			if code != ExitError {
				t.Errorf("exit %d, want 1\n%s%s", code, out, errOut)
			}
			if changes, _ := sentCalls(srv); len(changes) > 0 {
				t.Errorf("sent %v while another run holds the lock", changes)
			}
			// The refused command left the other run's lock as it was.
			st, err = store.Open(t.Context(), db)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if locks, err := st.Locks(t.Context()); err != nil || len(locks) != 1 || locks[0].RunID != "20261206T000000Z-live" {
				t.Errorf("locks after the refusal: %+v, %v", locks, err)
			}
		})
	}
}

// TestRunLockIsPerOperation: a live deploy's lock does not stop an org
// enable of the same organization, which takes and gives up its own.
func TestRunLockIsPerOperation(t *testing.T) {
	srv := startSim(t, freshOrgScenario(t))
	db := filepath.Join(t.TempDir(), "rootguard.db")
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	host, _ := os.Hostname()
	now := time.Now().UTC()
	if _, err := st.AcquireLock(t.Context(), store.Lock{OrgID: "o-exampleorg1", Operation: "deploy", Token: "t", RunID: "20261206T000000Z-deploy",
		PID: os.Getpid(), Host: host, AcquiredAt: now, LeaseUntil: now.Add(time.Minute)}, func(store.Lock) bool { return false }); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runMain(t, "org", "enable", "--delegated-admin", "222222222222", "--yes", "--db", db)
	if code != ExitOK || strings.Count(out, "done") != 4 {
		t.Errorf("org enable beside a deploy: exit %d\n%s%s", code, out, errOut)
	}
	if changes, _ := sentCalls(srv); len(changes) == 0 {
		t.Errorf("org enable changed nothing")
	}
	if locks, err := st.Locks(t.Context()); err != nil || len(locks) != 1 || locks[0].Operation != "deploy" {
		t.Errorf("locks after org enable: %+v, %v (want only the deploy's)", locks, err)
	}
}
