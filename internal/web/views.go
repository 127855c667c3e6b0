package web

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/mode"
	"github.com/rootguard/rootguard/internal/store"
)

// Page is what every template gets.
type Page struct {
	L        Tr
	Template string
	Title    string
	Nav      string
	Path     string
	Query    url.Values
	Now      time.Time
	// Export is set for the self-contained file of audit --export html:
	// no links to the server, the stylesheet inline.
	Export bool
	CSS    template.CSS

	snap     *snapshot
	HasAudit bool
	Org      audit.OrgInfo
	Audit    store.AuditInfo
	// OrgID is the organization shown; OtherOrgs the others the history
	// holds (serve --org shows one of them instead).
	OrgID     string
	OtherOrgs []string

	Overview   *overviewData
	Tree       *treeData
	Account    *accountData
	Activity   *activityData
	Approvals  *approvalsData
	Operations *opsData
	Report     *audit.Report
}

func (p *Page) fill() {
	if p.snap != nil {
		p.OrgID, p.OtherOrgs = p.snap.org, p.snap.others
	}
	if p.snap != nil && p.snap.latest != nil {
		p.HasAudit = true
		p.Org = p.snap.latest.Organization
		p.Audit = p.snap.latestInfo
	}
}

// LangURL is the current page in the other language.
func (p *Page) LangURL() string {
	q := url.Values{}
	for k, v := range p.Query {
		q[k] = v
	}
	other := Japanese
	if p.L.Lang == Japanese {
		other = English
	}
	q.Set("lang", string(other))
	return p.Path + "?" + q.Encode()
}

// NavItems are the views, in the header's order.
func (p *Page) NavItems() []navItem {
	return []navItem{
		{"/", "overview", p.L.T("nav.overview")},
		{"/tree", "tree", p.L.T("nav.tree")},
		{"/activity", "activity", p.L.T("nav.activity")},
		{"/approvals", "approvals", p.L.T("nav.approvals")},
		{"/operations", "operations", p.L.T("nav.operations")},
	}
}

type navItem struct{ Href, Key, Label string }

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func fmtDay(t time.Time) string { return t.UTC().Format("01-02") }

func pct(n, total int) string {
	if total == 0 {
		return "0%"
	}
	return strconv.FormatFloat(100*float64(n)/float64(total), 'f', 1, 64) + "%"
}

var funcs = template.FuncMap{
	"time":   fmtTime,
	"pct":    pct,
	"join":   strings.Join,
	"level":  func(a *audit.Account) Level { l, _ := WorstOf(a); return l },
	"state":  StateOf,
	"failed": failedIDs,
}

// ---- Overview

type overviewData struct {
	Total, Gone, Failing, Unread int
	States                       []stateRow
	StateBar                     template.HTML
	Controls                     []controlRow
	OrgControls                  []audit.Control
	Trend                        template.HTML
	TrendRows                    []trendRow
	TrendStates                  []stateRow
	HasFindings                  bool
	Incidents7d, Unapproved      int
	HasApprovals                 bool
	ApprovalsOpen                int
}

type stateRow struct {
	State RootState
	Label string
	Count int
	Pct   string
}

type controlRow struct {
	ID, Title string
	Level     Level
	Tally     audit.Tally
	Bar       template.HTML
}

type trendRow struct {
	ID      int64
	Date    string
	Counts  []int
	Failing int
}

