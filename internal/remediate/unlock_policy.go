package remediate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/rootguard/rootguard/internal/scp"
)

// Services whose resource policies a root session can unlock.
const (
	ServiceS3  = "s3"
	ServiceSQS = "sqs"
)

// Root-task policies that unlock resource policies.
const (
	TaskS3Unlock  = "S3UnlockBucketPolicy"
	TaskSQSUnlock = "SQSUnlockQueuePolicy"
)

// repairActions are, per service, the calls that can change or remove a
// resource policy. A policy locks its resource when an unconditional Deny
// for every principal covers all of them: then no role or user of the
// account can repair it, and only the account's root user (exempt from
// its own bucket or queue policy for these calls) can.
var repairActions = map[string][]string{
	ServiceS3:  {"s3:PutBucketPolicy", "s3:DeleteBucketPolicy"},
	ServiceSQS: {"sqs:SetQueueAttributes"},
}

// Lock is what the analysis of one resource policy found.
type Lock struct {
	Locked bool `json:"locked"`
	// Why says in one line which statements deny what to whom.
	Why string `json:"why,omitempty"`
	// Statements are the Deny statements that lock it: their Sid, or
	// "statement N" (from 0).
	Statements []string `json:"statements,omitempty"`
}

// policyStatement is the part of a resource-policy statement the
// analysis reads.
type policyStatement struct {
	Sid          string
	Effect       string
	Principal    json.RawMessage
	NotPrincipal json.RawMessage
	Action       stringOrList
	NotAction    stringOrList
	Resource     stringOrList
	NotResource  stringOrList
	Condition    map[string]json.RawMessage
}

// stringOrList decodes a JSON string or list of strings.
type stringOrList []string

func (l *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("want a string or a list of strings")
	}
	*l = many
	return nil
}

// ErrInvalidPolicy is returned, wrapped, for a policy document that
// cannot be read.
var ErrInvalidPolicy = errors.New("invalid policy document")

func parseStatements(doc string) ([]policyStatement, error) {
	var raw struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPolicy, err)
	}
	st := bytes.TrimSpace(raw.Statement)
	var list []policyStatement
	switch {
	case len(st) == 0:
		return nil, fmt.Errorf("%w: no Statement", ErrInvalidPolicy)
	case st[0] == '{':
		var one policyStatement
		if err := json.Unmarshal(st, &one); err != nil {
			return nil, fmt.Errorf("%w: statement: %v", ErrInvalidPolicy, err)
		}
		list = []policyStatement{one}
	default:
		if err := json.Unmarshal(st, &list); err != nil {
			return nil, fmt.Errorf("%w: statement: %v", ErrInvalidPolicy, err)
		}
	}
	return list, nil
}

// everyone reports whether a Principal element names every principal:
// "*", {"AWS": "*"} or an AWS list holding "*".
func everyone(p json.RawMessage) bool {
	if len(p) == 0 {
		return false
	}
	var star string
	if json.Unmarshal(p, &star) == nil {
		return star == "*"
	}
	var m map[string]stringOrList
	if json.Unmarshal(p, &m) != nil {
		return false
	}
	for _, v := range m["AWS"] {
		if v == "*" {
			return true
		}
	}
	return false
}

// covers reports whether a statement's Action (or NotAction) takes in
// action; IAM matches actions without regard to case.
func (st policyStatement) covers(action string) bool {
	match := func(patterns []string) bool {
		for _, p := range patterns {
			if scp.Glob(strings.ToLower(p), strings.ToLower(action)) {
				return true
			}
		}
		return false
	}
	if len(st.NotAction) > 0 {
		return !match(st.NotAction)
	}
	return match(st.Action)
}

// appliesTo reports whether a statement's Resource (or NotResource)
// takes in arn.
func (st policyStatement) appliesTo(arn string) bool {
	match := func(patterns []string) bool {
		for _, p := range patterns {
			if p == "*" || scp.Glob(p, arn) {
				return true
			}
		}
		return false
	}
	if len(st.NotResource) > 0 {
		return !match(st.NotResource)
	}
	return len(st.Resource) == 0 || match(st.Resource)
}

func (st policyStatement) id(i int) string {
	if st.Sid != "" {
		return st.Sid
	}
	return fmt.Sprintf("statement %d", i)
}

// AnalyzePolicy says whether a bucket policy (service s3) or queue policy
// (sqs) of the resource arn (arn:aws:s3:::BUCKET,
// arn:aws:sqs:REGION:ACCOUNT:NAME) locks everyone but the root user out:
// Deny statements with Principal "*" (or {"AWS": "*"}), no
// NotPrincipal and no Condition that together cover every call that
// could repair the policy (s3:PutBucketPolicy and s3:DeleteBucketPolicy;
// sqs:SetQueueAttributes) on the resource — "s3:*", "sqs:*", "*" and any
// wildcard or NotAction that takes them in. A conditional deny is never
// judged locked: whether its condition shuts everyone out depends on the
// requests, which a document alone does not say.
func AnalyzePolicy(service, arn, doc string) (Lock, error) {
	repair, ok := repairActions[service]
	if !ok {
		return Lock{}, fmt.Errorf("remediate: analyze policy: unknown service %q", service)
	}
	list, err := parseStatements(doc)
	if err != nil {
		return Lock{}, fmt.Errorf("remediate: analyze policy of %s: %w", arn, err)
	}
	var lock Lock
	var actions []string
	covered := map[string]bool{}
	for i, st := range list {
		if st.Effect != "Deny" || !everyone(st.Principal) || len(st.NotPrincipal) > 0 || len(st.Condition) > 0 || !st.appliesTo(arn) {
			continue
		}
		uses := false
		for _, a := range repair {
			if st.covers(a) {
				covered[a], uses = true, true
			}
		}
		if uses {
			lock.Statements = append(lock.Statements, st.id(i))
			what := []string(st.Action)
			if len(st.NotAction) > 0 {
				what = []string{"everything but " + strings.Join(st.NotAction, ", ")}
			}
			actions = append(actions, fmt.Sprintf("%q denies %s", st.id(i), strings.Join(what, ", ")))
		}
	}
	for _, a := range repair {
		if !covered[a] {
			return Lock{}, nil
		}
	}
	lock.Locked = true
	lock.Why = fmt.Sprintf("%s to every principal, without a condition: %s refused to every role and user; only the root user can repair the policy",
		strings.Join(actions, "; "), strings.Join(repair, " and "))
	return lock, nil
}
