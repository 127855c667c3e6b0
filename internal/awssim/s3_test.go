package awssim

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// lockS3 is a bucket policy that denies every principal everything.
func lockS3(bucket string) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"DenyAll","Effect":"Deny","Principal":"*","Action":"s3:*",` +
		`"Resource":["arn:aws:s3:::` + bucket + `","arn:aws:s3:::` + bucket + `/*"]}]}`
}

// tlsOnly denies requests without TLS: a policy that locks no one out.
func tlsOnly(bucket string) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"TLSOnly","Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:*",` +
		`"Resource":"arn:aws:s3:::` + bucket + `/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
}

func lockSQS(arn string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"sqs:*","Resource":"` + arn + `"}]}`
}

// resourceScenario is the example scenario with buckets and queues.
func resourceScenario(t testing.TB) *Scenario {
	t.Helper()
	sc := exampleScenario(t)
	for i := range sc.Accounts {
		a := &sc.Accounts[i]
		switch a.ID {
		case exMgmt:
			a.Buckets = []S3Bucket{{Name: "mgmt-trail"}}
		case exProd:
			a.Buckets = []S3Bucket{
				{Name: "prod-logs", Versioning: "Enabled", MFADelete: "Enabled"},
				{Name: "prod-locked", Region: "eu-west-1", Policy: lockS3("prod-locked"), Versioning: "Enabled"},
				{Name: "prod-data", Region: "eu-west-1", Policy: tlsOnly("prod-data"), Versioning: "Suspended", MFADelete: "Disabled"},
			}
			a.Queues = []SQSQueue{
				{Name: "orders", Policy: lockSQS("arn:aws:sqs:us-east-1:" + exProd + ":orders")},
				{Name: "events"},
				{Name: "jobs.fifo"},
				{Name: "orders", Region: "eu-west-1"},
			}
		case exProdEU:
			a.Buckets = []S3Bucket{{Name: "eu-archive", Region: "eu-central-1"}}
		case exSandbox:
			a.Buckets = []S3Bucket{{Name: "sandbox-tmp"}}
			a.Queues = []SQSQueue{{Name: "tmp"}}
		}
	}
	return sc
}

// resourceClients are S3 and SQS clients for one set of credentials and
// region, configured as AWS_ENDPOINT_URL would (S3 path-style).
type resourceClients struct {
	s3  *s3.Client
	sqs *sqs.Client
}

func (e *env) resources(c *ststypes.Credentials, region string) resourceClients {
	akid, secret := e.srv.ManagementCredentials()
	token := ""
	if c != nil {
		akid, secret, token = aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)
	}
	cfg := aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, token),
		BaseEndpoint: aws.String(e.url),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
	return resourceClients{
		s3:  s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		sqs: sqs.NewFromConfig(cfg),
	}
}

// session opens a root session (task != "") or a role session in account.
func (e *env) session(account, task string) *ststypes.Credentials {
	e.t.Helper()
	if task == "" {
		out, err := e.mgmt.sts.AssumeRole(e.t.Context(), &sts.AssumeRoleInput{
			RoleArn:         aws.String("arn:aws:iam::" + account + ":role/" + DefaultRole),
			RoleSessionName: aws.String("awssim-test"),
		})
		if err != nil {
			e.t.Fatalf("AssumeRole %s: %v", account, err)
		}
		return out.Credentials
	}
	out, err := e.mgmt.sts.AssumeRoot(e.t.Context(), &sts.AssumeRootInput{
		TargetPrincipal: aws.String(account),
		TaskPolicyArn:   &ststypes.PolicyDescriptorType{Arn: aws.String(TaskPolicyARN(task))},
	})
	if err != nil {
		e.t.Fatalf("AssumeRoot %s %s: %v", account, task, err)
	}
	return out.Credentials
}

func bucketNames(bs []s3types.Bucket) (names, regions []string) {
	for _, b := range bs {
		names = append(names, aws.ToString(b.Name))
		regions = append(regions, aws.ToString(b.BucketRegion))
	}
	return names, regions
}

