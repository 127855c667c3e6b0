package rootsession

import "github.com/rootguard/rootguard/internal/scp"

// Call is one API call rootguard makes in a root session: the IAM action
// that authorizes it, and whether it acts on the root user itself (IAM)
// or on a resource known only at run time (a bucket, a queue).
type Call struct {
	Action string
	// Service is iam, s3 or sqs; IAM is a global service, answered in
	// us-east-1.
	Service string
	// OnRoot is true when the resource is the account's root user.
	OnRoot bool
}

// Calls lists the calls rootguard makes in a session of the task: the
// reads and changes of audit, delete-credentials, allow-recovery and
// unlock. RG.SCP.1 evaluates the account's SCPs against exactly these.
func (t Task) Calls() []Call {
	iamc := func(actions ...string) []Call {
		var out []Call
		for _, a := range actions {
			out = append(out, Call{Action: "iam:" + a, Service: "iam", OnRoot: a != "DeleteVirtualMFADevice"})
		}
		return out
	}
	switch t {
	case Audit:
		return iamc("GetLoginProfile", "GetUser", "ListAccessKeys", "GetAccessKeyLastUsed", "ListSigningCertificates", "ListMFADevices")
	case DeleteCredentials:
		return iamc("GetLoginProfile", "ListAccessKeys", "ListSigningCertificates", "ListMFADevices",
			"DeleteLoginProfile", "DeleteAccessKey", "DeleteSigningCertificate", "DeactivateMFADevice", "DeleteVirtualMFADevice")
	case CreatePassword:
		return iamc("GetLoginProfile", "CreateLoginProfile")
	case S3Unlock:
		return []Call{{Action: "s3:ListAllMyBuckets", Service: "s3"}, {Action: "s3:GetBucketPolicy", Service: "s3"},
			{Action: "s3:DeleteBucketPolicy", Service: "s3"}, {Action: "s3:PutBucketPolicy", Service: "s3"}}
	case SQSUnlock:
		return []Call{{Action: "sqs:ListQueues", Service: "sqs"}, {Action: "sqs:GetQueueAttributes", Service: "sqs"},
			{Action: "sqs:SetQueueAttributes", Service: "sqs"}}
	}
	return nil
}

// Request is the request context of a call made in a root session on an
// account, as its SCPs see it. The principal is the account's root user
// (aws:PrincipalArn arn:aws:iam::ACCOUNT:root, aws:PrincipalType Account)
// and aws:AssumedRoot is true: "Use this key to check whether the request
// was made using AssumeRoot" (IAM User Guide, global condition context
// keys). aws:RequestedRegion is us-east-1 for IAM, a global service, and
// region for S3 and SQS (a bucket's or queue's own Region is known only
// at run time). Keys AWS does not document for root sessions
// (aws:MultiFactorAuthPresent, aws:SourceIp, aws:ViaAWSService ...) are
// left out, as absent keys.
func Request(account, orgID, region string, c Call) scp.Request {
	rr := region
	if c.Service == "iam" {
		rr = "us-east-1"
	}
	req := scp.Request{Action: c.Action, Context: map[string][]string{
		"aws:PrincipalArn":     {"arn:aws:iam::" + account + ":root"},
		"aws:PrincipalAccount": {account},
		"aws:PrincipalType":    {"Account"},
		"aws:AssumedRoot":      {"true"},
		"aws:RequestedRegion":  {rr},
		"aws:SecureTransport":  {"true"},
	}}
	if orgID != "" {
		req.Context["aws:PrincipalOrgID"] = []string{orgID}
	}
	if c.OnRoot {
		req.Resource = "arn:aws:iam::" + account + ":root"
	}
	return req
}
