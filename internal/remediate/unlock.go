package remediate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/rootguard/rootguard/internal/store"
)

// Kinds of unlock runs in the journal.
const (
	KindUnlockS3  Kind = "unlock-s3"
	KindUnlockSQS Kind = "unlock-sqs"
)

// UnlockAction is what an unlock does to a policy.
type UnlockAction string

// The unlock actions.
const (
	UnlockDelete  UnlockAction = "delete-policy"
	UnlockReplace UnlockAction = "replace-policy"
	UnlockNone    UnlockAction = "none"
)

// UnlockTarget names one bucket or queue.
type UnlockTarget struct {
	Service  string // ServiceS3 or ServiceSQS
	Account  string
	Bucket   string // S3
	QueueURL string // SQS
	// Region of the queue when its URL does not say (SQS only; default:
	// the configuration's region).
	Region string
	// Replacement is a corrected policy to put in place of the current
	// one; empty deletes the policy.
	Replacement string
	// Force changes a policy that AnalyzePolicy does not judge locked
	// (a conditional deny that still shuts everyone out, say).
	Force bool
}

// UnlockPlan is what unlocking one bucket or queue would do, shown before
// it is done and kept in the journal.
type UnlockPlan struct {
	Kind              Kind   `json:"kind"`
	CreatedBy         string `json:"createdBy"`
	Organization      string `json:"organization"`
	ManagementAccount string `json:"managementAccount"`
	Account           string `json:"account"`
	Name              string `json:"name"`
	Service           string `json:"service"`
	Region            string `json:"region"`
	// Resource is the bucket name or the queue URL.
	Resource string `json:"resource"`
	ARN      string `json:"arn"`
	// Policy is the current policy ("" when there is none), PolicyDigest
	// its sha256.
	Policy       string       `json:"policy"`
	PolicyDigest string       `json:"policyDigest"`
	Lock         Lock         `json:"lock"`
	Action       UnlockAction `json:"action"`
	Reason       string       `json:"reason"`
	Replacement  string       `json:"replacement,omitempty"`
}

func policyDigest(p string) string {
	sum := sha256.Sum256([]byte(p))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// queueParts reads REGION, ACCOUNT and NAME from a queue URL
// (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, or the legacy
// https://REGION.queue.amazonaws.com/ACCOUNT/NAME); region is "" for a
// host that does not name one.
func queueParts(u string) (region, account, name string) {
	pu, err := url.Parse(u)
	if err != nil {
		return "", "", ""
	}
	account, name, _ = strings.Cut(strings.Trim(pu.Path, "/"), "/")
	if !reQueueName().MatchString(name) {
		name = "" // "q/extra", "q?x": no queue is named so
	}
	host := pu.Hostname()
	switch {
	case strings.HasPrefix(host, "sqs.") && strings.Count(host, ".") >= 3:
		region, _, _ = strings.Cut(strings.TrimPrefix(host, "sqs."), ".")
	case strings.Contains(host, ".queue."):
		region, _, _ = strings.Cut(host, ".")
	}
	if !reRegionName().MatchString(region) {
		region = ""
	}
	return region, account, name
}

var (
	// reQueueName: "A queue name can have up to 80 characters. Valid
	// values: alphanumeric characters, hyphens (-), and underscores (_).
	// A FIFO queue name must end with the .fifo suffix" (SQS API
	// Reference, CreateQueue, QueueName).
	reQueueName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo)$`) })
	// reRegionName is the form of a Region name (eu-west-1, us-gov-west-1).
	reRegionName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`) })
)

