// Package web is rootguard's dashboard: the organization's root users on
// one page, served by `rootguard serve` and rendered into the
// self-contained report of `rootguard audit --export html`.
//
// It reads only: the audit history (a History such as *store.Store), the
// operations journal, approvals and scan findings. Pages are html/template
// documents whose assets are embedded, so the dashboard works offline and
// without JavaScript; the small script in static/ only filters in place.
// Charts are SVG drawn on the server (see chart.go for why).
//
// Access to a served dashboard needs a token (see Server): the pages show
// security data.
package web
