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
	// second (default 50); the pace then finds the rate AWS allows
	// (pace.Adaptive), up to MaxAssumeRootRate (default 0: no cap).
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
	// Accounts, when set, limits the audit to these account ids: the
	// organization is still read (its setup, the OU tree, the SCPs), and
	// only these accounts are read and reported. An id the organization
	// does not list is simply absent from the report.
	Accounts []string
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
	// The management account's Organizations and IAM calls (discovery,
	// each account's SCP chain, policies) are paced per operation, from
	// the same initial pace as AssumeRoot: a throttled API is retried at
	// the rate it accepts, not in a flood of backoffs that runs out of
	// attempts and loses accounts.
	retries := org.Retries{MaxAttempts: opts.MaxAttempts, MaxBackoff: 5 * time.Second}
	r.org, r.iam = retries.Organizations(r.cfg), retries.IAM(r.cfg)
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
	region := opts.Region
	if region == "" {
		region = cfg.Region
	}

	// Each account is read as soon as discovery lists it: the workers
	// take accounts from a queue the tree walk fills.
	q := &queue{more: make(chan struct{}, 1)}
	var done atomic.Int64
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Go(func() {
			for a := q.next(ctx); a != nil; a = q.next(ctx) {
				r.auditAccount(ctx, a)
				n := done.Add(1)
				if opts.Progress != nil {
					opts.Progress(int(n), q.seen())
				}
			}
		})
	}
	push := q.push
	if opts.Accounts != nil {
		push = func(a *Account) {
			if slices.Contains(opts.Accounts, a.ID) {
				q.push(a)
			}
		}
	}
	tree, info, accounts, err := discover(ctx, org.Clients{Org: r.org, IAM: r.iam, STS: r.sts}, push)
	q.close()
	if err != nil {
		wg.Wait()
		return nil, fmt.Errorf("audit: %w", err)
	}
	if opts.Accounts != nil {
		accounts = slices.DeleteFunc(accounts, func(a *Account) bool { return !slices.Contains(opts.Accounts, a.ID) })
	}
	rep.Organization = info
	rep.OrgControls = EvaluateOrg(info)
	rep.Accounts = accounts
	r.opts.Logger.Info("discovered organization", "org", info.ID, "accounts", len(accounts))

	// SCPs exist only in organizations with all features; the
	// management account is never restricted by them. Each account's
	// chain is read (one list per account, the OUs' once, as many at once as
	// there are workers) while the
	// sessions go on.
	if info.FeatureSet == "ALL" {
		chains := tree.SCPChains(r.org)
		next := make(chan *Account)
		var scpWG sync.WaitGroup
		for range opts.Workers {
			scpWG.Go(func() {
				for a := range next {
					checkSessions(ctx, chains, info.ID, region, a)
				}
			})
		}
		for _, a := range accounts {
			if !a.Management && (a.State == "" || a.State == "ACTIVE") && ctx.Err() == nil {
				next <- a
			}
		}
		close(next)
		scpWG.Wait()
	}
	wg.Wait()
	for _, a := range accounts {
		a.RootDenySCPs = tree.RootDenySCPs(tree.Chain(a.ID)...)
		if b, ok := blocked(a, rootsession.Audit); ok && a.Error != "" && a.Method == MethodAssumeRoot {
			a.Error += fmt.Sprintf(" (this is why: the account's SCPs refuse the audit's root session, %s: %s; see %s)", b.Action, b.Reason, CtlSCPRootSessions)
		}
		a.Controls = Evaluate(a, opts.Now())
	}
	if r.sessions != nil {
		st := r.sessions.Stats()
		r.opts.Logger.Info("root sessions opened", "assume_root_calls", st.Calls, "throttled", st.Throttled, "final_rate", r.sessions.Rate())
	}
	rep.FinishedAt = opts.Now().UTC()
	rep.Summary = summarize(rep)
	if ctx.Err() != nil {
		return rep, fmt.Errorf("audit: %w", ctx.Err())
	}
	return rep, nil
}

// queue hands accounts from discovery to the workers as they are found.
type queue struct {
	mu      sync.Mutex
	pending []*Account
	n       int
	closed  bool
	more    chan struct{} // a token: something was pushed or the queue closed
}

func (q *queue) push(a *Account) {
	q.mu.Lock()
	q.pending = append(q.pending, a)
	q.n++
	q.mu.Unlock()
	q.wake()
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.wake()
}

func (q *queue) wake() {
	select {
	case q.more <- struct{}{}:
	default:
	}
}

// next returns the next account, waiting for discovery; nil once the
// queue is closed and empty (or ctx ended).
func (q *queue) next(ctx context.Context) *Account {
	for {
		q.mu.Lock()
		if len(q.pending) > 0 {
			a := q.pending[0]
			q.pending = q.pending[1:]
			more := len(q.pending) > 0 || q.closed
			q.mu.Unlock()
			if more {
				q.wake() // pass the token on to the next waiting worker
			}
			return a
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			q.wake()
			return nil
		}
		select {
		case <-q.more:
		case <-ctx.Done():
			return nil
		}
	}
}

// seen is how many accounts discovery has found so far.
func (q *queue) seen() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
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
