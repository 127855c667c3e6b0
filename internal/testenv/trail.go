package testenv

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Records of root sessions as EventBridge delivers them to the alert
// function, built from the shapes AWS documents:
//
//   - sts:AssumeRoot in the management (or delegated administrator)
//     account, and the member account's action made with the issued key:
//     IAM User Guide, "Track privileged tasks in CloudTrail"
//     (cloudtrail-track-privileged-tasks.html), steps 1 and 3, the samples
//     in ../shared/corpus/awsdocs__assumeroot_*.json;
//   - the EventBridge envelope: EventBridge User Guide, "Events from AWS
//     services" (detail-type "AWS API Call via CloudTrail");
//   - the GuardDuty finding: GuardDuty User Guide, finding type
//     Policy:IAMUser/ShortTermRootCredentialUsage, in the EventBridge
//     shape of internal/alert/testdata/events/guardduty_root.json;
//   - the root console sign-in: CloudTrail User Guide, "AWS console
//     sign-in events" (detail-type "AWS Console Sign In via CloudTrail").
//
// They stand in for records of the simulator's own trail, which it does
// not keep yet. Secrets in responseElements are placeholders.

// RootSession describes a root session for the records.
type RootSession struct {
	// Caller is the principal ARN that called sts:AssumeRoot, as
	// sts:GetCallerIdentity gives it.
	Caller     string
	Target     string // the member account
	TaskPolicy string // short name, e.g. S3UnlockBucketPolicy
	// AccessKeyID is the key the session was issued.
	AccessKeyID string
	Region      string // default us-east-1
}

func (s RootSession) region() string {
	if s.Region == "" {
		return Region
	}
	return s.Region
}

// callerIdentity is the userIdentity CloudTrail writes for a principal
// ARN: an assumed-role session or an IAM user.
func callerIdentity(arn string) (map[string]any, string) {
	parts := strings.SplitN(arn, ":", 6)
	account := ""
	if len(parts) == 6 {
		account = parts[4]
	}
	id := map[string]any{"arn": arn, "accountId": account, "accessKeyId": "ASIACALLERSESSION001"}
	if rest, ok := strings.CutPrefix(parts[len(parts)-1], "assumed-role/"); ok {
		role, session, _ := strings.Cut(rest, "/")
		id["type"] = "AssumedRole"
		id["principalId"] = "AROAEXAMPLECALLER001:" + session
		id["sessionContext"] = map[string]any{
			"sessionIssuer": map[string]any{"type": "Role", "principalId": "AROAEXAMPLECALLER001",
				"arn": "arn:aws:iam::" + account + ":role/" + role, "accountId": account, "userName": role},
			"attributes": map[string]any{"creationDate": "2026-10-08T00:00:00Z", "mfaAuthenticated": "false"},
		}
	} else {
		id["type"] = "IAMUser"
		id["principalId"] = "AIDAEXAMPLECALLER001"
		id["userName"] = parts[len(parts)-1][strings.LastIndex(parts[len(parts)-1], "/")+1:]
		id["accessKeyId"] = "AKIAEXAMPLECALLER001"
	}
	return id, account
}

func envelope(id, detailType, source, account, region string, at time.Time, detail any) []byte {
	b, err := json.Marshal(map[string]any{
		"version": "0", "id": id, "detail-type": detailType, "source": source, "account": account,
		"time": at.UTC().Format(time.RFC3339), "region": region, "resources": []string{}, "detail": detail,
	})
	if err != nil {
		panic(err) // only maps of strings and numbers
	}
	return b
}

// AssumeRootEvent is the management account's sts:AssumeRoot record.
func AssumeRootEvent(s RootSession, eventID string, at time.Time) []byte {
	ident, account := callerIdentity(s.Caller)
	detail := map[string]any{
		"eventVersion": "1.10", "userIdentity": ident,
		"eventTime": at.UTC().Format(time.RFC3339), "eventSource": "sts.amazonaws.com", "eventName": "AssumeRoot",
		"awsRegion": s.region(), "sourceIPAddress": "192.0.2.10", "userAgent": "rootguard",
		"requestParameters": map[string]any{
			"targetPrincipal": s.Target,
			"taskPolicyArn":   map[string]any{"arn": "arn:aws:iam::aws:policy/root-task/" + s.TaskPolicy},
			"durationSeconds": 900,
		},
		"responseElements": map[string]any{"credentials": map[string]any{
			"accessKeyId": s.AccessKeyID, "sessionToken": "PLACEHOLDER-SESSION-TOKEN",
			"expiration": at.Add(15 * time.Minute).UTC().Format("Jan 2, 2006, 3:04:05 PM"),
		}},
		"requestID": "req-" + eventID, "eventID": eventID, "readOnly": false, "eventType": "AwsApiCall",
		"managementEvent": true, "recipientAccountId": account, "eventCategory": "Management",
	}
	return envelope("eb-"+eventID, "AWS API Call via CloudTrail", "aws.sts", account, s.region(), at, detail)
}

