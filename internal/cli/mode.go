package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/spf13/cobra"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/mode"
	"github.com/rootguard/rootguard/internal/org"
	"github.com/rootguard/rootguard/internal/report"
	"github.com/rootguard/rootguard/internal/scan"
	"github.com/rootguard/rootguard/internal/store"
	"github.com/rootguard/rootguard/internal/trail"
)

// defaultModeConfig is the configuration file plan and advise read
// unless told otherwise.
const defaultModeConfig = "rootguard.yaml"

// modeOptions are the flags plan and advise share.
type modeOptions struct {
	io        IO
	logger    func() *slog.Logger
	config    string
	configSet bool // --config was given: the file must exist
	db        string
	org       string // --org: whose stored audit
	audit     bool
	output    string
	// advise only
	trails    []string
	since     string
	pathStyle bool
	now       func() time.Time
}

func (o *modeOptions) bind(cmd *cobra.Command, outputs string) {
	f := cmd.Flags()
	f.StringVar(&o.config, "config", defaultModeConfig, "the modes per OU (YAML; see rootguard plan --help)")
	f.StringVar(&o.db, "db", "", "history database to read the latest audit from (default: rootguard.db under the user's state directory)")
	f.StringVar(&o.org, "org", "", "organization whose latest stored audit is read (default: the only one in the history, else the current credentials' organization)")
	f.BoolVar(&o.audit, "audit", false, "run an audit now instead of reading the latest stored one (not recorded)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: "+outputs)
}

const configHelp = `The configuration (rootguard.yaml) gives the root's mode, a mode per OU that
sub-OUs inherit, and accounts that keep their own mode, with a reason:

  default: flexible          # the root's mode
  ous:
    - ou: Root/Workloads/Prod   # an OU path as audit reports it, or an ou- id
      mode: strict
    - ou: ou-ex12-sandbox1
      mode: flexible
  exceptions:
    - account: "444444444444"
      mode: flexible
      reason: S3 MFA Delete on the archive bucket needs root

strict: no member root credentials at all (no password, access key, signing
certificate or MFA device: RG.ROOT.1). flexible: root credentials allowed, with
MFA (IAM.9, phishing-resistant: IAM.6), without access keys (IAM.4), and not
used in the last 90 days unnoticed (RG.ROOT.2). The management account is
never strict: no root session can enter it and its root credentials cannot be
deleted centrally, so its password with MFA stays the organization's last way
in; it is held to flexible.

OU ids need the organization's OU tree: naming one makes plan and advise call
Organizations (ListRoots, ListOrganizationalUnitsForParent).`

func newPlanCmd(io IO, logger func() *slog.Logger) *cobra.Command {
	o := &modeOptions{io: io, logger: logger, now: time.Now}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show, per account, its mode (strict or flexible), the drift from it and what would close it",
		Long: `Plan reads the latest audit in the history (or runs one with --audit) and shows
per account its OU, its mode and where the mode comes from, what violates the
mode, and the operation that would close it: for strict, rootguard root
delete-credentials and which credentials go; for flexible, what the CCoE or
the owner of the root email must do. Accounts the audit could not read are
named as such.

` + configHelp + `

Exit 0: every account meets its mode; 3: drift, or an active account the
audit could not read; 2: usage or an invalid configuration; 1: error.`,
		Example: `  rootguard plan
  rootguard plan --config rootguard.yaml -o json
  rootguard plan --audit -o csv > plan.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.configSet = cmd.Flags().Changed("config")
			return runPlan(cmd.Context(), o)
		},
	}
	o.bind(cmd, "table, json (one object per account) or csv")
	return cmd
}

func newAdviseCmd(io IO, logger func() *slog.Logger) *cobra.Command {
	o := &modeOptions{io: io, logger: logger, now: time.Now}
	cmd := &cobra.Command{
		Use:   "advise",
		Short: "Per OU: what strict mode would cost and what flexible mode leaves exposed",
		Long: `Advise reads the latest audit (or runs one with --audit) and says per OU what
strict mode would cost — the member accounts whose root is evidently in use: a
configured exception, an active root signing certificate, a root access key or
password used in the last 90 days, root sign-ins and actions in the trail —
and what flexible mode leaves exposed: accounts with root credentials, without
MFA, with virtual MFA only, with access keys, used recently. With --trail it
also counts the centralized root sessions (sts:AssumeRoot) the CCoE ran per
account: root tasks that work without credentials, in strict mode too. Each OU
gets a one-line recommendation; on a terminal the table is followed by the
evidence and the list of root-only tasks.

` + configHelp + `

Without --config, a missing rootguard.yaml means every OU is flexible.
Exit 0: advice written; 1: an input could not be read (the advice is still
written); 2: usage.`,
		Example: `  rootguard advise
  rootguard advise --trail s3://org-trail-bucket/AWSLogs/ --since 90d
  rootguard advise --trail ./org-trail -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.configSet = cmd.Flags().Changed("config")
			return runAdvise(cmd.Context(), o)
		},
	}
	o.bind(cmd, "table or json (one object per OU)")
	f := cmd.Flags()
	f.StringArrayVar(&o.trails, "trail", nil, "CloudTrail data to count root use in: a file, a folder or s3://bucket/prefix (repeatable)")
	f.StringVar(&o.since, "since", "90d", "with --trail: only events at or after this time (RFC 3339, YYYY-MM-DD, or a duration such as 90d)")
	f.BoolVar(&o.pathStyle, "s3-path-style", false, "address S3 buckets by path (for S3-compatible servers)")
	return cmd
}

