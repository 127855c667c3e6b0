package org

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// Organization is the organization as one read saw it: its OU tree, its
// accounts, its root-access setup and the SCPs that deny the root user.
// Every command that needs the organization reads it with Read and asks
// this value; nothing else walks the OU tree.
type Organization struct {
	ID                  string
	ManagementAccountID string
	FeatureSet          string // ALL or CONSOLIDATED_BILLING
	RootID              string
	// Accounts are every account, sorted by id (read with Accounts).
	Accounts []*Account
	// OUs maps OU ids (and the root id) to the OU.
	OUs map[string]*OU
	// The root-access setup (read with Setup): the features IAM reports,
	// whether IAM has trusted access, IAM's delegated administrators.
	EnabledFeatures  []string
	IAMTrustedAccess bool
	DelegatedAdmins  []string
	// Problems are the parts of the setup and SCPs that could not be read:
	// the tree and accounts must be read, the rest is best effort.
	Problems []string

	byID       map[string]*Account
	scpTargets map[string][]RootDenySCP // target id -> root-deny SCPs attached to it
	scpsRead   bool
}

// Account is an account of the organization and where it sits.
type Account struct {
	ID     string
	Name   string
	Email  string
	State  string // ACTIVE, SUSPENDED, PENDING_CLOSURE (Status before State existed)
	Parent string // the OU or root id directly above it
	OUPath string // Root/Workloads/Prod
	// Ancestors are the ids from the root down to its parent.
	Ancestors []string
}

// OU is an organizational unit, or the root.
type OU struct {
	ID     string
	Name   string
	Path   string // Root/Workloads/Prod; "Root" for the root
	Parent string // "" for the root
}

// Part is what Read reads beyond the OU tree.
type Part uint8

// The parts.
const (
	Accounts Part = 1 << iota // every account and where it sits
	Setup                     // root-access features, trusted access, delegated admins
	SCPs                      // the SCPs that deny the root user and their targets
	All      = Accounts | Setup | SCPs
)

// Read reads the organization once: DescribeOrganization, the OU tree
// (every OU's children listed as soon as the OU is known, eight lists at
// a time), and the parts asked for. A setup or SCP read that fails is
// recorded in Problems; the tree and accounts must be read.
func Read(ctx context.Context, c Clients, parts Part) (*Organization, error) {
	return ReadEach(ctx, c, parts, nil)
}

// Found is called with each account as soon as it is listed (with
// management set for the organization's management account), before the
// rest of the organization is read: a command can start on an account
// while the tree is still being walked. It is called from one goroutine
// at a time and must not block.
type Found func(a *Account, management bool)

// ReadEach is Read that hands each account to found as soon as it is
// listed (when parts include Accounts).
func ReadEach(ctx context.Context, c Clients, parts Part, found Found) (*Organization, error) {
	d, err := c.Org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return nil, fmt.Errorf("org: describe organization: %w", err)
	}
	o := &Organization{
		ID: aws.ToString(d.Organization.Id), ManagementAccountID: aws.ToString(d.Organization.MasterAccountId),
		FeatureSet: string(d.Organization.FeatureSet), OUs: map[string]*OU{}, byID: map[string]*Account{},
	}
	// The setup and the SCPs do not depend on the tree: read them
	// meanwhile.
	var side sync.WaitGroup
	var setupProblems, scpProblems []string
	if parts&Setup != 0 {
		side.Go(func() { setupProblems = o.readSetup(ctx, c) })
	}
	var targets map[string][]RootDenySCP
	if parts&SCPs != 0 {
		side.Go(func() {
			var err error
			if targets, err = readSCPs(ctx, c.Org); err != nil {
				scpProblems = append(scpProblems, err.Error())
			}
		})
	}
	err = o.readTree(ctx, c.Org, parts&Accounts != 0, found)
	side.Wait()
	if err != nil {
		return nil, err
	}
	o.Problems = append(setupProblems, scpProblems...)
	if targets != nil {
		o.scpTargets, o.scpsRead = targets, true
	}
	return o, nil
}

