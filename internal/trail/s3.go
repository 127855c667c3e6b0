package trail

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is the part of the S3 client the walker uses (satisfied by *s3.Client).
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// S3Client returns an S3 client from the SDK's standard configuration
// (environment, shared config and credentials files, profiles, and
// endpoints from AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3). pathStyle puts
// the bucket in the URL path rather than the host name, as most local S3
// servers need.
func S3Client(ctx context.Context, pathStyle bool) (*s3.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("trail: load aws config: %w", err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		// Objects are read whole and parsed; a server that sends no
		// checksum (most S3-compatible ones) is not worth a log line per
		// object on stderr.
		o.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}

// ParseS3URI splits s3://bucket/prefix. The prefix may be empty.
func ParseS3URI(uri string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", "", fmt.Errorf("trail: %q is not an s3://bucket/prefix URI", uri)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("trail: %q names no bucket", uri)
	}
	return bucket, prefix, nil
}

const (
	// s3Workers bounds the listings in flight at once.
	s3Workers = 8
	// s3MaxDays is the longest date range listed day by day; longer ranges
	// list each region whole and prune keys by their date.
	s3MaxDays = 366
)

// WalkS3 calls fn for every event object under s3://bucket/prefix that the
// filter keeps. Nothing is downloaded: an Object calls GetObject only when
// it is opened.
//
// The prefix names a folder (a trailing slash is implied) unless it names
// an event file. Where the keys follow a trail's layout,
// AWSLogs/[<org-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/, the walk
// goes folder by folder and lists only the accounts and regions the filter
// keeps, and, when the filter bounds both ends of its dates, only the day
// folders those dates can be filed under; digest and insight folders are
// never listed. The given folder and the folders directly below it are
// looked into for an AWSLogs/ folder; anything else is listed whole, and
// its keys are kept by [Filter.Keep].
//
// Folders are listed concurrently, but fn is called from the calling
// goroutine, one object at a time, in no particular order. An error from
// fn stops the walk and is returned as is.
func WalkS3(ctx context.Context, api S3API, uri string, f Filter, fn func(Object) error) error {
	bucket, prefix, err := ParseS3URI(uri)
	if err != nil {
		return err
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") && !isEventFile(prefix) {
		prefix += "/"
	}
	start, ok := s3Start(prefix, f)
	if !ok {
		return nil
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w := &s3Walker{api: api, bucket: bucket, f: f, days: f.Days(s3MaxDays), out: make(chan Object, 4*s3Workers)}
	w.cond = sync.NewCond(&w.mu)
	w.push(start)
	var wg sync.WaitGroup
	for range s3Workers {
		wg.Go(func() { w.work(ctx, cancel) })
	}
	go func() {
		wg.Wait()
		close(w.out)
	}()

	var fnErr error
	for o := range w.out {
		if fnErr != nil {
			continue // drain until the workers see the cancellation
		}
		if fnErr = fn(o); fnErr != nil {
			cancel(fnErr)
		}
	}
	if fnErr != nil {
		return fnErr
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// s3Level says what a listed folder holds, as far as the trail layout
// tells.
type s3Level int

const (
	levelDiscover   s3Level = iota // any folder: may hold AWSLogs/
	levelAWSLogs                   // AWSLogs/: org ids and accounts
	levelOrg                       // AWSLogs/<org-id>/: accounts
	levelCloudTrail                // .../<account>/CloudTrail/: regions
	levelRegion                    // .../CloudTrail/<region>/ or below: days
	levelAll                       // listed whole
)

// s3Task is one folder to list.
type s3Task struct {
	level  s3Level
	prefix string
	depth  int    // levelDiscover: folder levels still to look into for AWSLogs/
	region string // levelRegion: the region's folder, which prefix is at or below
}

// s3Start places a folder prefix (empty or ending in "/") in the trail
// layout. ok is false when the filter excludes everything below it.
func s3Start(p string, f Filter) (t s3Task, ok bool) {
	if p != "" && !strings.HasSuffix(p, "/") {
		return s3Task{level: levelAll, prefix: p}, true
	}
	i := strings.LastIndex(p, "AWSLogs/")
	if i < 0 {
		return s3Task{level: levelDiscover, prefix: p, depth: 1}, true
	}
	base := p[:i+len("AWSLogs/")]
	rest := strings.TrimSuffix(p[len(base):], "/")
	if rest == "" {
		return s3Task{level: levelAWSLogs, prefix: base}, true
	}
	parts := strings.Split(rest, "/")
	if strings.HasPrefix(parts[0], "o-") {
		base += parts[0] + "/"
		parts = parts[1:]
		if len(parts) == 0 {
			return s3Task{level: levelOrg, prefix: base}, true
		}
	}
	if !isAccountID(parts[0]) {
		return s3Task{level: levelAll, prefix: p}, true
	}
	if !f.keepAccount(parts[0]) {
		return s3Task{}, false
	}
	base += parts[0] + "/CloudTrail/"
	if len(parts) == 1 {
		return s3Task{level: levelCloudTrail, prefix: base}, true
	}
	if parts[1] != "CloudTrail" {
		return s3Task{}, false // digests, insights and other logs hold no events
	}
	if len(parts) == 2 {
		return s3Task{level: levelCloudTrail, prefix: base}, true
	}
	if !f.keepRegion(parts[2]) {
		return s3Task{}, false
	}
	return s3Task{level: levelRegion, prefix: p, region: base + parts[2] + "/"}, true
}

// s3Walker lists folders from a stack of tasks with a fixed set of
// workers, sending the objects it keeps to out.
type s3Walker struct {
	api    S3API
	bucket string
	f      Filter
	days   []time.Time // nil: list regions whole
	out    chan Object

	mu      sync.Mutex
	cond    *sync.Cond // signalled when a task is pushed or the last one ends
	tasks   []s3Task
	pending int   // tasks queued or running
	err     error // the first listing error
}

func (w *s3Walker) push(t s3Task) {
	w.mu.Lock()
	w.tasks = append(w.tasks, t)
	w.pending++
	w.mu.Unlock()
	w.cond.Signal()
}

// work runs tasks until none is queued or running. After an error the
// remaining tasks end at once on the cancelled context.
func (w *s3Walker) work(ctx context.Context, cancel context.CancelCauseFunc) {
	for {
		w.mu.Lock()
		for len(w.tasks) == 0 && w.pending > 0 {
			w.cond.Wait()
		}
		if len(w.tasks) == 0 {
			w.mu.Unlock()
			return
		}
		t := w.tasks[len(w.tasks)-1]
		w.tasks = w.tasks[:len(w.tasks)-1]
		w.mu.Unlock()

		err := ctx.Err()
		if err == nil {
			err = w.run(ctx, t)
		}

		w.mu.Lock()
		if err != nil && w.err == nil {
			w.err = err
			cancel(err)
		}
		w.pending--
		done := w.pending == 0
		w.mu.Unlock()
		if done {
			w.cond.Broadcast()
		}
	}
}

// run lists one folder, pushing the folders below it that need listing.
func (w *s3Walker) run(ctx context.Context, t s3Task) error {
	child := func(sub string) string { return strings.TrimSuffix(strings.TrimPrefix(sub, t.prefix), "/") }
	switch t.level {
	case levelDiscover:
		return w.list(ctx, t.prefix, true, func(sub string) {
			switch {
			case child(sub) == "AWSLogs":
				w.push(s3Task{level: levelAWSLogs, prefix: sub})
			case t.depth > 0:
				w.push(s3Task{level: levelDiscover, prefix: sub, depth: t.depth - 1})
			default:
				w.push(s3Task{level: levelAll, prefix: sub})
			}
		})
	case levelAWSLogs, levelOrg:
		return w.list(ctx, t.prefix, true, func(sub string) {
			switch name := child(sub); {
			case isAccountID(name):
				// Only CloudTrail/ below an account holds events.
				if w.f.keepAccount(name) {
					w.push(s3Task{level: levelCloudTrail, prefix: sub + "CloudTrail/"})
				}
			case t.level == levelAWSLogs && strings.HasPrefix(name, "o-"):
				w.push(s3Task{level: levelOrg, prefix: sub})
			default:
				w.push(s3Task{level: levelAll, prefix: sub})
			}
		})
	case levelCloudTrail:
		return w.list(ctx, t.prefix, true, func(sub string) {
			if w.f.keepRegion(child(sub)) {
				w.push(s3Task{level: levelRegion, prefix: sub, region: sub})
			}
		})
	case levelRegion:
		if w.days == nil {
			return w.list(ctx, t.prefix, false, nil)
		}
		for _, d := range w.days {
			day := t.region + d.Format("2006/01/02/")
			switch {
			case strings.HasPrefix(day, t.prefix):
				w.push(s3Task{level: levelAll, prefix: day})
			case strings.HasPrefix(t.prefix, day):
				w.push(s3Task{level: levelAll, prefix: t.prefix})
				return nil
			}
		}
		return nil
	default:
		return w.list(ctx, t.prefix, false, nil)
	}
}

// list lists the keys under prefix, one folder level deep when delimit is
// set, sending the event objects the filter keeps and passing each
// sub-folder to sub.
func (w *s3Walker) list(ctx context.Context, prefix string, delimit bool, sub func(string)) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(w.bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	if delimit {
		in.Delimiter = aws.String("/")
	}
	p := s3.NewListObjectsV2Paginator(w.api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("trail: list s3://%s/%s: %w", w.bucket, prefix, err)
		}
		for _, cp := range page.CommonPrefixes {
			if sub != nil && cp.Prefix != nil {
				sub(*cp.Prefix)
			}
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if !isEventFile(key) || !w.f.Keep(key) {
				continue
			}
			select {
			case w.out <- w.object(key, aws.ToInt64(o.Size)):
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
	}
	return nil
}

// object returns the Object for a key, fetched when opened.
func (w *s3Walker) object(key string, size int64) Object {
	api, bucket := w.api, w.bucket
	name := "s3://" + bucket + "/" + key
	return NewObject(name, size, func(ctx context.Context) (io.ReadCloser, error) {
		out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return nil, fmt.Errorf("trail: get %s: %w", name, err)
		}
		return out.Body, nil
	})
}
