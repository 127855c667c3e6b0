package awssim

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

var orgsOps = map[string]handler{
	"DescribeOrganization":                describeOrganization,
	"ListRoots":                           listRoots,
	"ListOrganizationalUnitsForParent":    listOrganizationalUnitsForParent,
	"ListAccountsForParent":               listAccountsForParent,
	"ListAccounts":                        listAccounts,
	"ListParents":                         listParents,
	"DescribeAccount":                     describeAccount,
	"ListAWSServiceAccessForOrganization": listAWSServiceAccess,
	"ListDelegatedAdministrators":         listDelegatedAdministrators,
	"ListPoliciesForTarget":               listPoliciesForTarget,
	"DescribePolicy":                      describePolicy,
	"ListPolicies":                        listPolicies,
	"ListTargetsForPolicy":                listTargetsForPolicy,
	"EnableAWSServiceAccess":              enableAWSServiceAccess,
	"RegisterDelegatedAdministrator":      registerDelegatedAdministrator,
	"CreateAccount":                       createAccount,
	"DescribeCreateAccountStatus":         describeCreateAccountStatus,
	"ListCreateAccountStatus":             listCreateAccountStatus,
	"MoveAccount":                         moveAccount,
	"DescribeOrganizationalUnit":          describeOrganizationalUnit,
}

// orgsInput is every Organizations input member the server reads.
type orgsInput struct {
	NextToken        *string
	MaxResults       *int32
	ParentId         string
	ChildId          string
	AccountId        string
	ServicePrincipal string
	TargetId         string
	Filter           string
	PolicyId         string
}

func invalidInput(reason, format string, args ...any) *apiError {
	e := errf(http.StatusBadRequest, "InvalidInputException", format, args...)
	e.reason = reason
	return e
}

// constraintViolation is ConstraintViolationException with its Reason
// (a value of the SDK's ConstraintViolationExceptionReason, whose
// documentation says when AWS gives each); HTTP 409 as the model has it.
func constraintViolation(reason, format string, args ...any) *apiError {
	e := errf(http.StatusConflict, "ConstraintViolationException", format, args...)
	e.reason = reason
	return e
}

func orgsAccessDenied() *apiError {
	return errf(http.StatusForbidden, "AccessDeniedException", "You don't have permissions to access this resource.")
}

