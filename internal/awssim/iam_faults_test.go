package awssim

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// TestIAMFaults drives each injected fault through the SDK's IAM client.
func TestIAMFaults(t *testing.T) {
	srv := New(exampleScenario(t), Options{})
	faults := NewIAMFaults(srv)
	ts := httptest.NewServer(faults)
	t.Cleanup(ts.Close)
	akid, secret := srv.ManagementCredentials()
	mgmt := newClients(ts.URL, akid, secret, "")
	ctx := t.Context()
	out, err := mgmt.sts.AssumeRoot(ctx, &sts.AssumeRootInput{
		TargetPrincipal: aws.String(exProd),
		TaskPolicyArn:   &ststypes.PolicyDescriptorType{Arn: aws.String(TaskPolicyARN("IAMDeleteRootUserCredentials"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := newClients(ts.URL, aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))

	// EntityTemporarilyUnmodifiable twice, then the real answer.
	faults.Unmodifiable(exProd, "DeleteLoginProfile", 2)
	faults.Unmodifiable(exProdEU, "DeleteLoginProfile", 5) // another account: no effect here
	for range 2 {
		_, err := c.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{})
		var eu *iamtypes.EntityTemporarilyUnmodifiableException
		if !errors.As(err, &eu) {
			t.Fatalf("err = %v, want EntityTemporarilyUnmodifiable", err)
		}
		wantStatus(t, err, http.StatusConflict)
	}
	if _, err := c.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{}); err != nil {
		t.Fatalf("third DeleteLoginProfile: %v", err)
	}

	// A sticky key: deletion acknowledged (with a request id), key still listed.
	faults.Sticky("AKIAEXAMPLEROOT00001")
	del, err := c.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String("AKIAEXAMPLEROOT00001")})
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := awsmiddleware.GetRequestIDMetadata(del.ResultMetadata); id == "" {
		t.Error("no request id on an acknowledged deletion")
	}
	if _, err := c.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String("AKIAEXAMPLEROOT00002")}); err != nil {
		t.Fatal(err)
	}
	keys, err := c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.AccessKeyMetadata) != 1 || aws.ToString(keys.AccessKeyMetadata[0].AccessKeyId) != "AKIAEXAMPLEROOT00001" {
		t.Errorf("keys = %+v: the sticky key must survive, the other go", keys.AccessKeyMetadata)
	}

	// An outage until lifted.
	faults.Outage("ListSigningCertificates", true)
	_, err = c.iam.ListSigningCertificates(ctx, &iam.ListSigningCertificatesInput{})
	wantCode(t, err, "InternalFailure")
	faults.Outage("ListSigningCertificates", false)
	if _, err := c.iam.ListSigningCertificates(ctx, &iam.ListSigningCertificatesInput{}); err != nil {
		t.Fatal(err)
	}

	counts := srv.Counts()
	if counts["iam:DeleteLoginProfile"] != 3 || counts["iam:DeleteAccessKey"] != 2 || counts["iam:ListSigningCertificates"] < 2 {
		t.Errorf("counts = %v: injected answers must be counted", counts)
	}
}
