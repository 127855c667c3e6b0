package awssim

import (
	"encoding/json"
	"net/http"
	"slices"
)

// The Account Management API (restJson1), as far as `rootguard deploy`
// reads it: ListRegions (POST /listRegions), the Regions of an account and
// whether each is enabled. Member names, enum values and error codes are
// those of the SDK's model (service/account).
//
// Guess: the Regions listed are the commercial partition's as of 2026
// (the Regions of the ImpactedAwsRegion enum in the AWS Security Incident
// Response API Reference, without China's); the ones enabled by default are those AWS introduced before 20 March
// 2019 (AWS General Reference, "Enable or disable AWS Regions in your
// account"); every other one is an opt-in Region, DISABLED unless the
// scenario's Regions enables it. Every account of a scenario has the same
// Regions enabled. What would settle it: account:ListRegions on a real
// account.

const svcAccount = "account"

// defaultRegions are enabled in every account and cannot be disabled.
var defaultRegions = []string{
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
	"ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
}

// optInRegions are disabled unless a scenario enables them.
var optInRegions = []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
	"ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1",
	"mx-central-1",
}

func accountRoute(method, path string) string {
	if method == http.MethodPost && path == "/listRegions" {
		return "ListRegions"
	}
	return method + " " + path
}

var accountOps = map[string]handler{
	"ListRegions": listRegions,
}

type accountRegion struct {
	RegionName      string
	RegionOptStatus string
}

// listRegions answers for the caller's account, or, from the management
// account with trusted access for account.amazonaws.com, for a member
// account named by AccountId. The filter RegionOptStatusContains and
// pagination (MaxResults 1 to 50, NextToken) are as the model has them.
func listRegions(c *call) (any, *apiError) {
	var in struct {
		AccountId               *string
		MaxResults              *int
		NextToken               *string
		RegionOptStatusContains []string
	}
	if len(c.body) > 0 {
		if err := json.Unmarshal(c.body, &in); err != nil {
			return nil, errf(http.StatusBadRequest, "ValidationException", "awssim: %v", err)
		}
	}
	if in.AccountId != nil {
		id := *in.AccountId
		switch {
		case id == c.p.account && id == c.s.sc.Organization.ManagementAccount:
			return nil, errf(http.StatusBadRequest, "ValidationException", "The management account can only be managed using the standalone context from the management account.")
		case c.p.account != c.s.sc.Organization.ManagementAccount:
			return nil, errf(http.StatusForbidden, "AccessDeniedException", "User: %s is not authorized to perform: account:ListRegions on account %s", c.p.arn(), id)
		case !slices.Contains(c.s.sc.Organization.TrustedAccess, "account.amazonaws.com"):
			return nil, errf(http.StatusForbidden, "AccessDeniedException", "Trusted access for the Account Management service is not enabled for the organization.")
		case c.s.accounts[id] == nil:
			return nil, errf(http.StatusForbidden, "AccessDeniedException", "The account %s is not a member of the organization.", id)
		}
	}
	var all []accountRegion
	for _, r := range defaultRegions {
		all = append(all, accountRegion{r, "ENABLED_BY_DEFAULT"})
	}
	for _, r := range optInRegions {
		st := "DISABLED"
		if slices.Contains(c.s.sc.Regions, r) {
			st = "ENABLED"
		}
		all = append(all, accountRegion{r, st})
	}
	slices.SortFunc(all, func(a, b accountRegion) int {
		switch {
		case a.RegionName < b.RegionName:
			return -1
		case a.RegionName > b.RegionName:
			return 1
		}
		return 0
	})
	var out []accountRegion
	for _, r := range all {
		if len(in.RegionOptStatusContains) == 0 || slices.Contains(in.RegionOptStatusContains, r.RegionOptStatus) {
			out = append(out, r)
		}
	}
	size := 20
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			return nil, errf(http.StatusBadRequest, "ValidationException", "MaxResults must be between 1 and 50.")
		}
		size = *in.MaxResults
	}
	start := 0
	if in.NextToken != nil {
		start = slices.IndexFunc(out, func(r accountRegion) bool { return r.RegionName == *in.NextToken })
		if start < 0 {
			return nil, errf(http.StatusBadRequest, "ValidationException", "The NextToken is not valid.")
		}
	}
	res := map[string]any{"Regions": out[start:min(start+size, len(out))]}
	if start+size < len(out) {
		res["NextToken"] = out[start+size].RegionName
	}
	return res, nil
}
