package remediate

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rootguard/rootguard/internal/escape"
	"github.com/rootguard/rootguard/internal/store"
)

// Output formats, as --output names them.
const (
	FormatTable = "table"
	FormatJSON  = "json"
	FormatCSV   = "csv"
)

// WritePlan writes one row (or JSON object) per account of a plan.
// Tables are aligned when pretty, else tab-separated, one row a line.
func WritePlan(w io.Writer, p *Plan, format string, pretty bool) error {
	head := []string{"ACCOUNT", "NAME", "OU", "ACTION", "STEPS", "REASON", "ERROR"}
	row := func(i int) []string {
		a := p.Accounts[i]
		return []string{a.Account, a.Name, a.OUPath, string(a.Action), strconv.Itoa(len(a.Steps)), a.Reason, a.Error}
	}
	return write(w, format, pretty, head, len(p.Accounts), row, func(i int) any { return p.Accounts[i] })
}

// WriteResults writes one row (or JSON object) per account of a run.
func WriteResults(w io.Writer, rs []Result, format string, pretty bool) error {
	head := []string{"ACCOUNT", "NAME", "STATUS", "CHANGES", "DETAIL", "ERROR", "RUN"}
	row := func(i int) []string {
		r := rs[i]
		return []string{r.Account, r.Name, string(r.Status), strings.Join(r.Changes, "; "), r.Detail, r.Error, r.RunID}
	}
	return write(w, format, pretty, head, len(rs), row, func(i int) any { return rs[i] })
}

// WriteRuns lists journal runs.
func WriteRuns(w io.Writer, runs []store.JournalRun, format string, pretty bool) error {
	head := []string{"RUN", "KIND", "STATUS", "STARTED", "FINISHED", "RESUMES", "ACCOUNTS", "STEPS", "CALLER"}
	row := func(i int) []string {
		r := runs[i]
		return []string{r.ID, r.Kind, r.Status, timeString(r.StartedAt), timeString(r.FinishedAt),
			strconv.Itoa(r.Resumes), strconv.Itoa(r.Accounts), strconv.Itoa(r.Steps), r.CallerARN}
	}
	return write(w, format, pretty, head, len(runs), row, func(i int) any { return runs[i] })
}

// WriteSteps lists a run's journal steps.
func WriteSteps(w io.Writer, steps []store.JournalStep, format string, pretty bool) error {
	head := []string{"TIME", "ACCOUNT", "ACTION", "TARGET", "RESULT", "ATTEMPTS", "REQUEST ID", "ERROR"}
	row := func(i int) []string {
		s := steps[i]
		return []string{timeString(s.At), s.Account, s.Action, s.Target, s.Result, strconv.Itoa(s.Attempts), s.RequestID, s.Error}
	}
	return write(w, format, pretty, head, len(steps), row, func(i int) any { return steps[i] })
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// write renders rows in format. Names and errors come from the
// organization and AWS: in tables control characters are escaped, in CSV
// formula prefixes are neutralised too (see package escape).
func write(w io.Writer, format string, pretty bool, head []string, n int, row func(int) []string, obj func(int) any) error {
	switch format {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for i := range n {
			if err := enc.Encode(obj(i)); err != nil {
				return err
			}
		}
		return nil
	case FormatCSV:
		cw := csv.NewWriter(w)
		lower := make([]string, len(head))
		for i, h := range head {
			lower[i] = strings.ReplaceAll(strings.ToLower(h), " ", "_")
		}
		if err := cw.Write(lower); err != nil {
			return err
		}
		for i := range n {
			r := row(i)
			for j := range r {
				r[j] = escape.Cell(escape.Control(r[j]))
			}
			if err := cw.Write(r); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	case FormatTable, "":
	default:
		return fmt.Errorf("remediate: unknown output format %q", format)
	}
	if !pretty {
		fmt.Fprintln(w, strings.Join(head, "\t"))
		for i := range n {
			r := row(i)
			for j := range r {
				r[j] = escape.Control(r[j])
			}
			if _, err := fmt.Fprintln(w, strings.Join(r, "\t")); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for i := range n {
		r := row(i)
		for j := range r {
			r[j] = escape.Control(r[j])
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}
