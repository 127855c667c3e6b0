package alert

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/notify"
)

// Config is the handler's configuration, read from the function's
// environment by [ConfigFromEnv].
type Config struct {
	// TopicARN receives every alert: Subject, the plain-text body and
	// String message attributes (severity, category, account, approval).
	TopicARN string
	// ChatbotTopicARN, when set, receives the same alerts as AWS Chatbot
	// custom notifications (the JSON is the whole message).
	ChatbotTopicARN string
	// Table is the DynamoDB table (see [TableSchema]).
	Table string
	// Lang is the language of alerts: en, ja or both.
	Lang notify.Lang
	// EnrichTTL is how long what Organizations says of an account is
	// reused by a warm function (default 1h; 0 asks every time).
	EnrichTTL time.Duration
	// Summary says when the actions that are not alerted one by one are
	// sent as a session summary.
	Summary SummaryPolicy
	// Approvers, when set, are checked again here: an approval whose
	// approver matches none of them, or is its requester, approves
	// nothing (the alert says the approval is not valid).
	Approvers approval.Approvers
	// StandingAudit are the principals of rootguard's own scheduled audit,
	// as the deployment declares them: their IAMAuditRootUserCredentials
	// sessions are covered by a standing approval and produce one digest
	// per run (see [SummaryPolicy]), never a message per account.
	StandingAudit approval.Approvers
}

// StandingAuditApproval names the standing approval of the scheduled
// audit in alerts.
const StandingAuditApproval = "standing:scheduled-audit"

// standingAuditPolicy is the one task policy the standing approval
// covers.
const standingAuditPolicy = "IAMAuditRootUserCredentials"

// standing reports whether a root session issued by principal with a
// task policy is covered by the standing approval.
func (c *Config) standing(principal, taskPolicy string) bool {
	if _, ok := c.StandingAudit.Match(principal); !ok {
		return false
	}
	return taskPolicy[strings.LastIndex(taskPolicy, "/")+1:] == standingAuditPolicy
}

// SummaryPolicy says when a root session's accumulated actions are
// summarised. A session's summary is sent when any of these holds:
//
//   - Quiet has passed since the session's last action arrived (checked by
//     the scheduled flush invoke);
//   - MaxAge has passed since its first accumulated action arrived
//     (checked by the flush and by every later action of the session), so
//     a long session reports at least every MaxAge;
//   - MaxActions actions have accumulated (checked by every action).
type SummaryPolicy struct {
	Quiet      time.Duration // default 15m
	MaxAge     time.Duration // default 1h
	MaxActions int           // default 50
}

// Defaults.
const (
	DefaultEnrichTTL         = time.Hour
	DefaultSummaryQuiet      = 15 * time.Minute
	DefaultSummaryMaxAge     = time.Hour
	DefaultSummaryMaxActions = 50
)

// ConfigFromEnv reads the configuration from environment variables:
// TOPIC_ARN and TABLE_NAME (required), CHATBOT_TOPIC_ARN, LANGUAGE
// (en|ja|both, default en), ENRICH_TTL (a Go duration, default 1h),
// SUMMARY_QUIET (15m), SUMMARY_MAX_AGE (1h), SUMMARY_MAX_ACTIONS (50),
// APPROVERS and STANDING_AUDIT_PRINCIPALS (comma-separated principal ARN
// patterns). Every problem is reported.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		TopicARN:        getenv("TOPIC_ARN"),
		ChatbotTopicARN: getenv("CHATBOT_TOPIC_ARN"),
		Table:           getenv("TABLE_NAME"),
		Lang:            notify.English,
		EnrichTTL:       DefaultEnrichTTL,
		Summary:         SummaryPolicy{Quiet: DefaultSummaryQuiet, MaxAge: DefaultSummaryMaxAge, MaxActions: DefaultSummaryMaxActions},
	}
	var errs []error
	if c.TopicARN == "" {
		errs = append(errs, errors.New("TOPIC_ARN is not set"))
	}
	if c.Table == "" {
		errs = append(errs, errors.New("TABLE_NAME is not set"))
	}
	if l, err := notify.ParseLang(getenv("LANGUAGE")); err != nil {
		errs = append(errs, fmt.Errorf("LANGUAGE %w", err))
	} else {
		c.Lang = l
	}
	duration := func(name string, into *time.Duration) {
		v := getenv(name)
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s %q: want a duration such as 30m", name, v))
			return
		}
		*into = d
	}
	duration("ENRICH_TTL", &c.EnrichTTL)
	duration("SUMMARY_QUIET", &c.Summary.Quiet)
	duration("SUMMARY_MAX_AGE", &c.Summary.MaxAge)
	if v := getenv("SUMMARY_MAX_ACTIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSummaryActions {
			errs = append(errs, fmt.Errorf("SUMMARY_MAX_ACTIONS %q: want 1 to %d", v, maxSummaryActions))
		} else {
			c.Summary.MaxActions = n
		}
	}
	patterns := func(name string, into *approval.Approvers) {
		v := getenv(name)
		if v == "" {
			return
		}
		as, err := approval.ParseApprovers(strings.Split(v, ","))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		*into = as
	}
	patterns("APPROVERS", &c.Approvers)
	patterns("STANDING_AUDIT_PRINCIPALS", &c.StandingAudit)
	if len(errs) > 0 {
		return c, fmt.Errorf("alert: configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

// maxSummaryActions bounds a summary item well under DynamoDB's 400 KB
// item limit (a finding is about 1 KB).
const maxSummaryActions = 200

func (c *Config) withDefaults() {
	if c.Lang == "" {
		c.Lang = notify.English
	}
	if c.Summary.Quiet <= 0 {
		c.Summary.Quiet = DefaultSummaryQuiet
	}
	if c.Summary.MaxAge <= 0 {
		c.Summary.MaxAge = DefaultSummaryMaxAge
	}
	if c.Summary.MaxActions <= 0 || c.Summary.MaxActions > maxSummaryActions {
		c.Summary.MaxActions = DefaultSummaryMaxActions
	}
}
