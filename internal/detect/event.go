package detect

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Event is the part of a CloudTrail record that detection reads. Fields
// whose type varies between producers use tolerant types.
type Event struct {
	EventVersion        string            `json:"eventVersion"`
	UserIdentity        UserIdentity      `json:"userIdentity"`
	EventTime           string            `json:"eventTime"`
	EventSource         string            `json:"eventSource"`
	EventName           string            `json:"eventName"`
	AWSRegion           string            `json:"awsRegion"`
	SourceIPAddress     string            `json:"sourceIPAddress"`
	UserAgent           string            `json:"userAgent"`
	ErrorCode           string            `json:"errorCode"`
	ErrorMessage        string            `json:"errorMessage"`
	RequestParameters   json.RawMessage   `json:"requestParameters"`
	ResponseElements    json.RawMessage   `json:"responseElements"`
	AdditionalEventData map[string]any    `json:"additionalEventData"`
	EventID             string            `json:"eventID"`
	ReadOnly            FlexBool          `json:"readOnly"`
	EventType           string            `json:"eventType"`
	RecipientAccountID  string            `json:"recipientAccountId"`
	SharedEventID       string            `json:"sharedEventID"`
	Resources           []json.RawMessage `json:"resources"`
}

// UserIdentity is the identity that made a request.
type UserIdentity struct {
	Type           string         `json:"type"`
	PrincipalID    string         `json:"principalId"`
	ARN            string         `json:"arn"`
	AccountID      string         `json:"accountId"`
	AccessKeyID    string         `json:"accessKeyId"`
	UserName       string         `json:"userName"`
	InvokedBy      string         `json:"invokedBy"`
	SessionContext SessionContext `json:"sessionContext"`
}

// SessionContext describes temporary credentials.
type SessionContext struct {
	SessionIssuer struct {
		Type string `json:"type"`
		ARN  string `json:"arn"`
	} `json:"sessionIssuer"`
	Attributes struct {
		CreationDate     string   `json:"creationDate"`
		MFAAuthenticated FlexBool `json:"mfaAuthenticated"`
	} `json:"attributes"`
	AssumedRoot FlexBool `json:"assumedRoot"`
}

// FlexBool decodes true, "true", "True", "yes" and their negatives; null
// and anything else leave it false.
type FlexBool bool

// UnmarshalJSON implements json.Unmarshaler.
func (b *FlexBool) UnmarshalJSON(data []byte) error {
	s := string(bytes.Trim(data, `"`))
	switch strings.ToLower(s) {
	case "true", "yes", "1":
		*b = true
	default:
		*b = false
	}
	return nil
}

// account is the account the event happened in.
func (e *Event) account() string {
	if e.RecipientAccountID != "" {
		return e.RecipientAccountID
	}
	return e.UserIdentity.AccountID
}

// param returns a string request parameter, or "".
func (e *Event) param(name string) string {
	return stringField(e.RequestParameters, name)
}

// response returns a string response element, or "".
func (e *Event) response(name string) string {
	return stringField(e.ResponseElements, name)
}

func stringField(raw json.RawMessage, name string) string {
	if len(raw) == 0 || raw[0] != '{' {
		return ""
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(m[name], &s) != nil {
		return ""
	}
	return s
}

// hasParam reports whether the request named the parameter at all.
func (e *Event) hasParam(name string) bool {
	if len(e.RequestParameters) == 0 || e.RequestParameters[0] != '{' {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(e.RequestParameters, &m) != nil {
		return false
	}
	v, ok := m[name]
	return ok && string(v) != "null" && string(v) != `""`
}

// additional returns a string from additionalEventData.
func (e *Event) additional(name string) string {
	s, _ := e.AdditionalEventData[name].(string)
	return s
}
