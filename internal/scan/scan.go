// Package scan runs detection over archives of CloudTrail, EventBridge and
// GuardDuty data: it reads every input in parallel, classifies each record,
// and joins what single records cannot say on their own (duplicates, root
// sessions, approvals, incidents).
package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/trail"
)

// Options configure a scan.
type Options struct {
	Filter    trail.Filter
	Approvals *approval.Set
	// Workers is how many inputs are read at once; zero means one per CPU
	// for local files. S3 inputs use S3Workers.
	Workers   int
	S3Workers int
	// S3 reads s3:// inputs; nil when none are given.
	S3     trail.S3API
	Stdin  io.Reader
	Logger *slog.Logger
}

// Problem is an input, or a record in one, that could not be read in full.
type Problem struct {
	Input  string `json:"input"`
	Record int    `json:"record"` // -1 when the problem is the input's, not one record's
	Error  string `json:"error"`
}

func (p Problem) String() string {
	if p.Record >= 0 {
		return fmt.Sprintf("%s: record %d: %s", p.Input, p.Record, p.Error)
	}
	return fmt.Sprintf("%s: %s", p.Input, p.Error)
}

// Stats counts the work of a scan.
type Stats struct {
	Inputs        int            `json:"inputs"`
	InputsFailed  int            `json:"inputsFailed"`
	Bytes         int64          `json:"bytes"`
	Records       int            `json:"records"`
	Findings      int            `json:"findings"`
	Unapproved    int            `json:"unapproved"`
	Duplicates    int            `json:"duplicates"`
	OutOfRange    int            `json:"outOfRange"`
	ByCategory    map[string]int `json:"byCategory"`
	RecordsFailed int            `json:"recordsFailed"`
	Elapsed       time.Duration  `json:"-"`
}

// Result is what a scan found.
type Result struct {
	Findings []detect.Finding `json:"findings"`
	Problems []Problem        `json:"problems"`
	Stats    Stats            `json:"stats"`
}

// candidate is the cheap test every CloudTrail record passes before it is
// decoded: root identities, AssumeRoot and the root-access features all
// carry "Root" in their text. A record with \u escapes might spell it
// otherwise, so it is decoded too.
func candidate(raw []byte) bool {
	return bytes.Contains(raw, []byte("Root")) || bytes.Contains(raw, []byte(`\u`))
}

// Run scans the inputs: local paths, "-" for standard input, or s3:// URIs.
func Run(ctx context.Context, inputs []string, opts Options) (*Result, error) {
	start := time.Now()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if opts.S3Workers <= 0 {
		opts.S3Workers = 32
	}
	c := &collector{}

	local := make(chan trail.Object, 64)
	remote := make(chan trail.Object, 256)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.worker(ctx, local)
		}()
	}
	if opts.S3 != nil {
		for range opts.S3Workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.worker(ctx, remote)
			}()
		}
	}

	var walkErr error
	func() {
		defer close(local)
		defer close(remote)
		for _, in := range inputs {
			if ctx.Err() != nil {
				walkErr = ctx.Err()
				return
			}
			send := func(ch chan trail.Object) func(trail.Object) error {
				return func(o trail.Object) error {
					select {
					case ch <- o:
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				}
			}
			var err error
			switch {
			case in == "-":
				r := opts.Stdin
				if r == nil {
					err = errors.New("no standard input")
					break
				}
				err = send(local)(trail.StdinObject(r))
			case strings.HasPrefix(in, "s3://"):
				if opts.S3 == nil {
					err = errors.New("no S3 client configured")
					break
				}
				err = trail.WalkS3(ctx, opts.S3, in, opts.Filter, send(remote))
			default:
				err = trail.WalkLocal(ctx, in, opts.Filter, send(local), func(p string, err error) {
					c.problem(Problem{Input: p, Record: -1, Error: err.Error()})
				})
			}
			if err != nil {
				if ctx.Err() != nil {
					walkErr = ctx.Err()
					return
				}
				c.problem(Problem{Input: in, Record: -1, Error: err.Error()})
				c.mu.Lock()
				c.stats.InputsFailed++
				c.mu.Unlock()
			}
		}
	}()
	wg.Wait()
	if walkErr == nil {
		walkErr = ctx.Err()
	}

	res := &Result{Findings: c.findings, Problems: c.problems, Stats: c.stats}
	finish(res, opts)
	res.Stats.Elapsed = time.Since(start)
	return res, walkErr
}

// collector gathers the results of every worker.
type collector struct {
	mu       sync.Mutex
	findings []detect.Finding
	problems []Problem
	stats    Stats
}

