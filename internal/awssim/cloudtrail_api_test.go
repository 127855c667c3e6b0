package awssim

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

func (e *env) cloudTrail(c *ststypes.Credentials, region string) *cloudtrail.Client {
	akid, secret := e.srv.ManagementCredentials()
	token := ""
	if c != nil {
		akid, secret, token = aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)
	}
	return cloudtrail.NewFromConfig(aws.Config{Region: region, BaseEndpoint: aws.String(e.url),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, token),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} }})
}

// TestCloudTrailDescribe: DescribeTrails and GetTrailStatus through the
// SDK's client describe the scenario's trail as AWS would in each Region
// and account: a multi-Region trail everywhere (a shadow outside its home
// Region, named by ARN only), a single-Region one only at home, an
// account trail only to its account; stopped logging in GetTrailStatus.
func TestCloudTrailDescribe(t *testing.T) {
	ctx := t.Context()
	arn := "arn:aws:cloudtrail:us-east-1:" + exMgmt + ":trail/" + trailName
	for _, tc := range []struct {
		name    string
		trail   Trail
		region  string
		member  bool // the call is made by a role session in a member account
		visible bool
		multi   bool
		org     bool
		logging bool
	}{
		{"default, home", Trail{}, "us-east-1", false, true, true, true, true},
		{"default, shadow", Trail{}, "eu-west-1", false, true, true, true, true},
		{"default, member account", Trail{}, "us-east-1", true, true, true, true, true},
		{"none", Trail{None: true}, "us-east-1", false, false, false, false, false},
		{"single Region, home", Trail{SingleRegion: true}, "us-east-1", false, true, false, true, true},
		{"single Region, elsewhere", Trail{SingleRegion: true}, "eu-west-1", false, false, false, false, false},
		{"account trail, member", Trail{AccountOnly: true}, "us-east-1", true, false, false, false, false},
		{"account trail, management", Trail{AccountOnly: true}, "us-east-1", false, true, true, false, true},
		{"stopped", Trail{Stopped: true}, "us-east-1", false, true, true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := exampleScenario(t)
			sc.Trail = tc.trail
			e := newEnv(t, sc, Options{})
			var creds *ststypes.Credentials
			if tc.member {
				creds = e.session(exProd, "")
			}
			ct := e.cloudTrail(creds, tc.region)
			out, err := ct.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.TrailList) != map[bool]int{true: 1}[tc.visible] {
				t.Fatalf("trails %+v, visible %v", out.TrailList, tc.visible)
			}
			if !tc.visible {
				return
			}
			tr := out.TrailList[0]
			if aws.ToString(tr.TrailARN) != arn || aws.ToBool(tr.IsMultiRegionTrail) != tc.multi || aws.ToBool(tr.IsOrganizationTrail) != tc.org ||
				aws.ToString(tr.HomeRegion) != "us-east-1" || aws.ToString(tr.S3BucketName) != e.srv.TrailBucket() || !aws.ToBool(tr.IncludeGlobalServiceEvents) {
				t.Errorf("trail %+v", tr)
			}
			st, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: tr.TrailARN})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToBool(st.IsLogging) != tc.logging || st.StartLoggingTime == nil || (st.StopLoggingTime != nil) == tc.logging {
				t.Errorf("status %+v", st)
			}
			_, err = ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(trailName)})
			if home := tc.region == "us-east-1" && !tc.member; home != (err == nil) {
				t.Errorf("GetTrailStatus by name (home trail: %v): %v", home, err)
			} else if err != nil {
				wantCode(t, err, "TrailNotFoundException")
			}
		})
	}
}

// TestCloudTrailRecordsWhatTheTrailLogs: a call is in the bucket only if
// the scenario's trail records it.
func TestCloudTrailRecordsWhatTheTrailLogs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		trail Trail
		want  []string // event names recorded
	}{
		{"default", Trail{}, []string{"GetAccountSummary", "AssumeRoot", "ListBuckets"}},
		{"none", Trail{None: true}, nil},
		{"stopped", Trail{Stopped: true}, nil},
		{"single Region", Trail{SingleRegion: true}, []string{"GetAccountSummary", "AssumeRoot"}},
		{"no global service events", Trail{NoGlobalServiceEvents: true}, []string{"AssumeRoot", "ListBuckets"}},
		{"account trail", Trail{AccountOnly: true}, []string{"GetAccountSummary", "AssumeRoot"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := exampleScenario(t)
			sc.Trail = tc.trail
			e := newEnv(t, sc, Options{})
			ctx := t.Context()
			if _, err := e.mgmt.iam.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{}); err != nil {
				t.Fatal(err)
			}
			creds := e.session(exProd, "S3UnlockBucketPolicy") // AssumeRoot signed for us-east-1
			if _, err := e.resources(creds, "eu-west-1").s3.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, raw := range e.srv.TrailRecords() {
				got = append(got, decodeRecord(t, raw)["eventName"].(string))
			}
			if len(got) != len(tc.want) {
				t.Fatalf("recorded %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("recorded %q, want %q", got, tc.want)
				}
			}
		})
	}
}
