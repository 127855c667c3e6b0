package awssim

// Resource policies (S3 bucket policies, SQS queue policies) and how the
// server applies them.
//
// Only principals of the resource's own account reach a bucket or queue,
// so only Deny statements decide anything (the identity side already
// allowed the call). A Deny statement applies when its Principal (or
// NotPrincipal), Action (or NotAction), Resource (or NotResource) and
// Condition all match the request; conditions are evaluated with the
// operators of [Policy] on aws:PrincipalArn, aws:PrincipalAccount,
// aws:PrincipalOrgID, aws:PrincipalType, aws:userid, aws:AssumedRoot,
// aws:RequestedRegion and aws:SecureTransport (always true: the server
// stands in for AWS's TLS endpoints).
//
// The root user of the owning account is exempt from its own resource
// policy for the calls that manage that policy (S3: GetBucketPolicy,
// PutBucketPolicy, DeleteBucketPolicy, as S3 documents; SQS:
// GetQueueAttributes, SetQueueAttributes, which is what lets an
// SQSUnlockQueuePolicy root session repair a queue no one else can
// reach). That is the whole point of S3UnlockBucketPolicy and
// SQSUnlockQueuePolicy.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// resourcePolicy is a parsed bucket or queue policy.
type resourcePolicy struct {
	statements []resourceStatement
}

type resourceStatement struct {
	statement
	principal    *principalSet // nil when the statement has NotPrincipal
	notPrincipal *principalSet
	notResource  []string
}

// principalSet is a policy's Principal element.
type principalSet struct {
	any bool     // "*" or {"AWS": "*"}
	aws []string // account ids and IAM ARNs
}

func (ps *principalSet) UnmarshalJSON(b []byte) error {
	var star string
	if err := json.Unmarshal(b, &star); err == nil {
		if star != "*" {
			return fmt.Errorf("principal %q: want \"*\" or an object", star)
		}
		ps.any = true
		return nil
	}
	var m map[string]stringList
	if err := json.Unmarshal(b, &m); err != nil {
		return errors.New("principal: want \"*\" or an object such as {\"AWS\": ...}")
	}
	for k, v := range m {
		switch k {
		case "AWS":
			for _, p := range v {
				if p == "*" {
					ps.any = true
				} else {
					ps.aws = append(ps.aws, p)
				}
			}
		case "Service", "Federated", "CanonicalUser":
			// Never one of the server's principals.
		default:
			return fmt.Errorf("principal: unknown type %q", k)
		}
	}
	return nil
}

// matches reports whether the set names p.
func (ps *principalSet) matches(p *principal) bool {
	if ps.any {
		return true
	}
	for _, want := range ps.aws {
		switch {
		case want == p.account, want == "arn:aws:iam::"+p.account+":root":
			return true // the account: every principal in it
		case want == p.arn(), want == p.principalARN():
			return true
		}
	}
	return false
}

// parseResourcePolicy parses a bucket or queue policy. Every statement
// needs a Principal or NotPrincipal, as S3 and SQS require.
func parseResourcePolicy(content string) (*resourcePolicy, error) {
	if !strings.HasPrefix(strings.TrimSpace(content), "{") {
		return nil, errors.New("policies must be valid JSON and the first byte must be '{'")
	}
	var raw struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(content), &raw); err != nil {
		return nil, fmt.Errorf("not a JSON policy document: %w", err)
	}
	type rawStatement struct {
		Sid          string
		Effect       string
		Principal    *principalSet
		NotPrincipal *principalSet
		Action       stringList
		NotAction    stringList
		Resource     stringList
		NotResource  stringList
		Condition    map[string]map[string]stringList
	}
	list, err := decodeStatements[rawStatement](raw.Statement)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errors.New("missing required field Statement")
	}
	rp := &resourcePolicy{}
	for i, r := range list {
		switch {
		case r.Effect != "Allow" && r.Effect != "Deny":
			return nil, fmt.Errorf("statement %d: invalid effect %q", i, r.Effect)
		case r.Principal == nil && r.NotPrincipal == nil:
			return nil, fmt.Errorf("statement %d: missing required field Principal", i)
		case len(r.Action) == 0 && len(r.NotAction) == 0:
			return nil, fmt.Errorf("statement %d: missing required field Action", i)
		case len(r.Resource) == 0 && len(r.NotResource) == 0:
			return nil, fmt.Errorf("statement %d: missing required field Resource", i)
		}
		st := resourceStatement{
			statement:    statement{Sid: r.Sid, Effect: r.Effect, Action: r.Action, NotAction: r.NotAction, Resource: r.Resource},
			principal:    r.Principal,
			notPrincipal: r.NotPrincipal,
			notResource:  r.NotResource,
		}
		if len(r.Condition) > 0 {
			st.Condition = map[string]map[string][]string{}
			for op, kv := range r.Condition {
				st.Condition[op] = map[string][]string{}
				for k, v := range kv {
					st.Condition[op][k] = v
				}
			}
		}
		rp.statements = append(rp.statements, st)
	}
	return rp, nil
}

