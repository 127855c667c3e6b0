package alert

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Delivery states.
const (
	statePending = "pending"
	stateSent    = "sent"
)

// errDuplicate reports an event whose delivery is complete.
var errDuplicate = errors.New("alert: event already delivered")

// ErrInProgress reports an event that another invocation is delivering
// right now (it holds the lease). The invocation fails so that the event
// is tried again later: either the other invocation finished by then and
// the retry finds it sent, or it died and its lease has run out.
var ErrInProgress = errors.New("alert: event is being delivered by another invocation")

// delivery is one invocation's claim on an event.
type delivery struct {
	id    string
	owner string
	// published lists the topics an earlier, failed attempt already
	// published the alert to.
	published []string
}

func deliveryKey(id string) map[string]types.AttributeValue { return key("delivery#"+id, noSort) }

// claimDelivery makes the invocation the event's only deliverer until
// leaseUntil: it creates the delivery item in state pending, or takes
// over a pending one whose lease has run out. It returns errDuplicate when
// the event was delivered and ErrInProgress when another invocation holds
// the lease.
func (t *Table) claimDelivery(ctx context.Context, id, owner string, now, leaseUntil time.Time) (*delivery, error) {
	out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.name),
		Key:       deliveryKey(id),
		UpdateExpression: aws.String("SET #state = :pending, #lease = :lease, #owner = :owner, " +
			"#exp = if_not_exists(#exp, :exp), #first = if_not_exists(#first, :now)"),
		ConditionExpression: aws.String("attribute_not_exists(#pk) OR (#state = :pending AND #lease < :nowms)"),
		ExpressionAttributeNames: map[string]string{
			"#pk": attrPK, "#state": "state", "#lease": "leaseUntil", "#owner": "owner",
			"#exp": attrExpiresAt, "#first": "firstSeen",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pending": str(statePending), ":lease": num(leaseUntil.UnixMilli()), ":owner": str(owner),
			":exp": expires(now, deliveryRetention), ":now": str(timeString(now)), ":nowms": num(now.UnixMilli()),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err == nil {
		return &delivery{id: id, owner: owner, published: getSS(out.Attributes, "published")}, nil
	}
	if !conditionFailed(err) {
		return nil, fmt.Errorf("alert: event %s: claim delivery: %w", id, err)
	}
	got, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.name), Key: deliveryKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("alert: event %s: read delivery: %w", id, err)
	}
	if getS(got.Item, "state") == stateSent {
		return nil, errDuplicate
	}
	return nil, fmt.Errorf("%w: event %s, owner %s, lease until %s", ErrInProgress, id,
		getS(got.Item, "owner"), time.UnixMilli(getN(got.Item, "leaseUntil")).UTC().Format(time.RFC3339))
}

// release gives the lease up after a failure, recording the topics
// published so far, so that a retry may start at once and publish only
// what is missing. It is best effort: if it fails, the lease runs out.
func (t *Table) release(ctx context.Context, d *delivery, published []string) error {
	expr := "SET #lease = :zero"
	values := map[string]types.AttributeValue{":zero": num(0), ":owner": str(d.owner)}
	if len(published) > 0 {
		expr += " ADD published :pub"
		values[":pub"] = &types.AttributeValueMemberSS{Value: published}
	}
	_, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(t.name),
		Key:                       deliveryKey(d.id),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String("#owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#lease": "leaseUntil", "#owner": "owner"},
		ExpressionAttributeValues: values,
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("alert: event %s: release delivery: %w", d.id, err)
	}
	return nil
}

// markSent completes the delivery: a redelivered event is dropped from now
// on.
func (t *Table) markSent(ctx context.Context, d *delivery, outcome Outcome, now time.Time) error {
	_, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(t.name),
		Key:                      deliveryKey(d.id),
		UpdateExpression:         aws.String("SET #state = :sent, outcome = :outcome, sentAt = :now REMOVE #lease"),
		ExpressionAttributeNames: map[string]string{"#state": "state", "#lease": "leaseUntil"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":sent": str(stateSent), ":outcome": str(string(outcome)), ":now": str(timeString(now)),
		},
	})
	if err != nil {
		return fmt.Errorf("alert: event %s: mark delivered: %w", d.id, err)
	}
	return nil
}
