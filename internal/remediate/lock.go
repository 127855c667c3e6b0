package remediate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/rootguard/rootguard/internal/store"
)

// DefaultLease is how long a run's lock stays valid without renewal; the
// holder renews it every third of that while it runs.
const DefaultLease = 30 * time.Second

// ErrRunInProgress is returned, wrapped, when another run of the same
// operation on the same organization holds the journal's lock. Nothing
// has been sent to AWS when it is returned.
var ErrRunInProgress = errors.New("another run is in progress")

// runLock is a held journal lock and its renewal.
type runLock struct {
	j      *store.Store
	l      store.Lock
	stop   context.CancelFunc
	done   chan struct{}
	cancel context.CancelCauseFunc
}

// holderGone says whether a lock's holder is gone: its process has
// exited on this host, or (elsewhere, or when that cannot be told) its
// lease has lapsed.
func holderGone(h store.Lock, host string) bool {
	if h.Host == host {
		if alive, known := processAlive(h.PID); known {
			return !alive
		}
	}
	return time.Now().After(h.LeaseUntil)
}

// Operations that change an organization outside a journaled run; they
// take the same run lock as the journaled ones (LockOrg).
const (
	KindDeploy        Kind = "deploy"
	KindOrgEnable     Kind = "org-enable"
	KindAccountCreate Kind = "account-create"
)

func inProgress(le *store.LockedError) error {
	switch Kind(le.Held.Operation) {
	case KindDeploy, KindOrgEnable, KindAccountCreate:
		return fmt.Errorf("remediate: %w: %v: nothing was sent; wait for it to end", ErrRunInProgress, le)
	}
	return fmt.Errorf("remediate: %w: %v: nothing was sent; wait for it to end (rootguard root journal %s shows it)",
		ErrRunInProgress, le, le.Held.RunID)
}

// LockOrg takes the journal's run lock of op on org for a command that
// changes the organization without a journaled run (deploy apply, org
// enable, account create), before its first change, and renews it until
// release is called. A live run of op on org is refused at once,
// wrapping ErrRunInProgress and naming it (run, pid, host, since);
// nothing has been sent then. The returned context is cancelled if the
// lock is lost.
func LockOrg(ctx context.Context, j *store.Store, org string, op Kind, logger *slog.Logger) (release func(), _ context.Context, _ error) {
	opts := Options{Logger: logger}.withDefaults()
	id, err := newRunID(time.Now().UTC().Format("20060102T150405Z"))
	if err != nil {
		return nil, nil, err
	}
	l, rctx, err := lockRun(ctx, j, org, op, id, opts)
	if err != nil {
		return nil, nil, err
	}
	return func() { l.release(ctx) }, rctx, nil
}

// CheckNotRunning refuses at once, before anything is read from AWS or
// asked, when a live run of op on org holds the journal's lock (wrapping
// ErrRunInProgress and naming the run). It takes no lock: Apply and Resume
// take it, and refuse the same way if a run started meanwhile.
func CheckNotRunning(ctx context.Context, j *store.Store, org string, op Kind) error {
	locks, err := j.Locks(ctx)
	if err != nil {
		return fmt.Errorf("remediate: %w", err)
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	for _, l := range locks {
		if l.OrgID == org && l.Operation == string(op) && !holderGone(l, host) {
			return inProgress(&store.LockedError{Held: l})
		}
	}
	return nil
}

// lockRun takes the journal's lock of an organization and operation for
// a run, before anything is sent to AWS, and renews it until release. A
// lock held by a live run is refused; one whose holder is gone (its
// process exited on this host, or its lease lapsed elsewhere) is taken
// over. The returned context is cancelled if the lock is lost.
func lockRun(ctx context.Context, j *store.Store, org string, op Kind, runID string, opts Options) (*runLock, context.Context, error) {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	var tok [16]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, nil, fmt.Errorf("remediate: lock: %w", err)
	}
	now := time.Now().UTC() // leases are compared across processes: the wall clock, never opts.Now
	want := store.Lock{OrgID: org, Operation: string(op), Token: hex.EncodeToString(tok[:]), RunID: runID,
		PID: os.Getpid(), Host: host, AcquiredAt: now, LeaseUntil: now.Add(opts.Lease)}
	replaced, err := j.AcquireLock(ctx, want, func(h store.Lock) bool { return holderGone(h, host) })
	if le := (*store.LockedError)(nil); errors.As(err, &le) {
		return nil, nil, inProgress(le)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("remediate: %w", err)
	}
	if replaced != nil {
		opts.Logger.Warn("took over the run lock of a run that is gone", "run", replaced.RunID, "pid", replaced.PID,
			"host", replaced.Host, "leaseUntil", replaced.LeaseUntil)
	}
	rctx, cancel := context.WithCancelCause(ctx)
	tick, stop := context.WithCancel(context.WithoutCancel(ctx))
	r := &runLock{j: j, l: want, stop: stop, done: make(chan struct{}), cancel: cancel}
	go r.renew(tick, opts)
	return r, rctx, nil
}

// renew extends the lease every third of it until stopped; a lost lock
// cancels the run.
func (r *runLock) renew(ctx context.Context, opts Options) {
	defer close(r.done)
	t := time.NewTicker(opts.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l := r.l
		l.LeaseUntil = time.Now().UTC().Add(opts.Lease)
		err := r.j.RenewLock(ctx, l)
		switch {
		case errors.Is(err, store.ErrLockLost):
			opts.Logger.Error("run lock lost: stopping the run", "run", l.RunID)
			r.cancel(fmt.Errorf("remediate: %w", err))
			return
		case err != nil:
			opts.Logger.Warn("run lock not renewed (will retry)", "run", l.RunID, "error", err)
		}
	}
}

// release stops renewing and gives the lock up, even when ctx was
// cancelled.
func (r *runLock) release(ctx context.Context) {
	r.stop()
	<-r.done
	r.cancel(nil)
	_ = r.j.ReleaseLock(context.WithoutCancel(ctx), r.l) // lost: nothing of ours to release
}
