package awssim

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// documentedAllows are what each root-task policy lets a session do, as
// the IAM User Guide lists them ("Perform a privileged task on an AWS
// Organizations member account": each policy is a Deny of everything but
// these actions). Written out here, not read from the checked-in
// documents, so that the simulator's reading of the documents is checked
// against AWS's prose.
var documentedAllows = map[string][]string{
	"IAMAuditRootUserCredentials": {"iam:ListAccessKeys", "iam:ListSigningCertificates", "iam:GetLoginProfile",
		"iam:ListMFADevices", "iam:GetAccountSummary", "iam:GetUser", "iam:GetAccessKeyLastUsed"},
	"IAMCreateRootUserPassword": {"iam:CreateLoginProfile", "iam:GetLoginProfile"},
	"IAMDeleteRootUserCredentials": {"iam:DeleteAccessKey", "iam:DeleteSigningCertificate", "iam:DeleteLoginProfile",
		"iam:DeactivateMFADevice", "iam:DeleteVirtualMFADevice", "iam:ListAccessKeys", "iam:ListSigningCertificates",
		"iam:GetLoginProfile", "iam:ListMFADevices", "iam:GetUser", "iam:GetAccessKeyLastUsed"},
	"S3UnlockBucketPolicy": {"s3:DeleteBucketPolicy", "s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:ListAllMyBuckets"},
	"SQSUnlockQueuePolicy": {"sqs:SetQueueAttributes", "sqs:GetQueueAttributes", "sqs:ListQueues", "sqs:GetQueueUrl"},
}

// probe is one request a root session makes on its own account (prod,
// 333333333333), named by the IAM action it needs.
type probe struct {
	action string
	do     func(t *testing.T, c clients, r resourceClients) error
}

func iamProbe(action string, f func(t *testing.T, c *iam.Client) error) probe {
	return probe{"iam:" + action, func(t *testing.T, c clients, _ resourceClients) error { return f(t, c.iam) }}
}

