package alert

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootguard/rootguard/internal/approval"
)

// Approval is an approval as the table keeps it: the request (account,
// task, window, requester, reason), written once, and its history, every
// state change with who made it and when, appended and never changed.
// Its state (approved, revoked, ...) is read from the history.
type Approval struct {
	approval.Approval
	// Origin says how it came to be: OriginRequest (approval request, then
	// approve by a second principal), OriginGrant (approval grant or
	// import: recorded with free-text names, not approved by identity) or
	// OriginEmergency (root session --emergency: declared, never approved).
	Origin string `json:"origin"`
	// GrantedAt is when the approval was recorded (requested, granted or
	// declared).
	GrantedAt time.Time `json:"grantedAt"`
	// ApprovedBy and ApprovedAt name the approving principal.
	ApprovedBy string    `json:"approvedBy,omitempty"`
	ApprovedAt time.Time `json:"approvedAt,omitzero"`
	RevokedAt  time.Time `json:"revokedAt,omitzero"`
	RevokedBy  string    `json:"revokedBy,omitempty"`
	DeniedBy   string    `json:"deniedBy,omitempty"`
	// Sessions are the access key ids of the root sessions opened under it.
	Sessions []string `json:"sessions,omitempty"`
	// History is every state change, oldest first.
	History []HistoryEvent `json:"history,omitempty"`
}

// HistoryEvent is one state change of an approval.
type HistoryEvent struct {
	Seq   int       `json:"seq"`
	Event string    `json:"event"`
	By    string    `json:"by"`
	At    time.Time `json:"at"`
	Note  string    `json:"note,omitempty"`
	// AccessKeyID is the root session's key, on EventUsed.
	AccessKeyID string `json:"accessKeyId,omitempty"`
}

// Origins.
const (
	OriginRequest   = "request"
	OriginGrant     = "grant"
	OriginEmergency = "emergency"
)

// History events.
const (
	EventRequested = "requested"
	EventApproved  = "approved"
	EventDenied    = "denied"
	EventRevoked   = "revoked"
	EventGranted   = "granted"
	EventUsed      = "used"
	EventDeclared  = "declared" // an emergency session, opened without approval
)

// Approval statuses, as Status reports them.
const (
	StatusPending   = "pending"   // requested, not yet approved or denied
	StatusScheduled = "scheduled" // approved; the window has not started
	StatusActive    = "active"    // approved, in its window, no session opened yet
	StatusUsed      = "used"      // approved, and a root session was opened under it
	StatusExpired   = "expired"   // the window ended (unused, or never approved)
	StatusDenied    = "denied"
	StatusRevoked   = "revoked"
	StatusEmergency = "emergency" // an emergency session: no approval
)

// Approved reports whether the approval was approved (or granted) and
// not revoked, denied or declared as an emergency.
func (a *Approval) Approved() bool {
	return (a.ApprovedBy != "" || a.Origin == OriginGrant) && a.RevokedAt.IsZero() && a.DeniedBy == "" && a.Origin != OriginEmergency
}

// Status says where the approval stands at now.
func (a *Approval) Status(now time.Time) string {
	switch {
	case a.Origin == OriginEmergency:
		return StatusEmergency
	case !a.RevokedAt.IsZero():
		return StatusRevoked
	case a.DeniedBy != "":
		return StatusDenied
	case !a.Approved():
		if now.After(a.Until) {
			return StatusExpired
		}
		return StatusPending
	case len(a.Sessions) > 0:
		return StatusUsed
	case now.After(a.Until):
		return StatusExpired
	case now.Before(a.From):
		return StatusScheduled
	}
	return StatusActive
}

// CoversAt reports whether the approval lets a root session for task in
// account be used at t: approved, not revoked, in its window.
func (a *Approval) CoversAt(account string, task approval.Task, t time.Time) bool {
	return a.Approved() && a.Covers(account, t) && a.Allows(task)
}

// ErrApprovalNotFound reports an approval id the table does not hold.
var ErrApprovalNotFound = errors.New("alert: no such approval")

