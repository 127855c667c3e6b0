package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/audit"
)

var t0 = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

// fullReport is an audit of two accounts that uses every nested type.
func fullReport() *audit.Report {
	return &audit.Report{
		StartedAt:  t0,
		FinishedAt: t0.Add(42*time.Second + 123456789*time.Nanosecond),
		Organization: audit.OrgInfo{
			ID: "o-abc123", ManagementAccountID: "111111111111", FeatureSet: "ALL",
			EnabledFeatures: []string{"RootCredentialsManagement", "RootSessions"}, IAMTrustedAccess: true,
			IAMDelegatedAdmins: []string{"333333333333"},
		},
		OrgControls: []audit.Control{
			{ID: audit.CtlOrgRootAccess, Title: "Centralized root access enabled", Outcome: audit.Pass, Detail: "enabled"},
		},
		Accounts: []*audit.Account{
			{
				ID: "111111111111", Name: "management", Email: "root@example.com", OUPath: "/", State: "ACTIVE",
				Management: true, Method: audit.MethodManagement,
				Root: &audit.Root{
					Password: true, PasswordLastUsed: t0.Add(-48 * time.Hour),
					MFADevices: []audit.MFADevice{{Serial: "GAHT12345678", Kind: audit.MFAHardware, EnableDate: t0.Add(-1000 * time.Hour)}},
					AccessKeys: []audit.AccessKey{{
						ID: "AKIAEXAMPLE1", Status: "Inactive", Created: t0.Add(-5000 * time.Hour),
						LastUsed: t0.Add(-100 * time.Hour), LastUsedService: "s3", LastUsedRegion: "eu-west-1",
					}},
					SigningCertificates: []audit.Certificate{{ID: "CERT1", Status: "Active"}},
					LastUsed:            t0.Add(-48 * time.Hour),
					Notes:               []string{"password read from the login profile"},
				},
				Controls: []audit.Control{
					{ID: audit.CtlNoAccessKeys, Title: "Root user has no access keys", Outcome: audit.Fail, Detail: "1 inactive"},
					{ID: audit.CtlRootMFA, Title: "Root user has MFA", Outcome: audit.Pass, Detail: "1 MFA device(s): hardware"},
					{ID: audit.CtlNotUsedRecently, Title: "Root user not used in the last 90 days", Outcome: audit.Fail, Detail: "2 days ago"},
				},
				RootDenySCPs: []audit.RootDenySCP{{ID: "p-1", Name: "deny-root", Target: "Root", ExemptsRootSessions: true}},
			},
			{
				ID: "222222222222", Name: "prod", Email: "prod@example.com", OUPath: "/Workloads/Prod", State: "ACTIVE",
				Method: audit.MethodNone,
				Controls: []audit.Control{
					{ID: audit.CtlNoAccessKeys, Title: "Root user has no access keys", Outcome: audit.Unknown, Detail: "not read"},
				},
				Error: "assume root: AccessDenied",
			},
		},
		Summary: audit.Summary{
			Accounts: 2, Audited: 1, Failed: 1,
			ByControl: map[string]audit.Tally{audit.CtlNoAccessKeys: {Fail: 1, Unknown: 1}, audit.CtlRootMFA: {Pass: 1}},
		},
	}
}

