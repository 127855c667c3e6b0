package org

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// IAMServicePrincipal is IAM's service principal in Organizations.
const IAMServicePrincipal = "iam.amazonaws.com"

// Status is the organization's root-access setup.
type Status struct {
	OrganizationID      string   `json:"organizationId"`
	ManagementAccountID string   `json:"managementAccountId"`
	CallerAccountID     string   `json:"callerAccountId"`
	CallerARN           string   `json:"callerArn"`
	FeatureSet          string   `json:"featureSet"`
	IAMTrustedAccess    bool     `json:"iamTrustedAccess"`
	DelegatedAdmins     []string `json:"iamDelegatedAdministrators"`
	EnabledFeatures     []string `json:"enabledFeatures"`
	// BlockingSCPs are root-deny SCPs without the aws:AssumedRoot exemption:
	// every root session in the accounts below them fails.
	BlockingSCPs []SCP    `json:"blockingScps"`
	Warnings     []string `json:"warnings"`
}

// SCP is a root-deny service control policy and where it is attached.
type SCP struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Targets []string `json:"targets"`
}

// Enabled reports whether a root-access feature is on.
func (s *Status) Enabled(feature string) bool { return slices.Contains(s.EnabledFeatures, feature) }

// Clients are the AWS clients the package uses.
type Clients struct {
	Org *organizations.Client
	IAM *iam.Client
	STS *sts.Client
	// CFN is used only by Enable with StackSets.
	CFN *cloudformation.Client
}

// NewClients builds the clients from a configuration loaded the SDK's way:
// Organizations and IAM paced (NewOrganizations, NewIAM), since a read
// walks the whole OU tree; STS and CloudFormation, a call or two per run,
// with the SDK's standard retryer.
func NewClients(cfg aws.Config) Clients {
	return Clients{Org: NewOrganizations(cfg), IAM: NewIAM(cfg), STS: sts.NewFromConfig(cfg),
		CFN: cloudformation.NewFromConfig(cfg)}
}

// ReadStatus reads the setup. Reading the root-access features needs
// trusted access for IAM; without it they are reported as not enabled.
func ReadStatus(ctx context.Context, c Clients) (*Status, error) {
	st, err := identify(ctx, c)
	if err != nil {
		return nil, err
	}
	if st.CallerAccountID != st.ManagementAccountID {
		st.Warnings = append(st.Warnings, fmt.Sprintf("running from account %s, not the management account %s: only the management account can change this setup", st.CallerAccountID, st.ManagementAccountID))
	}
	o, err := Read(ctx, c, Setup|SCPs)
	if err != nil {
		return nil, err
	}
	if len(o.Problems) > 0 {
		return nil, fmt.Errorf("org: %s", strings.Join(o.Problems, "; "))
	}
	st.IAMTrustedAccess, st.DelegatedAdmins, st.EnabledFeatures = o.IAMTrustedAccess, o.DelegatedAdmins, o.EnabledFeatures
	st.BlockingSCPs = o.blockingSCPs()
	for _, p := range st.BlockingSCPs {
		st.Warnings = append(st.Warnings, fmt.Sprintf("SCP %s (%s) on %v denies the root user without exempting aws:AssumedRoot: every root session below it will fail; add a condition such as \"Null\": {\"aws:AssumedRoot\": \"true\"}", p.ID, p.Name, p.Targets))
	}
	return st, nil
}

// identify reads who the caller is and which organization it is in:
// calls any member account may make.
func identify(ctx context.Context, c Clients) (*Status, error) {
	st := &Status{}
	id, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, fmt.Errorf("org: who am I: %w", err)
	}
	st.CallerAccountID, st.CallerARN = aws.ToString(id.Account), aws.ToString(id.Arn)
	d, err := c.Org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return nil, fmt.Errorf("org: describe organization: %w", err)
	}
	st.OrganizationID = aws.ToString(d.Organization.Id)
	st.ManagementAccountID = aws.ToString(d.Organization.MasterAccountId)
	st.FeatureSet = string(d.Organization.FeatureSet)
	return st, nil
}