// ErrConcurrentChange reports a state change that lost a race with
// another one: read the approval again and decide again.
var ErrConcurrentChange = errors.New("alert: the approval changed meanwhile; try again")

// ApprovalConflictError reports an approval id the table already holds
// with other contents.
type ApprovalConflictError struct {
	ID       string
	Existing Approval
}

func (e *ApprovalConflictError) Error() string {
	return fmt.Sprintf("alert: approval %s already exists with other contents (account %s, %s to %s)", e.ID,
		e.Existing.Account, timeString(e.Existing.From), timeString(e.Existing.Until))
}

// StateError reports a state change the approval's state does not allow.
type StateError struct {
	ID, Status, Change string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("alert: approval %s is %s: it cannot be %s", e.ID, e.Status, e.Change)
}

func approvalPK(account string) string { return "approval#" + account }

func approvalSK(a *approval.Approval) string { return timeString(a.Until) + "#" + a.ID }

func approvalIDPK(id string) string { return "approval-id#" + id }

func approvalIDKey(id string) map[string]types.AttributeValue { return key(approvalIDPK(id), noSort) }

func historyKey(id string, seq int) map[string]types.AttributeValue {
	return key(approvalIDPK(id), historySK(seq))
}

func historySK(seq int) string { return fmt.Sprintf("h#%05d", seq) }

func approvalKeyKey(accessKeyID string) map[string]types.AttributeValue {
	return key("approval-key#"+accessKeyID, noSort)
}

// approvalItem encodes an approval's request under a key.
func approvalItem(k map[string]types.AttributeValue, a *Approval) map[string]types.AttributeValue {
	item := k
	item["id"] = str(a.ID)
	item["account"] = str(a.Account)
	if a.Task != "" {
		item["task"] = str(string(a.Task))
	}
	item["from"] = str(timeString(a.From))
	item["until"] = str(timeString(a.Until))
	item["requester"] = str(a.Requester)
	if a.Approver != "" {
		item["approver"] = str(a.Approver)
	}
	item["reason"] = str(a.Reason)
	item["origin"] = str(a.Origin)
	item["grantedAt"] = str(timeString(a.GrantedAt))
	item[attrExpiresAt] = expires(a.Until, approvalRetention)
	return item
}

func decodeApproval(item map[string]types.AttributeValue) Approval {
	a := Approval{Approval: approval.Approval{
		ID: getS(item, "id"), Account: getS(item, "account"), Task: approval.Task(getS(item, "task")),
		From: parseTime(getS(item, "from")), Until: parseTime(getS(item, "until")), Requester: getS(item, "requester"),
		Approver: getS(item, "approver"), Reason: getS(item, "reason"),
	}, Origin: getS(item, "origin"), GrantedAt: parseTime(getS(item, "grantedAt"))}
	if a.Origin == "" {
		// Written before approvals had a history: a grant, perhaps revoked
		// in place.
		a.Origin = OriginGrant
		a.History = append(a.History, HistoryEvent{Seq: 0, Event: EventGranted, By: a.Approver, At: a.GrantedAt})
		if v := getS(item, "revokedAt"); v != "" {
			a.History = append(a.History, HistoryEvent{Seq: 0, Event: EventRevoked, By: getS(item, "revokedBy"), At: parseTime(v)})
		}
	}
	return a
}

func historyItem(id string, ev HistoryEvent, until time.Time) map[string]types.AttributeValue {
	item := historyKey(id, ev.Seq)
	item["event"] = str(ev.Event)
	item["by"] = str(ev.By)
	item["at"] = str(timeString(ev.At))
	if ev.Note != "" {
		item["note"] = str(ev.Note)
	}
	if ev.AccessKeyID != "" {
		item["accessKeyId"] = str(ev.AccessKeyID)
	}
	item[attrExpiresAt] = expires(until, approvalRetention)
	return item
}

