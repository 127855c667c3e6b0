package newaccount

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/mode"
	"github.com/rootguard/rootguard/internal/notify"
	"github.com/rootguard/rootguard/internal/pace"
	"github.com/rootguard/rootguard/internal/remediate"
)

// Config is a deployment's new-account handling.
type Config struct {
	Table  string
	Topics alert.Topics
	Lang   notify.Lang
	// ModeConfig is where rootguard.yaml is kept; zero: none, every
	// account is reported only.
	ModeConfig Location
	// Lease is how long an invocation holds an event (default 10 min).
	Lease     time.Duration
	Audit     audit.Options
	Remediate remediate.Options
}

// ConfigFromEnv reads the handler's settings: TABLE_NAME and TOPIC_ARN
// (required), CHATBOT_TOPIC_ARN, LANGUAGE (en, ja or both), MODE_CONFIG
// (s3://BUCKET/KEY of rootguard.yaml; unset: report only),
// ASSUME_ROOT_RATE.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var c Config
	var errs []error
	c.Table = getenv("TABLE_NAME")
	if c.Table == "" {
		errs = append(errs, errors.New("TABLE_NAME is not set"))
	}
	c.Topics = alert.Topics{Main: getenv("TOPIC_ARN"), Chatbot: getenv("CHATBOT_TOPIC_ARN")}
	if c.Topics.Main == "" {
		errs = append(errs, errors.New("TOPIC_ARN is not set"))
	}
	var err error
	if c.Lang, err = notify.ParseLang(getenv("LANGUAGE")); err != nil {
		errs = append(errs, fmt.Errorf("LANGUAGE %w", err))
	}
	loc, err := ParseLocation(getenv("MODE_CONFIG"))
	if err != nil {
		errs = append(errs, fmt.Errorf("MODE_CONFIG: %w", err))
	}
	c.ModeConfig = loc
	if v := getenv("ASSUME_ROOT_RATE"); v != "" {
		rate, err := pace.ParseRate(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("ASSUME_ROOT_RATE %w", err))
		}
		c.Audit.AssumeRootRate, c.Remediate.AssumeRootRate = rate, rate
	}
	return c, errors.Join(errs...)
}

// Deps are the clients the handler uses.
type Deps struct {
	AWS    aws.Config // audit and root sessions, Organizations
	DB     DynamoDB
	S3     S3
	SNS    alert.SNS
	Logger *slog.Logger
	Now    func() time.Time
	// Owner names this invocation in the journal (the request id).
	Owner string
}

// Outcomes of one event.
const (
	OutcomeIgnored   = "ignored"   // not about a member account: failed, an invitation, another handshake
	OutcomeDuplicate = "duplicate" // handled before: nothing done
	OutcomeReported  = "reported"  // audited and alerted; nothing changed
	OutcomeEnforced  = "enforced"  // root credentials deleted, verified, alerted
	OutcomeRefused   = "refused"   // enforcement refused by a check or failed; alerted
)

// Result is what one event did: the function's response.
type Result struct {
	Event    Event               `json:"event"`
	Outcome  string              `json:"outcome"`
	Reason   string              `json:"reason,omitempty"`
	Account  *audit.Account      `json:"account,omitempty"` // the audit, after any deletion
	Mode     *mode.Decision      `json:"mode,omitempty"`
	Deletion *remediate.Deletion `json:"deletion,omitempty"`
	Alerted  []alert.Published   `json:"published,omitempty"`
}

