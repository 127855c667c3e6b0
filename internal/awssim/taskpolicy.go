package awssim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/rootguard/rootguard/internal/awsdocs"
)

// taskPolicies are the root-task policies as AWS publishes them
// (internal/awsdocs), parsed by the simulator's own evaluator: a root
// session may do what its task policy does not deny.
var taskPolicies = sync.OnceValues(func() (map[string]*policyDoc, error) {
	docs, err := awsdocs.RootTaskPolicies()
	if err != nil {
		return nil, err
	}
	out := map[string]*policyDoc{}
	for _, d := range docs {
		p, err := parsePolicy(string(d.Document))
		if err != nil {
			return nil, fmt.Errorf("awssim: root-task policy %s: %w", d.Name, err)
		}
		out[d.Name] = p
	}
	return out, nil
})

// taskPolicy returns a root-task policy by short name, or nil.
func taskPolicy(name string) *policyDoc {
	m, err := taskPolicies()
	if err != nil {
		panic(err) // the embedded documents are checked by the tests
	}
	return m[name]
}

// taskResource is the resource a root session's call acts on, as the
// Service Authorization Reference gives each action's resource type: the
// root user for its own credentials, an IAM user named by UserName, the
// virtual MFA device named by SerialNumber (iam:DeleteVirtualMFADevice's
// resource type is mfa), the bucket, the queue; "*" for the rest.
func (c *call) taskResource() (resource, resourceAccount string) {
	acct := c.p.account
	switch c.svc {
	case svcIAM:
		if u := c.param("UserName"); u != "" {
			return "arn:aws:iam::" + acct + ":user/" + u, acct
		}
		if c.op == "DeleteVirtualMFADevice" {
			if sn := c.param("SerialNumber"); strings.HasPrefix(sn, "arn:") {
				return sn, acct
			}
		}
		if strings.HasPrefix(c.op, "List") && !rootCredentialOps[c.op] || c.op == "GetAccountSummary" {
			return "*", acct
		}
		return "arn:aws:iam::" + acct + ":root", acct
	case svcS3:
		if b := c.param("Bucket"); b != "" {
			owner := ""
			if a, _ := c.s.findBucket(b); a != nil {
				owner = a.ID
			}
			return "arn:aws:s3:::" + b, owner
		}
	case svcSQS:
		if in, e := c.sqsInput(); e == nil && in.QueueUrl != "" {
			if u, err := url.Parse(in.QueueUrl); err == nil {
				if owner, name, ok := strings.Cut(strings.Trim(u.Path, "/"), "/"); ok {
					region := c.region
					if r, ok := strings.CutPrefix(u.Host, "sqs."); ok {
						region, _, _ = strings.Cut(r, ".")
					}
					return "arn:aws:sqs:" + region + ":" + owner + ":" + name, owner
				}
			}
		}
	}
	return "*", ""
}

// rootCredentialOps are the IAM List operations whose resource is a user
// (the root user, in a root session), not "*".
var rootCredentialOps = map[string]bool{"ListAccessKeys": true, "ListSigningCertificates": true, "ListMFADevices": true}

// checkTaskPolicy evaluates a root session's task policy on a call: the
// policy is deny-only, so what it does not deny, the root user may do.
func (s *Server) checkTaskPolicy(c *call, action string) *apiError {
	p := c.p
	doc := taskPolicy(p.taskPolicy)
	resource, owner := c.taskResource()
	keys := map[string]string{
		"aws:principalarn":     p.principalARN(),
		"aws:principalaccount": p.account,
		"aws:principaltype":    "Account",
		"aws:assumedroot":      "true",
		"aws:requestedregion":  c.requestedRegion(),
	}
	if owner != "" {
		keys["aws:resourceaccount"] = owner
	}
	denied := doc == nil
	if doc != nil {
		_, denied = doc.denies(requestContext{action: action, resource: resource, keys: keys})
	}
	if !denied {
		return nil
	}
	if resource == "*" {
		resource = p.arn()
	}
	if jsonService(c.svc) {
		return errf(http.StatusForbidden, "AccessDeniedException", "You don't have permissions to access this resource.")
	}
	return accessDenied("User: %s is not authorized to perform: %s on resource: %s with an explicit deny in an identity-based policy: %s%s",
		p.arn(), action, resource, taskPolicyPrefix, p.taskPolicy)
}
