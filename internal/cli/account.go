package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/spf13/cobra"

	"github.com/rootguard/rootguard/internal/mode"
	"github.com/rootguard/rootguard/internal/org"
	"github.com/rootguard/rootguard/internal/remediate"
)

func newAccountCmd(io IO, logger func() *slog.Logger) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account",
		Short: "Create member accounts that start secure",
	}
	cmd.AddCommand(newAccountCreateCmd(io, logger))
	return cmd
}

type accountCreateOptions struct {
	io     IO
	logger func() *slog.Logger
	req    mode.AccountRequest
	yes    bool
	output string
	config string
	// configSet: --config was given, so the file must exist.
	configSet bool
	poll      time.Duration
	timeout   time.Duration
	region    string
	db        string
}

func newAccountCreateCmd(io IO, logger func() *slog.Logger) *cobra.Command {
	o := &accountCreateOptions{io: io, logger: logger}
	cmd := &cobra.Command{
		Use:   "create --name NAME --email EMAIL --ou OU",
		Short: "Create an account in an OU and confirm it has no root credentials (dry run unless --yes)",
		Long: `Create makes a member account from the management account and checks that it
starts secure:

  1. CreateAccount with IamUserAccessToBilling=ALLOW (activating IAM access to
     billing later would need the root user);
  2. wait while DescribeCreateAccountStatus says IN_PROGRESS (progress on
     stderr; FAILED ends it with AWS's reason, such as EMAIL_ALREADY_EXISTS);
  3. MoveAccount from the root to --ou;
  4. read the new root user in an IAMAuditRootUserCredentials root session and
     confirm it has no password, access key, signing certificate or MFA device,
     that a root-deny SCP applies and exempts root sessions (aws:AssumedRoot),
     and that centralized root access is enabled.

Before anything changes it checks that the OU exists and that no account has
the email, and says what will not be secure (no root-deny SCP, an SCP that
blocks root sessions, root access features off). Without --yes it shows the
plan and changes nothing; on a terminal it asks first.

--ou is a path (Root/Workloads/Prod or Workloads/Prod), an ou- id, or Root.
Exit 0: created and secure (or a dry run); 3: created, but a check failed
(listed); 1: the request failed or an error stopped it; 2: usage.`,
		Example: `  rootguard account create --name payments-prod --email aws-payments-prod@example.com --ou Workloads/Prod
  rootguard account create --name payments-prod --email aws-payments-prod@example.com --ou ou-ex12-prod0001 --yes -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.configSet = cmd.Flags().Changed("config")
			return runAccountCreate(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.req.Name, "name", "", "the account's name (1 to 50 printable ASCII characters)")
	f.StringVar(&o.req.Email, "email", "", "the root user's email address (unique in AWS)")
	f.StringVar(&o.req.OU, "ou", "", "the OU to put it in: a path, an ou- id, or Root")
	f.BoolVarP(&o.yes, "yes", "y", false, "create without asking")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	f.StringVar(&o.config, "config", defaultModeConfig, "the modes per OU, to show the new account's (optional)")
	f.DurationVar(&o.poll, "poll-interval", 5*time.Second, "how often the request's status is read")
	f.DurationVar(&o.timeout, "timeout", 30*time.Minute, "how long to wait for the account")
	f.StringVar(&o.db, "db", "", "journal database holding the run lock (default: rootguard.db under the user's state directory)")
	f.StringVar(&o.region, "region", "", "the Region whose STS endpoint opens root sessions (default: the SDK's; AssumeRoot has no global endpoint)")
	return cmd
}

// reCreateEmail is the Organizations API's email pattern.
var reCreateEmail = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)

func (o *accountCreateOptions) validate() error {
	r := &o.req
	r.Name, r.Email, r.OU = strings.TrimSpace(r.Name), strings.TrimSpace(r.Email), strings.TrimSpace(r.OU)
	var missing []string
	for _, f := range []struct{ flag, v string }{{"--name", r.Name}, {"--email", r.Email}, {"--ou", r.OU}} {
		if f.v == "" {
			missing = append(missing, f.flag)
		}
	}
	switch {
	case len(missing) > 0:
		return usageError("account create needs %s", strings.Join(missing, ", "))
	case utf8.RuneCountInString(r.Name) > 50 || strings.IndexFunc(r.Name, func(c rune) bool { return c < 0x20 || c > 0x7e }) >= 0:
		return usageError("--name %q: want 1 to 50 printable ASCII characters", r.Name)
	case len(r.Email) < 6 || len(r.Email) > 64 || !reCreateEmail.MatchString(r.Email):
		return usageError("--email %q: not an email address AWS accepts (6 to 64 characters, name@domain.tld)", r.Email)
	case o.output != "table" && o.output != "json":
		return usageError("--output %q: want table or json", o.output)
	case o.poll <= 0 || o.timeout <= 0:
		return usageError("--poll-interval and --timeout must be positive")
	}
	return nil
}

// createOutput is the JSON document account create writes.
type createOutput struct {
	DryRun bool               `json:"dryRun"`
	Mode   *mode.Decision     `json:"mode,omitempty"`
	Plan   *mode.CreatePlan   `json:"plan"`
	Result *mode.CreateResult `json:"result,omitempty"`
}

func runAccountCreate(ctx context.Context, o *accountCreateOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	cfg, err := loadAWS(ctx)
	if err != nil {
		return err
	}
	v := mode.NewVendor(cfg, o.logger())
	v.Region = o.region
	plan, err := v.Prepare(ctx, o.req)
	switch {
	case errors.Is(err, mode.ErrOUNotFound), errors.Is(err, mode.ErrEmailTaken):
		return usageError("%v", err)
	case err != nil:
		return &exitError{code: ExitError, err: err}
	}
	d, err := ouMode(ctx, o, org.NewOrganizations(cfg), plan.OUPath)
	if err != nil {
		return err
	}
	out := &createOutput{DryRun: true, Mode: d, Plan: plan}

	if o.yes || o.io.ErrTTY && o.io.OutTTY {
		// One account create per organization at a time: refused before
		// the question, and before anything changes.
		release, lctx, err := lockOrgRun(ctx, cfg, o.db, "", remediate.KindAccountCreate, o.logger())
		if err != nil {
			return err
		}
		defer release()
		ctx = lctx
	}
	if !o.yes && o.io.ErrTTY && o.io.OutTTY {
		writeCreate(o.io.Out, out, o.output)
		if o.yes = confirm(ctx, o.io, fmt.Sprintf("Create account %q in %s? [y/N] ", plan.Name, plan.OUPath)); !o.yes {
			fmt.Fprintln(o.io.Err, "rootguard: nothing changed")
			return nil
		}
	}
	if !o.yes {
		writeCreate(o.io.Out, out, o.output)
		fmt.Fprintln(o.io.Err, "rootguard: dry run: nothing changed; run again with --yes to create the account")
		return nil
	}

	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	out.DryRun = false
	res, err := v.Create(ctx, plan, mode.CreateOptions{Poll: o.poll, Progress: createProgress(o.io)})
	if o.io.ErrTTY {
		fmt.Fprint(o.io.Err, "\r\033[K")
	}
	out.Result = res
	writeCreate(o.io.Out, out, o.output)
	switch {
	case err != nil:
		if res != nil && res.Account != "" {
			err = fmt.Errorf("account %s was created, but: %w", res.Account, err)
		}
		return &exitError{code: ExitError, err: err}
	case !res.Secure:
		n := 0
		for _, c := range res.Checks {
			if !c.OK {
				n++
			}
		}
		return &exitError{code: ExitFindings, err: fmt.Errorf("account %s is not secure: %d check(s) failed (listed above)", res.Account, n)}
	}
	fmt.Fprintf(o.io.Err, "rootguard: account %s created in %s: no root credentials, root-deny SCP in place\n", res.Account, res.OUPath)
	return nil
}

// ouMode is the mode the configuration gives the OU, or nil when there
// is no configuration file and none was asked for.
func ouMode(ctx context.Context, o *accountCreateOptions, orgc *organizations.Client, ouPath string) (*mode.Decision, error) {
	c, err := mode.Load(o.config)
	switch {
	case errors.Is(err, os.ErrNotExist) && !o.configSet:
		return nil, nil
	case err != nil:
		return nil, usageError("%v", err)
	}
	var paths mode.OUPaths
	if len(c.OUIDs()) > 0 {
		tree, err := org.Read(ctx, org.Clients{Org: orgc}, 0)
		if err != nil {
			return nil, &exitError{code: ExitError, err: err}
		}
		paths = tree.Paths()
	}
	p, err := c.Resolve(paths)
	if err != nil {
		return nil, usageError("%s: %v", o.config, err)
	}
	d := p.ForOU(ouPath)
	return &d, nil
}

// createProgress reports the request's state on stderr: a line that
// updates in place on a terminal, a line per change of state otherwise.
func createProgress(io IO) func(state string, elapsed time.Duration) {
	last := ""
	return func(state string, elapsed time.Duration) {
		if io.ErrTTY {
			fmt.Fprintf(io.Err, "\r\033[Kcreating account: %s (%s)", state, elapsed.Round(time.Second))
			return
		}
		if state != last {
			fmt.Fprintf(io.Err, "rootguard: creating account: %s (%s)\n", state, elapsed.Round(time.Second))
			last = state
		}
	}
}

func writeCreate(w io.Writer, out *createOutput, format string) {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(out)
		return
	}
	p := out.Plan
	if out.Result == nil {
		fmt.Fprintf(w, "create account %q <%s> in %s (%s)\n", p.Name, p.Email, p.OUPath, p.OUID)
		if out.Mode != nil {
			fmt.Fprintf(w, "mode of %s: %s (%s)\n", p.OUPath, out.Mode.Mode, out.Mode.Source)
		}
		for i, s := range p.Steps {
			fmt.Fprintf(w, "  %d. %s\n", i+1, s)
		}
		for _, x := range p.Warnings {
			fmt.Fprintf(w, "  not secure: %s\n", x)
		}
		return
	}
	r := out.Result
	name := r.Account
	if name == "" {
		name = "(not created)"
	}
	fmt.Fprintf(w, "account %s %q <%s> in %s (request %s)\n", name, r.Name, r.Email, r.OUPath, r.RequestID)
	for _, d := range r.Done {
		fmt.Fprintf(w, "  done  %s\n", d)
	}
	for _, c := range r.Checks {
		verdict := "ok  "
		if !c.OK {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "  %s  %-16s  %s\n", verdict, c.ID, c.Detail)
	}
}