// PlanUnlock reads a bucket's or queue's policy with the root session
// that can change it (S3UnlockBucketPolicy, SQSUnlockQueuePolicy) and says
// what unlocking would do: delete the policy, or replace it with
// t.Replacement; nothing when there is no policy, or when the policy does
// not lock anyone out (unless t.Force). The management account, accounts
// outside the organization, and a replacement that would lock the
// resource again are refused (*TargetError).
func PlanUnlock(ctx context.Context, cfg aws.Config, t UnlockTarget, opts UnlockOptions) (*UnlockPlan, error) {
	opts = opts.withDefaults(cfg)
	p := &UnlockPlan{Service: t.Service, Account: t.Account, Replacement: t.Replacement}
	switch t.Service {
	case ServiceS3:
		p.Kind, p.Resource, p.ARN = KindUnlockS3, t.Bucket, "arn:aws:s3:::"+t.Bucket
		if t.Bucket == "" {
			return nil, &TargetError{Err: errors.New("name the bucket")}
		}
	case ServiceSQS:
		p.Kind, p.Resource = KindUnlockSQS, t.QueueURL
		region, acct, name := queueParts(t.QueueURL)
		switch {
		case acct == "" || name == "" || !reAccount().MatchString(acct):
			return nil, &TargetError{Target: t.QueueURL, Err: errNotQueueURL}
		case acct != t.Account:
			return nil, &TargetError{Target: t.QueueURL, Err: fmt.Errorf("the queue belongs to account %s, not %s", acct, t.Account)}
		case t.Region != "" && region != "" && t.Region != region:
			return nil, &TargetError{Target: t.QueueURL, Err: fmt.Errorf("the queue is in %s, not %s", region, t.Region)}
		}
		p.Region = region
		if p.Region == "" {
			p.Region = t.Region
		}
		if p.Region == "" {
			p.Region = opts.Regions[0]
		}
		p.ARN = "arn:aws:sqs:" + p.Region + ":" + acct + ":" + name
	default:
		return nil, fmt.Errorf("remediate: unlock: unknown service %q", t.Service)
	}
	if !reAccount().MatchString(t.Account) {
		return nil, &TargetError{Target: t.Account, Err: errors.New("not a 12-digit account id")}
	}
	if t.Replacement != "" {
		lock, err := AnalyzePolicy(t.Service, p.ARN, t.Replacement)
		if err != nil {
			return nil, &TargetError{Target: "the replacement policy", Err: err}
		}
		if lock.Locked {
			return nil, &TargetError{Target: "the replacement policy", Err: errors.New("it locks the resource too: " + lock.Why)}
		}
	}

	c, err := newClient(cfg, opts.Options)
	if err != nil {
		return nil, err
	}
	caller, _, err := c.callerARN(ctx)
	if err != nil {
		return nil, fmt.Errorf("remediate: %w", err)
	}
	p.CreatedBy = caller
	if err := c.checkTarget(ctx, p); err != nil {
		return nil, err
	}
	task := TaskS3Unlock
	if t.Service == ServiceSQS {
		task = TaskSQSUnlock
	}
	s, _, err := c.assumeRoot(ctx, t.Account, task)
	if err != nil {
		return nil, fmt.Errorf("remediate: account %s: %w", t.Account, err)
	}
	if t.Service == ServiceS3 {
		s3c := c.memberS3(s.Credentials, opts.S3PathStyle)
		bs, err := listBuckets(ctx, s3c, t.Bucket)
		if err != nil {
			return nil, fmt.Errorf("remediate: account %s: %w", t.Account, err)
		}
		for _, b := range bs {
			if b.name == t.Bucket {
				p.Region = b.region
			}
		}
		if p.Region == "" {
			return nil, &TargetError{Target: "bucket " + t.Bucket, Err: fmt.Errorf("not among the buckets of account %s", t.Account)}
		}
		if p.Policy, _, err = bucketPolicy(ctx, s3c, bucketInfo{t.Bucket, p.Region}); err != nil {
			return nil, fmt.Errorf("remediate: account %s: %w", t.Account, err)
		}
	} else {
		p.Policy, _, err = queuePolicy(ctx, c.memberSQS(s.Credentials), p.Region, t.QueueURL)
		var qdne *sqstypes.QueueDoesNotExist
		if errors.As(err, &qdne) {
			return nil, &TargetError{Target: "queue " + t.QueueURL, Err: fmt.Errorf("no such queue in account %s, %s", t.Account, p.Region)}
		}
		if err != nil {
			return nil, fmt.Errorf("remediate: account %s: %w", t.Account, err)
		}
	}
	p.PolicyDigest = policyDigest(p.Policy)
	what := map[string]string{ServiceS3: "bucket", ServiceSQS: "queue"}[t.Service]
	switch {
	case p.Policy == "" && t.Replacement == "":
		p.Action, p.Reason = UnlockNone, "the "+what+" has no policy: nothing to unlock"
		return p, nil
	case p.Policy != "":
		if p.Lock, err = AnalyzePolicy(t.Service, p.ARN, p.Policy); err != nil {
			p.Lock = Lock{Why: "the current policy could not be analyzed: " + err.Error()}
		}
	}
	if !p.Lock.Locked && !t.Force {
		p.Action = UnlockNone
		p.Reason = "the policy does not lock everyone out (no unconditional Deny of " + strings.Join(repairActions[t.Service], " and ") +
			" to every principal): nothing to unlock; --force changes it anyway"
		if p.Policy == "" {
			p.Reason = "the " + what + " has no policy: nothing to unlock; --force puts the replacement in place"
		}
		return p, nil
	}
	if t.Replacement != "" {
		p.Action, p.Reason = UnlockReplace, "replace the policy with the corrected one"
	} else {
		p.Action, p.Reason = UnlockDelete, "delete the policy (the "+what+" then has none: the account's identity policies decide alone)"
	}
	if p.Lock.Locked {
		p.Reason += ": " + p.Lock.Why
	} else {
		p.Reason += " (forced: not judged locked)"
	}
	return p, nil
}

