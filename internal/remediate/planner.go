package remediate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// PlanDeleteCredentials plans the deletion of the root credentials of the
// selected accounts: it reads each with an IAMAuditRootUserCredentials
// session and runs the checks; force names checks whose blocks are
// overridden. cfg is the management (or IAM delegated administrator)
// account's configuration. An account that cannot be read becomes an
// ActionError entry; PlanDeleteCredentials fails only when the
// organization cannot be read or the selection is wrong (a *TargetError).
func PlanDeleteCredentials(ctx context.Context, cfg aws.Config, sel Selection, force []string, opts Options) (*Plan, error) {
	opts = opts.withDefaults()
	known := CheckIDs(opts.Checks)
	for _, f := range force {
		if !slices.Contains(known, f) {
			return nil, &TargetError{Target: "--force " + f, Err: fmt.Errorf("no such check (checks: %s)", strings.Join(known, ", "))}
		}
	}
	p, c, err := newPlan(ctx, cfg, KindDeleteCredentials, sel, opts)
	if err != nil {
		return nil, err
	}
	p.Force = slices.Clone(force)
	p.Warnings = append(p.Warnings, DeleteWarning)
	for _, ch := range opts.Checks {
		if r := ch.Evaluate(ctx, CheckInput{Current: &Credentials{}, Now: opts.Now()}); r.Outcome == CheckNotChecked {
			p.Warnings = append(p.Warnings, "not checked: "+ch.Title()+": "+r.Detail)
		}
	}
	c.readAll(ctx, p, func(ctx context.Context, ap *AccountPlan, in CheckInput) {
		ap.Current = in.Current
		if in.Current.Empty() {
			ap.Action, ap.Reason = ActionNone, "no root credentials (already deleted centrally)"
			return
		}
		var blocked []string
		for _, ch := range opts.Checks {
			r := ch.Evaluate(ctx, in)
			if r.Outcome == CheckNotChecked {
				continue
			}
			if r.Outcome == CheckBlock {
				if slices.Contains(force, r.ID) {
					r.Forced = true
				} else {
					blocked = append(blocked, r.ID+": "+r.Detail)
				}
			}
			ap.Checks = append(ap.Checks, r)
		}
		if len(blocked) > 0 {
			ap.Action = ActionRefuse
			ap.Reason = "refused: " + strings.Join(blocked, "; ") + " (--force CHECK overrides)"
			return
		}
		ap.Action, ap.Steps = ActionDelete, deletionSteps(in.Current)
		ap.Reason = "delete " + describe(in.Current)
	})
	return p, nil
}

// PlanAllowRecovery plans allowing password recovery for the selected
// accounts: a root user without a login profile gets one without a
// password. Accounts are read with an IAMAuditRootUserCredentials session.
func PlanAllowRecovery(ctx context.Context, cfg aws.Config, sel Selection, opts Options) (*Plan, error) {
	opts = opts.withDefaults()
	p, c, err := newPlan(ctx, cfg, KindAllowRecovery, sel, opts)
	if err != nil {
		return nil, err
	}
	p.Warnings = append(p.Warnings, RecoveryWarning)
	c.readAll(ctx, p, func(_ context.Context, ap *AccountPlan, in CheckInput) {
		ap.Current = in.Current
		if in.Current.Password {
			ap.Action, ap.Reason = ActionNone, "the root user already has a login profile: its email owner can already recover the password"
			return
		}
		ap.Action, ap.Steps = ActionAllowRecovery, []Step{newStep(OpCreateLoginProfile, "root")}
		ap.Reason = "create a login profile without a password, so the root email owner can recover one"
	})
	return p, nil
}

// newPlan reads who is calling and the organization, and selects targets.
func newPlan(ctx context.Context, cfg aws.Config, kind Kind, sel Selection, opts Options) (*Plan, *client, error) {
	c, err := newClient(cfg, opts)
	if err != nil {
		return nil, nil, err
	}
	caller, _, err := c.callerARN(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("remediate: %w", err)
	}
	o, err := c.discover(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("remediate: %w", err)
	}
	accts, err := selectTargets(o, sel)
	if err != nil {
		return nil, nil, err
	}
	now := opts.Now().UTC()
	p := &Plan{
		Version: PlanVersion, Kind: kind, CreatedAt: now, CreatedBy: caller, ExpiresAt: now.Add(opts.MaxAge),
		Organization: o.ID, ManagementAccount: o.ManagementAccountID, Selection: sel, Accounts: accts,
	}
	return p, c, nil
}

// readAll reads every undecided account of the plan with an audit root
// session, in parallel, and lets decide fill in the entry.
func (c *client) readAll(ctx context.Context, p *Plan, decide func(context.Context, *AccountPlan, CheckInput)) {
	var todo []int
	for i := range p.Accounts {
		if p.Accounts[i].Action == "" {
			todo = append(todo, i)
		}
	}
	var done atomic.Int64
	skipped := forEach(ctx, len(todo), c.opts.Workers, func(j int) {
		ap := &p.Accounts[todo[j]]
		log := c.opts.Logger.With("account", ap.Account)
		cr, iamc, err := c.readAccount(ctx, ap.Account)
		if err != nil {
			ap.Action, ap.Error = ActionError, fmt.Sprintf("account %s: %v", ap.Account, err)
			ap.Reason = "could not read the root user"
			log.Debug("account not read", "error", err)
		} else {
			decide(ctx, ap, CheckInput{Account: ap.Account, Current: cr, IAM: iamc, Now: c.opts.Now()})
			log.Debug("account planned", "action", ap.Action)
		}
		if c.opts.Progress != nil {
			c.opts.Progress(int(done.Add(1)), len(todo))
		}
	})
	for _, j := range skipped {
		ap := &p.Accounts[todo[j]]
		ap.Action, ap.Reason, ap.Error = ActionError, "not read", fmt.Sprintf("account %s: %v", ap.Account, ctx.Err())
	}
}

// readAccount reads one account's root credentials with an audit session.
func (c *client) readAccount(ctx context.Context, account string) (*Credentials, *iam.Client, error) {
	s, _, err := c.assumeRoot(ctx, account, TaskAudit)
	if err != nil {
		return nil, nil, err
	}
	iamc := c.memberIAM(s)
	cr, _, err := readCredentials(ctx, iamc, true)
	if err != nil {
		return nil, nil, err
	}
	return cr, iamc, nil
}
