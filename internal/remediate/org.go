package remediate

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/rootguard/rootguard/internal/org"
)

// discover reads the organization's OU tree and accounts (internal/org).
func (c *client) discover(ctx context.Context) (*org.Organization, error) {
	return org.Read(ctx, org.Clients{Org: c.org}, org.Accounts)
}

// Target selection errors, wrapped in a *TargetError.
var (
	ErrNoTargets         = errors.New("no targets: name --account, --ou or --all")
	ErrManagementAccount = errors.New("the management account is never a target: sts:AssumeRoot cannot enter it, so rootguard does not change its root user (sign in as that root user to do it)")
	ErrUnknownTarget     = errors.New("not in the organization")
)

// TargetError is a target that cannot be chosen.
type TargetError struct {
	Target string
	Err    error
}

func (e *TargetError) Error() string {
	if e.Target == "" {
		return "remediate: " + e.Err.Error()
	}
	return fmt.Sprintf("remediate: target %s: %v", e.Target, e.Err)
}

func (e *TargetError) Unwrap() error { return e.Err }

// selectTargets resolves a selection into plan entries, in account order.
// Entries whose Action is empty are to be read; the others are decided
// (the management account and accounts that are not ACTIVE are skipped).
// Naming the management account, or an account or OU the organization
// does not have, is an error.
func selectTargets(o *org.Organization, sel Selection) ([]AccountPlan, error) {
	if sel.Empty() {
		return nil, &TargetError{Err: ErrNoTargets}
	}
	chosen := map[string]bool{}
	for _, id := range sel.Accounts {
		switch {
		case id == o.ManagementAccountID:
			return nil, &TargetError{Target: id, Err: ErrManagementAccount}
		case o.Account(id) == nil:
			return nil, &TargetError{Target: id, Err: ErrUnknownTarget}
		}
		chosen[id] = true
	}
	var ous []string
	for _, s := range sel.OUs {
		ou, ok := o.FindOU(s)
		if !ok {
			return nil, &TargetError{Target: s, Err: fmt.Errorf("OU %w", ErrUnknownTarget)}
		}
		ous = append(ous, ou.ID)
	}
	excluded := map[string]bool{}
	var excludedOUs []string
	for _, s := range sel.Exclude {
		if o.Account(s) != nil {
			excluded[s] = true
			continue
		}
		ou, ok := o.FindOU(s)
		if !ok {
			return nil, &TargetError{Target: s, Err: fmt.Errorf("--exclude: %w", ErrUnknownTarget)}
		}
		excludedOUs = append(excludedOUs, ou.ID)
	}
	var out []AccountPlan
	for _, a := range o.Accounts {
		in := sel.All || chosen[a.ID] || slices.ContainsFunc(ous, func(ou string) bool { return slices.Contains(a.Ancestors, ou) })
		if !in || excluded[a.ID] || slices.ContainsFunc(excludedOUs, func(ou string) bool { return slices.Contains(a.Ancestors, ou) }) {
			continue
		}
		ap := AccountPlan{Account: a.ID, Name: a.Name, Email: a.Email, OUPath: a.OUPath, State: a.State}
		switch {
		case a.ID == o.ManagementAccountID:
			ap.Action, ap.Reason = ActionSkip, "management account: never a target (sts:AssumeRoot cannot enter it)"
		case a.State != "ACTIVE":
			ap.Action, ap.Reason = ActionSkip, "account is "+a.State+": sts:AssumeRoot refuses it"
		}
		out = append(out, ap)
	}
	return out, nil
}
