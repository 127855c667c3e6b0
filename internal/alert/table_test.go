package alert

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/testenv"
)

func newTestTable(t *testing.T) *Table {
	t.Helper()
	db := testenv.StartDynamoDB(t)
	if err := CreateTable(t.Context(), db.Client, "rootguard"); err != nil {
		t.Fatal(err)
	}
	return NewTable(dynamodb.NewFromConfig(db.Config), "rootguard")
}

// TestDeliveryLease holds the delivery item to its rules: one invocation
// at a time holds an event; a failed one releases it with the topics it
// published; one that died is taken over when its lease runs out; a sent
// event is a duplicate for good.
func TestDeliveryLease(t *testing.T) {
	tb := newTestTable(t)
	ctx := t.Context()
	now := time.Date(2026, 10, 8, 1, 0, 0, 0, time.UTC)
	a, err := tb.claimDelivery(ctx, "ev-1", "req-a", now, now.Add(time.Minute))
	if err != nil || len(a.published) != 0 {
		t.Fatalf("first claim: %+v, %v", a, err)
	}
	if _, err := tb.claimDelivery(ctx, "ev-1", "req-b", now.Add(time.Second), now.Add(time.Minute)); !errors.Is(err, ErrInProgress) {
		t.Fatalf("claim while leased: %v, want ErrInProgress", err)
	}
	// A fails after publishing to the main topic and releases the event.
	if err := tb.release(ctx, a, []string{"arn:main"}); err != nil {
		t.Fatal(err)
	}
	b, err := tb.claimDelivery(ctx, "ev-1", "req-b", now.Add(2*time.Second), now.Add(time.Minute))
	if err != nil || len(b.published) != 1 || b.published[0] != "arn:main" {
		t.Fatalf("claim after release: %+v, %v", b, err)
	}
	// B dies holding the lease; C takes over when it runs out.
	if _, err := tb.claimDelivery(ctx, "ev-1", "req-c", now.Add(30*time.Second), now.Add(2*time.Minute)); !errors.Is(err, ErrInProgress) {
		t.Fatalf("claim before the lease ran out: %v", err)
	}
	c, err := tb.claimDelivery(ctx, "ev-1", "req-c", now.Add(61*time.Second), now.Add(2*time.Minute))
	if err != nil || len(c.published) != 1 {
		t.Fatalf("claim after the lease ran out: %+v, %v", c, err)
	}
	// B's late release must not undo C's claim.
	if err := tb.release(ctx, b, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.claimDelivery(ctx, "ev-1", "req-d", now.Add(62*time.Second), now.Add(2*time.Minute)); !errors.Is(err, ErrInProgress) {
		t.Fatalf("a stale owner's release freed the event: %v", err)
	}
	if err := tb.markSent(ctx, c, Alerted, now.Add(63*time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{64 * time.Second, 48 * time.Hour} {
		if _, err := tb.claimDelivery(ctx, "ev-1", "req-e", now.Add(at), now.Add(at+time.Minute)); !errors.Is(err, errDuplicate) {
			t.Errorf("claim %s later: %v, want errDuplicate", at, err)
		}
	}
}

// TestApprovalsTable: approvals keyed by account and window end are found
// by account and time as internal/approval finds them in a file.
func TestApprovalsTable(t *testing.T) {
	tb := newTestTable(t)
	ctx := t.Context()
	day := time.Date(2026, 10, 8, 0, 0, 0, 0, time.UTC)
	mk := func(id, account string, from, until time.Duration) approval.Approval {
		return approval.Approval{ID: id, Account: account, From: day.Add(from), Until: day.Add(until),
			Requester: "sato", Approver: "ccoe-lead", Reason: "change " + id}
	}
	for _, a := range []approval.Approval{
		mk("CHG-1", "333333333333", 1*time.Hour, 3*time.Hour),
		mk("CHG-2", "333333333333", 2*time.Hour, 4*time.Hour), // starts later: wins where both cover
		mk("CHG-3", "333333333333", 10*time.Hour, 11*time.Hour),
		mk("CHG-4", "444444444444", 0, 24*time.Hour),
	} {
		created, err := tb.PutApproval(ctx, a, day)
		if err != nil || !created {
			t.Fatalf("put %s: %v, %v", a.ID, created, err)
		}
	}
	if created, err := tb.PutApproval(ctx, mk("CHG-1", "333333333333", 1*time.Hour, 3*time.Hour), day); err != nil || created {
		t.Errorf("same approval again: created %v, %v", created, err)
	}
	var conflict *ApprovalConflictError
	if _, err := tb.PutApproval(ctx, mk("CHG-1", "333333333333", 1*time.Hour, 5*time.Hour), day); !errors.As(err, &conflict) || conflict.ID != "CHG-1" {
		t.Errorf("other approval under a taken id: %v", err)
	}
	find := func(account string, at time.Duration) string {
		t.Helper()
		a, _, err := tb.FindApproval(ctx, Lookup{Account: account, At: day.Add(at)})
		if err != nil {
			t.Fatal(err)
		}
		if a == nil {
			return ""
		}
		return a.ID
	}
	tests := []struct {
		account string
		at      time.Duration
		want    string
	}{
		{"333333333333", 59 * time.Minute, ""},
		{"333333333333", 1 * time.Hour, "CHG-1"}, // both ends included
		{"333333333333", 2*time.Hour + 30*time.Minute, "CHG-2"},
		{"333333333333", 3*time.Hour + time.Minute, "CHG-2"},
		{"333333333333", 4 * time.Hour, "CHG-2"},
		{"333333333333", 4*time.Hour + time.Second, ""},
		{"333333333333", 10*time.Hour + 30*time.Minute, "CHG-3"},
		{"444444444444", 12 * time.Hour, "CHG-4"},
		{"555555555555", 12 * time.Hour, ""},
	}
	for _, tt := range tests {
		if got := find(tt.account, tt.at); got != tt.want {
			t.Errorf("find %s at +%s = %q, want %q", tt.account, tt.at, got, tt.want)
		}
	}
	r, err := tb.RevokeApproval(ctx, "CHG-2", "ccoe-lead", day.Add(2*time.Hour))
	if err != nil || r.Status(day.Add(3*time.Hour)) != StatusRevoked {
		t.Fatalf("revoke: %+v, %v", r, err)
	}
	if got := find("333333333333", 2*time.Hour+30*time.Minute); got != "CHG-1" {
		t.Errorf("after revoking CHG-2: %q, want CHG-1", got)
	}
	if _, err := tb.RevokeApproval(ctx, "CHG-404", "x", day); !errors.Is(err, ErrApprovalNotFound) {
		t.Errorf("revoke unknown: %v", err)
	}
	all, err := tb.Approvals(ctx, "")
	if err != nil || len(all) != 4 || all[0].ID != "CHG-4" || all[2].ID != "CHG-2" || all[2].RevokedBy != "ccoe-lead" {
		t.Errorf("all approvals: %+v, %v", all, err)
	}
	one, err := tb.Approvals(ctx, "444444444444")
	if err != nil || len(one) != 1 || one[0].Reason != "change CHG-4" || !one[0].GrantedAt.Equal(day) {
		t.Errorf("approvals of 444444444444: %+v, %v", one, err)
	}
}

// TestApprovalHistory: a request is decided once, by a configured
// approver who is not the requester; racing decisions land one; every
// change is a new history item; lookups match account, task, principal
// and time, and name the approval a late session missed.
func TestApprovalHistory(t *testing.T) {
	tb := newTestTable(t)
	ctx := t.Context()
	now := time.Date(2026, 10, 8, 1, 0, 0, 0, time.UTC)
	const (
		alice = "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_Operator_0123/alice@example.com"
		bob   = "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_SecurityApprover_4567/bob@example.com"
		dave  = "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_SecurityApprover_4567/dave@example.com"
	)
	approvers, err := approval.ParseApprovers([]string{"arn:aws:sts::*:assumed-role/AWSReservedSSO_SecurityApprover_*/*"})
	if err != nil {
		t.Fatal(err)
	}
	req := approval.Approval{ID: "R-1", Account: "333333333333", Task: approval.TaskS3Unlock, From: now, Until: now.Add(time.Hour),
		Requester: alice, Reason: "INC-4711"}
	a, err := tb.Request(ctx, req, now)
	if err != nil || a.Status(now) != StatusPending {
		t.Fatalf("request: %+v, %v", a, err)
	}
	if _, err := tb.Request(ctx, req, now); err == nil {
		t.Error("a second request under the same id was stored")
	}
	look := func(task approval.Task, principal string, at time.Time) (string, string) {
		t.Helper()
		c, m, err := tb.FindApproval(ctx, Lookup{Account: "333333333333", Task: task, Principal: principal, At: at})
		if err != nil {
			t.Fatal(err)
		}
		var cs, ms string
		if c != nil {
			cs = c.ID
		}
		if m != nil {
			ms = m.ID
		}
		return cs, ms
	}
	if c, _ := look(approval.TaskS3Unlock, alice, now.Add(time.Minute)); c != "" {
		t.Error("a pending request covers a session")
	}
	var de *DecisionError
	if _, err := tb.Decide(ctx, "R-1", "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_SecurityApprover_4567/alice@example.com", approvers, true, "", now); !errors.As(err, &de) {
		t.Errorf("self-approval through another permission set: %v", err)
	}
	if _, err := tb.Decide(ctx, "R-1", bob, nil, true, "", now); !errors.As(err, &de) {
		t.Errorf("approval with no approvers configured: %v", err)
	}

	// bob and dave approve at once: one lands, the other sees it decided.
	errs := make(chan error, 2)
	for _, by := range []string{bob, dave} {
		go func() {
			_, err := tb.Decide(ctx, "R-1", by, approvers, true, "", now.Add(time.Minute))
			errs <- err
		}()
	}
	var ok, refused int
	for range 2 {
		var se *StateError
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.As(err, &se):
			refused++
		default:
			t.Errorf("racing decision: %v", err)
		}
	}
	if ok != 1 || refused != 1 {
		t.Fatalf("racing decisions: %d landed, %d refused", ok, refused)
	}
	got, err := tb.GetApproval(ctx, "R-1")
	if err != nil || len(got.History) != 2 || got.History[0].Event != EventRequested || got.History[0].By != alice {
		t.Fatalf("history after the race: %+v, %v", got, err)
	}
	if got.Status(now.Add(2*time.Minute)) != StatusActive || (got.ApprovedBy != bob && got.ApprovedBy != dave) {
		t.Fatalf("after the race: %s, approved by %q", got.Status(now.Add(2*time.Minute)), got.ApprovedBy)
	}
	at := now.Add(10 * time.Minute)
	tests := []struct {
		task      approval.Task
		principal string
		at        time.Time
		covering  string
		missed    string
	}{
		{approval.TaskS3Unlock, alice, at, "R-1", ""},
		{approval.TaskS3Unlock, "", at, "R-1", ""},
		{approval.TaskS3Unlock, "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_Operator_0123/carol@example.com", at, "", ""},
		{approval.TaskDeleteCredentials, alice, at, "", ""},
		{approval.TaskS3Unlock, alice, now.Add(61 * time.Minute), "", "R-1"}, // after the window: missed
	}
	for _, tt := range tests {
		if c, m := look(tt.task, tt.principal, tt.at); c != tt.covering || m != tt.missed {
			t.Errorf("look(%s, %s, %s) = %q, %q; want %q, %q", tt.task, tt.principal, tt.at, c, m, tt.covering, tt.missed)
		}
	}
	if err := tb.RecordUse(ctx, "R-1", "ASIAEXAMPLESESSION01", alice, at); err != nil {
		t.Fatal(err)
	}
	if err := tb.RecordUse(ctx, "R-1", "ASIAEXAMPLESESSION01", alice, at); err != nil {
		t.Fatalf("recording the same session again: %v", err)
	}
	byKey, err := tb.ApprovalByKey(ctx, "ASIAEXAMPLESESSION01")
	if err != nil || byKey == nil || byKey.ID != "R-1" || byKey.Status(at) != StatusUsed || len(byKey.Sessions) != 1 {
		t.Fatalf("by key: %+v, %v", byKey, err)
	}
	if _, err := tb.RevokeApproval(ctx, "R-1", bob, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, _ = tb.GetApproval(ctx, "R-1")
	var events []string
	for _, ev := range got.History {
		events = append(events, fmt.Sprintf("%d:%s", ev.Seq, ev.Event))
	}
	if strings.Join(events, " ") != "1:requested 2:approved 3:used 4:revoked" || got.Status(at) != StatusRevoked {
		t.Errorf("history %v, status %s", events, got.Status(at))
	}
	if c, _ := look(approval.TaskS3Unlock, alice, at.Add(2*time.Minute)); c != "" {
		t.Error("a revoked approval still covers")
	}
}
