package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/notify"
	"github.com/rootguard/rootguard/internal/org"
)

// Handler handles the EventBridge events of the real-time pipeline. Build
// it once per execution environment (it caches Organizations answers)
// and call Handle for every event; it is safe for concurrent use.
type Handler struct {
	cfg    Config
	table  *Table
	sns    SNS
	enrich *Enricher
	log    *slog.Logger
	now    func() time.Time
	counts counters
}

// Deps are the handler's AWS clients and surroundings.
type Deps struct {
	DynamoDB      DynamoDB
	SNS           SNS
	Organizations Organizations
	// Logger receives the handler's records; with lambdacontext's handler
	// they carry the request id. Nil logs nothing.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// New returns a handler.
func New(cfg Config, d Deps) *Handler {
	cfg.withDefaults()
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{
		cfg: cfg, table: NewTable(d.DynamoDB, cfg.Table), sns: d.SNS,
		enrich: NewEnricher(d.Organizations, cfg.EnrichTTL, d.Now), log: d.Logger, now: d.Now,
	}
}

// NewFromAWS returns a handler whose clients come from an SDK
// configuration (config.LoadDefaultConfig: AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_<SERVICE> point them at local servers).
func NewFromAWS(cfg Config, awsCfg aws.Config, logger *slog.Logger) *Handler {
	return New(cfg, Deps{
		DynamoDB:      dynamodb.NewFromConfig(awsCfg),
		SNS:           sns.NewFromConfig(awsCfg),
		Organizations: org.NewOrganizations(awsCfg), // paced: a burst of alerts looks many accounts up
		Logger:        logger,
	})
}

// Outcome is what became of one event.
type Outcome string

// Outcomes.
const (
	Alerted    Outcome = "alerted"    // published on its own
	Summarised Outcome = "summarised" // kept for its session's summary
	Duplicate  Outcome = "duplicate"  // delivered before: nothing sent
	Dropped    Outcome = "dropped"    // read, and not root activity: nothing sent
	Flushed    Outcome = "flushed"    // the scheduled flush ran
)

// Result is what Handle returns to the Lambda runtime (and so to the
// invoker and the logs).
type Result struct {
	Outcome  Outcome `json:"outcome"`
	EventID  string  `json:"eventId,omitempty"`
	Account  string  `json:"account,omitempty"`
	Category string  `json:"category,omitempty"`
	Severity string  `json:"severity,omitempty"`
	Approval string  `json:"approval,omitempty"`
	// Reason says why: Decide's reason, or why the event was dropped.
	Reason    string      `json:"reason,omitempty"`
	Published []Published `json:"published,omitempty"`
	// Summaries is how many session summaries were sent.
	Summaries int `json:"summaries,omitempty"`
	// Counts are this execution environment's totals since it started.
	Counts Counts `json:"counts"`
}

// Counts are the handler's totals since it was built.
type Counts struct {
	Events     int64 `json:"events"`
	Alerted    int64 `json:"alerted"`
	Summarised int64 `json:"summarised"`
	Duplicates int64 `json:"duplicates"`
	Dropped    int64 `json:"dropped"`
	Summaries  int64 `json:"summaries"`
	Failed     int64 `json:"failed"`
}

type counters struct {
	events, alerted, summarised, duplicates, dropped, summaries, failed atomic.Int64
}

// Counts returns the totals so far.
func (h *Handler) Counts() Counts {
	c := &h.counts
	return Counts{
		Events: c.events.Load(), Alerted: c.alerted.Load(), Summarised: c.summarised.Load(),
		Duplicates: c.duplicates.Load(), Dropped: c.dropped.Load(), Summaries: c.summaries.Load(), Failed: c.failed.Load(),
	}
}

func (h *Handler) topics() Topics {
	return Topics{Main: h.cfg.TopicARN, Chatbot: h.cfg.ChatbotTopicARN}
}

// defaultLease is how long a claim holds when the context has no
// deadline (under Lambda it always has: the function's timeout).
const defaultLease = 5 * time.Minute

// leaseUntil is when a claim made now runs out: when the invocation is
// over for sure.
func (h *Handler) leaseUntil(ctx context.Context, now time.Time) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return now.Add(defaultLease)
}

