package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/notify"
)

const (
	summaryPK     = "summary"
	findingPrefix = "f#" // a summary item holds one attribute per finding
)

// summarySK names a session's summary: the account and the session —
// the root session's issued key, else the caller's access key, else the
// source address and day, as notify threads a session's chat messages.
func summarySK(f *detect.Finding) string {
	var s string
	switch {
	case f.Session != nil && f.Session.AccessKeyID != "":
		s = "session:" + f.Session.AccessKeyID
	case f.AccessKeyID != "":
		s = "key:" + f.AccessKeyID
	case f.SourceIP != "":
		s = "ip:" + f.SourceIP + ":" + f.EventTime.UTC().Format("2006-01-02")
	default:
		s = "event:" + f.EventID
	}
	return f.Account + "#" + s
}

// pending is a session's summary item as read.
type pending struct {
	sk          string
	account     string
	first, last time.Time // when the first and the last action arrived
	findings    map[string]detect.Finding
	// added counts the actions added since the last summary, as
	// appendSummary reports it (findings is not read there).
	added int
	lease int64
	// digest is the scheduled audit's run, for a digest item.
	digest *notify.Digest
}

func decodePending(item map[string]types.AttributeValue) (*pending, error) {
	p := &pending{
		sk: getS(item, attrSK), account: getS(item, "account"),
		first: time.UnixMilli(getN(item, "first")).UTC(), last: time.UnixMilli(getN(item, "last")).UTC(),
		findings: map[string]detect.Finding{}, lease: getN(item, "flushLease"), added: int(getN(item, "actions")),
	}
	if strings.HasPrefix(p.sk, digestPrefix) {
		p.digest = decodeDigest(item)
		return p, nil
	}
	var errs []error
	for name, v := range item {
		id, ok := strings.CutPrefix(name, findingPrefix)
		s, isS := v.(*types.AttributeValueMemberS)
		if !ok || !isS {
			continue
		}
		var f detect.Finding
		if err := json.Unmarshal([]byte(s.Value), &f); err != nil {
			errs = append(errs, fmt.Errorf("finding %s: %w", id, err))
			continue
		}
		p.findings[id] = f
	}
	if len(errs) > 0 {
		return p, fmt.Errorf("alert: summary %s: %w", p.sk, errors.Join(errs...))
	}
	return p, nil
}

// appendSummary adds a finding to its session's summary and returns the
// summary's state without its findings: the arrival times and how many
// actions were added (a retried invocation that adds the same event again
// counts it twice, which can only bring the summary forward).
func (t *Table) appendSummary(ctx context.Context, id string, f *detect.Finding, now time.Time) (*pending, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("alert: event %s: encode finding: %w", id, err)
	}
	sk := summarySK(f)
	out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.name),
		Key:       key(summaryPK, sk),
		UpdateExpression: aws.String("SET #f = :f, #account = :account, #first = if_not_exists(#first, :now), #last = :now, #exp = :exp " +
			"ADD #n :one"),
		ExpressionAttributeNames: map[string]string{
			"#f": findingPrefix + id, "#account": "account", "#first": "first", "#last": "last", "#exp": attrExpiresAt, "#n": "actions",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":f": str(string(b)), ":account": str(f.Account), ":now": num(now.UnixMilli()),
			":exp": expires(now, summaryRetention), ":one": num(1),
		},
		// Not ALL_NEW: a long session's item holds every finding.
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return nil, fmt.Errorf("alert: event %s: add to session summary: %w", id, err)
	}
	a := out.Attributes
	p := &pending{sk: sk, account: f.Account, last: now, first: now, added: int(getN(a, "actions"))}
	if ms := getN(a, "first"); ms > 0 {
		p.first = time.UnixMilli(ms).UTC()
	}
	return p, nil
}

// pendingSummaries reads every session summary waiting to be sent.
func (t *Table) pendingSummaries(ctx context.Context) ([]*pending, error) {
	var out []*pending
	var errs []error
	p := dynamodb.NewQueryPaginator(t.db, &dynamodb.QueryInput{
		TableName:                 aws.String(t.name),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(summaryPK)},
		ConsistentRead:            aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("alert: read session summaries: %w", err)
		}
		for _, item := range page.Items {
			s, err := decodePending(item)
			if err != nil {
				errs = append(errs, err)
			}
			out = append(out, s)
		}
	}
	return out, errors.Join(errs...)
}

// leaseSummary makes the invocation the only one sending a session's
// summary until leaseUntil and returns the summary as it stands; nil when
// another invocation is sending it or it is gone.
func (t *Table) leaseSummary(ctx context.Context, sk string, now, leaseUntil time.Time) (*pending, error) {
	out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(t.name),
		Key:                      key(summaryPK, sk),
		UpdateExpression:         aws.String("SET #lease = :lease"),
		ConditionExpression:      aws.String("attribute_exists(#pk) AND (attribute_not_exists(#lease) OR #lease < :now)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#lease": "flushLease"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":lease": num(leaseUntil.UnixMilli()), ":now": num(now.UnixMilli()),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("alert: summary %s: lease: %w", sk, err)
	}
	return decodePending(out.Attributes)
}

