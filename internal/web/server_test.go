package web

import (
	"bytes"
	"flag"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/audit"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const testToken = "test-token-0123456789abcdef"

// newTestServer serves a sandbox; the client carries no token.
func newTestServer(t *testing.T, sb *sandbox) *httptest.Server {
	t.Helper()
	opts := Options{Token: testToken, Now: func() time.Time { return fixtureNow }}
	if sb != nil {
		opts.History, opts.Journal = sb.Store, sb.Store
		opts.Findings, opts.FindingsFile = sb.Findings, sb.FindFile
		opts.Approvals = ApprovalsFile{Set: sb.Approvals}
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, u string, mod func(*http.Request)) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(req)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func withCookie(v string) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: TokenCookie, Value: v}) }
}

func TestToken(t *testing.T) {
	hs := newTestServer(t, nil)
	for _, tc := range []struct {
		name, path string
		mod        func(*http.Request)
		want       int
	}{
		{"no token", "/", nil, http.StatusUnauthorized},
		{"no token, a view", "/tree?control=IAM.4", nil, http.StatusUnauthorized},
		{"wrong token", "/?token=nope", nil, http.StatusUnauthorized},
		{"token one character off", "/?token=" + testToken[:len(testToken)-1] + "x", nil, http.StatusUnauthorized},
		{"token prefix", "/?token=" + testToken[:10], nil, http.StatusUnauthorized},
		{"empty token", "/?token=", nil, http.StatusUnauthorized},
		{"wrong cookie", "/", withCookie("nope"), http.StatusUnauthorized},
		{"wrong bearer", "/", func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }, http.StatusUnauthorized},
		{"right token in a wrong query does not leak into a cookie", "/approvals?token=" + testToken + "x", nil, http.StatusUnauthorized},
		{"cookie", "/", withCookie(testToken), http.StatusOK},
		{"bearer", "/operations", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testToken) }, http.StatusOK},
		{"stylesheet needs no token", "/static/app.css", nil, http.StatusOK},
		{"unknown page", "/nope", withCookie(testToken), http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, hs.URL+tc.path, tc.mod)
			if resp.StatusCode != tc.want {
				t.Fatalf("GET %s: %d, want %d", tc.path, resp.StatusCode, tc.want)
			}
			if tc.want == http.StatusUnauthorized {
				if len(resp.Cookies()) > 0 {
					t.Errorf("401 set cookies %v", resp.Cookies())
				}
				if strings.Contains(body, testToken) {
					t.Error("the 401 page shows the token")
				}
			}
		})
	}

	t.Run("token sets the cookie and redirects without it", func(t *testing.T) {
		resp, _ := get(t, hs.URL+"/tree?control=IAM.4&token="+testToken, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if loc := resp.Header.Get("Location"); loc != "/tree?control=IAM.4" {
			t.Errorf("Location %q", loc)
		}
		cs := resp.Cookies()
		if len(cs) != 1 || cs[0].Name != TokenCookie || cs[0].Value != testToken || !cs[0].HttpOnly ||
			cs[0].SameSite != http.SameSiteStrictMode || cs[0].Path != "/" {
			t.Errorf("cookies %+v", cs)
		}
	})
	t.Run("read-only", func(t *testing.T) {
		resp, err := http.PostForm(hs.URL+"/?token="+testToken, url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST: %d", resp.StatusCode)
		}
	})
	t.Run("headers", func(t *testing.T) {
		resp, _ := get(t, hs.URL+"/", withCookie(testToken))
		for k, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("CSP %q", csp)
		}
	})
}

func TestNewRefusesEmptyToken(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New with no token: no error")
	}
	a, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewToken()
	if len(a) < 40 || a == b {
		t.Errorf("tokens %q, %q", a, b)
	}
}

func TestParseLang(t *testing.T) {
	for in, want := range map[string]Lang{
		"":                         English,
		"ja":                       Japanese,
		"ja-JP,ja;q=0.9,en;q=0.8":  Japanese,
		"en-US,en;q=0.9,ja;q=0.8":  English,
		"en;q=0.5, ja;q=0.7":       Japanese,
		"fr-FR, de":                English,
		"fr, ja;q=0.1":             Japanese,
		"JA-jp":                    Japanese,
		"ja;q=abc,en;q=0.9":        Japanese,
		"*":                        English,
		"ja;q=0.2, en-GB;q=0.3":    English,
		"ja-JP;q=0.9,en;q=0.9,fr;": Japanese,
	} {
		if got := ParseLang(in); got != want {
			t.Errorf("ParseLang(%q) = %s, want %s", in, got, want)
		}
	}
}

