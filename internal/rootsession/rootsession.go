// Package rootsession opens centralized root sessions: sts:AssumeRoot on
// a member account with one of AWS's root-task policies, on the Regional
// STS endpoint of one Region, paced and retried, with credentials that
// never print or log their secret parts.
//
// Every command that acts as a member account's root user opens its
// sessions here, so how a session is opened (its Region, its task policy,
// its pace) is decided once.
package rootsession

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rootguard/rootguard/internal/pace"
)

// Task is an AWS managed root-task policy, by the name AWS gives it under
// arn:aws:iam::aws:policy/root-task/.
type Task string

// The root-task policies (version v1, 2024-11-06).
const (
	Audit             Task = "IAMAuditRootUserCredentials"
	CreatePassword    Task = "IAMCreateRootUserPassword"
	DeleteCredentials Task = "IAMDeleteRootUserCredentials"
	S3Unlock          Task = "S3UnlockBucketPolicy"
	SQSUnlock         Task = "SQSUnlockQueuePolicy"
)

// ARNPrefix is the path of every root-task policy's ARN.
const ARNPrefix = "arn:aws:iam::aws:policy/root-task/"

// Tasks lists the root-task policies.
func Tasks() []Task { return []Task{Audit, CreatePassword, DeleteCredentials, S3Unlock, SQSUnlock} }

// ARN is the task policy's ARN, as AssumeRoot takes it.
func (t Task) ARN() string { return ARNPrefix + string(t) }

// TaskOf returns the task of a root-task policy ARN (or short name), and
// whether it is one of the five.
func TaskOf(arnOrName string) (Task, bool) {
	name := strings.TrimPrefix(arnOrName, ARNPrefix)
	for _, t := range Tasks() {
		if string(t) == name {
			return t, true
		}
	}
	return Task(name), false
}

// DefaultDuration is how long a session lasts: AssumeRoot's maximum.
const DefaultDuration = 900 * time.Second

// Options tune an Opener.
type Options struct {
	// Region is where sessions are opened: sts:AssumeRoot works only at a
	// Regional STS endpoint, and CloudTrail records it in that Region.
	// Default: the configuration's Region.
	Region string
	// Rate is the initial pace of AssumeRoot calls per second (default
	// 50). The pace then finds the rate AWS allows by itself (pace.Adaptive:
	// growth bounded by the rate AWS accepts until the first throttle, then
	// additive increase and a multiplicative cut per throttle burst), never
	// above MaxRate (default 0: no cap).
	Rate, MaxRate float64
	// MaxAttempts bounds the SDK's retries of throttling and server
	// errors (default 10), MaxBackoff its wait between them (default 5 s).
	MaxAttempts int
	MaxBackoff  time.Duration
	// Duration is the session's lifetime (default and at most 900 s).
	Duration time.Duration
	Logger   *slog.Logger
}

// ErrGlobalEndpoint is a Region whose STS endpoint is the global one,
// where AWS refuses AssumeRoot.
var ErrGlobalEndpoint = errors.New("rootsession: sts:AssumeRoot needs a Regional STS endpoint: name a Region (--region or AWS_REGION), not aws-global or none")

// Opener opens root sessions. It is safe for concurrent use; one Opener
// paces all the sessions of a run.
type Opener struct {
	cfg     aws.Config // the member clients' base: the run's retryer, the Region
	sts     *sts.Client
	limiter *pace.Adaptive
	dur     time.Duration
	log     *slog.Logger
}

// New returns an Opener for the configuration of the management account
// (or IAM delegated administrator), loaded the SDK's standard way.
func New(cfg aws.Config, opts Options) (*Opener, error) {
	if opts.Region == "" {
		opts.Region = cfg.Region
	}
	if opts.Region == "" || opts.Region == "aws-global" {
		return nil, ErrGlobalEndpoint
	}
	if opts.Rate <= 0 {
		opts.Rate = 50
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	if opts.Duration <= 0 || opts.Duration > DefaultDuration {
		opts.Duration = DefaultDuration
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	o := &Opener{limiter: pace.NewAdaptive(opts.Rate, 1, opts.MaxRate), dur: opts.Duration, log: opts.Logger}
	o.cfg = cfg.Copy()
	o.cfg.Region = opts.Region
	standard := Retryer(opts.MaxAttempts, opts.MaxBackoff)
	o.cfg.Retryer = func() aws.Retryer { return standard() }
	// The STS client carries only AssumeRoot: its throttling paces the
	// sessions while the SDK retries.
	o.sts = sts.NewFromConfig(o.cfg, func(so *sts.Options) {
		so.Retryer = &pace.ObservingRetryer{RetryerV2: standard(), Throttled: o.limiter.Throttled, Limiter: o.limiter}
	})
	return o, nil
}

// Retryer is the SDK's standard retryer as a run over many accounts needs
// it: maxAttempts tries, backoff up to maxBackoff, and no retry quota
// (many accounts in flight share one client: a quota would turn a burst
// of throttling into failed accounts).
func Retryer(maxAttempts int, maxBackoff time.Duration) func() aws.RetryerV2 {
	return func() aws.RetryerV2 {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = maxAttempts
			o.MaxBackoff = maxBackoff
			o.RateLimiter = ratelimit.None
		})
	}
}