func decodeHistory(item map[string]types.AttributeValue) (HistoryEvent, bool) {
	sk := getS(item, attrSK)
	n, ok := strings.CutPrefix(sk, "h#")
	if !ok {
		return HistoryEvent{}, false
	}
	// Only the key historyKey writes is a history event: "h#1x" or
	// "h# 0002", written by hand, must not count as an approval.
	seq, err := strconv.Atoi(n)
	if err != nil || seq < 0 || historySK(seq) != sk {
		return HistoryEvent{}, false
	}
	return HistoryEvent{Seq: seq, Event: getS(item, "event"), By: getS(item, "by"), At: parseTime(getS(item, "at")),
		Note: getS(item, "note"), AccessKeyID: getS(item, "accessKeyId")}, true
}

// apply folds the history into the approval's state fields.
func (a *Approval) apply() {
	a.ApprovedBy, a.ApprovedAt, a.RevokedBy, a.RevokedAt, a.DeniedBy, a.Sessions = "", time.Time{}, "", time.Time{}, "", nil
	for _, ev := range a.History {
		switch ev.Event {
		case EventApproved:
			a.ApprovedBy, a.ApprovedAt = ev.By, ev.At
			a.Approver = ev.By
		case EventGranted:
			if a.Origin == OriginGrant {
				a.ApprovedAt = ev.At
			}
		case EventDenied:
			a.DeniedBy = ev.By
		case EventRevoked:
			if a.RevokedAt.IsZero() {
				a.RevokedBy, a.RevokedAt = ev.By, ev.At
			}
		case EventUsed:
			if ev.AccessKeyID != "" && !slices.Contains(a.Sessions, ev.AccessKeyID) {
				a.Sessions = append(a.Sessions, ev.AccessKeyID)
			}
		}
	}
}

// lastSeq is the sequence number of the newest history event.
func (a *Approval) lastSeq() int {
	n := 0
	for _, ev := range a.History {
		n = max(n, ev.Seq)
	}
	return n
}

// sameWindow reports whether two approvals say the same thing.
func sameWindow(a, b *approval.Approval) bool {
	return a.ID == b.ID && a.Account == b.Account && a.Task == b.Task && a.From.Equal(b.From) && a.Until.Equal(b.Until) &&
		a.Requester == b.Requester && a.Approver == b.Approver && a.Reason == b.Reason
}

// create writes a new approval: its request under its id (refused when
// the id is taken), its first history event, and its window item (what
// the handler queries by account and time). It returns created=false
// when the table holds the same request already (writing it again
// completes an earlier attempt that stopped half-way).
func (t *Table) create(ctx context.Context, rec *Approval, first HistoryEvent) (created bool, err error) {
	rec.From, rec.Until = rec.From.UTC().Truncate(time.Second), rec.Until.UTC().Truncate(time.Second)
	rec.GrantedAt = rec.GrantedAt.UTC().Truncate(time.Second)
	first.Seq, first.At = 1, first.At.UTC().Truncate(time.Second)
	_, err = t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(t.name),
		Item:                     approvalItem(approvalIDKey(rec.ID), rec),
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
	})
	switch {
	case conditionFailed(err):
		old, gerr := t.GetApproval(ctx, rec.ID)
		if gerr != nil {
			return false, gerr
		}
		if !sameWindow(&old.Approval, &rec.Approval) || old.Origin != rec.Origin {
			return false, &ApprovalConflictError{ID: rec.ID, Existing: *old}
		}
		*rec = *old
	case err != nil:
		return false, fmt.Errorf("alert: approval %s: %w", rec.ID, err)
	default:
		created = true
	}
	if err := t.appendEvent(ctx, rec, first); err != nil && !errors.Is(err, ErrConcurrentChange) {
		return false, err
	}
	_, err = t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.name),
		Item:      approvalItem(key(approvalPK(rec.Account), approvalSK(&rec.Approval)), rec),
	})
	if err != nil {
		return false, fmt.Errorf("alert: approval %s: %w", rec.ID, err)
	}
	return created, nil
}

