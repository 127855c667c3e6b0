package awssim

import (
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

// Accounts of testdata/scenario.yaml.
const (
	exMgmt      = "111111111111"
	exSecurity  = "222222222222" // IAM delegated administrator, root deleted
	exProd      = "333333333333" // password, no MFA, two keys; SCP with exemption
	exProdEU    = "444444444444" // passkey + virtual MFA, certificates
	exSandbox   = "555555555555" // deny-root SCP without exemption
	exSuspended = "666666666666"
	exClosed    = "777777777777"
	exInvited   = "888888888888" // AuditRole only
	exOrgID     = "o-exampleorg1"
	exRootID    = "r-ex12"
)

// clients are the three SDK clients, configured as AWS_ENDPOINT_URL would.
type clients struct {
	sts  *sts.Client
	iam  *iam.Client
	orgs *organizations.Client
}

// newClients builds the SDK clients for a server URL. Retries are off
// unless an option sets a retryer.
func newClients(url, akid, secret, token string, opts ...func(*aws.Config)) clients {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, token),
		BaseEndpoint: aws.String(url),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
	for _, o := range opts {
		o(&cfg)
	}
	return clients{sts: sts.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg), orgs: organizations.NewFromConfig(cfg)}
}

// env is a server over a scenario with clients signed by the management
// account's admin user.
type env struct {
	t    *testing.T
	srv  *Server
	url  string
	mgmt clients
}

func exampleScenario(t testing.TB) *Scenario {
	t.Helper()
	sc, err := LoadScenario("testdata/scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func newEnv(t *testing.T, sc *Scenario, opts Options) *env {
	t.Helper()
	if sc == nil {
		sc = exampleScenario(t)
	}
	srv := New(sc, opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	akid, secret := srv.ManagementCredentials()
	return &env{t: t, srv: srv, url: ts.URL, mgmt: newClients(ts.URL, akid, secret, "")}
}

func (e *env) clientsFor(c *ststypes.Credentials) clients {
	return newClients(e.url, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
}

// assumeRoot opens a root session in account with a task policy (short
// name) from the management account.
func (e *env) assumeRoot(account, task string) clients {
	e.t.Helper()
	out, err := e.mgmt.sts.AssumeRoot(e.t.Context(), &sts.AssumeRootInput{
		TargetPrincipal: aws.String(account),
		TaskPolicyArn:   &ststypes.PolicyDescriptorType{Arn: aws.String(TaskPolicyARN(task))},
	})
	if err != nil {
		e.t.Fatalf("AssumeRoot %s %s: %v", account, task, err)
	}
	return e.clientsFor(out.Credentials)
}

// assumeRole enters OrganizationAccountAccessRole in account.
func (e *env) assumeRole(account string) clients {
	e.t.Helper()
	out, err := e.mgmt.sts.AssumeRole(e.t.Context(), &sts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::" + account + ":role/" + DefaultRole),
		RoleSessionName: aws.String("awssim-test"),
	})
	if err != nil {
		e.t.Fatalf("AssumeRole %s: %v", account, err)
	}
	return e.clientsFor(out.Credentials)
}

// wantCode fails unless err is an API error with the code (and, when
// status is not 0, the HTTP status).
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want API error %s", err, code)
	}
	if apiErr.ErrorCode() != code {
		t.Fatalf("error code = %s (%v), want %s", apiErr.ErrorCode(), err, code)
	}
}

// wantStatus fails unless err carries the HTTP status.
func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want an HTTP response error", err)
	}
	if re.HTTPStatusCode() != status {
		t.Fatalf("HTTP status = %d (%v), want %d", re.HTTPStatusCode(), err, status)
	}
	if re.RequestID == "" {
		t.Errorf("no request id in %v", err)
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// errCode is the API error code of err, or "".
func errCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}