// resources lists every Resource and NotResource of the policy.
func (rp *resourcePolicy) resources() []string {
	var out []string
	for _, st := range rp.statements {
		out = append(out, st.Resource...)
		out = append(out, st.notResource...)
	}
	return out
}

// denies returns the statement (Sid or index) of the first Deny that
// applies to p making rc.
func (rp *resourcePolicy) denies(p *principal, rc requestContext) (string, bool) {
	for i, st := range rp.statements {
		if st.Effect != "Deny" || !st.matchesAction(rc.action) {
			continue
		}
		if st.principal != nil && !st.principal.matches(p) || st.notPrincipal != nil && st.notPrincipal.matches(p) {
			continue
		}
		if len(st.notResource) > 0 {
			if slices.ContainsFunc(st.notResource, func(r string) bool { return r == "*" || globMatch(r, rc.resource) }) {
				continue
			}
		} else if !st.matchesResource(rc.resource) {
			continue
		}
		if !st.conditionsHold(rc.keys) {
			continue
		}
		if st.Sid != "" {
			return st.Sid, true
		}
		return fmt.Sprintf("statement %d", i), true
	}
	return "", false
}

// policyManagement lists, per service, the calls the owning account's
// root user may make whatever the resource policy says.
var policyManagement = map[string][]string{
	svcS3:  {"GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"},
	svcSQS: {"GetQueueAttributes", "SetQueueAttributes"},
}

// checkResourcePolicy applies the policy of the bucket or queue a call
// acts on (none for other services, or when the resource does not exist:
// the handler answers that).
func (s *Server) checkResourcePolicy(c *call, action string) *apiError {
	var owner, arn, content string
	switch c.svc {
	case svcS3:
		a, b := s.findBucket(c.param("Bucket"))
		if b == nil {
			return nil
		}
		owner, arn, content = a.ID, "arn:aws:s3:::"+b.Name, b.Policy
	case svcSQS:
		a, q := s.queueOf(c)
		if q == nil {
			return nil
		}
		owner, arn, content = a.ID, q.arn(a.ID), q.Policy
	default:
		return nil
	}
	p := c.p
	if p.account != owner {
		return accessDenied("User: %s is not authorized to perform: %s on resource: %s because no resource-based policy allows the %s action", p.arn(), action, arn, action)
	}
	if content == "" {
		return nil
	}
	if p.kind == kindRoot && slices.Contains(policyManagement[c.svc], c.op) {
		return nil
	}
	rp, err := parseResourcePolicy(content)
	if err != nil {
		return nil // checked when stored
	}
	rc := requestContext{action: action, resource: arn, keys: map[string]string{
		"aws:principalarn":     p.principalARN(),
		"aws:principalaccount": p.account,
		"aws:principalorgid":   s.sc.Organization.ID,
		"aws:principaltype":    map[principalKind]string{kindUser: "User", kindRole: "AssumedRole", kindRoot: "Account"}[p.kind],
		"aws:userid":           p.userID(),
		"aws:requestedregion":  c.region,
		"aws:securetransport":  "true",
	}}
	if p.kind == kindRoot {
		rc.keys["aws:assumedroot"] = "true"
	}
	if _, denied := rp.denies(p, rc); denied {
		return errf(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to perform: %s on resource: %s with an explicit deny in a resource-based policy", p.arn(), action, arn)
	}
	return nil
}
