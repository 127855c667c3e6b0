package history

import (
	"bytes"
	"compress/gzip"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/rootguard/rootguard/internal/audit"
)

var t0 = time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)

func sample(at time.Time, accessKey bool) *audit.Report {
	root := &audit.Root{Password: false}
	outcome := audit.Pass
	if accessKey {
		root.AccessKeys = []audit.AccessKey{{ID: "AKIAEXAMPLE1", Status: "Active", Created: at.Add(-time.Hour)}}
		outcome = audit.Fail
	}
	return &audit.Report{
		StartedAt: at, FinishedAt: at.Add(42 * time.Second),
		Organization: audit.OrgInfo{ID: "o-exampleorg1", ManagementAccountID: "111111111111", FeatureSet: "ALL",
			EnabledFeatures: []string{"RootCredentialsManagement", "RootSessions"}, IAMTrustedAccess: true},
		OrgControls: []audit.Control{{ID: audit.CtlOrgRootAccess, Title: "Centralized root access enabled", Outcome: audit.Pass, Detail: "enabled"}},
		Accounts: []*audit.Account{{
			ID: "222222222222", Name: "prod", OUPath: "/Workloads/Prod", State: "ACTIVE", Method: audit.MethodAssumeRoot, Root: root,
			Controls: []audit.Control{{ID: audit.CtlNoAccessKeys, Title: "Root user has no access keys", Outcome: outcome}},
		}},
		Summary: audit.Summary{Accounts: 1, Audited: 1},
	}
}

func newS3(t *testing.T) *s3.Client {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	if _, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("rootguard-history")}); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	want := sample(t0, true)
	if err := Encode(&buf, want); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

func TestS3History(t *testing.T) {
	c := newS3(t)
	l, err := ParseLocation("s3://rootguard-history/audits/")
	if err != nil {
		t.Fatal(err)
	}
	for i, key := range []bool{false, false, true} {
		k, err := Put(t.Context(), c, l, sample(t0.Add(time.Duration(i)*24*time.Hour), key))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && k != "audits/2026/12/01/20261201T030000.000Z.jsonl.gz" {
			t.Errorf("key %s", k)
		}
	}
	// Something else in the bucket is not an audit.
	if _, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("rootguard-history"), Key: aws.String("audits/README"),
		Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	reps, keys, err := Latest(t.Context(), c, l, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 2 || !reps[0].StartedAt.Equal(t0.Add(48*time.Hour)) || keys[1] != "audits/2026/12/02/20261202T030000.000Z.jsonl.gz" {
		t.Fatalf("latest: %d reports, %v", len(reps), keys)
	}
	ch := audit.Diff(reps[1], reps[0])
	if len(ch) == 0 || ch[0].Kind != audit.ChangeAccessKeyAdded {
		t.Errorf("diff = %+v", ch)
	}
	all, _, err := Latest(t.Context(), c, l, 0)
	if err != nil || len(all) != 3 {
		t.Errorf("all: %d, %v", len(all), err)
	}
	// A damaged object is named.
	if _, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("rootguard-history"),
		Key: aws.String("audits/2026/12/09/20261209T030000Z.jsonl.gz"), Body: strings.NewReader("not json")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Latest(t.Context(), c, l, 1); err == nil || !strings.Contains(err.Error(), "s3://rootguard-history/audits/2026/12/09/20261209T030000Z.jsonl.gz") {
		t.Errorf("damaged: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"account first":  `{"record":"account","account":"1"}`,
		"unknown":        `{"record":"x"}`,
		"two orgs":       `{"record":"organization"}` + "\n" + `{"record":"organization"}`,
		"bad time":       `{"record":"organization","startedAt":"yesterday"}`,
		"no account id":  `{"record":"organization"}` + "\n" + `{"record":"account"}`,
		"not json":       "{",
		"truncated gzip": string(gzipped(`{"record":"organization"}`)[:12]),
	} {
		if _, err := Decode(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := ParseLocation("bucket/prefix"); err == nil {
		t.Error("not s3://: no error")
	}
	if _, err := ParseLocation("s3:///prefix"); err == nil {
		t.Error("no bucket: no error")
	}
}

func gzipped(s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return buf.Bytes()
}

func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	_ = Encode(&buf, sample(t0, true))
	f.Add(buf.Bytes())
	f.Add(gzipped(`{"record":"organization"}` + "\n" + `{"record":"account","account":"2"}`))
	f.Add([]byte(`{"record":"organization","startedAt":"2026-12-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := Decode(bytes.NewReader(b))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := Encode(&out, rep); err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(&out); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

// FuzzKeyTime: KeyTime reads back the time Key writes (to the
// millisecond) and refuses any other name without panicking.
func FuzzKeyTime(f *testing.F) {
	f.Add(t0.UnixMilli(), "o-exampleorg1/2026/12/01/20261201T030000.000Z.jsonl.gz")
	f.Add(int64(0), "x.jsonl.gz")
	f.Add(int64(-1), "")
	f.Fuzz(func(t *testing.T, ms int64, key string) {
		at := time.UnixMilli(ms % (1 << 42)).UTC()
		if at.Year() >= 0 && at.Year() <= 9999 {
			got, ok := KeyTime(Location{Bucket: "b", Prefix: "p"}.Key(at))
			if !ok || !got.Equal(at) {
				t.Errorf("KeyTime(Key(%s)) = %s, %v", at, got, ok)
			}
		}
		if got, ok := KeyTime(key); ok && !strings.HasSuffix(key, Suffix) {
			t.Errorf("KeyTime(%q) = %s for a name without %s", key, got, Suffix)
		}
	})
}
