package web

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rootguard/rootguard/internal/audit"
	s3hist "github.com/rootguard/rootguard/internal/history"
	"github.com/rootguard/rootguard/internal/store"
)

// S3History is the audit history the scheduled audit keeps in S3 (one
// object per run, package history) as a History. An audit's id is the
// time in its key, as YYYYMMDDhhmmss: stable while older objects expire.
// Each object is read once for its summary; LoadAudit reads it again.
type S3History struct {
	c   s3hist.S3API
	loc s3hist.Location

	mu    sync.Mutex
	infos map[string]store.AuditInfo
	keys  map[int64]string
}

// NewS3History reads the history at loc through c.
func NewS3History(c s3hist.S3API, loc s3hist.Location) *S3History {
	return &S3History{c: c, loc: loc, infos: map[string]store.AuditInfo{}, keys: map[int64]string{}}
}

// keyID is the id of the audit kept at key: the time its name carries.
func keyID(key string) (int64, error) {
	name := strings.TrimSuffix(path.Base(key), s3hist.Suffix)
	t, err := time.Parse("20060102T150405.000Z", name)
	if err != nil {
		return 0, fmt.Errorf("web: %s is not named for the time of its audit", key)
	}
	return strconv.ParseInt(t.Format("20060102150405"), 10, 64)
}

// Audits lists the newest audits, newest first.
func (h *S3History) Audits(ctx context.Context, limit int) ([]store.AuditInfo, error) {
	return h.OrgAudits(ctx, "", limit)
}

// Orgs lists the organizations of the audits read so far (at least the
// newest), the one audited last first. The scheduled audit writes one
// organization's audits under its prefix, so this is normally one.
func (h *S3History) Orgs(ctx context.Context) ([]string, error) {
	if _, err := h.Audits(ctx, 1); err != nil {
		return nil, err
	}
	h.mu.Lock()
	infos := make([]store.AuditInfo, 0, len(h.infos))
	for _, info := range h.infos {
		infos = append(infos, info)
	}
	h.mu.Unlock()
	slices.SortFunc(infos, func(a, b store.AuditInfo) int {
		return cmp.Or(b.StartedAt.Compare(a.StartedAt), cmp.Compare(b.ID, a.ID))
	})
	var out []string
	for _, info := range infos {
		if !slices.Contains(out, info.OrgID) {
			out = append(out, info.OrgID)
		}
	}
	return out, nil
}

// OrgAudits lists the newest audits of one organization ("": of any),
// newest first, reading objects from the newest until it has limit.
func (h *S3History) OrgAudits(ctx context.Context, org string, limit int) ([]store.AuditInfo, error) {
	keys, err := s3hist.Keys(ctx, h.c, h.loc)
	if err != nil {
		return nil, err
	}
	var out []store.AuditInfo
	for i := len(keys) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		key := keys[i]
		h.mu.Lock()
		info, ok := h.infos[key]
		h.mu.Unlock()
		if !ok {
			id, err := keyID(key)
			if err != nil {
				return nil, err
			}
			rep, err := s3hist.Get(ctx, h.c, h.loc, key)
			if err != nil {
				return nil, err
			}
			info = infoOf(id, rep)
			h.mu.Lock()
			h.infos[key], h.keys[id] = info, key
			h.mu.Unlock()
		}
		if org != "" && info.OrgID != org {
			continue
		}
		out = append(out, info)
	}
	return out, nil
}

// LoadAudit reads one audit listed by Audits.
func (h *S3History) LoadAudit(ctx context.Context, id int64) (*audit.Report, error) {
	h.mu.Lock()
	key, ok := h.keys[id]
	h.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("web: no audit %d in %s", id, h.loc)
	}
	return s3hist.Get(ctx, h.c, h.loc, key)
}

func infoOf(id int64, rep *audit.Report) store.AuditInfo {
	info := store.AuditInfo{ID: id, OrgID: rep.Organization.ID, StartedAt: rep.StartedAt, FinishedAt: rep.FinishedAt,
		Accounts: len(rep.Accounts), Failed: rep.Summary.Failed}
	for _, a := range rep.Accounts {
		if a == nil {
			continue
		}
		for _, c := range a.Controls {
			if c.Outcome == audit.Fail {
				info.WithFindings++
				break
			}
		}
	}
	return info
}
