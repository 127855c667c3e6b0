package awssim

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// standardRetryer is the SDK's standard retryer with a short fixed backoff
// so that tests do not wait for its jitter.
func standardRetryer(attempts int, backoff time.Duration) func(*aws.Config) {
	return func(cfg *aws.Config) {
		cfg.Retryer = func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return backoff, nil })
			})
		}
	}
}

func assumeRootInput(account string) *sts.AssumeRootInput {
	return &sts.AssumeRootInput{
		TargetPrincipal: aws.String(account),
		TaskPolicyArn:   &ststypes.PolicyDescriptorType{Arn: aws.String(TaskPolicyARN("IAMAuditRootUserCredentials"))},
	}
}

// TestThrottling: requests over an operation's rate limit fail with the
// throttling error of their protocol when retries are off, and succeed
// through the SDK's standard retryer, which the counters show retrying.
func TestThrottling(t *testing.T) {
	ctx := t.Context()
	t.Run("retries off", func(t *testing.T) {
		e := newEnv(t, nil, Options{RateLimits: map[string]float64{"sts:AssumeRoot": 1, "organizations:ListAccounts": 1}})
		if _, err := e.mgmt.sts.AssumeRoot(ctx, assumeRootInput(exProd)); err != nil {
			t.Fatal(err)
		}
		_, err := e.mgmt.sts.AssumeRoot(ctx, assumeRootInput(exProd))
		wantCode(t, err, "Throttling")
		wantStatus(t, err, http.StatusBadRequest)
		if _, err := e.mgmt.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Errorf("unlimited operation throttled: %v", err)
		}
		if _, err := e.mgmt.orgs.ListAccounts(ctx, &organizations.ListAccountsInput{}); err != nil {
			t.Fatal(err)
		}
		_, err = e.mgmt.orgs.ListAccounts(ctx, &organizations.ListAccountsInput{})
		var tooMany *orgtypes.TooManyRequestsException
		if !errors.As(err, &tooMany) {
			t.Fatalf("err = %v, want TooManyRequestsException", err)
		}
		wantStatus(t, err, http.StatusTooManyRequests) // the SDK model's httpError
		if th := e.srv.Throttled(); th["sts:AssumeRoot"] != 1 || th["organizations:ListAccounts"] != 1 || th["sts:GetCallerIdentity"] != 0 {
			t.Errorf("throttled = %v, want one AssumeRoot and one ListAccounts", th)
		}
	})
	t.Run("standard retryer", func(t *testing.T) {
		e := newEnv(t, nil, Options{RateLimits: map[string]float64{"sts:AssumeRoot": 5, "organizations:ListAccounts": 5}})
		akid, secret := e.srv.ManagementCredentials()
		c := newClients(e.url, akid, secret, "", standardRetryer(10, 250*time.Millisecond))
		const n = 8
		for i := range n {
			if _, err := c.sts.AssumeRoot(ctx, assumeRootInput(exProd)); err != nil {
				t.Fatalf("AssumeRoot %d: %v", i, err)
			}
		}
		for i := range n {
			if _, err := c.orgs.ListAccounts(ctx, &organizations.ListAccountsInput{}); err != nil {
				t.Fatalf("ListAccounts %d: %v", i, err)
			}
		}
		counts := e.srv.Counts()
		if counts["sts:AssumeRoot"] <= n || counts["organizations:ListAccounts"] <= n {
			t.Errorf("counts %v: want retries beyond %d calls each", counts, n)
		}
		if th := e.srv.Throttled(); th["sts:AssumeRoot"] != counts["sts:AssumeRoot"]-n {
			t.Errorf("throttled %v, counts %v: every retry was of a throttled call", th, counts)
		}
	})
}

// TestFaultRate: about FaultRate of the requests fail with a server error,
// the same ones for the same seed; the standard retryer rides them out.
func TestFaultRate(t *testing.T) {
	ctx := t.Context()
	run := func(seed uint64) []bool {
		e := newEnv(t, nil, Options{FaultRate: 0.3, Seed: seed})
		var failed []bool
		for range 200 {
			_, err := e.mgmt.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err != nil {
				wantCode(t, err, "InternalFailure")
				wantStatus(t, err, http.StatusInternalServerError)
			}
			failed = append(failed, err != nil)
		}
		return failed
	}
	a, b, other := run(42), run(42), run(43)
	n := 0
	for _, f := range a {
		if f {
			n++
		}
	}
	if n < 40 || n > 80 {
		t.Errorf("%d of 200 failed at rate 0.3", n)
	}
	same := func(x, y []bool) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("the same seed failed different requests")
	}
	if same(a, other) {
		t.Error("different seeds failed the same requests")
	}

	e := newEnv(t, nil, Options{FaultRate: 0.3, Seed: 1})
	var svcErr *orgtypes.ServiceException
	for i := 0; i < 50 && svcErr == nil; i++ {
		_, err := e.mgmt.orgs.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
		if err != nil && !errors.As(err, &svcErr) {
			t.Fatalf("err = %v, want ServiceException", err)
		}
	}
	if svcErr == nil {
		t.Error("no ServiceException in 50 Organizations requests")
	}
	akid, secret := e.srv.ManagementCredentials()
	c := newClients(e.url, akid, secret, "", standardRetryer(10, time.Millisecond))
	for i := range 50 {
		if _, err := c.iam.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{}); err != nil {
			t.Fatalf("call %d through the standard retryer: %v", i, err)
		}
	}
}

