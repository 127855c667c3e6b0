package detect

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Finding is one use of a root user, as rootguard reports it. Its JSON
// form is the output contract documented in docs/cli.md.
type Finding struct {
	EventID     string    `json:"eventId"`
	EventTime   time.Time `json:"eventTime"`
	Account     string    `json:"account"`
	Region      string    `json:"region"`
	EventSource string    `json:"eventSource"`
	EventName   string    `json:"eventName"`
	Category    Category  `json:"category"`
	Severity    Severity  `json:"severity"`
	Rule        string    `json:"rule"`
	Approval    Approval  `json:"approval"`
	MFA         bool      `json:"mfa"`
	Denied      bool      `json:"denied"`
	ErrorCode   string    `json:"errorCode,omitempty"`
	ReadOnly    bool      `json:"readOnly"`
	SourceIP    string    `json:"sourceIp"`
	UserAgent   string    `json:"userAgent"`
	Principal   string    `json:"principal"`
	AccessKeyID string    `json:"accessKeyId,omitempty"`
	Source      Source    `json:"source"`
	// Session links a root-session finding to its AssumeRoot call: on
	// root-session-issued it describes the session issued, on
	// root-session-activity the session the action was made in.
	Session   *Session   `json:"session,omitempty"`
	GuardDuty *GuardDuty `json:"guardDuty,omitempty"`
	// TimeUnknown is set when the record's eventTime could not be read:
	// EventTime is then zero, and the finding is kept whatever the time
	// filters say.
	TimeUnknown bool `json:"timeUnknown,omitempty"`
	// Conflict is set when another record carries the same eventID with
	// different content: every differing copy is reported, each naming
	// the others in ConflictsWith.
	Conflict      bool     `json:"conflict,omitempty"`
	ConflictsWith []Source `json:"conflictsWith,omitempty"`
}

// Approval says whether an approval covered the finding.
type Approval struct {
	Status string `json:"status"` // approved or unapproved
	ID     string `json:"id,omitempty"`
}

// Approval statuses.
const (
	Approved   = "approved"
	Unapproved = "unapproved"
)

// Source locates the raw event: the file or S3 object, and the record's
// 0-based position in it.
type Source struct {
	File   string `json:"file"`
	Record int    `json:"record"`
}

func (s Source) String() string { return fmt.Sprintf("%s#%d", s.File, s.Record) }

// Session describes a centralized root session (sts:AssumeRoot).
type Session struct {
	// IssuedBy is the principal that called AssumeRoot, when known.
	IssuedBy      string    `json:"issuedBy,omitempty"`
	IssuerAccount string    `json:"issuerAccount,omitempty"`
	TargetAccount string    `json:"targetAccount,omitempty"`
	TaskPolicy    string    `json:"taskPolicy,omitempty"`
	IssuedAt      time.Time `json:"issuedAt,omitzero"`
	IssueEventID  string    `json:"issueEventId,omitempty"`
	// AccessKeyID is the temporary key the session was issued; it joins
	// the member account's records to the AssumeRoot call. The secret and
	// session token are never read or kept.
	AccessKeyID string `json:"accessKeyId,omitempty"`
	// OutsideTaskPolicy is set on activity that the session's task policy
	// does not allow (AWS denies it; the attempt is what matters).
	OutsideTaskPolicy bool `json:"outsideTaskPolicy"`
	// Attributed is false when the action is known to come from a root
	// session (sessionContext.assumedRoot) but its AssumeRoot call was not
	// among the inputs.
	Attributed bool `json:"attributed"`
}