// Handle secures the account one event is about; see the package doc.
func Handle(ctx context.Context, cfg Config, d Deps, payload []byte) (*Result, error) {
	log := cmp.Or(d.Logger, slog.Default())
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	ev, err := Parse(payload)
	if err != nil {
		return nil, err
	}
	res := &Result{Event: ev}
	log = log.With("event_id", ev.ID, "event", ev.Name, "account", ev.Account)
	if !ev.Member() {
		res.Outcome = OutcomeIgnored
		switch {
		case ev.Failed != "":
			res.Reason = "the action did not happen: " + ev.Failed
		case ev.Name == InviteAccountToOrganization:
			res.Reason = "an invitation: the account is not a member yet; it is handled when it joins (AcceptHandshake, AccountJoinedOrganization) and by the next scheduled audit"
		default:
			res.Reason = "no account named"
		}
		log.InfoContext(ctx, "newaccount: ignored", "reason", res.Reason)
		return res, nil
	}

	j := &journal{db: d.DB, name: cfg.Table}
	lease := cmp.Or(cfg.Lease, 10*time.Minute)
	t := now()
	e, err := j.claim(ctx, ev.Account, ev.ID, cmp.Or(d.Owner, fmt.Sprintf("pid-%d", t.UnixNano())), t, t.Add(lease))
	if errors.Is(err, errDone) {
		res.Outcome = OutcomeDuplicate
		log.InfoContext(ctx, "newaccount: already handled")
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	published, err := handle(ctx, cfg, d, log, ev, e, res)
	if err != nil {
		if rerr := j.release(ctx, e, published); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return res, err
	}
	return res, nil
}

// handle is one claimed event: audit, mode, enforcement, alert. It
// returns the topics published to, for a retry.
func handle(ctx context.Context, cfg Config, d Deps, log *slog.Logger, ev Event, e *entry, res *Result) ([]string, error) {
	j := &journal{db: d.DB, name: cfg.Table}
	acct, err := auditOne(ctx, cfg, d, log, ev.Account)
	if err != nil {
		return e.published, err
	}
	res.Account = acct
	policy, err := LoadPolicy(ctx, d.S3, d.AWS, cfg.ModeConfig)
	if err != nil {
		return e.published, err
	}
	dec := mode.Decision{Mode: mode.Flexible, Source: "no rootguard.yaml deployed (report only)"}
	if policy != nil {
		dec = policy.For(acct)
	}
	res.Mode = &dec
	res.Outcome = OutcomeReported
	enforce := dec.Mode == mode.Strict && dec.Enforce && !acct.Management && acct.Root != nil && acct.Root.HasCredentials()

	switch {
	case e.state == stateEnforced && e.deletion != "":
		// An earlier attempt deleted and recorded it, then failed to
		// alert: alert what it recorded.
		var del remediate.Deletion
		if err := json.Unmarshal([]byte(e.deletion), &del); err == nil {
			res.Deletion = &del
		}
		res.Outcome = deletionOutcome(res.Deletion)
	case enforce:
		log.WarnContext(ctx, "newaccount: deleting root credentials", "ou", acct.OUPath, "mode_source", dec.Source)
		del, derr := remediate.DeleteNow(ctx, d.AWS, ev.Account, cfg.Remediate)
		res.Deletion = del
		res.Outcome = deletionOutcome(del)
		if derr != nil {
			res.Reason = derr.Error()
			log.ErrorContext(ctx, "newaccount: deletion failed", "err", derr)
		}
		b, _ := json.Marshal(del)
		if err := j.update(ctx, e, stateEnforced, map[string]types.AttributeValue{"deletion": s(string(b))}); err != nil {
			return e.published, err
		}
		// Read again with the audit's session, as the audit reports it.
		if after, err := auditOne(ctx, cfg, d, log, ev.Account); err == nil {
			res.Account = after
		}
	}

	a := Render(res, cfg.Lang)
	published, err := alert.Publish(ctx, d.SNS, cfg.Topics, a, e.published)
	res.Alerted = published
	topics := append([]string(nil), e.published...)
	for _, p := range published {
		topics = append(topics, p.TopicARN)
	}
	if err != nil {
		return topics, fmt.Errorf("newaccount: account %s, event %s: alert: %w", ev.Account, ev.ID, err)
	}
	if err := j.update(ctx, e, stateDone, nil); err != nil {
		return topics, err
	}
	log.InfoContext(ctx, "newaccount: done", "outcome", res.Outcome, "mode", dec.Mode, "enforce", dec.Enforce)
	return topics, nil
}

func deletionOutcome(d *remediate.Deletion) string {
	if d != nil && d.Verified() {
		return OutcomeEnforced
	}
	return OutcomeRefused
}

// auditOne audits one account with the audit's own code (a root session
// with IAMAuditRootUserCredentials).
func auditOne(ctx context.Context, cfg Config, d Deps, log *slog.Logger, account string) (*audit.Account, error) {
	opts := cfg.Audit
	opts.Accounts = []string{account}
	opts.Logger = log
	rep, err := audit.Run(ctx, d.AWS, opts)
	if err != nil {
		return nil, fmt.Errorf("newaccount: account %s: %w", account, err)
	}
	if len(rep.Accounts) != 1 {
		// Organizations lists an account once it is a member; a retry
		// gives it time.
		return nil, fmt.Errorf("newaccount: account %s: not in organization %s (yet)", account, rep.Organization.ID)
	}
	return rep.Accounts[0], nil
}