var probes = []probe{
	iamProbe("GetAccountSummary", func(t *testing.T, c *iam.Client) error {
		_, err := c.GetAccountSummary(t.Context(), &iam.GetAccountSummaryInput{})
		return err
	}),
	iamProbe("GetAccessKeyLastUsed", func(t *testing.T, c *iam.Client) error {
		_, err := c.GetAccessKeyLastUsed(t.Context(), &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String("AKIAEXAMPLEROOT00001")})
		return err
	}),
	iamProbe("GetLoginProfile", func(t *testing.T, c *iam.Client) error {
		_, err := c.GetLoginProfile(t.Context(), &iam.GetLoginProfileInput{})
		return err
	}),
	iamProbe("GetUser", func(t *testing.T, c *iam.Client) error {
		_, err := c.GetUser(t.Context(), &iam.GetUserInput{})
		return err
	}),
	iamProbe("ListAccessKeys", func(t *testing.T, c *iam.Client) error {
		_, err := c.ListAccessKeys(t.Context(), &iam.ListAccessKeysInput{})
		return err
	}),
	iamProbe("ListMFADevices", func(t *testing.T, c *iam.Client) error {
		_, err := c.ListMFADevices(t.Context(), &iam.ListMFADevicesInput{})
		return err
	}),
	iamProbe("ListSigningCertificates", func(t *testing.T, c *iam.Client) error {
		_, err := c.ListSigningCertificates(t.Context(), &iam.ListSigningCertificatesInput{})
		return err
	}),
	iamProbe("CreateLoginProfile", func(t *testing.T, c *iam.Client) error {
		_, err := c.CreateLoginProfile(t.Context(), &iam.CreateLoginProfileInput{})
		return err
	}),
	iamProbe("DeleteAccessKey", func(t *testing.T, c *iam.Client) error {
		_, err := c.DeleteAccessKey(t.Context(), &iam.DeleteAccessKeyInput{AccessKeyId: aws.String("AKIAEXAMPLEROOT00002")})
		return err
	}),
	iamProbe("DeleteLoginProfile", func(t *testing.T, c *iam.Client) error {
		_, err := c.DeleteLoginProfile(t.Context(), &iam.DeleteLoginProfileInput{})
		return err
	}),
	iamProbe("DeleteSigningCertificate", func(t *testing.T, c *iam.Client) error {
		_, err := c.DeleteSigningCertificate(t.Context(), &iam.DeleteSigningCertificateInput{CertificateId: aws.String("EXAMPLECERT000000000000000009")})
		return err
	}),
	iamProbe("DeactivateMFADevice", func(t *testing.T, c *iam.Client) error {
		_, err := c.DeactivateMFADevice(t.Context(), &iam.DeactivateMFADeviceInput{SerialNumber: aws.String("GAHT00000000")})
		return err
	}),
	// Denied samples: IAM outside the task, IAM users, other services,
	// and actions awssim does not simulate (authorization comes first).
	iamProbe("GenerateCredentialReport", func(t *testing.T, c *iam.Client) error {
		_, err := c.GenerateCredentialReport(t.Context(), &iam.GenerateCredentialReportInput{})
		return err
	}),
	iamProbe("ListOrganizationsFeatures", func(t *testing.T, c *iam.Client) error {
		_, err := c.ListOrganizationsFeatures(t.Context(), &iam.ListOrganizationsFeaturesInput{})
		return err
	}),
	iamProbe("CreateUser", func(t *testing.T, c *iam.Client) error {
		_, err := c.CreateUser(t.Context(), &iam.CreateUserInput{UserName: aws.String("intruder")})
		return err
	}),
	iamProbe("CreateAccessKey", func(t *testing.T, c *iam.Client) error {
		_, err := c.CreateAccessKey(t.Context(), &iam.CreateAccessKeyInput{})
		return err
	}),
	{"sts:AssumeRole", func(t *testing.T, c clients, _ resourceClients) error {
		_, err := c.sts.AssumeRole(t.Context(), &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::444444444444:role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("x1")})
		return err
	}},
	{"sts:GetSessionToken", func(t *testing.T, c clients, _ resourceClients) error {
		_, err := c.sts.GetSessionToken(t.Context(), &sts.GetSessionTokenInput{})
		return err
	}},
	{"organizations:ListAccounts", func(t *testing.T, c clients, _ resourceClients) error {
		_, err := c.orgs.ListAccounts(t.Context(), &organizations.ListAccountsInput{})
		return err
	}},
	{"s3:ListAllMyBuckets", func(t *testing.T, _ clients, r resourceClients) error {
		_, err := r.s3.ListBuckets(t.Context(), &s3.ListBucketsInput{})
		return err
	}},
	{"s3:GetBucketPolicy", func(t *testing.T, _ clients, r resourceClients) error {
		_, err := r.s3.GetBucketPolicy(t.Context(), &s3.GetBucketPolicyInput{Bucket: aws.String("prod-logs")})
		return err
	}},
	{"s3:PutBucketPolicy", func(t *testing.T, _ clients, r resourceClients) error {
		_, err := r.s3.PutBucketPolicy(t.Context(), &s3.PutBucketPolicyInput{Bucket: aws.String("prod-logs"), Policy: aws.String(tlsOnly("prod-logs"))})
		return err
	}},
	{"s3:DeleteBucketPolicy", func(t *testing.T, _ clients, r resourceClients) error {
		_, err := r.s3.DeleteBucketPolicy(t.Context(), &s3.DeleteBucketPolicyInput{Bucket: aws.String("prod-logs")})
		return err
	}},
	{"s3:GetBucketVersioning", func(t *testing.T, _ clients, r resourceClients) error {
		_, err := r.s3.GetBucketVersioning(t.Context(), &s3.GetBucketVersioningInput{Bucket: aws.String("prod-logs")})
		return err
	}},
	{"s3:GetObject", func(t *testing.T, _ clients, r resourceClients) error {
		_, err := r.s3.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("prod-logs"), Key: aws.String("secret.txt")})
		return err
	}},
	{"sqs:ListQueues", func(t *testing.T, _ clients, r resourceClients) error {
		_, err := r.sqs.ListQueues(t.Context(), &sqs.ListQueuesInput{})
		return err
	}},
	{"sqs:GetQueueUrl", func(t *testing.T, _ clients, r resourceClients) error {
		_, err := r.sqs.GetQueueUrl(t.Context(), &sqs.GetQueueUrlInput{QueueName: aws.String("events")})
		return err
	}},
	{"sqs:GetQueueAttributes", func(t *testing.T, _ clients, r resourceClients) error {
		_, err := r.sqs.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(QueueURL("us-east-1", exProd, "events"))})
		return err
	}},
	{"sqs:SetQueueAttributes", func(t *testing.T, _ clients, r resourceClients) error {
		_, err := r.sqs.SetQueueAttributes(t.Context(), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(QueueURL("us-east-1", exProd, "events")), Attributes: map[string]string{"Policy": ""}})
		return err
	}},
	{"sqs:SendMessage", func(t *testing.T, _ clients, r resourceClients) error {
		_, err := r.sqs.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(QueueURL("us-east-1", exProd, "events")), MessageBody: aws.String("x")})
		return err
	}},
}

