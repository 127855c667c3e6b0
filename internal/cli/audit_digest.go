package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/escape"
	"github.com/rootguard/rootguard/internal/mode"
	"github.com/rootguard/rootguard/internal/monitor"
	"github.com/rootguard/rootguard/internal/notify"
)

type auditDigestOptions struct {
	db, org, from, output, language string
	pathStyle                       bool
	strictOUs                       []string
}

func newAuditDigestCmd(io IO) *cobra.Command {
	o := &auditDigestOptions{}
	cmd := &cobra.Command{
		Use:   "digest",
		Short: "Show the weekly digest: the organization's root state and its trend over a week",
		Long: `Digest writes what the deployed weekly digest publishes, from the history
database (the organization audited last, or --org) or, with --from
s3://BUCKET/PREFIX, from the scheduled audit's history in S3: the newest
audit's state (accounts with and without root credentials, MFA, access keys,
each control's passes and failures, strict and flexible OUs with
--strict-ou, suspended and unreadable accounts), each number's change since
the audit about a week earlier, the regressions and fixes of every audit in
between, and the accounts still needing action. An empty history is a
digest that says so.
Exit 0: no account needs action; 3: some do; 1: the history could not be read.`,
		Example: `  rootguard audit digest
  rootguard audit digest --from s3://rootguard-history-bucket/o-a1b2c3d4e5 --language ja
  rootguard audit digest --strict-ou Root/Workloads/Prod -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAuditDigest(cmd.Context(), io, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.db, "db", "", "history database (default: rootguard.db under the user's state directory)")
	f.StringVar(&o.org, "org", "", "organization whose audits are read (default: the one audited last)")
	f.StringVar(&o.from, "from", "", "read the scheduled audit's history in S3 instead: s3://BUCKET/PREFIX")
	f.BoolVar(&o.pathStyle, "s3-path-style", false, "address S3 buckets by path (for S3-compatible servers)")
	f.StringSliceVar(&o.strictOUs, "strict-ou", nil, "OU path whose accounts keep no root credentials (repeatable), as deployed with --strict-ou")
	f.StringVar(&o.language, "language", "en", "language of the table: en, ja or both")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table (the digest's text) or json")
	return cmd
}

func runAuditDigest(ctx context.Context, io IO, o *auditDigestOptions) error {
	if o.output != "table" && o.output != "json" {
		return usageError("--output %q: want table or json", o.output)
	}
	lang := notify.Lang(o.language)
	if !lang.Valid() {
		return usageError("--language %q: want en, ja or both", o.language)
	}
	for _, ou := range o.strictOUs {
		// Written otherwise than audit writes it, it would match no
		// account and count nothing as strict: the rule deploy and the
		// scheduled audit's STRICT_OUS apply.
		if err := mode.CheckOUPath(ou); err != nil {
			return usageError("--strict-ou %v", err)
		}
	}
	if o.from != "" && (o.db != "" || o.org != "") {
		return usageError("--from with --db or --org: --from reads one organization's S3 history, give one source")
	}
	now := time.Now()
	var wk notify.Weekly
	if o.from != "" {
		loc, client, err := historyFrom(ctx, o.from, o.pathStyle)
		if err != nil {
			return asExitError(err)
		}
		if wk, err = monitor.ReadWeekly(ctx, client, loc, monitor.StrictPaths(o.strictOUs), now); err != nil {
			return asExitError(err)
		}
	} else {
		st, err := openStore(ctx, o.db)
		if err != nil {
			return &exitError{code: ExitError, err: err}
		}
		defer st.Close()
		orgs, err := st.Orgs(ctx)
		if err != nil {
			return &exitError{code: ExitError, err: err}
		}
		org := o.org
		switch {
		case org != "" && !slices.Contains(orgs, org):
			return usageError("--org %s: %s holds no audit of it (it holds %s)", org, st.Path(), strings.Join(orgs, ", "))
		case org == "" && len(orgs) > 0:
			org = orgs[0]
		}
		var runs []monitor.Stored
		if org != "" {
			infos, err := st.OrgAudits(ctx, org, 0)
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			for _, ai := range slices.Backward(infos) { // newest first: oldest first
				runs = append(runs, monitor.Stored{At: ai.StartedAt, Name: fmt.Sprintf("audit %d", ai.ID),
					Load: func(ctx context.Context) (*audit.Report, error) { return st.LoadAudit(ctx, ai.ID) }})
			}
			fmt.Fprintf(io.Err, "rootguard: organization %s%s\n", org, otherOrgs(orgs, org))
		}
		if wk, err = monitor.WeeklyFrom(ctx, runs, monitor.StrictPaths(o.strictOUs), now); err != nil {
			return &exitError{code: ExitError, err: err}
		}
		wk.History, wk.Organization = st.Path(), cmp.Or(wk.Organization, org)
	}
	if o.output == "json" {
		enc := json.NewEncoder(io.Out)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(wk); err != nil {
			return &exitError{code: ExitError, err: err}
		}
	} else {
		// The text is the message's, each line escaped for a terminal.
		lines := strings.Split(strings.TrimSuffix(notify.RenderWeekly(wk, lang).Body, "\n"), "\n")
		for _, line := range lines {
			fmt.Fprintln(io.Out, escape.Control(line))
		}
	}
	for _, name := range wk.Unreadable {
		fmt.Fprintf(io.Err, "rootguard: %s could not be read: left out of the digest\n", escape.Control(name))
	}
	if len(wk.Unreadable) > 0 {
		return &exitError{code: ExitError, err: fmt.Errorf("%d audit(s) of the week could not be read", len(wk.Unreadable))}
	}
	if wk.Now != nil && wk.Now.NeedingAction > 0 {
		return &exitError{code: ExitFindings}
	}
	return nil
}
