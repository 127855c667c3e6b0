package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rootguard/rootguard/internal/org"
)

// StackSetsServicePrincipal is the service principal of CloudFormation
// StackSets' trusted access and delegated administrators.
const StackSetsServicePrincipal = "member.org.stacksets.cloudformation.amazonaws.com"

// Preflight is what Check reads: the management account's Organizations
// and STS clients, and STS clients with the credentials that would
// deploy the Audit stack and (with CallAs DELEGATED_ADMIN) administer the
// StackSet.
type Preflight struct {
	Org      *organizations.Client
	Caller   *sts.Client
	Audit    *sts.Client
	StackSet *sts.Client // nil unless CallAs is DELEGATED_ADMIN
	// AuditFlag names how the Audit account's credentials were given
	// ("--audit-role-arn ARN", "--audit-profile P"); empty when they are
	// the current ones.
	AuditFlag string
	// IAMAdmin carries the credentials given for IAM's delegated
	// administrator (nil without), IAMAdminFlag how they were given: they
	// must be in Config.IAMAdminAccountID, as deploy creates and deletes
	// stacks there.
	IAMAdmin     *sts.Client
	IAMAdminFlag string
}

// TargetError is a deployment target that is wrong: Problems name each.
// Nothing has been changed when it is returned.
type TargetError struct{ Problems []string }

func (e *TargetError) Error() string {
	return "deploy: " + strings.Join(e.Problems, "; ") + "; nothing was changed"
}

// Check validates every target of a deployment before anything changes:
// the caller is the organization's management account, the OUs and the
// Audit account are in the organization (the account ACTIVE), the Audit
// credentials are in the Audit account, those given for IAM's delegated
// administrator in that account, StackSets trusted access is
// enabled, and with DELEGATED_ADMIN the StackSet credentials are in a
// registered StackSets delegated administrator. Every problem is named
// in a *TargetError; other errors are reads that failed. It keeps the
// organization's OU tree in d.OUParents, for the StackSet's removals.
func (d *Deployer) Check(ctx context.Context, p Preflight) error {
	c, callAs := &d.Config, d.CallAs
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	o, err := org.Read(ctx, org.Clients{Org: p.Org}, org.Accounts)
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	if c.OrganizationID != o.ID {
		bad("organization %s: the credentials manage %s", c.OrganizationID, o.ID)
	}
	caller, err := callerAccount(ctx, p.Caller)
	if err != nil {
		return fmt.Errorf("deploy: current credentials: %w", err)
	}
	if caller != o.ManagementAccountID {
		bad("the current credentials are in account %s, not the management account %s: run deploy with the management account's credentials", caller, o.ManagementAccountID)
	}
	for _, ou := range c.OUs {
		if _, ok := o.OUs[ou]; !ok {
			bad("--ou %s: no such OU or root in organization %s", ou, o.ID)
		}
	}
	switch a := o.Account(c.AuditAccountID); {
	case a == nil:
		bad("--audit-account %s: not an account of organization %s", c.AuditAccountID, o.ID)
	case a.State != "ACTIVE":
		bad("--audit-account %s (%s): the account is %s", a.ID, a.Name, a.State)
	default:
		got, err := callerAccount(ctx, p.Audit)
		switch {
		case err != nil && p.AuditFlag != "":
			bad("%s: cannot reach the Audit account %s: %v", p.AuditFlag, c.AuditAccountID, err)
		case err != nil:
			return fmt.Errorf("deploy: audit credentials: %w", err)
		case got != c.AuditAccountID && p.AuditFlag == "":
			bad("the Audit stack goes only into the Audit account %s, and the current credentials are in %s: give --audit-role-arn arn:aws:iam::%s:role/ROLE (or --audit-profile) to reach it",
				c.AuditAccountID, got, c.AuditAccountID)
		case got != c.AuditAccountID:
			bad("%s reaches account %s, not the Audit account %s", p.AuditFlag, got, c.AuditAccountID)
		}
	}
	if p.IAMAdmin != nil && c.IAMAdminAccountID != "" {
		got, err := callerAccount(ctx, p.IAMAdmin)
		switch {
		case err != nil:
			bad("%s: cannot reach IAM's delegated administrator %s: %v", p.IAMAdminFlag, c.IAMAdminAccountID, err)
		case got != c.IAMAdminAccountID:
			bad("%s reaches account %s, not IAM's delegated administrator %s", p.IAMAdminFlag, got, c.IAMAdminAccountID)
		}
	}
	trusted, err := serviceAccess(ctx, p.Org)
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	if !slices.Contains(trusted, StackSetsServicePrincipal) {
		bad("StackSets trusted access is not enabled in organization %s, so the member StackSet cannot be created: enable it from the management account (rootguard org enable --stacksets --yes, or aws cloudformation activate-organizations-access, or CloudFormation console > StackSets > Activate trusted access), then run deploy again", o.ID)
	}
	if callAs == cfntypes.CallAsDelegatedAdmin {
		admins, err := delegatedAdmins(ctx, p.Org)
		if err != nil {
			return fmt.Errorf("deploy: %w", err)
		}
		got, err := callerAccount(ctx, p.StackSet)
		switch {
		case err != nil:
			bad("--call-as DELEGATED_ADMIN: cannot reach the delegated administrator: %v", err)
		case !slices.Contains(admins, got):
			reg := "none is registered"
			if len(admins) > 0 {
				reg = "registered: " + strings.Join(admins, ", ")
			}
			bad("--call-as DELEGATED_ADMIN: account %s is not a StackSets delegated administrator of %s (%s)", got, o.ID, reg)
		}
	}
	if len(probs) > 0 {
		return &TargetError{Problems: probs}
	}
	d.Warnings = nil
	if w := iamAdminCoverage(o, c); w != "" {
		d.Warnings = append(d.Warnings, w)
	}
	d.OUParents = make(map[string]string, len(o.OUs))
	for id, ou := range o.OUs {
		d.OUParents[id] = ou.Parent
	}
	return nil
}

