// Package report renders findings and incidents as tables, JSON Lines or
// CSV, and writes the human summary of a scan.
package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/escape"
	"github.com/rootguard/rootguard/internal/scan"
)

// Format is an output format.
type Format string

// The formats.
const (
	Table Format = "table"
	JSON  Format = "json"
	CSV   Format = "csv"
)

// ParseFormat validates a --output value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case Table, JSON, CSV:
		return f, nil
	}
	return "", fmt.Errorf("unknown output format %q (want table, json or csv)", s)
}

// Options shape rendering.
type Options struct {
	Format Format
	// Pretty aligns table columns for a terminal; otherwise tables are
	// tab-separated, one row a line, for other programs.
	Pretty bool
}

var findingColumns = []string{"TIME", "ACCOUNT", "REGION", "CATEGORY", "SEVERITY", "EVENT", "MFA", "DENIED", "APPROVAL", "SOURCE IP", "SESSION", "SOURCE"}

func findingRow(f detect.Finding) []string {
	appr := f.Approval.Status
	if f.Approval.ID != "" {
		appr += ":" + f.Approval.ID
	}
	session := ""
	if s := f.Session; s != nil {
		session = s.TaskPolicy
		if s.IssuedBy != "" && f.Category != detect.RootSessionIssued {
			session += " by " + s.IssuedBy
		}
		if f.Category == detect.RootSessionIssued && s.TargetAccount != "" {
			session += " -> " + s.TargetAccount
		}
		if s.OutsideTaskPolicy {
			session += " OUTSIDE-TASK-POLICY"
		}
		if !s.Attributed {
			session += " (issuer not in input)"
		}
		session = strings.TrimSpace(session)
	}
	event := f.EventSource + ":" + f.EventName
	if f.GuardDuty != nil {
		event = f.GuardDuty.Type
		if f.EventName != "" {
			event += " (" + f.EventName + ")"
		}
	}
	when := timeString(f.EventTime)
	if f.TimeUnknown {
		when = "unknown"
	}
	source := f.Source.String()
	if f.Conflict {
		var others []string
		for _, o := range f.ConflictsWith {
			others = append(others, o.String())
		}
		source += " CONFLICTS WITH " + strings.Join(others, ",")
	}
	return []string{
		when, f.Account, f.Region, string(f.Category), string(f.Severity), event,
		strconv.FormatBool(f.MFA), strconv.FormatBool(f.Denied), appr, f.SourceIP, session, source,
	}
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Findings writes findings in the chosen format.
func Findings(w io.Writer, fs []detect.Finding, o Options) error {
	switch o.Format {
	case JSON:
		return writeJSONLines(w, fs)
	case CSV:
		return writeCSV(w, findingColumns, len(fs), func(i int) []string { return findingRow(fs[i]) })
	default:
		return writeTable(w, o.Pretty, findingColumns, len(fs), func(i int) []string { return findingRow(fs[i]) })
	}
}

var incidentColumns = []string{"START", "END", "ACCOUNT", "EVENTS", "SEVERITY", "APPROVAL", "MFA", "SOURCE IPS", "CATEGORIES", "INCIDENT"}

func incidentRow(in scan.Incident) []string {
	appr := in.Approval.Status
	if in.Approval.ID != "" {
		appr += ":" + in.Approval.ID
	}
	return []string{timeString(in.Start), timeString(in.End), in.Account, strconv.Itoa(len(in.Timeline)),
		string(in.Severity), appr, strconv.FormatBool(in.MFA), strings.Join(in.SourceIPs, ","),
		strings.Join(in.Categories, ","), in.ID}
}

// Incidents writes incidents in the chosen format. A table shows each
// incident's timeline below it.
func Incidents(w io.Writer, ins []scan.Incident, o Options) error {
	switch o.Format {
	case JSON:
		return writeJSONLines(w, ins)
	case CSV:
		return writeCSV(w, incidentColumns, len(ins), func(i int) []string { return incidentRow(ins[i]) })
	}
	if !o.Pretty {
		return writeTable(w, false, incidentColumns, len(ins), func(i int) []string { return incidentRow(ins[i]) })
	}
	for i, in := range ins {
		if i > 0 {
			fmt.Fprintln(w)
		}
		appr := strings.ToUpper(in.Approval.Status)
		if in.Approval.ID != "" {
			appr += " " + in.Approval.ID
		}
		fmt.Fprintln(w, escape.Control(fmt.Sprintf("INCIDENT %s  account %s  %s .. %s  %s  %s  from %s", in.ID, in.Account,
			timeString(in.Start), timeString(in.End), strings.ToUpper(string(in.Severity)), appr, strings.Join(in.SourceIPs, ","))))
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, f := range in.Timeline {
			r := findingRow(f)
			for j := range r {
				r[j] = escape.Control(r[j])
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r[0], r[3], r[5], r[10])
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// JSONLines writes one JSON object per line, HTML characters unescaped.
func JSONLines[T any](w io.Writer, items []T) error { return writeJSONLines(w, items) }

// Rows writes a header and n rows as CSV (lower_snake_case header), as an
// aligned table (Pretty: for a terminal), or tab-separated, one row a
// line. Formats without rows (JSON) are the caller's.
func Rows(w io.Writer, o Options, head []string, n int, row func(int) []string) error {
	if o.Format == CSV {
		return writeCSV(w, head, n, row)
	}
	return writeTable(w, o.Pretty, head, n, row)
}

// writeJSONLines writes one JSON object per line.
func writeJSONLines[T any](w io.Writer, items []T) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return nil
}

func writeCSV(w io.Writer, head []string, n int, row func(int) []string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(lower(head)); err != nil {
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
}

func lower(head []string) []string {
	out := slices.Clone(head)
	for i, h := range out {
		out[i] = strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(h))
	}
	return out
}

func writeTable(w io.Writer, pretty bool, head []string, n int, row func(int) []string) error {
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

// Summary writes the human summary of a scan: counts, categories and
// every problem, so nothing unread goes unnoticed.
func Summary(w io.Writer, res *scan.Result) {
	st := res.Stats
	fmt.Fprintf(w, "rootguard: scanned %d inputs (%s decompressed), %d records in %s\n",
		st.Inputs, humanBytes(st.Bytes), st.Records, st.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "rootguard: %d findings, %d unapproved", st.Findings, st.Unapproved)
	if st.Duplicates > 0 {
		fmt.Fprintf(w, ", %d duplicate deliveries merged", st.Duplicates)
	}
	if st.Conflicts > 0 {
		fmt.Fprintf(w, ", %d CONFLICTING copies (same eventID, different content; each reported)", st.Conflicts)
	}
	if st.TimeUnknown > 0 {
		fmt.Fprintf(w, ", %d with time unknown (kept whatever --since/--until say)", st.TimeUnknown)
	}
	if st.OutOfRange > 0 {
		fmt.Fprintf(w, ", %d outside --since/--until/--account/--region", st.OutOfRange)
	}
	fmt.Fprintln(w)
	if len(st.ByCategory) > 0 {
		var parts []string
		for _, c := range detect.Categories {
			if n := st.ByCategory[string(c)]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s=%d", c, n))
			}
		}
		fmt.Fprintf(w, "rootguard: by category: %s\n", strings.Join(parts, " "))
	}
	if len(res.Problems) > 0 {
		fmt.Fprintf(w, "rootguard: %d problems (%d inputs not read in full, %d records unreadable):\n",
			len(res.Problems), st.InputsFailed, st.RecordsFailed)
		for _, p := range res.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
