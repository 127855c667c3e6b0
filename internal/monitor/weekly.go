package monitor

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/history"
	"github.com/rootguard/rootguard/internal/newaccount"
	"github.com/rootguard/rootguard/internal/notify"
)

// DigestCommand is the value of the rootguard field of the event the
// digest schedule sends: {"rootguard":"digest"}.
const DigestCommand = "digest"

// IsDigestEvent says whether an event is the digest schedule's.
func IsDigestEvent(payload []byte) bool {
	var ev struct {
		Rootguard string `json:"rootguard"`
	}
	return json.Unmarshal(payload, &ev) == nil && ev.Rootguard == DigestCommand
}

// Week is the period the digest reports on.
const Week = 7 * 24 * time.Hour

// baselineSlack lets a run that started a little less than a week before
// the newest one (a schedule's start drifts by seconds or minutes) count
// as the run a week earlier.
const baselineSlack = 12 * time.Hour

// Baseline picks, among run times in ascending order, the run the newest
// one is compared with: the newest run at least a week (less
// baselineSlack) older than the newest, else the oldest run. It returns
// -1 when there are fewer than two runs.
func Baseline(times []time.Time) int {
	if len(times) < 2 {
		return -1
	}
	newest := times[len(times)-1]
	target := newest.Add(-Week + baselineSlack)
	base := 0
	for i, t := range times[:len(times)-1] {
		if !t.After(target) {
			base = i
		}
	}
	return base
}

// StrictPaths says whether an OU path is one of ous or below one of
// them; nil when ous is empty (no strict OU known).
func StrictPaths(ous []string) func(path string) bool {
	if len(ous) == 0 {
		return nil
	}
	return func(path string) bool { return underAny(path, ous) }
}

// isStrict applies strict, nil saying no OU is strict.
func isStrict(strict func(string) bool, path string) bool { return strict != nil && strict(path) }

// State counts one run: accounts with and without root credentials, MFA,
// access keys, each account control's passes and failures, the strict
// and flexible OUs (when strict is not nil: the deployment's
// rootguard.yaml, or StrictPaths), and the accounts suspended or not
// readable.
func State(rep *audit.Report, strict func(path string) bool) notify.OrgState {
	s := notify.OrgState{At: rep.StartedAt, Accounts: len(rep.Accounts), OrganizationProblem: rep.Organization.Error}
	tallies := map[string]*notify.Tally{}
	for _, info := range audit.Controls {
		if !info.OrgLevel {
			s.Controls = append(s.Controls, notify.Tally{ID: info.ID, Title: info.Title})
		}
	}
	for i := range s.Controls {
		tallies[s.Controls[i].ID] = &s.Controls[i]
	}
	for _, c := range rep.OrgControls {
		if c.Outcome == audit.Fail {
			s.OrgControlsFailing = append(s.OrgControlsFailing, c.ID)
		}
	}
	var posture *notify.Posture
	strictOU, flexOU := map[string]bool{}, map[string]bool{}
	if strict != nil {
		posture = &notify.Posture{}
	}
	for _, a := range rep.Accounts {
		switch {
		case a.Error != "":
			s.Unreadable++
		case a.State != "" && a.State != "ACTIVE":
			s.Inactive++
		}
		inStrict := isStrict(strict, a.OUPath)
		if r := a.Root; r != nil {
			s.Audited++
			if r.HasCredentials() {
				s.WithRoot++
				if len(r.MFADevices) > 0 {
					s.WithRootMFA++
				} else {
					s.WithRootNoMFA++
				}
			} else {
				s.WithoutRoot++
			}
			if len(r.AccessKeys) > 0 {
				s.WithAccessKeys++
			}
		}
		for _, c := range a.Controls {
			if t := tallies[c.ID]; t != nil {
				switch c.Outcome {
				case audit.Pass:
					t.Pass++
				case audit.Fail:
					t.Fail++
				}
			}
		}
		if len(failing(a, inStrict)) > 0 {
			s.NeedingAction++
		}
		if posture != nil {
			if inStrict {
				posture.StrictAccounts++
				strictOU[a.OUPath] = true
				if a.Root != nil && a.Root.HasCredentials() {
					posture.StrictWithRoot++
				}
			} else {
				posture.FlexibleAccounts++
				if a.OUPath != "" {
					flexOU[a.OUPath] = true
				}
			}
		}
	}
	if posture != nil {
		posture.StrictOUs, posture.FlexibleOUs = len(strictOU), len(flexOU)
		s.Posture = posture
	}
	return s
}