// orgsInput decodes the input and applies who may call the operation, as
// its documentation says (orgs_callers.go).
func (c *call) orgsInput() (*orgsInput, *apiError) {
	org := c.s.sc.Organization
	if org.ID == "" {
		return nil, errf(http.StatusNotFound, "AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
	}
	if !c.mayCallOrgs() {
		return nil, orgsAccessDenied()
	}
	var in orgsInput
	if len(c.body) > 0 {
		if err := json.Unmarshal(c.body, &in); err != nil {
			return nil, errf(http.StatusBadRequest, "SerializationException", "awssim: %v", err)
		}
	}
	return &in, nil
}

// orgsPage applies NextToken and MaxResults (1 to 20; Options.PageSize when
// absent) to n items.
func (c *call) orgsPage(in *orgsInput, n int) (start, end int, next *string, e *apiError) {
	size := c.s.opts.PageSize
	if size <= 0 {
		size = 10
	}
	if in.MaxResults != nil {
		size = int(*in.MaxResults)
		if size < 1 {
			return 0, 0, nil, invalidInput("MIN_VALUE_EXCEEDED", "You provided a value that is smaller than the minimum allowed: MaxResults %d is less than 1.", size)
		}
		if size > 20 {
			return 0, 0, nil, invalidInput("MAX_VALUE_EXCEEDED", "You provided a value that exceeds the maximum allowed: MaxResults %d is more than 20.", size)
		}
	}
	if in.NextToken != nil {
		start = decodeToken(c.op, *in.NextToken)
		if start < 0 || start > n {
			return 0, 0, nil, invalidInput("INVALID_NEXT_TOKEN", "The NextToken value is invalid.")
		}
	}
	end = min(n, start+size)
	if end < n {
		t := encodeToken(c.op, end)
		next = &t
	}
	return start, end, next, nil
}

func (s *Server) orgARN(kind, id string) string {
	org := s.sc.Organization
	return "arn:aws:organizations::" + org.ManagementAccount + ":" + kind + "/" + org.ID + "/" + id
}

// listResult is a list output: the items under key and NextToken when
// there are more.
func listResult(key string, items any, next *string) map[string]any {
	m := map[string]any{key: items}
	if next != nil {
		m["NextToken"] = *next
	}
	return m
}

type policyTypeSummaryJSON struct {
	Type   string
	Status string
}

var scpEnabled = []policyTypeSummaryJSON{{Type: "SERVICE_CONTROL_POLICY", Status: "ENABLED"}}

type organizationJSON struct {
	Id                   string
	Arn                  string
	FeatureSet           string
	MasterAccountArn     string
	MasterAccountId      string
	MasterAccountEmail   string
	AvailablePolicyTypes []policyTypeSummaryJSON
}

func describeOrganization(c *call) (any, *apiError) {
	if _, e := c.orgsInput(); e != nil {
		return nil, e
	}
	s := c.s
	org := s.sc.Organization
	mgmt := s.accounts[org.ManagementAccount]
	policyTypes := scpEnabled
	if org.featureSet() != "ALL" {
		// Policy types need all features (Organizations User Guide,
		// "Available feature sets").
		policyTypes = []policyTypeSummaryJSON{}
	}
	return map[string]any{"Organization": organizationJSON{
		Id:                   org.ID,
		Arn:                  "arn:aws:organizations::" + mgmt.ID + ":organization/" + org.ID,
		FeatureSet:           org.featureSet(),
		MasterAccountArn:     s.orgARN("account", mgmt.ID),
		MasterAccountId:      mgmt.ID,
		MasterAccountEmail:   mgmt.Email,
		AvailablePolicyTypes: policyTypes,
	}}, nil
}

type rootJSON struct {
	Id          string
	Arn         string
	Name        string
	PolicyTypes []policyTypeSummaryJSON
}

func listRoots(c *call) (any, *apiError) {
	in, e := c.orgsInput()
	if e != nil {
		return nil, e
	}
	_, end, next, e := c.orgsPage(in, 1)
	if e != nil {
		return nil, e
	}
	roots := []rootJSON{}
	if end > 0 {
		id := c.s.sc.Organization.RootID
		roots = append(roots, rootJSON{Id: id, Arn: c.s.orgARN("root", id), Name: "Root", PolicyTypes: scpEnabled})
	}
	return listResult("Roots", roots, next), nil
}

// isParent reports whether id is the root or an OU.
func (s *Server) isParent(id string) bool {
	return id == s.sc.Organization.RootID || s.ous[id] != nil
}

type ouJSON struct {
	Id   string
	Arn  string
	Name string
}

func listOrganizationalUnitsForParent(c *call) (any, *apiError) {
	in, e := c.orgsInput()
	if e != nil {
		return nil, e
	}
	s := c.s
	if !s.isParent(in.ParentId) {
		return nil, errf(http.StatusNotFound, "ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified.")
	}
	ids := s.children[in.ParentId]
	start, end, next, e := c.orgsPage(in, len(ids))
	if e != nil {
		return nil, e
	}
	ous := []ouJSON{}
	for _, id := range ids[start:end] {
		ous = append(ous, ouJSON{Id: id, Arn: s.orgARN("ou", id), Name: s.ous[id].Name})
	}
	return listResult("OrganizationalUnits", ous, next), nil
}

type accountJSON struct {
	Id              string
	Arn             string
	Email           string
	Name            string
	Status          string
	State           string
	JoinedMethod    string
	JoinedTimestamp *epochTime `json:",omitempty"`
}

// legacyStatus maps State to the Status AWS still reports beside it.
func legacyStatus(state string) string {
	switch state {
	case "SUSPENDED", "CLOSED":
		return "SUSPENDED"
	case "PENDING_CLOSURE":
		return "PENDING_CLOSURE"
	}
	return "ACTIVE"
}

func (s *Server) accountJSON(a *Account) accountJSON {
	return accountJSON{
		Id: a.ID, Arn: s.orgARN("account", a.ID), Email: a.Email, Name: a.Name,
		Status: legacyStatus(a.State), State: a.State,
		JoinedMethod: a.JoinedMethod, JoinedTimestamp: etime(a.Joined),
	}
}

func (c *call) accountsPage(in *orgsInput, accounts []*Account) (any, *apiError) {
	start, end, next, e := c.orgsPage(in, len(accounts))
	if e != nil {
		return nil, e
	}
	out := []accountJSON{}
	for _, a := range accounts[start:end] {
		out = append(out, c.s.accountJSON(a))
	}
	return listResult("Accounts", out, next), nil
}

func listAccounts(c *call) (any, *apiError) {
	in, e := c.orgsInput()
	if e != nil {
		return nil, e
	}
	var all []*Account
	for i := range c.s.sc.Accounts {
		all = append(all, &c.s.sc.Accounts[i])
	}
	return c.accountsPage(in, all)
}

func listAccountsForParent(c *call) (any, *apiError) {
	in, e := c.orgsInput()
	if e != nil {
		return nil, e
	}
	s := c.s
	if !s.isParent(in.ParentId) {
		return nil, errf(http.StatusNotFound, "ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified.")
	}
	var children []*Account
	for i := range s.sc.Accounts {
		if a := &s.sc.Accounts[i]; a.OU == in.ParentId {
			children = append(children, a)
		}
	}
	return c.accountsPage(in, children)
}

type parentJSON struct {
	Id   string
	Type string
}

func listParents(c *call) (any, *apiError) {
	in, e := c.orgsInput()
	if e != nil {
		return nil, e
	}
	s := c.s
	parent, ok := s.parent[in.ChildId]
	if !ok {
		return nil, errf(http.StatusNotFound, "ChildNotFoundException", "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.")
	}
	start, end, next, e := c.orgsPage(in, 1)
	if e != nil {
		return nil, e
	}
	parents := []parentJSON{}
	if start < end {
		typ := "ORGANIZATIONAL_UNIT"
		if parent == s.sc.Organization.RootID {
			typ = "ROOT"
		}
		parents = append(parents, parentJSON{Id: parent, Type: typ})
	}
	return listResult("Parents", parents, next), nil
}

func describeAccount(c *call) (any, *apiError) {
	in, e := c.orgsInput()
	if e != nil {
		return nil, e
	}
	a := c.s.accounts[in.AccountId]
	if a == nil {
		return nil, errf(http.StatusNotFound, "AccountNotFoundException", "You specified an account that doesn't exist.")
	}
	return map[string]any{"Account": c.s.accountJSON(a)}, nil
}

type enabledServicePrincipalJSON struct {
	ServicePrincipal string
	DateEnabled      *epochTime `json:",omitempty"`
}

// orgCreated stands in for dates the scenario does not give: the
// management account's joined time.
func (s *Server) orgCreated() time.Time {
	return s.accounts[s.sc.Organization.ManagementAccount].Joined
}

func listAWSServiceAccess(c *call) (any, *apiError) {
	in, e := c.orgsInput()
	if e != nil {
		return nil, e
	}
	sps := c.s.sc.Organization.TrustedAccess
	start, end, next, e := c.orgsPage(in, len(sps))
	if e != nil {
		return nil, e
	}
	out := []enabledServicePrincipalJSON{}
	for _, sp := range sps[start:end] {
		out = append(out, enabledServicePrincipalJSON{ServicePrincipal: sp, DateEnabled: etime(c.s.orgCreated())})
	}
	return listResult("EnabledServicePrincipals", out, next), nil
}

type delegatedAdministratorJSON struct {
	accountJSON
	DelegationEnabledDate *epochTime `json:",omitempty"`
}

// listDelegatedAdministrators lists each delegated administrator account
// once, with the earliest delegation date among the services it serves
// (or only the one asked for).
func listDelegatedAdministrators(c *call) (any, *apiError) {
	in, e := c.orgsInput()
	if e != nil {
		return nil, e
	}
	s := c.s
	var ids []string
	since := map[string]time.Time{}
	for _, d := range s.sc.Organization.DelegatedAdministrators {
		if in.ServicePrincipal != "" && d.ServicePrincipal != in.ServicePrincipal {
			continue
		}
		t := d.Since
		if t.IsZero() {
			t = s.orgCreated()
		}
		if prev, ok := since[d.Account]; !ok {
			ids = append(ids, d.Account)
			since[d.Account] = t
		} else if t.Before(prev) {
			since[d.Account] = t
		}
	}
	start, end, next, e := c.orgsPage(in, len(ids))
	if e != nil {
		return nil, e
	}
	out := []delegatedAdministratorJSON{}
	for _, id := range ids[start:end] {
		out = append(out, delegatedAdministratorJSON{accountJSON: s.accountJSON(s.accounts[id]), DelegationEnabledDate: etime(since[id])})
	}
	return listResult("DelegatedAdministrators", out, next), nil
}

type policySummaryJSON struct {
	Id          string
	Arn         string
	Name        string
	Description string
	Type        string
	AwsManaged  bool
}

func (s *Server) policySummary(id string) (policySummaryJSON, string, bool) {
	if id == fullAWSAccessID {
		return policySummaryJSON{
			Id: id, Arn: "arn:aws:organizations::aws:policy/service_control_policy/" + id,
			Name: "FullAWSAccess", Description: "Allows access to every operation",
			Type: "SERVICE_CONTROL_POLICY", AwsManaged: true,
		}, fullAWSAccessContent, true
	}
	p := s.policies[id]
	if p == nil {
		return policySummaryJSON{}, "", false
	}
	org := s.sc.Organization
	return policySummaryJSON{
		Id: p.ID, Arn: "arn:aws:organizations::" + org.ManagementAccount + ":policy/" + org.ID + "/service_control_policy/" + p.ID,
		Name: p.Name, Description: p.Description, Type: "SERVICE_CONTROL_POLICY",
	}, p.Content, true
}

// listPoliciesForTarget lists FullAWSAccess and the scenario's SCPs
// attached to a root, OU or account. Other policy types are not
// simulated: their lists are empty.
func listPoliciesForTarget(c *call) (any, *apiError) {
	in, e := c.orgsInput()
	if e != nil {
		return nil, e
	}
	s := c.s
	if !s.isParent(in.TargetId) && s.accounts[in.TargetId] == nil {
		return nil, errf(http.StatusNotFound, "TargetNotFoundException", "We can't find a root, OU, account, or policy with the TargetId that you specified.")
	}
	var ids []string
	if in.Filter == "SERVICE_CONTROL_POLICY" {
		ids = append([]string{fullAWSAccessID}, s.attached[in.TargetId]...)
	} else if !slices.Contains(policyTypes, in.Filter) {
		return nil, invalidInput("INVALID_ENUM_POLICY_TYPE", "You specified an invalid value for the policy type: %q.", in.Filter)
	}
	start, end, next, e := c.orgsPage(in, len(ids))
	if e != nil {
		return nil, e
	}
	out := []policySummaryJSON{}
	for _, id := range ids[start:end] {
		sum, _, _ := s.policySummary(id)
		out = append(out, sum)
	}
	return listResult("Policies", out, next), nil
}

var policyTypes = []string{
	"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY", "TAG_POLICY", "BACKUP_POLICY",
	"AISERVICES_OPT_OUT_POLICY", "CHATBOT_POLICY", "DECLARATIVE_POLICY_EC2",
	"SECURITYHUB_POLICY", "INSPECTOR_POLICY", "UPGRADE_ROLLOUT_POLICY", "BEDROCK_POLICY",
	"S3_POLICY", "NETWORK_SECURITY_DIRECTOR_POLICY", "GUARDDUTY_POLICY",
}

func describePolicy(c *call) (any, *apiError) {
	in, e := c.orgsInput()
	if e != nil {
		return nil, e
	}
	sum, content, ok := c.s.policySummary(in.PolicyId)
	if !ok {
		return nil, errf(http.StatusNotFound, "PolicyNotFoundException", "We can't find a policy with the PolicyId that you specified.")
	}
	return map[string]any{"Policy": map[string]any{"PolicySummary": sum, "Content": content}}, nil
}

// listPolicies lists FullAWSAccess and the scenario's SCPs, in id order.
func listPolicies(c *call) (any, *apiError) {
	in, e := c.orgsInput()
	if e != nil {
		return nil, e
	}
	var ids []string
	if in.Filter == "SERVICE_CONTROL_POLICY" {
		ids = append(ids, fullAWSAccessID)
		var own []string
		for id := range c.s.policies {
			own = append(own, id)
		}
		slices.Sort(own)
		ids = append(ids, own...)
	} else if !slices.Contains(policyTypes, in.Filter) {
		return nil, invalidInput("INVALID_ENUM_POLICY_TYPE", "You specified an invalid value for the policy type: %q.", in.Filter)
	}
	start, end, next, e := c.orgsPage(in, len(ids))
	if e != nil {
		return nil, e
	}
	out := []policySummaryJSON{}
	for _, id := range ids[start:end] {
		sum, _, _ := c.s.policySummary(id)
		out = append(out, sum)
	}
	return listResult("Policies", out, next), nil
}

type policyTargetJSON struct {
	TargetId, Arn, Name, Type string
}

// listTargetsForPolicy lists the roots, OUs and accounts a policy is
// attached to. FullAWSAccess is attached everywhere; only the root is
// listed for it here, which is where AWS attaches it first.
func listTargetsForPolicy(c *call) (any, *apiError) {
	in, e := c.orgsInput()
	if e != nil {
		return nil, e
	}
	s := c.s
	org := s.sc.Organization
	var targets []string
	if in.PolicyId == fullAWSAccessID {
		targets = []string{org.RootID}
	} else if p := s.policies[in.PolicyId]; p != nil {
		targets = p.Targets
	} else {
		return nil, errf(http.StatusNotFound, "PolicyNotFoundException", "We can't find a policy with the PolicyId that you specified.")
	}
	start, end, next, e := c.orgsPage(in, len(targets))
	if e != nil {
		return nil, e
	}
	out := []policyTargetJSON{}
	for _, t := range targets[start:end] {
		switch {
		case t == org.RootID:
			out = append(out, policyTargetJSON{TargetId: t, Type: "ROOT", Name: "Root",
				Arn: "arn:aws:organizations::" + org.ManagementAccount + ":root/" + org.ID + "/" + t})
		case s.ous[t] != nil:
			out = append(out, policyTargetJSON{TargetId: t, Type: "ORGANIZATIONAL_UNIT", Name: s.ous[t].Name,
				Arn: "arn:aws:organizations::" + org.ManagementAccount + ":ou/" + org.ID + "/" + t})
		case s.accounts[t] != nil:
			out = append(out, policyTargetJSON{TargetId: t, Type: "ACCOUNT", Name: s.accounts[t].Name,
				Arn: "arn:aws:organizations::" + org.ManagementAccount + ":account/" + org.ID + "/" + t})
		}
	}
	return listResult("Targets", out, next), nil
}

// featureSet is the organization's feature set, ALL unless the scenario
// says CONSOLIDATED_BILLING.
func (o Organization) featureSet() string {
	if o.FeatureSet == "" {
		return "ALL"
	}
	return o.FeatureSet
}
