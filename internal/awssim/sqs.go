package awssim

// SQS, in the JSON 1.0 protocol its SDK speaks today (X-Amz-Target:
// AmazonSQS.<Operation>; errors carry {"__type": ...} and, because the
// service is query-compatible, the legacy code in x-amzn-query-error):
// the calls an SQSUnlockQueuePolicy root session may make.
//
//	sqs: ListQueues, GetQueueAttributes, SetQueueAttributes
//
// Queues belong to the scenario's accounts ([Account.Queues]) and to a
// region: a request sees the queues of the region it was signed for.
// Queue URLs have AWS's form, https://sqs.REGION.amazonaws.com/ACCOUNT/NAME;
// a URL of another region names no queue there (QueueDoesNotExist), and
// another account's queue is AccessDenied. Only the Policy attribute can
// be set (an empty Policy removes it, as in SQS); GetQueueAttributes
// answers Policy, QueueArn, the timestamps and the default settings.
//
// Who may do what: root sessions only what their task policy allows
// (SQSUnlockQueuePolicy: sqs:GetQueueAttributes, sqs:SetQueueAttributes,
// sqs:ListQueues), then the SCPs, then the queue policy (s3_policy.go).

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	svcSQS          = "sqs"
	sqsTargetPrefix = "AmazonSQS."
)

// SQSQueue is an SQS queue of an account.
type SQSQueue struct {
	// Name is 1 to 80 letters, digits, hyphens and underscores (a FIFO
	// queue's ends in .fifo), unique in its account and region.
	Name string `yaml:"name"`
	// Region is the queue's region (us-east-1 when empty).
	Region string `yaml:"region,omitempty"`
	// Created is when the queue was created (the account's created time
	// when zero).
	Created time.Time `yaml:"created,omitempty"`
	// Policy is the queue policy, a JSON document (empty: none). Every
	// statement needs a Principal, and its resources must be the queue's
	// ARN.
	Policy string `yaml:"policy,omitempty"`

	modified time.Time // last SetQueueAttributes
}

func (q *SQSQueue) arn(account string) string {
	return "arn:aws:sqs:" + q.Region + ":" + account + ":" + q.Name
}

// QueueURL returns the URL of an account's queue in AWS's form.
func QueueURL(region, account, name string) string {
	return "https://sqs." + region + ".amazonaws.com/" + account + "/" + name
}

