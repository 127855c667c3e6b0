package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/escape"
	"github.com/rootguard/rootguard/internal/export"
	"github.com/rootguard/rootguard/internal/history"
	"github.com/rootguard/rootguard/internal/report"
	"github.com/rootguard/rootguard/internal/store"
	"github.com/rootguard/rootguard/internal/trail"
	"github.com/rootguard/rootguard/internal/web"
)

type auditOptions struct {
	io            IO
	logger        func() *slog.Logger
	output        string
	roleName      string
	workers       int
	rate          float64
	sessionRegion string
	exports       []string
	region        string
	db            string
	noHist        bool
}

func newAuditCmd(io IO, logger func() *slog.Logger) *cobra.Command {
	o := &auditOptions{io: io, logger: logger}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Report every account's root credentials and the controls that guard them",
		Long: `Audit reads, from the management account (or the IAM delegated administrator),
the root user of every account in the organization: password, MFA and its
kind, access keys, signing certificates, last use. Member accounts are read
with one sts:AssumeRoot session (task policy IAMAuditRootUserCredentials)
each, so no role is needed in any member; --role-name reads them through a
role and the IAM credential report instead.

Controls: IAM.4 (no root access keys), IAM.9 (root MFA), IAM.6 (a hardware
TOTP or FIDO/passkey device and no virtual one), RG.ROOT.1 (root credentials
absent), RG.ROOT.2 (not used in 90 days), RG.SCP.1 (SCPs leave root sessions
working; not applicable on the management account), RG.ORG.1/RG.ORG.2
(centralized root access and IAM trusted access enabled). Each is pass, fail,
or not-applicable (for example when the account has no root credentials);
docs/cli.md states each rule.

Exit 0: every control passes; 3: a control failed; 1: an account could not be
audited (the others still are).`,
		Example: `  rootguard audit
  rootguard audit --output json > audit.jsonl
  rootguard audit --export html=audit.html --export asff=findings.json
  rootguard audit --role-name OrganizationAccountAccessRole   # without root sessions`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAudit(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json (one object per account) or csv")
	f.StringVar(&o.roleName, "role-name", "", "read members through this role and the credential report instead of root sessions")
	f.IntVar(&o.workers, "workers", 64, "accounts audited at once")
	f.Float64Var(&o.rate, "assume-root-rate", 50, "initial sts:AssumeRoot calls per second (adapts to throttling)")
	f.StringVar(&o.sessionRegion, "region", "", "the Region whose STS endpoint opens root sessions (default: the SDK's; AssumeRoot has no global endpoint)")
	f.StringArrayVar(&o.exports, "export", nil, "also write asff=FILE (Security Hub findings), html=FILE (a self-contained report), or keep Security Hub current (securityhub: failing controls imported, fixed ones archived, in the SDK's region); repeatable")
	f.StringVar(&o.region, "securityhub-region", "", "home region for ASFF product ARNs (default: the SDK's region)")
	f.StringVar(&o.db, "db", "", "history database (default: rootguard.db under the user's state directory)")
	f.BoolVar(&o.noHist, "no-history", false, "do not record this audit in the history database")
	cmd.AddCommand(newAuditDiffCmd(io), newAuditHistoryCmd(io), newAuditDigestCmd(io))
	return cmd
}

type exportTarget struct {
	kind, path string
	tmp        *os.File // opened beside path before the audit starts
}

// open creates the temporary file the export is written to, in path's
// directory, so that a path that cannot be written is known before the audit.
func (e *exportTarget) open() error {
	if e.kind == "securityhub" {
		return nil
	}
	if st, err := os.Stat(e.path); err == nil && st.IsDir() {
		return fmt.Errorf("--export %s=%s: is a directory", e.kind, e.path)
	}
	f, err := os.CreateTemp(filepath.Dir(e.path), "."+filepath.Base(e.path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("--export %s=%s: cannot write there: %w", e.kind, e.path, err)
	}
	if err := f.Chmod(0o644); err != nil { // what os.Create gave exports before
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("--export %s=%s: %w", e.kind, e.path, err)
	}
	e.tmp = f
	return nil
}

// closeExports removes the temporary files of exports not written.
func closeExports(exports []exportTarget) {
	for _, e := range exports {
		if e.tmp != nil {
			e.tmp.Close()
			os.Remove(e.tmp.Name())
		}
	}
}

func parseExports(vals []string) ([]exportTarget, error) {
	var out []exportTarget
	for _, v := range vals {
		if v == "securityhub" {
			out = append(out, exportTarget{kind: v})
			continue
		}
		kind, path, ok := strings.Cut(v, "=")
		if !ok || path == "" || (kind != "asff" && kind != "html") {
			return nil, fmt.Errorf("--export %q: want asff=FILE, html=FILE or securityhub", v)
		}
		out = append(out, exportTarget{kind: kind, path: path})
	}
	return out, nil
}

func runAudit(ctx context.Context, o *auditOptions) error {
	format, err := report.ParseFormat(o.output)
	if err != nil {
		return usageError("%v", err)
	}
	exports, err := parseExports(o.exports)
	if err != nil {
		return usageError("%v", err)
	}
	if !finitePositive(o.rate) || o.workers < 1 {
		return usageError("--workers and --assume-root-rate must be positive")
	}
	// Export files are opened before the audit, so a bad path fails now,
	// not after reading 500 accounts; each is renamed into place only once
	// written whole.
	for i := range exports {
		if err := exports[i].open(); err != nil {
			closeExports(exports)
			return usageError("%v", err)
		}
	}
	defer closeExports(exports)
	cfg, err := loadAWS(ctx)
	if err != nil {
		return err
	}
	region := o.region
	if region == "" {
		region = cfg.Region
	}
	if region == "" {
		region = "us-east-1"
	}
	opts := audit.Options{Workers: o.workers, RoleName: o.roleName, AssumeRootRate: o.rate, Region: o.sessionRegion, Logger: o.logger()}
	if o.io.ErrTTY {
		opts.Progress = progressBar(o.io.Err)
	}
	rep, err := audit.Run(ctx, cfg, opts)
	if o.io.ErrTTY {
		fmt.Fprint(o.io.Err, "\r\033[K")
	}
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if err := ctx.Err(); err != nil {
		return err // interrupted: an incomplete audit is neither shown nor kept
	}
	if !o.noHist {
		id, path, err := saveAudit(ctx, o.db, rep)
		if err != nil {
			return &exitError{code: ExitError, err: err}
		}
		fmt.Fprintf(o.io.Err, "rootguard: recorded as audit %d of organization %s in %s (rootguard audit diff shows what changed)\n", id, rep.Organization.ID, path)
	}
	if err := report.Audit(o.io.Out, rep, report.Options{Format: format, Pretty: o.io.OutTTY}); err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("write output: %w", err)}
	}
	for i := range exports {
		e := &exports[i]
		if e.kind == "securityhub" {
			res, err := syncSecurityHub(ctx, cfg, region, rep)
			fmt.Fprintf(o.io.Err, "rootguard: Security Hub (%s) imported %d findings (%d failing, %d resolved, %d of accounts that left), refused %d\n",
				region, res.Imported, res.Failing, res.Resolved, res.Left, len(res.Failed))
			for _, f := range res.Failed {
				fmt.Fprintf(o.io.Err, "  %s\n", escape.Control(fmt.Sprint(f)))
			}
			if err == nil && len(res.Failed) > 0 {
				err = fmt.Errorf("%d findings refused by Security Hub (listed above)", len(res.Failed))
			}
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			continue
		}
		if err := writeExport(e, rep, region); err != nil {
			return &exitError{code: ExitError, err: err}
		}
	}
	report.AuditSummary(o.io.Err, rep)
	switch {
	case rep.Summary.Failed > 0:
		return &exitError{code: ExitError, err: fmt.Errorf("%d accounts could not be audited (listed above)", rep.Summary.Failed)}
	case rep.Failed():
		return &exitError{code: ExitFindings}
	}
	return nil
}

