package awssim

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// TestOrganizationsReads checks every Organizations read against
// testdata/scenario.yaml.
func TestOrganizationsReads(t *testing.T) {
	e := newEnv(t, nil, Options{})
	ctx := t.Context()
	o := e.mgmt.orgs

	t.Run("DescribeOrganization", func(t *testing.T) {
		out, err := o.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
		if err != nil {
			t.Fatal(err)
		}
		org := out.Organization
		if *org.Id != exOrgID || *org.Arn != "arn:aws:organizations::111111111111:organization/o-exampleorg1" ||
			org.FeatureSet != orgtypes.OrganizationFeatureSetAll || *org.MasterAccountId != exMgmt ||
			*org.MasterAccountEmail != "aws-management@example.com" ||
			*org.MasterAccountArn != "arn:aws:organizations::111111111111:account/o-exampleorg1/111111111111" {
			t.Errorf("organization %+v", org)
		}
	})
	t.Run("ListRoots", func(t *testing.T) {
		out, err := o.ListRoots(ctx, &organizations.ListRootsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Roots) != 1 || *out.Roots[0].Id != exRootID || *out.Roots[0].Name != "Root" ||
			*out.Roots[0].Arn != "arn:aws:organizations::111111111111:root/o-exampleorg1/r-ex12" || out.NextToken != nil {
			t.Errorf("roots %+v", out.Roots)
		}
	})
	t.Run("ListOrganizationalUnitsForParent", func(t *testing.T) {
		for parent, want := range map[string][]string{
			exRootID:           {"Security", "Workloads", "Sandbox", "Suspended"},
			"ou-ex12-workload": {"Prod"},
			"ou-ex12-prod0001": {"EU"},
			"ou-ex12-eu000001": nil,
		} {
			out, err := o.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ou := range out.OrganizationalUnits {
				got = append(got, *ou.Name)
				if !strings.HasPrefix(*ou.Arn, "arn:aws:organizations::111111111111:ou/o-exampleorg1/ou-ex12-") {
					t.Errorf("OU ARN %s", *ou.Arn)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("children of %s: %v, want %v", parent, got, want)
			}
		}
	})
	t.Run("ListAccountsForParent", func(t *testing.T) {
		out, err := o.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String("ou-ex12-suspend1")})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range out.Accounts {
			got = append(got, *a.Id+"/"+string(a.State)+"/"+string(a.Status))
		}
		if want := []string{"666666666666/SUSPENDED/SUSPENDED", "777777777777/CLOSED/SUSPENDED"}; !slices.Equal(got, want) {
			t.Errorf("accounts %v, want %v", got, want)
		}
		out, err = o.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String(exRootID)})
		if err != nil || len(out.Accounts) != 2 || *out.Accounts[0].Id != exMgmt || *out.Accounts[1].Id != exInvited {
			t.Errorf("accounts under the root: %+v, %v", out, err)
		}
	})
	t.Run("ListParents", func(t *testing.T) {
		for child, want := range map[string]string{
			exProdEU:           "ou-ex12-eu000001/ORGANIZATIONAL_UNIT",
			exMgmt:             "r-ex12/ROOT",
			"ou-ex12-workload": "r-ex12/ROOT",
			"ou-ex12-eu000001": "ou-ex12-prod0001/ORGANIZATIONAL_UNIT",
		} {
			out, err := o.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(child)})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Parents) != 1 || *out.Parents[0].Id+"/"+string(out.Parents[0].Type) != want {
				t.Errorf("parents of %s: %+v, want %s", child, out.Parents, want)
			}
		}
	})
	t.Run("DescribeAccount", func(t *testing.T) {
		out, err := o.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(exInvited)})
		if err != nil {
			t.Fatal(err)
		}
		a := out.Account
		if *a.Name != "invited" || *a.Email != "aws-invited@example.com" || a.JoinedMethod != orgtypes.AccountJoinedMethodInvited ||
			!a.JoinedTimestamp.Equal(date("2023-09-01T00:00:00Z")) || a.State != orgtypes.AccountStateActive || a.Status != orgtypes.AccountStatusActive ||
			*a.Arn != "arn:aws:organizations::111111111111:account/o-exampleorg1/888888888888" {
			t.Errorf("account %+v", a)
		}
	})
	t.Run("ListAWSServiceAccessForOrganization", func(t *testing.T) {
		out, err := o.ListAWSServiceAccessForOrganization(ctx, &organizations.ListAWSServiceAccessForOrganizationInput{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, sp := range out.EnabledServicePrincipals {
			got = append(got, *sp.ServicePrincipal)
			if sp.DateEnabled == nil {
				t.Errorf("%s has no DateEnabled", *sp.ServicePrincipal)
			}
		}
		if !slices.Equal(got, []string{"iam.amazonaws.com", "sso.amazonaws.com"}) {
			t.Errorf("trusted access %v", got)
		}
	})
	t.Run("ListDelegatedAdministrators", func(t *testing.T) {
		out, err := o.ListDelegatedAdministrators(ctx, &organizations.ListDelegatedAdministratorsInput{ServicePrincipal: aws.String("iam.amazonaws.com")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.DelegatedAdministrators) != 1 || *out.DelegatedAdministrators[0].Id != exSecurity ||
			!out.DelegatedAdministrators[0].DelegationEnabledDate.Equal(date("2025-11-20T00:00:00Z")) ||
			out.DelegatedAdministrators[0].State != orgtypes.AccountStateActive {
			t.Errorf("delegated administrators %+v", out.DelegatedAdministrators)
		}
		out, err = o.ListDelegatedAdministrators(ctx, &organizations.ListDelegatedAdministratorsInput{ServicePrincipal: aws.String("sso.amazonaws.com")})
		if err != nil || len(out.DelegatedAdministrators) != 0 {
			t.Errorf("for sso: %+v, %v", out, err)
		}
	})
	t.Run("ListPoliciesForTarget", func(t *testing.T) {
		for target, want := range map[string][]string{
			"ou-ex12-workload": {"p-FullAWSAccess", "p-denyrootexempt"},
			"ou-ex12-sandbox1": {"p-FullAWSAccess", "p-denyroot01"},
			exProd:             {"p-FullAWSAccess"},
		} {
			out, err := o.ListPoliciesForTarget(ctx, &organizations.ListPoliciesForTargetInput{TargetId: aws.String(target), Filter: orgtypes.PolicyTypeServiceControlPolicy})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range out.Policies {
				got = append(got, *p.Id)
				if p.Type != orgtypes.PolicyTypeServiceControlPolicy || p.AwsManaged != (*p.Id == "p-FullAWSAccess") {
					t.Errorf("policy %+v", p)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("policies on %s: %v, want %v", target, got, want)
			}
		}
		out, err := o.ListPoliciesForTarget(ctx, &organizations.ListPoliciesForTargetInput{TargetId: aws.String(exProd), Filter: orgtypes.PolicyTypeTagPolicy})
		if err != nil || len(out.Policies) != 0 {
			t.Errorf("tag policies %+v, %v", out, err)
		}
	})
	t.Run("DescribePolicy", func(t *testing.T) {
		out, err := o.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String("p-denyroot01")})
		if err != nil {
			t.Fatal(err)
		}
		if *out.Policy.PolicySummary.Name != "DenyRootUser" || !strings.Contains(*out.Policy.Content, `"arn:aws:iam::*:root"`) {
			t.Errorf("policy %+v content %s", out.Policy.PolicySummary, *out.Policy.Content)
		}
		out, err = o.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String("p-FullAWSAccess")})
		if err != nil || !out.Policy.PolicySummary.AwsManaged {
			t.Errorf("FullAWSAccess %+v, %v", out, err)
		}
	})
}

