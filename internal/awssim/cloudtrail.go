package awssim

// CloudTrail, as AWS writes it: every call the server answers for an
// authenticated principal becomes the CloudTrail record AWS documents for
// it, and the records are delivered as an organization trail delivers
// them, into a bucket of the management account, and as the EventBridge
// events the pipeline receives.
//
// The shapes come from AWS's documented records, checked into
// testdata/cloudtrail with their sources (TestTrailRecordsMatchDocumented
// holds the recorder to them):
//
//   - AssumeRoot is recorded in the caller's account and in the Region of
//     the endpoint that served it, by the caller's identity, with
//     requestParameters.targetPrincipal and .taskPolicyArn.arn and
//     responseElements.credentials (accessKeyId, sessionToken, expiration
//     as "Oct 25, 2024, 9:07:11 PM").
//   - Every call of a root session is recorded in the member account with
//     userIdentity.type Root, principalId the account, arn
//     arn:aws:iam::<account>:root, the session's accessKeyId and
//     sessionContext.attributes (creationDate: when AssumeRoot issued it,
//     mfaAuthenticated "false"), and no field naming who issued it: the
//     accessKeyId is the only join to the AssumeRoot record.
//   - Other calls (the administrator user, role sessions) are recorded as
//     they are: IAMUser or AssumedRole with its sessionIssuer. On an
//     AssumeRoot record a caller with a session context carries
//     sessionContext.assumedRoot "true", where AWS's example puts it.
//
// Calls to IAM and Organizations, global services, are recorded in
// us-east-1, as CloudTrail records them; other services in the Region the
// request was signed for. What is recorded is what the scenario's trail
// ([Trail], cloudtrail_api.go) records: nothing without a logging trail,
// one Region for a single-Region trail, no global service events when it
// excludes them, the management account alone for an account trail. Failed calls carry errorCode and errorMessage.
// Requests that were not authenticated, and requests refused by the rate
// limit or the fault rate before they were handled, are not recorded. S3
// object reads (GetObject, ListObjectsV2) are data events, which an
// organization trail of management events does not record.
//
// Delivery: the records are written into the bucket [Server.TrailBucket]
// (us-east-1, owned by the management account, readable by its
// principals through the S3 API: ListObjectsV2 and GetObject) at
// AWSLogs/<org-id>/<account>/CloudTrail/<region>/YYYY/MM/DD/
// <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz, each a
// gzipped {"Records":[...]}, one object per account, Region and five
// minutes of records; records that arrive after an object was listed go to
// a new object, so an object never changes once seen. [Server.TrailEvents]
// gives the same records as EventBridge events ("AWS API Call via
// CloudTrail", source aws.<service>).
//
// Organizations' CreateAccountResult service event is recorded when a
// CreateAccount request completes (recordCreateAccountResult).
//
// Guesses (AWS documents no complete record for these): the userAgent is
// the client's User-Agent header; requestParameters are the request's
// parameters with lower-camel-case names (nested members as objects) and
// durations as numbers; responseElements are written only for AssumeRoot
// and AssumeRole, null otherwise; eventID is random. What would settle
// them: the same calls made on a real account and read back from its
// trail.

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// trailLog holds the records of the calls served and the objects they
// were delivered in.
type trailLog struct {
	mu        sync.Mutex
	records   []trailRecord
	delivered int                  // records[:delivered] are in objects
	objects   map[string][]byte    // key -> gzipped {"Records":[...]}
	keys      []string             // object keys, in order of writing
	created   map[string]time.Time // session access key -> when it was issued
}

// trailRecord is one CloudTrail record with where it is delivered.
type trailRecord struct {
	account, region, service string
	time                     time.Time
	raw                      json.RawMessage
	serviceEvent             bool // eventType AwsServiceEvent
}

// trailWindow is how much time one delivered object covers.
const trailWindow = 5 * time.Minute

// cloudTrailTimeLayout is how CloudTrail writes an expiration in
// responseElements.credentials.
const cloudTrailTimeLayout = "Jan 2, 2006, 3:04:05 PM"

