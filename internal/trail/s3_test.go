package trail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

const (
	testBucket = "trail-bucket"
	testOrg    = "o-abc123def4"
	acctA      = "111111111111"
	acctB      = "222222222222"
	acctSolo   = "333333333333" // an account trail, without an org id
	acctTeam   = "444444444444" // an account trail under a key prefix
)

var (
	testRegions = []string{"us-east-1", "eu-west-1"}
	testDays    = []string{"2024/03/01", "2024/03/02", "2024/03/05"}
)

// eventKey is the key CloudTrail gives a log file it delivers.
func eventKey(base, acct, region, day string) string {
	return base + acct + "/CloudTrail/" + region + "/" + day + "/" +
		acct + "_CloudTrail_" + region + "_" + strings.ReplaceAll(day, "/", "") + "T0005Z_abc.json.gz"
}

// orgKeys lists the organization trail's event keys for every combination.
func orgKeys(accts, regions, days []string) []string {
	var keys []string
	for _, a := range accts {
		for _, r := range regions {
			for _, d := range days {
				keys = append(keys, eventKey("AWSLogs/"+testOrg+"/", a, r, d))
			}
		}
	}
	return keys
}

var (
	soloKey    = eventKey("AWSLogs/", acctSolo, "us-east-1", "2024/03/02")
	teamKey    = eventKey("team-trail/AWSLogs/", acctTeam, "us-west-2", "2024/03/01")
	exportKeys = []string{"exports/2024/events.json", "exports/2024/more.jsonl.gz"}
)

// testObjects is the bucket's content: an organization trail across two
// accounts, two regions and three days with its digests and insights, an
// account trail, an account trail under a key prefix, and a folder of
// exports outside the layout.
func testObjects() map[string]string {
	objs := map[string]string{}
	for _, k := range orgKeys([]string{acctA, acctB}, testRegions, testDays) {
		objs[k] = `{"Records":[{"eventName":"` + k + `"}]}`
	}
	objs[soloKey] = `{"Records":[]}`
	objs[teamKey] = `{"Records":[]}`
	for _, k := range exportKeys {
		objs[k] = `{"eventName":"ConsoleLogin"}` + "\n"
	}
	objs["exports/readme.txt"] = "not events"
	for _, a := range []string{acctA, acctB} {
		for _, r := range testRegions {
			objs["AWSLogs/"+testOrg+"/"+a+"/CloudTrail-Digest/"+r+"/2024/03/01/"+a+"_CloudTrail-Digest_"+r+"_trail_us-east-1_20240301T000000Z.json.gz"] = `{"digest":true}`
		}
		objs["AWSLogs/"+testOrg+"/"+a+"/CloudTrail-Insight/us-east-1/2024/03/01/"+a+"_CloudTrail-Insight_us-east-1_20240301T0000Z_abc.json.gz"] = `{"Records":[]}`
	}
	objs["AWSLogs/"+acctSolo+"/CloudTrail-Digest/us-east-1/2024/03/02/"+acctSolo+"_CloudTrail-Digest_us-east-1_t_us-east-1_20240302T000000Z.json.gz"] = `{}`
	return objs
}

// newTestS3 starts a local S3 server holding testObjects and returns a
// real SDK client for it.
func newTestS3(t *testing.T) *s3.Client {
	t.Helper()
	faker := gofakes3.New(s3mem.New())
	srv := httptest.NewServer(faker.Server())
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
	ctx := t.Context()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	for k, v := range testObjects() {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(k), Body: strings.NewReader(v)}); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	return client
}

// walkNames returns the sorted names WalkS3 yields.
func walkNames(t *testing.T, api S3API, uri string, f Filter) []string {
	t.Helper()
	var names []string
	if err := WalkS3(t.Context(), api, uri, f, func(o Object) error {
		names = append(names, o.Name)
		return nil
	}); err != nil {
		t.Fatalf("WalkS3(%s): %v", uri, err)
	}
	slices.Sort(names)
	return names
}

func s3Names(keys ...[]string) []string {
	var names []string
	for _, ks := range keys {
		for _, k := range ks {
			names = append(names, "s3://"+testBucket+"/"+k)
		}
	}
	slices.Sort(names)
	return names
}

