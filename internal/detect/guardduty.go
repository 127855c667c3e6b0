package detect

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// gdFinding is the part of a GuardDuty finding detection reads. Go's JSON
// decoder matches keys without regard to case, so the same type reads the
// PascalCase shape of GetFindings and the camelCase shape of EventBridge.
type gdFinding struct {
	ID        string  `json:"id"`
	AccountID string  `json:"accountId"`
	Region    string  `json:"region"`
	Type      string  `json:"type"`
	Title     string  `json:"title"`
	Severity  float64 `json:"severity"`
	CreatedAt string  `json:"createdAt"`
	UpdatedAt string  `json:"updatedAt"`
	Resource  struct {
		AccessKeyDetails struct {
			AccessKeyID string `json:"accessKeyId"`
			PrincipalID string `json:"principalId"`
			UserName    string `json:"userName"`
			UserType    string `json:"userType"`
		} `json:"accessKeyDetails"`
	} `json:"resource"`
	Service struct {
		Action struct {
			AWSAPICallAction struct {
				API             string `json:"api"`
				ServiceName     string `json:"serviceName"`
				ErrorCode       string `json:"errorCode"`
				UserAgent       string `json:"userAgent"`
				RemoteIPDetails struct {
					IPAddressV4 string `json:"ipAddressV4"`
				} `json:"remoteIpDetails"`
			} `json:"awsApiCallAction"`
		} `json:"action"`
		Count          int    `json:"count"`
		EventFirstSeen string `json:"eventFirstSeen"`
		EventLastSeen  string `json:"eventLastSeen"`
	} `json:"service"`
}

// GuardDuty finding types that report use of root credentials.
var guardDutyRootTypes = []string{
	"Policy:IAMUser/RootCredentialUsage",
	"Policy:IAMUser/ShortTermRootCredentialUsage",
}

// GuardDutyRootTypes returns the finding types reported as
// guardduty-root-credential-usage.
func GuardDutyRootTypes() []string { return append([]string(nil), guardDutyRootTypes...) }

// FromGuardDuty decodes a GuardDuty finding and reports it when it is one
// of the root-credential-usage types, whatever its severity.
func FromGuardDuty(raw []byte) (f Finding, ok bool, err error) {
	var g gdFinding
	if derr := json.Unmarshal(raw, &g); derr != nil {
		if _, typeErr := derr.(*json.UnmarshalTypeError); !typeErr {
			return f, false, fmt.Errorf("decode finding: %w", derr)
		}
		err = &FieldError{Err: fmt.Errorf("decode finding: %w", derr)}
	}
	isRoot := false
	for _, t := range guardDutyRootTypes {
		if g.Type == t {
			isRoot = true
		}
	}
	if !isRoot {
		return f, false, err
	}
	first := parseTime(g.Service.EventFirstSeen)
	last := parseTime(g.Service.EventLastSeen)
	updated := parseTime(g.UpdatedAt)
	when := first
	for _, t := range []time.Time{parseTime(g.CreatedAt), updated, last} {
		if when.IsZero() {
			when = t
		}
	}
	api := g.Service.Action.AWSAPICallAction
	f = Finding{
		EventID:     g.ID,
		EventTime:   when,
		Account:     g.AccountID,
		Region:      g.Region,
		EventSource: api.ServiceName,
		EventName:   api.API,
		Category:    GuardDutyRootCredentialUsage,
		Severity:    guardDutySeverity(g.Severity),
		Rule:        "guardduty-root-credential-usage",
		Approval:    Approval{Status: Unapproved},
		Denied:      api.ErrorCode != "" && (api.ErrorCode == "AccessDenied" || api.ErrorCode == "AccessDeniedException"),
		ErrorCode:   api.ErrorCode,
		SourceIP:    api.RemoteIPDetails.IPAddressV4,
		UserAgent:   api.UserAgent,
		Principal:   "arn:aws:iam::" + g.AccountID + ":root",
		AccessKeyID: g.Resource.AccessKeyDetails.AccessKeyID,
		GuardDuty: &GuardDuty{
			Type: g.Type, Title: g.Title, Severity: g.Severity, Count: g.Service.Count,
			FirstSeen: first, LastSeen: last, UpdatedAt: updated,
		},
	}
	if g.ID == "" && err == nil {
		err = &FieldError{Err: fmt.Errorf("finding has no id")}
	}
	if when.IsZero() && err == nil {
		err = &FieldError{Err: fmt.Errorf("finding has no time (eventFirstSeen, createdAt, updatedAt)")}
	}
	return f, true, err
}

// guardDutySeverity maps GuardDuty's 1–10 scale; a root finding is never
// rated below medium.
func guardDutySeverity(s float64) Severity {
	switch {
	case math.IsNaN(s):
		return Medium
	case s >= 9:
		return Critical
	case s >= 7:
		return High
	}
	return Medium
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