// checkTarget refuses the management account and accounts that are not
// ACTIVE members, and fills in the organization and the account's name.
func (c *client) checkTarget(ctx context.Context, p *UnlockPlan) error {
	m, err := CheckMember(ctx, c.org, p.Account)
	if m != nil {
		p.Organization, p.ManagementAccount, p.Name = m.Organization, m.ManagementAccount, m.Name
	}
	return err
}

// Member is a member account as Organizations describes it now.
type Member struct {
	Organization      string
	ManagementAccount string
	Account           string
	Name              string
	Email             string
	State             string
}

// CheckMember describes account in the caller's organization
// (DescribeOrganization, DescribeAccount) and refuses, in a
// *TargetError, an id that is not 12 digits, the management account, an
// account the organization does not have, and one that is not ACTIVE
// (sts:AssumeRoot refuses suspended and closed accounts), before anything
// is changed. Other errors are reads that failed; the Member is returned
// with whatever was read.
func CheckMember(ctx context.Context, orgc *organizations.Client, account string) (*Member, error) {
	if !reAccount().MatchString(account) {
		return nil, &TargetError{Target: account, Err: ErrMalformedAccount}
	}
	d, err := orgc.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return nil, fmt.Errorf("remediate: describe organization: %w", err)
	}
	m := &Member{Organization: aws.ToString(d.Organization.Id), ManagementAccount: aws.ToString(d.Organization.MasterAccountId), Account: account}
	if account == m.ManagementAccount {
		return m, &TargetError{Target: account, Err: ErrManagementAccount}
	}
	a, err := orgc.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(account)})
	var nf *orgtypes.AccountNotFoundException
	if errors.As(err, &nf) {
		return m, &TargetError{Target: account, Err: ErrUnknownTarget}
	}
	if err != nil {
		return m, fmt.Errorf("remediate: describe account %s: %w", account, err)
	}
	m.Name, m.Email = aws.ToString(a.Account.Name), aws.ToString(a.Account.Email)
	m.State = string(a.Account.State)
	if m.State == "" {
		m.State = string(a.Account.Status)
	}
	if m.State != "" && m.State != "ACTIVE" {
		return m, &TargetError{Target: account, Err: fmt.Errorf("%w: it is %s, and sts:AssumeRoot refuses it", ErrInactiveAccount, m.State)}
	}
	return m, nil
}

// Encode writes the plan as indented JSON.
func (p *UnlockPlan) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("remediate: encode unlock plan: %w", err)
	}
	return append(b, '\n'), nil
}

// UnlockOutcome is how an unlock ended.
type UnlockOutcome struct {
	RunID    string `json:"runId"`
	Caller   string `json:"caller"`
	Account  string `json:"account"`
	Service  string `json:"service"`
	Region   string `json:"region"`
	Resource string `json:"resource"`
	Status   Status `json:"status"` // done or failed
	// Changes are the calls that changed the policy.
	Changes []string `json:"changes"`
	Error   string   `json:"error,omitempty"`
}

