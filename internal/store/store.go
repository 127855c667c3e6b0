// Package store keeps rootguard's history in an embedded SQLite database:
// every audit report, so that one audit can be compared with the last.
//
// A report is stored whole, as JSON, and also as one row per account
// (its OU, state, read error and failed controls) for ad-hoc queries:
//
//	SELECT audit_id, account, failed_controls FROM audit_accounts
//	WHERE failed_controls LIKE '%IAM.9%';
//
// The schema is versioned: Open applies the migrations a database lacks.
// A Store is safe for concurrent use, and several processes may share one
// database file (SQLite's write-ahead log with a busy timeout).
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rootguard/rootguard/internal/audit"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is returned, wrapped, when a requested audit is not stored.
var ErrNotFound = errors.New("no such audit")

// busyTimeout is how long a connection waits for another writer.
const busyTimeout = 10 * time.Second

// timeLayout stores times as fixed-width UTC text, which sorts in time
// order and stays readable in the sqlite3 shell.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// DefaultPath is where the history lives unless told otherwise:
// $XDG_STATE_HOME/rootguard/rootguard.db, else
// ~/.local/state/rootguard/rootguard.db. A relative XDG_STATE_HOME is
// ignored, as the XDG base directory specification requires.
func DefaultPath() (string, error) {
	if dir := os.Getenv("XDG_STATE_HOME"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "rootguard", "rootguard.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("store: default path: %w", err)
	}
	return filepath.Join(home, ".local", "state", "rootguard", "rootguard.db"), nil
}

// Store is the history database.
type Store struct {
	db   *sql.DB
	path string
}

// Open opens the database at path, creating it, its parent directories
// (mode 0700) and its schema as needed. The database holds the journal of
// every change and the audits' findings: it is created 0600, and an
// existing one readable by others is made 0600 (SQLite gives its -wal and
// -shm files the database file's mode).
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("store: open: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := private(abs); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &Store{db: db, path: abs}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return s, nil
}

// private creates the database file 0600 when it does not exist, and
// takes group and other access away from an existing one and its -wal and
// -shm files.
func private(abs string) error {
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	for _, p := range []string{abs, abs + "-wal", abs + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if st.Mode().IsRegular() && st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, st.Mode().Perm()&0o700); err != nil {
				return err
			}
		}
	}
	return nil
}

// dsn is the driver's data source name for a database file. The path
// goes in a file: URI so that '?', '#' and '%' in it are escaped. The
// pragmas are applied to every pooled connection; write transactions
// begin IMMEDIATE so that they wait for the write lock (busy_timeout)
// rather than fail when upgrading from a read.
func dsn(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows volume: file:///C:/...
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return (&url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}).String()
}

// Path is the database file's absolute path.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// migrations are applied in order; migration i brings the schema to
// version i+1. Append only: never edit a migration that has shipped.
var migrations = []string{
	// 1: audits.
	`CREATE TABLE audits (
		id              INTEGER PRIMARY KEY AUTOINCREMENT,
		org_id          TEXT    NOT NULL,
		started_at      TEXT    NOT NULL,
		finished_at     TEXT    NOT NULL,
		accounts        INTEGER NOT NULL,
		failed          INTEGER NOT NULL, -- accounts that could not be audited
		with_findings   INTEGER NOT NULL, -- accounts with a failed control
		report          TEXT    NOT NULL  -- the audit.Report as JSON
	);
	CREATE INDEX audits_started ON audits (started_at);
	CREATE TABLE audit_accounts (
		audit_id        INTEGER NOT NULL REFERENCES audits (id) ON DELETE CASCADE,
		account         TEXT    NOT NULL,
		name            TEXT    NOT NULL,
		ou_path         TEXT    NOT NULL,
		state           TEXT    NOT NULL,
		error           TEXT    NOT NULL,
		failed_controls TEXT    NOT NULL, -- comma-separated control ids
		PRIMARY KEY (audit_id, account)
	);
	CREATE INDEX audit_accounts_account ON audit_accounts (account, audit_id);`,
	journalSchema, // 2: the remediation journal (journal.go)
	lockSchema,    // 3: run locks (lock.go)
}

