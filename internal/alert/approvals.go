package alert

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootguard/rootguard/internal/approval"
)

// Approval is an approval as the table keeps it: the window of
// internal/approval, when it was granted, and whether it was revoked.
type Approval struct {
	approval.Approval
	GrantedAt time.Time `json:"grantedAt"`
	RevokedAt time.Time `json:"revokedAt,omitzero"`
	RevokedBy string    `json:"revokedBy,omitempty"`
}

// Approval statuses, as Status reports them.
const (
	StatusScheduled = "scheduled" // the window has not started
	StatusActive    = "active"
	StatusExpired   = "expired"
	StatusRevoked   = "revoked"
)

// Status says where the approval stands at now.
func (a *Approval) Status(now time.Time) string {
	switch {
	case !a.RevokedAt.IsZero():
		return StatusRevoked
	case now.After(a.Until):
		return StatusExpired
	case now.Before(a.From):
		return StatusScheduled
	}
	return StatusActive
}

// ErrApprovalNotFound reports an approval id the table does not hold.
var ErrApprovalNotFound = errors.New("alert: no such approval")

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

func approvalPK(account string) string { return "approval#" + account }

func approvalSK(a *approval.Approval) string { return timeString(a.Until) + "#" + a.ID }

func approvalIDKey(id string) map[string]types.AttributeValue { return key("approval-id#"+id, noSort) }

// approvalItem encodes an approval under a key.
func approvalItem(k map[string]types.AttributeValue, a *Approval) map[string]types.AttributeValue {
	item := k
	item["id"] = str(a.ID)
	item["account"] = str(a.Account)
	item["from"] = str(timeString(a.From))
	item["until"] = str(timeString(a.Until))
	item["requester"] = str(a.Requester)
	item["approver"] = str(a.Approver)
	item["reason"] = str(a.Reason)
	item["grantedAt"] = str(timeString(a.GrantedAt))
	if !a.RevokedAt.IsZero() {
		item["revokedAt"] = str(timeString(a.RevokedAt))
		item["revokedBy"] = str(a.RevokedBy)
	}
	item[attrExpiresAt] = expires(a.Until, approvalRetention)
	return item
}

func decodeApproval(item map[string]types.AttributeValue) Approval {
	a := Approval{Approval: approval.Approval{
		ID: getS(item, "id"), Account: getS(item, "account"), From: parseTime(getS(item, "from")),
		Until: parseTime(getS(item, "until")), Requester: getS(item, "requester"),
		Approver: getS(item, "approver"), Reason: getS(item, "reason"),
	}, GrantedAt: parseTime(getS(item, "grantedAt")), RevokedBy: getS(item, "revokedBy")}
	if v := getS(item, "revokedAt"); v != "" {
		a.RevokedAt = parseTime(v)
	}
	return a
}

// sameWindow reports whether two approvals say the same thing.
func sameWindow(a, b *approval.Approval) bool {
	return a.ID == b.ID && a.Account == b.Account && a.From.Equal(b.From) && a.Until.Equal(b.Until) &&
		a.Requester == b.Requester && a.Approver == b.Approver && a.Reason == b.Reason
}

// PutApproval stores an approval that was validated by internal/approval
// (times are kept to the second). It returns created=false when the table
// already holds the same approval (writing it again is harmless), and an
// *ApprovalConflictError when it holds another approval under that id.
func (t *Table) PutApproval(ctx context.Context, a approval.Approval, now time.Time) (created bool, err error) {
	a.From, a.Until = a.From.UTC().Truncate(time.Second), a.Until.UTC().Truncate(time.Second)
	rec := &Approval{Approval: a, GrantedAt: now.UTC().Truncate(time.Second)}
	_, err = t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(t.name),
		Item:                     approvalItem(approvalIDKey(a.ID), rec),
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
	})
	switch {
	case conditionFailed(err):
		old, gerr := t.GetApproval(ctx, a.ID)
		if gerr != nil {
			return false, gerr
		}
		if !sameWindow(&old.Approval, &a) {
			return false, &ApprovalConflictError{ID: a.ID, Existing: *old}
		}
		// The same approval: write its window item again, in case an
		// earlier attempt stopped between the two writes.
		rec = old
	case err != nil:
		return false, fmt.Errorf("alert: approval %s: %w", a.ID, err)
	default:
		created = true
	}
	_, err = t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.name),
		Item:      approvalItem(key(approvalPK(a.Account), approvalSK(&a)), rec),
	})
	if err != nil {
		if created {
			// Leave no id behind that names a window never written.
			_, _ = t.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(t.name), Key: approvalIDKey(a.ID)})
		}
		return false, fmt.Errorf("alert: approval %s: %w", a.ID, err)
	}
	return created, nil
}

