package awssim

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// TestAssumeRootNeedsARegionalEndpoint: "The STS global endpoint is not
// supported for AssumeRoot. You must send this request to a Regional STS
// endpoint." (STS API Reference, AssumeRoot). An SDK client in aws-global
// is refused; the same credentials in a Region are not.
func TestAssumeRootNeedsARegionalEndpoint(t *testing.T) {
	e := newEnv(t, nil, Options{})
	akid, secret := e.srv.ManagementCredentials()
	in := &sts.AssumeRootInput{TargetPrincipal: aws.String(exProd),
		TaskPolicyArn: &ststypes.PolicyDescriptorType{Arn: aws.String(TaskPolicyARN("IAMAuditRootUserCredentials"))}}
	for _, region := range []string{"aws-global", "eu-west-1", "us-east-1"} {
		c := newClients(e.url, akid, secret, "", func(cfg *aws.Config) { cfg.Region = region })
		_, err := c.sts.AssumeRoot(t.Context(), in)
		if region == "aws-global" {
			wantCode(t, err, "InvalidAction")
			wantStatus(t, err, 400)
			// Other STS calls work at the global endpoint.
			if _, err := c.sts.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{}); err != nil {
				t.Errorf("GetCallerIdentity in aws-global: %v", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", region, err)
		}
	}
}

// TestSCPRequestedRegion: an SCP's aws:RequestedRegion is the Region the
// request was signed for, and us-east-1 for IAM (a global service with
// its single endpoint there).
func TestSCPRequestedRegion(t *testing.T) {
	sc := resourceScenario(t)
	sc.Policies = append(sc.Policies, Policy{ID: "p-euonly01", Name: "EUOnly", Targets: []string{"ou-ex12-workload"},
		Content: `{"Version": "2012-10-17", "Statement": [{"Sid": "EUOnly", "Effect": "Deny",
		  "NotAction": ["iam:*", "organizations:*", "sts:*"], "Resource": "*",
		  "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}}]}`})
	e := newEnv(t, sc, Options{})
	cr := e.session(exProd, "S3UnlockBucketPolicy")
	if _, err := e.resources(cr, "eu-west-1").s3.GetBucketPolicy(t.Context(), &s3.GetBucketPolicyInput{Bucket: aws.String("prod-data")}); err != nil {
		t.Errorf("in eu-west-1: %v", err)
	}
	_, err := e.resources(cr, "us-east-1").s3.ListBuckets(t.Context(), &s3.ListBucketsInput{})
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "service control policy") {
		t.Errorf("us-east-1: %v", err)
	}
	// IAM is signed for us-east-1 at AWS whatever the client's Region:
	// an SCP that denies IAM outside eu-west-1 denies it from any client.
	sc = exampleScenario(t)
	sc.Policies = append(sc.Policies, Policy{ID: "p-euonly02", Name: "EUOnlyIAM", Targets: []string{"ou-ex12-workload"},
		Content: `{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*",
		  "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}}]}`})
	e = newEnv(t, sc, Options{})
	out, err := e.mgmt.sts.AssumeRoot(t.Context(), &sts.AssumeRootInput{TargetPrincipal: aws.String(exProd),
		TaskPolicyArn: &ststypes.PolicyDescriptorType{Arn: aws.String(TaskPolicyARN("IAMAuditRootUserCredentials"))}})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	eu := newClients(e.url, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken, func(cfg *aws.Config) { cfg.Region = "eu-west-1" })
	_, err = eu.iam.GetUser(t.Context(), &iam.GetUserInput{})
	wantCode(t, err, "AccessDenied")
}