// TestTaskPolicyProbes: every probe of each root-task session matches the
// documented allow list: an allowed action is not denied (it may fail for
// its own reasons: no such key), every other is AccessDenied
// (AccessDeniedException in Organizations), simulated or not.
func TestTaskPolicyProbes(t *testing.T) {
	covered := map[string]bool{}
	for _, p := range probes {
		covered[p.action] = true
	}
	for policy, allowed := range documentedAllows {
		for _, a := range allowed {
			if !covered[a] && a != "iam:DeleteVirtualMFADevice" { // TestDeleteVirtualMFADeviceResource
				t.Errorf("%s allows %s: no probe", policy, a)
			}
		}
	}
	for policy, allowed := range documentedAllows {
		t.Run(policy, func(t *testing.T) {
			e := newEnv(t, resourceScenario(t), Options{})
			c := e.assumeRoot(exProd, policy)
			r := e.resources(e.session(exProd, policy), "us-east-1")
			for _, p := range probes {
				err := p.do(t, c, r)
				code := errCode(err)
				if slices.Contains(allowed, p.action) {
					if code == "AccessDenied" || code == "AccessDeniedException" {
						t.Errorf("%s: denied: %v", p.action, err)
					}
					continue
				}
				if strings.HasPrefix(p.action, "organizations:") {
					var ade *orgtypes.AccessDeniedException
					if !errors.As(err, &ade) {
						t.Errorf("%s: err = %v, want AccessDeniedException", p.action, err)
					}
					continue
				}
				if code != "AccessDenied" {
					t.Errorf("%s: err = %v, want AccessDenied", p.action, err)
					continue
				}
				wantStatus(t, err, http.StatusForbidden)
				if !strings.Contains(err.Error(), "explicit deny in an identity-based policy: arn:aws:iam::aws:policy/root-task/"+policy) {
					t.Errorf("%s: the denial does not name the task policy: %v", p.action, err)
				}
			}
		})
	}
}

// TestTaskPolicyResources: the second statements. The credential tasks
// deny their actions on any resource but a root user (NotResource
// arn:aws:iam::*:root): an IAM user is out of reach. The SQS task denies
// GetQueueAttributes on a queue of another account.
func TestTaskPolicyResources(t *testing.T) {
	e := newEnv(t, resourceScenario(t), Options{})
	for _, task := range []string{"IAMAuditRootUserCredentials", "IAMDeleteRootUserCredentials"} {
		c := e.assumeRoot(exProd, task)
		_, err := c.iam.ListAccessKeys(t.Context(), &iam.ListAccessKeysInput{UserName: aws.String("alice")})
		wantCode(t, err, "AccessDenied")
		if !strings.Contains(err.Error(), "arn:aws:iam::"+exProd+":user/alice") {
			t.Errorf("%s: %v", task, err)
		}
	}
	r := e.resources(e.session(exProd, "SQSUnlockQueuePolicy"), "us-east-1")
	_, err := r.sqs.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(QueueURL("us-east-1", exSandbox, "tmp"))})
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "explicit deny in an identity-based policy") {
		t.Errorf("another account's queue: %v", err)
	}
}

// TestDeleteVirtualMFADeviceResource pins a guess (see the package
// docs): iam:DeleteVirtualMFADevice acts on the device (resource type mfa,
// arn:aws:iam::ACCOUNT:mfa/NAME), which the second statement of
// IAMDeleteRootUserCredentials (NotResource arn:aws:iam::*:root) denies,
// although the first statement allows the action.
func TestDeleteVirtualMFADeviceResource(t *testing.T) {
	e := newEnv(t, nil, Options{})
	c := e.assumeRoot(exProdEU, "IAMDeleteRootUserCredentials")
	_, err := c.iam.DeleteVirtualMFADevice(t.Context(), &iam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String("arn:aws:iam::444444444444:mfa/root-account-mfa-device")})
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "on resource: arn:aws:iam::444444444444:mfa/root-account-mfa-device") {
		t.Errorf("err = %v", err)
	}
}