// TrailBucket is the S3 bucket the organization trail delivers to.
func (s *Server) TrailBucket() string {
	return "aws-cloudtrail-logs-" + s.sc.Organization.ManagementAccount + "-awssim"
}

// TrailRecords returns every CloudTrail record written so far, in the
// order the calls were answered.
func (s *Server) TrailRecords() []json.RawMessage {
	s.trail.mu.Lock()
	defer s.trail.mu.Unlock()
	out := make([]json.RawMessage, len(s.trail.records))
	for i, r := range s.trail.records {
		out[i] = r.raw
	}
	return out
}

// TrailEvents returns every record written so far as the EventBridge event
// that carries it to the default bus of its account and Region: "AWS API
// Call via CloudTrail", or "AWS Service Event via CloudTrail" for a
// service event.
func (s *Server) TrailEvents() [][]byte {
	s.trail.mu.Lock()
	defer s.trail.mu.Unlock()
	out := make([][]byte, 0, len(s.trail.records))
	for _, r := range s.trail.records {
		detailType := "AWS API Call via CloudTrail"
		if r.serviceEvent {
			detailType = "AWS Service Event via CloudTrail"
		}
		b, _ := json.Marshal(map[string]any{
			"version":     "0",
			"id":          newRequestID(),
			"detail-type": detailType,
			"source":      "aws." + r.service,
			"account":     r.account,
			"time":        r.time.UTC().Format(time.RFC3339),
			"region":      r.region,
			"resources":   []string{},
			"detail":      r.raw,
		})
		out = append(out, b)
	}
	return out
}

// globalServices are recorded in us-east-1 whatever the endpoint.
var globalServices = []string{svcIAM, svcOrgs}

// recordCall writes the CloudTrail record of an answered call. It is
// called after the server's lock is released, for authenticated calls.
func (s *Server) recordCall(c *call, r *http.Request, reqID string, result any, e *apiError) {
	if c.p == nil || (c.svc == svcS3 && (c.op == "GetObject" || c.op == "ListObjectsV2")) {
		return
	}
	region := c.region
	global := region == "" || region == "aws-global" || slices.Contains(globalServices, c.svc)
	if global {
		region = defaultRegion
	}
	if !s.sc.Trail.records(s.sc.Organization.ManagementAccount, c.p.account, region, global) {
		return
	}
	s.trail.mu.Lock()
	defer s.trail.mu.Unlock()
	if s.trail.created == nil {
		s.trail.created = map[string]time.Time{}
	}
	who := s.trail.identity(c.p)
	if sc, ok := who["sessionContext"].(map[string]any); ok && c.op == "AssumeRoot" {
		sc["assumedRoot"] = "true" // as AWS's AssumeRoot example has it
	}
	rec := map[string]any{
		"eventVersion":       "1.10",
		"userIdentity":       who,
		"eventTime":          c.now.UTC().Format(time.RFC3339),
		"eventSource":        c.svc + ".amazonaws.com",
		"eventName":          c.op,
		"awsRegion":          region,
		"sourceIPAddress":    sourceIP(r),
		"userAgent":          r.UserAgent(),
		"requestParameters":  requestParameters(c),
		"responseElements":   nil,
		"requestID":          reqID,
		"eventID":            newRequestID(),
		"readOnly":           readOnlyOp(c.op),
		"eventType":          "AwsApiCall",
		"managementEvent":    true,
		"recipientAccountId": c.p.account,
		"eventCategory":      "Management",
	}
	if e != nil {
		rec["errorCode"] = e.code
		rec["errorMessage"] = e.msg
	} else if creds, ok := issuedCredentials(result); ok {
		rec["responseElements"] = map[string]any{"credentials": map[string]any{
			"accessKeyId":  creds.AccessKeyId,
			"sessionToken": creds.SessionToken,
			"expiration":   time.Time(creds.Expiration).UTC().Format(cloudTrailTimeLayout),
		}}
		if ar, ok := result.(assumeRoleResult); ok {
			rec["responseElements"].(map[string]any)["assumedRoleUser"] = map[string]any{
				"assumedRoleId": ar.AssumedRoleUser.AssumedRoleId, "arn": ar.AssumedRoleUser.Arn}
		}
		s.trail.created[creds.AccessKeyId] = c.now
	}
	if c.svc == svcS3 && c.param("Bucket") != "" {
		rec["resources"] = []any{map[string]any{"accountId": c.p.account, "type": "AWS::S3::Bucket",
			"ARN": "arn:aws:s3:::" + c.param("Bucket")}}
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		s.logger.Error("awssim: cloudtrail record", "op", c.op, "err", err)
		return
	}
	s.trail.records = append(s.trail.records, trailRecord{account: c.p.account, region: region, service: c.svc, time: c.now, raw: raw})
}

