package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
)

// TestRenewer: the SDK's container credentials provider reads the
// endpoint; a session nearing its end is replaced by a new one; past the
// approval's window the current session is handed out to its end, then
// nothing; a caller without the token gets nothing.
func TestRenewer(t *testing.T) {
	now := time.Date(2026, 10, 8, 1, 0, 0, 0, time.UTC)
	until := now.Add(20 * time.Minute) // the approval's window
	clock := func() time.Time { return now }
	opened := 0
	open := func(context.Context) (aws.Credentials, error) {
		if now.After(until.Add(-minSessionLeft)) {
			return aws.Credentials{}, errors.New("the approval's window has ended")
		}
		opened++
		return aws.Credentials{AccessKeyID: fmt.Sprintf("ASIARENEWED%09d", opened), SecretAccessKey: "s", SessionToken: "t",
			CanExpire: true, Expires: minTime(now.Add(15*time.Minute), until)}, nil
	}
	first, _ := open(t.Context())
	r := newRenewer(first, until, open, clock)
	srv := httptest.NewServer(r)
	defer srv.Close()
	get := func(token string) (aws.Credentials, error) {
		p := endpointcreds.New(srv.URL, func(o *endpointcreds.Options) { o.AuthorizationToken = token })
		return p.Retrieve(t.Context())
	}
	tests := []struct {
		after   time.Duration
		want    string
		wantErr bool
	}{
		{0, "ASIARENEWED000000001", false},
		{9 * time.Minute, "ASIARENEWED000000001", false},  // 6 minutes left: kept
		{11 * time.Minute, "ASIARENEWED000000002", false}, // 4 minutes left: renewed, until the window ends
		{17 * time.Minute, "ASIARENEWED000000002", false}, // window nearly over: no new session, the current one to its end
		{21 * time.Minute, "", true},                      // all over
	}
	start := now
	for _, tt := range tests {
		now = start.Add(tt.after)
		c, err := get(r.token)
		if (err != nil) != tt.wantErr || c.AccessKeyID != tt.want {
			t.Errorf("+%s: %q, %v; want %q", tt.after, c.AccessKeyID, err, tt.want)
		}
	}
	if _, err := get("wrong"); err == nil {
		t.Error("a caller without the token got credentials")
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