// readTree walks the OU tree: each OU's children are listed as soon as
// the OU is known (a large organization is wide, not deep), at most
// eight lists at a time.
func (o *Organization) readTree(ctx context.Context, c *organizations.Client, accounts bool, found Found) error {
	roots, err := c.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		return fmt.Errorf("org: list roots: %w", err)
	}
	if len(roots.Roots) == 0 {
		return errors.New("org: list roots: the organization has no root")
	}
	o.RootID = aws.ToString(roots.Roots[0].Id)
	root := &OU{ID: o.RootID, Name: "Root", Path: "Root"}
	o.OUs[root.ID] = root

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, 8)
	var visit func(n *OU)
	visit = func(n *OU) {
		defer wg.Done()
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		ch := listChildren(ctx, c, n, accounts)
		<-sem
		mu.Lock()
		defer mu.Unlock()
		if ch.err != nil {
			if firstErr == nil {
				firstErr = ch.err
				cancel()
			}
			return
		}
		for _, ou := range ch.ous {
			o.OUs[ou.ID] = ou
			wg.Add(1)
			go visit(ou)
		}
		for _, a := range ch.accounts {
			a.Ancestors = o.Chain(a.Parent)
			slices.Reverse(a.Ancestors)
			o.Accounts = append(o.Accounts, a)
			o.byID[a.ID] = a
			if found != nil {
				found(a, a.ID == o.ManagementAccountID)
			}
		}
	}
	wg.Add(1)
	go visit(root)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("org: list the OU tree: %w", err)
	}
	slices.SortFunc(o.Accounts, func(a, b *Account) int { return strings.Compare(a.ID, b.ID) })
	return nil
}

type children struct {
	ous      []*OU
	accounts []*Account
	err      error
}

// listChildren lists the OUs (and, if asked, the accounts) directly under n.
// maxPage is the largest page the Organizations list operations return
// (MaxResults 1 to 20, AWS Organizations API Reference): pages follow one
// another, so fewer pages are a shorter walk.
const maxPage = 20

func listChildren(ctx context.Context, c *organizations.Client, n *OU, accounts bool) children {
	var out children
	ous := organizations.NewListOrganizationalUnitsForParentPaginator(c, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(n.ID), MaxResults: aws.Int32(maxPage)})
	for ous.HasMorePages() {
		page, err := ous.NextPage(ctx)
		if err != nil {
			out.err = fmt.Errorf("org: list OUs under %s: %w", n.Path, err)
			return out
		}
		for _, ou := range page.OrganizationalUnits {
			name := aws.ToString(ou.Name)
			out.ous = append(out.ous, &OU{ID: aws.ToString(ou.Id), Name: name, Path: n.Path + "/" + name, Parent: n.ID})
		}
	}
	if !accounts {
		return out
	}
	accts := organizations.NewListAccountsForParentPaginator(c, &organizations.ListAccountsForParentInput{ParentId: aws.String(n.ID), MaxResults: aws.Int32(maxPage)})
	for accts.HasMorePages() {
		page, err := accts.NextPage(ctx)
		if err != nil {
			out.err = fmt.Errorf("org: list accounts under %s: %w", n.Path, err)
			return out
		}
		for _, a := range page.Accounts {
			out.accounts = append(out.accounts, &Account{ID: aws.ToString(a.Id), Name: aws.ToString(a.Name),
				Email: aws.ToString(a.Email), State: accountState(a), Parent: n.ID, OUPath: n.Path})
		}
	}
	return out
}

// accountState reads State, falling back to the retired Status.
func accountState(a orgtypes.Account) string {
	if a.State != "" {
		return string(a.State)
	}
	return string(a.Status)
}

// readSetup reads the root-access setup and returns what failed.
func (o *Organization) readSetup(ctx context.Context, c Clients) (problems []string) {
	accessRead := true
	access := organizations.NewListAWSServiceAccessForOrganizationPaginator(c.Org, &organizations.ListAWSServiceAccessForOrganizationInput{})
	for access.HasMorePages() {
		page, err := access.NextPage(ctx)
		if err != nil {
			problems = append(problems, fmt.Sprintf("list trusted access: %v", err))
			accessRead = false
			break
		}
		for _, s := range page.EnabledServicePrincipals {
			if aws.ToString(s.ServicePrincipal) == IAMServicePrincipal {
				o.IAMTrustedAccess = true
			}
		}
	}
	admins := organizations.NewListDelegatedAdministratorsPaginator(c.Org, &organizations.ListDelegatedAdministratorsInput{ServicePrincipal: aws.String(IAMServicePrincipal)})
	for admins.HasMorePages() {
		page, err := admins.NextPage(ctx)
		if err != nil {
			problems = append(problems, fmt.Sprintf("list delegated administrators: %v", err))
			break
		}
		for _, a := range page.DelegatedAdministrators {
			o.DelegatedAdmins = append(o.DelegatedAdmins, aws.ToString(a.Id))
		}
	}
	if !o.IAMTrustedAccess && accessRead {
		return problems // the features need trusted access for IAM: none is on
	}
	if f, err := c.IAM.ListOrganizationsFeatures(ctx, &iam.ListOrganizationsFeaturesInput{}); err != nil {
		problems = append(problems, fmt.Sprintf("list organizations features: %v", err))
	} else {
		for _, e := range f.EnabledFeatures {
			o.EnabledFeatures = append(o.EnabledFeatures, string(e))
		}
	}
	return problems
}

