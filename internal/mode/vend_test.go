package mode

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/rootguard/rootguard/internal/awssim"
)

// simVendor serves the example organization and returns a Vendor for its
// management account, through the real SDK clients.
func simVendor(t *testing.T, edit func(*awssim.Scenario), timing awssim.CreateAccountTiming) (*Vendor, *awssim.Server) {
	t.Helper()
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(sc)
	}
	srv := awssim.New(sc, awssim.Options{})
	srv.SetCreateAccountTiming(timing)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""), BaseEndpoint: aws.String(hs.URL)}
	return NewVendor(cfg, nil), srv
}

var fast = awssim.CreateAccountTiming{Delay: time.Hour, Describes: 2}

func checkIDs(cs []Check, ok bool) []string {
	var ids []string
	for _, c := range cs {
		if c.OK == ok {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// TestCreateSecure creates an account in Root/Workloads/Prod, under the
// SCP that denies root and exempts root sessions: every check passes.
func TestCreateSecure(t *testing.T) {
	v, _ := simVendor(t, nil, fast)
	ctx := t.Context()
	p, err := v.Prepare(ctx, AccountRequest{Name: "payments-prod", Email: "aws-payments-prod@example.com", OU: "Workloads/Prod"})
	if err != nil {
		t.Fatal(err)
	}
	if p.OUID != "ou-ex12-prod0001" || p.OUPath != "Root/Workloads/Prod" || p.RootID != "r-ex12" || len(p.Warnings) != 0 ||
		len(p.RootDenySCPs) != 1 || p.RootDenySCPs[0].ID != "p-denyrootexempt" || !p.RootDenySCPs[0].ExemptsRootSessions ||
		!strings.Contains(strings.Join(p.Steps, "\n"), "MoveAccount from the root r-ex12 to Root/Workloads/Prod (ou-ex12-prod0001)") {
		t.Fatalf("plan %+v", p)
	}
	var states []string
	res, err := v.Create(ctx, p, CreateOptions{Poll: time.Millisecond, Progress: func(s string, _ time.Duration) { states = append(states, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(states, []string{"IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED"}) {
		t.Errorf("progress %v", states)
	}
	if !res.Secure || len(checkIDs(res.Checks, false)) > 0 || len(res.Checks) != 4 {
		t.Errorf("checks %+v", res.Checks)
	}
	if res.Account == "" || res.Root == nil || res.Root.HasCredentials() || len(res.SCPs) != 1 || len(res.Done) != 3 ||
		!strings.HasPrefix(res.Done[2], "MoveAccount r-ex12 -> Root/Workloads/Prod") {
		t.Errorf("result %+v", res)
	}
	// The new account is now known: the same email is refused.
	_, err = v.Prepare(ctx, AccountRequest{Name: "again", Email: "AWS-payments-prod@example.com", OU: "Root"})
	if !errors.Is(err, ErrEmailTaken) || !strings.Contains(err.Error(), res.Account) {
		t.Errorf("second request: %v", err)
	}
}

// TestCreateInsecure: what is not secure is reported, not hidden.
func TestCreateInsecure(t *testing.T) {
	for _, tc := range []struct {
		name, ou   string
		edit       func(*awssim.Scenario)
		warnings   []string
		failed     []string
		rootRead   bool
		detailPart string
	}{
		{name: "a blocking SCP", ou: "ou-ex12-sandbox1", warnings: []string{"SCP p-denyroot01 (DenyRootUser, on Root/Sandbox (ou-ex12-sandbox1)) denies root sessions too"},
			failed: []string{CheckRootDenySCP, CheckRootCredentials}, detailPart: "AccessDenied"},
		{name: "no root-deny SCP", ou: "Root/Security", warnings: []string{"no root-deny SCP applies to Root/Security"},
			failed: []string{CheckRootDenySCP}, rootRead: true, detailPart: "no root-deny SCP applies"},
		{name: "root access off", ou: "Root/Workloads/Prod", edit: func(sc *awssim.Scenario) { sc.Organization.Features = []string{"RootSessions"} },
			warnings: []string{"RootCredentialsManagement is not enabled"}, failed: []string{CheckRootAccess}, rootRead: true, detailPart: "not enabled: RootCredentialsManagement"},
		{name: "stays under the root", ou: "Root", warnings: []string{"no root-deny SCP applies to Root"}, failed: []string{CheckRootDenySCP}, rootRead: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := simVendor(t, tc.edit, fast)
			p, err := v.Prepare(t.Context(), AccountRequest{Name: "n", Email: "n@example.com", OU: tc.ou})
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(p.Warnings, "\n")
			for _, w := range tc.warnings {
				if !strings.Contains(got, w) {
					t.Errorf("warnings lack %q:\n%s", w, got)
				}
			}
			res, err := v.Create(t.Context(), p, CreateOptions{Poll: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if res.Secure || !slices.Equal(checkIDs(res.Checks, false), tc.failed) || (res.Root != nil) != tc.rootRead {
				t.Errorf("result %+v: failed checks %v, want %v", res, checkIDs(res.Checks, false), tc.failed)
			}
			var details []string
			for _, c := range res.Checks {
				details = append(details, c.Detail)
			}
			if !strings.Contains(strings.Join(details, "\n"), tc.detailPart) {
				t.Errorf("check details lack %q: %q", tc.detailPart, details)
			}
			if tc.ou == "Root" && len(res.Done) != 2 {
				t.Errorf("an account for the root is not moved: %q", res.Done)
			}
		})
	}
}

func TestPrepareErrors(t *testing.T) {
	v, _ := simVendor(t, nil, fast)
	for _, tc := range []struct {
		req  AccountRequest
		want error
	}{
		{AccountRequest{Name: "n", Email: "n@example.com", OU: "Root/Nope"}, ErrOUNotFound},
		{AccountRequest{Name: "n", Email: "n@example.com", OU: "ou-ex12-nosuchou"}, ErrOUNotFound},
		{AccountRequest{Name: "n", Email: "aws-prod@example.com", OU: "Root"}, ErrEmailTaken},
	} {
		if _, err := v.Prepare(t.Context(), tc.req); !errors.Is(err, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.req, err, tc.want)
		}
	}
}

// TestCreateFailed: a request AWS fails after accepting it is an error
// with its reason.
func TestCreateFailed(t *testing.T) {
	v, srv := simVendor(t, nil, fast)
	p, err := v.Prepare(t.Context(), AccountRequest{Name: "n", Email: "n@example.com", OU: "Root"})
	if err != nil {
		t.Fatal(err)
	}
	srv.FailCreateAccount("n@example.com", "ACCOUNT_LIMIT_EXCEEDED")
	res, err := v.Create(t.Context(), p, CreateOptions{Poll: time.Millisecond})
	var cf *CreateFailedError
	if !errors.As(err, &cf) || cf.Reason != "ACCOUNT_LIMIT_EXCEEDED" || cf.RequestID == "" || res.RequestID != cf.RequestID || res.Account != "" {
		t.Errorf("result %+v, error %v", res, err)
	}
}

// TestCreateCancelled: the wait stops with the context, naming the
// request that goes on.
func TestCreateCancelled(t *testing.T) {
	v, _ := simVendor(t, nil, awssim.CreateAccountTiming{Delay: time.Hour})
	p, err := v.Prepare(t.Context(), AccountRequest{Name: "n", Email: "n@example.com", OU: "Root"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := v.Create(ctx, p, CreateOptions{Poll: 5 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), res.RequestID) || time.Since(start) > 5*time.Second {
		t.Errorf("error %v after %s", err, time.Since(start))
	}
}

// TestCreateAccountRetries: CreateAccount is sent again only when
// Organizations refused it for the rate. A proxy before awssim answers
// the first CreateAccount: with TooManyRequestsException without passing
// it on (retried: the account is created, awssim saw one request), or with
// a 500 after awssim accepted it (not retried: awssim saw one request, and
// the error says AWS may have accepted it and where to look).
func TestCreateAccountRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		throttle bool
	}{{"throttled", true}, {"server error after acceptance", false}} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			srv := awssim.New(sc, awssim.Options{})
			srv.SetCreateAccountTiming(fast)
			var first sync.Once
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				intercepted := false
				if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".CreateAccount") {
					first.Do(func() {
						intercepted = true
						code, typ := http.StatusBadRequest, "TooManyRequestsException"
						if !tc.throttle {
							srv.ServeHTTP(httptest.NewRecorder(), r) // accepted, and the answer lost
							code, typ = http.StatusInternalServerError, "ServiceException"
						}
						w.Header().Set("Content-Type", "application/x-amz-json-1.1")
						w.WriteHeader(code)
						fmt.Fprintf(w, `{"__type":%q,"Message":"proxy"}`, typ)
					})
				}
				if !intercepted {
					srv.ServeHTTP(w, r)
				}
			}))
			t.Cleanup(hs.Close)
			akid, secret := srv.ManagementCredentials()
			v := NewVendor(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""), BaseEndpoint: aws.String(hs.URL)}, nil)
			p, err := v.Prepare(t.Context(), AccountRequest{Name: "n", Email: "n@example.com", OU: "Root"})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Create(t.Context(), p, CreateOptions{Poll: time.Millisecond})
			if n := srv.Counts()["organizations:CreateAccount"]; n != 1 {
				t.Errorf("awssim saw %d CreateAccount requests, want 1", n)
			}
			switch {
			case tc.throttle && (err != nil || res.Account == ""):
				t.Errorf("throttled once: %v, account %q; want it created", err, res.Account)
			case !tc.throttle && (err == nil || !strings.Contains(err.Error(), "AWS may have accepted the request before this error, so it was not sent again: see aws organizations list-create-account-status")):
				t.Errorf("server error: %v; want it not retried and said so", err)
			}
		})
	}
}
