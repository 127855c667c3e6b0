package notify

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rootguard/rootguard/internal/detect"
)

// A value is a line of an alert in segments, so that the same line can be
// written as plain text and as chat markdown. Segments that come from the
// event or from Organizations (data) are never trusted as markup: a user
// agent is whatever the caller sent.
type value []seg

type seg struct {
	s    string
	kind segKind
}

type segKind int

const (
	text segKind = iota // our own words
	data                // from the event or Organizations
	link                // a URL built here
)

func w(s string) seg { return seg{s: s} }
func d(s string) seg { return seg{s: s, kind: data} }

// fmtv fills the %s verbs of a catalog format with segments.
func fmtv(format string, args ...seg) value {
	parts := strings.Split(format, "%s")
	var v value
	for i, p := range parts {
		if p != "" {
			v = append(v, w(p))
		}
		if i < len(args) && i < len(parts)-1 {
			v = append(v, args[i])
		}
	}
	return v
}

// maxData caps one piece of event data in an alert.
const maxData = 256

func (v value) text() string {
	var b strings.Builder
	for _, s := range v {
		if s.kind == data {
			b.WriteString(truncate(CleanLine(s.s), maxData))
		} else {
			b.WriteString(s.s)
		}
	}
	return b.String()
}

func (v value) markdown() string {
	var b strings.Builder
	for _, s := range v {
		switch s.kind {
		case data:
			if c := codeSafe(s.s); c != "" {
				b.WriteString("`" + c + "`")
			}
		default:
			b.WriteString(s.s)
		}
	}
	return b.String()
}

// codeSafe makes data fit inside a markdown code span: one line, no
// backticks, no angle brackets (which chat platforms read as mentions and
// links).
func codeSafe(s string) string {
	return strings.NewReplacer("`", "'", "<", "‹", ">", "›").Replace(truncate(CleanLine(s), maxData))
}

// A field is one labelled line; an empty label continues the line above.
type field struct {
	label string
	v     value
}

func renderText(c *catalog, fs []field) []string {
	var out []string
	for _, f := range fs {
		switch {
		case c.pad && f.label == "":
			out = append(out, strings.Repeat(" ", 12)+f.v.text())
		case c.pad:
			out = append(out, fmt.Sprintf("%-12s%s", f.label+":", f.v.text()))
		case f.label == "":
			out = append(out, "  "+f.v.text())
		default:
			out = append(out, f.label+": "+f.v.text())
		}
	}
	return out
}

func renderMarkdown(fs []field) []string {
	var out []string
	for _, f := range fs {
		if f.label == "" {
			out = append(out, "    "+f.v.markdown())
			continue
		}
		out = append(out, "*"+f.label+":* "+f.v.markdown())
	}
	return out
}

// accountFields are the lines that say which account, and whether
// Organizations could say more.
func accountFields(c *catalog, account string, e Enrichment) []field {
	acct := value{d(account)}
	if e.AccountName != "" {
		acct = value{d(e.AccountName), w(" ("), d(account), w(")")}
	}
	fs := []field{{c.account, acct}}
	if e.EnrichmentError != "" {
		fs = append(fs, field{c.note, fmtv(c.enrichmentFmt, d(e.EnrichmentError))})
	}
	if e.AccountEmail != "" {
		fs = append(fs, field{c.email, value{d(e.AccountEmail)}})
	}
	if e.OUPath != "" {
		fs = append(fs, field{c.ou, value{d(e.OUPath)}})
	}
	return fs
}

