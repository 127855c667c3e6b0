package remediate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/rootguard/rootguard/internal/org"
	"github.com/rootguard/rootguard/internal/rootsession"
)

// Root-task policies, by short name (internal/rootsession names them).
const (
	TaskAudit          = string(rootsession.Audit)
	TaskDelete         = string(rootsession.DeleteCredentials)
	TaskCreatePassword = string(rootsession.CreatePassword)
)

const taskPolicyPrefix = rootsession.ARNPrefix

// Options tune planning and applying.
type Options struct {
	// Workers is how many accounts are handled at once (default 64).
	Workers int
	// Region is where root sessions are opened (default the
	// configuration's): AssumeRoot works only at a Regional endpoint.
	Region string
	// AssumeRootRate is the pace of sts:AssumeRoot calls per second
	// (default 50): throttling cuts it (pace.Adaptive: the first throttle
	// halves it, later ones by 15%), successes bring it back up to
	// MaxAssumeRootRate (default AssumeRootRate itself: a run that
	// changes accounts stays at the configured rate rather than probing
	// above it).
	AssumeRootRate    float64
	MaxAssumeRootRate float64
	// MaxAttempts bounds the SDK's retries of throttling and server
	// errors (default 10), MaxBackoff its wait between them (default 5 s).
	MaxAttempts int
	MaxBackoff  time.Duration
	// UnmodifiableAttempts bounds the tries of a call that IAM answers
	// EntityTemporarilyUnmodifiable (default 8), UnmodifiableBackoff the
	// first wait between them (default 1 s, doubling up to 20 s).
	UnmodifiableAttempts int
	UnmodifiableBackoff  time.Duration
	// Checks refuse accounts when planning deletion (default
	// DefaultChecks()).
	Checks []Check
	// MaxAge is how long a plan made with these options may start a run
	// (default DefaultMaxAge).
	MaxAge time.Duration
	// Lease is how long a run's journal lock stays valid unless renewed
	// (default DefaultLease).
	Lease  time.Duration
	Now    func() time.Time
	Logger *slog.Logger
	// Progress, if set, is called after each account with the count done.
	Progress func(done, total int)
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.AssumeRootRate <= 0 {
		o.AssumeRootRate = 50
	}
	if o.MaxAssumeRootRate <= 0 {
		o.MaxAssumeRootRate = o.AssumeRootRate
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	if o.UnmodifiableAttempts <= 0 {
		o.UnmodifiableAttempts = 8
	}
	if o.UnmodifiableBackoff <= 0 {
		o.UnmodifiableBackoff = time.Second
	}
	if o.Checks == nil {
		o.Checks = DefaultChecks()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// client holds what every account shares: the configuration, the
// Organizations and STS clients, and the root sessions' opener.
type client struct {
	cfg      aws.Config
	opts     Options
	org      *organizations.Client
	sts      *sts.Client // GetCallerIdentity, AssumeRole
	sessions *rootsession.Opener
}

func newClient(cfg aws.Config, opts Options) (*client, error) {
	c := &client{opts: opts}
	c.cfg = cfg.Copy()
	standard := rootsession.Retryer(opts.MaxAttempts, opts.MaxBackoff)
	c.cfg.Retryer = func() aws.Retryer { return standard() }
	// Organizations calls are paced per operation (pace.Retryer): a
	// throttled API is retried at the rate it accepts.
	c.org = org.Retries{MaxAttempts: opts.MaxAttempts, MaxBackoff: opts.MaxBackoff}.Organizations(c.cfg)
	c.sts = sts.NewFromConfig(c.cfg)
	var err error
	c.sessions, err = rootsession.New(cfg, rootsession.Options{Region: opts.Region, Rate: opts.AssumeRootRate,
		MaxRate: opts.MaxAssumeRootRate, MaxAttempts: opts.MaxAttempts, MaxBackoff: opts.MaxBackoff, Logger: opts.Logger})
	if err != nil {
		return c, fmt.Errorf("remediate: %w", err) // c serves calls that open no root session
	}
	return c, nil
}

// callerARN is who is running rootguard, for the journal, and the
// request id of the answer.
func (c *client) callerARN(ctx context.Context) (string, string, error) {
	out, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", errRequestID(err), fmt.Errorf("get caller identity: %w", err)
	}
	return aws.ToString(out.Arn), requestID(out.ResultMetadata), nil
}

// assumeRoot opens a root session on a member account with a task policy
// (short name). It returns the request id even when it fails.
func (c *client) assumeRoot(ctx context.Context, account, task string) (*rootsession.Session, string, error) {
	s, err := c.sessions.Open(ctx, account, rootsession.Task(task))
	if err != nil {
		var re *rootsession.Error
		if errors.As(err, &re) {
			return nil, re.RequestID, err
		}
		return nil, "", err
	}
	return s, s.RequestID, nil
}

// memberIAM returns an IAM client acting with a root session.
func (c *client) memberIAM(s *rootsession.Session) *iam.Client {
	return iam.NewFromConfig(c.cfg, func(o *iam.Options) { o.Credentials = s.Credentials.Provider() })
}

// requestID is the AWS request id of a response.
func requestID(md middleware.Metadata) string {
	id, _ := awsmiddleware.GetRequestIDMetadata(md)
	return id
}

// errRequestID is the AWS request id of a failed call's answer ("" when
// no answer came).
func errRequestID(err error) string { return rootsession.ErrRequestID(err) }

// errorCode is an AWS error's code, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// forEach calls fn for 0..n-1 on up to workers goroutines, and stops
// handing out work when ctx ends; it returns the indexes never started.
func forEach(ctx context.Context, n, workers int, fn func(i int)) []int {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(1, n)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				fn(i)
			}
		}()
	}
	var skipped []int
	for i := range n {
		if ctx.Err() != nil {
			skipped = append(skipped, i)
			continue
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
			skipped = append(skipped, i)
		}
	}
	close(jobs)
	wg.Wait()
	return skipped
}