// TestS3ListBuckets: the caller's buckets in name order; regions only for
// a request with parameters, as S3 does; pages through the paginator.
func TestS3ListBuckets(t *testing.T) {
	e := newEnv(t, resourceScenario(t), Options{})
	role := e.resources(e.session(exProd, ""), "us-east-1")

	out, err := role.s3.ListBuckets(t.Context(), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	names, regions := bucketNames(out.Buckets)
	if !slices.Equal(names, []string{"prod-data", "prod-locked", "prod-logs"}) || !slices.Equal(regions, []string{"", "", ""}) {
		t.Errorf("unpaginated: %v %v", names, regions)
	}
	if out.Owner == nil || len(aws.ToString(out.Owner.ID)) != 64 || out.ContinuationToken != nil {
		t.Errorf("owner %+v, token %v", out.Owner, out.ContinuationToken)
	}

	var pages int
	names, regions = nil, nil
	p := s3.NewListBucketsPaginator(role.s3, &s3.ListBucketsInput{MaxBuckets: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		n, r := bucketNames(page.Buckets)
		names, regions = append(names, n...), append(regions, r...)
	}
	if pages != 2 || !slices.Equal(names, []string{"prod-data", "prod-locked", "prod-logs"}) ||
		!slices.Equal(regions, []string{"eu-west-1", "eu-west-1", "us-east-1"}) {
		t.Errorf("paginated: %d pages, %v %v", pages, names, regions)
	}

	out, err = role.s3.ListBuckets(t.Context(), &s3.ListBucketsInput{BucketRegion: aws.String("us-east-1")})
	if names, _ := bucketNames(out.Buckets); err != nil || !slices.Equal(names, []string{"prod-logs"}) {
		t.Errorf("bucket-region: %v %v", names, err)
	}
	out, err = role.s3.ListBuckets(t.Context(), &s3.ListBucketsInput{Prefix: aws.String("prod-lo")})
	if names, _ := bucketNames(out.Buckets); err != nil || !slices.Equal(names, []string{"prod-locked", "prod-logs"}) || aws.ToString(out.Prefix) != "prod-lo" {
		t.Errorf("prefix: %v %v", names, err)
	}
	_, err = role.s3.ListBuckets(t.Context(), &s3.ListBucketsInput{MaxBuckets: aws.Int32(0)})
	wantCode(t, err, "InvalidArgument")

	mgmt := e.resources(nil, "eu-west-1")
	out, err = mgmt.s3.ListBuckets(t.Context(), &s3.ListBucketsInput{})
	if names, _ := bucketNames(out.Buckets); err != nil || !slices.Equal(names, []string{"mgmt-trail"}) {
		t.Errorf("management account: %v %v", names, err)
	}
}

// TestS3BucketPolicy: get (NoSuchBucketPolicy 404), put (validated), get,
// delete (204), in the bucket's region only.
func TestS3BucketPolicy(t *testing.T) {
	e := newEnv(t, resourceScenario(t), Options{})
	cred := e.session(exProd, "")
	use1, euw1 := e.resources(cred, "us-east-1"), e.resources(cred, "eu-west-1")
	ctx := t.Context()

	_, err := use1.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("prod-logs")})
	wantCode(t, err, "NoSuchBucketPolicy")
	wantStatus(t, err, http.StatusNotFound)

	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-logs/*"}]}`
	if _, err := use1.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("prod-logs"), Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	got, err := use1.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("prod-logs")})
	if err != nil || aws.ToString(got.Policy) != policy {
		t.Fatalf("policy after put: %v %q", err, aws.ToString(got.Policy))
	}
	for _, bad := range []string{`not json`, `{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::prod-logs"}]}`,
		`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::other"}]}`, `{"Statement":[]}`} {
		_, err := use1.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("prod-logs"), Policy: aws.String(bad)})
		wantCode(t, err, "MalformedPolicy")
		wantStatus(t, err, http.StatusBadRequest)
	}
	del, err := use1.s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("prod-logs")})
	if err != nil {
		t.Fatal(err)
	}
	if raw, ok := awsmiddleware.GetRawResponse(del.ResultMetadata).(*smithyhttp.Response); !ok || raw.StatusCode != http.StatusNoContent ||
		raw.Header.Get("x-amz-request-id") == "" {
		t.Errorf("DeleteBucketPolicy answered %v", raw)
	}
	_, err = use1.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("prod-logs")})
	wantCode(t, err, "NoSuchBucketPolicy")
	if c := e.srv.Counts(); c["s3:PutBucketPolicy"] != 5 || c["s3:DeleteBucketPolicy"] != 1 {
		t.Errorf("counts: %v", c)
	}

	// The bucket's region only; an unknown bucket; another account's.
	_, err = use1.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("prod-data")})
	wantCode(t, err, "AuthorizationHeaderMalformed")
	if !strings.Contains(err.Error(), "expecting 'eu-west-1'") {
		t.Errorf("wrong region: %v", err)
	}
	if got, err := euw1.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("prod-data")}); err != nil || aws.ToString(got.Policy) != tlsOnly("prod-data") {
		t.Errorf("prod-data in eu-west-1: %v", err)
	}
	_, err = use1.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("no-such-bucket")})
	wantCode(t, err, "NoSuchBucket")
	wantStatus(t, err, http.StatusNotFound)
	_, err = e.resources(cred, "eu-central-1").s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("eu-archive")})
	wantCode(t, err, "AccessDenied")
	wantStatus(t, err, http.StatusForbidden)
}

func TestS3GetBucketVersioning(t *testing.T) {
	e := newEnv(t, resourceScenario(t), Options{})
	for _, tt := range []struct {
		account, bucket, region string
		status                  s3types.BucketVersioningStatus
		mfa                     s3types.MFADeleteStatus
	}{
		{exProd, "prod-logs", "us-east-1", "Enabled", "Enabled"},
		{exProd, "prod-data", "eu-west-1", "Suspended", "Disabled"},
		{exProdEU, "eu-archive", "eu-central-1", "", ""},
	} {
		c := e.resources(e.session(tt.account, ""), tt.region)
		out, err := c.s3.GetBucketVersioning(t.Context(), &s3.GetBucketVersioningInput{Bucket: aws.String(tt.bucket)})
		if err != nil || out.Status != tt.status || out.MFADelete != tt.mfa {
			t.Errorf("%s: %v status %q mfa %q, want %q %q", tt.bucket, err, out.Status, out.MFADelete, tt.status, tt.mfa)
		}
	}
}

// TestS3UnlockBucketPolicy: what an S3UnlockBucketPolicy root session may
// do, and a bucket policy denying everyone that locks out every role but
// not the root user's policy calls.
func TestS3UnlockBucketPolicy(t *testing.T) {
	e := newEnv(t, resourceScenario(t), Options{})
	ctx := t.Context()
	root := e.resources(e.session(exProd, "S3UnlockBucketPolicy"), "eu-west-1")
	role := e.resources(e.session(exProd, ""), "eu-west-1")
	locked := aws.String("prod-locked")

	out, err := root.s3.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(100)})
	if names, _ := bucketNames(out.Buckets); err != nil || len(names) != 3 {
		t.Errorf("root ListBuckets: %v %v", names, err)
	}
	_, err = root.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("prod-data")})
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "explicit deny in an identity-based policy: arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy") {
		t.Errorf("versioning denial: %v", err)
	}

	// Locked: every role call is denied, by the bucket policy.
	for name, call := range map[string]func() error{
		"GetBucketPolicy": func() error {
			_, err := role.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: locked})
			return err
		},
		"PutBucketPolicy": func() error {
			_, err := role.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: locked, Policy: aws.String(tlsOnly("prod-locked"))})
			return err
		},
		"DeleteBucketPolicy": func() error {
			_, err := role.s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: locked})
			return err
		},
		"GetBucketVersioning": func() error {
			_, err := role.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: locked})
			return err
		},
	} {
		err := call()
		wantCode(t, err, "AccessDenied")
		if !strings.Contains(err.Error(), "explicit deny in a resource-based policy") {
			t.Errorf("role %s: %v", name, err)
		}
	}
	// The root session reads and deletes it.
	got, err := root.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: locked})
	if err != nil || aws.ToString(got.Policy) != lockS3("prod-locked") {
		t.Fatalf("root GetBucketPolicy: %v", err)
	}
	if _, err := root.s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: locked}); err != nil {
		t.Fatal(err)
	}
	if _, err := role.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: locked}); err != nil {
		t.Errorf("role after unlock: %v", err)
	}
	// ... and may put a corrected one.
	if _, err := root.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: locked, Policy: aws.String(tlsOnly("prod-locked"))}); err != nil {
		t.Errorf("root PutBucketPolicy: %v", err)
	}

	// Not another account's bucket; not with another task policy; not
	// below an SCP that denies root sessions.
	_, err = e.resources(e.session(exProd, "S3UnlockBucketPolicy"), "eu-central-1").s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("eu-archive")})
	wantCode(t, err, "AccessDenied")
	for _, task := range []string{"IAMAuditRootUserCredentials", "SQSUnlockQueuePolicy"} {
		_, err := e.resources(e.session(exProd, task), "us-east-1").s3.ListBuckets(ctx, &s3.ListBucketsInput{})
		wantCode(t, err, "AccessDenied")
	}
	_, err = e.resources(e.session(exSandbox, "S3UnlockBucketPolicy"), "us-east-1").s3.ListBuckets(ctx, &s3.ListBucketsInput{})
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "service control policy") {
		t.Errorf("SCP: %v", err)
	}
}

func TestS3ScenarioValidation(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(a *Account)
		want string
	}{
		{"bad name", func(a *Account) { a.Buckets = []S3Bucket{{Name: "Bad_Name"}} }, "buckets[0].name"},
		{"duplicate", func(a *Account) { a.Buckets = []S3Bucket{{Name: "mgmt-trail"}} }, "bucket names are global"},
		{"mfa without versioning", func(a *Account) { a.Buckets = []S3Bucket{{Name: "b-1", MFADelete: "Enabled"}} }, "set versioning"},
		{"bad policy", func(a *Account) { a.Buckets = []S3Bucket{{Name: "b-1", Policy: lockS3("other")}} }, "invalid resource"},
		{"bad region", func(a *Account) { a.Buckets = []S3Bucket{{Name: "b-1", Region: "mars"}} }, "not a region"},
		{"queue twice", func(a *Account) { a.Queues = []SQSQueue{{Name: "q"}, {Name: "q", Region: "us-east-1"}} }, "duplicate in us-east-1"},
		{"queue policy", func(a *Account) { a.Queues = []SQSQueue{{Name: "q", Policy: lockSQS("arn:aws:sqs:us-east-1:1:other")}} }, "must be the queue's ARN"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sc := resourceScenario(t)
			tt.edit(&sc.Accounts[1])
			sc.applyDefaults()
			err := sc.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	sc := resourceScenario(t)
	b, err := sc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseScenario(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Accounts[2].Buckets; len(got) != 3 || got[1].Policy != lockS3("prod-locked") || got[0].Region != "us-east-1" {
		t.Errorf("round trip: %+v", got)
	}
	if got := back.Accounts[2].Queues; len(got) != 4 || got[3].Region != "eu-west-1" {
		t.Errorf("round trip: %+v", got)
	}
	if len(back.Accounts[0].Buckets) != 1 {
		t.Errorf("management bucket lost")
	}
}