// TestOrganizationsPagination walks a generated organization with the
// SDK's paginators and checks MaxResults and NextToken validation.
func TestOrganizationsPagination(t *testing.T) {
	sc := GenerateScenario(45, 7)
	e := newEnv(t, sc, Options{})
	ctx := t.Context()
	o := e.mgmt.orgs

	for _, limit := range []int32{0, 20, 7} {
		var ids []string
		pages := 0
		p := organizations.NewListAccountsPaginator(o, &organizations.ListAccountsInput{}, func(po *organizations.ListAccountsPaginatorOptions) {
			po.Limit = limit
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, a := range out.Accounts {
				ids = append(ids, *a.Id)
			}
		}
		size := int(limit)
		if size == 0 {
			size = 10
		}
		if len(ids) != 45 || pages != (45+size-1)/size {
			t.Errorf("limit %d: %d accounts in %d pages", limit, len(ids), pages)
		}
		for i, a := range sc.Accounts {
			if ids[i] != a.ID {
				t.Fatalf("limit %d: account %d is %s, want %s", limit, i, ids[i], a.ID)
			}
		}
	}

	var ous []string
	op := organizations.NewListOrganizationalUnitsForParentPaginator(o,
		&organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(sc.Organization.RootID)},
		func(po *organizations.ListOrganizationalUnitsForParentPaginatorOptions) { po.Limit = 2 })
	for op.HasMorePages() {
		out, err := op.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ou := range out.OrganizationalUnits {
			ous = append(ous, *ou.Name)
		}
	}
	if !slices.Equal(ous, []string{"Security", "Infrastructure", "Workloads", "Sandbox", "Suspended"}) {
		t.Errorf("top-level OUs %v", ous)
	}

	_, err := o.ListAccounts(ctx, &organizations.ListAccountsInput{MaxResults: aws.Int32(21)})
	var invalid *orgtypes.InvalidInputException
	if !errors.As(err, &invalid) || invalid.Reason != orgtypes.InvalidInputExceptionReasonMaxValueExceeded {
		t.Errorf("MaxResults 21: err = %v", err)
	}
	_, err = o.ListAccounts(ctx, &organizations.ListAccountsInput{NextToken: aws.String("bogus")})
	if !errors.As(err, &invalid) || invalid.Reason != orgtypes.InvalidInputExceptionReasonInvalidPaginationToken {
		t.Errorf("bad NextToken: err = %v", err)
	}
	first, err := o.ListAccounts(ctx, &organizations.ListAccountsInput{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = o.ListRoots(ctx, &organizations.ListRootsInput{NextToken: first.NextToken})
	if !errors.As(err, &invalid) {
		t.Errorf("another operation's NextToken: err = %v", err)
	}
}

// TestOrganizationsErrors: unknown ids give each operation's modelled
// not-found exception; a member account that is no delegated administrator
// may only describe the organization (TestOrgsCallers covers every
// operation and caller).
func TestOrganizationsErrors(t *testing.T) {
	e := newEnv(t, nil, Options{})
	ctx := t.Context()
	o := e.mgmt.orgs
	member := e.assumeRole(exProd).orgs
	tests := []struct {
		name   string
		call   func() error
		want   any
		status int // the SDK model's httpError trait of the shape
	}{
		{"DescribeAccount", func() error {
			_, err := o.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("999999999999")})
			return err
		}, new(*orgtypes.AccountNotFoundException), 404},
		{"ListParents", func() error {
			_, err := o.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String("999999999999")})
			return err
		}, new(*orgtypes.ChildNotFoundException), 404},
		{"ListAccountsForParent", func() error {
			_, err := o.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String("ou-ex12-nothere1")})
			return err
		}, new(*orgtypes.ParentNotFoundException), 404},
		{"ListOrganizationalUnitsForParent", func() error {
			_, err := o.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(exProd)})
			return err
		}, new(*orgtypes.ParentNotFoundException), 404},
		{"ListPoliciesForTarget", func() error {
			_, err := o.ListPoliciesForTarget(ctx, &organizations.ListPoliciesForTargetInput{TargetId: aws.String("ou-ex12-nothere1"), Filter: orgtypes.PolicyTypeServiceControlPolicy})
			return err
		}, new(*orgtypes.TargetNotFoundException), 404},
		{"DescribePolicy", func() error {
			_, err := o.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String("p-nothere00")})
			return err
		}, new(*orgtypes.PolicyNotFoundException), 404},
		{"member ListAccounts", func() error {
			_, err := member.ListAccounts(ctx, &organizations.ListAccountsInput{})
			return err
		}, new(*orgtypes.AccessDeniedException), 403},
		{"member DescribeAccount", func() error {
			_, err := member.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(exProd)})
			return err
		}, new(*orgtypes.AccessDeniedException), 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.As(err, tt.want) {
				t.Fatalf("err = %v, want %T", err, tt.want)
			}
			if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("StatusCode: %d", tt.status)) {
				t.Errorf("err %v: want HTTP %d", err, tt.status)
			}
		})
	}
	out, err := member.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil || *out.Organization.MasterAccountId != exMgmt {
		t.Errorf("member DescribeOrganization: %+v, %v", out, err)
	}
}