// loadedAudit is the audit plan and advise work from, and what to call it.
type loadedAudit struct {
	rep  *audit.Report
	name string
}

func loadAudit(ctx context.Context, o *modeOptions) (*loadedAudit, error) {
	if o.audit {
		cfg, err := loadAWS(ctx)
		if err != nil {
			return nil, err
		}
		opts := audit.Options{Logger: o.logger()}
		if o.io.ErrTTY {
			opts.Progress = progressBar(o.io.Err)
		}
		rep, err := audit.Run(ctx, cfg, opts)
		if o.io.ErrTTY {
			fmt.Fprint(o.io.Err, "\r\033[K")
		}
		if err != nil {
			return nil, &exitError{code: ExitError, err: err}
		}
		return &loadedAudit{rep: rep, name: "the audit just run"}, nil
	}
	st, err := openStore(ctx, o.db)
	if err != nil {
		return nil, &exitError{code: ExitError, err: err}
	}
	defer st.Close()
	org, err := historyOrg(ctx, st, o.org)
	if err != nil {
		return nil, err
	}
	infos, err := st.OrgAudits(ctx, org, 1)
	if err != nil {
		return nil, &exitError{code: ExitError, err: err}
	}
	if len(infos) == 0 {
		return nil, &exitError{code: ExitError, err: fmt.Errorf("%s holds no audit: run rootguard audit first, or add --audit", st.Path())}
	}
	rep, err := st.LoadAudit(ctx, infos[0].ID)
	if err != nil {
		return nil, &exitError{code: ExitError, err: err}
	}
	return &loadedAudit{rep: rep, name: fmt.Sprintf("audit %d of organization %s of %s", infos[0].ID, infos[0].OrgID,
		infos[0].StartedAt.UTC().Format(time.RFC3339))}, nil
}

// historyOrg chooses the organization whose stored audits a command
// reads, so that two organizations are never mixed: --org when given
// (it must be in the history), else the only one the history holds,
// else the current credentials' organization. "" means the history is
// empty.
func historyOrg(ctx context.Context, st *store.Store, flag string) (string, error) {
	orgs, err := st.Orgs(ctx)
	if err != nil {
		return "", &exitError{code: ExitError, err: err}
	}
	switch {
	case len(orgs) == 0:
		return flag, nil
	case flag != "":
		if !slices.Contains(orgs, flag) {
			return "", usageError("--org %s: %s holds no audit of it (it holds %s)", flag, st.Path(), strings.Join(orgs, ", "))
		}
		return flag, nil
	case len(orgs) == 1:
		return orgs[0], nil
	}
	many := fmt.Sprintf("%s holds audits of %d organizations (%s)", st.Path(), len(orgs), strings.Join(orgs, ", "))
	cfg, err := loadAWS(ctx)
	if err != nil {
		return "", usageError("%s: give --org (the current organization cannot be read: %v)", many, err)
	}
	out, err := organizations.NewFromConfig(cfg).DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return "", usageError("%s: give --org (the current organization cannot be read: %v)", many, err)
	}
	cur := aws.ToString(out.Organization.Id)
	if !slices.Contains(orgs, cur) {
		return "", usageError("%s, none of the current credentials' organization %s: run rootguard audit first, or give --org", many, cur)
	}
	return cur, nil
}

// loadPolicy reads the configuration and resolves its OU ids. A missing
// default file is an error only when required.
func loadPolicy(ctx context.Context, o *modeOptions, required bool) (*mode.Policy, error) {
	c, err := mode.Load(o.config)
	switch {
	case errors.Is(err, os.ErrNotExist) && !o.configSet && !required:
		fmt.Fprintf(o.io.Err, "rootguard: no %s: every OU is taken as flexible\n", o.config)
		c = &mode.Config{Default: mode.Flexible}
	case errors.Is(err, os.ErrNotExist):
		return nil, usageError("%v (write one: rootguard plan --help shows the format)", err)
	case err != nil:
		return nil, usageError("%v", err)
	}
	var paths mode.OUPaths
	if ids := c.OUIDs(); len(ids) > 0 {
		cfg, err := loadAWS(ctx)
		if err != nil {
			return nil, err
		}
		tree, err := org.Read(ctx, org.Clients{Org: org.NewOrganizations(cfg)}, 0)
		if err != nil {
			return nil, &exitError{code: ExitError, err: fmt.Errorf("%s names OU ids (%s): %w", o.config, strings.Join(ids, ", "), err)}
		}
		paths = tree.Paths()
	}
	p, err := c.Resolve(paths)
	if err != nil {
		return nil, usageError("%s: %v", o.config, err)
	}
	return p, nil
}

