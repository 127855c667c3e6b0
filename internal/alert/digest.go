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
	"github.com/rootguard/rootguard/internal/notify"
)

// The scheduled audit's digest is a summary item (pk summary) keyed by
// the audit's principal, sk digest#<principal>: one per run, whatever the
// number of accounts. It counts, per account, the actions its session
// made (attribute a#<account>, a number; the AssumeRoot call adds the
// account with 0) and the sessions opened. The scheduled flush sends it
// when the run has been quiet for SummaryPolicy.Quiet (or a day has
// passed since it began).
const (
	digestPrefix        = "digest#"
	digestAccountPrefix = "a#"
	digestMaxAge        = 24 * time.Hour
)

// appendDigest counts one event of the scheduled audit in its run's
// digest and returns the digest's key. A retried invocation may count an
// action twice; the list of accounts is exact.
func (t *Table) appendDigest(ctx context.Context, f *detect.Finding, now time.Time) (string, error) {
	issuer, policy, account := "", "", f.Account
	if f.Session != nil {
		issuer, policy = f.Session.IssuedBy, f.Session.TaskPolicy
		if f.Session.TargetAccount != "" {
			account = f.Session.TargetAccount
		}
	}
	sk := digestPrefix + issuer
	actions, sessions := 1, 0
	if f.Category == detect.RootSessionIssued {
		actions, sessions = 0, 1
	}
	_, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.name),
		Key:       key(summaryPK, sk),
		UpdateExpression: aws.String("SET #issuer = :issuer, #policy = :policy, #first = if_not_exists(#first, :now), #last = :now, #exp = :exp " +
			"ADD #a :n, #sessions :s"),
		ExpressionAttributeNames: map[string]string{
			"#issuer": "issuer", "#policy": "taskPolicy", "#first": "first", "#last": "last", "#exp": attrExpiresAt,
			"#a": digestAccountPrefix + account, "#sessions": "sessions",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":issuer": str(issuer), ":policy": str(policy), ":now": num(now.UnixMilli()), ":exp": expires(now, summaryRetention),
			":n": num(int64(actions)), ":s": num(int64(sessions)),
		},
	})
	if err != nil {
		return "", fmt.Errorf("alert: event %s: add to the scheduled audit's digest: %w", f.EventID, err)
	}
	return sk, nil
}

// decodeDigest reads a digest item's run.
func decodeDigest(item map[string]types.AttributeValue) *notify.Digest {
	g := &notify.Digest{
		Principal: getS(item, "issuer"), TaskPolicy: getS(item, "taskPolicy"), Approval: StandingAuditApproval,
		First: time.UnixMilli(getN(item, "first")).UTC(), Last: time.UnixMilli(getN(item, "last")).UTC(),
		Sessions: int(getN(item, "sessions")), Accounts: map[string]int{},
	}
	for name, v := range item {
		acct, ok := strings.CutPrefix(name, digestAccountPrefix)
		if n, isN := v.(*types.AttributeValueMemberN); ok && isN {
			var c int
			_, _ = fmt.Sscan(n.Value, &c)
			g.Accounts[acct] = c
		}
	}
	return g
}

// digestDue reports whether a run's digest is to be sent now.
func (sp SummaryPolicy) digestDue(g *notify.Digest, now time.Time) bool {
	return len(g.Accounts) > 0 && (now.Sub(g.Last) >= sp.Quiet || now.Sub(g.First) >= digestMaxAge)
}

// finishDigest removes a sent digest, unless an event of the run arrived
// meanwhile: then only what was sent is taken out, and the rest waits for
// the next digest.
func (t *Table) finishDigest(ctx context.Context, sk string, g *notify.Digest) error {
	_, err := t.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(t.name),
		Key:                       key(summaryPK, sk),
		ConditionExpression:       aws.String("#last = :last"),
		ExpressionAttributeNames:  map[string]string{"#last": "last"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":last": num(g.Last.UnixMilli())},
	})
	if err == nil {
		return nil
	}
	if !conditionFailed(err) {
		return fmt.Errorf("alert: digest %s: delete: %w", sk, err)
	}
	names := map[string]string{"#lease": "flushLease", "#sessions": "sessions", "#first": "first"}
	var remove []string
	i := 0
	for acct := range g.Accounts {
		n := fmt.Sprintf("#a%d", i)
		names[n] = digestAccountPrefix + acct
		remove = append(remove, n)
		i++
	}
	_, err = t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(t.name),
		Key:                       key(summaryPK, sk),
		UpdateExpression:          aws.String("SET #first = #last ADD #sessions :sent REMOVE #lease, " + strings.Join(remove, ", ")),
		ExpressionAttributeNames:  withLast(names),
		ExpressionAttributeValues: map[string]types.AttributeValue{":sent": num(-int64(g.Sessions))},
	})
	if err != nil {
		return fmt.Errorf("alert: digest %s: remove what was sent: %w", sk, err)
	}
	return nil
}

func withLast(m map[string]string) map[string]string {
	m["#last"] = "last"
	return m
}

// sendDigest renders and publishes a leased digest, then removes it.
func (h *Handler) sendDigest(ctx context.Context, sk string, g *notify.Digest) (bool, error) {
	if len(g.Accounts) == 0 {
		return false, h.table.finishDigest(ctx, sk, g)
	}
	pub, err := Publish(ctx, h.sns, h.topics(), notify.AuditDigest(*g, h.cfg.Lang), nil)
	if err != nil {
		if rerr := h.table.releaseSummary(ctx, sk); rerr != nil {
			h.log.ErrorContext(ctx, "alert: release digest", "digest", sk, "err", rerr)
		}
		return false, err
	}
	h.log.InfoContext(ctx, "alert: scheduled audit digest sent", "digest", sk, "accounts", len(g.Accounts), "sessions", g.Sessions, "messages", len(pub))
	return true, h.table.finishDigest(ctx, sk, g)
}
