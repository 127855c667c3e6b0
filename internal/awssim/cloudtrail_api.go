package awssim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// The CloudTrail API (JSON 1.1, X-Amz-Target CloudTrail_20131101.<op>),
// as far as `rootguard deploy plan` reads it: DescribeTrails and
// GetTrailStatus of the organization trail that awssim's records are
// delivered by (cloudtrail.go). Member names and error codes are those of
// the SDK's model (service/cloudtrail serializers, deserializers and
// types/errors.go).

const (
	svcCloudTrail          = "cloudtrail"
	cloudTrailTargetPrefix = "CloudTrail_20131101."
	// trailName is the organization trail's name; its home Region is
	// defaultRegion.
	trailName = "awssim-org-trail"
)

// Trail is the scenario's organization trail, as cloudtrail:DescribeTrails
// and GetTrailStatus describe it and as awssim records calls through it.
// The zero value (the default) is a logging, multi-Region organization
// trail, created in the management account with home Region us-east-1,
// that includes global service events.
type Trail struct {
	// None: the organization has no trail. Nothing is recorded.
	None bool `yaml:"none,omitempty"`
	// AccountOnly: a trail of the management account alone, not an
	// organization trail. Only the management account's calls are
	// recorded.
	AccountOnly bool `yaml:"accountOnly,omitempty"`
	// SingleRegion: the trail records its home Region (us-east-1) only.
	SingleRegion bool `yaml:"singleRegion,omitempty"`
	// NoGlobalServiceEvents: IAM, Organizations and STS's global endpoint
	// are not recorded (IncludeGlobalServiceEvents false).
	NoGlobalServiceEvents bool `yaml:"noGlobalServiceEvents,omitempty"`
	// Stopped: logging was stopped (cloudtrail:StopLogging). Nothing is
	// recorded.
	Stopped bool `yaml:"stopped,omitempty"`
}

// records says whether the trail records a call to svc that CloudTrail
// files in account and region; global is whether it is a global service
// event.
func (t Trail) records(mgmt, account, region string, global bool) bool {
	switch {
	case t.None, t.Stopped:
		return false
	case t.AccountOnly && account != mgmt:
		return false
	case t.SingleRegion && region != defaultRegion:
		return false
	case t.NoGlobalServiceEvents && global:
		return false
	}
	return true
}

var cloudTrailOps = map[string]handler{
	"DescribeTrails": describeTrails,
	"GetTrailStatus": getTrailStatus,
}

type cloudTrailTrail struct {
	Name                       string
	S3BucketName               string
	IncludeGlobalServiceEvents bool
	IsMultiRegionTrail         bool
	HomeRegion                 string
	TrailARN                   string
	LogFileValidationEnabled   bool
	HasCustomEventSelectors    bool
	HasInsightSelectors        bool
	IsOrganizationTrail        bool
}

// trail returns the organization trail as the caller sees it in the
// Region of the call, and whether it is visible there: a single-Region
// trail only in its home Region; another account's trail, or a
// multi-Region trail outside its home Region (a shadow trail), only when
// shadow trails are asked for; an account trail only to its account.
func (c *call) trail(shadows bool) (cloudTrailTrail, bool) {
	t, mgmt := c.s.sc.Trail, c.s.sc.Organization.ManagementAccount
	region := c.region
	if region == "" || region == "aws-global" {
		region = defaultRegion
	}
	switch {
	case t.None, t.SingleRegion && region != defaultRegion, t.AccountOnly && c.p.account != mgmt:
		return cloudTrailTrail{}, false
	case !shadows && (region != defaultRegion || c.p.account != mgmt):
		return cloudTrailTrail{}, false
	}
	return cloudTrailTrail{
		Name: trailName, S3BucketName: c.s.TrailBucket(), IncludeGlobalServiceEvents: !t.NoGlobalServiceEvents,
		IsMultiRegionTrail: !t.SingleRegion, HomeRegion: defaultRegion,
		TrailARN:                 "arn:aws:cloudtrail:" + defaultRegion + ":" + mgmt + ":trail/" + trailName,
		LogFileValidationEnabled: true, IsOrganizationTrail: !t.AccountOnly,
	}, true
}

func describeTrails(c *call) (any, *apiError) {
	var in struct {
		IncludeShadowTrails *bool    `json:"includeShadowTrails"`
		TrailNameList       []string `json:"trailNameList"`
	}
	if len(c.body) > 0 {
		if err := json.Unmarshal(c.body, &in); err != nil {
			return nil, errf(http.StatusBadRequest, "SerializationException", "awssim: %v", err)
		}
	}
	shadows := in.IncludeShadowTrails == nil || *in.IncludeShadowTrails
	list := []cloudTrailTrail{}
	if t, ok := c.trail(shadows); ok && (len(in.TrailNameList) == 0 || slices.Contains(in.TrailNameList, t.Name) ||
		slices.Contains(in.TrailNameList, t.TrailARN)) {
		list = append(list, t)
	}
	return map[string]any{"trailList": list}, nil
}

func getTrailStatus(c *call) (any, *apiError) {
	var in struct{ Name string }
	if err := json.Unmarshal(c.body, &in); err != nil || in.Name == "" {
		return nil, errf(http.StatusBadRequest, "InvalidTrailNameException", "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).")
	}
	// A shadow trail (another Region's or another account's) is named by
	// its ARN only.
	t, ok := c.trail(strings.HasPrefix(in.Name, "arn:"))
	if !ok || (in.Name != t.Name && in.Name != t.TrailARN) {
		return nil, errf(http.StatusBadRequest, "TrailNotFoundException", "Unknown trail: %s for the user: %s", in.Name, c.p.account)
	}
	// Logging started when the organization was made: the management
	// account's joined time.
	started := c.s.accounts[c.s.sc.Organization.ManagementAccount].Joined
	out := map[string]any{"IsLogging": !c.s.sc.Trail.Stopped, "StartLoggingTime": float64(started.Unix()),
		"TimeLoggingStarted": started.UTC().Format("2006-01-02T15:04:05Z")}
	if c.s.sc.Trail.Stopped {
		out["StopLoggingTime"] = float64(started.Unix())
		out["TimeLoggingStopped"] = started.UTC().Format("2006-01-02T15:04:05Z")
	}
	return out, nil
}
