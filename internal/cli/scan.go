package cli

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/report"
	"github.com/rootguard/rootguard/internal/scan"
	"github.com/rootguard/rootguard/internal/trail"
)

type scanOptions struct {
	io        IO
	logger    func() *slog.Logger
	inputs    []string
	output    string
	approvals string
	since     string
	noPrune   bool
	until     string
	accounts  []string
	issuers   []string
	regions   []string
	group     string
	workers   int
	s3Workers int
	pathStyle bool
	now       func() time.Time
}

func newScanCmd(io IO, logger func() *slog.Logger) *cobra.Command {
	o := &scanOptions{io: io, logger: logger, now: time.Now}
	cmd := &cobra.Command{
		Use:   "scan PATH...",
		Short: "Find every use of a root user in CloudTrail, EventBridge and GuardDuty data",
		Long: `Scan finds every action of a root user in CloudTrail logs, EventBridge events
and GuardDuty findings, says whether it was approved, and links actions in
member accounts to the centralized root session (sts:AssumeRoot) they
belong to.

PATH is a file, a folder (every *.json and *.json.gz below it; digests are
skipped), - for standard input, or s3://bucket/prefix. Each input may be a
CloudTrail log file, JSON Lines of records, lookup-events output, EventBridge
events, or GuardDuty findings.

Findings go to stdout; the summary and every unreadable input go to stderr.
Exit 0: no unapproved finding and every input read; 3: unapproved findings;
1: an input could not be read (everything readable is still scanned); 2: usage.`,
		Example: `  rootguard scan examples/org-trail
  rootguard scan --since 2026-10-01 --account 123456789012 s3://org-trail-bucket/AWSLogs/
  rootguard scan --approvals approvals.yaml --output json ./logs
  aws cloudtrail lookup-events ... | rootguard scan -`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError("scan needs at least one PATH (a file, a folder, - or s3://bucket/prefix)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.inputs = args
			return runScan(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json (JSON Lines) or csv")
	f.StringVar(&o.approvals, "approvals", "", "YAML file of approvals (see docs/cli.md)")
	f.StringVar(&o.since, "since", "", "only events at or after this time (RFC 3339, YYYY-MM-DD, or a duration such as 72h or 30d ago)")
	f.StringVar(&o.until, "until", "", "only events at or before this time (same forms as --since)")
	f.StringSliceVar(&o.accounts, "account", nil, "only these account ids (repeat or comma-separate)")
	f.StringSliceVar(&o.issuers, "issuer-account", nil, "with --account: also read these accounts' logs (the management or delegated-admin account, where AssumeRoot is recorded) so root sessions are attributed")
	f.StringSliceVar(&o.regions, "region", nil, "only these regions (repeat or comma-separate)")
	f.BoolVar(&o.noPrune, "no-prune", false, "read every input, whatever its path or key says of its account, Region or day; --since, --until, --account and --region then filter the events only")
	f.StringVar(&o.group, "group", "", "group findings: incident (one root session per group, with its timeline)")
	f.IntVar(&o.workers, "workers", 0, "local inputs read at once (default: one per CPU)")
	f.IntVar(&o.s3Workers, "s3-workers", 32, "S3 objects fetched at once")
	f.BoolVar(&o.pathStyle, "s3-path-style", false, "address S3 buckets by path (for S3-compatible servers)")
	return cmd
}

func runScan(ctx context.Context, o *scanOptions) error {
	format, err := report.ParseFormat(o.output)
	if err != nil {
		return usageError("%v", err)
	}
	if o.group != "" && o.group != "incident" {
		return usageError("unknown --group %q (want incident)", o.group)
	}
	now := o.now()
	since, err := parseTimeFlag(o.since, now, false)
	if err != nil {
		return usageError("--since: %v", err)
	}
	until, err := parseTimeFlag(o.until, now, true)
	if err != nil {
		return usageError("--until: %v", err)
	}
	if !since.IsZero() && !until.IsZero() && until.Before(since) {
		return usageError("--until is before --since")
	}
	accounts, err := parseList("--account", o.accounts, accountIDRE.MatchString, "a 12-digit account id")
	if err != nil {
		return err
	}
	issuers, err := parseList("--issuer-account", o.issuers, accountIDRE.MatchString, "a 12-digit account id")
	if err != nil {
		return err
	}
	regions, err := parseList("--region", o.regions, regionRE.MatchString, "a Region name such as eu-west-1")
	if err != nil {
		return err
	}
	opts := scan.Options{
		Filter:    trail.Filter{Since: since, Until: until, Accounts: accounts, Issuers: issuers, Regions: regions, NoPrune: o.noPrune},
		Workers:   o.workers,
		S3Workers: o.s3Workers,
		Stdin:     o.io.In,
		Logger:    o.logger(),
	}
	if o.approvals != "" {
		set, err := approval.Load(o.approvals)
		if err != nil {
			return usageError("%v", err)
		}
		opts.Approvals = set
	}
	for _, in := range o.inputs {
		if strings.HasPrefix(in, "s3://") {
			if _, _, err := trail.ParseS3URI(in); err != nil {
				return usageError("%v", err)
			}
			if opts.S3 == nil {
				client, err := trail.S3Client(ctx, o.pathStyle)
				if err != nil {
					return &exitError{code: ExitError, err: fmt.Errorf("configure S3: %w", err)}
				}
				opts.S3 = client
			}
		}
	}

	res, runErr := scan.Run(ctx, o.inputs, opts)
	ropts := report.Options{Format: format, Pretty: o.io.OutTTY}
	var werr error
	if o.group == "incident" {
		werr = report.Incidents(o.io.Out, scan.Group(res.Findings), ropts)
	} else {
		werr = report.Findings(o.io.Out, res.Findings, ropts)
	}
	report.Summary(o.io.Err, res)
	switch {
	case runErr != nil:
		return &exitError{code: ExitError, err: fmt.Errorf("scan stopped: %w", runErr)}
	case werr != nil:
		return &exitError{code: ExitError, err: fmt.Errorf("write output: %w", werr)}
	case res.Stats.InputsFailed > 0 || res.Stats.RecordsFailed > 0:
		return &exitError{code: ExitError, err: fmt.Errorf("%d problems reading the inputs (listed above)", len(res.Problems))}
	case res.Stats.Unapproved > 0:
		return &exitError{code: ExitFindings}
	}
	return nil
}

// regionRE is the form of a Region name (us-east-1, us-gov-west-1,
// cn-north-1, eu-isoe-west-1).
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// parseList splits a repeatable, comma-separated flag and checks each
// value: a typo ("us-east1", "12345678901") is a usage error naming it,
// never a filter that silently matches nothing.
func parseList(flag string, vals []string, ok func(string) bool, want string) ([]string, error) {
	out := splitList(vals)
	for _, v := range out {
		if !ok(v) {
			return nil, usageError("%s %q is not %s", flag, v, want)
		}
	}
	return out, nil
}

func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// parseTimeFlag reads an RFC 3339 time, a date, or a duration before now
// ("72h", "30d", optionally followed by "ago"). A date is the start of that
// UTC day, or its last instant when endOfDay is set (for --until).
func parseTimeFlag(s string, now time.Time, endOfDay bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		if endOfDay {
			t = t.Add(24*time.Hour - time.Nanosecond)
		}
		return t, nil
	}
	d := strings.TrimSpace(strings.TrimSuffix(s, "ago"))
	if n, ok := strings.CutSuffix(d, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err == nil && days >= 0 && fmt.Sprint(days) == n {
			// More days than a Duration holds would wrap into the future
			// and filter every finding out.
			if days > int(math.MaxInt64/int64(24*time.Hour)) {
				return time.Time{}, fmt.Errorf("%q: more days than rootguard can count back", s)
			}
			return now.Add(-time.Duration(days) * 24 * time.Hour).UTC(), nil
		}
	}
	if dur, err := time.ParseDuration(d); err == nil && dur >= 0 {
		return now.Add(-dur).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time, a YYYY-MM-DD date or a duration like 72h or 30d", s)
}
