package awssim

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

var stsOps = map[string]handler{
	"GetCallerIdentity": getCallerIdentity,
	"AssumeRole":        assumeRole,
	"AssumeRoot":        assumeRoot,
}

// param returns a query parameter. Names are matched exactly first and
// then ignoring case, since the SDK writes the member names of nested
// shapes as modelled (TaskPolicyArn.arn) while AWS's documents write them
// capitalised (TaskPolicyArn.Arn).
func (c *call) param(name string) string {
	if v := c.form[name]; len(v) > 0 {
		return v[0]
	}
	for k, v := range c.form {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// intParam returns an optional integer parameter; wire is its name in
// AWS's validation messages (durationSeconds).
func (c *call) intParam(name, wire string) (n int, set bool, e *apiError) {
	v := c.param(name)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false, validationError("%s", constraintError(v, wire, "Member must be an integer"))
	}
	return n, true, nil
}

type xmlCredentials struct {
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      xmlTime
}

func credentialsOf(p *principal) xmlCredentials {
	return xmlCredentials{AccessKeyId: p.akid, SecretAccessKey: p.secret, SessionToken: p.token, Expiration: xmlTime(p.expires)}
}

type getCallerIdentityResult struct {
	Arn     string
	UserId  string
	Account string
}

func getCallerIdentity(c *call) (any, *apiError) {
	return getCallerIdentityResult{Arn: c.p.arn(), UserId: c.p.userID(), Account: c.p.account}, nil
}

var (
	reRoleARN = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^arn:aws:iam::([0-9]{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]{1,64})$`)
	})
	reSessionName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]{2,64}$`) })
	reRootARN     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^arn:aws:iam::([0-9]{12}):root$`) })
)

type assumeRoleResult struct {
	Credentials     xmlCredentials
	AssumedRoleUser struct {
		AssumedRoleId string
		Arn           string
	}
}

// assumeRole enters a role the scenario lists. Roles trust the management
// account; the role's maximum session duration is AWS's default of one
// hour, which is also the limit for role chaining.
func assumeRole(c *call) (any, *apiError) {
	s, p := c.s, c.p
	roleARN := c.param("RoleArn")
	session := c.param("RoleSessionName")
	if !reSessionName().MatchString(session) {
		return nil, validationError("%s", constraintError(session, "roleSessionName", `Member must satisfy regular expression pattern: [\w+=,.@-]*`))
	}
	dur, set, e := c.intParam("DurationSeconds", "durationSeconds")
	if e != nil {
		return nil, e
	}
	if !set {
		dur = 3600
	}
	switch {
	case dur < 900:
		return nil, validationError("%s", constraintError(dur, "durationSeconds", "Member must have value greater than or equal to 900"))
	case dur > 43200:
		return nil, validationError("%s", constraintError(dur, "durationSeconds", "Member must have value less than or equal to 43200"))
	case dur > 3600 && p.kind == kindRole:
		return nil, validationError("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	case dur > 3600:
		return nil, validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	m := reRoleARN().FindStringSubmatch(roleARN)
	if m == nil {
		return nil, validationError("%s is invalid", roleARN)
	}
	acct, role := m[1], m[2]
	a := s.accounts[acct]
	if a == nil || !slices.Contains(a.Roles, role) || p.account != s.sc.Organization.ManagementAccount || a.State != "ACTIVE" {
		return nil, accessDenied("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", p.arn(), roleARN)
	}
	sess := s.issue(&principal{kind: kindRole, account: acct, name: role, session: session}, time.Duration(dur)*time.Second, c.now)
	var out assumeRoleResult
	out.Credentials = credentialsOf(sess)
	out.AssumedRoleUser.AssumedRoleId = sess.userID()
	out.AssumedRoleUser.Arn = sess.arn()
	return out, nil
}

// TaskPolicyARN returns the ARN of a root-task policy by its short name
// (IAMAuditRootUserCredentials, ...).
func TaskPolicyARN(name string) string { return taskPolicyPrefix + name }

const taskPolicyPrefix = "arn:aws:iam::aws:policy/root-task/"

type assumeRootResult struct {
	Credentials xmlCredentials
}

// assumeRoot issues a root session in a member account. Input is checked
// first (ValidationError); then who may call it and on what
// (AccessDenied, with the reason in the message).
func assumeRoot(c *call) (any, *apiError) {
	s, p := c.s, c.p
	target := c.param("TargetPrincipal")
	dur, set, e := c.intParam("DurationSeconds", "durationSeconds")
	if e != nil {
		return nil, e
	}
	if !set {
		dur = 900
	}
	switch {
	case dur < 0:
		return nil, validationError("%s", constraintError(dur, "durationSeconds", "Member must have value greater than or equal to 0"))
	case dur > 900:
		return nil, validationError("%s", constraintError(dur, "durationSeconds", "Member must have value less than or equal to 900"))
	}
	acct := target
	if m := reRootARN().FindStringSubmatch(target); m != nil {
		acct = m[1]
	}
	if !reAccountID().MatchString(acct) {
		return nil, validationError("The TargetPrincipal %q is not an account id or the ARN of an account's root user.", target)
	}
	policyARN := c.param("TaskPolicyArn.Arn")
	task, ok := strings.CutPrefix(policyARN, taskPolicyPrefix)
	if !ok || taskPolicy(task) == nil {
		return nil, validationError("The TaskPolicyArn %q is not a root task policy: use IAMAuditRootUserCredentials, IAMCreateRootUserPassword, IAMDeleteRootUserCredentials, S3UnlockBucketPolicy or SQSUnlockQueuePolicy under %s", policyARN, taskPolicyPrefix)
	}
	org := s.sc.Organization
	deny := func(why string) *apiError {
		return accessDenied("User: %s is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::%s:root because %s", p.arn(), acct, why)
	}
	if org.ID == "" {
		return nil, deny("the account is not a member of an organization")
	}
	if p.account != org.ManagementAccount && !s.delegatedAdmin(p.account, iamServicePrincipal) {
		return nil, deny("only the management account and the delegated administrator for IAM can perform privileged tasks on member accounts")
	}
	if !slices.Contains(org.Features, FeatureRootSessions) {
		return nil, deny("privileged root sessions (the RootSessions feature of centralized root access) are not enabled for organization " + org.ID)
	}
	if acct == org.ManagementAccount {
		return nil, deny("privileged tasks cannot be performed on the organization's management account")
	}
	a := s.accounts[acct]
	if a == nil {
		return nil, deny("account " + acct + " is not a member of organization " + org.ID)
	}
	if a.State != "ACTIVE" {
		return nil, deny("account " + acct + " is " + a.State)
	}
	sess := s.issue(&principal{kind: kindRoot, account: acct, taskPolicy: task}, time.Duration(dur)*time.Second, c.now)
	return assumeRootResult{Credentials: credentialsOf(sess)}, nil
}

// delegatedAdmin reports whether account is a delegated administrator for
// the service principal.
func (s *Server) delegatedAdmin(account, servicePrincipal string) bool {
	for _, d := range s.sc.Organization.DelegatedAdministrators {
		if d.Account == account && d.ServicePrincipal == servicePrincipal {
			return true
		}
	}
	return false
}
