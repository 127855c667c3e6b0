package org

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/rootguard/rootguard/internal/awssim"
)

// TestReadThrottled: a 500-account organization whose Organizations API
// throttles the tree walk (AWS throttles per account and operation,
// TooManyRequestsException) is read whole through NewClients, the clients
// org status, org enable and deploy use: no account and no OU is lost, and
// the throttled answers stay under half the calls. Unpaced (the SDK's
// default retryer: three attempts, jittered backoff), the same read
// failed: a list of OUs throttled three times in a row ends the walk, and
// every account is lost.
func TestReadThrottled(t *testing.T) {
	sc := awssim.GenerateScenario(500, 7)
	limits := map[string]float64{
		"organizations:ListAccountsForParent":            6,
		"organizations:ListOrganizationalUnitsForParent": 2,
	}
	srv := awssim.New(sc, awssim.Options{RateLimits: limits, Latency: 2 * time.Millisecond})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")}

	o, err := Read(t.Context(), NewClients(cfg), All)
	if err != nil {
		t.Fatalf("read (500 accounts lost): %v", err)
	}
	var ous func([]awssim.OU) int
	ous = func(l []awssim.OU) int {
		n := len(l)
		for _, ou := range l {
			n += ous(ou.OUs)
		}
		return n
	}
	if len(o.Accounts) != len(sc.Accounts) || len(o.OUs) != 1+ous(sc.Organization.OUs) {
		t.Errorf("read %d accounts and %d OUs (root included), want %d and %d", len(o.Accounts), len(o.OUs), len(sc.Accounts), 1+ous(sc.Organization.OUs))
	}
	for _, a := range sc.Accounts {
		if got := o.Account(a.ID); got == nil || got.Parent != a.OU {
			t.Errorf("account %s: read as %+v, want under %s", a.ID, got, a.OU)
		}
	}
	if len(o.Problems) != 0 || !o.SCPsRead() {
		t.Errorf("problems %v, SCPs read %v", o.Problems, o.SCPsRead())
	}
	// The pace starts at InitialPace and learns each bucket's rate from
	// its first throttles: a few per operation, then next to none.
	calls, throttled := srv.Counts(), srv.Throttled()
	var all, refused int64
	for op := range limits {
		t.Logf("%s: %d calls, %d throttled", op, calls[op], throttled[op])
		all, refused = all+calls[op], refused+throttled[op]
	}
	if refused == 0 || refused*2 > all {
		t.Errorf("%d calls, %d throttled: want some throttled (the limits bite) but under half", all, refused)
	}
}
