package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestJournalRoundTrip(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	run := JournalRun{
		ID: "20261129T100000Z-0001", Kind: "delete-credentials", OrgID: "o-abc123",
		CallerARN: "arn:aws:iam::111111111111:user/admin", PlanDigest: "sha256:aa",
		Plan: []byte(`{"version":1}`), StartedAt: t0,
	}
	if err := s.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRun(ctx, run); err == nil {
		t.Error("a second run with the same id must be refused")
	}
	steps := []JournalStep{
		{RunID: run.ID, Account: "222222222222", Step: "assume-root", Action: "sts:AssumeRoot", Target: "222222222222", Result: "ok", RequestID: "req-1", Attempts: 1, At: t0.Add(time.Second)},
		{RunID: run.ID, Account: "222222222222", Step: "delete-access-key:AKIA1", Action: "iam:DeleteAccessKey", Target: "AKIA1", Result: "failed", Error: "InternalFailure", Attempts: 10, At: t0.Add(2 * time.Second)},
		{RunID: run.ID, Account: "333333333333", Step: "snapshot", Action: "iam:List*", Target: "root", Result: "ok", Detail: `{"password":true}`, Attempts: 1, At: t0.Add(3 * time.Second)},
	}
	for i, st := range steps {
		seq, err := s.AddStep(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		steps[i].Seq = seq
	}
	got, err := s.Steps(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(steps) {
		t.Fatalf("steps = %d, want %d", len(got), len(steps))
	}
	for i := range got {
		if got[i] != steps[i] {
			t.Errorf("step %d = %+v, want %+v", i, got[i], steps[i])
		}
	}

	r, err := s.Run(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != RunRunning || !r.Resumable() || string(r.Plan) != `{"version":1}` || !r.StartedAt.Equal(t0) || !r.FinishedAt.IsZero() {
		t.Errorf("run = %+v", r)
	}
	if err := s.FinishRun(ctx, run.ID, RunIncomplete, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	un, err := s.UnfinishedRuns(ctx, "sha256:aa")
	if err != nil || len(un) != 1 || un[0].ID != run.ID {
		t.Fatalf("unfinished = %+v, %v", un, err)
	}
	if err := s.ResumeRun(ctx, run.ID, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, run.ID, RunDone, t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	r, _ = s.Run(ctx, run.ID)
	if r.Status != RunDone || r.Resumable() || r.Resumes != 1 || !r.FinishedAt.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("finished run = %+v", r)
	}
	if un, _ := s.UnfinishedRuns(ctx, "sha256:aa"); len(un) != 0 {
		t.Errorf("a done run is not unfinished: %+v", un)
	}
	runs, err := s.Runs(ctx, 0)
	if err != nil || len(runs) != 1 || runs[0].Steps != 3 || runs[0].Accounts != 2 {
		t.Errorf("runs = %+v, %v", runs, err)
	}
}

func TestJournalNotFound(t *testing.T) {
	s := openTemp(t)
	if _, err := s.Run(t.Context(), "nope"); !errors.Is(err, ErrRunNotFound) {
		t.Errorf("Run: %v", err)
	}
	if err := s.ResumeRun(t.Context(), "nope", t0); !errors.Is(err, ErrRunNotFound) {
		t.Errorf("ResumeRun: %v", err)
	}
	if err := s.FinishRun(t.Context(), "nope", RunDone, t0); !errors.Is(err, ErrRunNotFound) {
		t.Errorf("FinishRun: %v", err)
	}
	if _, err := s.AddStep(t.Context(), JournalStep{RunID: "nope", Account: "1", Step: "x", At: t0}); err == nil {
		t.Error("a step of an unknown run must be refused (foreign key)")
	}
}

// TestJournalSurvivesReopen: the journal is durable across processes.
func TestJournalSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rootguard.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRun(t.Context(), JournalRun{ID: "r1", Kind: "allow-recovery", StartedAt: t0}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r, err := s.Run(t.Context(), "r1"); err != nil || r.Kind != "allow-recovery" {
		t.Errorf("run after reopen = %+v, %v", r, err)
	}
}
