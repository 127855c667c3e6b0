package deploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// The pipeline's rules match "AWS API Call via CloudTrail" events, which
// exist only where a trail logs. The EventBridge User Guide ("AWS service
// events delivered via AWS CloudTrail"): "To record events with a
// detail-type value of AWS API Call via CloudTrail, a CloudTrail trail
// with logging enabled is required." An organization trail logs for every
// account of the organization; a multi-Region one in every Region; global
// service events (IAM, STS's global endpoint, sign-in) only when it
// includes them. Without such a trail the rules deploy and stay silent.

// TrailAPI is the part of the CloudTrail client the trail check calls.
type TrailAPI interface {
	DescribeTrails(context.Context, *cloudtrail.DescribeTrailsInput, ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error)
	GetTrailStatus(context.Context, *cloudtrail.GetTrailStatusInput, ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error)
}

// Trail check outcomes (Step.Action of the "trail" step).
const (
	// TrailPresent: a logging, multi-Region organization trail that
	// includes global service events.
	TrailPresent Action = "present"
	// TrailMissing: no such trail; Step.Missing says what is missing.
	TrailMissing Action = "missing"
	// TrailUnknown: the trails could not be read; Step.Error says why.
	TrailUnknown Action = "unknown"
)

// trailShortfalls lists what a trail lacks to carry the pipeline's
// events, given whether it is logging.
func trailShortfalls(t cttypes.Trail, logging bool) []string {
	name := aws.ToString(t.Name)
	var miss []string
	if !aws.ToBool(t.IsOrganizationTrail) {
		miss = append(miss, fmt.Sprintf("trail %s is not an organization trail: member accounts' API calls are not logged by it", name))
	}
	if !aws.ToBool(t.IsMultiRegionTrail) {
		miss = append(miss, fmt.Sprintf("trail %s logs %s only, not every Region", name, aws.ToString(t.HomeRegion)))
	}
	if !aws.ToBool(t.IncludeGlobalServiceEvents) {
		miss = append(miss, fmt.Sprintf("trail %s leaves out global service events (IAM, STS's global endpoint, console sign-in)", name))
	}
	if !logging {
		miss = append(miss, fmt.Sprintf("trail %s is not logging (cloudtrail:StartLogging)", name))
	}
	return miss
}

// CheckTrail reads the trails visible in region (shadow trails included,
// so an organization trail made in another Region or by the CloudTrail
// delegated administrator is seen) and returns the "trail" step: present
// with the trail that qualifies, or missing with what the closest one
// lacks (or that there is none). A trail whose status cannot be read
// counts as not logging, with the error named.
func CheckTrail(ctx context.Context, api TrailAPI, region string) Step {
	s := Step{Kind: "trail", Name: "organization trail", Account: "management", Region: region}
	out, err := api.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		s.Action, s.Error = TrailUnknown, fmt.Sprintf("cloudtrail:DescribeTrails: %v", err)
		return s
	}
	var best []string
	bestName, bestScore := "", 0
	for _, t := range out.TrailList {
		logging := false
		st, err := api.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: t.TrailARN})
		if err == nil {
			logging = aws.ToBool(st.IsLogging)
		}
		miss := trailShortfalls(t, logging)
		if err != nil {
			miss = append(miss, fmt.Sprintf("trail %s: cloudtrail:GetTrailStatus: %v", aws.ToString(t.Name), err))
		}
		if len(miss) == 0 {
			s.Action, s.Name = TrailPresent, aws.ToString(t.TrailARN)
			return s
		}
		// The closest: an organization trail first, then the fewest gaps.
		score := len(miss)
		if !aws.ToBool(t.IsOrganizationTrail) {
			score += 10
		}
		if best == nil || score < bestScore {
			best, bestName, bestScore = miss, aws.ToString(t.TrailARN), score
		}
	}
	s.Action = TrailMissing
	if best == nil {
		s.Missing = []string{fmt.Sprintf("no CloudTrail trail is visible in %s: create a multi-Region organization trail (cloudtrail:CreateTrail with IsOrganizationTrail and IsMultiRegionTrail) and start logging; without one EventBridge receives no API call events and the pipeline stays silent", region)}
		return s
	}
	s.Name, s.Missing = bestName, best
	return s
}