func day(s string) time.Time {
	d, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestWalkS3(t *testing.T) {
	client := newTestS3(t)
	all := orgKeys([]string{acctA, acctB}, testRegions, testDays)
	orgA := "AWSLogs/" + testOrg + "/" + acctA + "/"
	root := "s3://" + testBucket + "/"
	tests := []struct {
		name string
		uri  string
		f    Filter
		want []string
	}{
		{"bucket root", root, Filter{}, s3Names(all, []string{soloKey, teamKey}, exportKeys)},
		{"bucket without slash", "s3://" + testBucket, Filter{}, s3Names(all, []string{soloKey, teamKey}, exportKeys)},
		{"account", root, Filter{Accounts: []string{acctA}},
			s3Names(orgKeys([]string{acctA}, testRegions, testDays), exportKeys)},
		{"accounts across layouts", root, Filter{Accounts: []string{acctB, acctSolo, acctTeam}},
			s3Names(orgKeys([]string{acctB}, testRegions, testDays), []string{soloKey, teamKey}, exportKeys)},
		{"region", root, Filter{Regions: []string{"eu-west-1"}},
			s3Names(orgKeys([]string{acctA, acctB}, []string{"eu-west-1"}, testDays), exportKeys)},
		{"account and region", root, Filter{Accounts: []string{acctB}, Regions: []string{"us-east-1"}},
			s3Names(orgKeys([]string{acctB}, []string{"us-east-1"}, testDays), exportKeys)},
		// One day asked for: the day before may hold its events too (a
		// file is filed under the day it was delivered), so 03/01 is
		// listed with 03/02; 03/05 is not.
		{"since until one day", root, Filter{Since: day("2024-03-02T00:00:00Z"), Until: day("2024-03-02T23:59:59Z")},
			s3Names(orgKeys([]string{acctA, acctB}, testRegions, []string{"2024/03/01", "2024/03/02"}), []string{soloKey, teamKey}, exportKeys)},
		// 03/04 asked for: 03/05 may hold its late deliveries.
		{"since until a day with no folder", root, Filter{Since: day("2024-03-04T00:00:00Z"), Until: day("2024-03-04T23:59:59Z")},
			s3Names(orgKeys([]string{acctA, acctB}, testRegions, []string{"2024/03/05"}), exportKeys)},
		// An open range lists regions whole and prunes by the key's date.
		{"since only", root, Filter{Since: day("2024-03-04T12:00:00Z")},
			s3Names(orgKeys([]string{acctA, acctB}, testRegions, []string{"2024/03/05"}), exportKeys)},
		{"until only", root, Filter{Until: day("2024-03-01T12:00:00Z")},
			s3Names(orgKeys([]string{acctA, acctB}, testRegions, []string{"2024/03/01", "2024/03/02"}), []string{soloKey, teamKey}, exportKeys)},
		// --no-prune: every key is listed whatever the filter; the events
		// are filtered after detection.
		{"no prune", root, Filter{Accounts: []string{acctA}, Regions: []string{"us-east-1"}, Since: day("2024-03-02T00:00:00Z"), Until: day("2024-03-02T23:59:59Z"), NoPrune: true},
			s3Names(all, []string{soloKey, teamKey}, exportKeys)},
		{"no prune inside an excluded account", root + orgA, Filter{Accounts: []string{acctB}, NoPrune: true}, s3Names(orgKeys([]string{acctA}, testRegions, testDays))},
		{"org prefix", root + "AWSLogs/" + testOrg, Filter{}, s3Names(all)},
		{"AWSLogs prefix", root + "AWSLogs/", Filter{}, s3Names(all, []string{soloKey})},
		{"account trail prefix", root + "AWSLogs/" + acctSolo + "/", Filter{}, s3Names([]string{soloKey})},
		{"account prefix", root + orgA, Filter{}, s3Names(orgKeys([]string{acctA}, testRegions, testDays))},
		{"account prefix excluded", root + orgA, Filter{Accounts: []string{acctB}}, nil},
		{"prefix inside a region", root + orgA + "CloudTrail/eu-west-1/", Filter{},
			s3Names(orgKeys([]string{acctA}, []string{"eu-west-1"}, testDays))},
		{"prefix inside a region excluded", root + orgA + "CloudTrail/eu-west-1/", Filter{Regions: []string{"us-east-1"}}, nil},
		{"prefix inside a region by day", root + orgA + "CloudTrail/us-east-1/2024/03", Filter{Since: day("2024-03-02T00:00:00Z"), Until: day("2024-03-02T23:59:59Z")},
			s3Names(orgKeys([]string{acctA}, []string{"us-east-1"}, []string{"2024/03/01", "2024/03/02"}))},
		{"prefix inside a day", root + orgA + "CloudTrail/us-east-1/2024/03/02/", Filter{},
			s3Names(orgKeys([]string{acctA}, []string{"us-east-1"}, []string{"2024/03/02"}))},
		{"prefix inside a day outside the dates", root + orgA + "CloudTrail/us-east-1/2024/03/05/", Filter{Since: day("2024-03-02T00:00:00Z"), Until: day("2024-03-02T23:59:59Z")}, nil},
		{"key prefix of a trail", root + "team-trail/", Filter{}, s3Names([]string{teamKey})},
		{"non-layout prefix", root + "exports/", Filter{Accounts: []string{acctA}, Regions: []string{"us-east-1"}}, s3Names(exportKeys)},
		{"non-layout prefix without slash", root + "exports", Filter{}, s3Names(exportKeys)},
		{"one file", root + exportKeys[0], Filter{}, s3Names(exportKeys[:1])},
		{"digest prefix", root + orgA + "CloudTrail-Digest/", Filter{}, nil},
		{"insight prefix", root + orgA + "CloudTrail-Insight/us-east-1/", Filter{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := walkNames(t, client, tt.uri, tt.f)
			if !slices.Equal(got, tt.want) {
				t.Errorf("WalkS3(%s) =\n  %s\nwant\n  %s", tt.uri, strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			for _, n := range got {
				if IsDigest(n) || strings.Contains(n, "CloudTrail-Insight") {
					t.Errorf("WalkS3(%s) yielded %s", tt.uri, n)
				}
			}
		})
	}
}

// recordingS3 records the prefixes listed and the objects fetched through
// a real client.
type recordingS3 struct {
	S3API
	// maxKeys, when set, forces small pages on listings without a
	// delimiter. gofakes3 repeats a common prefix on the next page when a
	// page ends inside it, which S3 does not, so delimited listings keep
	// their full pages.
	maxKeys int32

	mu     sync.Mutex
	listed []string
	gets   int
}

func (r *recordingS3) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	p := aws.ToString(in.Prefix)
	if in.Delimiter == nil {
		p += " (recursive)"
	}
	r.mu.Lock()
	r.listed = append(r.listed, p)
	r.mu.Unlock()
	if r.maxKeys > 0 && in.Delimiter == nil {
		cp := *in
		cp.MaxKeys = aws.Int32(r.maxKeys)
		in = &cp
	}
	return r.S3API.ListObjectsV2(ctx, in, optFns...)
}

func (r *recordingS3) GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	r.mu.Lock()
	r.gets++
	r.mu.Unlock()
	return r.S3API.GetObject(ctx, in, optFns...)
}

func TestWalkS3Listings(t *testing.T) {
	client := newTestS3(t)
	org := "AWSLogs/" + testOrg + "/"
	tests := []struct {
		name   string
		f      Filter
		listed []string
	}{
		{"account", Filter{Accounts: []string{acctA}}, []string{
			"",
			"AWSLogs/",
			org,
			org + acctA + "/CloudTrail/",
			org + acctA + "/CloudTrail/eu-west-1/ (recursive)",
			org + acctA + "/CloudTrail/us-east-1/ (recursive)",
			"exports/",
			"exports/2024/ (recursive)",
			"team-trail/",
			"team-trail/AWSLogs/",
		}},
		{"account region and days", Filter{Accounts: []string{acctB}, Regions: []string{"us-east-1"}, Since: day("2024-03-02T00:00:00Z"), Until: day("2024-03-02T23:59:59Z")}, []string{
			"",
			"AWSLogs/",
			org,
			org + acctB + "/CloudTrail/",
			org + acctB + "/CloudTrail/us-east-1/2024/03/01/ (recursive)",
			org + acctB + "/CloudTrail/us-east-1/2024/03/02/ (recursive)",
			org + acctB + "/CloudTrail/us-east-1/2024/03/03/ (recursive)",
			"exports/",
			"exports/2024/ (recursive)",
			"team-trail/",
			"team-trail/AWSLogs/",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordingS3{S3API: client}
			if len(walkNames(t, rec, "s3://"+testBucket+"/", tt.f)) == 0 {
				t.Fatal("WalkS3 yielded nothing")
			}
			slices.Sort(rec.listed)
			if !slices.Equal(rec.listed, tt.listed) {
				t.Errorf("listed\n  %q\nwant\n  %q", rec.listed, tt.listed)
			}
			for _, p := range rec.listed {
				for _, a := range []string{acctA, acctB, acctSolo, acctTeam} {
					if strings.Contains(p, a) && !slices.Contains(tt.f.Accounts, a) {
						t.Errorf("listed %s of excluded account %s", p, a)
					}
				}
			}
			if rec.gets != 0 {
				t.Errorf("walking fetched %d objects, want none", rec.gets)
			}
		})
	}
}

func TestWalkS3Pages(t *testing.T) {
	client := newTestS3(t)
	uri := "s3://" + testBucket + "/AWSLogs/" + testOrg + "/"
	want := walkNames(t, client, uri, Filter{})
	rec := &recordingS3{S3API: client, maxKeys: 2}
	if got := walkNames(t, rec, uri, Filter{}); !slices.Equal(got, want) {
		t.Errorf("paged walk =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	recursive := 0
	for _, p := range rec.listed {
		if strings.HasSuffix(p, " (recursive)") {
			recursive++
		}
	}
	if recursive != 4*2 { // three keys a region: two pages each
		t.Errorf("listed %d pages without a delimiter, want 8: %q", recursive, rec.listed)
	}
}

func TestWalkS3Open(t *testing.T) {
	client := newTestS3(t)
	objs := testObjects()
	rec := &recordingS3{S3API: client}
	var got []Object
	if err := WalkS3(t.Context(), rec, "s3://"+testBucket, Filter{}, func(o Object) error {
		got = append(got, o)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("WalkS3 yielded nothing")
	}
	for _, o := range got {
		key := strings.TrimPrefix(o.Name, "s3://"+testBucket+"/")
		want, ok := objs[key]
		if !ok {
			t.Errorf("unexpected object %s", o.Name)
			continue
		}
		if o.Size != int64(len(want)) {
			t.Errorf("%s: size %d, want %d", o.Name, o.Size, len(want))
		}
		rc, err := o.Open(t.Context())
		if err != nil {
			t.Fatalf("open %s: %v", o.Name, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", o.Name, err)
		}
		if !bytes.Equal(b, []byte(want)) {
			t.Errorf("%s: read %q, want %q", o.Name, b, want)
		}
	}
	if rec.gets != len(got) {
		t.Errorf("%d GetObject calls for %d objects", rec.gets, len(got))
	}
}

func TestWalkS3Errors(t *testing.T) {
	client := newTestS3(t)

	t.Run("no such bucket", func(t *testing.T) {
		err := WalkS3(t.Context(), client, "s3://no-such-bucket/AWSLogs/", Filter{}, func(Object) error { return nil })
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "NoSuchBucket" {
			t.Fatalf("err = %v, want NoSuchBucket", err)
		}
		if !strings.HasPrefix(err.Error(), "trail: list s3://no-such-bucket/AWSLogs/: ") {
			t.Errorf("err = %q, want the listed prefix named", err)
		}
	})

	t.Run("open missing object", func(t *testing.T) {
		w := &s3Walker{api: client, bucket: testBucket}
		_, err := w.object("gone.json", 1).Open(t.Context())
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "NoSuchKey" {
			t.Fatalf("err = %v, want NoSuchKey", err)
		}
	})

	t.Run("fn error stops the walk", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := WalkS3(t.Context(), client, "s3://"+testBucket+"/", Filter{}, func(Object) error {
			calls++
			return stop
		})
		if !errors.Is(err, stop) {
			t.Errorf("err = %v, want %v", err, stop)
		}
		if calls != 1 {
			t.Errorf("fn called %d times after failing, want once", calls)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := WalkS3(ctx, client, "s3://"+testBucket+"/", Filter{}, func(Object) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})

	t.Run("not s3", func(t *testing.T) {
		if err := WalkS3(t.Context(), client, "/tmp/trail", Filter{}, func(Object) error { return nil }); err == nil {
			t.Error("WalkS3 accepted a local path")
		}
	})
}

func TestParseS3URI(t *testing.T) {
	tests := []struct {
		uri            string
		bucket, prefix string
		ok             bool
	}{
		{"s3://b", "b", "", true},
		{"s3://b/", "b", "", true},
		{"s3://b/AWSLogs/o-1/", "b", "AWSLogs/o-1/", true},
		{"s3://b/a/b.json.gz", "b", "a/b.json.gz", true},
		{"s3://", "", "", false},
		{"s3:///x", "", "", false},
		{"https://b/x", "", "", false},
		{"b/x", "", "", false},
	}
	for _, tt := range tests {
		bucket, prefix, err := ParseS3URI(tt.uri)
		if (err == nil) != tt.ok || bucket != tt.bucket || prefix != tt.prefix {
			t.Errorf("ParseS3URI(%q) = %q, %q, %v; want %q, %q, ok %v", tt.uri, bucket, prefix, err, tt.bucket, tt.prefix, tt.ok)
		}
	}
}
