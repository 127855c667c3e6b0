package remediate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
)

// orgAccount is an account of the organization and where it sits.
type orgAccount struct {
	id, name, ouPath, state string
	// ancestors are the ids of the OUs above it and the root.
	ancestors []string
}

// org is what target selection needs of the organization.
type org struct {
	id, management string
	accounts       []*orgAccount // by id
	byID           map[string]*orgAccount
	ouPaths        map[string]string // OU or root id -> path ("Root/Workloads/Prod")
}

// discover reads the organization and its OU tree. The children of the
// OUs of one level are listed in parallel: a large organization has more
// pages than levels.
func discover(ctx context.Context, c *organizations.Client) (*org, error) {
	d, err := c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return nil, fmt.Errorf("describe organization: %w", err)
	}
	o := &org{
		id: aws.ToString(d.Organization.Id), management: aws.ToString(d.Organization.MasterAccountId),
		byID: map[string]*orgAccount{}, ouPaths: map[string]string{},
	}
	roots, err := c.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		return nil, fmt.Errorf("list roots: %w", err)
	}
	var level []ouNode
	for _, r := range roots.Roots {
		id := aws.ToString(r.Id)
		o.ouPaths[id] = "Root"
		level = append(level, ouNode{id, "Root", []string{id}})
	}
	for len(level) > 0 {
		children := make([]ouChildren, len(level))
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for i, n := range level {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				children[i] = listChildren(ctx, c, n)
			})
		}
		wg.Wait()
		var next []ouNode
		for _, ch := range children {
			if ch.err != nil {
				return nil, ch.err
			}
			for _, ou := range ch.ous {
				o.ouPaths[ou.id] = ou.path
			}
			next = append(next, ch.ous...)
			for _, a := range ch.accounts {
				o.accounts = append(o.accounts, a)
				o.byID[a.id] = a
			}
		}
		level = next
	}
	slices.SortFunc(o.accounts, func(a, b *orgAccount) int { return strings.Compare(a.id, b.id) })
	return o, nil
}

// ouNode is an OU (or the root) during discovery.
type ouNode struct {
	id, path  string
	ancestors []string // ids from the root down to this node
}

type ouChildren struct {
	ous      []ouNode
	accounts []*orgAccount
	err      error
}

// listChildren lists the OUs and accounts directly under n.
func listChildren(ctx context.Context, c *organizations.Client, n ouNode) ouChildren {
	var out ouChildren
	ous := organizations.NewListOrganizationalUnitsForParentPaginator(c, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(n.id)})
	for ous.HasMorePages() {
		page, err := ous.NextPage(ctx)
		if err != nil {
			out.err = fmt.Errorf("list OUs under %s: %w", n.path, err)
			return out
		}
		for _, ou := range page.OrganizationalUnits {
			id := aws.ToString(ou.Id)
			out.ous = append(out.ous, ouNode{id, n.path + "/" + aws.ToString(ou.Name), append(slices.Clone(n.ancestors), id)})
		}
	}
	accts := organizations.NewListAccountsForParentPaginator(c, &organizations.ListAccountsForParentInput{ParentId: aws.String(n.id)})
	for accts.HasMorePages() {
		page, err := accts.NextPage(ctx)
		if err != nil {
			out.err = fmt.Errorf("list accounts under %s: %w", n.path, err)
			return out
		}
		for _, a := range page.Accounts {
			state := string(a.State)
			if state == "" {
				state = string(a.Status)
			}
			out.accounts = append(out.accounts, &orgAccount{id: aws.ToString(a.Id), name: aws.ToString(a.Name), ouPath: n.path, state: state, ancestors: n.ancestors})
		}
	}
	return out
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

// resolveOU finds an OU (or the root) by id or by path; a path may leave
// out the leading "Root/" and is matched without regard to case.
func (o *org) resolveOU(s string) (string, bool) {
	if _, ok := o.ouPaths[s]; ok {
		return s, true
	}
	want := strings.Trim(s, "/")
	if !strings.EqualFold(want, "Root") && !strings.HasPrefix(strings.ToLower(want), "root/") {
		want = "Root/" + want
	}
	for id, p := range o.ouPaths {
		if strings.EqualFold(p, want) {
			return id, true
		}
	}
	return "", false
}

// selectTargets resolves a selection into plan entries, in account order.
// Entries whose Action is empty are to be read; the others are decided
// (the management account and accounts that are not ACTIVE are skipped).
// Naming the management account, or an account or OU the organization
// does not have, is an error.
func (o *org) selectTargets(sel Selection) ([]AccountPlan, error) {
	if sel.Empty() {
		return nil, &TargetError{Err: ErrNoTargets}
	}
	chosen := map[string]bool{}
	for _, id := range sel.Accounts {
		switch {
		case id == o.management:
			return nil, &TargetError{Target: id, Err: ErrManagementAccount}
		case o.byID[id] == nil:
			return nil, &TargetError{Target: id, Err: ErrUnknownTarget}
		}
		chosen[id] = true
	}
	var ous []string
	for _, s := range sel.OUs {
		id, ok := o.resolveOU(s)
		if !ok {
			return nil, &TargetError{Target: s, Err: fmt.Errorf("OU %w", ErrUnknownTarget)}
		}
		ous = append(ous, id)
	}
	excluded := map[string]bool{}
	var excludedOUs []string
	for _, s := range sel.Exclude {
		if o.byID[s] != nil {
			excluded[s] = true
			continue
		}
		id, ok := o.resolveOU(s)
		if !ok {
			return nil, &TargetError{Target: s, Err: fmt.Errorf("--exclude: %w", ErrUnknownTarget)}
		}
		excludedOUs = append(excludedOUs, id)
	}
	var out []AccountPlan
	for _, a := range o.accounts {
		in := sel.All || chosen[a.id] || slices.ContainsFunc(ous, func(ou string) bool { return slices.Contains(a.ancestors, ou) })
		if !in || excluded[a.id] || slices.ContainsFunc(excludedOUs, func(ou string) bool { return slices.Contains(a.ancestors, ou) }) {
			continue
		}
		ap := AccountPlan{Account: a.id, Name: a.name, OUPath: a.ouPath, State: a.state}
		switch {
		case a.id == o.management:
			ap.Action, ap.Reason = ActionSkip, "management account: never a target (sts:AssumeRoot cannot enter it)"
		case a.state != "ACTIVE":
			ap.Action, ap.Reason = ActionSkip, "account is "+a.state+": sts:AssumeRoot refuses it"
		}
		out = append(out, ap)
	}
	return out, nil
}
