package awssim

// CloudFormation, in the query protocol (version 2010-05-15): the stack
// and StackSet operations `rootguard deploy` calls, and nothing else.
//
//	cloudformation: DescribeStacks, CreateChangeSet, DescribeChangeSet,
//	                ExecuteChangeSet, DeleteChangeSet, DeleteStack, DescribeStackSet,
//	                CreateStackSet, UpdateStackSet, CreateStackInstances,
//	                ListStackInstances, DeleteStackInstances,
//	                DescribeStackSetOperation, ListStackSetOperationResults
//
// Stacks and StackSets belong to the caller's account and the region the
// request was signed for. Templates are JSON; a change set is checked as
// CloudFormation checks it before creating anything (parameters known,
// required and matching their AllowedPattern; CAPABILITY_IAM for IAM
// resources) and compared with the stack: an identical template and
// parameters make it FAILED with CloudFormation's "didn't contain
// changes" reason. Resources are not created. Change sets and stacks take
// one poll to finish (DescribeChangeSet answers CREATE_IN_PROGRESS, then
// CREATE_COMPLETE), and so do StackSet operations (RUNNING, then
// SUCCEEDED or FAILED).
//
// DeleteStack follows testdata/cloudformation-delete.md: the stack is
// DELETE_IN_PROGRESS for one poll, then DELETE_COMPLETE (or DELETE_FAILED,
// see [Server.FailStackDeletion]); a deleted stack is found by its id
// only, and its name is free for a new stack.
//
// Service-managed StackSets need trusted access for
// member.org.stacksets.cloudformation.amazonaws.com and the management
// account (CallAs SELF) or an account registered as delegated
// administrator for that service principal (CallAs DELEGATED_ADMIN, which
// addresses the management account's StackSets, as AWS keeps them there);
// any other caller gets CloudFormation's ValidationError. Their instances,
// one per account and region, each with the OU it was deployed through, go
// to the ACTIVE accounts under the OUs named, never to the management
// account. An instance whose operation failed stays, OUTDATED with detailed
// status FAILED. DeleteStackInstances removes the instances of the OUs and
// regions named; an OU leaves the StackSet's targets when it is named with
// every region of the StackSet and has no instance left, and a region
// likewise. [Server.FailStackInstances] makes instances in an account (and
// region) fail, whatever the operation, so that callers can show failures
// are named.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	svcCFN             = "cloudformation"
	stackSetsPrincipal = "member.org.stacksets.cloudformation.amazonaws.com"
	noChangesReason    = "The submitted information didn't contain changes. Submit different information to create a change set."
)

var cfnOps = map[string]handler{
	"DescribeStacks":               cfnDescribeStacks,
	"CreateChangeSet":              cfnCreateChangeSet,
	"DescribeChangeSet":            cfnDescribeChangeSet,
	"ExecuteChangeSet":             cfnExecuteChangeSet,
	"DeleteChangeSet":              cfnDeleteChangeSet,
	"DeleteStack":                  cfnDeleteStack,
	"DescribeStackSet":             cfnDescribeStackSet,
	"CreateStackSet":               cfnCreateStackSet,
	"UpdateStackSet":               cfnUpdateStackSet,
	"CreateStackInstances":         cfnCreateStackInstances,
	"ListStackInstances":           cfnListStackInstances,
	"DeleteStackInstances":         cfnDeleteStackInstances,
	"DescribeStackSetOperation":    cfnDescribeStackSetOperation,
	"ListStackSetOperationResults": cfnListStackSetOperationResults,
	"ActivateOrganizationsAccess":  cfnActivateOrganizationsAccess,
	"DescribeOrganizationsAccess":  cfnDescribeOrganizationsAccess,
}

// cfnState is the CloudFormation part of the server's state.
type cfnState struct {
	stacks     map[string]*cfnStack     // account/region/name; deleted ones account/region/id
	changeSets map[string]*cfnChangeSet // by ARN
	stackSets  map[string]*cfnStackSet  // account/region/name
	failing    map[string]string        // account/region or account/ -> reason
	failDelete map[string]string        // account/region/name -> reason
}

type cfnStack struct {
	id, name, account, region string
	status, reason            string
	pending                   string // the status the next DescribeStacks reports
	pendingReason             string // and its reason
	template                  string
	params                    map[string]string
	capabilities              []string
	created, updated          time.Time
}

type cfnChangeSet struct {
	id, name, typ  string
	stack          *cfnStack
	template       string
	params         map[string]string
	capabilities   []string
	status, reason string
	execution      string
	polls          int
	changes        []cfnChange
	created        time.Time
}

type cfnChange struct{ action, id, typ string }

type cfnStackSet struct {
	name, id, arn   string
	description     string
	template        string
	params          map[string]string
	capabilities    []string
	permissionModel string
	autoEnabled     bool
	autoRetain      bool
	managed         bool
	ous, regions    []string
	instances       map[string]*cfnInstance // account/region
	ops             map[string]*cfnOperation
	running         *cfnOperation
}