// GuardDuty carries what a GuardDuty finding adds.
type GuardDuty struct {
	Type      string    `json:"type"`
	Title     string    `json:"title,omitempty"`
	Severity  float64   `json:"severity"`
	Count     int       `json:"count,omitempty"`
	FirstSeen time.Time `json:"firstSeen,omitzero"`
	LastSeen  time.Time `json:"lastSeen,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// FieldError reports a record that decoded only in part: a field had the
// wrong type or a needed field was missing. The finding, if any, is still
// reported.
type FieldError struct{ Err error }

func (e *FieldError) Error() string { return e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// FromCloudTrail decodes a CloudTrail record and classifies it. It returns
// ok=false for an event that is not root activity. A non-nil error with
// ok=true means the record was odd but still reported.
func FromCloudTrail(raw []byte) (f Finding, ok bool, err error) {
	var e Event
	if derr := json.Unmarshal(raw, &e); derr != nil {
		if _, typeErr := derr.(*json.UnmarshalTypeError); !typeErr {
			return f, false, fmt.Errorf("decode record: %w", derr)
		}
		err = &FieldError{Err: fmt.Errorf("decode record: %w", derr)}
	}
	r := Classify(&e)
	if r == nil {
		return f, false, err
	}
	f = Finding{
		EventID:     e.EventID,
		Account:     e.account(),
		Region:      e.AWSRegion,
		EventSource: e.EventSource,
		EventName:   e.EventName,
		Category:    r.Category,
		Severity:    r.Severity(&e),
		Rule:        r.ID,
		Approval:    Approval{Status: Unapproved},
		MFA:         mfaUsed(&e),
		Denied:      denied(&e),
		ErrorCode:   e.ErrorCode,
		ReadOnly:    bool(e.ReadOnly),
		SourceIP:    e.SourceIPAddress,
		UserAgent:   e.UserAgent,
		Principal:   e.UserIdentity.ARN,
		AccessKeyID: e.UserIdentity.AccessKeyID,
	}
	if f.Principal == "" {
		f.Principal = e.UserIdentity.Type
	}
	t, terr := time.Parse(time.RFC3339, e.EventTime)
	if terr != nil {
		f.TimeUnknown = true
		if err == nil {
			err = &FieldError{Err: fmt.Errorf("eventTime %q is not an RFC 3339 time; reported with time unknown", e.EventTime)}
		}
	}
	f.EventTime = t.UTC()
	if e.EventID == "" && err == nil {
		err = &FieldError{Err: fmt.Errorf("record has no eventID")}
	}
	switch {
	case r.Category == RootSessionIssued:
		f.Session = issuedSession(&e)
	case e.UserIdentity.Type == "Root" && bool(e.UserIdentity.SessionContext.AssumedRoot):
		f.Category = RootSessionActivity
		f.Session = &Session{TargetAccount: f.Account, AccessKeyID: f.AccessKeyID}
	}
	return f, true, err
}

// issuedSession reads an AssumeRoot call's target, task policy and issued key.
func issuedSession(e *Event) *Session {
	var req struct {
		TargetPrincipal string `json:"targetPrincipal"`
		TaskPolicyARN   struct {
			ARN string `json:"arn"`
		} `json:"taskPolicyArn"`
	}
	var resp struct {
		Credentials struct {
			AccessKeyID string `json:"accessKeyId"`
		} `json:"credentials"`
	}
	_ = json.Unmarshal(e.RequestParameters, &req)
	_ = json.Unmarshal(e.ResponseElements, &resp)
	t, _ := time.Parse(time.RFC3339, e.EventTime)
	return &Session{
		IssuedBy:      e.UserIdentity.ARN,
		IssuerAccount: e.account(),
		TargetAccount: accountOf(req.TargetPrincipal),
		TaskPolicy:    TaskPolicyName(req.TaskPolicyARN.ARN),
		IssuedAt:      t.UTC(),
		IssueEventID:  e.EventID,
		AccessKeyID:   resp.Credentials.AccessKeyID,
		Attributed:    true,
	}
}

// accountOf extracts the account id from a target principal, which is an
// account id or an ARN naming one.
func accountOf(p string) string {
	if strings.HasPrefix(p, "arn:") {
		parts := strings.Split(p, ":")
		if len(parts) > 4 {
			return parts[4]
		}
	}
	return p
}
