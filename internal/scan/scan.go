// Package scan runs detection over archives of CloudTrail, EventBridge and
// GuardDuty data: it reads every input in parallel, classifies each record,
// and joins what single records cannot say on their own (duplicates, root
// sessions, approvals, incidents).
package scan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/escape"
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
	// MaxValue caps one JSON value a worker holds whole, and Budget the
	// bytes all workers together may hold beyond their fixed windows, so
	// that memory stays bounded whatever the inputs' shape. Zero means
	// DefaultMaxValue and DefaultBudget.
	MaxValue int
	Budget   int64
}

// The default memory bounds: a value larger than DefaultMaxValue is
// skipped and named; at most DefaultBudget bytes are held beyond the
// workers' fixed windows (1.25 MiB each), so that even 32 S3 workers on
// single-value inputs stay well under 256 MB.
const (
	DefaultMaxValue = 32 << 20
	DefaultBudget   = 64 << 20
)

// Problem is an input, or a record in one, that could not be read in full.
type Problem struct {
	Input  string `json:"input"`
	Record int    `json:"record"` // -1 when the problem is the input's, not one record's
	// Offset and Length locate, in the decompressed input, the bytes that
	// were not decoded; Offset is -1 when the problem has no span.
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
	Error  string `json:"error"`
}

// String is the problem's line for a terminal: control characters in the
// input's name or the error (which may quote the input) are escaped, so a
// crafted file name cannot forge lines.
func (p Problem) String() string {
	if p.Record >= 0 {
		return escape.Control(fmt.Sprintf("%s: record %d: %s", p.Input, p.Record, p.Error))
	}
	return escape.Control(fmt.Sprintf("%s: %s", p.Input, p.Error))
}

