package org

import (
	"errors"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rootguard/rootguard/internal/awssim"
)

func scenario(t *testing.T) *awssim.Scenario {
	t.Helper()
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// fresh is the example organization before centralized root access.
func fresh(t *testing.T) *awssim.Scenario {
	sc := scenario(t)
	sc.Organization.Features = nil
	sc.Organization.TrustedAccess = []string{"sso.amazonaws.com"}
	sc.Organization.DelegatedAdministrators = nil
	return sc
}

func start(t *testing.T, sc *awssim.Scenario) aws.Config {
	t.Helper()
	srv := awssim.New(sc, awssim.Options{})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")}
}

func states(steps []Step) string {
	var s []string
	for _, st := range steps {
		s = append(s, string(st.State))
	}
	return strings.Join(s, ",")
}

func TestStatus(t *testing.T) {
	st, err := ReadStatus(t.Context(), NewClients(start(t, scenario(t))))
	if err != nil {
		t.Fatal(err)
	}
	if st.OrganizationID != "o-exampleorg1" || !st.IAMTrustedAccess || !st.Enabled("RootSessions") ||
		!st.Enabled("RootCredentialsManagement") || strings.Join(st.DelegatedAdmins, ",") != "222222222222" {
		t.Errorf("status = %+v", st)
	}
	if len(st.BlockingSCPs) != 1 || st.BlockingSCPs[0].ID != "p-denyroot01" || len(st.Warnings) != 1 ||
		!strings.Contains(st.Warnings[0], "aws:AssumedRoot") || !strings.Contains(st.BlockingSCPs[0].Targets[0], "Sandbox") {
		t.Errorf("blocking SCPs = %+v, warnings %v", st.BlockingSCPs, st.Warnings)
	}
}

func TestEnable(t *testing.T) {
	cfg := start(t, fresh(t))
	c := NewClients(cfg)
	ctx := t.Context()

	// Dry run: says what it would do and changes nothing.
	steps, err := Enable(ctx, c, EnableOptions{DelegatedAdmin: "222222222222"})
	if err != nil || states(steps) != "would-do,would-do,would-do,would-do" {
		t.Fatalf("dry run: %v %+v", err, steps)
	}
	st, _ := ReadStatus(ctx, c)
	if st.IAMTrustedAccess || len(st.EnabledFeatures) != 0 {
		t.Fatalf("a dry run changed the organization: %+v", st)
	}
	// Root sessions do not work yet.
	if _, err := c.STS.AssumeRoot(ctx, assumeRootInput()); err == nil {
		t.Fatal("AssumeRoot worked before root sessions were enabled")
	}

	steps, err = Enable(ctx, c, EnableOptions{DelegatedAdmin: "222222222222", Apply: true})
	if err != nil || states(steps) != "done,done,done,done" {
		t.Fatalf("apply: %v %+v", err, steps)
	}
	// Idempotent: a second run finds everything done.
	steps, err = Enable(ctx, c, EnableOptions{DelegatedAdmin: "222222222222", Apply: true})
	if err != nil || states(steps) != "already-done,already-done,already-done,already-done" {
		t.Fatalf("second apply: %v %+v", err, steps)
	}
	if _, err := c.STS.AssumeRoot(ctx, assumeRootInput()); err != nil {
		t.Errorf("AssumeRoot after enabling: %v", err)
	}
}

// TestEnableStackSets: with StackSets, Enable also activates StackSets'
// trusted access, after the root-access steps, once.
func TestEnableStackSets(t *testing.T) {
	cfg := start(t, fresh(t))
	c := NewClients(cfg)
	ctx := t.Context()
	opts := EnableOptions{StackSets: true}
	steps, err := Enable(ctx, c, opts)
	if err != nil || states(steps) != "would-do,would-do,would-do,would-do" || steps[3].Name != "activate StackSets trusted access (for rootguard deploy)" {
		t.Fatalf("dry run: %v %+v", err, steps)
	}
	opts.Apply = true
	if steps, err = Enable(ctx, c, opts); err != nil || states(steps) != "done,done,done,done" {
		t.Fatalf("apply: %v %+v", err, steps)
	}
	out, err := c.Org.ListAWSServiceAccessForOrganization(ctx, &organizations.ListAWSServiceAccessForOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	var trusted []string
	for _, p := range out.EnabledServicePrincipals {
		trusted = append(trusted, aws.ToString(p.ServicePrincipal))
	}
	if !slices.Contains(trusted, "member.org.stacksets.cloudformation.amazonaws.com") {
		t.Errorf("trusted services after enable --stacksets: %v", trusted)
	}
	if steps, err = Enable(ctx, c, opts); err != nil || states(steps) != "already-done,already-done,already-done,already-done" {
		t.Errorf("second apply: %v %+v", err, steps)
	}
}

func assumeRootInput() *sts.AssumeRootInput {
	return &sts.AssumeRootInput{TargetPrincipal: aws.String("333333333333"),
		TaskPolicyArn: &ststypes.PolicyDescriptorType{Arn: aws.String(awssim.TaskPolicyARN("IAMAuditRootUserCredentials"))}}
}

func TestEnableRefusals(t *testing.T) {
	cfg := start(t, fresh(t))
	c := NewClients(cfg)
	ctx := t.Context()
	if _, err := Enable(ctx, c, EnableOptions{DelegatedAdmin: "111111111111", Apply: true}); err == nil || !strings.Contains(err.Error(), "cannot be its own delegated administrator") {
		t.Errorf("management as delegated admin: %v", err)
	}
	// A delegated administrator the organization does not have, or that
	// is not active, is refused before the first step: trusted access is
	// not enabled on the way to a registration that must fail.
	for _, id := range []string{"999999999999", "666666666666", "12345"} {
		steps, err := Enable(ctx, c, EnableOptions{DelegatedAdmin: id, Apply: true})
		if !errors.Is(err, ErrBadDelegatedAdmin) || steps != nil {
			t.Errorf("delegated admin %s: %v %+v", id, err, steps)
		}
	}
	if st, err := ReadStatus(ctx, c); err != nil || st.IAMTrustedAccess {
		t.Errorf("a refused enable changed trusted access: %+v, %v", st, err)
	}
	// From a member account (through its role): refused with the reason.
	role, err := c.STS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::333333333333:role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("rootguard-test")})
	if err != nil {
		t.Fatal(err)
	}
	member := cfg.Copy()
	member.Credentials = credentials.NewStaticCredentialsProvider(*role.Credentials.AccessKeyId, *role.Credentials.SecretAccessKey, *role.Credentials.SessionToken)
	if _, err := Enable(ctx, NewClients(member), EnableOptions{Apply: true}); !errors.Is(err, ErrNotManagement) {
		t.Errorf("from a member: %v", err)
	}
}