func findingFields(c *catalog, f detect.Finding, e Enrichment, a Approval, appr bool) []field {
	fs := accountFields(c, alertAccount(f), e)

	who := value{d(cmp.Or(f.Principal, c.unknown))}
	if strings.HasSuffix(f.Principal, ":root") {
		who = fmtv(c.rootUserFmt, d(f.Principal))
	}
	if f.AccessKeyID != "" {
		who = append(who, w(c.comma))
		who = append(who, fmtv(c.keyFmt, d(f.AccessKeyID))...)
	}
	fs = append(fs, field{c.who, who})

	what := value{d(eventRef(f)), w(" (" + string(f.Category) + ") — ")}
	switch {
	case f.Denied:
		what = append(what, fmtv(c.deniedFmt, d(f.ErrorCode))...)
	case f.ErrorCode != "":
		what = append(what, fmtv(c.failedFmt, d(f.ErrorCode))...)
	case f.Category == detect.ConsoleLoginFailure:
		what = append(what, w(c.failed))
	default:
		what = append(what, w(c.succeeded))
	}
	if f.ReadOnly {
		what = append(what, w(c.comma+c.readOnly))
	}
	fs = append(fs, field{c.what, what}, field{c.when, value{w(c.clock(f.EventTime))}})

	where := value{w(c.unknownRegion)}
	if f.Region != "" {
		where = value{d(f.Region)}
	}
	if f.SourceIP != "" {
		where = append(where, w(c.comma))
		where = append(where, fmtv(c.sourceIP, d(f.SourceIP))...)
	}
	fs = append(fs, field{c.where, where})
	if f.UserAgent != "" {
		fs = append(fs, field{c.userAgent, value{d(f.UserAgent)}})
	}

	mfa := c.notUsed
	switch {
	case f.GuardDuty != nil:
		mfa = c.unknown
	case f.MFA:
		mfa = c.used
	}
	fs = append(fs, field{c.mfa, value{w(mfa)}})

	fs = append(fs, sessionFields(c, f.Session, f.Category)...)
	if g := f.GuardDuty; g != nil {
		gd := value{d(g.Type), w(fmt.Sprintf(c.gdSevFmt, g.Severity))}
		if g.Count > 0 {
			gd = append(gd, w(fmt.Sprintf(c.timesFmt, g.Count)))
		}
		fs = append(fs, field{c.guardDuty, gd})
		if g.Title != "" {
			fs = append(fs, field{"", value{d(g.Title)}})
		}
		if !g.FirstSeen.IsZero() {
			fs = append(fs, field{"", fmtv(c.gdSeenFmt, w(utc(g.FirstSeen)), w(utc(g.LastSeen)))})
		}
	}

	fs = append(fs, field{c.approval, approvalValue(c, a, appr, f.Approval.ID)})
	if l := consoleLink(f); l != "" {
		fs = append(fs, field{c.console, append(value{{s: l, kind: link}, w(" ")}, fmtv(c.openIn, d(cmp.Or(f.Account, c.unknown)))...)})
	}
	id := value{d(cmp.Or(f.EventID, c.unknown))}
	if f.Rule != "" {
		id = append(id, fmtv(c.ruleFmt, d(f.Rule))...)
	}
	return append(fs, field{c.eventID, id})
}

// sessionFields describe the centralized root session a finding belongs
// to or issued.
func sessionFields(c *catalog, s *detect.Session, cat detect.Category) []field {
	if s == nil {
		return nil
	}
	if !s.Attributed {
		return []field{{c.session, value{w(c.unattributed)}}}
	}
	v := fmtv(c.issuedFmt, d(cmp.Or(s.IssuedBy, c.unknown)), d(cmp.Or(s.IssuerAccount, c.unknown)))
	if !s.IssuedAt.IsZero() {
		v = append(v, w(c.comma))
		v = append(v, fmtv(c.issuedAtFmt, w(utc(s.IssuedAt)))...)
	}
	fs := []field{{c.session, v}}
	var more value
	if s.TaskPolicy != "" {
		more = append(more, fmtv(c.taskPolicyFmt, d(s.TaskPolicy))...)
	}
	if s.AccessKeyID != "" {
		if len(more) > 0 {
			more = append(more, w(c.comma))
		}
		more = append(more, fmtv(c.keyFmt, d(s.AccessKeyID))...)
	}
	if len(more) > 0 {
		fs = append(fs, field{"", more})
	}
	if cat == detect.RootSessionActivity {
		verdict := c.within
		if s.OutsideTaskPolicy {
			verdict = c.outside
		}
		fs = append(fs, field{"", value{w(verdict)}})
	}
	return fs
}

