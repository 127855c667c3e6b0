package web

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/mode"
	"github.com/rootguard/rootguard/internal/scan"
	"github.com/rootguard/rootguard/internal/store"
)

// ---- Account

type accountData struct {
	ID       string
	A        *audit.Account
	State    RootState
	Level    Level
	Mode     mode.Decision
	History  []historyRow
	Findings []detect.Finding
	HasScan  bool
	Steps    []store.JournalStep
	HasOps   bool
}

type historyRow struct {
	ID       int64
	Date     string
	Present  bool
	State    RootState
	Level    Level
	Password bool
	MFA      string
	Keys     int
	Certs    int
	LastUsed string
	Failed   string
}

func (s *Server) account(ctx context.Context, r *http.Request, p *Page) error {
	id := r.PathValue("id")
	p.Template, p.Nav, p.Title = "account", "tree", p.L.T("account")+" "+id
	d := &accountData{ID: id, HasScan: s.opts.FindingsFile != "", HasOps: s.opts.Journal != nil}
	p.Account = d
	if !p.HasAudit {
		return nil
	}
	for _, a := range p.snap.latest.Accounts {
		if a.ID == id {
			d.A = a
			break
		}
	}
	if d.A == nil {
		return errNotFound
	}
	p.Title = p.L.T("account") + " " + id + " " + d.A.Name
	d.State = StateOf(d.A)
	d.Level, _ = WorstOf(d.A)
	if s.opts.Policy != nil {
		d.Mode = s.opts.Policy.For(d.A)
	} else {
		d.Mode = mode.Decision{Mode: mode.Flexible, Source: p.L.T("mode.none")}
	}
	var prev *acctPoint
	for _, run := range p.snap.runs {
		pt, ok := run.accounts[id]
		row := historyRow{ID: run.info.ID, Date: fmtTime(run.info.StartedAt), Present: ok}
		if ok {
			if prev != nil && prev.same(pt) {
				continue
			}
			row.State, row.Level, row.Password, row.MFA, row.Keys, row.Certs = pt.State, pt.Level, pt.Password, pt.MFA, pt.Keys, pt.Certs
			row.LastUsed, row.Failed = fmtTime(pt.LastUsed), strings.ReplaceAll(pt.Failed, ",", ", ")
			prev = &pt
		} else {
			if prev == nil && len(d.History) > 0 {
				continue
			}
			prev = nil
		}
		d.History = append(d.History, row)
	}
	slices.Reverse(d.History)
	for _, f := range s.opts.Findings {
		if f.Account == id || (f.Session != nil && f.Session.TargetAccount == id) {
			d.Findings = append(d.Findings, f)
		}
	}
	slices.Reverse(d.Findings)
	if s.opts.Journal != nil {
		runs, err := s.opts.Journal.Runs(ctx, 200)
		if err != nil {
			return err
		}
		for _, run := range runs {
			if !p.ownRun(run) {
				continue
			}
			steps, err := s.opts.Journal.Steps(ctx, run.ID)
			if err != nil {
				return err
			}
			for _, st := range steps {
				if st.Account == id {
					d.Steps = append(d.Steps, st)
				}
			}
		}
	}
	return nil
}

// findingRow is one finding in a table, with the page's words.
type findingRow struct {
	L Tr
	F findingView
}

type findingView struct {
	detect.Finding
	Outside bool
}

// Rows pairs findings with the page's words for the findingrow template.
func (p *Page) Rows(fs []detect.Finding) []findingRow {
	out := make([]findingRow, len(fs))
	for i, f := range fs {
		out[i] = findingRow{L: p.L, F: findingView{Finding: f, Outside: f.Session != nil && f.Session.OutsideTaskPolicy}}
	}
	return out
}

// ---- Root activity

type activityData struct {
	HasScan    bool
	File       string
	Problems   []string
	Account    string
	Unapproved bool
	Incidents  []incidentView
	Shown      int
}

type incidentView struct {
	scan.Incident
	Approved bool
	Direct   bool // the root user itself, not a centralized root session
	Outside  int
	Hidden   bool
	Name     string
}

// incidents groups the findings into incidents, newest first.
func (s *Server) incidents() []scan.Incident {
	fs := slices.Clone(s.opts.Findings)
	slices.SortStableFunc(fs, func(a, b detect.Finding) int { return a.EventTime.Compare(b.EventTime) })
	inc := scan.Group(fs)
	slices.Reverse(inc)
	return inc
}

