package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rootguard/rootguard/internal/org"
	"github.com/rootguard/rootguard/internal/remediate"
)

func newOrgCmd(io IO, logger func() *slog.Logger) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "org",
		Short: "Read and enable the organization's centralized root access",
	}
	cmd.AddCommand(newOrgStatusCmd(io), newOrgEnableCmd(io, logger))
	return cmd
}

func newOrgStatusCmd(io IO) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the root-access features, trusted access, delegated administrator and SCPs that would block root sessions",
		Long: `Status shows the organization's feature set, whether IAM has trusted access,
the IAM delegated administrator, whether root credentials management and root
sessions are enabled, and warns about root-deny SCPs without the
aws:AssumedRoot exemption (they make every root session fail).
Exit 0: centralized root access is fully enabled and nothing blocks it; 3: not.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return usageError("--output %q: want table or json", output)
			}
			cfg, err := loadAWS(cmd.Context())
			if err != nil {
				return err
			}
			st, err := org.ReadStatus(cmd.Context(), org.NewClients(cfg))
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			if output == "json" {
				enc := json.NewEncoder(io.Out)
				enc.SetEscapeHTML(false)
				err = enc.Encode(st)
			} else {
				printStatus(io.Out, st)
			}
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			for _, w := range st.Warnings {
				fmt.Fprintf(io.Err, "rootguard: warning: %s\n", w)
			}
			if !st.IAMTrustedAccess || !st.Enabled("RootCredentialsManagement") || !st.Enabled("RootSessions") || len(st.BlockingSCPs) > 0 {
				return &exitError{code: ExitFindings}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

func printStatus(w io.Writer, st *org.Status) {
	yes := func(b bool) string {
		if b {
			return "enabled"
		}
		return "NOT enabled"
	}
	admins := "none"
	if len(st.DelegatedAdmins) > 0 {
		admins = strings.Join(st.DelegatedAdmins, ", ")
	}
	fmt.Fprintf(w, "organization              %s (feature set %s)\n", st.OrganizationID, st.FeatureSet)
	fmt.Fprintf(w, "management account        %s\n", st.ManagementAccountID)
	fmt.Fprintf(w, "caller                    %s\n", st.CallerARN)
	fmt.Fprintf(w, "IAM trusted access        %s\n", yes(st.IAMTrustedAccess))
	fmt.Fprintf(w, "IAM delegated admin       %s\n", admins)
	fmt.Fprintf(w, "root credentials mgmt     %s\n", yes(st.Enabled("RootCredentialsManagement")))
	fmt.Fprintf(w, "root sessions             %s\n", yes(st.Enabled("RootSessions")))
	if len(st.BlockingSCPs) == 0 {
		fmt.Fprintf(w, "SCPs blocking root sessions  none\n")
	}
	for _, p := range st.BlockingSCPs {
		fmt.Fprintf(w, "SCP blocking root sessions  %s (%s) on %s\n", p.ID, p.Name, strings.Join(p.Targets, ", "))
	}
}

func newOrgEnableCmd(io IO, logger func() *slog.Logger) *cobra.Command {
	var delegated, output, db string
	var yes, stackSets bool
	cmd := &cobra.Command{
		Use:   "enable",
		Short: "Enable centralized root access (dry run unless --yes)",
		Long: `Enable checks that the organization is in all-features mode and that it runs
in the management account, then, each step only if not already done:
enables trusted access for iam.amazonaws.com, registers --delegated-admin as
IAM's delegated administrator, enables root credentials management, enables
root sessions and, with --stacksets, activates CloudFormation StackSets'
trusted access with Organizations (cloudformation:ActivateOrganizationsAccess),
which rootguard deploy's member StackSet needs. Without --yes it shows the steps and changes nothing; on a
terminal it asks before applying.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return usageError("--output %q: want table or json", output)
			}
			ctx := cmd.Context()
			cfg, err := loadAWS(ctx)
			if err != nil {
				return err
			}
			c := org.NewClients(cfg)
			opts := org.EnableOptions{DelegatedAdmin: delegated, StackSets: stackSets}
			steps, err := org.Enable(ctx, c, opts)
			if errors.Is(err, org.ErrBadDelegatedAdmin) {
				return usageError("%v", err)
			}
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			pending := 0
			for _, s := range steps {
				if s.State == org.WouldDo {
					pending++
				}
			}
			if pending > 0 && (yes || io.ErrTTY && io.OutTTY) {
				// One org enable per organization at a time: refused
				// before the question, and before anything changes.
				release, lctx, err := lockOrgRun(ctx, cfg, db, "", remediate.KindOrgEnable, logger())
				if err != nil {
					return err
				}
				defer release()
				ctx = lctx
			}
			if pending > 0 && !yes && io.ErrTTY && io.OutTTY {
				printSteps(io.Out, steps, output)
				yes = confirm(ctx, io, fmt.Sprintf("Apply these %d steps to organization? [y/N] ", pending))
				if !yes {
					fmt.Fprintln(io.Err, "rootguard: nothing changed")
					return nil
				}
			}
			if pending > 0 && yes {
				opts.Apply = true
				steps, err = org.Enable(ctx, c, opts)
			}
			printSteps(io.Out, steps, output)
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			if pending > 0 && !yes {
				fmt.Fprintln(io.Err, "rootguard: dry run: nothing changed; run again with --yes to apply")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&delegated, "delegated-admin", "", "also register this member account as IAM's delegated administrator")
	cmd.Flags().BoolVar(&stackSets, "stacksets", false, "also activate StackSets trusted access, which rootguard deploy needs")
	cmd.Flags().BoolVar(&yes, "yes", false, "apply without asking")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	cmd.Flags().StringVar(&db, "db", "", "journal database holding the run lock (default: rootguard.db under the user's state directory)")
	return cmd
}

func printSteps(w io.Writer, steps []org.Step, output string) {
	if output == "json" {
		enc := json.NewEncoder(w)
		for _, s := range steps {
			_ = enc.Encode(s)
		}
		return
	}
	for _, s := range steps {
		line := fmt.Sprintf("%-13s %s", s.State, s.Name)
		if s.Detail != "" {
			line += ": " + s.Detail
		}
		fmt.Fprintln(w, line)
	}
}

// confirm asks a yes/no question on the terminal; anything but y or yes
// is no, and so is Ctrl-C (ctx).
func confirm(ctx context.Context, io IO, question string) bool {
	fmt.Fprint(io.Err, question)
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(io.In).ReadString('\n')
		answer <- strings.ToLower(strings.TrimSpace(line))
	}()
	select {
	case a := <-answer:
		return a == "y" || a == "yes"
	case <-ctx.Done():
		fmt.Fprintln(io.Err)
		return false
	}
}