// blockingSCPs are the root-deny SCPs without the aws:AssumedRoot
// exemption, each with every target it is attached to.
func (o *Organization) blockingSCPs() []SCP {
	var out []SCP
	byID := map[string]int{}
	ids := make([]string, 0, len(o.scpTargets))
	for id := range o.scpTargets {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, tid := range ids {
		for _, p := range o.RootDenySCPs(tid) {
			if p.ExemptsRootSessions {
				continue
			}
			i, ok := byID[p.ID]
			if !ok {
				i = len(out)
				byID[p.ID] = i
				out = append(out, SCP{ID: p.ID, Name: p.Name})
			}
			out[i].Targets = append(out[i].Targets, p.Target)
		}
	}
	return out
}

// StepState is what happened to one step of enabling.
type StepState string

// The states.
const (
	AlreadyDone StepState = "already-done"
	WouldDo     StepState = "would-do" // dry run
	Done        StepState = "done"
	Failed      StepState = "failed"
	Skipped     StepState = "skipped" // an earlier step failed
)

// Step is one step of enabling centralized root access.
type Step struct {
	Name  string    `json:"step"`
	State StepState `json:"state"`
	// Detail explains the state; for a failure, what to do about it.
	Detail string `json:"detail,omitempty"`
}

// EnableOptions choose what Enable does.
type EnableOptions struct {
	// DelegatedAdmin, if set, registers this member account as IAM's
	// delegated administrator (it can then run root sessions too).
	DelegatedAdmin string
	// StackSets also activates CloudFormation StackSets' trusted access
	// with Organizations, which `rootguard deploy`'s service-managed
	// member StackSet needs.
	StackSets bool
	// Apply makes the changes; without it Enable only says what it would do.
	Apply bool
}

// ErrNotAllFeatures and ErrNotManagement explain why enabling cannot start.
var (
	ErrNotAllFeatures = errors.New("the organization is not in all-features mode: enable all features in AWS Organizations first (consolidated-billing organizations cannot use centralized root access)")
	ErrNotManagement  = errors.New("only the management account can enable centralized root access: run with the management account's credentials")
	// ErrBadDelegatedAdmin is returned, wrapped with the reason, when
	// EnableOptions.DelegatedAdmin cannot be registered; nothing has been
	// changed when it is returned.
	ErrBadDelegatedAdmin = errors.New("--delegated-admin")
)

// checkDelegatedAdmin refuses, before any step, a delegated administrator
// that cannot be registered: an id that is not 12 digits, the management
// account, an account the organization does not have, or one that is not
// ACTIVE.
func checkDelegatedAdmin(ctx context.Context, c Clients, id, management string) error {
	bad := func(why string) error {
		return fmt.Errorf("org: %w %s: %s; nothing was changed", ErrBadDelegatedAdmin, id, why)
	}
	if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
		return bad("not a 12-digit account id")
	}
	if id == management {
		return bad("the management account cannot be its own delegated administrator: name a member account")
	}
	a, err := c.Org.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(id)})
	var nf *orgtypes.AccountNotFoundException
	if errors.As(err, &nf) {
		return bad("not in the organization")
	}
	if err != nil {
		return fmt.Errorf("org: describe account %s: %w", id, err)
	}
	state := string(a.Account.State)
	if state == "" {
		state = string(a.Account.Status)
	}
	if state != "" && state != "ACTIVE" {
		return bad("the account is " + state + ", not ACTIVE")
	}
	return nil
}