// syncSecurityHub makes Security Hub show this audit, as the calling
// account's findings (Security Hub's rule for the default product).
func syncSecurityHub(ctx context.Context, cfg aws.Config, region string, rep *audit.Report) (export.Result, error) {
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return export.Result{}, fmt.Errorf("security hub: who am I: %w", err)
	}
	sh := securityhub.NewFromConfig(cfg, func(o *securityhub.Options) { o.Region = region })
	return export.Sync(ctx, sh, rep, export.Options{Region: region, Account: aws.ToString(id.Account)})
}

func writeExport(e *exportTarget, rep *audit.Report, region string) error {
	f := e.tmp
	var err error
	switch e.kind {
	case "asff":
		err = report.WriteASFF(f, report.ASFF(rep, region))
	case "html":
		err = web.WriteReport(f, rep, web.English)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), e.path)
	}
	if err != nil {
		return fmt.Errorf("export %s to %s: %w", e.kind, e.path, err)
	}
	e.tmp = nil
	return nil
}

// progressBar draws "[=====>    ] 512/1000 accounts" on a terminal.
func progressBar(w io.Writer) func(done, total int) {
	var mu sync.Mutex
	return func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		const width = 30
		n := width * done / max(total, 1)
		fmt.Fprintf(w, "\r[%s%s] %d/%d accounts", strings.Repeat("=", n), strings.Repeat(" ", width-n), done, total)
	}
}

