package awssim

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// TestDescribeOrganizationalUnit holds DescribeOrganizationalUnit to what
// the SDK's client decodes: every OU of testdata/scenario.yaml by id, ARN
// and name, and AWS's errors for a missing OU, the root's id, a malformed
// id and a member account's caller.
func TestDescribeOrganizationalUnit(t *testing.T) {
	e := newEnv(t, nil, Options{})
	ctx := t.Context()
	o := e.mgmt.orgs
	for id, name := range map[string]string{
		"ou-ex12-security": "Security", "ou-ex12-workload": "Workloads", "ou-ex12-prod0001": "Prod",
		"ou-ex12-eu000001": "EU", "ou-ex12-sandbox1": "Sandbox", "ou-ex12-suspend1": "Suspended",
	} {
		out, err := o.DescribeOrganizationalUnit(ctx, &organizations.DescribeOrganizationalUnitInput{OrganizationalUnitId: aws.String(id)})
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		ou := out.OrganizationalUnit
		if aws.ToString(ou.Id) != id || aws.ToString(ou.Name) != name ||
			aws.ToString(ou.Arn) != "arn:aws:organizations::111111111111:ou/o-exampleorg1/"+id {
			t.Errorf("%s: %+v", id, ou)
		}
	}
	member := e.assumeRole(exProd).orgs
	tests := []struct {
		name   string
		c      *organizations.Client
		id     string
		want   any
		status int
	}{
		{"missing", o, "ou-ex12-nothere1", new(*orgtypes.OrganizationalUnitNotFoundException), 404},
		{"root id", o, exRootID, new(*orgtypes.InvalidInputException), 400},
		{"account id", o, exProd, new(*orgtypes.InvalidInputException), 400},
		{"member caller", member, "ou-ex12-prod0001", new(*orgtypes.AccessDeniedException), 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.DescribeOrganizationalUnit(ctx, &organizations.DescribeOrganizationalUnitInput{OrganizationalUnitId: aws.String(tt.id)})
			if !errors.As(err, tt.want) {
				t.Fatalf("err = %v, want %T", err, tt.want)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("StatusCode: %d", tt.status)) {
				t.Errorf("err %v: want HTTP %d (the SDK model's httpError)", err, tt.status)
			}
		})
	}
	if n := e.srv.Counts()["organizations:DescribeOrganizationalUnit"]; n != 10 {
		t.Errorf("counted %d DescribeOrganizationalUnit calls, want 10", n)
	}
}
