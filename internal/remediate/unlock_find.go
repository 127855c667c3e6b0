package remediate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rootguard/rootguard/internal/rootsession"
)

// UnlockOptions tune finding and unlocking locked resource policies.
type UnlockOptions struct {
	Options
	// Regions are where SQS queues are listed, and where buckets are kept
	// (ListBuckets answers every region at once); default: the
	// configuration's region.
	Regions []string
	// S3PathStyle addresses buckets by path, for S3-compatible servers
	// (and the simulator) behind a custom endpoint.
	S3PathStyle bool
}

func (o UnlockOptions) withDefaults(cfg aws.Config) UnlockOptions {
	o.Options = o.Options.withDefaults()
	if len(o.Regions) == 0 {
		o.Regions = []string{cmp.Or(cfg.Region, "us-east-1")}
	}
	return o
}

// memberS3 returns an S3 client acting with a session (root or role) in
// the configuration's region; each call may name another region.
func (c *client) memberS3(s rootsession.Credentials, pathStyle bool) *s3.Client {
	return s3.NewFromConfig(c.cfg, func(o *s3.Options) {
		o.Credentials = s.Provider()
		o.UsePathStyle = pathStyle
		if o.Region == "" {
			o.Region = "us-east-1"
		}
	})
}

// memberSQS returns an SQS client acting with a root session.
func (c *client) memberSQS(s rootsession.Credentials) *sqs.Client {
	return sqs.NewFromConfig(c.cfg, func(o *sqs.Options) {
		o.Credentials = s.Provider()
	})
}

// inRegion makes one S3 or SQS call in a region.
func s3Region(region string) func(*s3.Options)   { return func(o *s3.Options) { o.Region = region } }
func sqsRegion(region string) func(*sqs.Options) { return func(o *sqs.Options) { o.Region = region } }

// bucketInfo is a bucket and its region.
type bucketInfo struct{ name, region string }

// listBuckets lists an account's buckets with their regions (ListBuckets
// gives BucketRegion to a request with parameters: the paginator's
// max-buckets).
func listBuckets(ctx context.Context, c *s3.Client, prefix string) ([]bucketInfo, error) {
	in := &s3.ListBucketsInput{MaxBuckets: aws.Int32(1000)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	var out []bucketInfo
	p := s3.NewListBucketsPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list buckets: %w", err)
		}
		for _, b := range page.Buckets {
			out = append(out, bucketInfo{aws.ToString(b.Name), cmp.Or(aws.ToString(b.BucketRegion), "us-east-1")})
		}
	}
	return out, nil
}

// bucketPolicy reads a bucket's policy ("" when it has none) and the
// request id of the answer.
func bucketPolicy(ctx context.Context, c *s3.Client, b bucketInfo) (string, string, error) {
	out, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b.name)}, s3Region(b.region))
	switch {
	case errorCode(err) == "NoSuchBucketPolicy":
		return "", errRequestID(err), nil
	case err != nil:
		return "", errRequestID(err), fmt.Errorf("get bucket policy of %s: %w", b.name, err)
	}
	return aws.ToString(out.Policy), requestID(out.ResultMetadata), nil
}

// queuePolicy reads a queue's policy ("" when it has none).
func queuePolicy(ctx context.Context, c *sqs.Client, region, url string) (string, string, error) {
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNamePolicy},
	}, sqsRegion(region))
	if err != nil {
		return "", errRequestID(err), fmt.Errorf("get policy of queue %s: %w", url, err)
	}
	return out.Attributes[string(sqstypes.QueueAttributeNamePolicy)], requestID(out.ResultMetadata), nil
}

// LockedResource is a bucket or queue whose policy locks everyone but the
// root user out, or one (or an account) that could not be read.
type LockedResource struct {
	Account string `json:"account"`
	Name    string `json:"name"` // the account's name
	Service string `json:"service"`
	Region  string `json:"region"`
	// Resource is the bucket name or the queue URL; empty when the whole
	// account (or region) could not be read.
	Resource string `json:"resource"`
	ARN      string `json:"arn,omitempty"`
	Why      string `json:"why,omitempty"`
	// Statements are the Deny statements that lock it.
	Statements []string `json:"statements,omitempty"`
	Error      string   `json:"error,omitempty"`
}

// FindResult is what FindLocked read and found.
type FindResult struct {
	Organization string   `json:"organization"`
	Regions      []string `json:"regions"`
	// Accounts were read; Skipped could not be (the management account,
	// accounts that are not ACTIVE), each with why.
	Accounts int           `json:"accounts"`
	Skipped  []AccountPlan `json:"skipped,omitempty"`
	Buckets  int           `json:"buckets"`
	Queues   int           `json:"queues"`
	// Found lists locked resources and errors, by account, service,
	// region and resource.
	Found []LockedResource `json:"found"`
}

// Tally counts the locked resources and the errors.
func (r *FindResult) Tally() (locked, errs int) {
	for _, f := range r.Found {
		if f.Error != "" {
			errs++
		} else {
			locked++
		}
	}
	return locked, errs
}

