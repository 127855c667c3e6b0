// Package monitor is rootguard's scheduled audit: the deployed function's
// second handler. Each run audits the organization with the same code as
// `rootguard audit` (internal/audit), compares the result with the
// previous run kept in S3 (internal/history), pages once for what got
// worse (Regressions) through the alert topics, keeps the run in S3, and
// makes Security Hub show the present (internal/export).
//
// Order, so that a retried run neither loses nor repeats a page: the run
// pages before it writes its result; a retry after a failed page compares
// with the same previous run and pages again, and a retry after a written
// result finds no regression. Only a retry after a page that went out and
// a write that failed pages twice.
package monitor

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/export"
	"github.com/rootguard/rootguard/internal/history"
	"github.com/rootguard/rootguard/internal/mode"
	"github.com/rootguard/rootguard/internal/newaccount"
	"github.com/rootguard/rootguard/internal/notify"
	"github.com/rootguard/rootguard/internal/pace"
)

// Command is the value of the rootguard field of the event the audit
// schedule sends: {"rootguard":"audit"}.
const Command = "audit"

// IsAuditEvent says whether an event is the audit schedule's.
func IsAuditEvent(payload []byte) bool {
	var ev struct {
		Rootguard string `json:"rootguard"`
	}
	return json.Unmarshal(payload, &ev) == nil && ev.Rootguard == Command
}

// Config is a deployment's scheduled audit.
type Config struct {
	History history.Location
	Topics  alert.Topics
	Lang    notify.Lang
	// ModeConfig is the deployment's rootguard.yaml: its strict OUs are
	// those an account must not leave. StrictOUs (OU paths) serve only
	// when it is not set.
	ModeConfig newaccount.Location
	StrictOUs  []string
	// SecurityHub keeps Security Hub current in SecurityHubRegion (the
	// SDK's region when empty); Account is the calling account.
	SecurityHub       bool
	SecurityHubRegion string
	Account           string
	Audit             audit.Options
}

// ConfigFromEnv reads the scheduled audit's settings: HISTORY (required,
// s3://bucket/prefix), TOPIC_ARN (required), CHATBOT_TOPIC_ARN, LANGUAGE
// (en, ja or both), MODE_CONFIG (s3://BUCKET/KEY of rootguard.yaml, whose
// strict OUs an account must not leave), STRICT_OUS (comma-separated OU
// paths, used only without MODE_CONFIG), SECURITY_HUB
// (true or false, default true), SECURITY_HUB_REGION, AUDIT_ROLE_NAME
// (read members through this role instead of root sessions),
// ASSUME_ROOT_RATE.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var c Config
	var errs []error
	loc, err := history.ParseLocation(getenv("HISTORY"))
	if err != nil {
		errs = append(errs, fmt.Errorf("HISTORY: %w", err))
	}
	c.History = loc
	c.Topics = alert.Topics{Main: getenv("TOPIC_ARN"), Chatbot: getenv("CHATBOT_TOPIC_ARN")}
	if c.Topics.Main == "" {
		errs = append(errs, errors.New("TOPIC_ARN is not set"))
	}
	if c.Lang, err = notify.ParseLang(getenv("LANGUAGE")); err != nil {
		errs = append(errs, fmt.Errorf("LANGUAGE %w", err))
	}
	if c.ModeConfig, err = newaccount.ParseLocation(getenv("MODE_CONFIG")); err != nil {
		errs = append(errs, fmt.Errorf("MODE_CONFIG: %w", err))
	}
	for _, ou := range strings.Split(getenv("STRICT_OUS"), ",") {
		if ou = strings.TrimSpace(ou); ou == "" {
			continue
		}
		if err := mode.CheckOUPath(ou); err != nil {
			errs = append(errs, fmt.Errorf("STRICT_OUS: %w", err))
			continue
		}
		c.StrictOUs = append(c.StrictOUs, ou)
	}
	switch v := getenv("SECURITY_HUB"); v {
	case "", "true":
		c.SecurityHub = true
	case "false":
	default:
		errs = append(errs, fmt.Errorf("SECURITY_HUB %q: want true or false", v))
	}
	c.SecurityHubRegion = getenv("SECURITY_HUB_REGION")
	c.Audit.RoleName = getenv("AUDIT_ROLE_NAME")
	if v := getenv("ASSUME_ROOT_RATE"); v != "" {
		if c.Audit.AssumeRootRate, err = pace.ParseRate(v); err != nil {
			errs = append(errs, fmt.Errorf("ASSUME_ROOT_RATE %w", err))
		}
	}
	return c, errors.Join(errs...)
}

