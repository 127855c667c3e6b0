package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	s3hist "github.com/rootguard/rootguard/internal/history"
)

// TestS3History: the history the scheduled audit writes to S3 (gofakes3,
// through the SDK's S3 client) is listed newest first with each run's
// summary, each audit reads back, and the overview draws its trend.
func TestS3History(t *testing.T) {
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer srv.Close()
	c := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	if _, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("rootguard-history")}); err != nil {
		t.Fatal(err)
	}
	loc := s3hist.Location{Bucket: "rootguard-history", Prefix: "audits"}
	runs := history(exampleReport(t), 4)
	for _, rep := range runs {
		if _, err := s3hist.Put(t.Context(), c, loc, rep); err != nil {
			t.Fatal(err)
		}
	}

	h := NewS3History(c, loc)
	infos, err := h.Audits(t.Context(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 3 {
		t.Fatalf("%d audits listed, want the 3 newest", len(infos))
	}
	for i, info := range infos {
		want := runs[len(runs)-1-i]
		if !info.StartedAt.Equal(want.StartedAt) || info.OrgID != want.Organization.ID || info.Accounts != len(want.Accounts) {
			t.Errorf("audit %d: %+v, want started %s, org %s, %d accounts", i, info, want.StartedAt, want.Organization.ID, len(want.Accounts))
		}
		if wantID := want.StartedAt.UTC().Format("20060102150405"); fmt.Sprint(info.ID) != wantID {
			t.Errorf("audit %d: id %d, want %s", i, info.ID, wantID)
		}
		rep, err := h.LoadAudit(t.Context(), info.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Accounts) != len(want.Accounts) || rep.Summary.RootCredentialsGone != want.Summary.RootCredentialsGone {
			t.Errorf("audit %d read back: %d accounts, %d without credentials; want %d, %d", i,
				len(rep.Accounts), rep.Summary.RootCredentialsGone, len(want.Accounts), want.Summary.RootCredentialsGone)
		}
	}
	org := runs[0].Organization.ID
	if orgs, err := h.Orgs(t.Context()); err != nil || len(orgs) != 1 || orgs[0] != org {
		t.Errorf("Orgs = %v, %v; want [%s]", orgs, err, org)
	}
	if infos, err := h.OrgAudits(t.Context(), org, 0); err != nil || len(infos) != 4 {
		t.Errorf("OrgAudits(%s) = %d audits, %v; want 4", org, len(infos), err)
	}
	if infos, err := h.OrgAudits(t.Context(), "o-nosuchorg01", 2); err != nil || len(infos) != 0 {
		t.Errorf("OrgAudits of another organization = %+v, %v; want none", infos, err)
	}
	if _, err := h.LoadAudit(t.Context(), 1); err == nil || !strings.Contains(err.Error(), "no audit 1") {
		t.Errorf("an unknown id: %v", err)
	}

	s, err := New(Options{Token: testToken, History: h, Runs: 4})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	resp, body := get(t, hs.URL+"/", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testToken) })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("overview: %d\n%s", resp.StatusCode, body)
	}
	m := regexp.MustCompile(`<svg[^>]*id="trend"[\s\S]*?<polygon[^>]*points="([^"]*)"`).FindStringSubmatch(body)
	if m == nil || len(strings.Fields(m[1])) != 2*4 {
		t.Errorf("overview from S3: want a trend of the 4 audits (8 points a band), got %q", m)
	}
}
