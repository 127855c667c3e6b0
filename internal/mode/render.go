package mode

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/rootguard/rootguard/internal/report"
)

var planColumns = []string{"ACCOUNT", "NAME", "OU", "MODE", "SOURCE", "STATUS", "DRIFT", "ACTIONS"}

func planRow(p AccountPlan) []string {
	var drift, acts []string
	for _, d := range p.Drift {
		drift = append(drift, d.Control+": "+d.Problem)
	}
	for _, a := range p.Actions {
		s := a.By + ": " + a.Step
		if a.Command != "" {
			s += " [" + a.Command + "]"
		}
		acts = append(acts, s)
	}
	for _, n := range p.Notes {
		acts = append(acts, "note: "+n)
	}
	return []string{p.Account, p.Name, p.OUPath, string(p.Mode.Mode), p.Mode.Source, string(p.Status),
		strings.Join(drift, "; "), strings.Join(acts, " | ")}
}

// WritePlan writes the plans: JSON Lines (one AccountPlan a line), CSV,
// a tab-separated table (one account a line), or, for a terminal
// (Pretty), an aligned summary followed by the drift, actions and notes
// of each account that drifts or could not be read.
func WritePlan(w io.Writer, plans []AccountPlan, o report.Options) error {
	switch o.Format {
	case report.JSON:
		return report.JSONLines(w, plans)
	case report.CSV:
		return report.Rows(w, report.Options{Format: report.CSV}, planColumns, len(plans), func(i int) []string { return planRow(plans[i]) })
	}
	if !o.Pretty {
		return report.Rows(w, report.Options{Format: report.Table}, planColumns, len(plans), func(i int) []string { return planRow(plans[i]) })
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tNAME\tOU\tMODE\tSTATUS\tDRIFT")
	for _, p := range plans {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", p.Account, p.Name, p.OUPath, p.Mode.Mode, p.Status, len(p.Drift))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range plans {
		if p.Status == StatusOK || p.Status == StatusInactive {
			continue // their notes are in the JSON
		}
		fmt.Fprintf(w, "\n%s %s: %s (%s), %s\n", p.Account, p.Name, p.Mode.Mode, p.Mode.Source, p.Status)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, d := range p.Drift {
			fmt.Fprintf(tw, "  drift\t%s\t%s\n", d.Control, d.Problem)
		}
		for _, a := range p.Actions {
			fmt.Fprintf(tw, "  do\t%s\t%s\n", a.By, a.Step)
			if a.Command != "" {
				fmt.Fprintf(tw, "  \t\t$ %s\n", a.Command)
			}
		}
		for _, n := range p.Notes {
			fmt.Fprintf(tw, "  note\t\t%s\n", n)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

var adviceColumns = []string{"OU", "MODE", "ACCOUNTS", "NOT AUDITED", "NEED ROOT", "CREDS TO DELETE", "WITH CREDS", "NO MFA", "VIRTUAL MFA ONLY", "KEYS", "USED RECENTLY", "ROOT SESSIONS", "SIGN-INS", "ROOT ACTIONS", "RECOMMENDATION"}

func adviceRow(a OUAdvice) []string {
	e := a.Exposure
	n := strconv.Itoa
	sessions, signIns, actions := "-", "-", "-"
	if a.Activity != nil {
		sessions, signIns, actions = n(a.Activity.Sessions), n(a.Activity.SignIns), n(a.Activity.Actions)
	}
	return []string{a.OU, string(a.Mode.Mode), n(a.Accounts), n(len(a.NotAudited)), n(len(a.NeedRoot)), n(len(a.ToDelete)),
		n(e.WithCredentials), n(e.WithoutMFA), n(e.VirtualMFAOnly), n(e.WithAccessKeys), n(e.UsedRecently),
		sessions, signIns, actions, a.Recommendation}
}

// WriteAdvice writes the advice: JSON Lines (one OUAdvice a line), a
// tab-separated table of counts and recommendations, or, for a terminal
// (Pretty), the table followed by each OU's evidence and the root-only
// tasks strict mode makes harder.
func WriteAdvice(w io.Writer, adv []OUAdvice, o report.Options) error {
	if o.Format == report.JSON {
		return report.JSONLines(w, adv)
	}
	if !o.Pretty {
		return report.Rows(w, report.Options{Format: report.Table}, adviceColumns, len(adv), func(i int) []string { return adviceRow(adv[i]) })
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(adviceColumns[:len(adviceColumns)-1], "\t"))
	for _, a := range adv {
		r := adviceRow(a)
		fmt.Fprintln(tw, strings.Join(r[:len(r)-1], "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, a := range adv {
		fmt.Fprintf(w, "\n%s (%s: %s)\n  advice: %s\n", a.OU, a.Mode.Mode, a.Mode.Source, a.Recommendation)
		for _, nd := range a.NeedRoot {
			fmt.Fprintf(w, "  strict would cost  %s %s: %s\n", nd.Account, nd.Name, strings.Join(nd.Reasons, "; "))
		}
		for _, x := range a.Exposure.Accounts {
			fmt.Fprintf(w, "  flexible exposes   %s %s: %s\n", x.Account, x.Name, strings.Join(x.Reasons, ", "))
		}
		if len(a.NotAudited) > 0 {
			fmt.Fprintf(w, "  not audited        %s\n", strings.Join(a.NotAudited, ", "))
		}
	}
	fmt.Fprintln(w, "\nRoot-only tasks, and how a strict account does them:")
	for _, t := range RootTasks {
		fmt.Fprintf(w, "  %-20s %s: %s\n", t.ID, t.Task, t.InStrict)
	}
	return nil
}
