package remediate

import (
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/store"
)

// TestOneRunAtATime: while a run holds the organization's lock, a second
// apply of the same plan, a --resume of the run and an apply of another
// plan of the same operation are refused at once, naming the run, and
// send nothing to AWS; the first run finishes untouched.
func TestOneRunAtATime(t *testing.T) {
	e := newEnv(t, nil, awssim.Options{})
	_, doc := e.plan(t, Selection{Accounts: []string{exProd, exInvited}})
	_, other := e.plan(t, Selection{Accounts: []string{exInvited}})

	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	optsA := testOpts()
	optsA.Workers = 1
	optsA.Progress = func(done, _ int) {
		if done == 1 {
			once.Do(func() { close(started) })
			<-release
		}
	}
	type result struct {
		out *Outcome
		err error
	}
	first := make(chan result, 1)
	go func() {
		out, err := Apply(t.Context(), e.cfg, doc, e.j, optsA)
		first <- result{out, err}
	}()
	select {
	case <-started:
	case r := <-first:
		t.Fatalf("the first run ended before the test could overlap it: %v", r.err)
	}
	runs, err := e.j.Runs(t.Context(), 0)
	if err != nil || len(runs) != 1 || runs[0].Status != store.RunRunning {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	runID := runs[0].ID

	before := maps.Clone(e.srv.Counts())
	host, _ := os.Hostname()
	for _, tt := range []struct {
		name string
		run  func() (*Outcome, error)
	}{
		{"the same plan again", func() (*Outcome, error) { return Apply(t.Context(), e.cfg, doc, e.j, testOpts()) }},
		{"--resume of the live run", func() (*Outcome, error) { return Resume(t.Context(), e.cfg, runID, e.j, testOpts()) }},
		{"another plan of the same organization", func() (*Outcome, error) { return Apply(t.Context(), e.cfg, other, e.j, testOpts()) }},
	} {
		out, err := tt.run()
		if !errors.Is(err, ErrRunInProgress) || out != nil {
			t.Errorf("%s: out %v, err %v; want %v", tt.name, out, err, ErrRunInProgress)
			continue
		}
		for _, want := range []string{"run " + runID, "on " + host, "delete-credentials run of organization"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v does not name %q", tt.name, err, want)
			}
		}
	}
	if after := e.srv.Counts(); !maps.Equal(before, after) {
		t.Errorf("a refused run called AWS: before %v, after %v", before, after)
	}
	close(release)
	r := <-first
	if r.err != nil || r.out.Status != store.RunDone || r.out.Tally()[StatusDone] != 2 {
		t.Fatalf("first run: %v %+v", r.err, r.out)
	}
	if n := e.srv.Counts()["iam:DeleteLoginProfile"]; n != 2 {
		t.Errorf("DeleteLoginProfile sent %d times, want 2 (once per account)", n)
	}
	if locks, err := e.j.Locks(t.Context()); err != nil || len(locks) != 0 {
		t.Errorf("lock not released: %+v %v", locks, err)
	}
	if runs, _ := e.j.Runs(t.Context(), 0); len(runs) != 1 {
		t.Errorf("the journal split across runs: %+v", runs)
	}
}

func openJournal(t *testing.T) *store.Store {
	t.Helper()
	j, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// deadPID is the pid of a process of this host that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestRunLockTakeover: a stale lock is taken over only when its holder is
// gone: on this host, when its process has exited (whatever the lease
// says); elsewhere, when its lease has lapsed.
func TestRunLockTakeover(t *testing.T) {
	host, _ := os.Hostname()
	now := time.Now().UTC()
	tests := []struct {
		name     string
		pid      int
		host     string
		lease    time.Time
		takeOver bool
	}{
		{"this host, process exited, lease still valid", deadPID(t), host, now.Add(time.Hour), true},
		{"this host, process alive, lease lapsed", os.Getpid(), host, now.Add(-time.Hour), false},
		{"another host, lease lapsed", 4242, "elsewhere.example", now.Add(-time.Second), true},
		{"another host, lease valid", 4242, "elsewhere.example", now.Add(time.Minute), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := openJournal(t)
			held := store.Lock{OrgID: "o-exampleorgid", Operation: string(KindDeleteCredentials), Token: "old", RunID: "20261129T000000Z-old",
				PID: tt.pid, Host: tt.host, AcquiredAt: now.Add(-2 * time.Hour), LeaseUntil: tt.lease}
			if _, err := j.AcquireLock(t.Context(), held, func(store.Lock) bool { return false }); err != nil {
				t.Fatal(err)
			}
			l, _, err := lockRun(t.Context(), j, held.OrgID, KindDeleteCredentials, "20261129T100000Z-new", testOpts().withDefaults())
			if tt.takeOver {
				if err != nil {
					t.Fatalf("not taken over: %v", err)
				}
				l.release(t.Context())
				if locks, _ := j.Locks(t.Context()); len(locks) != 0 {
					t.Errorf("not released: %+v", locks)
				}
				return
			}
			if !errors.Is(err, ErrRunInProgress) || !strings.Contains(err.Error(), "run 20261129T000000Z-old") {
				t.Fatalf("err = %v, want %v naming the holder", err, ErrRunInProgress)
			}
			if locks, _ := j.Locks(t.Context()); len(locks) != 1 || locks[0].RunID != held.RunID {
				t.Errorf("holder's lock changed: %+v", locks)
			}
		})
	}
}

// TestRunLockRenewedAndLost: the holder renews its lease while it runs;
// when another process takes the lock over, the run's context ends.
func TestRunLockRenewedAndLost(t *testing.T) {
	j := openJournal(t)
	opts := testOpts().withDefaults()
	opts.Lease = 60 * time.Millisecond
	l, ctx, err := lockRun(t.Context(), j, "o-exampleorgid", KindAllowRecovery, "run-1", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.release(t.Context())
	first, _ := j.Locks(t.Context())
	time.Sleep(3 * opts.Lease)
	renewed, _ := j.Locks(t.Context())
	if len(first) != 1 || len(renewed) != 1 || !renewed[0].LeaseUntil.After(first[0].LeaseUntil) {
		t.Fatalf("lease not renewed: %+v then %+v", first, renewed)
	}
	if ctx.Err() != nil {
		t.Fatalf("run cancelled while it held the lock: %v", context.Cause(ctx))
	}
	thief := store.Lock{OrgID: "o-exampleorgid", Operation: string(KindAllowRecovery), Token: "thief", RunID: "run-2",
		PID: 1, Host: "elsewhere.example", AcquiredAt: time.Now(), LeaseUntil: time.Now().Add(time.Hour)}
	if _, err := j.AcquireLock(t.Context(), thief, func(store.Lock) bool { return true }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
		if !errors.Is(context.Cause(ctx), store.ErrLockLost) {
			t.Errorf("cause = %v", context.Cause(ctx))
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the run went on after losing its lock")
	}
}
