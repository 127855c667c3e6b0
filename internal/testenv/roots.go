package testenv

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rootguard/rootguard/internal/awssim"
)

// VendAccount creates an account named name (CreateAccount, then waiting
// for it to succeed), moves it under ou and gives its root user a
// password (with a root session, as AWS allows), as an account vending
// pipeline might leave it. It returns the account id.
func (o *Organizations) VendAccount(t *testing.T, name, ou string) string {
	t.Helper()
	ctx := t.Context()
	c := organizations.NewFromConfig(o.Config)
	out, err := c.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for range 50 {
		st, err := c.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: out.CreateAccountStatus.Id})
		if err != nil {
			t.Fatal(err)
		}
		if st.CreateAccountStatus.State == orgtypes.CreateAccountStateSucceeded {
			id = aws.ToString(st.CreateAccountStatus.AccountId)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if id == "" {
		t.Fatal("CreateAccount did not succeed")
	}
	parents, err := c.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if from := aws.ToString(parents.Parents[0].Id); from != ou {
		if _, err := c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id),
			SourceParentId: aws.String(from), DestinationParentId: aws.String(ou)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := o.RootIAM(t, id, "IAMCreateRootUserPassword").CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{}); err != nil {
		t.Fatal(err)
	}
	return id
}

// RootIAM opens a root session in account with one of AWS's task policies
// (task, e.g. IAMAuditRootUserCredentials) and returns an IAM client on it.
func (o *Organizations) RootIAM(t *testing.T, account, task string) *iam.Client {
	t.Helper()
	out, err := sts.NewFromConfig(o.Config).AssumeRoot(t.Context(), &sts.AssumeRootInput{
		TargetPrincipal: aws.String(account),
		TaskPolicyArn:   &ststypes.PolicyDescriptorType{Arn: aws.String(awssim.TaskPolicyARN(task))},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := o.Config.Copy()
	c := out.Credentials
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	return iam.NewFromConfig(cfg)
}

// HasRootPassword reads the root user's login profile in account with an
// audit session.
func (o *Organizations) HasRootPassword(t *testing.T, account string) bool {
	t.Helper()
	_, err := o.RootIAM(t, account, "IAMAuditRootUserCredentials").GetLoginProfile(t.Context(), &iam.GetLoginProfileInput{})
	var nse *iamtypes.NoSuchEntityException
	if errors.As(err, &nse) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// LoginProfileDeletions counts the DeleteLoginProfile calls awssim
// recorded in account.
func (o *Organizations) LoginProfileDeletions(account string) int {
	c := 0
	for _, r := range o.Server.TrailRecords() {
		if bytes.Contains(r, []byte(`"eventName":"DeleteLoginProfile"`)) && bytes.Contains(r, []byte(`"recipientAccountId":"`+account+`"`)) {
			c++
		}
	}
	return c
}