// failing lists the account controls an account fails that call for
// action: every failing control but RG.ROOT.1 (root credentials absent),
// which is the target of strict OUs only; a flexible OU keeps root's
// password with MFA.
func failing(a *audit.Account, strict bool) []string {
	var out []string
	for _, c := range a.Controls {
		if c.Outcome == audit.Fail && (strict || c.ID != audit.CtlCredentialsGone) {
			out = append(out, c.ID)
		}
	}
	return out
}

// NeedingAction lists the accounts of a run that fail a control calling
// for action (see State), those failing most first, then by account id.
func NeedingAction(rep *audit.Report, strict func(path string) bool) []notify.NeedsAction {
	var out []notify.NeedsAction
	for _, a := range rep.Accounts {
		if f := failing(a, isStrict(strict, a.OUPath)); len(f) > 0 {
			out = append(out, notify.NeedsAction{Account: a.ID, Name: a.Name, OUPath: a.OUPath, Failing: f})
		}
	}
	slices.SortFunc(out, func(x, y notify.NeedsAction) int {
		return cmp.Or(cmp.Compare(len(y.Failing), len(x.Failing)), cmp.Compare(x.Account, y.Account))
	})
	return out
}

// Fixed is the kind of a WeeklyEvent that says controls stopped failing.
const Fixed = "fixed"

// FeatureEnabled is the kind of a WeeklyEvent that says an organization
// feature was turned (back) on.
const FeatureEnabled = "feature-enabled"

// Compare lists what one run changed from the previous one: the
// regressions the run paged (Regressions) and the fixes, one per account
// whose controls stopped failing (fail to pass or to not-applicable:
// deleting root's credentials makes its MFA controls not applicable) and
// one per organization feature enabled.
func Compare(prev, cur *audit.Report, strict func(path string) bool) (regs, fixes []notify.WeeklyEvent) {
	at := cur.StartedAt
	for _, r := range RegressionsFunc(prev, cur, func(path string) bool { return isStrict(strict, path) }) {
		regs = append(regs, notify.WeeklyEvent{At: at, Account: r.Account, Name: r.Name, Kind: r.Kind, Detail: r.Detail})
	}
	fixed := map[string][]string{}
	names := map[string]string{}
	var order []string
	for _, c := range audit.Diff(prev, cur) {
		switch c.Kind {
		case audit.ChangeOrgFeatureEnabled:
			fixes = append(fixes, notify.WeeklyEvent{At: at, Kind: FeatureEnabled, Detail: c.Detail})
		case audit.ChangeControlChanged:
			id, rest, _ := strings.Cut(c.Detail, " ")
			if !strings.HasPrefix(rest, "fail -> pass") && !strings.HasPrefix(rest, "fail -> not-applicable") {
				continue
			}
			if _, seen := fixed[c.Account]; !seen {
				order = append(order, c.Account)
			}
			fixed[c.Account] = append(fixed[c.Account], id)
			names[c.Account] = c.Name
		}
	}
	for _, acct := range order {
		ids := fixed[acct]
		slices.Sort(ids)
		name := names[acct]
		if acct == "" {
			name = ""
		}
		fixes = append(fixes, notify.WeeklyEvent{At: at, Account: acct, Name: name, Kind: Fixed, Detail: strings.Join(ids, ", ")})
	}
	return regs, fixes
}

// Trend computes the digest from runs in time order: runs[0] is the run
// a week earlier (see Baseline), the last one the newest. It reads two
// runs at a time, so a week of hourly runs of 5,000 accounts fits in the
// function's memory.
type Trend struct {
	Strict func(path string) bool // nil: no OU is known to be strict
	out    notify.Weekly
	first  *audit.Report
	prev   *audit.Report
}

// Add takes the next run.
func (w *Trend) Add(rep *audit.Report) {
	if w.first == nil {
		w.first = rep
	} else {
		w.out.Runs++
		regs, fixes := Compare(w.prev, rep, w.Strict)
		w.out.Regressions = append(w.out.Regressions, regs...)
		w.out.Fixes = append(w.out.Fixes, fixes...)
	}
	w.prev = rep
}

// Digest is the digest of the runs added.
func (w *Trend) Digest() notify.Weekly {
	out := w.out
	if w.prev == nil {
		return out
	}
	now := State(w.prev, w.Strict)
	out.Now = &now
	out.Organization = cmp.Or(out.Organization, w.prev.Organization.ID)
	out.NeedsAction = NeedingAction(w.prev, w.Strict)
	if w.first != w.prev {
		then := State(w.first, w.Strict)
		out.Then = &then
	}
	return out
}

