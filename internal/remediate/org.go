package remediate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

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
	ErrMalformedAccount  = errors.New("not a 12-digit account id")
	ErrInactiveAccount   = errors.New("not an active account")
	ErrDuplicateTarget   = errors.New("named more than once")
)

// maxNamed is how many wrong targets a TargetError's message names; the
// rest are counted. The message stays one line however long the list.
const maxNamed = 10

// TargetError is a target that cannot be chosen. More holds the other
// wrong targets of the same selection: every one is found before the
// command fails, so one run names them all and nothing has been changed.
type TargetError struct {
	Target string
	Err    error
	More   []*TargetError
}

func (e *TargetError) one() string {
	if e.Target == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("target %s: %v", e.Target, e.Err)
}

func (e *TargetError) Error() string {
	if len(e.More) == 0 {
		return "remediate: " + e.one()
	}
	all := append([]*TargetError{e}, e.More...)
	parts := make([]string, 0, maxNamed+1)
	for i, t := range all {
		if i == maxNamed {
			parts = append(parts, fmt.Sprintf("and %d more", len(all)-maxNamed))
			break
		}
		parts = append(parts, t.one())
	}
	return fmt.Sprintf("remediate: %d wrong targets: %s", len(all), strings.Join(parts, "; "))
}

// Unwrap returns the reason of every wrong target, so errors.Is finds
// each of them.
func (e *TargetError) Unwrap() []error {
	errs := []error{e.Err}
	for _, m := range e.More {
		errs = append(errs, m.Err)
	}
	return errs
}

// targetErrors collects the wrong targets of one selection.
type targetErrors []*TargetError

func (t *targetErrors) add(target string, err error) {
	*t = append(*t, &TargetError{Target: target, Err: err})
}

// err is nil when nothing was wrong, else one *TargetError naming all.
func (t targetErrors) err() error {
	if len(t) == 0 {
		return nil
	}
	first := *t[0]
	first.More = t[1:]
	return &first
}

// CheckAccountTarget says why an account named as a target cannot be
// changed: an id that is not 12 digits, one the organization does not
// have, its management account, or an account that is not ACTIVE
// (sts:AssumeRoot refuses suspended and closed accounts). It returns nil
// for an active member account.
func CheckAccountTarget(o *org.Organization, id string) error {
	a := o.Account(id)
	switch {
	case !reAccount().MatchString(id):
		return ErrMalformedAccount
	case id == o.ManagementAccountID:
		return ErrManagementAccount
	case a == nil:
		return ErrUnknownTarget
	case a.State != "" && a.State != "ACTIVE":
		return fmt.Errorf("%w: it is %s, and sts:AssumeRoot refuses it", ErrInactiveAccount, a.State)
	}
	return nil
}

// selectTargets resolves a selection into plan entries, in account order.
// Entries whose Action is empty are to be read; the others are decided
// (the management account and accounts that are not ACTIVE under a named
// OU or --all are skipped). Every named target is checked before any is
// used, and all wrong ones are returned in one *TargetError: an account
// named with --account that is malformed, not in the organization, the
// management account or not ACTIVE; an OU or exclusion the organization
// does not have; a target named twice; an account both named and
// excluded.
func selectTargets(o *org.Organization, sel Selection) ([]AccountPlan, error) {
	if sel.Empty() {
		return nil, &TargetError{Err: ErrNoTargets}
	}
	var bad targetErrors
	chosen := map[string]bool{}
	for _, id := range sel.Accounts {
		if chosen[id] {
			bad.add(id, ErrDuplicateTarget)
			continue
		}
		chosen[id] = true
		if err := CheckAccountTarget(o, id); err != nil {
			bad.add(id, err)
		}
	}
	var ous []string
	ouNamed := map[string]string{}
	for _, s := range sel.OUs {
		ou, ok := o.FindOU(s)
		if !ok {
			bad.add(s, fmt.Errorf("OU %w", ErrUnknownTarget))
			continue
		}
		if first, dup := ouNamed[ou.ID]; dup {
			bad.add(s, fmt.Errorf("OU %s (%s) %w (first as %s)", ou.ID, ou.Path, ErrDuplicateTarget, first))
			continue
		}
		ouNamed[ou.ID] = s
		ous = append(ous, ou.ID)
	}
	excluded := map[string]bool{}
	var excludedOUs []string
	for _, s := range sel.Exclude {
		if o.Account(s) != nil {
			switch {
			case excluded[s]:
				bad.add("--exclude "+s, ErrDuplicateTarget)
			case chosen[s]:
				bad.add(s, errors.New("both named with --account and excluded"))
			}
			excluded[s] = true
			continue
		}
		ou, ok := o.FindOU(s)
		if !ok {
			bad.add(s, fmt.Errorf("--exclude: %w", ErrUnknownTarget))
			continue
		}
		if slices.Contains(excludedOUs, ou.ID) {
			bad.add("--exclude "+s, ErrDuplicateTarget)
			continue
		}
		if slices.Contains(ous, ou.ID) {
			bad.add(s, errors.New("OU both named with --ou and excluded"))
		}
		excludedOUs = append(excludedOUs, ou.ID)
	}
	if err := bad.err(); err != nil {
		return nil, err
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
