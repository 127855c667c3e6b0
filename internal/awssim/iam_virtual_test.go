package awssim

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func TestListVirtualMFADevices(t *testing.T) {
	e := newEnv(t, nil, Options{})
	ctx := t.Context()
	list := func(c *iam.Client, status iamtypes.AssignmentStatusType) []string {
		t.Helper()
		out, err := c.ListVirtualMFADevices(ctx, &iam.ListVirtualMFADevicesInput{AssignmentStatus: status})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range out.VirtualMFADevices {
			owner := "-"
			if d.User != nil {
				owner = aws.ToString(d.User.Arn)
			}
			got = append(got, aws.ToString(d.SerialNumber)+"@"+owner)
		}
		return got
	}
	// The management account's root uses a hardware token: no virtual device.
	if got := list(e.mgmt.iam, iamtypes.AssignmentStatusTypeAssigned); len(got) != 0 {
		t.Errorf("management: %v", got)
	}
	// A member's root with a passkey and a virtual device: the virtual one,
	// assigned to the root user.
	c := e.assumeRole("444444444444").iam
	got := list(c, iamtypes.AssignmentStatusTypeAny)
	if strings.Join(got, ",") != "arn:aws:iam::444444444444:mfa/root-account-mfa-device@arn:aws:iam::444444444444:root" {
		t.Errorf("member: %v", got)
	}
	// Deactivated, it is unassigned until deleted.
	root := e.assumeRoot("444444444444", "IAMDeleteRootUserCredentials").iam
	if _, err := root.ListVirtualMFADevices(ctx, &iam.ListVirtualMFADevicesInput{}); err == nil {
		t.Error("a root session listed virtual MFA devices, which no task policy allows")
	}
	if _, err := root.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{SerialNumber: aws.String("arn:aws:iam::444444444444:mfa/root-account-mfa-device")}); err != nil {
		t.Fatal(err)
	}
	if got := list(c, iamtypes.AssignmentStatusTypeUnassigned); strings.Join(got, ",") != "arn:aws:iam::444444444444:mfa/root-account-mfa-device@-" {
		t.Errorf("after deactivation: %v", got)
	}
	if got := list(c, iamtypes.AssignmentStatusTypeAssigned); len(got) != 0 {
		t.Errorf("assigned after deactivation: %v", got)
	}
	_, err := e.mgmt.iam.ListVirtualMFADevices(ctx, &iam.ListVirtualMFADevicesInput{AssignmentStatus: "Sometimes"})
	wantCode(t, err, "ValidationError")
}
