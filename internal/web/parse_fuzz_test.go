package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	s3hist "github.com/rootguard/rootguard/internal/history"
)

// FuzzKeyID: an object in the S3 history (a bucket others may write to)
// gets an audit id only when its name is the time of its run, and that
// id is the run's time to the second, whatever the folders above it.
func FuzzKeyID(f *testing.F) {
	at := time.Date(2026, 12, 6, 1, 2, 3, 4_000_000, time.UTC)
	f.Add(s3hist.Location{Bucket: "b", Prefix: "audits"}.Key(at))
	f.Add("2026/12/06/20261206T010203.004Z.jsonl.gz")
	f.Add("20261206T010203.004Z")
	f.Add("a/20261306T010203.004Z.jsonl.gz")
	f.Add("a/99991231T235959.999Z.jsonl.gz")
	f.Add("")
	f.Fuzz(func(t *testing.T, key string) {
		id, err := keyID(key)
		if err != nil {
			if !strings.Contains(err.Error(), key) {
				t.Fatalf("keyID(%q): error %q does not name the key", key, err)
			}
			return
		}
		s := fmt.Sprintf("%014d", id) // YYYYMMDDhhmmss; year 0 loses its leading zeros in the number
		tm, perr := time.Parse("20060102150405", s)
		if perr != nil {
			t.Fatalf("keyID(%q) = %d: not a time: %v", key, id, perr)
		}
		name := strings.TrimSuffix(key[strings.LastIndex(key, "/")+1:], s3hist.Suffix)
		if !strings.HasPrefix(name, tm.Format("20060102T150405")) {
			t.Fatalf("keyID(%q) = %d: not the time in its name", key, id)
		}
	})
}

// FuzzParseLang: any Accept-Language header (sent by whoever reaches the
// dashboard, even unauthenticated: the 401 page is translated) yields
// English or Japanese, Japanese only when a "ja" range is acceptable
// (q > 0) and preferred.
func FuzzParseLang(f *testing.F) {
	for _, s := range []string{"", "ja", "en", "ja-JP,ja;q=0.9,en;q=0.8", "en-US,en;q=0.9,ja;q=0.95",
		"ja;q=0", "ja;q=NaN", "ja;q=-1", "ja;q=1e400", "fr, de;q=0.5", "JA-jp;q=0.5, en;q=0.4", ",,;;q=", "ja;q=0,en;q=0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := ParseLang(s)
		if l != English && l != Japanese {
			t.Fatalf("ParseLang(%q) = %q", s, l)
		}
		if l != Japanese {
			return
		}
		ok := false
		for part := range strings.SplitSeq(s, ",") {
			tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
			q := 1.0
			if v, has := strings.CutPrefix(strings.TrimSpace(params), "q="); has {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
			if primary == "ja" && q > 0 {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("ParseLang(%q) = ja, but no ja range is acceptable", s)
		}
	})
}

// FuzzServeRequest: whatever path, query and Accept-Language a signed-in
// browser sends (the filters are plain forms, so every view parses its
// query), the dashboard answers without a server error, and a page it
// serves is HTML in one of its two languages.
func FuzzServeRequest(f *testing.F) {
	for _, s := range [][3]string{
		{"/", "", "en"}, {"/tree", "state=keys&control=IAM.4&ou=Root%2FWorkloads&mode=strict", "ja"},
		{"/activity", "unapproved=1&account=1234", "ja-JP,ja;q=0.9"}, {"/account/111111111111", "", ""},
		{"/account/..%2f..%2fetc", "", ""}, {"/approvals", "state=%00", "*"}, {"/operations", "run=x%22%3E%3Cscript%3E", "en;q=0"},
		{"/tree", "control=&control=IAM.4&state=%E2%80%AE", "ja;q=NaN"}, {"/static/app.css", "", ""}, {"//x", "lang=ja", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	sb := newSandbox(f, exampleReport(f), 2)
	srv, err := New(Options{Token: testToken, Now: func() time.Time { return fixtureNow }, History: sb.Store, Journal: sb.Store,
		Findings: sb.Findings, FindingsFile: sb.FindFile, FindingsProblems: []string{"f.jsonl:2: invalid character 'o'"},
		Approvals: ApprovalsFile{Set: sb.Approvals}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path, query, lang string) {
		req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Path, req.URL.RawQuery = path, query
		req.Header.Set("Accept-Language", lang)
		req.AddCookie(&http.Cookie{Name: TokenCookie, Value: testToken})
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("GET %q ? %q (%q): %d\n%.500s", path, query, lang, rec.Code, rec.Body.String())
		}
		if rec.Code == http.StatusOK && strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			body := rec.Body.String()
			if !strings.Contains(body, `<html lang="en">`) && !strings.Contains(body, `<html lang="ja">`) {
				t.Fatalf("GET %q ? %q: a page in no language", path, query)
			}
		}
	})
}
