package alert

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// Attribute names.
const (
	attrPK        = "pk"
	attrSK        = "sk"
	attrExpiresAt = "expiresAt"
	noSort        = "-"
)

// Retention of items (the TTL written into expiresAt).
const (
	deliveryRetention = 7 * 24 * time.Hour
	sessionRetention  = 24 * time.Hour
	approvalRetention = 90 * 24 * time.Hour
	summaryRetention  = 7 * 24 * time.Hour
)

// DynamoDB is the part of the DynamoDB API rootguard uses;
// *dynamodb.Client implements it.
type DynamoDB interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Table is rootguard's DynamoDB table, shared by the handler and
// `rootguard approval`. Its key is a string partition key pk and a string
// sort key sk; expiresAt (a number, epoch seconds) is the TTL attribute.
//
//	pk                     sk                   item
//	delivery#<eventId>     -                    one event's delivery: state pending|sent,
//	                                            leaseUntil, owner, published (topics done);
//	                                            kept 7 days
//	session#<accessKeyId>  -                    a root session issued by sts:AssumeRoot:
//	                                            issuer, task policy, target, issued at;
//	                                            kept 1 day
//	summary                <account>#<session>  a session's actions not alerted one by one,
//	                                            waiting for its summary: findings (a map
//	                                            event id -> finding JSON), first, last
//	approval#<account>     <until>#<id>         an approval's window, written once; <until>
//	                                            is RFC 3339 UTC to the second, so a Query on
//	                                            sk >= <time> reads only the account's windows
//	                                            that have not ended; kept until+90 days
//	approval-id#<id>       -                    the approval's request by id, written once
//	                                            (keeps ids unique)
//	approval-id#<id>       h#<seq>              its history: one item per state change
//	                                            (requested, approved, denied, revoked,
//	                                            granted, used, declared) with who and when,
//	                                            each written once with a condition that the
//	                                            number is free, so nothing is overwritten and
//	                                            two racing decisions cannot both land
//	approval-key#<akid>    -                    a root session's access key -> the approval
//	                                            it was opened under (root session)
//
// <eventId> is the CloudTrail eventID or the GuardDuty finding id with
// its occurrence ("<id>#count=N", see deliveryID), else the EventBridge
// event id. The open summaries share one partition so the
// scheduled flush finds them with one Query; there are few at a time.
type Table struct {
	db   DynamoDB
	name string
}

// NewTable returns the table called name.
func NewTable(db DynamoDB, name string) *Table { return &Table{db: db, name: name} }

// Name returns the table's name.
func (t *Table) Name() string { return t.name }

// CreateTable creates the table with the key schema of [TableSchema]
// (on-demand capacity) and waits until it is active. Deployments create
// it with their template and also enable TTL on expiresAt; tests and
// local trials use this.
func CreateTable(ctx context.Context, db *dynamodb.Client, name string) error {
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		return fmt.Errorf("alert: create table %s: %w", name, err)
	}
	w := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 50 * time.Millisecond })
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, time.Minute); err != nil {
		return fmt.Errorf("alert: create table %s: %w", name, err)
	}
	return nil
}

// key returns an item key.
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(pk), attrSK: str(sk)}
}

func str(s string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// expires is a TTL value: t plus d, in epoch seconds.
func expires(t time.Time, d time.Duration) *types.AttributeValueMemberN {
	return num(t.Add(d).Unix())
}

// getS returns a string attribute, or "".
func getS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// getN returns a number attribute, or 0.
func getN(item map[string]types.AttributeValue, name string) int64 {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

// getSS returns a string set attribute, or nil.
func getSS(item map[string]types.AttributeValue, name string) []string {
	if v, ok := item[name].(*types.AttributeValueMemberSS); ok {
		return v.Value
	}
	return nil
}

// timeFormat is how times are stored: RFC 3339 in UTC to the second, so
// that strings sort as times do.
const timeFormat = "2006-01-02T15:04:05Z"

func timeString(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t.UTC()
}

// conditionFailed reports whether a write was refused by its condition.
// AWS errors are classified here, by code, and nowhere else.
func conditionFailed(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "ConditionalCheckFailedException"
}
