package awssim

// StackSet instances and the caller a StackSet call acts as (CallAs).

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
)

// cfnInstance is one stack instance of a StackSet: one account and region.
type cfnInstance struct {
	account, region, ou string
	stackID             string
	status, detailed    string // CURRENT/SUCCEEDED or OUTDATED/FAILED
	reason              string
	lastOp              string
}

func (ss *cfnStackSet) sortedInstances() []*cfnInstance {
	out := make([]*cfnInstance, 0, len(ss.instances))
	for _, in := range ss.instances {
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].account != out[j].account {
			return out[i].account < out[j].account
		}
		return out[i].region < out[j].region
	})
	return out
}

// apply records one result of an operation in the StackSet's instances: a
// deletion that succeeded removes the instance; any other result leaves
// it CURRENT (succeeded) or OUTDATED (failed), as CloudFormation does.
func (ss *cfnStackSet) apply(op *cfnOperation, r cfnResult) {
	key := r.account + "/" + r.region
	if op.action == "DELETE" && r.status == "SUCCEEDED" {
		delete(ss.instances, key)
		return
	}
	in := ss.instances[key]
	if in == nil {
		in = &cfnInstance{account: r.account, region: r.region, ou: r.ou,
			stackID: fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/StackSet-%s-%s/%s", r.region, r.account, ss.name, newRequestID(), newRequestID())}
		ss.instances[key] = in
	}
	if op.action == "CREATE" {
		in.ou = r.ou
	}
	in.lastOp = op.id
	in.status, in.detailed, in.reason = "CURRENT", "SUCCEEDED", ""
	if r.status != "SUCCEEDED" {
		in.status, in.detailed, in.reason = "OUTDATED", "FAILED", r.reason
	}
}

// stackSetAccount returns the account whose StackSets a call addresses:
// the caller's with CallAs SELF (the default); the management account's
// with DELEGATED_ADMIN, which only an account registered as delegated
// administrator for StackSets may give.
func (c *call) stackSetAccount() (string, *apiError) {
	switch callAs := c.param("CallAs"); callAs {
	case "", "SELF":
		return c.p.account, nil
	case "DELEGATED_ADMIN":
		if !c.s.stackSetsAdmin(c.p.account) {
			return "", cfnValidation("Account used is not a delegated administrator")
		}
		return c.s.sc.Organization.ManagementAccount, nil
	default:
		return "", cfnValidation("%s", constraintError(callAs, "callAs", "Member must satisfy enum value set: [SELF, DELEGATED_ADMIN]"))
	}
}

// stackSetKey is the key of the StackSet a call names.
func (c *call) stackSetKey() (string, *apiError) {
	owner, e := c.stackSetAccount()
	if e != nil {
		return "", e
	}
	return owner + "/" + c.region + "/" + c.param("StackSetName"), nil
}

// stackSetsAdmin reports whether account is registered as delegated
// administrator for StackSets. The caller holds s.mu.
func (s *Server) stackSetsAdmin(account string) bool {
	org := s.sc.Organization
	if org.ID == "" || account == org.ManagementAccount {
		return false
	}
	return slices.ContainsFunc(org.DelegatedAdministrators, func(d DelegatedAdministrator) bool {
		return d.Account == account && d.ServicePrincipal == stackSetsPrincipal
	})
}

// checkOUs refuses OUs that are not in the organization.
func (c *call) checkOUs(ous []string) *apiError {
	for _, ou := range ous {
		if c.s.ous[ou] == nil && ou != c.s.sc.Organization.RootID {
			return cfnValidation("OrganizationalUnitId %s is not in the organization", ou)
		}
	}
	return nil
}

// instanceTargets reads and checks the targets of CreateStackInstances
// and DeleteStackInstances: OUs and regions, as a service-managed StackSet
// takes them.
func (c *call) instanceTargets(ss *cfnStackSet) (ous, regions []string, e *apiError) {
	if e := c.checkStackSetCaller(ss.permissionModel); e != nil {
		return nil, nil, e
	}
	ous, regions = c.list("DeploymentTargets.OrganizationalUnitIds"), c.list("Regions")
	if len(regions) == 0 {
		return nil, nil, cfnValidation("Regions is required")
	}
	if ss.permissionModel != "SERVICE_MANAGED" {
		return nil, nil, cfnValidation("awssim: instances of SELF_MANAGED StackSets are not simulated")
	}
	if len(ous) == 0 || len(c.list("Accounts")) > 0 {
		return nil, nil, cfnValidation("StackSets with SERVICE_MANAGED permission model can only have OrganizationalUnit as target")
	}
	if e := c.checkOUs(ous); e != nil {
		return nil, nil, e
	}
	return ous, regions, nil
}

type xmlStackInstanceSummary struct {
	StackSetId           string
	Region               string
	Account              string
	StackId              string
	Status               string
	StatusReason         string `xml:",omitempty"`
	StackInstanceStatus  struct{ DetailedStatus string }
	OrganizationalUnitId string `xml:",omitempty"`
	DriftStatus          string
	LastOperationId      string `xml:",omitempty"`
}

func cfnListStackInstances(c *call) (any, *apiError) {
	ss, e := c.stackSet()
	if e != nil {
		return nil, e
	}
	// Filters: DETAILED_STATUS and LAST_OPERATION_ID (DRIFT_STATUS is
	// always NOT_CHECKED here).
	filters := map[string]string{}
	for i := 1; ; i++ {
		p := "Filters.member." + strconv.Itoa(i) + "."
		name := c.param(p + "Name")
		if name == "" {
			break
		}
		filters[name] = c.param(p + "Values")
	}
	account, region := c.param("StackInstanceAccount"), c.param("StackInstanceRegion")
	var match []*cfnInstance
	for _, in := range ss.sortedInstances() {
		switch {
		case account != "" && in.account != account, region != "" && in.region != region:
			continue
		case filters["DETAILED_STATUS"] != "" && filters["DETAILED_STATUS"] != in.detailed:
			continue
		case filters["LAST_OPERATION_ID"] != "" && filters["LAST_OPERATION_ID"] != in.lastOp:
			continue
		case filters["DRIFT_STATUS"] != "" && filters["DRIFT_STATUS"] != "NOT_CHECKED":
			continue
		}
		match = append(match, in)
	}
	size := c.s.opts.PageSize
	if size <= 0 {
		size = 100
	}
	if n, set, e := c.intParam("MaxResults", "maxResults"); e != nil {
		return nil, e
	} else if set {
		size = n
	}
	start := 0
	if tok := c.param("NextToken"); tok != "" {
		if start = decodeToken(c.op, tok); start < 0 || start > len(match) {
			return nil, cfnValidation("Invalid NextToken")
		}
	}
	end := min(start+size, len(match))
	out := struct {
		Summaries xmlList[xmlStackInstanceSummary]
		NextToken string `xml:",omitempty"`
	}{Summaries: xmlList[xmlStackInstanceSummary]{Member: []xmlStackInstanceSummary{}}}
	for _, in := range match[start:end] {
		x := xmlStackInstanceSummary{StackSetId: ss.id, Region: in.region, Account: in.account, StackId: in.stackID,
			Status: in.status, StatusReason: in.reason, OrganizationalUnitId: in.ou, DriftStatus: "NOT_CHECKED", LastOperationId: in.lastOp}
		x.StackInstanceStatus.DetailedStatus = in.detailed
		out.Summaries.Member = append(out.Summaries.Member, x)
	}
	if end < len(match) {
		out.NextToken = encodeToken(c.op, end)
	}
	return out, nil
}

func cfnDeleteStackInstances(c *call) (any, *apiError) {
	ss, e := c.stackSet()
	if e != nil {
		return nil, e
	}
	if c.param("RetainStacks") == "" {
		return nil, cfnValidation("%s", constraintError("null", "retainStacks", "Member must not be null"))
	}
	ous, regions, e := c.instanceTargets(ss)
	if e != nil {
		return nil, e
	}
	op, e := c.startOperation(ss, "DELETE")
	if e != nil {
		return nil, e
	}
	// The instances of the OUs named in the regions named; RetainStacks
	// makes no difference here, as member stacks are not simulated.
	var pairs []cfnResult
	for _, in := range ss.sortedInstances() {
		if slices.Contains(ous, in.ou) && slices.Contains(regions, in.region) {
			pairs = append(pairs, cfnResult{account: in.account, region: in.region, ou: in.ou})
		}
	}
	everyRegion := !slices.ContainsFunc(ss.regions, func(r string) bool { return !slices.Contains(regions, r) })
	everyOU := !slices.ContainsFunc(ss.ous, func(ou string) bool { return !slices.Contains(ous, ou) })
	c.deploy(ss, op, pairs)
	left := func(ou, region string) bool {
		for _, in := range ss.instances {
			if (ou == "" || in.ou == ou) && (region == "" || in.region == region) {
				return true
			}
		}
		return false
	}
	// An OU named with every region, or a region named with every OU, is
	// no longer a target once no instance of it is left.
	ss.ous = slices.DeleteFunc(ss.ous, func(ou string) bool {
		return everyRegion && slices.Contains(ous, ou) && !left(ou, "")
	})
	ss.regions = slices.DeleteFunc(ss.regions, func(r string) bool {
		return everyOU && slices.Contains(regions, r) && !left("", r)
	})
	return struct{ OperationId string }{op.id}, nil
}