// ErrUnreadable is the error of a payload the function cannot read: not
// JSON, not an EventBridge event, a detail that is not a CloudTrail record
// or GuardDuty finding the rules can decode, an unknown rootguard command.
// Such a payload may be root activity no one would see, so it fails the
// invocation: Lambda retries it and then sends it to the dead-letter
// queue, whose alarm tells someone.
var ErrUnreadable = errors.New("alert: unreadable payload")

// Handle handles one EventBridge event. It returns an error — failing
// the invocation, so that it is retried and, after the retries, sent to
// the function's dead-letter destination, whose depth alarms — whenever
// DynamoDB or SNS failed, so an alert is never lost, and for a payload it
// cannot read (ErrUnreadable), so none is hidden. An event that was read
// and is not root activity is dropped, logged and counted, without error.
//
// Order of work for a root-activity event, and why:
//
//  1. Claim the delivery (delivery#<eventId>, state pending, leased until
//     the invocation's deadline). A redelivery of a sent event stops
//     here; one that finds the lease held fails (ErrInProgress) and is
//     retried later.
//  2. Remember a root session issued; join an action to its session.
//  3. Find the approval; decide, with notify.Decide, to alert or summarise.
//  4. Publish (the main and the Chatbot topic at once), or add the
//     finding to its session's summary (and send the summary if it is due).
//  5. Mark the delivery sent. Only now is a redelivery a duplicate.
//
// A failure in 2–5 releases the lease and records the topics already
// published, so the retry publishes only what is missing. The one window
// left for a duplicate alert is DynamoDB failing both step 5 and that
// release after a successful publish (or the function dying between
// them): SNS standard topics have no idempotent publish, and losing an
// alert is worse than sending it twice.
func (h *Handler) Handle(ctx context.Context, payload json.RawMessage) (*Result, error) {
	h.counts.events.Add(1)
	res, err := h.handle(ctx, payload)
	if err != nil {
		h.counts.failed.Add(1)
		h.log.ErrorContext(ctx, "alert: invocation failed; it will be retried", "event_id", res.EventID, "err", err)
	}
	res.Counts = h.Counts()
	return res, err
}

func (h *Handler) handle(ctx context.Context, payload json.RawMessage) (*Result, error) {
	ev, err := decodeEvent(payload)
	if err != nil {
		return &Result{}, fmt.Errorf("%w: not an EventBridge event: %v", ErrUnreadable, err)
	}
	if ev.Rootguard != "" {
		if ev.Rootguard != FlushCommand {
			return &Result{}, fmt.Errorf("%w: unknown rootguard command %q", ErrUnreadable, ev.Rootguard)
		}
		n, err := h.Flush(ctx)
		h.counts.summaries.Add(int64(n))
		return &Result{Outcome: Flushed, Summaries: n}, err
	}
	f, ok, err := classify(&ev)
	res := &Result{EventID: f.EventID}
	if res.EventID == "" {
		res.EventID = ev.ID
	}
	switch {
	case err != nil && !ok:
		return res, fmt.Errorf("%w: event %s: %v", ErrUnreadable, res.EventID, err)
	case !ok:
		return h.drop(ctx, res, "not root activity"), nil
	case err != nil:
		h.log.WarnContext(ctx, "alert: odd record, reported anyway", "event_id", res.EventID, "err", err)
	}

	id := deliveryID(&ev, &f)
	now := h.now()
	d, err := h.table.claimDelivery(ctx, id, requestID(ctx), now, h.leaseUntil(ctx, now))
	if errors.Is(err, errDuplicate) {
		h.counts.duplicates.Add(1)
		h.log.InfoContext(ctx, "alert: duplicate delivery dropped", "event_id", id, "account", f.Account)
		res.Outcome, res.Reason = Duplicate, "delivered before"
		return res, nil
	}
	if err != nil {
		return res, err
	}
	var published []Published
	res.Outcome, published, err = h.deliver(ctx, d, &f, res)
	res.Published = append(res.Published, published...)
	if err == nil {
		err = h.table.markSent(ctx, d, res.Outcome, h.now())
	}
	if err != nil {
		// Record what went out, so that the retry sends only the rest.
		done := append(d.published, topicsOf(published)...)
		if rerr := h.table.release(ctx, d, done); rerr != nil {
			h.log.ErrorContext(ctx, "alert: release delivery", "event_id", id, "err", rerr)
		}
		return res, err
	}
	if res.Outcome == Alerted {
		h.counts.alerted.Add(1)
	} else {
		h.counts.summarised.Add(1)
	}
	return res, nil
}