// Deps are the clients a run uses.
type Deps struct {
	AWS         aws.Config // for the audit, as the CLI's
	S3          history.S3API
	SNS         alert.SNS
	SecurityHub *securityhub.Client
	Logger      *slog.Logger
}

// Result is what one run did: the function's response.
type Result struct {
	Organization string            `json:"organization"`
	Accounts     int               `json:"accounts"`
	NotAudited   int               `json:"notAudited"`
	Key          string            `json:"key"`         // where this run is kept
	Previous     string            `json:"previous"`    // the run it was compared with
	Regressions  []Regression      `json:"regressions"` // what got worse
	Published    []alert.Published `json:"published"`   // the page, if any
	SecurityHub  *export.Result    `json:"securityHub"` // nil when off
}

// Run audits the organization once; see the package doc for the order.
func Run(ctx context.Context, cfg Config, d Deps) (*Result, error) {
	log := cmp.Or(d.Logger, slog.Default())
	opts := cfg.Audit
	opts.Logger = log
	rep, err := audit.Run(ctx, d.AWS, opts)
	if err != nil {
		return nil, fmt.Errorf("monitor: audit: %w", err)
	}
	res := &Result{Organization: rep.Organization.ID, Accounts: len(rep.Accounts), NotAudited: rep.Summary.Failed}
	prevs, keys, err := history.Latest(ctx, d.S3, cfg.History, 1)
	if err != nil {
		return res, fmt.Errorf("monitor: previous run: %w", err)
	}
	var prev *audit.Report
	if len(prevs) == 1 {
		prev, res.Previous = prevs[0], keys[0]
	}
	strict := func(path string) bool { return underAny(path, cfg.StrictOUs) }
	if !cfg.ModeConfig.IsZero() {
		// The file is read each run, so that a change to it counts from
		// the next run; unreadable, the run fails (and is retried).
		p, err := newaccount.LoadPolicy(ctx, d.S3, d.AWS, cfg.ModeConfig)
		if err != nil {
			return res, fmt.Errorf("monitor: %w", err)
		}
		strict = p.Strict
	}
	res.Regressions = RegressionsFunc(prev, rep, strict)
	if len(res.Regressions) > 0 {
		a := Render(res.Regressions, prev, rep, cfg.History.String(), cfg.Lang)
		res.Published, err = alert.Publish(ctx, d.SNS, cfg.Topics, a, nil)
		if err != nil {
			return res, fmt.Errorf("monitor: page %d regressions: %w", len(res.Regressions), err)
		}
		log.WarnContext(ctx, "monitor: regressions paged", "count", len(res.Regressions), "organization", rep.Organization.ID)
	}
	if res.Key, err = history.Put(ctx, d.S3, cfg.History, rep); err != nil {
		return res, fmt.Errorf("monitor: %w", err)
	}
	if cfg.SecurityHub {
		account := cfg.Account
		if account == "" {
			id, err := sts.NewFromConfig(d.AWS).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err != nil {
				return res, fmt.Errorf("monitor: security hub: who am I: %w", err)
			}
			account = aws.ToString(id.Account)
		}
		sh, err := export.Sync(ctx, d.SecurityHub, rep, export.Options{Region: cmp.Or(cfg.SecurityHubRegion, d.AWS.Region), Account: account})
		res.SecurityHub = &sh
		if err == nil && len(sh.Failed) > 0 {
			err = fmt.Errorf("%d findings refused: %s", len(sh.Failed), strings.Join(sh.Failed, "; "))
		}
		if err != nil {
			return res, fmt.Errorf("monitor: security hub: %w", err)
		}
	}
	log.InfoContext(ctx, "monitor: run done", "organization", res.Organization, "accounts", res.Accounts,
		"not_audited", res.NotAudited, "key", res.Key, "regressions", len(res.Regressions))
	return res, nil
}
