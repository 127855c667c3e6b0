package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The dashboard's benchmarks: 1,000 accounts with 30 audits in their
// history (largeReport, newSandbox). Run them with
//
//	go test ./internal/web/ -run '^$' -bench . -benchtime 10x
//
// and record the figures in bench/RESULTS.md. Goals (issue 14): under
// 300 ms server time to the first render of the overview and the tree,
// and under 500 KB a page (HTML, stylesheet and script).
//
// The baseline, measured in the same run, is reading the newest audit from
// the store: no page can be drawn faster than its data is read.

// benchFixture stores the history anew for each top-level benchmark (the
// store closes with it); the audit itself is made once.
func benchFixture(b *testing.B) *sandbox {
	b.Helper()
	return newSandbox(b, largeReport(b), 30)
}

func benchServer(b *testing.B, sb *sandbox) *Server {
	b.Helper()
	srv, err := New(Options{Token: testToken, History: sb.Store, Journal: sb.Store, Findings: sb.Findings,
		FindingsFile: sb.FindFile, Approvals: ApprovalsFile{Set: sb.Approvals}})
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

func render(b *testing.B, srv *Server, path string) int {
	req := httptest.NewRequestWithContext(b.Context(), http.MethodGet, path, nil)
	req.AddCookie(&http.Cookie{Name: TokenCookie, Value: testToken})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s: %d", path, rec.Code)
	}
	return rec.Body.Len()
}

func assetBytes(b *testing.B) int {
	n := 0
	for _, name := range []string{"static/app.css", "static/app.js"} {
		data, err := fs.ReadFile(assets, name)
		if err != nil {
			b.Fatal(err)
		}
		n += len(data)
	}
	return n
}

// BenchmarkBaselineLoadAudit reads the newest of the 30 audits.
func BenchmarkBaselineLoadAudit(b *testing.B) {
	sb := benchFixture(b)
	infos, err := sb.Store.Audits(b.Context(), 1)
	if err != nil || len(infos) == 0 {
		b.Fatal(infos, err)
	}
	for b.Loop() {
		if _, err := sb.Store.LoadAudit(b.Context(), infos[0].ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStartup is what `rootguard serve` does before it prints its URL:
// read the history (the newest audit and the 29 before it, 1,000 accounts
// each) into the server's digest of each run.
func BenchmarkStartup(b *testing.B) {
	sb := benchFixture(b)
	for b.Loop() {
		if err := benchServer(b, sb).Warm(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFirstRender is the first page a server just started draws (its
// history read, as serve reads it before printing the URL): the time a
// CCoE lead waits after opening the link.
func BenchmarkFirstRender(b *testing.B) {
	sb := benchFixture(b)
	for _, path := range []string{"/", "/tree"} {
		b.Run(name(path), func(b *testing.B) {
			var size int
			for b.Loop() {
				b.StopTimer()
				srv := benchServer(b, sb)
				if err := srv.Warm(b.Context()); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				size = render(b, srv, path)
			}
			b.ReportMetric(float64(size+assetBytes(b))/1024, "KB/page")
		})
	}
}

// BenchmarkRender is a page of a running server, drawn again and again.
func BenchmarkRender(b *testing.B) {
	sb := benchFixture(b)
	srv := benchServer(b, sb)
	if err := srv.Warm(b.Context()); err != nil {
		b.Fatal(err)
	}
	acct := sb.Findings[1].Account
	for _, path := range []string{"/", "/tree", "/tree?state=keys&control=IAM.4", "/account/" + acct, "/activity", "/approvals", "/operations"} {
		b.Run(name(path), func(b *testing.B) {
			var size int
			for b.Loop() {
				size = render(b, srv, path)
			}
			b.ReportMetric(float64(size+assetBytes(b))/1024, "KB/page")
		})
	}
}

func name(path string) string {
	switch path {
	case "/":
		return "overview"
	case "/tree":
		return "tree"
	}
	return path[1:]
}