type cfnOperation struct {
	id, action     string
	status, reason string
	polls          int
	created, ended time.Time
	results        []cfnResult
}

type cfnResult struct{ account, region, ou, status, reason string }

// cfn returns the CloudFormation state, creating it on first use. The
// caller holds s.mu.
func (s *Server) cfn() *cfnState {
	if s.cfnState == nil {
		s.cfnState = &cfnState{
			stacks:     map[string]*cfnStack{},
			changeSets: map[string]*cfnChangeSet{},
			stackSets:  map[string]*cfnStackSet{},
			failing:    map[string]string{},
			failDelete: map[string]string{},
		}
	}
	return s.cfnState
}

// FailStackInstances makes every StackSet operation fail for the stack
// instance of account in region (every region when region is "") with
// reason, as CloudFormation reports a resource that could not be created.
// An empty reason lets them succeed again.
func (s *Server) FailStackInstances(account, region, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if reason == "" {
		delete(s.cfn().failing, account+"/"+region)
		return
	}
	s.cfn().failing[account+"/"+region] = reason
}

// FailStackDeletion makes the deletion of the stack name in account and
// region end DELETE_FAILED with reason, as CloudFormation reports a
// resource it could not delete. An empty reason lets it succeed again.
func (s *Server) FailStackDeletion(account, region, name, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := account + "/" + region + "/" + name
	if reason == "" {
		delete(s.cfn().failDelete, key)
		return
	}
	s.cfn().failDelete[key] = reason
}

// Stacks returns the names of the stacks of account in region that are
// not deleted, sorted.
func (s *Server) Stacks(account, region string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, st := range s.cfn().stacks {
		if st.account == account && st.region == region && st.status != "DELETE_COMPLETE" {
			out = append(out, st.name)
		}
	}
	sort.Strings(out)
	return out
}

// StackTemplate returns the template of a stack, and whether the stack
// exists (and was created).
func (s *Server) StackTemplate(account, region, name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.cfn().stacks[account+"/"+region+"/"+name]
	if st == nil || st.status == "REVIEW_IN_PROGRESS" {
		return "", false
	}
	return st.template, true
}

// StackSetInstances returns the account/region pairs a StackSet has
// succeeded in, sorted.
func (s *Server) StackSetInstances(account, region, name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.cfn().stackSets[account+"/"+region+"/"+name]
	if ss == nil {
		return nil
	}
	var out []string
	for _, in := range ss.sortedInstances() {
		if in.detailed == "SUCCEEDED" {
			out = append(out, in.account+"/"+in.region)
		}
	}
	return out
}

func (c *call) key(name string) string { return c.p.account + "/" + c.region + "/" + name }

// list returns a query-protocol list parameter: Name.member.1, ...
func (c *call) list(name string) []string {
	var out []string
	for i := 1; ; i++ {
		vs, ok := c.form[name+".member."+strconv.Itoa(i)]
		if !ok || len(vs) == 0 {
			return out
		}
		out = append(out, vs[0])
	}
}

// parameters reads Parameters.member.N.ParameterKey/ParameterValue.
func (c *call) parameters() map[string]string {
	out := map[string]string{}
	for i := 1; ; i++ {
		p := "Parameters.member." + strconv.Itoa(i) + "."
		k, ok := c.form[p+"ParameterKey"]
		if !ok || len(k) == 0 {
			return out
		}
		out[k[0]] = c.param(p + "ParameterValue")
	}
}

func cfnValidation(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, "ValidationError", format, args...)
}

// cfnTemplate is the part of a template the simulator reads.
type cfnTemplate struct {
	Parameters map[string]struct {
		Type           string
		Default        any
		AllowedPattern string
		AllowedValues  []any
	}
	Resources map[string]json.RawMessage
}