func (s *Server) activity(_ context.Context, r *http.Request, p *Page) error {
	p.Template, p.Nav, p.Title = "activity", "activity", p.L.T("act.title")
	q := r.URL.Query()
	d := &activityData{HasScan: s.opts.FindingsFile != "", File: s.opts.FindingsFile, Problems: s.opts.FindingsProblems,
		Account: strings.TrimSpace(q.Get("account")), Unapproved: q.Get("unapproved") != ""}
	p.Activity = d
	names := map[string]string{}
	if p.HasAudit {
		for _, a := range p.snap.latest.Accounts {
			names[a.ID] = a.Name
		}
	}
	for _, inc := range s.incidents() {
		v := incidentView{Incident: inc, Approved: inc.Approval.Status == detect.Approved, Name: names[inc.Account]}
		v.Direct = inc.Session == nil
		for _, f := range inc.Timeline {
			if f.Session != nil && f.Session.OutsideTaskPolicy {
				v.Outside++
			}
		}
		v.Hidden = (d.Account != "" && inc.Account != d.Account) || (d.Unapproved && v.Approved)
		if !v.Hidden {
			d.Shown++
		}
		d.Incidents = append(d.Incidents, v)
	}
	return nil
}

// ---- Approvals

type approvalsData struct {
	Configured bool
	Error      string
	Groups     []approvalGroup
}

type approvalGroup struct {
	Status    string
	Approvals []alert.Approval
}

// statusOrder is the order the approval states are shown in; a state not
// listed follows them.
var statusOrder = []string{"pending", alert.StatusScheduled, alert.StatusActive, "used", alert.StatusExpired, alert.StatusRevoked}

func (s *Server) approvals(ctx context.Context, _ *http.Request, p *Page) error {
	p.Template, p.Nav, p.Title = "approvals", "approvals", p.L.T("appr.title")
	d := &approvalsData{Configured: s.opts.Approvals != nil}
	p.Approvals = d
	if !d.Configured {
		return nil
	}
	as, err := s.opts.Approvals.Approvals(ctx, "")
	if err != nil {
		d.Error = err.Error()
		return nil
	}
	// A root session the scan results join to an approval used it, also
	// when the approval's own record (a file) does not say so.
	used := map[string][]string{}
	for _, f := range s.opts.Findings {
		if f.Category == detect.RootSessionIssued && f.Approval.Status == detect.Approved && f.Approval.ID != "" && f.Session != nil {
			used[f.Approval.ID] = append(used[f.Approval.ID], f.Session.AccessKeyID)
		}
	}
	by := map[string][]alert.Approval{}
	for _, a := range as {
		if len(a.Sessions) == 0 {
			a.Sessions = used[a.ID]
		}
		st := a.Status(p.Now)
		by[st] = append(by[st], a)
	}
	order := slices.Clone(statusOrder)
	for st := range by {
		if !slices.Contains(order, st) {
			order = append(order, st)
		}
	}
	for _, st := range order {
		if len(by[st]) > 0 || slices.Contains(statusOrder[1:5], st) {
			list := by[st]
			slices.SortFunc(list, func(a, b alert.Approval) int { return b.From.Compare(a.From) })
			d.Groups = append(d.Groups, approvalGroup{Status: st, Approvals: list})
		}
	}
	return nil
}

// ---- Operations

type opsData struct {
	Configured bool
	Runs       []runView
	// OtherOrgRuns counts the runs on other organizations, not shown.
	OtherOrgRuns int
}

// ownRun says whether a journal run belongs on the page: a run on the
// organization shown, or one that names none (a root session).
func (p *Page) ownRun(run store.JournalRun) bool {
	return run.OrgID == "" || p.OrgID == "" || run.OrgID == p.OrgID
}

type runView struct {
	store.JournalRun
	StepList []store.JournalStep
	Failed   int
}

func (s *Server) operations(ctx context.Context, _ *http.Request, p *Page) error {
	p.Template, p.Nav, p.Title = "operations", "operations", p.L.T("ops.title")
	d := &opsData{Configured: s.opts.Journal != nil}
	p.Operations = d
	if s.opts.Journal == nil {
		return nil
	}
	runs, err := s.opts.Journal.Runs(ctx, 100)
	if err != nil {
		return err
	}
	for _, run := range runs {
		if !p.ownRun(run) {
			d.OtherOrgRuns++
			continue
		}
		steps, err := s.opts.Journal.Steps(ctx, run.ID)
		if err != nil {
			return err
		}
		v := runView{JournalRun: run, StepList: steps}
		for _, st := range steps {
			if st.Result == "failed" || st.Result == "survived" {
				v.Failed++
			}
		}
		d.Runs = append(d.Runs, v)
	}
	return nil
}