// iamAdminCoverage says, when the IAM delegated administrator is under
// none of the OUs the member StackSet targets, that the sts:AssumeRoot
// calls it makes in the governed Regions go unforwarded: AssumeRoot is
// recorded in the account that calls it, and in the governed Regions only
// the StackSet's forwarder would send it on (deploy's AssumeRoot stacks
// serve the Regions outside them). Empty when it is covered or there is
// none.
func iamAdminCoverage(o *org.Organization, c *Config) string {
	a := o.Account(c.IAMAdminAccountID)
	if c.IAMAdminAccountID == "" || a == nil || a.ID == o.ManagementAccountID {
		return ""
	}
	for _, ou := range c.OUs {
		if slices.Contains(a.Ancestors, ou) {
			return ""
		}
	}
	return fmt.Sprintf("the IAM delegated administrator %s (%s, in %s) is under no --ou, so the member StackSet does not reach it: the root sessions it opens (sts:AssumeRoot) in %s are not forwarded, and no alert says they were opened; add --ou %s (or an OU above it)",
		a.ID, a.Name, a.OUPath, strings.Join(c.AllRegions(), ", "), a.Parent)
}

// within reports whether OU ou is inside OU (or root) outer, per
// d.OUParents.
func (d *Deployer) within(ou, outer string) bool {
	for p, seen := d.OUParents[ou], 0; p != "" && seen <= len(d.OUParents); p, seen = d.OUParents[p], seen+1 {
		if p == outer {
			return true
		}
	}
	return false
}

func callerAccount(ctx context.Context, c *sts.Client) (string, error) {
	if c == nil {
		return "", errors.New("no credentials")
	}
	out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Account), nil
}

func serviceAccess(ctx context.Context, c *organizations.Client) ([]string, error) {
	var out []string
	pg := organizations.NewListAWSServiceAccessForOrganizationPaginator(c, &organizations.ListAWSServiceAccessForOrganizationInput{})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list trusted access: %w", err)
		}
		for _, s := range page.EnabledServicePrincipals {
			out = append(out, aws.ToString(s.ServicePrincipal))
		}
	}
	return out, nil
}

func delegatedAdmins(ctx context.Context, c *organizations.Client) ([]string, error) {
	var out []string
	pg := organizations.NewListDelegatedAdministratorsPaginator(c, &organizations.ListDelegatedAdministratorsInput{
		ServicePrincipal: aws.String(StackSetsServicePrincipal)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list StackSets delegated administrators: %w", err)
		}
		for _, a := range page.DelegatedAdministrators {
			out = append(out, aws.ToString(a.Id))
		}
	}
	return out, nil
}