// staleAfter is how old an audit may be before plan and advise say so.
const staleAfter = 7 * 24 * time.Hour

func warnAudit(o *modeOptions, la *loadedAudit, p *mode.Policy) {
	if age := o.now().Sub(la.rep.StartedAt); !o.audit && age > staleAfter {
		fmt.Fprintf(o.io.Err, "rootguard: warning: %s is %d days old: rootguard audit (or --audit) reads the accounts again\n", la.name, int(age.Hours()/24))
	}
	for _, w := range p.Warnings(la.rep) {
		fmt.Fprintf(o.io.Err, "rootguard: warning: %s: %s\n", o.config, w)
	}
}

func runPlan(ctx context.Context, o *modeOptions) error {
	format, err := report.ParseFormat(o.output)
	if err != nil {
		return usageError("%v", err)
	}
	p, err := loadPolicy(ctx, o, true)
	if err != nil {
		return err
	}
	la, err := loadAudit(ctx, o)
	if err != nil {
		return err
	}
	plans := mode.Plan(la.rep, p)
	if err := mode.WritePlan(o.io.Out, plans, report.Options{Format: format, Pretty: o.io.OutTTY}); err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("write output: %w", err)}
	}
	count := map[mode.Status]int{}
	for _, pl := range plans {
		count[pl.Status]++
	}
	fmt.Fprintf(o.io.Err, "rootguard: plan from %s: %d accounts: %d meet their mode, %d drift, %d not audited, %d inactive\n",
		la.name, len(plans), count[mode.StatusOK], count[mode.StatusDrift], count[mode.StatusNotAudited], count[mode.StatusInactive])
	warnAudit(o, la, p)
	if mode.NeedsAttention(plans) {
		return &exitError{code: ExitFindings}
	}
	return nil
}

func runAdvise(ctx context.Context, o *modeOptions) error {
	format, err := report.ParseFormat(o.output)
	if err != nil || format == report.CSV {
		return usageError("--output %q: want table or json", o.output)
	}
	var since time.Time
	if len(o.trails) > 0 {
		if since, err = parseTimeFlag(o.since, o.now(), false); err != nil {
			return usageError("--since: %v", err)
		}
	}
	p, err := loadPolicy(ctx, o, false)
	if err != nil {
		return err
	}
	la, err := loadAudit(ctx, o)
	if err != nil {
		return err
	}
	var act *mode.Activity
	var trailErr error
	if len(o.trails) > 0 {
		act, trailErr = readActivity(ctx, o, since)
		if act == nil {
			return trailErr
		}
	}
	adv := mode.Advise(la.rep, p, act)
	if err := mode.WriteAdvice(o.io.Out, adv, report.Options{Format: format, Pretty: o.io.OutTTY}); err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("write output: %w", err)}
	}
	fmt.Fprintf(o.io.Err, "rootguard: advice for %d OUs from %s\n", len(adv), la.name)
	warnAudit(o, la, p)
	return trailErr
}

// readActivity scans the trail for root use. Unreadable inputs are listed
// on stderr and make the returned error (exit 1); the activity read is
// still returned.
func readActivity(ctx context.Context, o *modeOptions, since time.Time) (*mode.Activity, error) {
	opts := scan.Options{Filter: trail.Filter{Since: since}, Logger: o.logger()}
	for _, in := range o.trails {
		if !strings.HasPrefix(in, "s3://") {
			continue
		}
		if _, _, err := trail.ParseS3URI(in); err != nil {
			return nil, usageError("--trail: %v", err)
		}
		if opts.S3 == nil {
			client, err := trail.S3Client(ctx, o.pathStyle)
			if err != nil {
				return nil, &exitError{code: ExitError, err: fmt.Errorf("configure S3: %w", err)}
			}
			opts.S3 = client
		}
	}
	res, err := scan.Run(ctx, o.trails, opts)
	if err != nil {
		return nil, &exitError{code: ExitError, err: fmt.Errorf("read the trail: %w", err)}
	}
	act := mode.NewActivity(res.Findings, since)
	total := 0
	for _, n := range act.Sessions {
		total += n
	}
	fmt.Fprintf(o.io.Err, "rootguard: trail: %d records, %d root findings since %s, %d root sessions issued\n",
		res.Stats.Records, len(res.Findings), since.Format(time.RFC3339), total)
	for _, pr := range res.Problems {
		fmt.Fprintf(o.io.Err, "  %s\n", pr)
	}
	if len(res.Problems) > 0 {
		return act, &exitError{code: ExitError, err: fmt.Errorf("%d problems reading the trail (listed above); the advice counts what could be read", len(res.Problems))}
	}
	return act, nil
}
