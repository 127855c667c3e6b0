package remediate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rootguard/rootguard/internal/rootsession"
)

// CheckOutcome is what a check found.
type CheckOutcome string

// The outcomes.
const (
	CheckPass       CheckOutcome = "pass"
	CheckBlock      CheckOutcome = "block"       // deleting would make something impossible
	CheckNotChecked CheckOutcome = "not-checked" // rootguard cannot tell (yet)
)

// CheckResult is one check's finding on one account.
type CheckResult struct {
	ID      string       `json:"id"`
	Outcome CheckOutcome `json:"outcome"`
	Detail  string       `json:"detail,omitempty"`
	// Forced is set when --force named a check that blocked.
	Forced bool `json:"forced,omitempty"`
}

// CheckInput is what a check may look at: the account, what its root
// user holds (with each access key's last use), and the audit root
// session's IAM client (IAMAuditRootUserCredentials: it can read, and
// only IAM).
type CheckInput struct {
	Account string
	Current *Credentials
	IAM     *iam.Client
	Now     time.Time
}

// Check decides whether deleting an account's root credentials would make
// something impossible that only the root user can do. A blocking check
// refuses the account unless --force names its id.
type Check interface {
	ID() string
	// Title says in one line what the check protects.
	Title() string
	Evaluate(ctx context.Context, in CheckInput) CheckResult
}

// Check ids.
const (
	CheckAccessKeyInUse = "access-key-in-use"
	CheckS3MFADelete    = "s3-mfa-delete"
	CheckBilling        = "billing-iam-access"
)

// DefaultChecks are the checks planning runs unless told otherwise.
func DefaultChecks() []Check {
	return []Check{
		AccessKeyInUse{Window: 90 * 24 * time.Hour},
		S3MFADelete{},
		notChecked{id: CheckBilling, title: "IAM access to billing not activated",
			why: "activating IAM access to the Billing console needs the root user; no AWS API reads the setting, so it is NOT checked: activate it first where roles must see billing"},
	}
}

// DeletionChecks are DefaultChecks with the s3-mfa-delete check able to
// read S3 through mfaDeleteRole (see S3MFADelete; empty: not checked).
// cfg is the management (or IAM delegated administrator) account's
// configuration, s3PathStyle addresses buckets by path.
func DeletionChecks(cfg aws.Config, mfaDeleteRole string, s3PathStyle bool, opts Options) []Check {
	cs := DefaultChecks()
	if mfaDeleteRole != "" {
		for i, c := range cs {
			if c.ID() == CheckS3MFADelete {
				cs[i] = NewS3MFADelete(cfg, mfaDeleteRole, s3PathStyle, opts)
			}
		}
	}
	return cs
}

// CheckIDs lists the ids of checks.
func CheckIDs(cs []Check) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID()
	}
	return ids
}

// AccessKeyInUse blocks deletion while a root access key was used within
// Window (90 days, RG.ROOT.2's window, by default): something, usually a
// script, depends on it and would stop working.
type AccessKeyInUse struct{ Window time.Duration }

// ID implements Check.
func (AccessKeyInUse) ID() string { return CheckAccessKeyInUse }

// Title implements Check.
func (c AccessKeyInUse) Title() string {
	return fmt.Sprintf("a root access key used in the last %d days (whatever uses it breaks)", int(c.Window.Hours()/24))
}

// Evaluate implements Check.
func (c AccessKeyInUse) Evaluate(_ context.Context, in CheckInput) CheckResult {
	r := CheckResult{ID: c.ID(), Outcome: CheckPass}
	var used []string
	for _, k := range in.Current.AccessKeys {
		if !k.LastUsed.IsZero() && in.Now.Sub(k.LastUsed) < c.Window {
			s := fmt.Sprintf("%s used %s (%d days ago)", k.ID, k.LastUsed.Format("2006-01-02"), int(in.Now.Sub(k.LastUsed).Hours()/24))
			if k.LastUsedService != "" && k.LastUsedService != "N/A" {
				s += " with " + k.LastUsedService
			}
			used = append(used, s)
		}
	}
	if len(used) > 0 {
		r.Outcome, r.Detail = CheckBlock, "root access key in use: "+strings.Join(used, "; ")
	}
	return r
}

// notChecked is a check rootguard cannot make: it always says so.
type notChecked struct{ id, title, why string }

func (c notChecked) ID() string    { return c.id }
func (c notChecked) Title() string { return c.title }
func (c notChecked) Evaluate(context.Context, CheckInput) CheckResult {
	return CheckResult{ID: c.id, Outcome: CheckNotChecked, Detail: c.why}
}

