package web

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"sync"

	"github.com/rootguard/rootguard/internal/audit"
)

//go:embed templates/*.html static/*
var assets embed.FS

// pages holds every page's template, parsed from the embedded files once,
// on first use: parsing them at package load cost every rootguard command,
// `rootguard scan` included, some 4 ms (GODEBUG=inittrace=1). A parse error
// is a build mistake, which TestTemplatesParse finds.
var pages = sync.OnceValue(func() *template.Template { return template.Must(parsePages()) })

// parsePages parses every page's template from the embedded files.
func parsePages() (*template.Template, error) {
	return template.New("").Funcs(funcs).ParseFS(assets, "templates/*.html")
}

// WriteReport writes the self-contained HTML report of one audit that
// `audit --export html` saves: the dashboard's look, its stylesheet
// inline, no script and no link to a server.
func WriteReport(w io.Writer, rep *audit.Report, lang Lang) error {
	css, err := assets.ReadFile("static/app.css")
	if err != nil {
		return fmt.Errorf("web: report: %w", err)
	}
	p := &Page{L: Tr{Lang: lang}, Template: "report", Export: true, CSS: template.CSS(css), Report: rep,
		HasAudit: true, Org: rep.Organization, Overview: postureOf(rep, Tr{Lang: lang})}
	p.Title = p.L.F("report.title", rep.Organization.ID)
	if err := pages().ExecuteTemplate(w, "report", p); err != nil {
		return fmt.Errorf("web: report: %w", err)
	}
	return nil
}
