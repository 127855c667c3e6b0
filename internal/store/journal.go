package store

// The remediation journal: the evidence of every change rootguard makes
// to root credentials. A run is one execution of a plan (delete root
// credentials, allow password recovery); a step is one thing done in one
// account during a run, with its AWS request id. A run that did not
// finish (interrupted, or an account failed) is resumed under the same id,
// and the steps already done are not repeated.
//
//	SELECT at, account, action, target, result, request_id
//	FROM remediation_steps WHERE run_id = '20261129T101500Z-3f9a' ORDER BY seq;

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// journalSchema is migration 2.
const journalSchema = `CREATE TABLE remediation_runs (
		id           TEXT    PRIMARY KEY,  -- e.g. 20261129T101500Z-3f9a
		kind         TEXT    NOT NULL,     -- delete-credentials, allow-recovery
		org_id       TEXT    NOT NULL,
		caller_arn   TEXT    NOT NULL,     -- sts:GetCallerIdentity of whoever started it
		plan_digest  TEXT    NOT NULL,     -- sha256 of the plan document
		plan         TEXT    NOT NULL,     -- the plan, as JSON
		started_at   TEXT    NOT NULL,
		updated_at   TEXT    NOT NULL,     -- last start, resume or finish
		finished_at  TEXT    NOT NULL,     -- '' while running or unfinished
		status       TEXT    NOT NULL,     -- running, done, incomplete, interrupted
		resumes      INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX remediation_runs_digest ON remediation_runs (plan_digest, status);
	CREATE TABLE remediation_steps (
		seq          INTEGER PRIMARY KEY AUTOINCREMENT,
		run_id       TEXT    NOT NULL REFERENCES remediation_runs (id) ON DELETE CASCADE,
		account      TEXT    NOT NULL,     -- '' for run-level rows (resume: who resumed)
		step         TEXT    NOT NULL,     -- the step's key in the plan: snapshot, delete-access-key:AKIA..., verify
		action       TEXT    NOT NULL,     -- the API call: iam:DeleteAccessKey, sts:AssumeRoot, ...
		target       TEXT    NOT NULL,     -- what it acted on: a key id, a serial, the account
		result       TEXT    NOT NULL,     -- ok, already (nothing to do), failed, survived
		request_id   TEXT    NOT NULL,     -- AWS request id ('' when no answer came)
		error        TEXT    NOT NULL,
		detail       TEXT    NOT NULL,     -- JSON: the snapshot, what verification saw, ...
		attempts     INTEGER NOT NULL,     -- requests the step took (SDK retries, EntityTemporarilyUnmodifiable retries)
		at           TEXT    NOT NULL
	);
	CREATE INDEX remediation_steps_run ON remediation_steps (run_id, account, step);`

// ErrRunNotFound is returned, wrapped, when a requested run is not in the
// journal.
var ErrRunNotFound = errors.New("no such remediation run")

// Run statuses.
const (
	RunRunning     = "running"
	RunDone        = "done"        // every account finished
	RunIncomplete  = "incomplete"  // an account failed: resumable
	RunInterrupted = "interrupted" // stopped before the end: resumable
)

// JournalRun is one execution of a remediation plan.
type JournalRun struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	OrgID      string    `json:"orgId"`
	CallerARN  string    `json:"callerArn"`
	PlanDigest string    `json:"planDigest"`
	Plan       []byte    `json:"-"`
	StartedAt  time.Time `json:"startedAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	Status     string    `json:"status"`
	Resumes    int       `json:"resumes"`
	// Steps and Accounts are counted by Runs; zero elsewhere.
	Steps    int `json:"steps"`
	Accounts int `json:"accounts"`
}

// Resumable reports whether the run stopped before every account was done.
func (r *JournalRun) Resumable() bool { return r.Status != RunDone }

// JournalStep is one thing done in one account during a run.
type JournalStep struct {
	Seq       int64     `json:"seq"`
	RunID     string    `json:"runId"`
	Account   string    `json:"account"`
	Step      string    `json:"step"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	Result    string    `json:"result"`
	RequestID string    `json:"requestId,omitempty"`
	Error     string    `json:"error,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	Attempts  int       `json:"attempts"`
	At        time.Time `json:"at"`
}

// CreateRun records the start of a run.
func (s *Store) CreateRun(ctx context.Context, r JournalRun) error {
	if r.ID == "" || r.Kind == "" {
		return errors.New("store: create run: id and kind are required")
	}
	if r.Status == "" {
		r.Status = RunRunning
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.StartedAt
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO remediation_runs
		(id, kind, org_id, caller_arn, plan_digest, plan, started_at, updated_at, finished_at, status, resumes)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Kind, r.OrgID, r.CallerARN, r.PlanDigest, string(r.Plan), formatTime(r.StartedAt),
		formatTime(r.UpdatedAt), optTime(r.FinishedAt), r.Status, r.Resumes)
	if err != nil {
		return fmt.Errorf("store: create run %s: %w", r.ID, err)
	}
	return nil
}

// ResumeRun marks a run as running again and counts the resume.
func (s *Store) ResumeRun(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE remediation_runs
		SET status = ?, updated_at = ?, finished_at = '', resumes = resumes + 1 WHERE id = ?`,
		RunRunning, formatTime(at), id)
	if err != nil {
		return fmt.Errorf("store: resume run %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: resume run %s: %w", id, ErrRunNotFound)
	}
	return nil
}