// postureOf fills the parts of the overview one report gives: states,
// controls and org controls.
func postureOf(rep *audit.Report, tr Tr) *overviewData {
	d := &overviewData{Total: len(rep.Accounts), Gone: rep.Summary.RootCredentialsGone, Unread: rep.Summary.Failed,
		OrgControls: rep.OrgControls}
	counts := map[RootState]int{}
	for _, a := range rep.Accounts {
		counts[StateOf(a)]++
		if len(failedIDs(a)) > 0 {
			d.Failing++
		}
	}
	var segs []segment
	for _, st := range States {
		label := tr.T("state." + string(st))
		d.States = append(d.States, stateRow{State: st, Label: label, Count: counts[st], Pct: pct(counts[st], d.Total)})
		segs = append(segs, segment{Class: "s-" + string(st), Value: counts[st], Label: label})
	}
	d.StateBar = barSVG("posture-bar", tr.T("posture"), segs, d.Total, 640, 28)
	for _, c := range accountControls() {
		t := rep.Summary.ByControl[c.ID]
		total := t.Pass + t.Fail + t.NotApplicable + t.Unknown
		d.Controls = append(d.Controls, controlRow{ID: c.ID, Title: c.Title, Level: LevelOfControl(c.ID), Tally: t,
			Bar: barSVG("bar-"+strings.ReplaceAll(c.ID, ".", "-"), c.ID, []segment{
				{"o-pass", t.Pass, tr.T("pass")}, {"o-fail", t.Fail, tr.T("fail")},
				{"o-na", t.NotApplicable, tr.T("na")}, {"o-unknown", t.Unknown, tr.T("unknown")},
			}, total, 240, 16)})
	}
	return d
}

func (s *Server) overview(ctx context.Context, _ *http.Request, p *Page) error {
	p.Template, p.Nav, p.Title = "overview", "overview", p.L.T("nav.overview")
	if !p.HasAudit {
		return nil
	}
	d := postureOf(p.snap.latest, p.L)
	runs := p.snap.runs
	var labels []string
	bands := make([]series, len(States))
	for i, st := range States {
		bands[i] = series{Class: "s-" + string(st), Label: p.L.T("state." + string(st))}
		d.TrendStates = append(d.TrendStates, stateRow{State: st, Label: bands[i].Label})
	}
	for _, r := range runs {
		labels = append(labels, fmtDay(r.info.StartedAt))
		row := trendRow{ID: r.info.ID, Date: fmtTime(r.info.StartedAt), Failing: r.failing}
		for i, st := range States {
			bands[i].Values = append(bands[i].Values, r.states[st])
			row.Counts = append(row.Counts, r.states[st])
		}
		d.TrendRows = append(d.TrendRows, row)
	}
	d.Trend = trendSVG("trend", p.L.F("trend.desc", len(runs)), labels, bands)
	slices.Reverse(d.TrendRows)
	if s.opts.FindingsFile != "" {
		d.HasFindings = true
		week := p.Now.Add(-7 * 24 * time.Hour)
		for _, inc := range s.incidents() {
			if inc.End.After(week) {
				d.Incidents7d++
			}
			if inc.Approval.Status != detect.Approved {
				d.Unapproved++
			}
		}
	}
	if s.opts.Approvals != nil {
		if as, err := s.opts.Approvals.Approvals(ctx, ""); err == nil {
			d.HasApprovals = true
			for _, a := range as {
				if st := a.Status(p.Now); st == alert.StatusActive || st == alert.StatusScheduled || st == "pending" {
					d.ApprovalsOpen++
				}
			}
		}
	}
	p.Overview = d
	return nil
}

// ---- Organization tree

type treeData struct {
	Control, OU, State, Mode string
	ControlOpts, OUOpts      []option
	StateOpts, ModeOpts      []option
	Levels                   []levelRow
	OUs                      []ouGroup
	Shown, Total             int
	HasPolicy                bool
}

type option struct {
	Value, Label string
	Selected     bool
}

type levelRow struct {
	Level Level
	Label string
	Count int
}

type ouGroup struct {
	Path        string
	Depth       int
	Mode        string
	Tiles       []tile
	Shown       int
	Hidden      bool
	CountsLabel string
}

type tile struct {
	ID, Name, OU string
	Level        Level
	State        RootState
	Mode         string
	Failed       string // space-separated ids, for the script
	Label        string
	Hidden       bool
}

// accountMode is an account's mode under the policy (flexible without one).
func accountMode(pol *mode.Policy, a *audit.Account) string {
	if pol == nil {
		return string(mode.Flexible)
	}
	return string(pol.For(a).Mode)
}