// Journal step keys of an unlock run.
const (
	keySavePolicy = "save-policy"
	keyChange     = "change-policy"
)

// ErrPolicyChanged is returned, wrapped, when a policy changed between
// planning and applying.
var ErrPolicyChanged = errors.New("the policy changed since it was shown")

// ApplyUnlock carries out an unlock plan in one root session and records
// it in the journal as a run of kind unlock-s3 or unlock-sqs: the
// AssumeRoot call; the policy as it is now, in full, in the detail of the
// save-policy step (refused if it is not the one the plan showed); the
// deletion or replacement; and a verification that reads it back. The old
// policy can always be restored from that step. Failures after the run
// started are in the outcome (Status failed); ApplyUnlock fails only when
// the plan changes nothing or the caller or journal cannot be read.
func ApplyUnlock(ctx context.Context, cfg aws.Config, p *UnlockPlan, j *store.Store, opts UnlockOptions) (*UnlockOutcome, error) {
	if p.Action != UnlockDelete && p.Action != UnlockReplace {
		return nil, fmt.Errorf("remediate: unlock %s: nothing to do (%s)", p.Resource, p.Reason)
	}
	if p.Account == p.ManagementAccount {
		return nil, &TargetError{Target: p.Account, Err: ErrManagementAccount}
	}
	opts = opts.withDefaults(cfg)
	now := opts.Now().UTC()
	id, err := newRunID(now.Format("20060102T150405Z"))
	if err != nil {
		return nil, err
	}
	// One unlock of a service at a time per organization, as for the
	// other runs: refused before anything is sent.
	lock, ctx, err := lockRun(ctx, j, p.Organization, p.Kind, id, opts.Options)
	if err != nil {
		return nil, err
	}
	defer lock.release(ctx)
	c, err := newClient(cfg, opts.Options)
	if err != nil {
		return nil, err
	}
	caller, _, err := c.callerARN(ctx)
	if err != nil {
		return nil, fmt.Errorf("remediate: %w", err)
	}
	doc, err := p.Encode()
	if err != nil {
		return nil, err
	}
	if err := j.CreateRun(ctx, store.JournalRun{ID: id, Kind: string(p.Kind), OrgID: p.Organization, CallerARN: caller,
		PlanDigest: Digest(doc), Plan: doc, StartedAt: now}); err != nil {
		return nil, fmt.Errorf("remediate: %w", err)
	}
	out := &UnlockOutcome{RunID: id, Caller: caller, Account: p.Account, Service: p.Service, Region: p.Region,
		Resource: p.Resource, Status: StatusFailed, Changes: []string{}}
	runErr := c.unlock(ctx, j, id, p, opts, out)
	status := store.RunDone
	if runErr != nil {
		out.Error = runErr.Error()
		status = store.RunIncomplete
	} else {
		out.Status = StatusDone
	}
	if err := j.FinishRun(ctx, id, status, opts.Now().UTC()); err != nil {
		return out, fmt.Errorf("remediate: %w", err)
	}
	return out, nil
}

