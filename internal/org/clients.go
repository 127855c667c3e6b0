package org

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/rootguard/rootguard/internal/pace"
	"github.com/rootguard/rootguard/internal/rootsession"
)

// AWS Organizations throttles its API per account and operation
// (TooManyRequestsException), and so does IAM the management account's
// calls (Throttling). A large organization's tree walk, its SCPs and each
// account's reads are enough to run into it, and the SDK's default
// retryer (three attempts, a retry quota that a burst of throttles
// spends) then loses answers: whole accounts and OUs. Every client of the
// management account's Organizations and IAM APIs that can make many
// calls is built here, paced per operation (pace.Retryer): a throttled
// operation is retried at the rate AWS accepts instead of in a flood of
// backoffs that runs out of attempts.

// InitialPace is where each operation of a paced client starts, in calls
// per second: the initial pace of sts:AssumeRoot too. The pace finds the
// rate AWS allows from there, up or down.
const InitialPace = 50

// Retries bound how a paced client retries. The zero value is the
// standard the audit and remediation use: 10 attempts, backoff between
// server errors up to 5 s, no client-side retry quota
// (rootsession.Retryer).
type Retries struct {
	MaxAttempts int           // attempts per call, the first included (0: 10)
	MaxBackoff  time.Duration // the longest wait after a server error (0: 5 s)
}

// Retryer returns a new paced retryer: one per client, since its
// operations' limiters are that client's.
func (r Retries) Retryer() *pace.Retryer {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 10
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = 5 * time.Second
	}
	return pace.NewRetryer(rootsession.Retryer(r.MaxAttempts, r.MaxBackoff)(), InitialPace)
}

// Organizations returns an Organizations client, configured from cfg the
// SDK's way, whose every operation is paced on its own.
func (r Retries) Organizations(cfg aws.Config) *organizations.Client {
	return organizations.NewFromConfig(cfg, func(o *organizations.Options) { o.Retryer = r.Retryer() })
}

// IAM returns an IAM client, configured from cfg the SDK's way, whose
// every operation is paced on its own.
func (r Retries) IAM(cfg aws.Config) *iam.Client {
	return iam.NewFromConfig(cfg, func(o *iam.Options) { o.Retryer = r.Retryer() })
}

// NewOrganizations returns a paced Organizations client with the
// standard retries: what every command that walks the organization or
// reads per-account data uses.
func NewOrganizations(cfg aws.Config) *organizations.Client { return Retries{}.Organizations(cfg) }

// NewIAM returns a paced IAM client with the standard retries, for the
// management account's own IAM calls.
func NewIAM(cfg aws.Config) *iam.Client { return Retries{}.IAM(cfg) }