// issuedCredentials returns the credentials an AssumeRoot or AssumeRole
// result carries.
func issuedCredentials(result any) (xmlCredentials, bool) {
	switch r := result.(type) {
	case assumeRootResult:
		return r.Credentials, true
	case assumeRoleResult:
		return r.Credentials, true
	}
	return xmlCredentials{}, false
}

// identity is a principal's userIdentity.
func (l *trailLog) identity(p *principal) map[string]any {
	attributes := func() map[string]any {
		created := l.created[p.akid]
		return map[string]any{"creationDate": created.UTC().Format(time.RFC3339), "mfaAuthenticated": "false"}
	}
	switch p.kind {
	case kindRoot:
		return map[string]any{
			"type": "Root", "principalId": p.account, "arn": p.arn(), "accountId": p.account,
			"accessKeyId": p.akid, "sessionContext": map[string]any{"attributes": attributes()},
		}
	case kindRole:
		return map[string]any{
			"type": "AssumedRole", "principalId": p.userID(), "arn": p.arn(), "accountId": p.account,
			"accessKeyId": p.akid,
			"sessionContext": map[string]any{
				"sessionIssuer": map[string]any{"type": "Role", "principalId": roleID(p.account, p.name),
					"arn": p.principalARN(), "accountId": p.account, "userName": p.name},
				"webIdFederationData": map[string]any{},
				"attributes":          attributes(),
			},
		}
	}
	return map[string]any{
		"type": "IAMUser", "principalId": p.userID(), "arn": p.arn(), "accountId": p.account,
		"accessKeyId": p.akid, "userName": p.name,
	}
}

// serviceEventTimeLayout is how Organizations writes the timestamps of
// createAccountStatus in a CreateAccountResult record ("Sep 16, 2020
// 9:20:50 PM").
const serviceEventTimeLayout = "Jan 2, 2006 3:04:05 PM"