// unlock does the steps of ApplyUnlock, each recorded.
func (c *client) unlock(ctx context.Context, j *store.Store, runID string, p *UnlockPlan, opts UnlockOptions, out *UnlockOutcome) error {
	record := func(step, action, target, result, reqID string, attempts int, detail any, err error) error {
		st := store.JournalStep{RunID: runID, Account: p.Account, Step: step, Action: action, Target: target,
			Result: result, RequestID: reqID, Attempts: max(attempts, 1), At: c.opts.Now().UTC()}
		if err != nil {
			st.Error = err.Error()
		}
		if detail != nil {
			st.Detail = jsonString(detail)
		}
		if _, jerr := j.AddStep(ctx, st); jerr != nil {
			return fmt.Errorf("remediate: %w", jerr)
		}
		return err
	}
	task := TaskS3Unlock
	if p.Service == ServiceSQS {
		task = TaskSQSUnlock
	}
	s, reqID, err := c.assumeRoot(ctx, p.Account, task)
	if err != nil {
		return record(keyAssumeRoot, "sts:AssumeRoot", p.Account, resultFailed, reqID, 1, map[string]string{"taskPolicy": task}, err)
	}
	if err := record(keyAssumeRoot, "sts:AssumeRoot", p.Account, resultOK, reqID, 1, map[string]string{"taskPolicy": task}, nil); err != nil {
		return err
	}

	// Read the policy as it is now, and save it in full.
	var (
		s3c    *s3.Client
		sqc    *sqs.Client
		read   func() (string, string, error)
		action string
	)
	if p.Service == ServiceS3 {
		s3c = c.memberS3(s.Credentials, opts.S3PathStyle)
		read = func() (string, string, error) { return bucketPolicy(ctx, s3c, bucketInfo{p.Resource, p.Region}) }
		action = "s3:GetBucketPolicy"
	} else {
		sqc = c.memberSQS(s.Credentials)
		read = func() (string, string, error) { return queuePolicy(ctx, sqc, p.Region, p.Resource) }
		action = "sqs:GetQueueAttributes"
	}
	old, reqID, err := read()
	saved := map[string]string{"resource": p.Resource, "arn": p.ARN, "region": p.Region, "policy": old, "policyDigest": policyDigest(old)}
	if err == nil && policyDigest(old) != p.PolicyDigest {
		err = fmt.Errorf("%w (%s, shown %s): nothing was changed; run the command again to see it", ErrPolicyChanged, policyDigest(old), p.PolicyDigest)
	}
	if err != nil {
		return record(keySavePolicy, action, p.Resource, resultFailed, reqID, 1, saved, err)
	}
	if err := record(keySavePolicy, action, p.Resource, resultOK, reqID, 1, saved, nil); err != nil {
		return err
	}

	// Delete or replace it.
	var (
		md     middleware.Metadata
		change string
	)
	switch {
	case p.Service == ServiceS3 && p.Action == UnlockDelete:
		change = "s3:DeleteBucketPolicy"
		var o *s3.DeleteBucketPolicyOutput
		if o, err = s3c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(p.Resource)}, s3Region(p.Region)); err == nil {
			md = o.ResultMetadata
		}
	case p.Service == ServiceS3:
		change = "s3:PutBucketPolicy"
		var o *s3.PutBucketPolicyOutput
		if o, err = s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(p.Resource), Policy: aws.String(p.Replacement)}, s3Region(p.Region)); err == nil {
			md = o.ResultMetadata
		}
	default:
		change = "sqs:SetQueueAttributes"
		var o *sqs.SetQueueAttributesOutput
		if o, err = sqc.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(p.Resource),
			Attributes: map[string]string{string(sqstypes.QueueAttributeNamePolicy): p.Replacement}}, sqsRegion(p.Region)); err == nil {
			md = o.ResultMetadata
		}
	}
	var detail any
	if p.Action == UnlockReplace {
		detail = map[string]string{"policy": p.Replacement, "policyDigest": policyDigest(p.Replacement)}
	}
	if err != nil {
		if code := errorCode(err); code == "AccessDenied" || code == "AccessDeniedException" {
			err = fmt.Errorf("%s (the %s root session, an SCP, or a VPC endpoint policy refused it): %w", change, task, err)
		} else {
			err = fmt.Errorf("%s: %w", change, err)
		}
		return record(keyChange, change, p.Resource, resultFailed, errRequestID(err), 1, detail, err)
	}
	if err := record(keyChange, change, p.Resource, resultOK, requestID(md), attempts(md), detail, nil); err != nil {
		return err
	}
	out.Changes = append(out.Changes, change)

	// Read it back.
	now, reqID, err := read()
	want := p.Replacement
	if err == nil && now != want {
		err = fmt.Errorf("VERIFICATION FAILED: the policy is still %s, want %s", policyDigest(now), policyDigest(want))
	}
	result := resultOK
	if err != nil {
		result = resultFailed
	}
	return record(keyVerify, action, p.Resource, result, reqID, 1, map[string]string{"policyDigest": policyDigest(now)}, err)
}

// attempts is how many requests a call took, the SDK's retries included.
func attempts(md middleware.Metadata) int {
	if r, ok := retry.GetAttemptResults(md); ok && len(r.Results) > 0 {
		return len(r.Results)
	}
	return 1
}