// migrate brings the schema up to date in one transaction, so that two
// processes opening a new database at once apply each migration once.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return fmt.Errorf("migrate: schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("migrate: schema version %d is newer than this rootguard knows (%d)", version, len(migrations))
	}
	for v := version + 1; v <= len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			return fmt.Errorf("migrate: version %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
			v, formatTime(time.Now())); err != nil {
			return fmt.Errorf("migrate: version %d: %w", v, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// AuditInfo describes one stored audit.
type AuditInfo struct {
	ID         int64     `json:"id"`
	OrgID      string    `json:"orgId"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	Accounts   int       `json:"accounts"`
	// Failed counts the accounts that could not be audited, as
	// audit.Summary.Failed does.
	Failed int `json:"failed"`
	// WithFindings counts the accounts with at least one failed control.
	WithFindings int `json:"withFindings"`
	// Source is where an audit kept outside the database is
	// (s3://bucket/key); empty for the database's own.
	Source string `json:"source,omitempty"`
}

// Info summarises a report as Audits lists it (without an ID), for
// audits kept elsewhere (internal/history).
func Info(rep *audit.Report) AuditInfo {
	ai := AuditInfo{OrgID: rep.Organization.ID, StartedAt: rep.StartedAt, FinishedAt: rep.FinishedAt, Accounts: len(rep.Accounts)}
	for _, a := range rep.Accounts {
		if a == nil {
			continue
		}
		if a.Error != "" {
			ai.Failed++
		}
		if len(failedControls(a.Controls)) > 0 {
			ai.WithFindings++
		}
	}
	return ai
}

// SaveAudit stores one audit report and returns its id.
func (s *Store) SaveAudit(ctx context.Context, rep *audit.Report) (int64, error) {
	if rep == nil {
		return 0, errors.New("store: save audit: nil report")
	}
	doc, err := json.Marshal(rep)
	if err != nil {
		return 0, fmt.Errorf("store: save audit: %w", err)
	}
	info := Info(rep)
	failed, withFindings := info.Failed, info.WithFindings

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: save audit: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO audits
		(org_id, started_at, finished_at, accounts, failed, with_findings, report)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		rep.Organization.ID, formatTime(rep.StartedAt), formatTime(rep.FinishedAt),
		len(rep.Accounts), failed, withFindings, string(doc))
	if err != nil {
		return 0, fmt.Errorf("store: save audit: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("store: save audit: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit_accounts
		(audit_id, account, name, ou_path, state, error, failed_controls)
		VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, fmt.Errorf("store: save audit: %w", err)
	}
	defer stmt.Close()
	for _, a := range rep.Accounts {
		if a == nil {
			continue
		}
		if _, err := stmt.ExecContext(ctx, id, a.ID, a.Name, a.OUPath, a.State, a.Error,
			strings.Join(failedControls(a.Controls), ",")); err != nil {
			return 0, fmt.Errorf("store: save audit: account %s: %w", a.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: save audit: %w", err)
	}
	return id, nil
}

// failedControls lists the ids of the failed controls, in report order.
func failedControls(cs []audit.Control) []string {
	var ids []string
	for _, c := range cs {
		if c.Outcome == audit.Fail {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// newestFirst orders audits by when they started; the id breaks ties.
const newestFirst = ` ORDER BY started_at DESC, id DESC LIMIT ?`

// Audits lists the stored audits, newest first; limit <= 0 lists all.
func (s *Store) Audits(ctx context.Context, limit int) ([]AuditInfo, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, org_id, started_at, finished_at,
		accounts, failed, with_findings FROM audits`+newestFirst, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: list audits: %w", err)
	}
	defer rows.Close()
	var out []AuditInfo
	for rows.Next() {
		var ai AuditInfo
		var started, finished string
		if err := rows.Scan(&ai.ID, &ai.OrgID, &started, &finished, &ai.Accounts, &ai.Failed, &ai.WithFindings); err != nil {
			return nil, fmt.Errorf("store: list audits: %w", err)
		}
		if ai.StartedAt, err = parseTime(started); err != nil {
			return nil, fmt.Errorf("store: list audits: audit %d: %w", ai.ID, err)
		}
		if ai.FinishedAt, err = parseTime(finished); err != nil {
			return nil, fmt.Errorf("store: list audits: audit %d: %w", ai.ID, err)
		}
		out = append(out, ai)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list audits: %w", err)
	}
	return out, nil
}

// LoadAudit returns the stored report with the given id. The error wraps
// ErrNotFound when there is none.
func (s *Store) LoadAudit(ctx context.Context, id int64) (*audit.Report, error) {
	var doc string
	err := s.db.QueryRowContext(ctx, `SELECT report FROM audits WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: audit %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: audit %d: %w", id, err)
	}
	rep, err := decodeReport(doc)
	if err != nil {
		return nil, fmt.Errorf("store: audit %d: %w", id, err)
	}
	return rep, nil
}

// LatestAudits returns the n newest reports, newest first; n <= 0
// returns all of them.
func (s *Store) LatestAudits(ctx context.Context, n int) ([]*audit.Report, error) {
	return s.LatestOrgAudits(ctx, "", n)
}

// Orgs lists the organizations the history holds audits of, the one
// audited last first.
func (s *Store) Orgs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT org_id FROM audits GROUP BY org_id ORDER BY MAX(started_at) DESC, MAX(id) DESC`)
	if err != nil {
		return nil, fmt.Errorf("store: organizations: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var org string
		if err := rows.Scan(&org); err != nil {
			return nil, fmt.Errorf("store: organizations: %w", err)
		}
		out = append(out, org)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: organizations: %w", err)
	}
	return out, nil
}

// OrgAudits is Audits of one organization ("": every one).
func (s *Store) OrgAudits(ctx context.Context, org string, limit int) ([]AuditInfo, error) {
	infos, err := s.Audits(ctx, 0)
	if err != nil || org == "" {
		if limit > 0 && len(infos) > limit {
			infos = infos[:limit]
		}
		return infos, err
	}
	var out []AuditInfo
	for _, ai := range infos {
		if ai.OrgID == org && (limit <= 0 || len(out) < limit) {
			out = append(out, ai)
		}
	}
	return out, nil
}

// LatestOrgAudits returns the n newest reports of one organization
// ("": of every one), newest first; n <= 0 returns all of them.
func (s *Store) LatestOrgAudits(ctx context.Context, org string, n int) ([]*audit.Report, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, report FROM audits WHERE ? = '' OR org_id = ?`+newestFirst, org, org, sqlLimit(n))
	if err != nil {
		return nil, fmt.Errorf("store: latest audits: %w", err)
	}
	defer rows.Close()
	var out []*audit.Report
	for rows.Next() {
		var id int64
		var doc string
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, fmt.Errorf("store: latest audits: %w", err)
		}
		rep, err := decodeReport(doc)
		if err != nil {
			return nil, fmt.Errorf("store: latest audits: audit %d: %w", id, err)
		}
		out = append(out, rep)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: latest audits: %w", err)
	}
	return out, nil
}

func decodeReport(doc string) (*audit.Report, error) {
	var rep audit.Report
	if err := json.Unmarshal([]byte(doc), &rep); err != nil {
		return nil, fmt.Errorf("decode report: %w", err)
	}
	return &rep, nil
}

// sqlLimit turns "no limit" (<= 0) into SQLite's LIMIT -1.
func sqlLimit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t, nil
}
