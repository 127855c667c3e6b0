package audit

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rootguard/rootguard/internal/org"
	"github.com/rootguard/rootguard/internal/rootsession"
)

// Options tune an audit.
type Options struct {
	// Workers is how many accounts are audited at once (default 64).
	Workers int
	// Region is where root sessions are opened (default the
	// configuration's): AssumeRoot works only at a Regional endpoint.
	Region string
	// RoleName, when set, reads member accounts through this role and the
	// IAM credential report instead of root sessions (for organizations
	// without centralized root access).
	RoleName string
	// AssumeRootRate is the initial pace of sts:AssumeRoot calls per
	// second (default 50); it adapts to throttling, up to MaxAssumeRootRate
	// (default twice the initial rate).
	AssumeRootRate    float64
	MaxAssumeRootRate float64
	// MaxAttempts bounds the SDK's retries of throttling and server errors
	// (default 10).
	MaxAttempts int
	// ReportPoll is how often a credential report's generation is checked.
	ReportPoll time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
	// Progress, if set, is called after each account with the count done.
	Progress func(done, total int)
}

type runner struct {
	cfg      aws.Config
	opts     Options
	org      *organizations.Client
	sts      *sts.Client // AssumeRole, for the credential-report fallback
	iam      *iam.Client
	sessions *rootsession.Opener
}

// Run audits every account of the organization that cfg's credentials
// manage. cfg is the management (or IAM delegated administrator) account's
// configuration, loaded the SDK's standard way. An account that cannot be
// read becomes that account's result, with its error; Run fails only when
// the organization itself cannot be read.
func Run(ctx context.Context, cfg aws.Config, opts Options) (*Report, error) {
	if opts.Workers <= 0 {
		opts.Workers = 64
	}
	if opts.AssumeRootRate <= 0 {
		opts.AssumeRootRate = 50
	}
	if opts.MaxAssumeRootRate <= 0 {
		opts.MaxAssumeRootRate = 2 * opts.AssumeRootRate
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.ReportPoll <= 0 {
		opts.ReportPoll = 2 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &runner{opts: opts}
	r.cfg = cfg.Copy()
	standard := rootsession.Retryer(opts.MaxAttempts, 5*time.Second)
	r.cfg.Retryer = func() aws.Retryer { return standard() }
	r.org = organizations.NewFromConfig(r.cfg)
	r.iam = iam.NewFromConfig(r.cfg)
	r.sts = sts.NewFromConfig(r.cfg)
	if opts.RoleName == "" {
		var err error
		r.sessions, err = rootsession.New(cfg, rootsession.Options{Region: opts.Region, Rate: opts.AssumeRootRate,
			MaxRate: opts.MaxAssumeRootRate, MaxAttempts: opts.MaxAttempts, Logger: opts.Logger})
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
	}

	rep := &Report{StartedAt: opts.Now().UTC()}
	tree, info, accounts, err := discover(ctx, org.Clients{Org: r.org, IAM: r.iam, STS: r.sts})
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	rep.Organization = info
	rep.OrgControls = EvaluateOrg(info)
	rep.Accounts = accounts
	r.opts.Logger.Info("discovered organization", "org", info.ID, "accounts", len(accounts))

	// SCPs exist only in organizations with all features; the
	// management account is never restricted by them.
	var chains *org.SCPChains
	if info.FeatureSet == "ALL" {
		chains = tree.SCPChains(r.org)
	}
	region := opts.Region
	if region == "" {
		region = cfg.Region
	}

	jobs := make(chan *Account)
	var done atomic.Int64
	var wg sync.WaitGroup
	for range min(opts.Workers, max(1, len(accounts))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range jobs {
				a.RootDenySCPs = tree.RootDenySCPs(tree.Chain(a.ID)...)
				if chains != nil && !a.Management && (a.State == "" || a.State == "ACTIVE") {
					checkSessions(ctx, chains, info.ID, region, a)
				}
				r.auditAccount(ctx, a)
				a.Controls = Evaluate(a, opts.Now())
				n := done.Add(1)
				if opts.Progress != nil {
					opts.Progress(int(n), len(accounts))
				}
			}
		}()
	}
	for _, a := range accounts {
		select {
		case jobs <- a:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	rep.FinishedAt = opts.Now().UTC()
	rep.Summary = summarize(rep)
	if ctx.Err() != nil {
		return rep, fmt.Errorf("audit: %w", ctx.Err())
	}
	return rep, nil
}

// auditAccount reads one account's root user. Errors become the account's.
func (r *runner) auditAccount(ctx context.Context, a *Account) {
	log := r.opts.Logger.With("account", a.ID)
	if ctx.Err() != nil {
		a.Method, a.Error = MethodNone, ctx.Err().Error()
		return
	}
	if a.State != "" && a.State != "ACTIVE" {
		a.Method = MethodNone
		return // suspended and closing accounts are reported, not read
	}
	var root *Root
	var err error
	switch {
	case a.Management:
		a.Method = MethodManagement
		root, err = readRootWithoutSession(ctx, r.iam, r.opts.ReportPoll, "management account (no root session can target it)")
	case r.opts.RoleName != "":
		a.Method = MethodCredentialReport
		var c rootsession.Credentials
		if c, err = r.assumeRole(ctx, a.ID); err == nil {
			root, err = readRootWithoutSession(ctx, r.memberIAM(c), r.opts.ReportPoll, "read through role "+r.opts.RoleName)
		}
	default:
		a.Method = MethodAssumeRoot
		var s *rootsession.Session
		if s, err = r.sessions.Open(ctx, a.ID, rootsession.Audit); err == nil {
			root, err = ReadRoot(ctx, iam.NewFromConfig(s.Config()))
		}
	}
	if err != nil {
		a.Error = fmt.Sprintf("account %s: %v", a.ID, err)
		if b, ok := blocked(a, rootsession.Audit); ok && a.Method == MethodAssumeRoot {
			a.Error += fmt.Sprintf(" (this is why: the account's SCPs refuse the audit's root session, %s: %s; see %s)", b.Action, b.Reason, CtlSCPRootSessions)
		}
		log.Debug("account not audited", "error", err)
		return
	}
	a.Root = root
	log.Debug("account audited", "method", a.Method)
}

func summarize(rep *Report) Summary {
	s := Summary{Accounts: len(rep.Accounts), ByControl: map[string]Tally{}}
	for _, a := range rep.Accounts {
		switch {
		case a.Error != "":
			s.Failed++
		case a.Root != nil:
			s.Audited++
			if !a.Root.HasCredentials() && len(a.Root.MFADevices) == 0 {
				s.RootCredentialsGone++
			}
		}
		for _, c := range a.Controls {
			t := s.ByControl[c.ID]
			switch c.Outcome {
			case Pass:
				t.Pass++
			case Fail:
				t.Fail++
			case NotApplicable:
				t.NotApplicable++
			default:
				t.Unknown++
			}
			s.ByControl[c.ID] = t
		}
	}
	for _, c := range rep.OrgControls {
		t := s.ByControl[c.ID]
		switch c.Outcome {
		case Pass:
			t.Pass++
		case Fail:
			t.Fail++
		default:
			t.Unknown++
		}
		s.ByControl[c.ID] = t
	}
	return s
}

// Failed reports whether any control failed anywhere.
func (rep *Report) Failed() bool {
	return slices.ContainsFunc(rep.OrgControls, func(c Control) bool { return c.Outcome == Fail }) ||
		slices.ContainsFunc(rep.Accounts, func(a *Account) bool {
			return slices.ContainsFunc(a.Controls, func(c Control) bool { return c.Outcome == Fail })
		})
}