// S3MFADelete refuses deletion while a bucket of the account has MFA
// Delete enabled: only the root user, signing in with its MFA device, can
// turn MFA Delete off again (or permanently delete object versions).
//
// No root session can read it: no root-task policy allows
// s3:GetBucketVersioning (S3UnlockBucketPolicy allows s3:ListAllMyBuckets
// and s3:Get/Put/DeleteBucketPolicy only, the IAM task policies nothing
// in S3). So without a role the check says it is not checked. With Role
// (made by NewS3MFADelete) it reads, through sts:AssumeRole into that
// role in each member account, every bucket (ListBuckets with their
// regions) and its versioning (GetBucketVersioning in the bucket's
// region), and refuses the account when a bucket has MFA Delete enabled,
// or when the role or a bucket could not be read (a bucket policy that
// denies every principal hides its versioning from every role: 'rootguard
// unlock find' lists those).
type S3MFADelete struct {
	// Role is the name of a role in every member account allowed
	// s3:ListAllMyBuckets and s3:GetBucketVersioning (for example
	// OrganizationAccountAccessRole); empty: not checked.
	Role      string
	client    *client
	pathStyle bool
}

// NewS3MFADelete returns the check reading S3 through role. cfg is the
// configuration of the account the role trusts (the management account).
func NewS3MFADelete(cfg aws.Config, role string, s3PathStyle bool, opts Options) S3MFADelete {
	c, _ := newClient(cfg, opts.withDefaults()) // the check opens no root session: only AssumeRole
	return S3MFADelete{Role: role, client: c, pathStyle: s3PathStyle}
}

// ID implements Check.
func (S3MFADelete) ID() string { return CheckS3MFADelete }

// Title implements Check.
func (S3MFADelete) Title() string {
	return "an S3 bucket with MFA Delete enabled (only the root user, with its MFA device, can turn it off)"
}

// Evaluate implements Check. Without an account (as planning asks, to
// list what is not checked) it says whether it can check at all.
func (c S3MFADelete) Evaluate(ctx context.Context, in CheckInput) CheckResult {
	r := CheckResult{ID: c.ID(), Outcome: CheckPass}
	if c.Role == "" || c.client == nil {
		r.Outcome = CheckNotChecked
		r.Detail = "not checkable with root sessions: no root-task policy allows s3:GetBucketVersioning " +
			"(S3UnlockBucketPolicy allows only s3:ListAllMyBuckets and s3:Get/Put/DeleteBucketPolicy), so buckets with MFA Delete " +
			"are NOT detected: give --mfa-delete-role ROLE to read them through a role in each member account, or check them by hand before deleting"
		return r
	}
	if in.Account == "" {
		r.Detail = "read through the role " + c.Role + " in each account"
		return r
	}
	enabled, unknown, n, err := c.read(ctx, in.Account)
	switch {
	case err != nil:
		r.Outcome, r.Detail = CheckBlock, fmt.Sprintf("MFA Delete unknown: S3 not read with the role %s: %v", c.Role, err)
	case len(enabled) > 0:
		r.Outcome, r.Detail = CheckBlock, "MFA Delete enabled on "+strings.Join(enabled, ", ")
		if len(unknown) > 0 {
			r.Detail += "; unknown for " + strings.Join(unknown, "; ")
		}
	case len(unknown) > 0:
		r.Outcome, r.Detail = CheckBlock, "MFA Delete unknown for "+strings.Join(unknown, "; ")
	default:
		r.Detail = fmt.Sprintf("%d buckets, none with MFA Delete (read with the role %s)", n, c.Role)
	}
	return r
}

// read lists the account's buckets with MFA Delete enabled and those
// whose versioning could not be read, through the role.
func (c S3MFADelete) read(ctx context.Context, account string) (enabled, unknown []string, n int, err error) {
	out, err := c.client.sts.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::" + account + ":role/" + c.Role),
		RoleSessionName: aws.String("rootguard-s3-mfa-delete"),
		DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("assume role: %w", err)
	}
	cr, err := rootsession.NewCredentials(out.Credentials)
	if err != nil {
		return nil, nil, 0, err
	}
	s3c := c.client.memberS3(cr, c.pathStyle)
	buckets, err := listBuckets(ctx, s3c, "")
	if err != nil {
		return nil, nil, 0, err
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, 8)
	)
	for _, b := range buckets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			v, err := s3c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b.name)}, s3Region(b.region))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				unknown = append(unknown, fmt.Sprintf("%s (%s): %s", b.name, b.region, errorCode(err)))
			case v.MFADelete == "Enabled":
				enabled = append(enabled, b.name+" ("+b.region+")")
			}
		})
	}
	wg.Wait()
	slices.Sort(enabled)
	slices.Sort(unknown)
	return enabled, unknown, len(buckets), nil
}