// reportAt is a small report that started at t.
func reportAt(org string, t time.Time) *audit.Report {
	return &audit.Report{
		StartedAt: t, FinishedAt: t.Add(time.Minute),
		Organization: audit.OrgInfo{ID: org},
		Accounts:     []*audit.Account{{ID: "111111111111", State: "ACTIVE", Root: &audit.Root{}}},
	}
}

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "rootguard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreDefaultPath(t *testing.T) {
	home := t.TempDir()
	state := t.TempDir()
	tests := []struct {
		name    string
		home    string
		xdg     string
		want    string
		wantErr bool
	}{
		{"XDG_STATE_HOME wins", home, state, filepath.Join(state, "rootguard", "rootguard.db"), false},
		{"home without XDG_STATE_HOME", home, "", filepath.Join(home, ".local", "state", "rootguard", "rootguard.db"), false},
		{"relative XDG_STATE_HOME is ignored", home, "relative/state", filepath.Join(home, ".local", "state", "rootguard", "rootguard.db"), false},
		{"no home", "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantErr && runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
				t.Skip("the home directory does not come from $HOME here")
			}
			t.Setenv("HOME", tt.home)
			t.Setenv("XDG_STATE_HOME", tt.xdg)
			got, err := DefaultPath()
			if (err != nil) != tt.wantErr {
				t.Fatalf("DefaultPath() error = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("DefaultPath() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStoreSaveLoadRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rep  *audit.Report
	}{
		{"two accounts with nested structs", fullReport()},
		{"no accounts", &audit.Report{StartedAt: t0, FinishedAt: t0, Organization: audit.OrgInfo{ID: "o-empty"}}},
		{"organization not readable", &audit.Report{StartedAt: t0, Organization: audit.OrgInfo{Error: "AccessDenied"},
			OrgControls: []audit.Control{{ID: audit.CtlOrgRootAccess, Outcome: audit.Unknown}}}},
		{"non-UTC times", &audit.Report{StartedAt: t0.In(time.FixedZone("", 2*3600)), FinishedAt: t0.In(time.FixedZone("", -5*3600))}},
	}
	s := openTemp(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := s.SaveAudit(t.Context(), tt.rep)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.LoadAudit(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if !sameReport(got, tt.rep) {
				t.Errorf("LoadAudit(%d) =\n%+v\nwant\n%+v", id, got, tt.rep)
			}
		})
	}
}

// sameReport compares reports deeply, with times compared as instants (a
// fixed zone read back from JSON is a new *time.Location).
func sameReport(a, b *audit.Report) bool {
	if !a.StartedAt.Equal(b.StartedAt) || !a.FinishedAt.Equal(b.FinishedAt) {
		return false
	}
	a2, b2 := *a, *b
	a2.StartedAt, a2.FinishedAt, b2.StartedAt, b2.FinishedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return reflect.DeepEqual(&a2, &b2)
}