// checkTemplate parses a template and checks parameters and capabilities
// as CloudFormation does before it creates a change set or StackSet.
func checkTemplate(body string, params map[string]string, capabilities []string) (*cfnTemplate, *apiError) {
	if body == "" {
		return nil, cfnValidation("awssim: TemplateBody is required (TemplateURL is not simulated)")
	}
	var t cfnTemplate
	if err := json.Unmarshal([]byte(body), &t); err != nil {
		return nil, cfnValidation("Template format error: JSON not well-formed. (%v)", err)
	}
	if len(t.Resources) == 0 {
		return nil, cfnValidation("Template format error: At least one Resources member must be defined.")
	}
	var unknown, missing []string
	for k := range params {
		if _, ok := t.Parameters[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	for k, p := range t.Parameters {
		v, given := params[k]
		if !given && p.Default == nil {
			missing = append(missing, k)
			continue
		}
		if !given {
			continue
		}
		if p.AllowedPattern != "" {
			if re, err := regexp.Compile("^(?:" + p.AllowedPattern + ")$"); err == nil && !re.MatchString(v) {
				return nil, cfnValidation("Parameter '%s' must match pattern %s", k, p.AllowedPattern)
			}
		}
		if len(p.AllowedValues) > 0 && !slices.ContainsFunc(p.AllowedValues, func(a any) bool { return fmt.Sprint(a) == v }) {
			return nil, cfnValidation("Parameter '%s' must be one of AllowedValues", k)
		}
	}
	sort.Strings(unknown)
	sort.Strings(missing)
	if len(unknown) > 0 {
		return nil, cfnValidation("Parameters: [%s] do not exist in the template", strings.Join(unknown, ", "))
	}
	if len(missing) > 0 {
		return nil, cfnValidation("Parameters: [%s] must have values", strings.Join(missing, ", "))
	}
	for _, raw := range t.Resources {
		var r struct{ Type string }
		_ = json.Unmarshal(raw, &r)
		if strings.HasPrefix(r.Type, "AWS::IAM::") &&
			!slices.Contains(capabilities, "CAPABILITY_IAM") && !slices.Contains(capabilities, "CAPABILITY_NAMED_IAM") {
			return nil, errf(http.StatusBadRequest, "InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_IAM]")
		}
	}
	return &t, nil
}

// resourceChanges compares the resources of two templates.
func resourceChanges(before, after string) []cfnChange {
	parse := func(body string) map[string]json.RawMessage {
		var t cfnTemplate
		_ = json.Unmarshal([]byte(body), &t)
		return t.Resources
	}
	old, cur := parse(before), parse(after)
	typeOf := func(raw json.RawMessage) string {
		var r struct{ Type string }
		_ = json.Unmarshal(raw, &r)
		return r.Type
	}
	var out []cfnChange
	for id, raw := range cur {
		prev, ok := old[id]
		switch {
		case !ok:
			out = append(out, cfnChange{"Add", id, typeOf(raw)})
		case !sameJSON(prev, raw):
			out = append(out, cfnChange{"Modify", id, typeOf(raw)})
		}
	}
	for id, raw := range old {
		if _, ok := cur[id]; !ok {
			out = append(out, cfnChange{"Remove", id, typeOf(raw)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

func sameParams(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// XML shapes, named as in the CloudFormation model.
type (
	xmlCFNParameter struct {
		ParameterKey   string
		ParameterValue string
	}
	xmlStack struct {
		StackId           string
		StackName         string
		Description       string `xml:",omitempty"`
		Parameters        xmlList[xmlCFNParameter]
		CreationTime      *xmlTime
		LastUpdatedTime   *xmlTime `xml:",omitempty"`
		StackStatus       string
		StackStatusReason string `xml:",omitempty"`
		DisableRollback   bool
		Capabilities      xmlList[string]
	}
	xmlResourceChange struct {
		Action            string
		LogicalResourceId string
		ResourceType      string
		Replacement       string `xml:",omitempty"`
	}
	xmlChange struct {
		Type           string
		ResourceChange xmlResourceChange
	}
	xmlAutoDeployment struct {
		Enabled                      bool
		RetainStacksOnAccountRemoval bool
	}
	xmlStackSet struct {
		StackSetName          string
		StackSetId            string
		StackSetARN           string
		Description           string `xml:",omitempty"`
		Status                string
		TemplateBody          string
		Parameters            xmlList[xmlCFNParameter]
		Capabilities          xmlList[string]
		PermissionModel       string
		AutoDeployment        *xmlAutoDeployment `xml:",omitempty"`
		ManagedExecution      struct{ Active bool }
		OrganizationalUnitIds xmlList[string]
		Regions               xmlList[string]
	}
	xmlStackSetOperation struct {
		OperationId       string
		StackSetId        string
		Action            string
		Status            string
		StatusReason      string `xml:",omitempty"`
		CreationTimestamp *xmlTime
		EndTimestamp      *xmlTime `xml:",omitempty"`
		StatusDetails     struct{ FailedStackInstancesCount int }
	}
	xmlOperationResult struct {
		Account              string
		Region               string
		Status               string
		StatusReason         string `xml:",omitempty"`
		AccountGateResult    struct{ Status string }
		OrganizationalUnitId string `xml:",omitempty"`
	}
)

func xmlParams(m map[string]string) xmlList[xmlCFNParameter] {
	l := xmlList[xmlCFNParameter]{Member: []xmlCFNParameter{}}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		l.Member = append(l.Member, xmlCFNParameter{k, m[k]})
	}
	return l
}

func strList(s []string) xmlList[string] { return xmlList[string]{Member: append([]string{}, s...)} }

func (st *cfnStack) advance(now time.Time) {
	if st.pending != "" {
		st.status, st.pending = st.pending, ""
		st.reason, st.pendingReason = st.pendingReason, ""
		st.updated = now
	}
}

func (st *cfnStack) xml() xmlStack {
	x := xmlStack{StackId: st.id, StackName: st.name, Parameters: xmlParams(st.params), CreationTime: xtime(st.created),
		StackStatus: st.status, StackStatusReason: st.reason, Capabilities: strList(st.capabilities)}
	if !st.updated.Equal(st.created) {
		x.LastUpdatedTime = xtime(st.updated)
	}
	return x
}

func cfnDescribeStacks(c *call) (any, *apiError) {
	st := c.s.cfn()
	name := c.param("StackName")
	var out []xmlStack
	var deleted []*cfnStack
	for _, s := range st.stacks {
		if s.account != c.p.account || s.region != c.region || (name != "" && name != s.name && name != s.id) {
			continue
		}
		// A deleted stack is described by its id only.
		if s.status == "DELETE_COMPLETE" && name != s.id {
			continue
		}
		out = append(out, s.xml())
		s.advance(c.now) // in progress for one poll
		if s.status == "DELETE_COMPLETE" {
			deleted = append(deleted, s)
		}
	}
	for _, s := range deleted {
		st.retire(s)
	}
	if name != "" && len(out) == 0 {
		return nil, cfnValidation("Stack with id %s does not exist", name)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StackName < out[j].StackName })
	return struct{ Stacks xmlList[xmlStack] }{xmlList[xmlStack]{Member: out}}, nil
}

var reChangeSetName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z][-a-zA-Z0-9]{0,127}$`) })

func cfnCreateChangeSet(c *call) (any, *apiError) {
	st := c.s.cfn()
	name, csName := c.param("StackName"), c.param("ChangeSetName")
	if name == "" || !reChangeSetName().MatchString(csName) {
		return nil, cfnValidation("1 validation error detected: Value '%s' at 'changeSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*", csName)
	}
	typ := c.param("ChangeSetType")
	if typ == "" {
		typ = "UPDATE"
	}
	params, capabilities, body := c.parameters(), c.list("Capabilities"), c.param("TemplateBody")
	if _, e := checkTemplate(body, params, capabilities); e != nil {
		return nil, e
	}
	stack := st.stacks[c.key(name)]
	switch typ {
	case "CREATE":
		if stack != nil && stack.status != "REVIEW_IN_PROGRESS" {
			return nil, errf(http.StatusBadRequest, "AlreadyExistsException", "Stack [%s] already exists and cannot be created again with the changeSet [%s].", name, csName)
		}
		if stack == nil {
			stack = &cfnStack{
				id:   fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s", c.region, c.p.account, name, newRequestID()),
				name: name, account: c.p.account, region: c.region, status: "REVIEW_IN_PROGRESS", created: c.now, updated: c.now,
			}
			st.stacks[c.key(name)] = stack
		}
	case "UPDATE":
		if stack == nil {
			return nil, cfnValidation("Stack [%s] does not exist", name)
		}
		switch stack.status {
		case "CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE":
		default:
			return nil, cfnValidation("Stack:%s is in %s state and can not be updated.", stack.id, stack.status)
		}
	default:
		return nil, cfnValidation("1 validation error detected: Value '%s' at 'changeSetType' failed to satisfy constraint: Member must satisfy enum value set: [UPDATE, CREATE, IMPORT]", typ)
	}
	for _, cs := range st.changeSets {
		if cs.stack == stack && cs.name == csName {
			return nil, errf(http.StatusBadRequest, "AlreadyExistsException", "ChangeSet %s already exists", csName)
		}
	}
	cs := &cfnChangeSet{
		id:   fmt.Sprintf("arn:aws:cloudformation:%s:%s:changeSet/%s/%s", c.region, c.p.account, csName, newRequestID()),
		name: csName, typ: typ, stack: stack, template: body, params: params, capabilities: capabilities,
		status: "CREATE_COMPLETE", execution: "AVAILABLE", created: c.now,
		changes: resourceChanges(stack.template, body),
	}
	if typ == "UPDATE" && len(cs.changes) == 0 && sameParams(stack.params, params) {
		cs.status, cs.reason, cs.execution = "FAILED", noChangesReason, "UNAVAILABLE"
	}
	st.changeSets[cs.id] = cs
	return struct{ Id, StackId string }{cs.id, stack.id}, nil
}

// changeSet finds a change set by ARN, or by name and StackName, in the
// caller's account and region.
func (c *call) changeSet() (*cfnChangeSet, *apiError) {
	st := c.s.cfn()
	name, stack := c.param("ChangeSetName"), c.param("StackName")
	for _, cs := range st.changeSets {
		if cs.stack.account != c.p.account || cs.stack.region != c.region {
			continue
		}
		if cs.id == name || (cs.name == name && (cs.stack.name == stack || cs.stack.id == stack)) {
			return cs, nil
		}
	}
	return nil, errf(http.StatusNotFound, "ChangeSetNotFound", "ChangeSet [%s] does not exist", name)
}

func cfnDescribeChangeSet(c *call) (any, *apiError) {
	cs, e := c.changeSet()
	if e != nil {
		return nil, e
	}
	status := cs.status
	if cs.polls == 0 {
		status = "CREATE_IN_PROGRESS"
	}
	cs.polls++
	out := struct {
		ChangeSetName   string
		ChangeSetId     string
		StackId         string
		StackName       string
		Parameters      xmlList[xmlCFNParameter]
		CreationTime    *xmlTime
		ExecutionStatus string
		Status          string
		StatusReason    string `xml:",omitempty"`
		Capabilities    xmlList[string]
		Changes         xmlList[xmlChange]
	}{
		ChangeSetName: cs.name, ChangeSetId: cs.id, StackId: cs.stack.id, StackName: cs.stack.name,
		Parameters: xmlParams(cs.params), CreationTime: xtime(cs.created), ExecutionStatus: cs.execution,
		Status: status, Capabilities: strList(cs.capabilities), Changes: xmlList[xmlChange]{Member: []xmlChange{}},
	}
	if status == "CREATE_IN_PROGRESS" {
		out.ExecutionStatus = "UNAVAILABLE"
		return out, nil
	}
	out.StatusReason = cs.reason
	for _, ch := range cs.changes {
		rc := xmlResourceChange{Action: ch.action, LogicalResourceId: ch.id, ResourceType: ch.typ}
		if ch.action == "Modify" {
			rc.Replacement = "False"
		}
		out.Changes.Member = append(out.Changes.Member, xmlChange{Type: "Resource", ResourceChange: rc})
	}
	return out, nil
}

func cfnExecuteChangeSet(c *call) (any, *apiError) {
	cs, e := c.changeSet()
	if e != nil {
		return nil, e
	}
	if cs.polls == 0 || cs.status != "CREATE_COMPLETE" || cs.execution != "AVAILABLE" {
		status := cs.status
		if cs.polls == 0 {
			status = "CREATE_IN_PROGRESS"
		}
		return nil, errf(http.StatusBadRequest, "InvalidChangeSetStatus", "ChangeSet [%s] cannot be executed in its current status of [%s]", cs.id, status)
	}
	stack := cs.stack
	stack.template, stack.params, stack.capabilities = cs.template, cs.params, cs.capabilities
	if cs.typ == "CREATE" {
		stack.status, stack.pending = "CREATE_IN_PROGRESS", "CREATE_COMPLETE"
	} else {
		stack.status, stack.pending = "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"
	}
	cs.execution = "EXECUTE_COMPLETE"
	// CloudFormation deletes a stack's other change sets once one runs.
	for id, other := range c.s.cfn().changeSets {
		if other.stack == stack && other != cs {
			delete(c.s.cfn().changeSets, id)
		}
	}
	return struct{}{}, nil // an empty <ExecuteChangeSetResult/>, as AWS writes
}

// retire keeps a deleted stack under its id, freeing its name, and
// drops its change sets.
func (st *cfnState) retire(s *cfnStack) {
	key := s.account + "/" + s.region + "/"
	if st.stacks[key+s.name] == s {
		delete(st.stacks, key+s.name)
	}
	st.stacks[key+s.id] = s
	for id, cs := range st.changeSets {
		if cs.stack == s {
			delete(st.changeSets, id)
		}
	}
}

// cfnDeleteStack starts the deletion of a stack named by name or id
// (testdata/cloudformation-delete.md). A stack that does not exist, or
// is already being deleted or deleted, is no error, and one in the
// middle of another operation a ValidationError (guesses, doc.go).
func cfnDeleteStack(c *call) (any, *apiError) {
	st := c.s.cfn()
	name := c.param("StackName")
	if name == "" {
		return nil, cfnValidation("1 validation error detected: Value null at 'stackName' failed to satisfy constraint: Member must not be null")
	}
	var stack *cfnStack
	for _, s := range st.stacks {
		if s.account == c.p.account && s.region == c.region && (s.id == name || s.name == name && s.status != "DELETE_COMPLETE") {
			stack = s
			break
		}
	}
	if stack == nil {
		return struct{}{}, nil
	}
	switch {
	case stack.status == "DELETE_COMPLETE" || stack.status == "DELETE_IN_PROGRESS":
		return struct{}{}, nil
	case stack.status != "REVIEW_IN_PROGRESS" && strings.HasSuffix(stack.status, "_IN_PROGRESS"):
		return nil, cfnValidation("Stack [%s] cannot be deleted while in status %s", stack.name, stack.status)
	}
	stack.status, stack.reason, stack.pending = "DELETE_IN_PROGRESS", "", "DELETE_COMPLETE"
	if reason, ok := st.failDelete[c.key(stack.name)]; ok {
		stack.pending, stack.pendingReason = "DELETE_FAILED", reason
	}
	stack.updated = c.now
	return struct{}{}, nil // an empty <DeleteStackResult/>
}

func cfnDeleteChangeSet(c *call) (any, *apiError) {
	cs, e := c.changeSet()
	if e != nil {
		return nil, e
	}
	delete(c.s.cfn().changeSets, cs.id)
	return struct{}{}, nil
}

func (c *call) stackSet() (*cfnStackSet, *apiError) {
	key, e := c.stackSetKey()
	if e != nil {
		return nil, e
	}
	ss := c.s.cfn().stackSets[key]
	if ss == nil {
		return nil, errf(http.StatusNotFound, "StackSetNotFoundException", "StackSet %s not found", c.param("StackSetName"))
	}
	return ss, nil
}

// checkStackSetCaller applies what service-managed StackSets need: the
// management account (CallAs SELF) or a StackSets delegated administrator
// (DELEGATED_ADMIN, checked by stackSetAccount), and trusted access.
func (c *call) checkStackSetCaller(permissionModel string) *apiError {
	if permissionModel != "SERVICE_MANAGED" {
		return nil
	}
	org := c.s.sc.Organization
	if c.param("CallAs") != "DELEGATED_ADMIN" && (org.ID == "" || c.p.account != org.ManagementAccount) {
		return cfnValidation("You must be the management account or delegated admin account of an organization before operating a SERVICE_MANAGED stack set")
	}
	if !slices.Contains(org.TrustedAccess, stackSetsPrincipal) {
		return cfnValidation("You must enable organizations access to operate a service managed stack set")
	}
	return nil
}

func cfnDescribeStackSet(c *call) (any, *apiError) {
	ss, e := c.stackSet()
	if e != nil {
		return nil, e
	}
	x := xmlStackSet{
		StackSetName: ss.name, StackSetId: ss.id, StackSetARN: ss.arn, Description: ss.description, Status: "ACTIVE",
		TemplateBody: ss.template, Parameters: xmlParams(ss.params), Capabilities: strList(ss.capabilities),
		PermissionModel: ss.permissionModel, OrganizationalUnitIds: strList(ss.ous), Regions: strList(ss.regions),
	}
	if ss.permissionModel == "SERVICE_MANAGED" {
		x.AutoDeployment = &xmlAutoDeployment{Enabled: ss.autoEnabled, RetainStacksOnAccountRemoval: ss.autoRetain}
	}
	x.ManagedExecution.Active = ss.managed
	return struct{ StackSet xmlStackSet }{x}, nil
}

// readStackSet applies the settings of CreateStackSet and UpdateStackSet.
func (c *call) readStackSet(ss *cfnStackSet) *apiError {
	if v := c.param("PermissionModel"); v != "" {
		ss.permissionModel = v
	}
	if e := c.checkStackSetCaller(ss.permissionModel); e != nil {
		return e
	}
	params, capabilities, body := c.parameters(), c.list("Capabilities"), c.param("TemplateBody")
	if _, e := checkTemplate(body, params, capabilities); e != nil {
		return e
	}
	if v := c.param("AutoDeployment.Enabled"); v != "" {
		ss.autoEnabled = v == "true"
		ss.autoRetain = c.param("AutoDeployment.RetainStacksOnAccountRemoval") == "true"
	} else if ss.permissionModel == "SERVICE_MANAGED" && ss.template == "" {
		return cfnValidation("You must specify AutoDeployment when PermissionModel is SERVICE_MANAGED")
	}
	if v := c.param("ManagedExecution.Active"); v != "" {
		ss.managed = v == "true"
	}
	if v := c.param("Description"); v != "" {
		ss.description = v
	}
	ss.template, ss.params, ss.capabilities = body, params, capabilities
	return nil
}

func cfnCreateStackSet(c *call) (any, *apiError) {
	st := c.s.cfn()
	name := c.param("StackSetName")
	if name == "" {
		return nil, cfnValidation("StackSetName is required")
	}
	owner, e := c.stackSetAccount()
	if e != nil {
		return nil, e
	}
	key := owner + "/" + c.region + "/" + name
	if st.stackSets[key] != nil {
		return nil, errf(http.StatusConflict, "NameAlreadyExistsException", "StackSet %s already exists", name)
	}
	ss := &cfnStackSet{name: name, permissionModel: "SELF_MANAGED", ops: map[string]*cfnOperation{}, instances: map[string]*cfnInstance{}}
	if e := c.readStackSet(ss); e != nil {
		return nil, e
	}
	if c.param("CallAs") == "DELEGATED_ADMIN" && ss.permissionModel != "SERVICE_MANAGED" {
		return nil, cfnValidation("CallAs DELEGATED_ADMIN is only valid for StackSets with SERVICE_MANAGED permissions")
	}
	ss.id = name + ":" + newRequestID()
	ss.arn = fmt.Sprintf("arn:aws:cloudformation:%s:%s:stackset/%s", c.region, owner, ss.id)
	st.stackSets[key] = ss
	return struct{ StackSetId string }{ss.id}, nil
}

// startOperation checks no operation runs and opens one.
func (c *call) startOperation(ss *cfnStackSet, action string) (*cfnOperation, *apiError) {
	if ss.running != nil {
		return nil, errf(http.StatusConflict, "OperationInProgressException", "Another Operation on StackSet %s is in progress", ss.arn)
	}
	id := c.param("OperationId")
	if id == "" {
		id = newRequestID()
	}
	if ss.ops[id] != nil {
		return nil, errf(http.StatusConflict, "OperationIdAlreadyExistsException", "The operation ID %s already exists", id)
	}
	op := &cfnOperation{id: id, action: action, status: "RUNNING", created: c.now}
	ss.ops[id] = op
	ss.running = op
	return op, nil
}

// accountsUnder lists the ACTIVE accounts below an OU (or the root), the
// management account excepted, with the OU they were reached through.
func (c *call) accountsUnder(ou string) []string {
	s := c.s
	var out []string
	for id, a := range s.accounts {
		if id == s.sc.Organization.ManagementAccount || a.State != "ACTIVE" {
			continue
		}
		for p := s.parent[id]; p != ""; p = s.parent[p] {
			if p == ou {
				out = append(out, id)
				break
			}
		}
		if ou == s.sc.Organization.RootID && s.parent[id] == "" {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// deploy runs an operation over account/region pairs, with the failures
// FailStackInstances set, applies it to the StackSet's instances and ends
// it per the failure tolerance.
func (c *call) deploy(ss *cfnStackSet, op *cfnOperation, pairs []cfnResult) {
	failing := c.s.cfn().failing
	tolerance := 0
	if n, set, _ := c.intParam("OperationPreferences.FailureToleranceCount", "failureToleranceCount"); set {
		tolerance = n
	}
	pct, pctSet, _ := c.intParam("OperationPreferences.FailureTolerancePercentage", "failureTolerancePercentage")
	perRegion := map[string]int{}
	for _, p := range pairs {
		perRegion[p.region]++
	}
	failedIn := map[string]int{}
	for _, p := range pairs {
		reason, bad := failing[p.account+"/"+p.region]
		if !bad {
			reason, bad = failing[p.account+"/"]
		}
		p.status = "SUCCEEDED"
		if bad {
			p.status = "FAILED"
			p.reason = "ResourceLogicalId:ForwardRole, ResourceType:AWS::IAM::Role, ResourceStatusReason:" + reason + "."
			failedIn[p.region]++
		}
		op.results = append(op.results, p)
		ss.apply(op, p)
	}
	op.status = "SUCCEEDED"
	for region, n := range failedIn {
		limit := tolerance
		if pctSet {
			limit = perRegion[region] * pct / 100
		}
		if n > limit {
			op.status = "FAILED"
			op.reason = fmt.Sprintf("The Operation %s has failed: %d stack instances failed in %s, above the failure tolerance", op.id, n, region)
		}
	}
}

func cfnUpdateStackSet(c *call) (any, *apiError) {
	ss, e := c.stackSet()
	if e != nil {
		return nil, e
	}
	if ss.running != nil {
		return nil, errf(http.StatusConflict, "OperationInProgressException", "Another Operation on StackSet %s is in progress", ss.arn)
	}
	if e := c.readStackSet(ss); e != nil {
		return nil, e
	}
	op, e := c.startOperation(ss, "UPDATE")
	if e != nil {
		return nil, e
	}
	// An update reaches the instances the StackSet has.
	var pairs []cfnResult
	for _, in := range ss.sortedInstances() {
		pairs = append(pairs, cfnResult{account: in.account, region: in.region, ou: in.ou})
	}
	c.deploy(ss, op, pairs)
	return struct{ OperationId string }{op.id}, nil
}

func cfnCreateStackInstances(c *call) (any, *apiError) {
	ss, e := c.stackSet()
	if e != nil {
		return nil, e
	}
	ous, regions, e := c.instanceTargets(ss)
	if e != nil {
		return nil, e
	}
	op, e := c.startOperation(ss, "CREATE")
	if e != nil {
		return nil, e
	}
	var pairs []cfnResult
	for _, ou := range ous {
		for _, a := range c.accountsUnder(ou) {
			for _, r := range regions {
				pairs = append(pairs, cfnResult{account: a, region: r, ou: ou})
			}
		}
		if !slices.Contains(ss.ous, ou) {
			ss.ous = append(ss.ous, ou)
		}
	}
	for _, r := range regions {
		if !slices.Contains(ss.regions, r) {
			ss.regions = append(ss.regions, r)
		}
	}
	c.deploy(ss, op, pairs)
	return struct{ OperationId string }{op.id}, nil
}

func (c *call) operation() (*cfnStackSet, *cfnOperation, *apiError) {
	ss, e := c.stackSet()
	if e != nil {
		return nil, nil, e
	}
	id := c.param("OperationId")
	op := ss.ops[id]
	if op == nil {
		return nil, nil, errf(http.StatusNotFound, "OperationNotFoundException", "Operation %s not found", id)
	}
	return ss, op, nil
}

func cfnDescribeStackSetOperation(c *call) (any, *apiError) {
	ss, op, e := c.operation()
	if e != nil {
		return nil, e
	}
	x := xmlStackSetOperation{OperationId: op.id, StackSetId: ss.id, Action: op.action, CreationTimestamp: xtime(op.created)}
	failed := 0
	for _, r := range op.results {
		if r.status == "FAILED" {
			failed++
		}
	}
	if op.polls == 0 {
		x.Status = "RUNNING"
		x.StatusDetails.FailedStackInstancesCount = failed / 2
	} else {
		if op.ended.IsZero() {
			op.ended = c.now
		}
		if ss.running == op {
			ss.running = nil
		}
		x.Status, x.StatusReason, x.EndTimestamp = op.status, op.reason, xtime(op.ended)
		x.StatusDetails.FailedStackInstancesCount = failed
	}
	op.polls++
	return struct{ StackSetOperation xmlStackSetOperation }{x}, nil
}

func cfnListStackSetOperationResults(c *call) (any, *apiError) {
	_, op, e := c.operation()
	if e != nil {
		return nil, e
	}
	if op.ended.IsZero() {
		// Results appear as the operation runs; a caller reads them at the end.
		return struct{ Summaries xmlList[xmlOperationResult] }{xmlList[xmlOperationResult]{Member: []xmlOperationResult{}}}, nil
	}
	size := c.s.opts.PageSize
	if size <= 0 {
		size = 10
	}
	if n, set, e := c.intParam("MaxResults", "maxResults"); e != nil {
		return nil, e
	} else if set {
		size = n
	}
	start := 0
	if tok := c.param("NextToken"); tok != "" {
		if start = decodeToken(c.op, tok); start < 0 || start > len(op.results) {
			return nil, cfnValidation("Invalid NextToken")
		}
	}
	end := min(start+size, len(op.results))
	out := struct {
		Summaries xmlList[xmlOperationResult]
		NextToken string `xml:",omitempty"`
	}{Summaries: xmlList[xmlOperationResult]{Member: []xmlOperationResult{}}}
	for _, r := range op.results[start:end] {
		x := xmlOperationResult{Account: r.account, Region: r.region, Status: r.status, StatusReason: r.reason, OrganizationalUnitId: r.ou}
		x.AccountGateResult.Status = "SKIPPED"
		out.Summaries.Member = append(out.Summaries.Member, x)
	}
	if end < len(op.results) {
		out.NextToken = encodeToken(c.op, end)
	}
	return out, nil
}

// cfnActivateOrganizationsAccess turns on StackSets' trusted access with
// Organizations ("With trusted access between StackSets and Organizations
// activated, the management account has permissions to create and manage
// StackSets for your organization", CloudFormation API Reference,
// ActivateOrganizationsAccess): the organization then lists
// member.org.stacksets.cloudformation.amazonaws.com among its trusted
// services. Activating it again changes nothing. Another account than the
// management account gets InvalidOperationException (a guess: see doc.go).
func cfnActivateOrganizationsAccess(c *call) (any, *apiError) {
	org := &c.s.sc.Organization
	if org.ID == "" || c.p.account != org.ManagementAccount {
		return nil, errf(http.StatusBadRequest, "InvalidOperationException", "Only the management account of an organization can activate organizations access")
	}
	if !slices.Contains(org.TrustedAccess, stackSetsPrincipal) {
		org.TrustedAccess = append(org.TrustedAccess, stackSetsPrincipal)
	}
	return struct{}{}, nil
}

type describeOrganizationsAccessResult struct {
	Status string
}

// cfnDescribeOrganizationsAccess answers ENABLED or DISABLED (the
// OrganizationStatus values of the API Reference).
func cfnDescribeOrganizationsAccess(c *call) (any, *apiError) {
	org := c.s.sc.Organization
	if org.ID == "" {
		return nil, errf(http.StatusBadRequest, "InvalidOperationException", "The account is not a member of an organization")
	}
	if slices.Contains(org.TrustedAccess, stackSetsPrincipal) {
		return describeOrganizationsAccessResult{Status: "ENABLED"}, nil
	}
	return describeOrganizationsAccessResult{Status: "DISABLED"}, nil
}
