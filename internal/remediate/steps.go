package remediate

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go/middleware"
)

// taskOps are the IAM operations each root-task policy allows (AWS's
// managed root-task policies).
var taskOps = map[string][]Op{
	TaskAudit:          {},
	TaskDelete:         {OpDeleteLoginProfile, OpDeleteAccessKey, OpDeleteSigningCertificate, OpDeactivateMFADevice, OpDeleteVirtualMFADevice},
	TaskCreatePassword: {OpCreateLoginProfile},
}

// stepOutcome is what one step did.
type stepOutcome struct {
	result    string // resultOK, resultAlready, resultFailed
	requestID string
	attempts  int
	detail    string
	err       error
}

// runStep makes one step's call with a root session's IAM client. A
// credential already gone (NoSuchEntity), or a login profile already
// there, is "already"; EntityTemporarilyUnmodifiable is retried with
// backoff (throttling and server errors are the SDK retryer's); a call
// the session's task policy does not allow fails with a message that
// says so.
func runStep(ctx context.Context, c *iam.Client, task string, st Step, opts Options) stepOutcome {
	backoff := opts.UnmodifiableBackoff
	sent := 0 // requests before this try (EntityTemporarilyUnmodifiable answers)
	for attempt := 1; ; attempt++ {
		md, err := call(ctx, c, st)
		if err == nil {
			// The SDK's own retries (throttling, 5xx) count as attempts too.
			tries := 1
			if r, ok := retry.GetAttemptResults(md); ok && len(r.Results) > 0 {
				tries = len(r.Results)
			}
			return stepOutcome{result: resultOK, requestID: requestID(md), attempts: sent + tries}
		}
		sent++
		o := stepOutcome{result: resultFailed, requestID: errRequestID(err), attempts: attempt}
		switch code := errorCode(err); {
		case code == "NoSuchEntity" && st.Op != OpCreateLoginProfile:
			o.result, o.detail = resultAlready, "already gone (NoSuchEntity)"
			return o
		case code == "EntityAlreadyExists" && st.Op == OpCreateLoginProfile:
			o.result, o.detail = resultAlready, "the login profile already exists"
			return o
		case code == "EntityTemporarilyUnmodifiable" && attempt < opts.UnmodifiableAttempts:
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				o.err = fmt.Errorf("%s: %w (while waiting to retry EntityTemporarilyUnmodifiable)", st, ctx.Err())
				return o
			case <-t.C:
			}
			backoff = min(2*backoff, 20*time.Second)
			continue
		case code == "EntityTemporarilyUnmodifiable":
			o.err = fmt.Errorf("%s: still EntityTemporarilyUnmodifiable after %d attempts (resume later): %w", st, attempt, err)
			return o
		case (code == "AccessDenied" || code == "AccessDeniedException") && st.Op == OpDeleteVirtualMFADevice && task == TaskDelete:
			// The device is its own resource (arn:aws:iam::ACCOUNT:mfa/NAME),
			// which IAMDeleteRootUserCredentials's NotResource
			// arn:aws:iam::*:root may deny (unverified, see awssim's
			// guesses). Deactivated, it protects nothing: report it.
			o.result, o.detail = resultKept, keptDetail+" ("+errorCode(err)+")"
			return o
		case code == "AccessDenied" || code == "AccessDeniedException":
			o.err = deniedError(task, st, err)
			return o
		}
		o.err = fmt.Errorf("%s: %w", st, err)
		return o
	}
}

// deniedError explains an AccessDenied answer to a step.
func deniedError(task string, st Step, err error) error {
	if !slices.Contains(taskOps[task], st.Op) {
		needs := TaskDelete
		if st.Op == OpCreateLoginProfile {
			needs = TaskCreatePassword
		}
		return fmt.Errorf("%s: access denied: a root session with task policy %s cannot call iam:%s (%s can): %w", st, task, st.Op, needs, err)
	}
	return fmt.Errorf("%s: access denied although task policy %s allows iam:%s (a service control policy may deny it): %w", st, task, st.Op, err)
}

// call makes a step's IAM call and returns the response metadata.
func call(ctx context.Context, c *iam.Client, st Step) (middleware.Metadata, error) {
	switch st.Op {
	case OpDeleteLoginProfile:
		out, err := c.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{})
		if err != nil {
			return middleware.Metadata{}, err
		}
		return out.ResultMetadata, nil
	case OpDeleteAccessKey:
		out, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(st.Target)})
		if err != nil {
			return middleware.Metadata{}, err
		}
		return out.ResultMetadata, nil
	case OpDeleteSigningCertificate:
		out, err := c.DeleteSigningCertificate(ctx, &iam.DeleteSigningCertificateInput{CertificateId: aws.String(st.Target)})
		if err != nil {
			return middleware.Metadata{}, err
		}
		return out.ResultMetadata, nil
	case OpDeactivateMFADevice:
		out, err := c.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{SerialNumber: aws.String(st.Target)})
		if err != nil {
			return middleware.Metadata{}, err
		}
		return out.ResultMetadata, nil
	case OpDeleteVirtualMFADevice:
		out, err := c.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(st.Target)})
		if err != nil {
			return middleware.Metadata{}, err
		}
		return out.ResultMetadata, nil
	case OpCreateLoginProfile:
		// No password: with a root session, the root user gets a login
		// profile whose password its email owner recovers.
		out, err := c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{})
		if err != nil {
			return middleware.Metadata{}, err
		}
		return out.ResultMetadata, nil
	}
	return middleware.Metadata{}, fmt.Errorf("unknown operation %q", st.Op)
}