// GetApproval returns the approval with that id, or ErrApprovalNotFound.
func (t *Table) GetApproval(ctx context.Context, id string) (*Approval, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.name), Key: approvalIDKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("alert: approval %s: %w", id, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("%w: %s", ErrApprovalNotFound, id)
	}
	a := decodeApproval(out.Item)
	return &a, nil
}

// FindApproval returns the approval that covers an action in account at
// at, or nil. As in internal/approval, the window includes both ends and
// the one that started last wins; revoked approvals cover nothing. It
// reads only the account's windows that end at or after at.
func (t *Table) FindApproval(ctx context.Context, account string, at time.Time) (*Approval, error) {
	var best *Approval
	p := dynamodb.NewQueryPaginator(t.db, &dynamodb.QueryInput{
		TableName:                aws.String(t.name),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk >= :at"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(approvalPK(account)), ":at": str(timeString(at.Truncate(time.Second))),
		},
		ConsistentRead: aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("alert: account %s: find approval: %w", account, err)
		}
		for _, item := range page.Items {
			a := decodeApproval(item)
			if a.RevokedAt.IsZero() && a.Covers(account, at) && (best == nil || a.From.After(best.From)) {
				best = &a
			}
		}
	}
	return best, nil
}

// Approvals lists the approvals of one account (by its partition), or of
// every account (a Scan: for the command line, not the handler), ordered
// by start, then id.
func (t *Table) Approvals(ctx context.Context, account string) ([]Approval, error) {
	var out []Approval
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
				out = append(out, decodeApproval(item))
			}
		}
	} else {
		p := dynamodb.NewScanPaginator(t.db, &dynamodb.ScanInput{
			TableName:                 aws.String(t.name),
			FilterExpression:          aws.String("begins_with(#pk, :prefix)"),
			ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":prefix": str("approval-id#")},
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("alert: list approvals: %w", err)
			}
			for _, item := range page.Items {
				out = append(out, decodeApproval(item))
			}
		}
	}
	slices.SortFunc(out, func(a, b Approval) int {
		if c := a.From.Compare(b.From); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// RevokeApproval marks an approval revoked: from now on it covers nothing.
// Revoking it again changes nothing and returns it as it is.
func (t *Table) RevokeApproval(ctx context.Context, id, by string, now time.Time) (*Approval, error) {
	a, err := t.GetApproval(ctx, id)
	if err != nil {
		return nil, err
	}
	if !a.RevokedAt.IsZero() {
		return a, nil
	}
	a.RevokedAt, a.RevokedBy = now.UTC().Truncate(time.Second), by
	// The window item first: it is what the handler reads.
	for _, k := range []map[string]types.AttributeValue{
		key(approvalPK(a.Account), approvalSK(&a.Approval)), approvalIDKey(id),
	} {
		_, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                aws.String(t.name),
			Key:                      k,
			UpdateExpression:         aws.String("SET revokedAt = :at, revokedBy = :by"),
			ConditionExpression:      aws.String("attribute_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": attrPK},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":at": str(timeString(a.RevokedAt)), ":by": str(by),
			},
		})
		if err != nil {
			return nil, fmt.Errorf("alert: revoke approval %s: %w", id, err)
		}
	}
	return a, nil
}