func (c *collector) problem(p Problem) {
	c.mu.Lock()
	c.problems = append(c.problems, p)
	if p.Record >= 0 {
		c.stats.RecordsFailed++
	}
	c.mu.Unlock()
}

// worker reads inputs until the channel closes. It keeps one decoder and
// one gzip reader for all of them.
func (c *collector) worker(ctx context.Context, objs <-chan trail.Object) {
	dec := trail.NewDecoder(trail.Options{Candidate: candidate})
	var op trail.Opener
	var found []detect.Finding
	for o := range objs {
		if ctx.Err() != nil {
			continue // drain
		}
		found = found[:0]
		err := c.read(ctx, o, dec, &op, &found)
		st := dec.Stats()
		c.mu.Lock()
		c.stats.Inputs++
		c.stats.Bytes += st.Bytes
		c.stats.Records += st.Records
		c.findings = append(c.findings, found...)
		if err != nil {
			c.stats.InputsFailed++
			c.problems = append(c.problems, Problem{Input: o.Name, Record: -1, Error: err.Error()})
		}
		c.mu.Unlock()
	}
}

func (c *collector) read(ctx context.Context, o trail.Object, dec *trail.Decoder, op *trail.Opener, found *[]detect.Finding) error {
	rc, err := o.Open(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	r, err := op.Reader(o.Name, rc)
	if err != nil {
		return err
	}
	return dec.Decode(r, func(rec trail.Record) error {
		var f detect.Finding
		var ok bool
		var err error
		switch rec.Kind {
		case trail.KindCloudTrail:
			f, ok, err = detect.FromCloudTrail(rec.Raw)
		case trail.KindGuardDuty:
			f, ok, err = detect.FromGuardDuty(rec.Raw)
		}
		if err != nil {
			c.problem(Problem{Input: o.Name, Record: rec.Index, Error: err.Error()})
		}
		if ok {
			f.Source = detect.Source{File: o.Name, Record: rec.Index}
			*found = append(*found, f)
		}
		return nil
	}, func(err error) {
		var re *trail.RecordError
		if errors.As(err, &re) {
			c.problem(Problem{Input: o.Name, Record: re.Index, Error: re.Err.Error()})
			return
		}
		c.problem(Problem{Input: o.Name, Record: -1, Error: err.Error()})
	})
}

// finish turns raw findings into the report: duplicates removed, root
// sessions joined, the filter applied, approvals looked up, and order fixed.
func finish(res *Result, opts Options) {
	fs := dedupe(res.Findings, &res.Stats)
	attributeSessions(fs)
	kept := fs[:0]
	for _, f := range fs {
		if !inRange(f, opts.Filter) {
			res.Stats.OutOfRange++
			continue
		}
		kept = append(kept, f)
	}
	fs = kept
	res.Stats.ByCategory = map[string]int{}
	for i := range fs {
		f := &fs[i]
		if a := opts.Approvals.Find(approvalAccount(f), f.EventTime); a != nil {
			f.Approval = detect.Approval{Status: detect.Approved, ID: a.ID}
		} else {
			f.Approval = detect.Approval{Status: detect.Unapproved}
			res.Stats.Unapproved++
		}
		res.Stats.ByCategory[string(f.Category)]++
	}
	slices.SortStableFunc(fs, func(a, b detect.Finding) int {
		if c := a.EventTime.Compare(b.EventTime); c != 0 {
			return c
		}
		if c := strings.Compare(a.Account, b.Account); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	slices.SortStableFunc(res.Problems, func(a, b Problem) int {
		if c := strings.Compare(a.Input, b.Input); c != 0 {
			return c
		}
		return a.Record - b.Record
	})
	res.Findings = fs
	res.Stats.Findings = len(fs)
}

// approvalAccount is the account an approval must name to cover f: the
// member account a root session targets, else the finding's own.
func approvalAccount(f *detect.Finding) string {
	if f.Category == detect.RootSessionIssued && f.Session != nil && f.Session.TargetAccount != "" {
		return f.Session.TargetAccount
	}
	return f.Account
}

func inRange(f detect.Finding, flt trail.Filter) bool {
	if !flt.Since.IsZero() && f.EventTime.Before(flt.Since) {
		return false
	}
	if !flt.Until.IsZero() && f.EventTime.After(flt.Until) {
		return false
	}
	if len(flt.Accounts) > 0 && !slices.Contains(flt.Accounts, f.Account) &&
		(f.Session == nil || !slices.Contains(flt.Accounts, f.Session.TargetAccount)) {
		return false
	}
	if len(flt.Regions) > 0 && !slices.Contains(flt.Regions, f.Region) {
		return false
	}
	return true
}