// FindLocked reads, in every selected member account, each S3 bucket
// policy (with an S3UnlockBucketPolicy root session: ListBuckets with
// regions, GetBucketPolicy in each bucket's region) and each SQS queue
// policy in the regions (with an SQSUnlockQueuePolicy root session:
// ListQueues, GetQueueAttributes), and reports those AnalyzePolicy judges
// locked. It reads nothing it is not allowed to change: the same root
// sessions unlock what it finds. An account or resource that cannot be
// read becomes an entry with Error; FindLocked fails only when the
// organization cannot be read or the selection is wrong (a *TargetError).
func FindLocked(ctx context.Context, cfg aws.Config, sel Selection, opts UnlockOptions) (*FindResult, error) {
	opts = opts.withDefaults(cfg)
	c, err := newClient(cfg, opts.Options)
	if err != nil {
		return nil, err
	}
	o, err := c.discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("remediate: %w", err)
	}
	targets, err := selectTargets(o, sel)
	if err != nil {
		return nil, err
	}
	res := &FindResult{Organization: o.ID, Regions: slices.Clone(opts.Regions), Found: []LockedResource{}}
	var todo []AccountPlan
	for _, t := range targets {
		if t.Action == ActionSkip {
			res.Skipped = append(res.Skipped, t)
			continue
		}
		todo = append(todo, t)
	}
	res.Accounts = len(todo)
	var (
		mu   sync.Mutex
		done atomic.Int64
	)
	skipped := forEach(ctx, len(todo), opts.Workers, func(i int) {
		a := todo[i]
		found, buckets, queues := c.findInAccount(ctx, a, opts)
		mu.Lock()
		res.Found = append(res.Found, found...)
		res.Buckets += buckets
		res.Queues += queues
		mu.Unlock()
		if opts.Progress != nil {
			opts.Progress(int(done.Add(1)), len(todo))
		}
	})
	for _, i := range skipped {
		res.Found = append(res.Found, LockedResource{Account: todo[i].Account, Name: todo[i].Name, Error: "not read: " + ctx.Err().Error()})
	}
	slices.SortFunc(res.Found, func(a, b LockedResource) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Service, b.Service), cmp.Compare(a.Region, b.Region), cmp.Compare(a.Resource, b.Resource))
	})
	return res, nil
}

// findInAccount reads one account's buckets and queues.
func (c *client) findInAccount(ctx context.Context, a AccountPlan, opts UnlockOptions) (found []LockedResource, buckets, queues int) {
	log := c.opts.Logger.With("account", a.Account)
	entry := func(service, region, resource string) LockedResource {
		return LockedResource{Account: a.Account, Name: a.Name, Service: service, Region: region, Resource: resource}
	}
	fail := func(service, region, resource string, err error) {
		e := entry(service, region, resource)
		e.Error = fmt.Sprintf("account %s: %v", a.Account, err)
		found = append(found, e)
		// The error is the account's row in the output; logged at debug
		// only, so it is printed once.
		log.Debug("not read", "service", service, "region", region, "resource", resource, "error", err)
	}
	judge := func(service, region, resource, arn, policy string) {
		if policy == "" {
			return
		}
		lock, err := AnalyzePolicy(service, arn, policy)
		if err != nil {
			fail(service, region, resource, err)
			return
		}
		if lock.Locked {
			e := entry(service, region, resource)
			e.ARN, e.Why, e.Statements = arn, lock.Why, lock.Statements
			found = append(found, e)
			log.Debug("locked", "service", service, "region", region, "resource", resource)
		}
	}

	if s, _, err := c.assumeRoot(ctx, a.Account, TaskS3Unlock); err != nil {
		fail(ServiceS3, "", "", err)
	} else {
		s3c := c.memberS3(s.Credentials, opts.S3PathStyle)
		bs, err := listBuckets(ctx, s3c, "")
		if err != nil {
			fail(ServiceS3, "", "", err)
		}
		for _, b := range bs {
			if !slices.Contains(opts.Regions, b.region) {
				continue
			}
			buckets++
			policy, _, err := bucketPolicy(ctx, s3c, b)
			if err != nil {
				fail(ServiceS3, b.region, b.name, err)
				continue
			}
			judge(ServiceS3, b.region, b.name, "arn:aws:s3:::"+b.name, policy)
		}
	}

	s, _, err := c.assumeRoot(ctx, a.Account, TaskSQSUnlock)
	if err != nil {
		fail(ServiceSQS, "", "", err)
		return found, buckets, queues
	}
	sqc := c.memberSQS(s.Credentials)
	for _, region := range opts.Regions {
		p := sqs.NewListQueuesPaginator(sqc, &sqs.ListQueuesInput{MaxResults: aws.Int32(1000)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx, sqsRegion(region))
			if err != nil {
				fail(ServiceSQS, region, "", fmt.Errorf("list queues: %w", err))
				break
			}
			for _, url := range page.QueueUrls {
				queues++
				policy, _, err := queuePolicy(ctx, sqc, region, url)
				if err != nil {
					fail(ServiceSQS, region, url, err)
					continue
				}
				_, _, name := queueParts(url)
				judge(ServiceSQS, region, url, "arn:aws:sqs:"+region+":"+a.Account+":"+name, policy)
			}
		}
	}
	return found, buckets, queues
}

// errNotQueueURL is returned, wrapped, for a queue URL rootguard cannot read.
var errNotQueueURL = errors.New("not a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)")