// recordCreateAccountResult writes the service event Organizations
// records in the management account, in us-east-1, when a CreateAccount
// request completes, as the Organizations User Guide's example log
// entries show it (testdata/cloudtrail/createaccountresult-*.json):
// userIdentity with the management account and invokedBy "AWS Internal",
// eventType AwsServiceEvent, null requestParameters and
// responseElements, and serviceEventDetails.createAccountStatus (id,
// state, accountName, then accountId or failureReason, and the two
// timestamps). The caller holds s.mu.
func (s *Server) recordCreateAccountResult(r *createRequest) {
	mgmt := s.sc.Organization.ManagementAccount
	if !s.sc.Trail.records(mgmt, mgmt, defaultRegion, true) {
		return
	}
	status := map[string]any{
		"id": r.id, "state": r.state, "accountName": r.name,
		"requestedTimestamp": r.requested.UTC().Format(serviceEventTimeLayout),
		"completedTimestamp": r.completed.UTC().Format(serviceEventTimeLayout),
	}
	if r.state == "SUCCEEDED" {
		status["accountId"] = r.account
	} else {
		status["failureReason"] = r.failure
	}
	raw, err := json.Marshal(map[string]any{
		"eventVersion":        "1.05",
		"userIdentity":        map[string]any{"accountId": mgmt, "invokedBy": "AWS Internal"},
		"eventTime":           r.completed.UTC().Format(time.RFC3339),
		"eventSource":         svcOrgs + ".amazonaws.com",
		"eventName":           "CreateAccountResult",
		"awsRegion":           defaultRegion,
		"sourceIPAddress":     "AWS Internal",
		"userAgent":           "AWS Internal",
		"requestParameters":   nil,
		"responseElements":    nil,
		"eventID":             newRequestID(),
		"readOnly":            false,
		"eventType":           "AwsServiceEvent",
		"recipientAccountId":  mgmt,
		"serviceEventDetails": map[string]any{"createAccountStatus": status},
	})
	if err != nil {
		s.logger.Error("awssim: cloudtrail record", "op", "CreateAccountResult", "err", err)
		return
	}
	s.trail.mu.Lock()
	defer s.trail.mu.Unlock()
	s.trail.records = append(s.trail.records, trailRecord{account: mgmt, region: defaultRegion, service: svcOrgs,
		time: r.completed, raw: raw, serviceEvent: true})
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// readOnlyOp says whether an operation only reads.
func readOnlyOp(op string) bool {
	for _, p := range []string{"Get", "List", "Describe", "Generate"} {
		if strings.HasPrefix(op, p) {
			return op != "GenerateCredentialReport"
		}
	}
	return false
}

// requestParameters are a call's parameters as CloudTrail writes them:
// lower-camel-case names, nested members (TaskPolicyArn.Arn) as objects,
// durations as numbers; an S3 call names its bucket (bucketName, Host).
func requestParameters(c *call) any {
	out := map[string]any{}
	switch {
	case c.svc == svcS3:
		if b := c.param("Bucket"); b != "" {
			out["bucketName"] = b
			out["Host"] = b + ".s3.amazonaws.com"
		}
		for k, v := range c.form {
			if k != "Bucket" && len(v) > 0 {
				out[k] = v[0]
			}
		}
	case c.form != nil:
		for k, v := range c.form {
			if k == "Action" || k == "Version" || len(v) == 0 {
				continue
			}
			var val any = v[0]
			if strings.HasSuffix(k, "Seconds") {
				if n, err := strconv.Atoi(v[0]); err == nil {
					val = n
				}
			}
			setPath(out, strings.Split(k, "."), val)
		}
	case len(c.body) > 0:
		var in map[string]any
		if json.Unmarshal(c.body, &in) != nil {
			return nil
		}
		for k, v := range in {
			out[lowerCamel(k)] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// setPath sets a value at a dotted path of lower-camel-case names.
func setPath(m map[string]any, path []string, v any) {
	k := lowerCamel(path[0])
	if len(path) == 1 {
		m[k] = v
		return
	}
	sub, ok := m[k].(map[string]any)
	if !ok {
		sub = map[string]any{}
		m[k] = sub
	}
	setPath(sub, path[1:], v)
}

func lowerCamel(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}

// deliver writes the records not yet in an object into new objects: one
// per account, Region and five-minute window, in the organization trail's
// layout. Called with l.mu held.
func (l *trailLog) deliver(orgID string) {
	if l.objects == nil {
		l.objects = map[string][]byte{}
	}
	type group struct {
		key     string
		records []json.RawMessage
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, r := range l.records[l.delivered:] {
		w := r.time.UTC().Truncate(trailWindow)
		id := r.account + "/" + r.region + "/" + w.Format(time.RFC3339)
		g := byKey[id]
		if g == nil {
			prefix := "AWSLogs/" + r.account + "/"
			if orgID != "" {
				prefix = "AWSLogs/" + orgID + "/" + r.account + "/"
			}
			var u [8]byte
			_, _ = rand.Read(u[:])
			g = &group{key: fmt.Sprintf("%sCloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz",
				prefix, r.region, w.Format("2006/01/02"), r.account, r.region, w.Format("20060102T1504Z"),
				strings.ToUpper(hex.EncodeToString(u[:])))}
			byKey[id] = g
			groups = append(groups, g)
		}
		g.records = append(g.records, r.raw)
	}
	l.delivered = len(l.records)
	for _, g := range groups {
		var body bytes.Buffer
		zw := gzip.NewWriter(&body)
		_ = json.NewEncoder(zw).Encode(map[string]any{"Records": g.records})
		_ = zw.Close()
		l.objects[g.key] = body.Bytes()
		l.keys = append(l.keys, g.key)
	}
}