// appendEvent adds one event at its sequence number (ev.Seq, or the one
// after the newest the caller read). The write is conditional: a number
// taken by another change fails with ErrConcurrentChange, so that two
// approvers racing cannot both decide.
func (t *Table) appendEvent(ctx context.Context, a *Approval, ev HistoryEvent) error {
	if ev.Seq == 0 {
		ev.Seq = a.lastSeq() + 1
	}
	ev.At = ev.At.UTC().Truncate(time.Second)
	_, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(t.name),
		Item:                     historyItem(a.ID, ev, a.Until),
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
	})
	if conditionFailed(err) {
		return fmt.Errorf("%w (approval %s, change %d)", ErrConcurrentChange, a.ID, ev.Seq)
	}
	if err != nil {
		return fmt.Errorf("alert: approval %s: record %s: %w", a.ID, ev.Event, err)
	}
	a.History = append(a.History, ev)
	a.apply()
	return nil
}

// PutApproval stores an approval recorded elsewhere (approval grant and
// import: free-text requester and approver, validated by
// internal/approval; times kept to the second). by is the principal that
// recorded it. It returns created=false when the table already holds the
// same approval, and an *ApprovalConflictError when it holds another
// under that id.
func (t *Table) PutApproval(ctx context.Context, a approval.Approval, now time.Time) (created bool, err error) {
	return t.Grant(ctx, a, "", now)
}

// Grant is PutApproval naming the principal that records the approval.
func (t *Table) Grant(ctx context.Context, a approval.Approval, by string, now time.Time) (created bool, err error) {
	rec := &Approval{Approval: a, Origin: OriginGrant, GrantedAt: now}
	note := "recorded approval by " + a.Approver
	if by == "" {
		by = a.Approver
	}
	return t.create(ctx, rec, HistoryEvent{Event: EventGranted, By: by, At: now, Note: note})
}

// Request stores a new request for approval by the principal that made
// it (a.Requester, from sts:GetCallerIdentity). Its id must be new.
func (t *Table) Request(ctx context.Context, a approval.Approval, now time.Time) (*Approval, error) {
	a.Approver = ""
	rec := &Approval{Approval: a, Origin: OriginRequest, GrantedAt: now}
	created, err := t.create(ctx, rec, HistoryEvent{Event: EventRequested, By: a.Requester, At: now, Note: a.Reason})
	if err != nil {
		return nil, err
	}
	if !created {
		return nil, &ApprovalConflictError{ID: a.ID, Existing: *rec}
	}
	return rec, nil
}

// Declare records an emergency root session opened without approval by
// principal: it approves nothing, and lets the alert name the principal
// and the reason.
func (t *Table) Declare(ctx context.Context, a approval.Approval, now time.Time) (*Approval, error) {
	a.Approver = ""
	rec := &Approval{Approval: a, Origin: OriginEmergency, GrantedAt: now}
	if _, err := t.create(ctx, rec, HistoryEvent{Event: EventDeclared, By: a.Requester, At: now, Note: a.Reason}); err != nil {
		return nil, err
	}
	return rec, nil
}

// DecisionError says why a principal may not approve or deny.
type DecisionError struct {
	ID, By, Msg string
}

func (e *DecisionError) Error() string {
	return fmt.Sprintf("alert: approval %s: %s may not decide: %s", e.ID, e.By, e.Msg)
}