var reQueueName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`) })

// applyQueueDefaults fills in a queue's region and creation date.
func (a *Account) applyQueueDefaults() {
	for i := range a.Queues {
		q := &a.Queues[i]
		if q.Region == "" {
			q.Region = defaultRegion
		}
		if q.Created.IsZero() {
			q.Created = a.Created
		}
	}
}

// validateQueues checks an account's queues.
func validateQueues(a *Account, p string, bad func(string, ...any)) {
	seen := map[string]bool{}
	for i, q := range a.Queues {
		qp := fmt.Sprintf("%s.queues[%d]", p, i)
		name := strings.TrimSuffix(q.Name, ".fifo")
		if !reQueueName().MatchString(name) || len(q.Name) > 80 {
			bad("%s.name %q: want 1 to 80 letters, digits, hyphens and underscores (.fifo at the end of a FIFO queue)", qp, q.Name)
		}
		region := q.Region
		if region == "" {
			region = defaultRegion
		}
		if !reRegion().MatchString(region) {
			bad("%s.region %q: not a region", qp, q.Region)
		}
		if seen[region+"/"+q.Name] {
			bad("%s.name %q: duplicate in %s", qp, q.Name, region)
		}
		seen[region+"/"+q.Name] = true
		if q.Policy != "" {
			qq := q
			qq.Region = region
			if e := checkQueuePolicy(qq.arn(a.ID), q.Policy); e != nil {
				bad("%s.policy: %s", qp, e.msg)
			}
		}
	}
}

// checkQueuePolicy validates a queue policy as SetQueueAttributes does.
func checkQueuePolicy(arn, content string) *apiError {
	invalid := errf(http.StatusBadRequest, "InvalidAttributeValue", "Invalid value for the parameter Policy.")
	rp, err := parseResourcePolicy(content)
	if err != nil {
		invalid.msg += " Reason: " + err.Error()
		return invalid
	}
	for _, r := range rp.resources() {
		if r != arn && r != "*" {
			invalid.msg += " Reason: resource " + r + " must be the queue's ARN " + arn
			return invalid
		}
	}
	return nil
}

var sqsOps = map[string]handler{
	"ListQueues":         sqsListQueues,
	"GetQueueAttributes": sqsGetQueueAttributes,
	"SetQueueAttributes": sqsSetQueueAttributes,
	"GetQueueUrl":        sqsGetQueueURL,
}

// sqsGetQueueURL answers GetQueueUrl: the URL of a queue of the caller's
// account (or QueueOwnerAWSAccountId's) in the signed region.
func sqsGetQueueURL(c *call) (any, *apiError) {
	var in struct {
		QueueName              string
		QueueOwnerAWSAccountId string
	}
	if len(c.body) > 0 {
		if err := json.Unmarshal(c.body, &in); err != nil {
			return nil, errf(http.StatusBadRequest, "InvalidParameterValue", "awssim: %v", err)
		}
	}
	if in.QueueName == "" {
		return nil, errf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter QueueName.")
	}
	owner := c.p.account
	if in.QueueOwnerAWSAccountId != "" {
		owner = in.QueueOwnerAWSAccountId
	}
	if a := c.s.accounts[owner]; a != nil && owner == c.p.account {
		for _, q := range a.Queues {
			if q.Name == in.QueueName && q.Region == c.region {
				return map[string]any{"QueueUrl": QueueURL(c.region, a.ID, q.Name)}, nil
			}
		}
	}
	return nil, errf(http.StatusBadRequest, "QueueDoesNotExist", "The specified queue does not exist.")
}

// sqsInput is every SQS input member the server reads.
type sqsInput struct {
	QueueUrl        string
	QueueNamePrefix string
	NextToken       string
	MaxResults      *int
	AttributeNames  []string
	Attributes      map[string]string
}

func (c *call) sqsInput() (*sqsInput, *apiError) {
	var in sqsInput
	if len(c.body) > 0 {
		if err := json.Unmarshal(c.body, &in); err != nil {
			return nil, errf(http.StatusBadRequest, "InvalidParameterValue", "awssim: %v", err)
		}
	}
	return &in, nil
}

// queueOf returns the queue a call's QueueUrl names in the region the
// call was signed for, and its account; nils when there is none.
func (s *Server) queueOf(c *call) (*Account, *SQSQueue) {
	in, e := c.sqsInput()
	if e != nil || in.QueueUrl == "" {
		return nil, nil
	}
	u, err := url.Parse(in.QueueUrl)
	if err != nil {
		return nil, nil
	}
	acct, name, ok := strings.Cut(strings.Trim(u.Path, "/"), "/")
	if !ok {
		return nil, nil
	}
	region := c.region
	if r, ok := strings.CutPrefix(u.Host, "sqs."); ok {
		region, _, _ = strings.Cut(r, ".")
	}
	if region != c.region {
		return nil, nil
	}
	a := s.accounts[acct]
	if a == nil {
		return nil, nil
	}
	for i := range a.Queues {
		if q := &a.Queues[i]; q.Name == name && q.Region == region {
			return a, q
		}
	}
	return nil, nil
}

func (c *call) queue() (*Account, *SQSQueue, *apiError) {
	a, q := c.s.queueOf(c)
	if q == nil {
		return nil, nil, errf(http.StatusBadRequest, "QueueDoesNotExist", "The specified queue does not exist.")
	}
	return a, q, nil
}

func sqsListQueues(c *call) (any, *apiError) {
	in, e := c.sqsInput()
	if e != nil {
		return nil, e
	}
	size, paged := 1000, in.MaxResults != nil
	if paged {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return nil, errf(http.StatusBadRequest, "InvalidParameterValue", "Value %d for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.", *in.MaxResults)
		}
		size = *in.MaxResults
	}
	after := ""
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil {
			return nil, errf(http.StatusBadRequest, "InvalidParameterValue", "Invalid NextToken value.")
		}
		after = string(b)
	}
	a := c.s.accounts[c.p.account]
	var names []string
	for _, q := range a.Queues {
		if q.Region == c.region && strings.HasPrefix(q.Name, in.QueueNamePrefix) && q.Name > after {
			names = append(names, q.Name)
		}
	}
	slices.Sort(names)
	out := map[string]any{}
	if len(names) > size {
		names = names[:size]
		if paged {
			out["NextToken"] = base64.RawURLEncoding.EncodeToString([]byte(names[size-1]))
		}
	}
	if len(names) > 0 {
		urls := make([]string, len(names))
		for i, n := range names {
			urls[i] = QueueURL(c.region, a.ID, n)
		}
		out["QueueUrls"] = urls
	}
	return out, nil
}

// sqsAttributes are the attributes GetQueueAttributes knows, in the order
// "All" lists them.
var sqsAttributes = []string{
	"Policy", "QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
	"ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp", "VisibilityTimeout",
	"MaximumMessageSize", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds",
	"SqsManagedSseEnabled", "FifoQueue", "ContentBasedDeduplication",
}

func sqsGetQueueAttributes(c *call) (any, *apiError) {
	in, e := c.sqsInput()
	if e != nil {
		return nil, e
	}
	a, q, e := c.queue()
	if e != nil {
		return nil, e
	}
	want := map[string]bool{}
	for _, n := range in.AttributeNames {
		switch {
		case n == "All":
			for _, k := range sqsAttributes {
				want[k] = true
			}
		case slices.Contains(sqsAttributes, n):
			want[n] = true
		default:
			return nil, errf(http.StatusBadRequest, "InvalidAttributeName", "Unknown Attribute %s.", n)
		}
	}
	modified := q.modified
	if modified.IsZero() {
		modified = q.Created
	}
	fifo := strings.HasSuffix(q.Name, ".fifo")
	all := map[string]string{
		"QueueArn": q.arn(a.ID), "ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0",
		"ApproximateNumberOfMessagesDelayed": "0", "CreatedTimestamp": strconv.FormatInt(q.Created.Unix(), 10),
		"LastModifiedTimestamp": strconv.FormatInt(modified.Unix(), 10), "VisibilityTimeout": "30",
		"MaximumMessageSize": "1048576", "MessageRetentionPeriod": "345600", "DelaySeconds": "0",
		"ReceiveMessageWaitTimeSeconds": "0", "SqsManagedSseEnabled": "true",
	}
	if q.Policy != "" {
		all["Policy"] = q.Policy
	}
	if fifo {
		all["FifoQueue"], all["ContentBasedDeduplication"] = "true", "false"
	}
	attrs := map[string]string{}
	for k := range want {
		if v, ok := all[k]; ok {
			attrs[k] = v
		}
	}
	if len(attrs) == 0 {
		return struct{}{}, nil
	}
	return map[string]any{"Attributes": attrs}, nil
}

func sqsSetQueueAttributes(c *call) (any, *apiError) {
	in, e := c.sqsInput()
	if e != nil {
		return nil, e
	}
	a, q, e := c.queue()
	if e != nil {
		return nil, e
	}
	if len(in.Attributes) == 0 {
		return nil, errf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter Attributes.")
	}
	for k, v := range in.Attributes {
		switch {
		case k != "Policy" && slices.Contains(sqsAttributes, k):
			return nil, errf(http.StatusBadRequest, "InvalidAttributeName", "awssim: attribute %s cannot be set here: only Policy is simulated.", k)
		case k != "Policy":
			return nil, errf(http.StatusBadRequest, "InvalidAttributeName", "Unknown Attribute %s.", k)
		case v != "":
			if e := checkQueuePolicy(q.arn(a.ID), v); e != nil {
				return nil, e
			}
		}
	}
	q.Policy = in.Attributes["Policy"]
	q.modified = c.now
	return struct{}{}, nil
}

// writeSQS writes a JSON 1.0 answer.
func writeSQS(w http.ResponseWriter, result any) {
	b, err := json.Marshal(result)
	if err != nil {
		writeSQSError(w, errf(http.StatusInternalServerError, "InternalFailure", "awssim: encode: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// sqsErrors maps the server's error codes to SQS's JSON error type and
// its legacy query code (x-amzn-query-error). Codes not listed are
// SQS's own shapes, named alike in both.
var sqsErrors = map[string]struct{ typ, query string }{
	"QueueDoesNotExist":          {"com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"},
	"AccessDenied":               {"com.amazon.coral.service#AccessDeniedException", "AccessDenied"},
	"Throttling":                 {"com.amazonaws.sqs#RequestThrottled", "RequestThrottled"},
	"InvalidClientTokenId":       {"com.amazon.coral.service#UnrecognizedClientException", "InvalidClientTokenId"},
	"ExpiredToken":               {"com.amazon.coral.service#ExpiredTokenException", "ExpiredToken"},
	"MissingAuthenticationToken": {"com.amazon.coral.service#MissingAuthenticationTokenException", "MissingAuthenticationToken"},
	"InternalFailure":            {"com.amazon.coral.service#InternalFailure", "InternalFailure"},
	"InvalidAction":              {"com.amazonaws.sqs#UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation"},
	"MissingParameter":           {"com.amazon.coral.validate#ValidationException", "MissingParameter"},
	"InvalidParameterValue":      {"com.amazon.coral.validate#ValidationException", "InvalidParameterValue"},
}

// writeSQSError writes {"__type": ..., "message": ...} with
// x-amzn-query-error: CODE;Sender (or Receiver for 5xx).
func writeSQSError(w http.ResponseWriter, e *apiError) {
	m, ok := sqsErrors[e.code]
	if !ok {
		m.typ, m.query = "com.amazonaws.sqs#"+e.code, e.code
	}
	fault := "Sender"
	if e.status >= 500 {
		fault = "Receiver"
	}
	b, _ := json.Marshal(map[string]string{"__type": m.typ, "message": e.msg})
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-query-error", m.query+";"+fault)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}
