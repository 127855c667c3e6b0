package web

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/store"
)

// History is the audit history the dashboard reads; *store.Store is one,
// and so is *S3History. It is keyed by organization: the dashboard shows
// one organization's audits and never compares or trends two.
type History interface {
	// Orgs lists the organizations the history holds audits of, the one
	// audited last first.
	Orgs(ctx context.Context) ([]string, error)
	// OrgAudits lists one organization's stored audits, newest first;
	// limit <= 0 lists all.
	OrgAudits(ctx context.Context, org string, limit int) ([]store.AuditInfo, error)
	// LoadAudit returns one stored report.
	LoadAudit(ctx context.Context, id int64) (*audit.Report, error)
}

// Journal is the operations journal; *store.Store is one.
type Journal interface {
	// Runs lists runs, newest first; limit <= 0 lists all.
	Runs(ctx context.Context, limit int) ([]store.JournalRun, error)
	// Steps returns a run's steps in order.
	Steps(ctx context.Context, runID string) ([]store.JournalStep, error)
}

// runDigest is what the pages need of one audit besides the newest: its
// counts, and a line per account for the account's history.
type runDigest struct {
	info     store.AuditInfo
	states   map[RootState]int
	failing  int
	tally    map[string]audit.Tally
	accounts map[string]acctPoint
}

// acctPoint is one account's root user in one audit.
type acctPoint struct {
	State    RootState
	Level    Level
	Failed   string // failed control ids, comma-separated
	Password bool
	MFA      string // kinds, joined with +
	Keys     int
	Certs    int
	LastUsed time.Time
}

func (p acctPoint) same(q acctPoint) bool {
	return p.State == q.State && p.Failed == q.Failed && p.Password == q.Password && p.MFA == q.MFA &&
		p.Keys == q.Keys && p.Certs == q.Certs && p.LastUsed.Equal(q.LastUsed)
}

func digest(info store.AuditInfo, rep *audit.Report) *runDigest {
	d := &runDigest{info: info, states: map[RootState]int{}, tally: rep.Summary.ByControl,
		accounts: make(map[string]acctPoint, len(rep.Accounts))}
	for _, a := range rep.Accounts {
		if a == nil {
			continue
		}
		p := acctPoint{State: StateOf(a)}
		p.Level, _ = WorstOf(a)
		failed := failedIDs(a)
		if len(failed) > 0 {
			d.failing++
		}
		p.Failed = strings.Join(failed, ",")
		if r := a.Root; r != nil {
			p.Password, p.Keys, p.Certs, p.LastUsed = r.Password, len(r.AccessKeys), len(r.SigningCertificates), r.LastUsed
			var kinds []string
			for _, m := range r.MFADevices {
				kinds = append(kinds, string(m.Kind))
			}
			p.MFA = strings.Join(kinds, "+")
		}
		d.states[p.State]++
		d.accounts[a.ID] = p
	}
	return d
}

// snapshot is the history as one request sees it.
type snapshot struct {
	// org is the organization shown; others are the other organizations
	// the history holds, which the dashboard does not show.
	org        string
	others     []string
	latest     *audit.Report // nil when the history holds no audit of org
	latestInfo store.AuditInfo
	runs       []*runDigest // oldest first, all of org
}

// historyCache keeps each audit's digest, and the newest report whole, so
// that a page costs one listing query unless a new audit arrived.
type historyCache struct {
	h    History
	runs int

	mu sync.Mutex
	// org is the organization shown: Options.Org, or the one audited
	// last when it is first read, kept from then on so that an audit of
	// another organization does not switch the dashboard under its user.
	org      string
	digests  map[int64]*runDigest
	latestID int64
	latest   *audit.Report
}

func newHistoryCache(h History, runs int, org string) *historyCache {
	return &historyCache{h: h, runs: runs, org: org, digests: map[int64]*runDigest{}}
}

// get returns the newest audit of the organization shown and up to
// c.runs of its audits; audits of other organizations are only named.
func (c *historyCache) get(ctx context.Context) (*snapshot, error) {
	if c.h == nil {
		return &snapshot{}, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	orgs, err := c.h.Orgs(ctx)
	if err != nil {
		return nil, fmt.Errorf("web: read the audit history: %w", err)
	}
	if c.org == "" && len(orgs) > 0 {
		c.org = orgs[0]
	}
	snap := &snapshot{org: c.org}
	for _, o := range orgs {
		if o != c.org {
			snap.others = append(snap.others, o)
		}
	}
	if c.org == "" {
		return snap, nil
	}
	infos, err := c.h.OrgAudits(ctx, c.org, c.runs)
	if err != nil {
		return nil, fmt.Errorf("web: read the audit history: %w", err)
	}
	if len(infos) == 0 {
		return snap, nil
	}
	newest := infos[0]
	if c.latest == nil || c.latestID != newest.ID {
		rep, err := c.h.LoadAudit(ctx, newest.ID)
		if err != nil {
			return nil, fmt.Errorf("web: read the audit history: %w", err)
		}
		c.latest, c.latestID = rep, newest.ID
		c.digests[newest.ID] = digest(newest, rep)
	}
	snap.latest, snap.latestInfo = c.latest, newest
	keep := map[int64]bool{}
	for _, info := range infos {
		if info.OrgID != c.org {
			continue // a history that answers for another: never mixed
		}
		d, ok := c.digests[info.ID]
		if !ok {
			rep, err := c.h.LoadAudit(ctx, info.ID)
			if err != nil {
				return nil, fmt.Errorf("web: read the audit history: %w", err)
			}
			d = digest(info, rep)
			c.digests[info.ID] = d
		}
		keep[info.ID] = true
		snap.runs = append(snap.runs, d)
	}
	for id := range c.digests {
		if !keep[id] {
			delete(c.digests, id)
		}
	}
	slices.Reverse(snap.runs)
	return snap, nil
}
