package remediate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Deletion is what DeleteNow did in one account.
type Deletion struct {
	Account string `json:"account"`
	// Before is what the root user held; Steps the calls made, each with
	// its outcome ("ok", "already", "kept", "failed") and request id.
	Before *Credentials  `json:"before,omitempty"`
	Steps  []DeletedStep `json:"steps,omitempty"`
	// Refused names the check that refused the account (nothing was
	// deleted), Left what verification still saw.
	Refused string   `json:"refused,omitempty"`
	Left    []string `json:"left,omitempty"`
}

// DeletedStep is one call of a deletion.
type DeletedStep struct {
	Step      string `json:"step"`
	Result    string `json:"result"`
	RequestID string `json:"requestId,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

// Verified reports whether the deletion left nothing behind.
func (d *Deletion) Verified() bool { return d.Refused == "" && d.Before != nil && len(d.Left) == 0 }

// DeleteNow deletes one member account's root credentials at once, for a
// caller that decided by policy rather than by a reviewed plan (the
// deployed function securing a new account in a strict OU with
// enforcement on). It uses the steps and verification of Apply: one root
// session with IAMDeleteRootUserCredentials; the credentials read; the
// AccessKeyInUse check (a root access key used within 90 days refuses
// the account, nothing deleted); the login profile, access keys, signing
// certificates and MFA devices deleted in Apply's order, a credential
// already gone counted as done, EntityTemporarilyUnmodifiable retried;
// then the credentials read again (up to three times, IAM being
// eventually consistent) and anything left reported. It is idempotent:
// run again, it finds nothing and deletes nothing. It keeps no journal of
// its own; the caller records the result.
func DeleteNow(ctx context.Context, cfg aws.Config, account string, opts Options) (*Deletion, error) {
	opts = opts.withDefaults()
	d := &Deletion{Account: account}
	c, err := newClient(cfg, opts)
	if err != nil {
		return d, err
	}
	s, _, err := c.assumeRoot(ctx, account, TaskDelete)
	if err != nil {
		return d, fmt.Errorf("remediate: account %s: open a root session (%s): %w", account, TaskDelete, err)
	}
	iamc := c.memberIAM(s)
	before, _, err := readCredentials(ctx, iamc, true)
	if err != nil {
		return d, fmt.Errorf("remediate: account %s: read root credentials: %w", account, err)
	}
	d.Before = before
	check := AccessKeyInUse{Window: 90 * 24 * time.Hour}
	if r := check.Evaluate(ctx, CheckInput{Account: account, Current: before, IAM: iamc, Now: opts.Now()}); r.Outcome == CheckBlock {
		d.Refused = check.ID() + ": " + r.Detail
		return d, nil
	}
	var errs []string
	for _, st := range deletionSteps(before) {
		o := runStep(ctx, iamc, TaskDelete, st, opts)
		d.Steps = append(d.Steps, DeletedStep{Step: st.String(), Result: o.result, RequestID: o.requestID, Detail: o.detail})
		if o.err != nil {
			errs = append(errs, o.err.Error())
		}
	}
	wait := opts.UnmodifiableBackoff
	for read := 1; ; read++ {
		left, _, err := readCredentials(ctx, iamc, false)
		if err != nil {
			return d, fmt.Errorf("remediate: account %s: verify: %w", account, err)
		}
		_, d.Left = leftovers(left)
		if len(d.Left) == 0 || read == verifyReads {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return d, fmt.Errorf("remediate: account %s: verify: %w", account, ctx.Err())
		case <-t.C:
		}
		wait *= 2
	}
	if len(errs) > 0 {
		return d, fmt.Errorf("remediate: account %s: %s", account, strings.Join(errs, "; "))
	}
	if len(d.Left) > 0 {
		return d, fmt.Errorf("remediate: account %s: VERIFICATION FAILED: still present after deletion: %s", account, strings.Join(d.Left, ", "))
	}
	return d, nil
}