// TestLatency: every answer waits Options.Latency, and a client that gives
// up first gets its context error.
func TestLatency(t *testing.T) {
	e := newEnv(t, nil, Options{Latency: 50 * time.Millisecond})
	start := time.Now()
	if _, err := e.mgmt.sts.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("answered in %v", d)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	_, err := e.mgmt.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
}

// TestCounts: requests are counted per operation, unknown operations too,
// which get their protocol's error.
func TestCounts(t *testing.T) {
	e := newEnv(t, nil, Options{})
	ctx := t.Context()
	for range 3 {
		if _, err := e.mgmt.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.mgmt.orgs.ListRoots(ctx, &organizations.ListRootsInput{}); err != nil {
		t.Fatal(err)
	}
	_, err := e.mgmt.iam.ListUsers(ctx, &iam.ListUsersInput{})
	wantCode(t, err, "InvalidAction")
	_, err = e.mgmt.orgs.ListHandshakesForAccount(ctx, &organizations.ListHandshakesForAccountInput{})
	wantCode(t, err, "UnknownOperationException")
	want := map[string]int64{"sts:GetCallerIdentity": 3, "organizations:ListRoots": 1, "iam:ListUsers": 1, "organizations:ListHandshakesForAccount": 1}
	got := e.srv.Counts()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Counts()[%s] = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("counts %v", got)
	}
}

func TestStart(t *testing.T) {
	srv := New(exampleScenario(t), Options{})
	if _, _, err := srv.Start("0.0.0.0:0"); err == nil {
		t.Error("started on a non-loopback address")
	}
	url, stop, err := srv.Start("")
	if err != nil {
		t.Fatal(err)
	}
	akid, secret := srv.ManagementCredentials()
	c := newClients(url, akid, secret, "")
	if _, err := c.sts.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if err := stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.sts.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{}); err == nil {
		t.Error("still serving after stop")
	}
}

// TestConcurrentUse drives sessions, reads and deletions from several
// goroutines at once (run with -race).
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, GenerateScenario(30, 3), Options{})
	ctx := t.Context()
	var targets []string
	for _, a := range e.srv.sc.Accounts[1:] {
		if a.State == "ACTIVE" {
			targets = append(targets, a.ID)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(targets))
	for _, id := range targets {
		wg.Go(func() {
			out, err := e.mgmt.sts.AssumeRoot(ctx, &sts.AssumeRootInput{
				TargetPrincipal: aws.String(id),
				TaskPolicyArn:   &ststypes.PolicyDescriptorType{Arn: aws.String(TaskPolicyARN("IAMDeleteRootUserCredentials"))},
			})
			if err != nil {
				errs <- err
				return
			}
			c := e.clientsFor(out.Credentials)
			keys, err := c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
			if errCode(err) == "AccessDenied" {
				return // under the deny-root SCP
			}
			if err != nil {
				errs <- err
				return
			}
			for _, k := range keys.AccessKeyMetadata {
				if _, err := c.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: k.AccessKeyId}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkAssumeRootAudit measures one privileged audit: AssumeRoot and
// four IAM reads, through the SDK over loopback HTTP.
func BenchmarkAssumeRootAudit(b *testing.B) {
	srv := New(GenerateScenario(100, 1), Options{})
	url, stop, err := srv.Start("")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stop(context.Background()) })
	akid, secret := srv.ManagementCredentials()
	mgmt := newClients(url, akid, secret, "")
	target := srv.sc.Accounts[2].ID
	ctx := b.Context()
	for b.Loop() {
		out, err := mgmt.sts.AssumeRoot(ctx, assumeRootInput(target))
		if err != nil {
			b.Fatal(err)
		}
		c := newClients(url, *out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
		if _, err := c.iam.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{}); err != nil {
			b.Fatal(err)
		}
		if _, err := c.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{}); err != nil && errCode(err) != "NoSuchEntity" {
			b.Fatal(err)
		}
		if _, err := c.iam.ListMFADevices(ctx, &iam.ListMFADevicesInput{}); err != nil {
			b.Fatal(err)
		}
		if _, err := c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(srv.Counts()["sts:AssumeRoot"])/b.Elapsed().Seconds(), "assumeroot/s")
}
