package deploy

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rootguard/rootguard/internal/awssim"
)

// TestCheckTrail reads awssim's organization trail through the SDK's
// CloudTrail client, as the management account, and says what each kind
// of trail lacks.
func TestCheckTrail(t *testing.T) {
	arn := "arn:aws:cloudtrail:us-east-1:" + mgmtAccount + ":trail/awssim-org-trail"
	for _, tc := range []struct {
		name    string
		trail   awssim.Trail
		region  string
		root    bool // call with a root session, which may not read trails
		action  Action
		missing []string // a phrase of each thing missing, in order
	}{
		{"logging multi-Region organization trail", awssim.Trail{}, "eu-west-1", false, TrailPresent, nil},
		{"none", awssim.Trail{None: true}, "us-east-1", false, TrailMissing, []string{"no CloudTrail trail is visible in us-east-1"}},
		{"stopped", awssim.Trail{Stopped: true}, "us-east-1", false, TrailMissing, []string{"is not logging"}},
		{"single Region, seen from another", awssim.Trail{SingleRegion: true}, "eu-west-1", false, TrailMissing, []string{"no CloudTrail trail is visible in eu-west-1"}},
		{"single Region, seen from its own", awssim.Trail{SingleRegion: true}, "us-east-1", false, TrailMissing, []string{"logs us-east-1 only"}},
		{"account trail without global events", awssim.Trail{AccountOnly: true, NoGlobalServiceEvents: true}, "us-east-1", false, TrailMissing,
			[]string{"not an organization trail", "leaves out global service events"}},
		{"not allowed to read", awssim.Trail{}, "us-east-1", true, TrailUnknown, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			sc.Trail = tc.trail
			srv := awssim.New(sc, awssim.Options{})
			hs := httptest.NewServer(srv)
			t.Cleanup(hs.Close)
			akid, secret := srv.ManagementCredentials()
			cfg := aws.Config{Region: tc.region, BaseEndpoint: aws.String(hs.URL),
				Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""),
				Retryer:     func() aws.Retryer { return aws.NopRetryer{} }}
			if tc.root {
				out, err := sts.NewFromConfig(cfg).AssumeRoot(t.Context(), &sts.AssumeRootInput{TargetPrincipal: aws.String(prodAccount),
					TaskPolicyArn: &ststypes.PolicyDescriptorType{Arn: aws.String(awssim.TaskPolicyARN("IAMAuditRootUserCredentials"))}})
				if err != nil {
					t.Fatal(err)
				}
				c := out.Credentials
				cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
			}
			s := CheckTrail(t.Context(), cloudtrail.NewFromConfig(cfg), tc.region)
			if s.Kind != "trail" || s.Region != tc.region || s.Action != tc.action || s.Pending() {
				t.Fatalf("step %+v", s)
			}
			if tc.action == TrailPresent && s.Name != arn {
				t.Errorf("trail %q, want %q", s.Name, arn)
			}
			if tc.action == TrailUnknown && !strings.Contains(s.Error, "AccessDenied") {
				t.Errorf("error %q", s.Error)
			}
			if len(s.Missing) != len(tc.missing) {
				t.Fatalf("missing %q, want %q", s.Missing, tc.missing)
			}
			for i, m := range tc.missing {
				if !strings.Contains(s.Missing[i], m) {
					t.Errorf("missing[%d] = %q, want %q in it", i, s.Missing[i], m)
				}
			}
		})
	}
}

// TestPlanChecksTrail: with Trails set, the plan's first step is the
// trail check, and a missing trail fails nothing.
func TestPlanChecksTrail(t *testing.T) {
	d, srv, _, _ := simDeployer(t, testConfig(), func(sc *awssim.Scenario) { sc.Trail.Stopped = true })
	akid, secret := srv.ManagementCredentials()
	var url string
	d.Trails = func(region string) TrailAPI {
		return cloudtrail.NewFromConfig(aws.Config{Region: region, BaseEndpoint: aws.String(url),
			Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")})
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	url = hs.URL
	steps, err := d.Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) == 0 || steps[0].Kind != "trail" || steps[0].Action != TrailMissing || steps[0].Region != "eu-west-1" ||
		len(steps[0].Missing) != 1 || !strings.Contains(steps[0].Missing[0], "not logging") {
		t.Fatalf("first step %+v", steps[0])
	}
}
