package report

import (
	"html/template"
	"io"
	"time"

	"github.com/rootguard/rootguard/internal/audit"
)

var htmlTemplate = template.Must(template.New("audit").Funcs(template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"row":    auditRow,
	"failed": func(a *audit.Account) []string { return failedControls(a.Controls) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rootguard audit — {{.Organization.ID}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI","Hiragino Sans","Noto Sans JP",sans-serif;margin:2rem;color:#1d232a}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5f7}
.pass{color:#116329}.fail{color:#a40e26;font-weight:600}.not-applicable,.unknown{color:#57606a}
.err{color:#a40e26}
</style>
</head>
<body>
<h1>rootguard audit of {{.Organization.ID}}</h1>
<p>Management account {{.Organization.ManagementAccountID}} · started {{time .StartedAt}} · finished {{time .FinishedAt}} ·
{{.Summary.Accounts}} accounts, {{.Summary.Audited}} audited, {{.Summary.Failed}} not audited, {{.Summary.RootCredentialsGone}} with no root credentials.</p>
<h2>Organization</h2>
<table><tr><th>Control</th><th>Outcome</th><th>Detail</th></tr>
{{range .OrgControls}}<tr><td>{{.ID}} {{.Title}}</td><td class="{{.Outcome}}">{{.Outcome}}</td><td>{{.Detail}}</td></tr>
{{end}}</table>
<h2>Controls across accounts</h2>
<table><tr><th>Control</th><th>Pass</th><th>Fail</th><th>Not applicable</th><th>Unknown</th></tr>
{{range $id, $t := .Summary.ByControl}}<tr><td>{{$id}}</td><td>{{$t.Pass}}</td><td class="{{if $t.Fail}}fail{{end}}">{{$t.Fail}}</td><td>{{$t.NotApplicable}}</td><td>{{$t.Unknown}}</td></tr>
{{end}}</table>
<h2>Accounts</h2>
<table><tr><th>Account</th><th>Name</th><th>OU</th><th>State</th><th>Password</th><th>MFA</th><th>Access keys</th><th>Certificates</th><th>Last used</th><th>Failed controls</th></tr>
{{range .Accounts}}{{$r := row .}}<tr><td>{{.ID}}{{if .Management}} (management){{end}}</td><td>{{.Name}}</td><td>{{.OUPath}}</td><td>{{.State}}</td>
<td>{{index $r 6}}</td><td>{{index $r 7}}</td><td>{{index $r 8}}</td><td>{{index $r 9}}</td><td>{{index $r 10}}</td>
<td>{{range failed .}}<span class="fail">{{.}}</span> {{end}}{{if .Error}}<span class="err">{{.Error}}</span>{{end}}</td></tr>
{{end}}</table>
<h2>Details of failed controls</h2>
<table><tr><th>Account</th><th>Control</th><th>Detail</th></tr>
{{range $a := .Accounts}}{{range .Controls}}{{if eq .Outcome "fail"}}<tr><td>{{$a.ID}} {{$a.Name}}</td><td>{{.ID}} {{.Title}}</td><td>{{.Detail}}</td></tr>
{{end}}{{end}}{{end}}</table>
</body>
</html>
`))

// HTML writes a self-contained HTML report of an audit.
func HTML(w io.Writer, rep *audit.Report) error {
	return htmlTemplate.Execute(w, rep)
}