// Stored is one run of a history: when it started, what names it (an S3
// key, a database id) and how to read it.
type Stored struct {
	At   time.Time
	Name string
	Load func(context.Context) (*audit.Report, error)
}

// WeeklyFrom computes the digest from a history's runs, oldest first:
// it reads the newest run, the run about a week earlier (Baseline) and
// every run in between, two at a time. A run that cannot be read is
// named in Unreadable and left out; no run at all is an empty digest
// (Now nil), not an error. now is when the digest is made.
func WeeklyFrom(ctx context.Context, runs []Stored, strict func(path string) bool, now time.Time) (notify.Weekly, error) {
	times := make([]time.Time, len(runs))
	for i, r := range runs {
		times[i] = r.At
	}
	w := &Trend{Strict: strict}
	if len(runs) > 0 {
		for _, r := range runs[max(Baseline(times), 0):] {
			rep, err := r.Load(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return notify.Weekly{}, fmt.Errorf("monitor: digest: %w", ctx.Err())
				}
				w.out.Unreadable = append(w.out.Unreadable, r.Name)
				continue
			}
			w.Add(rep)
		}
	}
	out := w.Digest()
	out.Generated = now
	return out, nil
}

// ReadWeekly reads the digest from the scheduled audit's history in S3
// (see WeeklyFrom); keys that do not name a run's time are left out.
func ReadWeekly(ctx context.Context, c history.S3API, loc history.Location, strict func(path string) bool, now time.Time) (notify.Weekly, error) {
	keys, err := history.Keys(ctx, c, loc)
	if err != nil {
		return notify.Weekly{}, fmt.Errorf("monitor: digest: %w", err)
	}
	var runs []Stored
	for _, k := range keys {
		if t, ok := history.KeyTime(k); ok {
			runs = append(runs, Stored{At: t, Name: k, Load: func(ctx context.Context) (*audit.Report, error) {
				return history.Get(ctx, c, loc, k)
			}})
		}
	}
	out, err := WeeklyFrom(ctx, runs, strict, now)
	out.History = loc.String()
	out.Organization = cmp.Or(out.Organization, path.Base(cmp.Or(loc.Prefix, loc.Bucket)))
	return out, err
}

// DigestResult is what one digest did: the function's response.
type DigestResult struct {
	Organization  string            `json:"organization"`
	Newest        time.Time         `json:"newest,omitzero"`
	Baseline      time.Time         `json:"baseline,omitzero"`
	Runs          int               `json:"runs"`
	Regressions   int               `json:"regressions"`
	Fixes         int               `json:"fixes"`
	NeedingAction int               `json:"needingAction"`
	Unreadable    []string          `json:"unreadable,omitempty"`
	Published     []alert.Published `json:"published"`
}

// Digest reads the week's runs from the history and publishes one
// message through the alert topics in the deployment's language(s). The
// strict OUs are the deployment's rootguard.yaml's (read each time, as
// the scheduled audit does; unreadable, the digest fails and is
// retried), else STRICT_OUS. A retry after a failed publish publishes
// again; nothing is written.
func Digest(ctx context.Context, cfg Config, d Deps, now time.Time) (*DigestResult, error) {
	strict := StrictPaths(cfg.StrictOUs)
	if !cfg.ModeConfig.IsZero() {
		p, err := newaccount.LoadPolicy(ctx, d.S3, d.AWS, cfg.ModeConfig)
		if err != nil {
			return nil, fmt.Errorf("monitor: digest: %w", err)
		}
		strict = p.Strict
	}
	wk, err := ReadWeekly(ctx, d.S3, cfg.History, strict, now)
	if err != nil {
		return nil, err
	}
	res := &DigestResult{Organization: wk.Organization, Runs: wk.Runs, Regressions: len(wk.Regressions),
		Fixes: len(wk.Fixes), Unreadable: wk.Unreadable}
	if wk.Now != nil {
		res.Newest, res.NeedingAction = wk.Now.At, wk.Now.NeedingAction
	}
	if wk.Then != nil {
		res.Baseline = wk.Then.At
	}
	res.Published, err = alert.Publish(ctx, d.SNS, cfg.Topics, notify.RenderWeekly(wk, cfg.Lang), nil)
	if err != nil {
		return res, fmt.Errorf("monitor: digest: %w", err)
	}
	cmp.Or(d.Logger, slog.Default()).InfoContext(ctx, "monitor: digest published", "organization", res.Organization,
		"runs", res.Runs, "regressions", res.Regressions, "fixes", res.Fixes, "needing_action", res.NeedingAction)
	return res, nil
}
