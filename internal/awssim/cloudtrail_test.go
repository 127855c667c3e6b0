package awssim

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// jsonPaths lists the paths of every value in a JSON document
// (a.b.c; array elements as a[]).
func jsonPaths(v any, prefix string, out map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = true
			jsonPaths(x, p, out)
		}
	case []any:
		for _, x := range v {
			jsonPaths(x, prefix+"[]", out)
		}
	}
}

func decodeRecord(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return m
}

// get reads a dotted path of a decoded record.
func get(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		mm, _ := v.(map[string]any)
		v = mm[k]
	}
	return v
}

// findRecord returns the only record of an event name.
func findRecord(t *testing.T, srv *Server, name string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, raw := range srv.TrailRecords() {
		if m := decodeRecord(t, raw); m["eventName"] == name {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s records, want 1", len(found), name)
	}
	return found[0]
}

// TestTrailRecordsMatchDocumented: AssumeRoot, called by a role session
// of the IAM delegated administrator on a Regional endpoint, and a call of
// the root session it opened are recorded with every field of AWS's
// documented records (testdata/cloudtrail, see SOURCES.md), with the
// values those records say: the AssumeRoot record in the caller's account
// and the endpoint's Region, the session's call in the member account as
// Root, joined only by the access key id.
func TestTrailRecordsMatchDocumented(t *testing.T) {
	clk := newClock()
	e := newEnv(t, resourceScenario(t), Options{Now: clk.now})
	admin := e.assumeRole(exSecurity)
	regional := sts.NewFromConfig(aws.Config{Region: "us-west-2", Credentials: admin.sts.Options().Credentials,
		BaseEndpoint: aws.String(e.url), Retryer: func() aws.Retryer { return aws.NopRetryer{} }})
	issued := clk.now()
	out, err := regional.AssumeRoot(t.Context(), &sts.AssumeRootInput{
		TargetPrincipal: aws.String(exProd),
		TaskPolicyArn:   &ststypes.PolicyDescriptorType{Arn: aws.String(TaskPolicyARN("S3UnlockBucketPolicy"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	clk.advance(96 * time.Second)
	root := e.resources(out.Credentials, "us-east-1")
	if _, err := root.s3.DeleteBucketPolicy(t.Context(), &s3.DeleteBucketPolicyInput{Bucket: aws.String("prod-logs")}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		doc, event string
		ignore     []string // documented paths specific to the example's request
	}{
		{"assumeroot-management-account.json", "AssumeRoot", nil},
		{"root-session-deletebucketpolicy.json", "DeleteBucketPolicy", []string{"requestParameters.policy", "tlsDetails"}},
	} {
		raw, err := os.ReadFile(filepath.Join("testdata", "cloudtrail", tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		want, got := map[string]bool{}, map[string]bool{}
		jsonPaths(decodeRecord(t, raw), "", want)
		jsonPaths(findRecord(t, e.srv, tc.event), "", got)
	paths:
		for p := range want {
			for _, ig := range tc.ignore {
				if p == ig || strings.HasPrefix(p, ig+".") {
					continue paths
				}
			}
			if !got[p] {
				t.Errorf("%s record lacks %s, which %s has", tc.event, p, tc.doc)
			}
		}
	}

	ar := findRecord(t, e.srv, "AssumeRoot")
	key := aws.ToString(out.Credentials.AccessKeyId)
	checks := map[string]any{
		"awsRegion":                                     "us-west-2",
		"recipientAccountId":                            exSecurity,
		"userIdentity.type":                             "AssumedRole",
		"userIdentity.accountId":                        exSecurity,
		"userIdentity.sessionContext.assumedRoot":       "true",
		"requestParameters.targetPrincipal":             exProd,
		"requestParameters.taskPolicyArn.arn":           "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy",
		"responseElements.credentials.accessKeyId":      key,
		"responseElements.credentials.sessionToken":     aws.ToString(out.Credentials.SessionToken),
		"responseElements.credentials.expiration":       aws.ToTime(out.Credentials.Expiration).UTC().Format("Jan 2, 2006, 3:04:05 PM"),
		"eventSource":                                   "sts.amazonaws.com",
		"eventTime":                                     issued.Format(time.RFC3339),
		"userIdentity.sessionContext.sessionIssuer.arn": "arn:aws:iam::" + exSecurity + ":role/" + DefaultRole,
	}
	for p, want := range checks {
		if got := get(ar, p); got != want {
			t.Errorf("AssumeRoot %s = %v, want %v", p, got, want)
		}
	}
	sr := findRecord(t, e.srv, "DeleteBucketPolicy")
	checks = map[string]any{
		"awsRegion":                "us-east-1",
		"recipientAccountId":       exProd,
		"userIdentity.type":        "Root",
		"userIdentity.principalId": exProd,
		"userIdentity.arn":         "arn:aws:iam::" + exProd + ":root",
		"userIdentity.accessKeyId": key,
		"userIdentity.sessionContext.attributes.creationDate": issued.Format(time.RFC3339),
		"requestParameters.bucketName":                        "prod-logs",
		"eventSource":                                         "s3.amazonaws.com",
	}
	for p, want := range checks {
		if got := get(sr, p); got != want {
			t.Errorf("DeleteBucketPolicy %s = %v, want %v", p, got, want)
		}
	}
	if get(sr, "userIdentity.sessionContext.sessionIssuer") != nil || get(sr, "userIdentity.sessionContext.assumedRoot") != nil {
		t.Errorf("the root session's record names its issuer: %v", sr["userIdentity"])
	}
}

// TestTrailRecordsEveryCall: each call answered for an authenticated
// principal is one record, failures with their error code; IAM and
// Organizations are recorded in us-east-1; unauthenticated calls are not
// recorded.
func TestTrailRecordsEveryCall(t *testing.T) {
	e := newEnv(t, nil, Options{})
	ctx := t.Context()
	if _, err := e.mgmt.iam.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{}); err != nil {
		t.Fatal(err)
	}
	sess := e.assumeRoot(exProd, "IAMAuditRootUserCredentials")
	_, err := sess.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String("AKIAEXAMPLEKEY000001")})
	if errCode(err) != "AccessDenied" {
		t.Fatalf("DeleteAccessKey in an audit session: %v", err)
	}
	bad := newClients(e.url, "AKIAUNKNOWN000000000", "secret", "")
	if _, err := bad.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
		t.Fatal("unknown key accepted")
	}
	var names []string
	for _, raw := range e.srv.TrailRecords() {
		m := decodeRecord(t, raw)
		names = append(names, m["eventName"].(string))
		if m["eventName"] == "DeleteAccessKey" {
			if m["errorCode"] != "AccessDenied" || m["awsRegion"] != "us-east-1" || get(m, "userIdentity.type") != "Root" ||
				m["recipientAccountId"] != exProd || get(m, "requestParameters.accessKeyId") != "AKIAEXAMPLEKEY000001" {
				t.Errorf("DeleteAccessKey record %v", m)
			}
		}
		if m["eventName"] == "GetAccountSummary" && (get(m, "userIdentity.type") != "IAMUser" || m["readOnly"] != true) {
			t.Errorf("GetAccountSummary record %v", m)
		}
	}
	if want := []string{"GetAccountSummary", "AssumeRoot", "DeleteAccessKey"}; !slices.Equal(names, want) {
		t.Errorf("records %q, want %q", names, want)
	}
	events := e.srv.TrailEvents()
	if len(events) != 3 {
		t.Fatalf("%d events", len(events))
	}
	ev := decodeRecord(t, events[2])
	if ev["detail-type"] != "AWS API Call via CloudTrail" || ev["source"] != "aws.iam" || ev["account"] != exProd ||
		get(ev, "detail.eventName") != "DeleteAccessKey" {
		t.Errorf("event %v", ev)
	}
}

var reTrailKey = regexp.MustCompile(`^AWSLogs/o-exampleorg1/(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4}/\d{2}/\d{2})/(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4}Z)_[0-9A-F]{16}\.json\.gz$`)

// TestTrailBucket: the records are in the trail bucket in the
// organization trail's layout, each once, readable by the management
// account through ListObjectsV2 (with a delimiter, as a walker lists
// folder by folder) and GetObject; an object never changes once listed,
// later records go to new objects; other accounts are refused.
func TestTrailBucket(t *testing.T) {
	clk := newClock()
	e := newEnv(t, nil, Options{Now: clk.now})
	ctx := t.Context()
	sess := e.assumeRoot(exProd, "IAMAuditRootUserCredentials")
	if _, err := sess.iam.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{}); err != nil {
		t.Fatal(err)
	}
	mgmt := e.resources(nil, "us-east-1").s3
	bucket := aws.String(e.srv.TrailBucket())

	listAll := func() map[string][]any {
		t.Helper()
		objects := map[string][]any{}
		var walk func(prefix string)
		walk = func(prefix string) {
			p := s3.NewListObjectsV2Paginator(mgmt, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String(prefix),
				Delimiter: aws.String("/"), MaxKeys: aws.Int32(1)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, cp := range page.CommonPrefixes {
					walk(aws.ToString(cp.Prefix))
				}
				for _, o := range page.Contents {
					k := aws.ToString(o.Key)
					got, err := mgmt.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: o.Key})
					if err != nil {
						t.Fatal(err)
					}
					zr, err := gzip.NewReader(got.Body)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(zr)
					var doc struct{ Records []any }
					if err := json.Unmarshal(b, &doc); err != nil {
						t.Fatal(err)
					}
					if int64(len(b)) == 0 || aws.ToInt64(o.Size) == 0 {
						t.Errorf("%s: empty", k)
					}
					objects[k] = doc.Records
				}
			}
		}
		walk("")
		return objects
	}
	first := listAll()
	check := func(objects map[string][]any, want int) {
		t.Helper()
		n := 0
		for k, recs := range objects {
			m := reTrailKey.FindStringSubmatch(k)
			if m == nil || m[1] != m[4] || m[2] != m[5] {
				t.Errorf("key %s is not in the organization trail's layout", k)
				continue
			}
			for _, r := range recs {
				rec := r.(map[string]any)
				if rec["recipientAccountId"] != m[1] || rec["awsRegion"] != m[2] {
					t.Errorf("%s holds a record of %v in %v", k, rec["recipientAccountId"], rec["awsRegion"])
				}
				n++
			}
		}
		if n != want {
			t.Errorf("%d records in the bucket, want %d", n, want)
		}
	}
	check(first, 2) // AssumeRoot in the management account, GetAccountSummary in prod
	if len(first) != 2 {
		t.Errorf("objects %v", first)
	}

	clk.advance(time.Minute)
	if _, err := sess.iam.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{}); err != nil {
		t.Fatal(err)
	}
	second := listAll()
	check(second, 3)
	for k, recs := range first {
		if len(second[k]) != len(recs) {
			t.Errorf("%s changed after it was listed", k)
		}
	}
	if len(second) != 3 {
		var keys []string
		for k := range second {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Errorf("objects %q, want a new one for the later record", keys)
	}

	role := e.resources(e.session(exProd, ""), "us-east-1").s3
	_, err := role.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket})
	if errCode(err) != "AccessDenied" {
		t.Errorf("a member account lists the trail bucket: %v", err)
	}
	if _, err := mgmt.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("AWSLogs/nope.json.gz")}); errCode(err) != "NoSuchKey" {
		t.Errorf("missing key: %v", err)
	}
}