// ReadSCPs (re)reads the service control policies that deny the root user
// and where they are attached: a handful of calls whatever the account
// count. Read calls it for SCPs; call it again to see an account created
// since.
func (o *Organization) ReadSCPs(ctx context.Context, c *organizations.Client) error {
	targets, err := readSCPs(ctx, c)
	if err != nil {
		return err
	}
	o.scpTargets, o.scpsRead = targets, true
	return nil
}

// readSCPs reads the root-deny SCPs by the target they are attached to.
func readSCPs(ctx context.Context, c *organizations.Client) (map[string][]RootDenySCP, error) {
	targets := map[string][]RootDenySCP{}
	pols := organizations.NewListPoliciesPaginator(c, &organizations.ListPoliciesInput{Filter: orgtypes.PolicyTypeServiceControlPolicy})
	for pols.HasMorePages() {
		page, err := pols.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list SCPs: %w", err)
		}
		for _, p := range page.Policies {
			id := aws.ToString(p.Id)
			d, err := c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(id)})
			if err != nil {
				return nil, fmt.Errorf("describe SCP %s: %w", id, err)
			}
			denies, exempts, err := AnalyzeSCP(aws.ToString(d.Policy.Content))
			if err != nil {
				return nil, fmt.Errorf("SCP %s: %w", id, err)
			}
			if !denies {
				continue
			}
			tp := organizations.NewListTargetsForPolicyPaginator(c, &organizations.ListTargetsForPolicyInput{PolicyId: aws.String(id)})
			for tp.HasMorePages() {
				page, err := tp.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("list targets of SCP %s: %w", id, err)
				}
				for _, tg := range page.Targets {
					tid := aws.ToString(tg.TargetId)
					targets[tid] = append(targets[tid], RootDenySCP{ID: id, Name: aws.ToString(p.Name), Target: aws.ToString(tg.Name), ExemptsRootSessions: exempts})
				}
			}
		}
	}
	return targets, nil
}

// Account returns an account by id, or nil.
func (o *Organization) Account(id string) *Account { return o.byID[id] }

// Chain lists an id (an account, OU or the root) and the ids above it,
// up to the root: the targets whose SCPs apply to it.
func (o *Organization) Chain(id string) []string {
	var out []string
	for seen := 0; id != "" && seen < 12; seen++ {
		out = append(out, id)
		switch {
		case o.byID[id] != nil:
			id = o.byID[id].Parent
		case o.OUs[id] != nil:
			id = o.OUs[id].Parent
		default:
			id = ""
		}
	}
	return out
}

// Paths maps OU ids (and the root id) to their paths.
func (o *Organization) Paths() map[string]string {
	out := make(map[string]string, len(o.OUs))
	for id, ou := range o.OUs {
		out[id] = ou.Path
	}
	return out
}

// FindOU resolves an OU (or the root) given by id or by path: a path may
// leave out the leading "Root/" and is matched without regard to case.
func (o *Organization) FindOU(s string) (*OU, bool) {
	if ou, ok := o.OUs[s]; ok {
		return ou, true
	}
	want := strings.Trim(s, "/")
	if !strings.EqualFold(want, "Root") && !strings.HasPrefix(strings.ToLower(want), "root/") {
		want = "Root/" + want
	}
	for _, ou := range o.OUs {
		if strings.EqualFold(ou.Path, want) {
			return ou, true
		}
	}
	return nil, false
}

// RootDenySCPs lists the root-deny SCPs that apply to the targets given
// (an account or OU and the ids above it, as Chain gives them), each
// naming where it is attached as "name (id)" (an OU by its name, the
// root as Root). Targets the organization
// does not know yet (an account created since Read) are looked up too.
// It is nil when the SCPs were not read.
func (o *Organization) RootDenySCPs(targets ...string) []RootDenySCP {
	var out []RootDenySCP
	for _, id := range targets {
		for _, p := range o.scpTargets[id] {
			p.Target, p.TargetID = o.targetName(id, p.Target), id
			out = append(out, p)
		}
	}
	return out
}

// SCPsRead reports whether the root-deny SCPs were read.
func (o *Organization) SCPsRead() bool { return o.scpsRead }

func (o *Organization) targetName(id, listed string) string {
	switch {
	case o.OUs[id] != nil:
		return o.OUs[id].Name + " (" + id + ")"
	case o.byID[id] != nil:
		return o.byID[id].Name + " (" + id + ")"
	case listed != "":
		return listed + " (" + id + ")"
	}
	return id
}