// Enable turns on centralized root access step by step: trusted access
// for IAM, the delegated administrator if asked, root credentials
// management, root sessions, and StackSets' trusted access if asked. Each step is skipped when already done, so
// running it again changes nothing.
func Enable(ctx context.Context, c Clients, opts EnableOptions) ([]Step, error) {
	who, err := identify(ctx, c)
	if err != nil {
		return nil, err
	}
	if who.FeatureSet != string(orgtypes.OrganizationFeatureSetAll) {
		return nil, ErrNotAllFeatures
	}
	if who.CallerAccountID != who.ManagementAccountID {
		return nil, ErrNotManagement
	}
	st, err := ReadStatus(ctx, c)
	if err != nil {
		return nil, err
	}
	if opts.DelegatedAdmin != "" {
		if err := checkDelegatedAdmin(ctx, c, opts.DelegatedAdmin, st.ManagementAccountID); err != nil {
			return nil, err
		}
	}
	type plan struct {
		name  string
		done  bool
		apply func() error
	}
	steps := []plan{
		{"enable trusted access for iam.amazonaws.com", st.IAMTrustedAccess, func() error {
			_, err := c.Org.EnableAWSServiceAccess(ctx, &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(IAMServicePrincipal)})
			return err
		}},
	}
	if opts.DelegatedAdmin != "" {
		steps = append(steps, plan{"register " + opts.DelegatedAdmin + " as IAM delegated administrator", slices.Contains(st.DelegatedAdmins, opts.DelegatedAdmin), func() error {
			_, err := c.Org.RegisterDelegatedAdministrator(ctx, &organizations.RegisterDelegatedAdministratorInput{
				AccountId: aws.String(opts.DelegatedAdmin), ServicePrincipal: aws.String(IAMServicePrincipal)})
			return err
		}})
	}
	steps = append(steps,
		plan{"enable root credentials management", st.Enabled(string(iamtypes.FeatureTypeRootCredentialsManagement)), func() error {
			_, err := c.IAM.EnableOrganizationsRootCredentialsManagement(ctx, &iam.EnableOrganizationsRootCredentialsManagementInput{})
			return err
		}},
		plan{"enable root sessions", st.Enabled(string(iamtypes.FeatureTypeRootSessions)), func() error {
			_, err := c.IAM.EnableOrganizationsRootSessions(ctx, &iam.EnableOrganizationsRootSessionsInput{})
			return err
		}},
	)
	if opts.StackSets {
		acc, err := c.CFN.DescribeOrganizationsAccess(ctx, &cloudformation.DescribeOrganizationsAccessInput{})
		if err != nil {
			return nil, fmt.Errorf("org: read StackSets trusted access (cloudformation:DescribeOrganizationsAccess): %w", err)
		}
		steps = append(steps, plan{"activate StackSets trusted access (for rootguard deploy)", acc.Status == cfntypes.OrganizationStatusEnabled, func() error {
			_, err := c.CFN.ActivateOrganizationsAccess(ctx, &cloudformation.ActivateOrganizationsAccessInput{})
			return err
		}})
	}
	var out []Step
	failed := false
	for _, p := range steps {
		switch {
		case failed:
			out = append(out, Step{p.name, Skipped, "an earlier step failed"})
		case p.done:
			out = append(out, Step{p.name, AlreadyDone, ""})
		case !opts.Apply:
			out = append(out, Step{p.name, WouldDo, ""})
		default:
			if err := p.apply(); err != nil {
				failed = true
				out = append(out, Step{p.name, Failed, explain(err)})
				continue
			}
			out = append(out, Step{p.name, Done, ""})
		}
	}
	if failed {
		return out, errors.New("org: enabling centralized root access did not finish (see the failed step)")
	}
	return out, nil
}

// explain turns an AWS error into advice.
func explain(err error) string {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err.Error()
	}
	switch ae.ErrorCode() {
	case "ServiceAccessNotEnabledException":
		return "trusted access for IAM is not enabled in Organizations: " + ae.ErrorMessage()
	case "CallerIsNotManagementAccountException", "AccessDeniedException", "AccessDenied":
		return "not allowed: run from the management account with permission for this call (" + ae.ErrorCode() + ": " + ae.ErrorMessage() + ")"
	case "AccountNotFoundException":
		return "no such account in the organization: " + ae.ErrorMessage()
	case "ConstraintViolationException":
		return "Organizations refused: " + ae.ErrorMessage()
	}
	return ae.ErrorCode() + ": " + ae.ErrorMessage()
}