func TestStoreSaveAuditAccountRows(t *testing.T) {
	s := openTemp(t)
	id, err := s.SaveAudit(t.Context(), fullReport())
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.db.QueryContext(t.Context(), `SELECT account, name, ou_path, state, error, failed_controls
		FROM audit_accounts WHERE audit_id = ? ORDER BY account`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got [][6]string
	for rows.Next() {
		var r [6]string
		if err := rows.Scan(&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := [][6]string{
		{"111111111111", "management", "/", "ACTIVE", "", "IAM.4,RG.ROOT.2"},
		{"222222222222", "prod", "/Workloads/Prod", "ACTIVE", "assume root: AccessDenied", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("audit_accounts rows = %q, want %q", got, want)
	}

	infos, err := s.Audits(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	wantInfo := AuditInfo{ID: id, OrgID: "o-abc123", StartedAt: t0, FinishedAt: fullReport().FinishedAt,
		Accounts: 2, Failed: 1, WithFindings: 1}
	if len(infos) != 1 || infos[0] != wantInfo {
		t.Errorf("Audits() = %+v, want [%+v]", infos, wantInfo)
	}
}

func TestStoreSaveAuditErrors(t *testing.T) {
	s := openTemp(t)
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	dup := reportAt("o-dup", t0)
	dup.Accounts = append(dup.Accounts, dup.Accounts[0])
	tests := []struct {
		name   string
		ctx    context.Context
		rep    *audit.Report
		target error
	}{
		{"nil report", t.Context(), nil, nil},
		{"canceled context", canceled, reportAt("o-1", t0), context.Canceled},
		{"duplicate account", t.Context(), dup, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SaveAudit(tt.ctx, tt.rep)
			if err == nil {
				t.Fatal("SaveAudit succeeded, want an error")
			}
			if tt.target != nil && !errors.Is(err, tt.target) {
				t.Errorf("SaveAudit error = %v, want %v", err, tt.target)
			}
		})
	}
	// A failed save leaves nothing behind.
	if infos, err := s.Audits(t.Context(), 0); err != nil || len(infos) != 0 {
		t.Errorf("Audits() = %v, %v; want none", infos, err)
	}
	var n int
	if err := s.db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM audit_accounts`).Scan(&n); err != nil || n != 0 {
		t.Errorf("audit_accounts has %d rows (%v), want 0", n, err)
	}
}

func TestStoreLoadAuditNotFound(t *testing.T) {
	s := openTemp(t)
	if _, err := s.LoadAudit(t.Context(), 42); !errors.Is(err, ErrNotFound) {
		t.Errorf("LoadAudit(42) error = %v, want ErrNotFound", err)
	}
}

func TestStoreAuditsOrdering(t *testing.T) {
	s := openTemp(t)
	// Saved out of order; the last two start at the same instant, so the
	// later save (the higher id) counts as newer.
	starts := []struct {
		org string
		at  time.Time
	}{
		{"o-2", t0.Add(2 * time.Hour)},
		{"o-1", t0.Add(1 * time.Hour)},
		{"o-4", t0.Add(4 * time.Hour)},
		{"o-3a", t0.Add(3 * time.Hour)},
		{"o-3b", t0.Add(3 * time.Hour)},
		{"o-0", t0.Add(500 * time.Millisecond)}, // sub-second precision
		{"o-00", t0},
	}
	for _, st := range starts {
		if _, err := s.SaveAudit(t.Context(), reportAt(st.org, st.at)); err != nil {
			t.Fatal(err)
		}
	}
	newest := []string{"o-4", "o-3b", "o-3a", "o-2", "o-1", "o-0", "o-00"}
	tests := []struct {
		name  string
		limit int
		want  []string
	}{
		{"all", 0, newest},
		{"negative is all", -1, newest},
		{"one", 1, newest[:1]},
		{"three", 3, newest[:3]},
		{"more than stored", 100, newest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			infos, err := s.Audits(t.Context(), tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, ai := range infos {
				got = append(got, ai.OrgID)
				if i > 0 && ai.StartedAt.After(infos[i-1].StartedAt) {
					t.Errorf("audit %d started after the one listed before it", ai.ID)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Audits(%d) orgs = %v, want %v", tt.limit, got, tt.want)
			}

			reps, err := s.LatestAudits(t.Context(), tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			got = nil
			for _, r := range reps {
				got = append(got, r.Organization.ID)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("LatestAudits(%d) orgs = %v, want %v", tt.limit, got, tt.want)
			}
		})
	}
}

func TestStoreEmpty(t *testing.T) {
	s := openTemp(t)
	infos, err := s.Audits(t.Context(), 10)
	if err != nil || len(infos) != 0 {
		t.Errorf("Audits() = %v, %v; want none", infos, err)
	}
	reps, err := s.LatestAudits(t.Context(), 2)
	if err != nil || len(reps) != 0 {
		t.Errorf("LatestAudits() = %v, %v; want none", reps, err)
	}
}

func TestStoreOpenPaths(t *testing.T) {
	tests := []struct {
		name string
		path func(dir string) string
	}{
		{"existing directory", func(dir string) string { return filepath.Join(dir, "rootguard.db") }},
		{"non-existent nested directories", func(dir string) string { return filepath.Join(dir, "a", "b", "c", "rootguard.db") }},
		{"URI characters in the path", func(dir string) string { return filepath.Join(dir, "we?ird#dir %41", "root guard.db") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path(t.TempDir())
			s, err := Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.SaveAudit(t.Context(), reportAt("o-1", t0)); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("database not at %s: %v", path, err)
			}
			fi, err := os.Stat(filepath.Dir(path))
			if err != nil {
				t.Fatal(err)
			}
			if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 && tt.name != "existing directory" {
				t.Errorf("created directory mode = %v, want 0700", fi.Mode().Perm())
			}
		})
	}
}

func TestStoreOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	notDB := filepath.Join(dir, "not.db")
	if err := os.WriteFile(notDB, []byte("this is not an SQLite database, not even close to one"), 0o600); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		path string
	}{
		{"empty path", t.Context(), ""},
		{"parent is a file", t.Context(), filepath.Join(file, "rootguard.db")},
		{"not a database", t.Context(), notDB},
		{"canceled context", canceled, filepath.Join(dir, "canceled.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.ctx, tt.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded, want an error", tt.path)
			}
		})
	}
}

func TestStoreReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rootguard.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.SaveAudit(t.Context(), fullReport())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.LoadAudit(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !sameReport(got, fullReport()) {
		t.Errorf("after reopening, LoadAudit(%d) = %+v", id, got)
	}
	id2, err := s.SaveAudit(t.Context(), reportAt("o-later", t0.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if id2 <= id {
		t.Errorf("id after reopening = %d, want > %d", id2, id)
	}
}

func TestStoreOpenSchemaOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rootguard.db")
	// Open twice in a row, then twice at once.
	for range 2 {
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	var wg sync.WaitGroup
	stores := make([]*Store, 2)
	errs := make([]error, 2)
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		defer stores[i].Close()
	}
	s := stores[0]

	var n, version int
	if err := s.db.QueryRowContext(t.Context(), `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &version); err != nil {
		t.Fatal(err)
	}
	if n != len(migrations) || version != len(migrations) {
		t.Errorf("schema_migrations has %d rows up to version %d, want %d", n, version, len(migrations))
	}
	var mode string
	if err := s.db.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

func TestStoreOpenNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rootguard.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, applied_at) VALUES (?, '')`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(t.Context(), path); err == nil {
		s.Close()
		t.Fatal("Open succeeded on a database from a newer rootguard")
	}
}

func TestStoreConcurrentSaveAudit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rootguard.db")
	// Two Stores on one file stand in for two processes.
	a, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	const workers, each = 6, 5
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[int64]bool{}
	errc := make(chan error, workers*each)
	for w := range workers {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for i := range each {
				rep := fullReport()
				rep.Organization.ID = fmt.Sprintf("o-%d-%d", w, i)
				id, err := s.SaveAudit(t.Context(), rep)
				if err != nil {
					errc <- err
					return
				}
				// Read while others write.
				if _, err := s.Audits(t.Context(), 3); err != nil {
					errc <- err
					return
				}
				mu.Lock()
				ids[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if len(ids) != workers*each {
		t.Errorf("%d distinct ids, want %d", len(ids), workers*each)
	}
	infos, err := a.Audits(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != workers*each {
		t.Errorf("%d audits stored, want %d", len(infos), workers*each)
	}
	var rows int
	if err := a.db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM audit_accounts`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 2*workers*each {
		t.Errorf("%d account rows, want %d", rows, 2*workers*each)
	}
}

// TestStorePrivateFiles: the database holds the change journal and every
// audit, so it and its -wal/-shm files are readable by their owner only,
// in a directory made 0700, whether Open creates the file or finds one a
// careless umask or copy left open to others.
func TestStorePrivateFiles(t *testing.T) {
	for _, tt := range []struct {
		name string
		// before prepares the database path.
		before func(t *testing.T, path string)
	}{
		{"created", func(*testing.T, string) {}},
		{"existing world-readable", func(t *testing.T, path string) {
			s, err := Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.SaveAudit(t.Context(), fullReport()); err != nil {
				t.Fatal(err)
			}
			// Left open, so that its -wal and -shm files stay.
			t.Cleanup(func() { s.Close() })
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				if err := os.Chmod(p, 0o666); err != nil {
					t.Fatal(err)
				}
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state", "rootguard", "rootguard.db")
			tt.before(t, path)
			s, err := Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.SaveAudit(t.Context(), fullReport()); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				st, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm()&0o077 != 0 {
					t.Errorf("%s: mode %v, want no group or other access", filepath.Base(p), st.Mode().Perm())
				}
			}
			for _, d := range []string{filepath.Dir(path), filepath.Dir(filepath.Dir(path))} {
				st, err := os.Stat(d)
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != 0o700 {
					t.Errorf("%s: mode %v, want 0700", d, st.Mode().Perm())
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestOrgAudits: the history answers per organization, the one audited
// last first, and never returns another organization's audit.
func TestOrgAudits(t *testing.T) {
	s := openTemp(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, org := range []string{"o-a", "o-b", "o-a", "o-b", "o-c"} {
		if _, err := s.SaveAudit(t.Context(), reportAt(org, t0.Add(time.Duration(i)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	orgs, err := s.Orgs(t.Context())
	if err != nil || !slices.Equal(orgs, []string{"o-c", "o-b", "o-a"}) {
		t.Errorf("Orgs = %v, %v", orgs, err)
	}
	reps, err := s.LatestOrgAudits(t.Context(), "o-a", 5)
	if err != nil || len(reps) != 2 || !reps[0].StartedAt.Equal(t0.Add(2*time.Hour)) || reps[1].Organization.ID != "o-a" {
		t.Errorf("LatestOrgAudits(o-a) = %d reports, %v", len(reps), err)
	}
	infos, err := s.OrgAudits(t.Context(), "o-b", 1)
	if err != nil || len(infos) != 1 || infos[0].OrgID != "o-b" || !infos[0].StartedAt.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("OrgAudits(o-b, 1) = %+v, %v", infos, err)
	}
	if all, err := s.LatestOrgAudits(t.Context(), "", 0); err != nil || len(all) != 5 {
		t.Errorf("every organization: %d, %v", len(all), err)
	}
}