// Decide approves (approve true) or denies a pending request as the
// principal by, which must match approvers and must not be the requester
// (by identity: approval.SamePerson). A change that loses a race with
// another decision is refused with the state the other one left.
func (t *Table) Decide(ctx context.Context, id, by string, approvers approval.Approvers, approve bool, note string, now time.Time) (*Approval, error) {
	change, event := "denied", EventDenied
	if approve {
		change, event = "approved", EventApproved
	}
	for range 3 {
		a, err := t.GetApproval(ctx, id)
		if err != nil {
			return nil, err
		}
		switch {
		case len(approvers) == 0:
			return nil, &DecisionError{ID: id, By: by, Msg: "no approvers are configured (approvers: in rootguard.yaml)"}
		case approval.SamePerson(by, a.Requester):
			return nil, &DecisionError{ID: id, By: by, Msg: "it was requested by the same identity (" + a.Requester + "); a second person must decide"}
		}
		if _, ok := approvers.Match(by); !ok {
			return nil, &DecisionError{ID: id, By: by, Msg: "not in the approvers list"}
		}
		if s := a.Status(now); s != StatusPending {
			return nil, &StateError{ID: id, Status: s, Change: change}
		}
		err = t.appendEvent(ctx, a, HistoryEvent{Event: event, By: by, At: now, Note: note})
		if errors.Is(err, ErrConcurrentChange) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return a, nil
	}
	return nil, fmt.Errorf("%w: approval %s", ErrConcurrentChange, id)
}

// RevokeApproval ends an approval (or withdraws a request): from now on
// it covers nothing. Revoking it again changes nothing and returns it as
// it is.
func (t *Table) RevokeApproval(ctx context.Context, id, by string, now time.Time) (*Approval, error) {
	for range 3 {
		a, err := t.GetApproval(ctx, id)
		if err != nil {
			return nil, err
		}
		switch s := a.Status(now); s {
		case StatusRevoked:
			return a, nil
		case StatusDenied, StatusEmergency:
			return nil, &StateError{ID: id, Status: s, Change: "revoked"}
		}
		err = t.appendEvent(ctx, a, HistoryEvent{Event: EventRevoked, By: by, At: now})
		if errors.Is(err, ErrConcurrentChange) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return a, nil
	}
	return nil, fmt.Errorf("%w: approval %s", ErrConcurrentChange, id)
}

// RecordUse records a root session opened under an approval (or an
// emergency declaration): a history event naming its access key, and the
// key's own item, by which the alert function joins the session's events
// to the approval. Recording the same key again changes nothing.
func (t *Table) RecordUse(ctx context.Context, id, accessKeyID, by string, now time.Time) error {
	item := approvalKeyKey(accessKeyID)
	item["id"] = str(id)
	item["by"] = str(by)
	item["at"] = str(timeString(now))
	item[attrExpiresAt] = expires(now, approvalRetention)
	_, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.name), Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #id = :id"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#id": "id"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(id)},
	})
	if err != nil {
		return fmt.Errorf("alert: approval %s: record session %s: %w", id, accessKeyID, err)
	}
	for range 3 {
		a, err := t.GetApproval(ctx, id)
		if err != nil {
			return err
		}
		if slices.Contains(a.Sessions, accessKeyID) {
			return nil
		}
		err = t.appendEvent(ctx, a, HistoryEvent{Event: EventUsed, By: by, At: now, AccessKeyID: accessKeyID})
		if !errors.Is(err, ErrConcurrentChange) {
			return err
		}
	}
	return fmt.Errorf("%w: approval %s", ErrConcurrentChange, id)
}

// ApprovalByKey returns the approval a root session's access key was
// recorded against, or nil.
func (t *Table) ApprovalByKey(ctx context.Context, accessKeyID string) (*Approval, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.name), Key: approvalKeyKey(accessKeyID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("alert: look up the approval of key %s: %w", accessKeyID, err)
	}
	if out.Item == nil {
		return nil, nil
	}
	return t.GetApproval(ctx, getS(out.Item, "id"))
}

// GetApproval returns the approval with that id and its history, or
// ErrApprovalNotFound.
func (t *Table) GetApproval(ctx context.Context, id string) (*Approval, error) {
	var rec *Approval
	var hist []HistoryEvent
	p := dynamodb.NewQueryPaginator(t.db, &dynamodb.QueryInput{
		TableName:                 aws.String(t.name),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(approvalIDPK(id))},
		ConsistentRead:            aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("alert: approval %s: %w", id, err)
		}
		for _, item := range page.Items {
			if getS(item, attrSK) == noSort {
				a := decodeApproval(item)
				rec = &a
			} else if ev, ok := decodeHistory(item); ok {
				hist = append(hist, ev)
			}
		}
	}
	if rec == nil {
		return nil, fmt.Errorf("%w: %s", ErrApprovalNotFound, id)
	}
	rec.History = append(rec.History, hist...)
	slices.SortStableFunc(rec.History, func(a, b HistoryEvent) int { return a.Seq - b.Seq })
	rec.apply()
	return rec, nil
}

