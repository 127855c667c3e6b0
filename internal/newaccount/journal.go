package newaccount

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDB is the part of the DynamoDB client the journal uses.
type DynamoDB interface {
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Journal states of one event in one account.
const (
	stateStarted  = "started"  // claimed; nothing changed yet, or a deletion may be under way
	stateEnforced = "enforced" // the deletion ran (its outcome recorded); the alert is next
	stateDone     = "done"     // the alert went out: a redelivery does nothing
)

// retention keeps an event's journal item this long (the table's TTL).
const retention = 90 * 24 * time.Hour

// ErrInProgress reports an event another invocation is handling now (it
// holds the lease): the invocation fails, and the retry finds it done or
// takes the lease over once it has run out.
var ErrInProgress = errors.New("newaccount: event is being handled by another invocation")

// errDone reports an event whose alert already went out.
var errDone = errors.New("newaccount: event already handled")

// journal is the function's DynamoDB table, items
// pk "newaccount#<account>", sk "event#<eventId>".
type journal struct {
	db   DynamoDB
	name string
}

// entry is an invocation's claim on an event, and what an earlier,
// interrupted invocation recorded.
type entry struct {
	account, id string
	owner       string
	state       string
	deletion    string   // the deletion's JSON, once it ran
	published   []string // topics an earlier attempt already published to
}

func (j *journal) key(account, id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "newaccount#" + account},
		"sk": &types.AttributeValueMemberS{Value: "event#" + id},
	}
}

func s(v string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func getS(item map[string]types.AttributeValue, k string) string {
	if v, ok := item[k].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// claim makes the invocation the event's only handler until leaseUntil,
// with a conditional write: the item is created, or an unfinished one
// whose lease ran out is taken over (and its progress returned). It
// returns errDone for an event already handled and ErrInProgress while
// another invocation holds the lease.
func (j *journal) claim(ctx context.Context, account, id, owner string, now, leaseUntil time.Time) (*entry, error) {
	out, err := j.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(j.name),
		Key:       j.key(account, id),
		UpdateExpression: aws.String("SET #state = if_not_exists(#state, :started), #lease = :lease, #owner = :owner, " +
			"#exp = if_not_exists(#exp, :exp), #first = if_not_exists(#first, :now)"),
		ConditionExpression: aws.String("attribute_not_exists(pk) OR (#state <> :done AND #lease < :nowms)"),
		ExpressionAttributeNames: map[string]string{"#state": "state", "#lease": "leaseUntil", "#owner": "owner",
			"#exp": "expiresAt", "#first": "firstSeen"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":started": s(stateStarted), ":done": s(stateDone), ":lease": n(leaseUntil.UnixMilli()), ":owner": s(owner),
			":exp": n(now.Add(retention).Unix()), ":now": s(now.UTC().Format(time.RFC3339)), ":nowms": n(now.UnixMilli()),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err == nil {
		e := &entry{account: account, id: id, owner: owner, state: getS(out.Attributes, "state"), deletion: getS(out.Attributes, "deletion")}
		if ss, ok := out.Attributes["published"].(*types.AttributeValueMemberSS); ok {
			e.published = ss.Value
		}
		return e, nil
	}
	var cf *types.ConditionalCheckFailedException
	if !errors.As(err, &cf) {
		return nil, fmt.Errorf("newaccount: account %s, event %s: claim: %w", account, id, err)
	}
	got, err := j.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(j.name), Key: j.key(account, id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("newaccount: account %s, event %s: read journal: %w", account, id, err)
	}
	if getS(got.Item, "state") == stateDone {
		return nil, errDone
	}
	return nil, fmt.Errorf("%w: account %s, event %s, owner %s", ErrInProgress, account, id, getS(got.Item, "owner"))
}

// update records progress while the invocation holds the lease.
func (j *journal) update(ctx context.Context, e *entry, state string, set map[string]types.AttributeValue) error {
	expr := "SET #state = :state"
	names := map[string]string{"#state": "state", "#owner": "owner"}
	values := map[string]types.AttributeValue{":state": s(state), ":owner": s(e.owner)}
	for k, v := range set {
		expr += fmt.Sprintf(", #%s = :%s", k, k)
		names["#"+k], values[":"+k] = k, v
	}
	_, err := j.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(j.name), Key: j.key(e.account, e.id),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String("#owner = :owner"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	if err != nil {
		return fmt.Errorf("newaccount: account %s, event %s: record %s: %w", e.account, e.id, state, err)
	}
	e.state = state
	return nil
}

// release gives the lease up after a failure, so that a retry may start
// at once, keeping the topics already published to.
func (j *journal) release(ctx context.Context, e *entry, published []string) error {
	set := map[string]types.AttributeValue{"leaseUntil": n(0)}
	if len(published) > 0 {
		set["published"] = &types.AttributeValueMemberSS{Value: published}
	}
	return j.update(ctx, e, e.state, set)
}