// finishSummary removes the findings a sent summary held. When none are
// left, the item goes, unless an action arrived in the meantime.
func (t *Table) finishSummary(ctx context.Context, p *pending, now time.Time) error {
	names := map[string]string{"#lease": "flushLease", "#first": "first", "#n": "actions"}
	var remove []string
	i := 0
	for id := range p.findings {
		n := fmt.Sprintf("#f%d", i)
		names[n] = findingPrefix + id
		remove = append(remove, n)
		i++
	}
	out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(t.name),
		Key:                       key(summaryPK, p.sk),
		UpdateExpression:          aws.String("SET #first = :now ADD #n :sent REMOVE #lease, " + strings.Join(remove, ", ")),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.UnixMilli()), ":sent": num(-int64(len(p.findings)))},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err != nil {
		return fmt.Errorf("alert: summary %s: remove sent findings: %w", p.sk, err)
	}
	left, err := decodePending(out.Attributes)
	if err != nil || len(left.findings) > 0 {
		return err
	}
	_, err = t.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(t.name),
		Key:                       key(summaryPK, p.sk),
		ConditionExpression:       aws.String("#last = :last"),
		ExpressionAttributeNames:  map[string]string{"#last": "last"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":last": num(left.last.UnixMilli())},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("alert: summary %s: delete: %w", p.sk, err)
	}
	return nil
}

// releaseSummary gives up the lease after a failure.
func (t *Table) releaseSummary(ctx context.Context, sk string) error {
	_, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(t.name),
		Key:                      key(summaryPK, sk),
		UpdateExpression:         aws.String("REMOVE #lease"),
		ConditionExpression:      aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#lease": "flushLease"},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("alert: summary %s: release: %w", sk, err)
	}
	return nil
}

// due reports whether a session's summary is to be sent now, by the policy.
func (sp SummaryPolicy) due(p *pending, now time.Time) bool {
	if p.digest != nil {
		return sp.digestDue(p.digest, now)
	}
	return len(p.findings) > 0 && (len(p.findings) >= sp.MaxActions ||
		now.Sub(p.first) >= sp.MaxAge || now.Sub(p.last) >= sp.Quiet)
}

// dueNow reports whether an action just added makes its session's
// summary due without waiting for the scheduled flush.
func (sp SummaryPolicy) dueNow(p *pending, now time.Time) bool {
	return p.added >= sp.MaxActions || now.Sub(p.first) >= sp.MaxAge
}

// sendSummary sends one session's summary, if no other invocation is
// sending it, and reports whether it did.
func (h *Handler) sendSummary(ctx context.Context, sk string, lease time.Time) (bool, error) {
	now := h.now()
	p, err := h.table.leaseSummary(ctx, sk, now, lease)
	if err != nil || p == nil {
		return false, err
	}
	if p.digest != nil {
		return h.sendDigest(ctx, sk, p.digest)
	}
	if len(p.findings) == 0 {
		return false, h.table.finishSummary(ctx, p, now)
	}
	fs := make([]detect.Finding, 0, len(p.findings))
	for _, f := range p.findings {
		fs = append(fs, f)
	}
	appr, err := h.summaryApproval(ctx, fs)
	if err == nil {
		en, eerr := h.enrich.Lookup(ctx, p.account)
		if eerr != nil {
			h.log.WarnContext(ctx, "alert: enrichment failed; the summary names the raw account id", "account", p.account, "err", eerr)
		}
		a := notify.SessionSummary(fs, en, appr, h.cfg.Lang)
		a.Attributes[AttrPage] = "false"
		var pub []Published
		pub, err = Publish(ctx, h.sns, h.topics(), a, nil)
		if err == nil {
			h.log.InfoContext(ctx, "alert: session summary sent", "account", p.account, "session", p.sk, "actions", len(fs), "messages", len(pub))
			return true, h.table.finishSummary(ctx, p, now)
		}
	}
	if rerr := h.table.releaseSummary(ctx, sk); rerr != nil {
		h.log.ErrorContext(ctx, "alert: release summary", "session", sk, "err", rerr)
	}
	return false, err
}

// summaryApproval is the approval a summary names: the one every finding
// of it was approved by, else none (each finding then says its own).
func (h *Handler) summaryApproval(ctx context.Context, fs []detect.Finding) (notify.Approval, error) {
	id := ""
	for i, f := range fs {
		if f.Approval.Status != detect.Approved || (i > 0 && f.Approval.ID != id) {
			return notify.Approval{}, nil
		}
		id = f.Approval.ID
	}
	if id == "" {
		return notify.Approval{}, nil
	}
	a, err := h.table.GetApproval(ctx, id)
	if errors.Is(err, ErrApprovalNotFound) {
		return notify.Approval{Approved: true, ID: id}, nil
	}
	if err != nil {
		return notify.Approval{}, err
	}
	return approvalOf(a), nil
}

// Flush sends the summary of every session that is due by the policy: the
// work of the scheduled invoke. It returns how many it sent; one
// session's failure does not stop the others, and fails the invoke.
func (h *Handler) Flush(ctx context.Context) (int, error) {
	ps, err := h.table.pendingSummaries(ctx)
	var errs []error
	if err != nil {
		if ps == nil {
			return 0, err
		}
		errs = append(errs, err)
	}
	now := h.now()
	sent := 0
	for _, p := range ps {
		if !h.cfg.Summary.due(p, now) {
			continue
		}
		ok, err := h.sendSummary(ctx, p.sk, h.leaseUntil(ctx, now))
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			sent++
		}
	}
	return sent, errors.Join(errs...)
}