// deliver does steps 2 to 4 of Handle for a claimed event.
func (h *Handler) deliver(ctx context.Context, d *delivery, f *detect.Finding, res *Result) (Outcome, []Published, error) {
	now := h.now()
	account := alertAccount(f)
	at := f.EventTime
	if at.IsZero() {
		at = now
	}
	var v *verdict
	var err error
	switch {
	case f.Category == detect.RootSessionIssued && f.Session != nil && f.Session.AccessKeyID != "":
		if v, err = h.sessionVerdict(ctx, f.Session, account, at); err != nil {
			return "", nil, err
		}
		if err := h.table.putSession(ctx, f.Session, v, now); err != nil {
			return "", nil, err
		}
	case mayBeRootSession(f):
		var known bool
		if v, known, err = h.actionVerdict(ctx, f, at); err != nil {
			return "", nil, err
		}
		if !known {
			v = nil
		}
	}
	unattributed(f)
	if v == nil {
		// Not a known root session: an approval for the account and time
		// (for a console sign-in, a console approval).
		var task approval.Task
		if f.Category == detect.ConsoleLogin {
			task = approval.TaskConsole
		}
		covering, _, err := h.table.FindApproval(ctx, Lookup{Account: account, Task: task, At: at})
		if err != nil {
			return "", nil, err
		}
		v = h.judge(covering, account, task, at)
	}
	if v.approved() {
		f.Approval = detect.Approval{Status: detect.Approved, ID: v.id()}
	}
	na := v.notify()
	dec := h.decide(f, v, na)
	res.Account, res.Category, res.Severity = account, string(f.Category), string(f.Severity)
	res.Approval, res.Reason = f.Approval.Status, dec.Reason
	log := h.log.With("event_id", d.id, "account", account, "region", f.Region, "rule", f.Rule,
		"category", f.Category, "severity", f.Severity, "approval", f.Approval.Status, "approval_id", v.id())

	if !dec.Alert && v.standing {
		p, err := h.table.appendDigest(ctx, f, now)
		if err != nil {
			return "", nil, err
		}
		log.InfoContext(ctx, "alert: kept for the scheduled audit's digest", "reason", dec.Reason, "digest", p)
		return Summarised, nil, nil
	}
	if !dec.Alert {
		p, err := h.table.appendSummary(ctx, d.id, f, now)
		if err != nil {
			return "", nil, err
		}
		log.InfoContext(ctx, "alert: kept for the session summary", "reason", dec.Reason, "session", p.sk, "actions", p.added)
		if h.cfg.Summary.dueNow(p, now) {
			sent, err := h.sendSummary(ctx, p.sk, h.leaseUntil(ctx, now))
			if err != nil {
				return "", nil, err
			}
			if sent {
				h.counts.summaries.Add(1)
				res.Summaries = 1
			}
		}
		return Summarised, nil, nil
	}

	en, err := h.enrich.Lookup(ctx, account)
	if err != nil {
		log.WarnContext(ctx, "alert: enrichment failed; the alert names the raw account id", "err", err)
	}
	a := notify.Render(*f, en, na, h.cfg.Lang)
	a.Attributes[AttrPage] = strconv.FormatBool(dec.page)
	pub, err := Publish(ctx, h.sns, h.topics(), a, d.published)
	if err != nil {
		return "", pub, err
	}
	log.InfoContext(ctx, "alert: published", "reason", dec.Reason, "page", dec.page, "messages", len(pub))
	return Alerted, pub, nil
}