// Region is the Region sessions are opened in.
func (o *Opener) Region() string { return o.cfg.Region }

// Rate is the current pace of AssumeRoot, in calls per second.
func (o *Opener) Rate() float64 { return o.limiter.Rate() }

// Stats counts the AssumeRoot calls made (first tries and paced retries)
// and the throttling answers seen.
func (o *Opener) Stats() pace.Stats { return o.limiter.Stats() }

// Open opens a root session on a member account with a task policy. A
// failure is an *Error carrying the request id of AWS's answer.
func (o *Opener) Open(ctx context.Context, account string, task Task) (*Session, error) {
	var out *sts.AssumeRootOutput
	err := o.limiter.Do(ctx, func(ctx context.Context) error {
		var err error
		out, err = o.sts.AssumeRoot(ctx, &sts.AssumeRootInput{
			TargetPrincipal: aws.String(account),
			TaskPolicyArn:   &ststypes.PolicyDescriptorType{Arn: aws.String(task.ARN())},
			DurationSeconds: aws.Int32(int32(o.dur / time.Second)),
		})
		return err
	})
	if err != nil {
		return nil, &Error{Account: account, Task: task, RequestID: ErrRequestID(err), Err: err}
	}
	reqID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	cr := out.Credentials
	if cr == nil || cr.AccessKeyId == nil || cr.SecretAccessKey == nil {
		return nil, &Error{Account: account, Task: task, RequestID: reqID, Err: errors.New("no credentials in the response")}
	}
	s := &Session{Account: account, Task: task, RequestID: reqID,
		Credentials: Credentials{AccessKeyID: aws.ToString(cr.AccessKeyId), secret: aws.ToString(cr.SecretAccessKey), token: aws.ToString(cr.SessionToken)}}
	s.Expires = aws.ToTime(cr.Expiration)
	s.cfg = o.cfg.Copy()
	s.cfg.Credentials = s.Credentials.provider()
	o.log.Debug("root session opened", "account", account, "task", string(task), "credentials", s.Credentials)
	return s, nil
}

// Session is an open root session.
type Session struct {
	Account     string
	Task        Task
	RequestID   string // of the AssumeRoot answer
	Expires     time.Time
	Credentials Credentials
	cfg         aws.Config
}

// Config is the configuration of clients acting as the member account's
// root user: the run's configuration (Region, endpoints, retryer) with the
// session's credentials.
func (s *Session) Config() aws.Config { return s.cfg.Copy() }

// LogValue implements slog.LogValuer: the account, the task and the
// access key id, never the secret.
func (s *Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("account", s.Account), slog.String("task", string(s.Task)), slog.Any("credentials", s.Credentials))
}

// Credentials are temporary credentials. Printing or logging them shows
// the access key id alone.
type Credentials struct {
	AccessKeyID   string
	secret, token string
}

// NewCredentials wraps temporary credentials another call issued (an
// sts:AssumeRole) so that they redact themselves too.
func NewCredentials(c *ststypes.Credentials) (Credentials, error) {
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil {
		return Credentials{}, errors.New("rootsession: no credentials in the response")
	}
	return Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), secret: aws.ToString(c.SecretAccessKey), token: aws.ToString(c.SessionToken)}, nil
}

func (c Credentials) String() string       { return "credentials(" + c.AccessKeyID + ", [redacted])" }
func (c Credentials) GoString() string     { return c.String() }
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Provider returns a credentials provider for a client's options.
func (c Credentials) Provider() aws.CredentialsProvider { return c.provider() }

func (c Credentials) provider() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.secret, c.token)
}

// Error is a session that could not be opened.
type Error struct {
	Account   string
	Task      Task
	RequestID string // "" when no answer came
	Err       error
}

func (e *Error) Error() string { return fmt.Sprintf("assume root (%s): %v", e.Task, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// ErrRequestID is the AWS request id of a failed call's answer ("" when
// no answer came).
func ErrRequestID(err error) string {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.ServiceRequestID()
	}
	return ""
}