func (s *Server) tree(_ context.Context, r *http.Request, p *Page) error {
	p.Template, p.Nav, p.Title = "tree", "tree", p.L.T("tree.title")
	if !p.HasAudit {
		return nil
	}
	q := r.URL.Query()
	d := &treeData{Control: q.Get("control"), OU: q.Get("ou"), State: q.Get("state"), Mode: q.Get("mode"),
		HasPolicy: s.opts.Policy != nil}
	opt := func(v, label, sel string) option { return option{Value: v, Label: label, Selected: v == sel} }
	d.ControlOpts = []option{opt("", p.L.T("filter.any"), d.Control), opt(anyFailed, p.L.T("filter.anyfail"), d.Control)}
	for _, c := range accountControls() {
		d.ControlOpts = append(d.ControlOpts, opt(c.ID, c.ID+" "+c.Title, d.Control))
	}
	d.StateOpts = []option{opt("", p.L.T("filter.any"), d.State)}
	for _, st := range States {
		d.StateOpts = append(d.StateOpts, opt(string(st), p.L.T("state."+string(st)), d.State))
	}
	d.ModeOpts = []option{opt("", p.L.T("filter.any"), d.Mode), opt(string(mode.Strict), p.L.T("mode.strict"), d.Mode),
		opt(string(mode.Flexible), p.L.T("mode.flexible"), d.Mode)}

	groups := map[string]*ouGroup{}
	levelCount := map[Level]int{}
	for _, a := range p.snap.latest.Accounts {
		lv, _ := WorstOf(a)
		levelCount[lv]++
		failed := failedIDs(a)
		t := tile{ID: a.ID, Name: a.Name, OU: a.OUPath, Level: lv, State: StateOf(a), Mode: accountMode(s.opts.Policy, a),
			Failed: strings.Join(failed, " ")}
		what := p.L.T("allpass")
		if len(failed) > 0 {
			what = p.L.F("fails", strings.Join(failed, ", "))
		}
		t.Label = fmt.Sprintf("%s %s — %s — %s", a.ID, a.Name, p.L.T("state."+string(t.State)), what)
		t.Hidden = !matches(t, d)
		g := groups[a.OUPath]
		if g == nil {
			g = &ouGroup{Path: a.OUPath, Depth: strings.Count(a.OUPath, "/")}
			if s.opts.Policy != nil {
				g.Mode = string(s.opts.Policy.ForOU(a.OUPath).Mode)
			}
			groups[a.OUPath] = g
		}
		g.Tiles = append(g.Tiles, t)
		d.Total++
		if !t.Hidden {
			g.Shown++
			d.Shown++
		}
	}
	for path := range groups {
		d.OUOpts = append(d.OUOpts, opt(path, path, d.OU))
	}
	slices.SortFunc(d.OUOpts, func(a, b option) int { return strings.Compare(a.Value, b.Value) })
	d.OUOpts = append([]option{opt("", p.L.T("filter.any"), d.OU)}, d.OUOpts...)
	for _, path := range slices.Sorted(maps.Keys(groups)) {
		g := groups[path]
		slices.SortFunc(g.Tiles, func(a, b tile) int {
			return cmp.Or(b.Level.rank()-a.Level.rank(), strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
		})
		g.Hidden = g.Shown == 0
		g.CountsLabel = p.L.F("accounts.n", len(g.Tiles))
		d.OUs = append(d.OUs, *g)
	}
	for _, lv := range Levels {
		d.Levels = append(d.Levels, levelRow{Level: lv, Label: p.L.T("level." + string(lv)), Count: levelCount[lv]})
	}
	p.Tree = d
	return nil
}

// anyFailed is the control filter for "any failed control".
const anyFailed = "any"

// matches applies the tree's filters to a tile; the script applies the
// same rules in the browser (static/app.js).
func matches(t tile, d *treeData) bool {
	if d.Control == anyFailed && t.Failed == "" || d.Control != "" && d.Control != anyFailed && !slices.Contains(strings.Fields(t.Failed), d.Control) {
		return false
	}
	if d.OU != "" && t.OU != d.OU && !strings.HasPrefix(t.OU, d.OU+"/") {
		return false
	}
	if d.State != "" && string(t.State) != d.State {
		return false
	}
	if d.Mode != "" && t.Mode != d.Mode {
		return false
	}
	return true
}