// RootActionEvent is the member account's record of an action made in
// the root session (userIdentity type Root, the issued key, assumedRoot).
func RootActionEvent(s RootSession, eventSource, eventName, eventID string, at time.Time) []byte {
	readOnly := strings.HasPrefix(eventName, "Get") || strings.HasPrefix(eventName, "List")
	detail := map[string]any{
		"eventVersion": "1.10",
		"userIdentity": map[string]any{
			"type": "Root", "principalId": s.Target, "arn": "arn:aws:iam::" + s.Target + ":root", "accountId": s.Target,
			"accessKeyId": s.AccessKeyID,
			"sessionContext": map[string]any{
				"attributes":  map[string]any{"creationDate": at.UTC().Format(time.RFC3339), "mfaAuthenticated": "false"},
				"assumedRoot": "true",
			},
		},
		"eventTime": at.UTC().Format(time.RFC3339), "eventSource": eventSource, "eventName": eventName,
		"awsRegion": s.region(), "sourceIPAddress": "192.0.2.10", "userAgent": "rootguard",
		"requestParameters": map[string]any{}, "responseElements": nil,
		"requestID": "req-" + eventID, "eventID": eventID, "readOnly": readOnly, "eventType": "AwsApiCall",
		"managementEvent": true, "recipientAccountId": s.Target, "eventCategory": "Management",
	}
	src := "aws." + strings.TrimSuffix(eventSource, ".amazonaws.com")
	return envelope("eb-"+eventID, "AWS API Call via CloudTrail", src, s.Target, s.region(), at, detail)
}

// GuardDutyShortTermRootEvent is GuardDuty's
// Policy:IAMUser/ShortTermRootCredentialUsage finding about the session's
// key.
func GuardDutyShortTermRootEvent(s RootSession, findingID string, at time.Time) []byte {
	detail := map[string]any{
		"schemaVersion": "2.0", "accountId": s.Target, "region": s.region(), "partition": "aws", "id": findingID,
		"arn":  fmt.Sprintf("arn:aws:guardduty:%s:%s:detector/12abc34d567e8fa901bc2d34e56789f0/finding/%s", s.region(), s.Target, findingID),
		"type": "Policy:IAMUser/ShortTermRootCredentialUsage",
		"resource": map[string]any{"resourceType": "AccessKey", "accessKeyDetails": map[string]any{
			"accessKeyId": s.AccessKeyID, "principalId": s.Target, "userName": "Root", "userType": "Root"}},
		"service": map[string]any{
			"serviceName": "guardduty", "detectorId": "12abc34d567e8fa901bc2d34e56789f0",
			"action": map[string]any{"actionType": "AWS_API_CALL", "awsApiCallAction": map[string]any{
				"api": "ListAccessKeys", "serviceName": "iam.amazonaws.com", "callerType": "Remote IP",
				"remoteIpDetails": map[string]any{"ipAddressV4": "192.0.2.10"}, "userAgent": "rootguard"}},
			"eventFirstSeen": at.UTC().Format(time.RFC3339), "eventLastSeen": at.UTC().Format(time.RFC3339),
			"archived": false, "count": 1,
		},
		"severity": 5, "createdAt": at.UTC().Format(time.RFC3339), "updatedAt": at.UTC().Format(time.RFC3339),
		"title":       "API ListAccessKeys was invoked using root credentials.",
		"description": "API ListAccessKeys was invoked using root credentials from IP address 192.0.2.10.",
	}
	return envelope("eb-"+findingID, "GuardDuty Finding", "aws.guardduty", s.Target, s.region(), at, detail)
}

// ConsoleLoginEvent is a root user's console sign-in in account.
func ConsoleLoginEvent(account string, mfa bool, eventID string, at time.Time) []byte {
	mfaUsed := "No"
	if mfa {
		mfaUsed = "Yes"
	}
	detail := map[string]any{
		"eventVersion": "1.08",
		"userIdentity": map[string]any{"type": "Root", "principalId": account, "arn": "arn:aws:iam::" + account + ":root", "accountId": account},
		"eventTime":    at.UTC().Format(time.RFC3339), "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
		"awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.20", "userAgent": "Mozilla/5.0",
		"requestParameters": nil, "responseElements": map[string]any{"ConsoleLogin": "Success"},
		"additionalEventData": map[string]any{"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": mfaUsed},
		"eventID":             eventID, "readOnly": false, "eventType": "AwsConsoleSignIn", "managementEvent": true,
		"recipientAccountId": account, "eventCategory": "Management",
	}
	return envelope("eb-"+eventID, "AWS Console Sign In via CloudTrail", "aws.signin", account, "us-east-1", at, detail)
}