// cell finds the number in an element carrying data-NAME="N" inside the
// row whose data-KEY is key.
func cell(t *testing.T, body, rowAttr, key, name string) int {
	t.Helper()
	re := regexp.MustCompile(`(?s)<tr ` + rowAttr + `="` + regexp.QuoteMeta(key) + `".*?data-` + name + `="(\d+)"`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s of %s %s on the page", name, rowAttr, key)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestOverviewNumbers checks the overview against the stored report of
// awssim's example organization and against counts made here from its
// accounts.
func TestOverviewNumbers(t *testing.T) {
	rep := exampleReport(t)
	sb := newSandbox(t, rep, 3)
	hs := newTestServer(t, sb)
	_, body := get(t, hs.URL+"/", withCookie(testToken))
	want := map[RootState]int{}
	for _, a := range sb.Latest.Accounts {
		want[StateOf(a)]++
	}
	for _, st := range States {
		if got := cell(t, body, "data-state", string(st), "count"); got != want[st] {
			t.Errorf("state %s: %d on the page, %d in the report", st, got, want[st])
		}
	}
	for _, c := range accountControls() {
		tl := sb.Latest.Summary.ByControl[c.ID]
		for name, w := range map[string]int{"pass": tl.Pass, "fail": tl.Fail, "na": tl.NotApplicable, "unknown": tl.Unknown} {
			if got := cell(t, body, "data-control", c.ID, name); got != w {
				t.Errorf("%s %s: %d on the page, %d in the report", c.ID, name, got, w)
			}
		}
	}
	if !strings.Contains(body, `<div class="kpi" id="kpi-accounts"><span class="v">`+strconv.Itoa(len(sb.Latest.Accounts))+`<`) {
		t.Error("the accounts KPI is not the number of accounts")
	}
	if n := strings.Count(body, "<polygon "); n != len(States) {
		t.Errorf("trend chart has %d bands, want %d", n, len(States))
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, " style=") {
		t.Error("inline script or style: the CSP forbids them")
	}
}

// TestViews renders every view of a small sandbox in both languages.
func TestViews(t *testing.T) {
	rep := exampleReport(t)
	sb := newSandbox(t, rep, 3)
	hs := newTestServer(t, sb)
	acct := sb.Findings[1].Account
	for _, path := range []string{"/", "/tree", "/tree?state=keys&control=IAM.4", "/account/" + acct, "/activity", "/activity?unapproved=1", "/approvals", "/operations"} {
		for _, lang := range []string{"en", "ja"} {
			resp, body := get(t, hs.URL+path, func(r *http.Request) {
				withCookie(testToken)(r)
				r.Header.Set("Accept-Language", lang)
			})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s (%s): %d: %s", path, lang, resp.StatusCode, body)
			}
			if !strings.Contains(body, `<html lang="`+lang+`">`) {
				t.Errorf("%s (%s): wrong language", path, lang)
			}
		}
	}
	_, body := get(t, hs.URL+"/account/"+acct, withCookie(testToken))
	for _, want := range []string{"DeleteBucketPolicy", "CreateUser", "outside the task policy", `id="verdicts"`, `id="history"`} {
		if !strings.Contains(body, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	resp, _ := get(t, hs.URL+"/account/000000000000", withCookie(testToken))
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown account: %d", resp.StatusCode)
	}
	_, body = get(t, hs.URL+"/?lang=ja", withCookie(testToken))
	if !strings.Contains(body, "現在の状態") {
		t.Error("?lang=ja is not Japanese")
	}
}

func TestEmptyHistory(t *testing.T) {
	hs := newTestServer(t, nil)
	for _, p := range []string{"/", "/tree", "/activity", "/approvals", "/operations", "/account/123456789012"} {
		resp, body := get(t, hs.URL+p, withCookie(testToken))
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<footer>") {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}

// requestIDs vary from run to run; golden files hold a placeholder.
var requestIDs = regexp.MustCompile(`RequestID: [0-9a-f-]{36}`)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after checking the change):\n%s", name, firstDiff(want, got))
	}
}

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n- " + x + "\n+ " + y
		}
	}
	return ""
}

// TestReportGolden is audit --export html: the example organization's
// report, in English and Japanese.
func TestReportGolden(t *testing.T) {
	rep := exampleReport(t)
	for _, lang := range []Lang{English, Japanese} {
		var b bytes.Buffer
		if err := WriteReport(&b, rep, lang); err != nil {
			t.Fatal(err)
		}
		out := requestIDs.ReplaceAll(b.Bytes(), []byte("RequestID: <id>"))
		golden(t, "report."+string(lang)+".html", out)
		s := string(out)
		if strings.Contains(s, "<script") || strings.Contains(s, `href="/`) || strings.Contains(s, `src="`) {
			t.Error("the exported report links to a server or runs a script")
		}
		for _, a := range rep.Accounts {
			if !strings.Contains(s, a.ID) {
				t.Errorf("account %s missing from the report", a.ID)
			}
			for _, c := range a.Controls {
				if c.Outcome == audit.Fail && !strings.Contains(s, html.EscapeString(c.Detail)) {
					t.Errorf("account %s: failed %s detail missing", a.ID, c.ID)
				}
			}
		}
	}
}
