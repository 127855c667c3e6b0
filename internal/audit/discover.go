package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// orgTree is what discovery learns of the organization.
type orgTree struct {
	info     OrgInfo
	accounts []*Account
	// parents maps an account or OU id to its parent's id (up to the root).
	parents map[string]string
	// names maps OU and root ids to names.
	names map[string]string
	// scpTargets maps a target id (root, OU or account) to the root-deny
	// SCPs attached to it.
	scpTargets map[string][]RootDenySCP
}

// discover reads the organization: its setup, the OU tree and every account.
func discover(ctx context.Context, org *organizations.Client, iamc *iam.Client) (*orgTree, error) {
	t := &orgTree{parents: map[string]string{}, names: map[string]string{}, scpTargets: map[string][]RootDenySCP{}}
	d, err := org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return nil, fmt.Errorf("describe organization: %w", err)
	}
	t.info.ID = aws.ToString(d.Organization.Id)
	t.info.ManagementAccountID = aws.ToString(d.Organization.MasterAccountId)
	t.info.FeatureSet = string(d.Organization.FeatureSet)

	roots, err := org.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		return nil, fmt.Errorf("list roots: %w", err)
	}
	if len(roots.Roots) == 0 {
		return nil, errors.New("list roots: the organization has no root")
	}
	// Walk the OU tree breadth first.
	type node struct{ id, path string }
	queue := []node{}
	for _, r := range roots.Roots {
		t.names[aws.ToString(r.Id)] = "Root"
		queue = append(queue, node{aws.ToString(r.Id), "Root"})
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		ous := organizations.NewListOrganizationalUnitsForParentPaginator(org, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(n.id)})
		for ous.HasMorePages() {
			page, err := ous.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list OUs under %s: %w", n.path, err)
			}
			for _, ou := range page.OrganizationalUnits {
				id := aws.ToString(ou.Id)
				t.parents[id] = n.id
				t.names[id] = aws.ToString(ou.Name)
				queue = append(queue, node{id, n.path + "/" + aws.ToString(ou.Name)})
			}
		}
		accts := organizations.NewListAccountsForParentPaginator(org, &organizations.ListAccountsForParentInput{ParentId: aws.String(n.id)})
		for accts.HasMorePages() {
			page, err := accts.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list accounts under %s: %w", n.path, err)
			}
			for _, a := range page.Accounts {
				id := aws.ToString(a.Id)
				t.parents[id] = n.id
				t.accounts = append(t.accounts, &Account{
					ID: id, Name: aws.ToString(a.Name), Email: aws.ToString(a.Email), OUPath: n.path,
					State: accountState(a), Management: id == t.info.ManagementAccountID,
				})
			}
		}
	}
	slices.SortFunc(t.accounts, func(a, b *Account) int { return strings.Compare(a.ID, b.ID) })

	// The org-wide setup is read on a best-effort basis: a failure is
	// reported in the org controls, not fatal.
	var problems []string
	if f, err := iamc.ListOrganizationsFeatures(ctx, &iam.ListOrganizationsFeaturesInput{}); err != nil {
		problems = append(problems, fmt.Sprintf("list organizations features: %v", err))
	} else {
		for _, e := range f.EnabledFeatures {
			t.info.EnabledFeatures = append(t.info.EnabledFeatures, string(e))
		}
	}
	access := organizations.NewListAWSServiceAccessForOrganizationPaginator(org, &organizations.ListAWSServiceAccessForOrganizationInput{})
	for access.HasMorePages() {
		page, err := access.NextPage(ctx)
		if err != nil {
			problems = append(problems, fmt.Sprintf("list trusted access: %v", err))
			break
		}
		for _, s := range page.EnabledServicePrincipals {
			if aws.ToString(s.ServicePrincipal) == "iam.amazonaws.com" {
				t.info.IAMTrustedAccess = true
			}
		}
	}
	admins := organizations.NewListDelegatedAdministratorsPaginator(org, &organizations.ListDelegatedAdministratorsInput{ServicePrincipal: aws.String("iam.amazonaws.com")})
	for admins.HasMorePages() {
		page, err := admins.NextPage(ctx)
		if err != nil {
			problems = append(problems, fmt.Sprintf("list delegated administrators: %v", err))
			break
		}
		for _, a := range page.DelegatedAdministrators {
			t.info.IAMDelegatedAdmins = append(t.info.IAMDelegatedAdmins, aws.ToString(a.Id))
		}
	}
	if err := t.readSCPs(ctx, org); err != nil {
		problems = append(problems, err.Error())
	}
	t.info.Error = strings.Join(problems, "; ")
	return t, nil
}

// accountState reads State, falling back to the retired Status.
func accountState(a orgtypes.Account) string {
	if a.State != "" {
		return string(a.State)
	}
	return string(a.Status)
}

// readSCPs finds the service control policies that deny the root user and
// where they are attached: a handful of calls whatever the account count.
func (t *orgTree) readSCPs(ctx context.Context, org *organizations.Client) error {
	pols := organizations.NewListPoliciesPaginator(org, &organizations.ListPoliciesInput{Filter: orgtypes.PolicyTypeServiceControlPolicy})
	for pols.HasMorePages() {
		page, err := pols.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list SCPs: %w", err)
		}
		for _, p := range page.Policies {
			id := aws.ToString(p.Id)
			d, err := org.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(id)})
			if err != nil {
				return fmt.Errorf("describe SCP %s: %w", id, err)
			}
			denies, exempts, err := AnalyzeSCP(aws.ToString(d.Policy.Content))
			if err != nil {
				return fmt.Errorf("SCP %s: %w", id, err)
			}
			if !denies {
				continue
			}
			targets := organizations.NewListTargetsForPolicyPaginator(org, &organizations.ListTargetsForPolicyInput{PolicyId: aws.String(id)})
			for targets.HasMorePages() {
				tp, err := targets.NextPage(ctx)
				if err != nil {
					return fmt.Errorf("list targets of SCP %s: %w", id, err)
				}
				for _, tg := range tp.Targets {
					tid := aws.ToString(tg.TargetId)
					t.scpTargets[tid] = append(t.scpTargets[tid], RootDenySCP{
						ID: id, Name: aws.ToString(p.Name), Target: tid, ExemptsRootSessions: exempts,
					})
				}
			}
		}
	}
	return nil
}

// scpsFor lists the root-deny SCPs that apply to an account: attached to
// it, to any OU above it, or to the root.
func (t *orgTree) scpsFor(account string) []RootDenySCP {
	var out []RootDenySCP
	for id, seen := account, 0; id != "" && seen < 10; id, seen = t.parents[id], seen+1 {
		for _, p := range t.scpTargets[id] {
			p.Target = t.targetName(id)
			out = append(out, p)
		}
	}
	return out
}

func (t *orgTree) targetName(id string) string {
	if n, ok := t.names[id]; ok {
		return n + " (" + id + ")"
	}
	return id
}