// Lookup asks which approval covers a root-user action.
type Lookup struct {
	Account string
	// Task is the action's task (from the session's task policy, or
	// console); "" matches any approval.
	Task approval.Task
	// Principal is who opened the session (sts:AssumeRoot's caller); when
	// set, only approvals requested by the same identity match. Grants
	// (free-text names) match any principal.
	Principal string
	At        time.Time
}

// maxLookBack is how long before an action an approval's window may have
// ended and still be reported as the one used outside its window.
const maxLookBack = 24 * time.Hour

// FindApproval returns the approval that covers an action, or nil; and,
// when none does, the approval for the same account, task and principal
// whose window the action missed (ended within a day before it, or not
// yet started), so that the alert can say "used outside its window". As
// in internal/approval, the window includes both ends and the one that
// started last wins; revoked, denied and pending approvals cover nothing.
func (t *Table) FindApproval(ctx context.Context, l Lookup) (covering, missed *Approval, err error) {
	p := dynamodb.NewQueryPaginator(t.db, &dynamodb.QueryInput{
		TableName:                aws.String(t.name),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk >= :at"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(approvalPK(l.Account)), ":at": str(timeString(l.At.Add(-maxLookBack).Truncate(time.Second))),
		},
		ConsistentRead: aws.Bool(true),
	})
	var windows []Approval
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("alert: account %s: find approval: %w", l.Account, err)
		}
		for _, item := range page.Items {
			w := decodeApproval(item)
			if w.Allows(l.Task) && (l.Principal == "" || w.Origin == OriginGrant || approval.SamePerson(l.Principal, w.Requester)) {
				windows = append(windows, w)
			}
		}
	}
	for _, w := range windows {
		a, err := t.GetApproval(ctx, w.ID)
		if errors.Is(err, ErrApprovalNotFound) {
			continue // the window item of a request whose id item never got written
		}
		if err != nil {
			return nil, nil, err
		}
		switch {
		case a.CoversAt(l.Account, l.Task, l.At):
			if covering == nil || a.From.After(covering.From) {
				covering = a
			}
		case a.Approved() && l.Principal != "" && (missed == nil || a.Until.After(missed.Until)):
			missed = a
		}
	}
	if covering != nil {
		missed = nil
	}
	return covering, missed, nil
}

// Approvals lists the approvals of one account (by its partition), or of
// every account (a Scan: for the command line, not the handler), each
// with its history, ordered by start, then id.
func (t *Table) Approvals(ctx context.Context, account string) ([]Approval, error) {
	var ids []string
	if account != "" {
		p := dynamodb.NewQueryPaginator(t.db, &dynamodb.QueryInput{
			TableName:                 aws.String(t.name),
			KeyConditionExpression:    aws.String("#pk = :pk"),
			ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(approvalPK(account))},
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("alert: account %s: list approvals: %w", account, err)
			}
			for _, item := range page.Items {
				ids = append(ids, getS(item, "id"))
			}
		}
	} else {
		p := dynamodb.NewScanPaginator(t.db, &dynamodb.ScanInput{
			TableName:                 aws.String(t.name),
			FilterExpression:          aws.String("begins_with(#pk, :prefix) AND #sk = :none"),
			ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":prefix": str("approval-id#"), ":none": str(noSort)},
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("alert: list approvals: %w", err)
			}
			for _, item := range page.Items {
				ids = append(ids, getS(item, "id"))
			}
		}
	}
	var out []Approval
	for _, id := range ids {
		a, err := t.GetApproval(ctx, id)
		if errors.Is(err, ErrApprovalNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b Approval) int {
		if c := a.From.Compare(b.From); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
