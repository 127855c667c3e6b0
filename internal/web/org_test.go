package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/store"
)

// serveOrg serves sb's store showing org ("": the one audited last).
func serveOrg(t *testing.T, sb *sandbox, org string) *httptest.Server {
	t.Helper()
	srv, err := New(Options{Token: testToken, Now: func() time.Time { return fixtureNow }, History: sb.Store, Journal: sb.Store, Org: org})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs
}

// shownOrg is the organization in the page's header.
func shownOrg(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`<span class="org">([^<]*)</span>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the page names no organization:\n%.2000s", body)
	}
	return m[1]
}

// trendRows counts the rows of the trend table (no table: 0).
func trendRows(body string) int {
	_, rest, ok := strings.Cut(body, `id="trend-table"`)
	if !ok {
		return 0
	}
	rest, _, _ = strings.Cut(rest, "</tbody>")
	return strings.Count(rest, "<tr><td>")
}

// TestOneOrganization: a history holding two organizations' audits (the
// example organization's three, then a newer one of another) is shown one
// organization at a time: the one audited last, or Options.Org. The page
// names it and the other; the trend, the accounts and the operations are
// the shown organization's only; and an organization chosen when the
// history is first read stays shown when another is audited later.
func TestOneOrganization(t *testing.T) {
	sb := newSandbox(t, exampleReport(t), 3)
	exampleOrg := sb.Latest.Organization.ID
	hsPinned := serveOrg(t, sb, "") // reads the history below before B arrives
	if _, body := get(t, hsPinned.URL+"/", withCookie(testToken)); shownOrg(t, body) != exampleOrg || strings.Contains(body, `id="other-orgs"`) {
		t.Fatalf("one organization: shows %s, want %s", shownOrg(t, body), exampleOrg)
	}

	other := auditSim(t, awssim.GenerateScenario(6, 7), fixtureNow.Add(-time.Hour))
	otherOrg := other.Organization.ID
	if otherOrg == exampleOrg || !other.StartedAt.After(sb.Latest.StartedAt) {
		t.Fatalf("fixture: second organization %s audited %s", otherOrg, other.StartedAt)
	}
	if _, err := sb.Store.SaveAudit(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	if err := sb.Store.CreateRun(t.Context(), store.JournalRun{ID: "20261130T080000Z-0other", Kind: "delete-credentials", OrgID: otherOrg,
		CallerARN: "arn:aws:iam::" + other.Organization.ManagementAccountID + ":user/other", PlanDigest: "sha256:other", Plan: []byte("{}"),
		StartedAt: fixtureNow.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var otherMember string
	for _, a := range other.Accounts {
		if !a.Management {
			otherMember = a.ID
		}
	}

	for _, tt := range []struct {
		name      string
		hs        *httptest.Server
		shown     string
		others    string
		trend     int // rows of the trend table: the shown organization's audits
		accounts  int
		foreignOK bool // the other organization's member has a page
		runs      string
	}{
		{"the one audited last", serveOrg(t, sb, ""), otherOrg, exampleOrg, 0, len(other.Accounts), true, "20261130T080000Z-0other"},
		{"--org", serveOrg(t, sb, exampleOrg), exampleOrg, otherOrg, 3, len(sb.Latest.Accounts), false, "20261129T101500Z-3f9a"},
		{"chosen before the other was audited", hsPinned, exampleOrg, otherOrg, 3, len(sb.Latest.Accounts), false, "20261129T101500Z-3f9a"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, body := get(t, tt.hs.URL+"/", withCookie(testToken))
			if got := shownOrg(t, body); got != tt.shown {
				t.Errorf("shows %s, want %s", got, tt.shown)
			}
			note := regexp.MustCompile(`<p class="desc" id="other-orgs">([^<]*)</p>`).FindStringSubmatch(body)
			if note == nil || !strings.Contains(note[1], "Showing organization "+tt.shown+" only") || !strings.Contains(note[1], tt.others) ||
				!strings.Contains(note[1], "--org") {
				t.Errorf("the page does not name the other organization %s: %v", tt.others, note)
			}
			if n := trendRows(body); n != tt.trend {
				t.Errorf("trend of %d audits, want %d (of %s only)", n, tt.trend, tt.shown)
			}
			if !strings.Contains(body, `<div class="kpi" id="kpi-accounts"><span class="v">`+strconv.Itoa(tt.accounts)+`<`) {
				t.Errorf("the accounts KPI is not %s's %d accounts", tt.shown, tt.accounts)
			}
			resp, _ := get(t, tt.hs.URL+"/account/"+otherMember, withCookie(testToken))
			if (resp.StatusCode == http.StatusOK) != tt.foreignOK {
				t.Errorf("/account/%s of %s: %d", otherMember, otherOrg, resp.StatusCode)
			}
			_, ops := get(t, tt.hs.URL+"/operations", withCookie(testToken))
			if strings.Count(ops, `class="card wide run" id="run-`) != 1 || !strings.Contains(ops, `id="run-`+tt.runs+`"`) ||
				!strings.Contains(ops, "1 runs on other organizations are not shown") {
				t.Errorf("operations of %s: want run %s only and the other counted", tt.shown, tt.runs)
			}
		})
	}

	// The page in Japanese names them too.
	_, body := get(t, serveOrg(t, sb, exampleOrg).URL+"/?lang=ja", withCookie(testToken))
	if !strings.Contains(body, "組織 "+exampleOrg+" のみを表示しています") || !strings.Contains(body, otherOrg) {
		t.Error("the Japanese page does not name the organizations")
	}
}