func TestPolicyListsAndTargets(t *testing.T) {
	e := newEnv(t, nil, Options{})
	ctx := t.Context()
	o := e.mgmt.orgs
	var ids []string
	p := organizations.NewListPoliciesPaginator(o, &organizations.ListPoliciesInput{Filter: orgtypes.PolicyTypeServiceControlPolicy}, func(po *organizations.ListPoliciesPaginatorOptions) { po.Limit = 1 })
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, pol := range page.Policies {
			ids = append(ids, *pol.Id)
		}
	}
	if strings.Join(ids, ",") != fullAWSAccessID+",p-denyroot01,p-denyrootexempt" {
		t.Errorf("policies = %v", ids)
	}
	for policy, want := range map[string]string{
		"p-denyrootexempt": "ou-ex12-workload:ORGANIZATIONAL_UNIT:Workloads",
		"p-denyroot01":     "ou-ex12-sandbox1:ORGANIZATIONAL_UNIT:Sandbox",
		fullAWSAccessID:    exRootID + ":ROOT:Root",
	} {
		out, err := o.ListTargetsForPolicy(ctx, &organizations.ListTargetsForPolicyInput{PolicyId: aws.String(policy)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tg := range out.Targets {
			got = append(got, *tg.TargetId+":"+string(tg.Type)+":"+*tg.Name)
		}
		if strings.Join(got, ",") != want {
			t.Errorf("targets of %s = %v, want %s", policy, got, want)
		}
	}
	_, err := o.ListTargetsForPolicy(ctx, &organizations.ListTargetsForPolicyInput{PolicyId: aws.String("p-nosuch")})
	var nf *orgtypes.PolicyNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("err = %v, want PolicyNotFoundException", err)
	}
}