// FinishRun records how a run (or one resume of it) ended. finished is
// set only for RunDone.
func (s *Store) FinishRun(ctx context.Context, id, status string, at time.Time) error {
	finished := ""
	if status == RunDone {
		finished = formatTime(at)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE remediation_runs SET status = ?, updated_at = ?, finished_at = ? WHERE id = ?`,
		status, formatTime(at), finished, id)
	if err != nil {
		return fmt.Errorf("store: finish run %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: finish run %s: %w", id, ErrRunNotFound)
	}
	return nil
}

// AddStep appends a step to a run and returns its sequence number.
func (s *Store) AddStep(ctx context.Context, st JournalStep) (int64, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO remediation_steps
		(run_id, account, step, action, target, result, request_id, error, detail, attempts, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		st.RunID, st.Account, st.Step, st.Action, st.Target, st.Result, st.RequestID, st.Error,
		st.Detail, st.Attempts, formatTime(st.At))
	if err != nil {
		return 0, fmt.Errorf("store: run %s: account %s: record %s: %w", st.RunID, st.Account, st.Step, err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("store: run %s: record %s: %w", st.RunID, st.Step, err)
	}
	return seq, nil
}

const runColumns = `id, kind, org_id, caller_arn, plan_digest, plan, started_at, updated_at, finished_at, status, resumes`

func scanRun(sc interface{ Scan(...any) error }, extra ...any) (JournalRun, error) {
	var r JournalRun
	var plan, started, updated, finished string
	dest := append([]any{&r.ID, &r.Kind, &r.OrgID, &r.CallerARN, &r.PlanDigest, &plan, &started, &updated, &finished, &r.Status, &r.Resumes}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return r, err
	}
	r.Plan = []byte(plan)
	var err error
	if r.StartedAt, err = parseTime(started); err != nil {
		return r, err
	}
	if r.UpdatedAt, err = parseTime(updated); err != nil {
		return r, err
	}
	if finished != "" {
		if r.FinishedAt, err = parseTime(finished); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Run returns one run. The error wraps ErrRunNotFound when there is none.
func (s *Store) Run(ctx context.Context, id string) (*JournalRun, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM remediation_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: run %s: %w", id, ErrRunNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: run %s: %w", id, err)
	}
	return &r, nil
}

// Runs lists runs, newest first, with their step and account counts;
// limit <= 0 lists all.
func (s *Store) Runs(ctx context.Context, limit int) ([]JournalRun, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+runColumns+`,
		(SELECT COUNT(*) FROM remediation_steps st WHERE st.run_id = r.id),
		(SELECT COUNT(DISTINCT account) FROM remediation_steps st WHERE st.run_id = r.id AND account != '')
		FROM remediation_runs r ORDER BY started_at DESC, id DESC LIMIT ?`, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: list runs: %w", err)
	}
	defer rows.Close()
	var out []JournalRun
	for rows.Next() {
		var steps, accounts int
		r, err := scanRun(rows, &steps, &accounts)
		if err != nil {
			return nil, fmt.Errorf("store: list runs: %w", err)
		}
		r.Steps, r.Accounts = steps, accounts
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list runs: %w", err)
	}
	return out, nil
}

// UnfinishedRuns lists the resumable runs of the plan with this digest,
// newest first.
func (s *Store) UnfinishedRuns(ctx context.Context, planDigest string) ([]JournalRun, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+runColumns+` FROM remediation_runs
		WHERE plan_digest = ? AND status != ? ORDER BY started_at DESC, id DESC`, planDigest, RunDone)
	if err != nil {
		return nil, fmt.Errorf("store: unfinished runs: %w", err)
	}
	defer rows.Close()
	var out []JournalRun
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("store: unfinished runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unfinished runs: %w", err)
	}
	return out, nil
}

// Steps returns a run's steps in the order they were recorded.
func (s *Store) Steps(ctx context.Context, runID string) ([]JournalStep, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, run_id, account, step, action, target, result,
		request_id, error, detail, attempts, at FROM remediation_steps WHERE run_id = ? ORDER BY seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("store: run %s: steps: %w", runID, err)
	}
	defer rows.Close()
	var out []JournalStep
	for rows.Next() {
		var st JournalStep
		var at string
		if err := rows.Scan(&st.Seq, &st.RunID, &st.Account, &st.Step, &st.Action, &st.Target, &st.Result,
			&st.RequestID, &st.Error, &st.Detail, &st.Attempts, &at); err != nil {
			return nil, fmt.Errorf("store: run %s: steps: %w", runID, err)
		}
		if st.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("store: run %s: step %d: %w", runID, st.Seq, err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: run %s: steps: %w", runID, err)
	}
	return out, nil
}

func optTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatTime(t)
}