// inputProblem is a problem of a whole input.
func inputProblem(input string, err error) Problem {
	return Problem{Input: input, Record: -1, Offset: -1, Error: err.Error()}
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
	Conflicts     int            `json:"conflicts"` // findings whose eventID another, differing record carries
	TimeUnknown   int            `json:"timeUnknown"`
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
// decoded: the record's Head (its identity type, invokedBy, eventType,
// eventSource and eventName, read while the decoder found the record's
// end) must leave some rule able to match. Services acting as root, AWS
// service events and every other identity's ordinary calls are thrown
// away here. A Head the decoder could not read exactly (escapes, keys
// that fold onto the names, repeated members) is decoded in full.
func candidate(h *trail.Head) bool {
	return !h.Exact || detect.MayMatch(h.Type, h.InvokedBy, h.EventType, h.EventSource, h.EventName)
}

// MemoryLimit is the soft limit on the Go runtime's memory that Run sets
// for its duration when the process has none (no GOMEMLIMIT). What the
// decoders hold is bounded (their windows, MaxValue and Budget: about
// 120 MiB with 32 S3 workers), but by default the collector lets the heap
// reach twice what is live before it runs; the limit makes it collect
// sooner, so that peak RSS stays under 256 MB on any input.
const MemoryLimit = 160 << 20

// Run scans the inputs: local paths, "-" for standard input, or s3:// URIs.
func Run(ctx context.Context, inputs []string, opts Options) (*Result, error) {
	start := time.Now()
	if prev := debug.SetMemoryLimit(-1); prev == math.MaxInt64 {
		debug.SetMemoryLimit(MemoryLimit)
		defer debug.SetMemoryLimit(prev)
	}
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
	if opts.MaxValue <= 0 {
		opts.MaxValue = DefaultMaxValue
	}
	if opts.Budget <= 0 {
		opts.Budget = DefaultBudget
	}
	c := &collector{decOpts: trail.Options{Candidate: candidate, MaxValue: opts.MaxValue, Budget: trail.NewBudget(opts.Budget)}}

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
			sent := 0
			send := func(ch chan trail.Object) func(trail.Object) error {
				return func(o trail.Object) error {
					sent++
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
					c.problem(inputProblem(p, err))
					c.mu.Lock()
					c.stats.InputsFailed++
					c.mu.Unlock()
				})
			}
			if err != nil {
				if ctx.Err() != nil {
					walkErr = ctx.Err()
					return
				}
				c.problem(inputProblem(in, err))
				c.mu.Lock()
				c.stats.InputsFailed++
				c.mu.Unlock()
				continue
			}
			if sent == 0 {
				// A folder or prefix that yields nothing is never a clean
				// scan: the archive may be elsewhere, or unreadable.
				c.problem(inputProblem(in, noInputs(opts.Filter)))
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
	finish(res, c.digests, opts)
	res.Stats.Elapsed = time.Since(start)
	return res, walkErr
}

// noInputs is the problem of a folder or S3 prefix with no event file.
func noInputs(f trail.Filter) error {
	if !f.Since.IsZero() || !f.Until.IsZero() || len(f.Accounts) > 0 || len(f.Regions) > 0 {
		return errors.New("no event file (*.json, *.json.gz) here matches the filters; nothing was scanned")
	}
	return errors.New("no event file (*.json, *.json.gz) here; nothing was scanned")
}

// collector gathers the results of every worker.
type collector struct {
	decOpts  trail.Options // shared by every worker's decoder
	mu       sync.Mutex
	findings []detect.Finding
	digests  map[detect.Source][32]byte // content of each finding's record
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
	dec := trail.NewDecoder(c.decOpts)
	var op trail.Opener
	var found []detect.Finding
	var sums [][32]byte
	for o := range objs {
		if ctx.Err() != nil {
			continue // drain
		}
		found, sums = found[:0], sums[:0]
		var st trail.Stats
		err := c.read(ctx, o, dec, &op, &found, &sums, &st)
		c.mu.Lock()
		c.stats.Inputs++
		c.stats.Bytes += st.Bytes
		c.stats.Records += st.Records
		c.findings = append(c.findings, found...)
		if c.digests == nil {
			c.digests = map[detect.Source][32]byte{}
		}
		for i, f := range found {
			c.digests[f.Source] = sums[i]
		}
		if err != nil {
			c.stats.InputsFailed++
			c.problems = append(c.problems, inputProblem(o.Name, err))
		}
		c.mu.Unlock()
	}
}

// read decodes one input; st gets what the decoder saw, and stays zero
// when the input could not be opened.
func (c *collector) read(ctx context.Context, o trail.Object, dec *trail.Decoder, op *trail.Opener, found *[]detect.Finding, sums *[][32]byte, st *trail.Stats) error {
	rc, err := o.Open(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	r, err := op.Reader(o.Name, rc)
	if err != nil {
		return err
	}
	defer func() { *st = dec.Stats() }()
	return dec.Decode(ctx, r, func(rec trail.Record) error {
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
			c.problem(Problem{Input: o.Name, Record: rec.Index, Offset: rec.Offset, Length: int64(len(rec.Raw)), Error: err.Error()})
		}
		if ok {
			f.Source = detect.Source{File: o.Name, Record: rec.Index}
			*found = append(*found, f)
			*sums = append(*sums, contentDigest(rec.Raw))
		}
		return nil
	}, func(err error) {
		var re *trail.RecordError
		if errors.As(err, &re) {
			c.problem(Problem{Input: o.Name, Record: re.Index, Offset: re.Offset, Length: re.Length, Error: re.Detail()})
			return
		}
		c.problem(inputProblem(o.Name, err))
	})
}

// contentDigest is the digest of a record's content, whatever its key
// order and spacing: two deliveries of one event are identical by it.
func contentDigest(raw []byte) [32]byte {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) == nil {
		if b, err := json.Marshal(v); err == nil {
			return sha256.Sum256(b)
		}
	}
	return sha256.Sum256(raw)
}

// finish turns raw findings into the report: duplicates removed, root
// sessions joined, the filter applied, approvals looked up, and order fixed.
func finish(res *Result, digests map[detect.Source][32]byte, opts Options) {
	fs := dedupe(res.Findings, digests, &res.Stats)
	attributeSessions(fs)
	kept := fs[:0]
	for _, f := range fs {
		if f.TimeUnknown {
			res.Stats.TimeUnknown++
		}
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
		if c := strings.Compare(a.EventID, b.EventID); c != 0 {
			return c
		}
		if c := strings.Compare(a.Source.File, b.Source.File); c != 0 {
			return c
		}
		return a.Source.Record - b.Source.Record
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

// inRange reports whether the filters keep f. A finding whose time could
// not be read is kept by --since and --until: it may lie in the range.
func inRange(f detect.Finding, flt trail.Filter) bool {
	if !f.TimeUnknown && !flt.Since.IsZero() && f.EventTime.Before(flt.Since) {
		return false
	}
	if !f.TimeUnknown && !flt.Until.IsZero() && f.EventTime.After(flt.Until) {
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