func approvalValue(c *catalog, a Approval, appr bool, findingID string) value {
	if !appr {
		switch a.Problem {
		case ProblemOutsideWindow:
			return append(value{w(c.unapproved + " — ")}, fmtv(c.outsideWindowFmt, d(a.ID), d(c.clock(a.Until)))...)
		case ProblemInvalid:
			return append(value{w(c.unapproved + " — ")}, fmtv(c.invalidFmt, d(a.ID), d(a.Detail))...)
		case ProblemEmergency:
			return append(value{w(c.unapproved + " — ")}, fmtv(c.emergencyFmt, d(a.Requester), d(a.Reason))...)
		}
		return value{w(c.unapproved + " — " + c.noApproval)}
	}
	v := fmtv(c.approvedFmt, d(cmp.Or(a.ID, findingID)))
	if a.Approver != "" {
		v = append(v, fmtv(c.byFmt, d(a.Approver))...)
	}
	if a.Requester != "" {
		v = append(v, fmtv(c.forFmt, d(a.Requester))...)
	}
	if a.Reason != "" {
		v = append(v, w(" — "), d(a.Reason))
	}
	return v
}

func summaryFields(c *catalog, fs []detect.Finding, e Enrichment, a Approval, appr bool) []field {
	account := ""
	if len(fs) > 0 {
		account = alertAccount(fs[0])
	}
	out := accountFields(c, cmp.Or(account, c.unknown), e)
	for _, f := range fs {
		if f.Session != nil {
			out = append(out, sessionFields(c, f.Session, detect.RootSessionIssued)...)
			break
		}
	}
	if len(fs) > 0 {
		out = append(out, field{c.period, value{w(c.clock(fs[0].EventTime))}},
			field{"", value{w("→ " + c.clock(fs[len(fs)-1].EventTime))}})
	}
	var ips []string
	for _, f := range fs {
		ips = appendUnique(ips, f.SourceIP)
	}
	slices.Sort(ips)
	if len(ips) > 0 {
		var v value
		for i, ip := range ips {
			if i > 0 {
				v = append(v, w(c.comma))
			}
			v = append(v, d(ip))
		}
		out = append(out, field{c.sources, v})
	}
	return append(out, field{c.approval, approvalValue(c, a, appr, approvalIDOf(fs))})
}

// Summaries list at most this many actions in the body and in chat.
const (
	maxSummaryLines     = 50
	maxSummaryChatLines = 20
)

// actionLines lists a session's actions, as text and as chat markdown.
func actionLines(c *catalog, fs []detect.Finding) (lines, md []string) {
	for i, f := range fs {
		v := value{w(utc(f.EventTime) + "  "), d(action(f)), w("  " + c.sev(f.Severity))}
		if f.Denied {
			v = append(v, w(c.comma+c.deniedWord))
		} else if f.ErrorCode != "" {
			v = append(v, w(c.comma+c.failed))
		}
		if f.ReadOnly {
			v = append(v, w(c.comma+c.readOnly))
		}
		if i < maxSummaryLines {
			lines = append(lines, "  "+v.text())
		}
		if i < maxSummaryChatLines {
			md = append(md, "• "+v.markdown())
		}
	}
	if n := len(fs) - maxSummaryLines; n > 0 {
		lines = append(lines, "  "+fmt.Sprintf(c.andMoreFmt, n))
	}
	if n := len(fs) - maxSummaryChatLines; n > 0 {
		md = append(md, fmt.Sprintf(c.andMoreFmt, n))
	}
	return lines, md
}

func utc(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
