package alert

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootguard/rootguard/internal/detect"
)

func sessionKey(accessKeyID string) map[string]types.AttributeValue {
	return key("session#"+accessKeyID, noSort)
}

// putSession remembers a root session issued by sts:AssumeRoot under the
// access key it issued, for a day from its issue (or from now, for an
// event that arrives late), so that the member account's actions with
// that key are joined to it. Writing it again changes nothing.
func (t *Table) putSession(ctx context.Context, s *detect.Session, v *verdict, now time.Time) error {
	from := s.IssuedAt
	if from.Before(now) {
		from = now
	}
	item := key("session#"+s.AccessKeyID, noSort)
	item["issuedBy"] = str(s.IssuedBy)
	item["issuerAccount"] = str(s.IssuerAccount)
	item["targetAccount"] = str(s.TargetAccount)
	item["taskPolicy"] = str(s.TaskPolicy)
	item["issuedAt"] = str(timeString(s.IssuedAt))
	item["issueEventId"] = str(s.IssueEventID)
	item[attrExpiresAt] = expires(from, sessionRetention)
	if v.approval != nil {
		item["approvalId"] = str(v.approval.ID)
	}
	if v.standing {
		item["standing"] = str("true")
	}
	if _, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.name), Item: item}); err != nil {
		return fmt.Errorf("alert: remember root session %s: %w", s.AccessKeyID, err)
	}
	return nil
}

// storedSession is a remembered root session and what its AssumeRoot
// call was joined to.
type storedSession struct {
	*detect.Session
	approvalID string
	standing   bool
}

// session returns the root session that issued an access key, or nil.
func (t *Table) session(ctx context.Context, accessKeyID string) (*storedSession, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.name), Key: sessionKey(accessKeyID), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("alert: look up root session %s: %w", accessKeyID, err)
	}
	if out.Item == nil {
		return nil, nil
	}
	it := out.Item
	s := &detect.Session{
		IssuedBy: getS(it, "issuedBy"), IssuerAccount: getS(it, "issuerAccount"), TargetAccount: getS(it, "targetAccount"),
		TaskPolicy: getS(it, "taskPolicy"), IssueEventID: getS(it, "issueEventId"), AccessKeyID: accessKeyID,
		Attributed: true,
	}
	if v := getS(it, "issuedAt"); v != "" {
		s.IssuedAt = parseTime(v)
	}
	return &storedSession{Session: s, approvalID: getS(it, "approvalId"), standing: getS(it, "standing") == "true"}, nil
}

// mayBeRootSession reports whether a finding's access key could have been
// issued by sts:AssumeRoot: only temporary keys (ASIA...) are.
func mayBeRootSession(f *detect.Finding) bool {
	return f.Category != detect.RootSessionIssued && strings.HasPrefix(f.AccessKeyID, "ASIA")
}

// joinSession ties a finding to the root session that issued its access
// key, as the scanner does across files: the session's fields, and
// whether the task policy allows the action. A GuardDuty finding keeps
// its category (it is the second signal of the same session).
func joinSession(f *detect.Finding, s *detect.Session) {
	if s == nil || (s.TargetAccount != "" && s.TargetAccount != f.Account) {
		return
	}
	joined := *s
	joined.OutsideTaskPolicy = !detect.AllowedByTaskPolicy(s.TaskPolicy, f.EventSource, f.EventName)
	joined.Attributed = true
	f.Session = &joined
	if f.GuardDuty != nil {
		return
	}
	f.Category = detect.RootSessionActivity
	f.Rule = "root-session-activity"
	if joined.OutsideTaskPolicy {
		f.Severity = detect.Critical
	} else {
		f.Severity = detect.Medium
	}
}

// unattributed rates a root-session action whose AssumeRoot call is not
// known (sessionContext.assumedRoot without a remembered session), as the
// scanner does.
func unattributed(f *detect.Finding) {
	if f.Category == detect.RootSessionActivity && f.Session != nil && !f.Session.Attributed {
		f.Rule = "root-session-activity"
		f.Severity = detect.High
	}
}