func openStore(ctx context.Context, path string) (*store.Store, error) {
	if path == "" {
		var err error
		if path, err = store.DefaultPath(); err != nil {
			return nil, err
		}
	}
	return store.Open(ctx, path)
}

func saveAudit(ctx context.Context, path string, rep *audit.Report) (int64, string, error) {
	st, err := openStore(ctx, path)
	if err != nil {
		return 0, "", err
	}
	defer st.Close()
	id, err := st.SaveAudit(ctx, rep)
	return id, st.Path(), err
}

func newAuditDiffCmd(io IO) *cobra.Command {
	var db, output, orgFlag, from string
	var pathStyle bool
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show what changed between the last two audits",
		Long: `Diff compares the two newest audits of one organization in the history
database (the organization audited last, or --org; audits of two
organizations are never compared) or, with --from s3://BUCKET/PREFIX, the
two newest runs in the scheduled audit's history in S3 (its prefix is one
organization's): accounts added or
removed, root passwords, access keys, MFA devices and certificates added or
removed, root used since, controls that changed outcome, org features.
Exit 0: no change; 3: changes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := report.ParseFormat(output)
			if err != nil {
				return usageError("%v", err)
			}
			if from != "" && (db != "" || orgFlag != "") {
				return usageError("--from with --db or --org: --from reads one organization's S3 history, give one source")
			}
			var reps []*audit.Report
			if from != "" {
				var where string
				reps, where, err = latestS3Audits(cmd.Context(), from, pathStyle, 2)
				if err != nil {
					return asExitError(err)
				}
				if len(reps) < 2 {
					return &exitError{code: ExitError, err: fmt.Errorf("%s holds %d audit(s): diff needs two", where, len(reps))}
				}
			} else {
				st, err := openStore(cmd.Context(), db)
				if err != nil {
					return &exitError{code: ExitError, err: err}
				}
				defer st.Close()
				// One organization's audits only: the newest audited's unless
				// --org names another.
				orgs, err := st.Orgs(cmd.Context())
				if err != nil {
					return &exitError{code: ExitError, err: err}
				}
				org := orgFlag
				switch {
				case org != "" && !slices.Contains(orgs, org):
					return usageError("--org %s: %s holds no audit of it (it holds %s)", org, st.Path(), strings.Join(orgs, ", "))
				case org == "" && len(orgs) > 0:
					org = orgs[0]
				}
				reps, err = st.LatestOrgAudits(cmd.Context(), org, 2)
				if err != nil {
					return asExitError(err)
				}
				if len(reps) < 2 {
					return &exitError{code: ExitError, err: fmt.Errorf("%s holds %d audit(s) of organization %s: diff needs two of the same organization%s",
						st.Path(), len(reps), org, otherOrgs(orgs, org))}
				}
				fmt.Fprintf(io.Err, "rootguard: organization %s%s\n", org, otherOrgs(orgs, org))
			}
			changes := audit.Diff(reps[1], reps[0])
			if err := report.Changes(io.Out, changes, report.Options{Format: format, Pretty: io.OutTTY}); err != nil {
				return &exitError{code: ExitError, err: err}
			}
			fmt.Fprintf(io.Err, "rootguard: %d changes from the audit of %s to the audit of %s\n", len(changes),
				reps[1].StartedAt.Format("2006-01-02T15:04:05Z"), reps[0].StartedAt.Format("2006-01-02T15:04:05Z"))
			if len(changes) > 0 {
				return &exitError{code: ExitFindings}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "history database (default: rootguard.db under the user's state directory)")
	cmd.Flags().StringVar(&orgFlag, "org", "", "organization whose audits are compared (default: the one audited last)")
	cmd.Flags().StringVar(&from, "from", "", "read the scheduled audit's history in S3 instead: s3://BUCKET/PREFIX")
	cmd.Flags().BoolVar(&pathStyle, "s3-path-style", false, "address S3 buckets by path (for S3-compatible servers)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or csv")
	return cmd
}

// otherOrgs names the organizations of the history besides org.
func otherOrgs(orgs []string, org string) string {
	var rest []string
	for _, o := range orgs {
		if o != org {
			rest = append(rest, o)
		}
	}
	if len(rest) == 0 {
		return ""
	}
	return fmt.Sprintf(" (the history also holds %s: --org chooses)", strings.Join(rest, ", "))
}

// latestS3Audits reads the n newest runs, newest first, of the scheduled
// audit's history in S3; where names what was read.
func latestS3Audits(ctx context.Context, from string, pathStyle bool, n int) ([]*audit.Report, string, error) {
	loc, client, err := historyFrom(ctx, from, pathStyle)
	if err != nil {
		return nil, from, err
	}
	reps, _, err := history.Latest(ctx, client, loc, n)
	return reps, loc.String(), err
}

func historyFrom(ctx context.Context, from string, pathStyle bool) (history.Location, *s3.Client, error) {
	loc, err := history.ParseLocation(from)
	if err != nil {
		return loc, nil, usageError("--from: %v", err)
	}
	client, err := trail.S3Client(ctx, pathStyle)
	return loc, client, err
}

func newAuditHistoryCmd(io IO) *cobra.Command {
	var db, output, from string
	var limit int
	var pathStyle bool
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List the audits in the history database, or in the scheduled audit's S3 history",
		Long: `History lists the stored audits, newest first: those in the history database,
or with --from s3://BUCKET/PREFIX those the scheduled audit keeps in S3 (one
object per run; the id is the run's position, oldest 1, and source its key).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := report.ParseFormat(output)
			if err != nil {
				return usageError("%v", err)
			}
			if from != "" && db != "" {
				return usageError("--from and --db: give one")
			}
			var infos []store.AuditInfo
			if from != "" {
				infos, err = s3AuditInfos(cmd.Context(), from, pathStyle, limit)
			} else {
				var st *store.Store
				if st, err = openStore(cmd.Context(), db); err == nil {
					defer st.Close()
					infos, err = st.Audits(cmd.Context(), limit)
				}
			}
			if err != nil {
				return asExitError(err)
			}
			return report.AuditHistory(io.Out, infos, report.Options{Format: format, Pretty: io.OutTTY})
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "history database (default: rootguard.db under the user's state directory)")
	cmd.Flags().StringVar(&from, "from", "", "read the scheduled audit's history in S3 instead: s3://BUCKET/PREFIX")
	cmd.Flags().BoolVar(&pathStyle, "s3-path-style", false, "address S3 buckets by path (for S3-compatible servers)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or csv")
	cmd.Flags().IntVar(&limit, "limit", 20, "how many audits, newest first (0: all)")
	return cmd
}

// asExitError keeps an exit error's code (a bad --from is a usage
// error) and gives any other error ExitError.
func asExitError(err error) error {
	var ex *exitError
	if errors.As(err, &ex) {
		return err
	}
	return &exitError{code: ExitError, err: err}
}

// s3AuditInfos lists the limit newest runs of the scheduled audit's
// history, newest first; each object is read to count its accounts.
func s3AuditInfos(ctx context.Context, from string, pathStyle bool, limit int) ([]store.AuditInfo, error) {
	loc, client, err := historyFrom(ctx, from, pathStyle)
	if err != nil {
		return nil, err
	}
	keys, err := history.Keys(ctx, client, loc)
	if err != nil {
		return nil, err
	}
	var infos []store.AuditInfo
	for i := len(keys) - 1; i >= 0 && (limit <= 0 || len(infos) < limit); i-- {
		rep, err := history.Get(ctx, client, loc, keys[i])
		if err != nil {
			return infos, err
		}
		info := store.Info(rep)
		info.ID, info.Source = int64(i+1), "s3://"+loc.Bucket+"/"+keys[i]
		infos = append(infos, info)
	}
	return infos, nil
}
