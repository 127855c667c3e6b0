package store

// Run locks: one run at a time per organization and operation. A lock
// row names its holder (run id, pid, host) and carries a lease that the
// holder renews while it runs. Another process takes the lock over only
// when the caller's judgement says the holder is gone (its process has
// exited, or it let its lease lapse); otherwise it is refused with
// *LockedError naming the holder.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// lockSchema is migration 3.
const lockSchema = `CREATE TABLE run_locks (
		org_id       TEXT    NOT NULL,
		operation    TEXT    NOT NULL,     -- delete-credentials, allow-recovery, ...
		token        TEXT    NOT NULL,     -- random, the holder's proof
		run_id       TEXT    NOT NULL,     -- the run holding it
		pid          INTEGER NOT NULL,
		host         TEXT    NOT NULL,
		acquired_at  TEXT    NOT NULL,
		lease_until  TEXT    NOT NULL,     -- renewed while the run is alive
		PRIMARY KEY (org_id, operation)
	);`

// Lock is one organization's and operation's run lock, as held.
type Lock struct {
	OrgID      string    `json:"orgId"`
	Operation  string    `json:"operation"`
	Token      string    `json:"-"`
	RunID      string    `json:"runId"`
	PID        int       `json:"pid"`
	Host       string    `json:"host"`
	AcquiredAt time.Time `json:"acquiredAt"`
	LeaseUntil time.Time `json:"leaseUntil"`
}

// LockedError is returned by AcquireLock when another holder is alive.
type LockedError struct{ Held Lock }

func (e *LockedError) Error() string {
	h := e.Held
	return fmt.Sprintf("another %s run of organization %s is in progress: run %s, pid %d on %s, since %s (lease renewed until %s)",
		h.Operation, h.OrgID, h.RunID, h.PID, h.Host, h.AcquiredAt.Format(time.RFC3339), h.LeaseUntil.Format(time.RFC3339))
}

// ErrLockLost is returned, wrapped, by RenewLock and ReleaseLock when the
// lock is no longer the caller's (another process took it over).
var ErrLockLost = errors.New("the run lock was taken over by another process")

// AcquireLock takes want's lock (want.OrgID, want.Operation) for want's
// holder until want.LeaseUntil. A lock already held is taken over only
// when gone(held) reports its holder gone; otherwise the result is a
// *LockedError. It returns the lock it replaced, if any.
func (s *Store) AcquireLock(ctx context.Context, want Lock, gone func(held Lock) bool) (*Lock, error) {
	if want.OrgID == "" || want.Operation == "" || want.Token == "" {
		return nil, errors.New("store: acquire lock: organization, operation and token are required")
	}
	tx, err := s.db.BeginTx(ctx, nil) // IMMEDIATE: holds the write lock from here
	if err != nil {
		return nil, fmt.Errorf("store: acquire lock: %w", err)
	}
	defer tx.Rollback()
	var held Lock
	var acquired, lease string
	err = tx.QueryRowContext(ctx, `SELECT token, run_id, pid, host, acquired_at, lease_until FROM run_locks
		WHERE org_id = ? AND operation = ?`, want.OrgID, want.Operation).
		Scan(&held.Token, &held.RunID, &held.PID, &held.Host, &acquired, &lease)
	var replaced *Lock
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("store: acquire lock: %w", err)
	default:
		held.OrgID, held.Operation = want.OrgID, want.Operation
		if held.AcquiredAt, err = parseTime(acquired); err != nil {
			return nil, fmt.Errorf("store: acquire lock: %w", err)
		}
		if held.LeaseUntil, err = parseTime(lease); err != nil {
			return nil, fmt.Errorf("store: acquire lock: %w", err)
		}
		if !gone(held) {
			return nil, &LockedError{Held: held}
		}
		replaced = &held
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO run_locks
		(org_id, operation, token, run_id, pid, host, acquired_at, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		want.OrgID, want.Operation, want.Token, want.RunID, want.PID, want.Host,
		formatTime(want.AcquiredAt), formatTime(want.LeaseUntil)); err != nil {
		return nil, fmt.Errorf("store: acquire lock: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: acquire lock: %w", err)
	}
	return replaced, nil
}

// RenewLock extends a held lock's lease (and records its run id).
func (s *Store) RenewLock(ctx context.Context, l Lock) error {
	res, err := s.db.ExecContext(ctx, `UPDATE run_locks SET lease_until = ?, run_id = ?
		WHERE org_id = ? AND operation = ? AND token = ?`,
		formatTime(l.LeaseUntil), l.RunID, l.OrgID, l.Operation, l.Token)
	if err != nil {
		return fmt.Errorf("store: renew lock: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: renew lock %s/%s: %w", l.OrgID, l.Operation, ErrLockLost)
	}
	return nil
}

// ReleaseLock gives a held lock up.
func (s *Store) ReleaseLock(ctx context.Context, l Lock) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM run_locks WHERE org_id = ? AND operation = ? AND token = ?`,
		l.OrgID, l.Operation, l.Token)
	if err != nil {
		return fmt.Errorf("store: release lock: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: release lock %s/%s: %w", l.OrgID, l.Operation, ErrLockLost)
	}
	return nil
}

// Locks lists the locks held, for `root journal`.
func (s *Store) Locks(ctx context.Context) ([]Lock, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT org_id, operation, run_id, pid, host, acquired_at, lease_until
		FROM run_locks ORDER BY org_id, operation`)
	if err != nil {
		return nil, fmt.Errorf("store: locks: %w", err)
	}
	defer rows.Close()
	var out []Lock
	for rows.Next() {
		var l Lock
		var acquired, lease string
		if err := rows.Scan(&l.OrgID, &l.Operation, &l.RunID, &l.PID, &l.Host, &acquired, &lease); err != nil {
			return nil, fmt.Errorf("store: locks: %w", err)
		}
		if l.AcquiredAt, err = parseTime(acquired); err != nil {
			return nil, fmt.Errorf("store: locks: %w", err)
		}
		if l.LeaseUntil, err = parseTime(lease); err != nil {
			return nil, fmt.Errorf("store: locks: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: locks: %w", err)
	}
	return out, nil
}