func (h *Handler) drop(ctx context.Context, res *Result, reason string) *Result {
	h.counts.dropped.Add(1)
	h.log.InfoContext(ctx, "alert: event dropped", "event_id", res.EventID, "reason", reason, "dropped", h.counts.dropped.Load())
	res.Outcome, res.Reason = Dropped, reason
	return res
}

// alertAccount is the account an alert is about: the target of a root
// session issued, else the account the event happened in (as notify
// renders it).
func alertAccount(f *detect.Finding) string {
	if f.Category == detect.RootSessionIssued && f.Session != nil && f.Session.TargetAccount != "" {
		return f.Session.TargetAccount
	}
	return f.Account
}

// AttrPage is the message attribute that says whether an alert should
// page the on-call ("true") or is for the record ("false": an approved
// session's start, summaries, digests, approval requests). A pager's
// subscription filter policy selects {"page": ["true"]}.
const AttrPage = "page"

// decision is notify.Decide's, with what the approval adds: whether to
// page, and the pages Decide does not know of.
type decision struct {
	notify.Decision
	page bool
}

// decide says whether an event alerts on its own and whether it pages:
//
//   - an approved root session's start (sts:AssumeRoot, a console
//     sign-in under a console approval) is one message that does not
//     page; its actions within the task policy go to its summary;
//   - an unapproved session, an action outside its task policy, an
//     approval used outside its window (or not valid) and an emergency
//     session page at once;
//   - the scheduled audit's sessions (standing approval) go to one digest
//     per run; only an action outside the audit policy pages;
//   - a GuardDuty finding whose key joins a known root session is folded
//     into that session's summary (or the digest) instead of paging a
//     second time for the same session.
func (h *Handler) decide(f *detect.Finding, v *verdict, na notify.Approval) decision {
	dec := decision{Decision: notify.Decide(*f, na)}
	outside := f.Session != nil && f.Session.OutsideTaskPolicy && f.GuardDuty == nil
	switch {
	case f.GuardDuty != nil && f.Session != nil && f.Session.Attributed:
		dec.Alert, dec.Reason = false, "GuardDuty finding folded into the summary of its root session"
	case v.standing && !outside && f.Category != detect.ConsoleLogin:
		dec.Alert, dec.Reason = false, "the scheduled audit (standing approval): one digest per run"
	case v.problem == notify.ProblemOutsideWindow:
		dec.Alert, dec.Reason = true, "an approval used outside its window"
	case v.problem == notify.ProblemInvalid:
		dec.Alert, dec.Reason = true, "an approval that does not cover this ("+v.detail+")"
	case v.problem == notify.ProblemEmergency && f.Category == detect.RootSessionIssued:
		dec.Alert, dec.Reason = true, "an emergency root session, opened without approval"
	case f.Category == detect.RootSessionActivity && f.Session != nil && !f.Session.Attributed && !v.approved():
		dec.Alert, dec.Reason = true, "a root session whose sts:AssumeRoot call is unknown, without approval"
	}
	start := f.Category == detect.RootSessionIssued || f.Category == detect.ConsoleLogin
	dec.page = dec.Alert && !(v.approved() && start && !outside)
	return dec
}

// requestID is the Lambda request id, or "local" outside Lambda.
func requestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return lc.AwsRequestID
	}
	return "local"
}
