package awssim

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// TestAuthentication: the Authorization header is required, its access key
// must be known and a session's token must match; each service answers
// with its own error code and status.
func TestAuthentication(t *testing.T) {
	e := newEnv(t, nil, Options{})
	ctx := t.Context()

	t.Run("missing header", func(t *testing.T) {
		resp, err := http.Post(e.url, "application/x-www-form-urlencoded",
			strings.NewReader(url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "<Code>MissingAuthenticationToken</Code>") {
			t.Fatalf("status %d body %s", resp.StatusCode, body)
		}
		if resp.Header.Get("x-amzn-RequestId") == "" {
			t.Error("no x-amzn-RequestId header")
		}
	})

	unknown := newClients(e.url, "AKIAUNKNOWNUNKNOWN00", "secret", "")
	_, err := unknown.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId")
	wantStatus(t, err, http.StatusForbidden)
	_, err = unknown.iam.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
	wantCode(t, err, "InvalidClientTokenId")
	wantStatus(t, err, http.StatusForbidden)
	_, err = unknown.orgs.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	wantCode(t, err, "UnrecognizedClientException")
	wantStatus(t, err, http.StatusForbidden) // Common Errors (testdata/common-errors.tsv)

	out, err := e.mgmt.sts.AssumeRoot(ctx, &sts.AssumeRootInput{
		TargetPrincipal: aws.String(exProd),
		TaskPolicyArn:   &ststypes.PolicyDescriptorType{Arn: aws.String(TaskPolicyARN("IAMAuditRootUserCredentials"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	forged := newClients(e.url, *out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, "not-the-token")
	_, err = forged.iam.GetUser(ctx, &iam.GetUserInput{})
	wantCode(t, err, "InvalidClientTokenId")
}

// TestGetCallerIdentity: each kind of principal has AWS's identity shape.
func TestGetCallerIdentity(t *testing.T) {
	e := newEnv(t, nil, Options{})
	if akid, _ := e.srv.ManagementCredentials(); !strings.HasPrefix(akid, "AKIA") || len(akid) != 20 {
		t.Errorf("management key %s is not an AKIA key", akid)
	}
	tests := []struct {
		name            string
		c               clients
		account, arn    string
		userIDPrefix    string
		userIDSessionOf string
	}{
		{"management user", e.mgmt, exMgmt, "arn:aws:iam::111111111111:user/awssim-admin", "AIDA", ""},
		{"role session", e.assumeRole(exProd), exProd, "arn:aws:sts::333333333333:assumed-role/OrganizationAccountAccessRole/awssim-test", "AROA", ":awssim-test"},
		{"root session", e.assumeRoot(exProd, "IAMAuditRootUserCredentials"), exProd, "arn:aws:iam::333333333333:root", exProd, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.c.sts.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatal(err)
			}
			if *out.Account != tt.account || *out.Arn != tt.arn || !strings.HasPrefix(*out.UserId, tt.userIDPrefix) ||
				!strings.HasSuffix(*out.UserId, tt.userIDSessionOf) {
				t.Errorf("got account %s arn %s user id %s", *out.Account, *out.Arn, *out.UserId)
			}
		})
	}
}

func TestAssumeRole(t *testing.T) {
	e := newEnv(t, nil, Options{})
	member := e.assumeRole(exProd)
	root := e.assumeRoot(exProd, "IAMAuditRootUserCredentials")
	tests := []struct {
		name     string
		c        clients
		account  string
		role     string
		duration int32
		wantCode string
	}{
		{"default role", e.mgmt, exProd, DefaultRole, 0, ""},
		{"custom role", e.mgmt, exInvited, "AuditRole", 900, ""},
		{"role not in account", e.mgmt, exInvited, DefaultRole, 0, "AccessDenied"},
		{"suspended account", e.mgmt, exSuspended, DefaultRole, 0, "AccessDenied"},
		{"account outside the organization", e.mgmt, "999999999999", DefaultRole, 0, "AccessDenied"},
		{"from a member account", member, exProdEU, DefaultRole, 0, "AccessDenied"},
		{"from a root session", root, exProdEU, DefaultRole, 0, "AccessDenied"},
		{"longer than the role allows", e.mgmt, exProd, DefaultRole, 7200, "ValidationError"},
		{"too short", e.mgmt, exProd, DefaultRole, 899, "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &sts.AssumeRoleInput{
				RoleArn:         aws.String("arn:aws:iam::" + tt.account + ":role/" + tt.role),
				RoleSessionName: aws.String("alice"),
			}
			if tt.duration != 0 {
				in.DurationSeconds = aws.Int32(tt.duration)
			}
			out, err := tt.c.sts.AssumeRole(t.Context(), in)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantARN := "arn:aws:sts::" + tt.account + ":assumed-role/" + tt.role + "/alice"
			if *out.AssumedRoleUser.Arn != wantARN || !strings.HasSuffix(*out.AssumedRoleUser.AssumedRoleId, ":alice") {
				t.Errorf("assumed role user %s %s", *out.AssumedRoleUser.Arn, *out.AssumedRoleUser.AssumedRoleId)
			}
			id, err := e.clientsFor(out.Credentials).sts.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
			if err != nil || *id.Arn != wantARN {
				t.Fatalf("caller identity %v, %v", id, err)
			}
		})
	}
}

// TestAssumeRootRules: who may open a root session on what, as the STS and
// IAM documentation states it.
func TestAssumeRootRules(t *testing.T) {
	clk := newClock()
	noSessions := exampleScenario(t)
	noSessions.Organization.Features = []string{FeatureRootCredentialsManagement}
	e := newEnv(t, nil, Options{Now: clk.now})
	disabled := newEnv(t, noSessions, Options{})
	delegated := e.assumeRole(exSecurity)
	member := e.assumeRole(exProd)
	root := e.assumeRoot(exProd, "IAMDeleteRootUserCredentials")

	const audit = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"
	tests := []struct {
		name     string
		c        clients
		target   string
		policy   string
		duration *int32
		wantCode string
		wantDur  time.Duration
	}{
		{"management account", e.mgmt, exProd, audit, nil, "", 900 * time.Second},
		{"delegated administrator", delegated, exProdEU, audit, nil, "", 900 * time.Second},
		{"target as root ARN", e.mgmt, "arn:aws:iam::333333333333:root", audit, nil, "", 900 * time.Second},
		{"shorter session", e.mgmt, exProd, audit, aws.Int32(60), "", time.Minute},
		{"each task policy: create password", e.mgmt, exProd, TaskPolicyARN("IAMCreateRootUserPassword"), nil, "", 900 * time.Second},
		{"each task policy: delete credentials", e.mgmt, exProd, TaskPolicyARN("IAMDeleteRootUserCredentials"), nil, "", 900 * time.Second},
		{"each task policy: S3 unlock", e.mgmt, exProd, TaskPolicyARN("S3UnlockBucketPolicy"), nil, "", 900 * time.Second},
		{"each task policy: SQS unlock", e.mgmt, exProd, TaskPolicyARN("SQSUnlockQueuePolicy"), nil, "", 900 * time.Second},
		{"from a member account", member, exProdEU, audit, nil, "AccessDenied", 0},
		{"from a root session", root, exProdEU, audit, nil, "AccessDenied", 0},
		{"targeting the management account", e.mgmt, exMgmt, audit, nil, "AccessDenied", 0},
		{"account outside the organization", e.mgmt, "999999999999", audit, nil, "AccessDenied", 0},
		{"suspended account", e.mgmt, exSuspended, audit, nil, "AccessDenied", 0},
		{"closed account", e.mgmt, exClosed, audit, nil, "AccessDenied", 0},
		{"RootSessions disabled", disabled.mgmt, exProd, audit, nil, "AccessDenied", 0},
		{"not a task policy", e.mgmt, exProd, "arn:aws:iam::aws:policy/AdministratorAccess", nil, "ValidationError", 0},
		{"unknown task policy", e.mgmt, exProd, TaskPolicyARN("IAMEverything"), nil, "ValidationError", 0},
		{"duration 901", e.mgmt, exProd, audit, aws.Int32(901), "ValidationError", 0},
		{"target not an account", e.mgmt, "prod", audit, nil, "ValidationError", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.c.sts.AssumeRoot(t.Context(), &sts.AssumeRootInput{
				TargetPrincipal: aws.String(tt.target),
				TaskPolicyArn:   &ststypes.PolicyDescriptorType{Arn: aws.String(tt.policy)},
				DurationSeconds: tt.duration,
			})
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode)
				if tt.wantCode == "AccessDenied" {
					wantStatus(t, err, http.StatusForbidden)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cr := out.Credentials
			if !strings.HasPrefix(*cr.AccessKeyId, "ASIA") || len(*cr.AccessKeyId) != 20 || len(*cr.SecretAccessKey) != 40 || *cr.SessionToken == "" {
				t.Errorf("credentials %s %s %s", *cr.AccessKeyId, *cr.SecretAccessKey, *cr.SessionToken)
			}
			if got := cr.Expiration.Sub(clk.now()); got != tt.wantDur {
				t.Errorf("expires in %v, want %v", got, tt.wantDur)
			}
		})
	}
}

// TestSessionExpiry: requests signed with an expired session fail with
// ExpiredToken (ExpiredTokenException in Organizations).
func TestSessionExpiry(t *testing.T) {
	clk := newClock()
	e := newEnv(t, nil, Options{Now: clk.now})
	ctx := t.Context()
	out, err := e.mgmt.sts.AssumeRoot(ctx, &sts.AssumeRootInput{
		TargetPrincipal: aws.String(exProd),
		TaskPolicyArn:   &ststypes.PolicyDescriptorType{Arn: aws.String(TaskPolicyARN("IAMAuditRootUserCredentials"))},
		DurationSeconds: aws.Int32(60),
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.now().Add(time.Minute); !out.Credentials.Expiration.Equal(want) {
		t.Errorf("expiration %v, want %v", out.Credentials.Expiration, want)
	}
	root := e.clientsFor(out.Credentials)
	role := e.assumeRole(exProd)
	if _, err := root.iam.GetUser(ctx, &iam.GetUserInput{}); err != nil {
		t.Fatal(err)
	}
	clk.advance(61 * time.Second)
	_, err = root.iam.GetUser(ctx, &iam.GetUserInput{})
	wantCode(t, err, "ExpiredToken")
	wantStatus(t, err, http.StatusForbidden)
	_, err = root.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "ExpiredToken")
	if _, err := role.orgs.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{}); err != nil {
		t.Fatalf("role session (1 hour) expired early: %v", err)
	}
	clk.advance(time.Hour)
	_, err = role.orgs.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	wantCode(t, err, "ExpiredTokenException")
}
