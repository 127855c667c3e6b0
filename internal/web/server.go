package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/mode"
)

// Approvals lists approvals; *alert.Table is one, and so is
// ApprovalsFile.
type Approvals interface {
	Approvals(ctx context.Context, account string) ([]alert.Approval, error)
}

// Options configure a Server. Every source is optional: a page whose
// source is missing says how to give it.
type Options struct {
	// Token is the access token; NewToken makes one. It must not be empty.
	Token string
	// Secure marks the token cookie Secure (the server speaks TLS).
	Secure bool
	// History is the audit history; Runs is how many audits of it the
	// trend shows (default 30).
	History History
	Runs    int
	// Org is the organization whose audits are shown; empty: the one
	// audited last when the history is first read (then kept). Audits of
	// other organizations are never shown, compared or trended; the page
	// names them.
	Org string
	// Journal is the operations journal.
	Journal Journal
	// Approvals is the approvals table or file.
	Approvals Approvals
	// Findings are scan results (scan -o json), from FindingsFile; their
	// problems are lines that could not be read.
	Findings         []detect.Finding
	FindingsFile     string
	FindingsProblems []string
	// Policy is rootguard.yaml resolved (nil: every account flexible).
	Policy *mode.Policy
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger logs failed requests (default: discard).
	Logger *slog.Logger
}

// Server serves the dashboard.
type Server struct {
	opts    Options
	tokenH  [32]byte
	history *historyCache
	mux     *http.ServeMux
}

// TokenCookie is the cookie that carries the access token after the
// first visit.
const TokenCookie = "rootguard-token"

const langCookie = "rootguard-lang"

// NewToken returns a random access token: 32 bytes, URL-safe base64.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("web: token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// New returns a Server.
func New(opts Options) (*Server, error) {
	if opts.Token == "" {
		return nil, errors.New("web: an access token is required")
	}
	if opts.Runs <= 0 {
		opts.Runs = 30
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, tokenH: sha256.Sum256([]byte(opts.Token)), history: newHistoryCache(opts.History, opts.Runs, opts.Org)}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, fmt.Errorf("web: assets: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.Handle("GET /{$}", s.page(s.overview))
	mux.Handle("GET /tree", s.page(s.tree))
	mux.Handle("GET /account/{id}", s.page(s.account))
	mux.Handle("GET /activity", s.page(s.activity))
	mux.Handle("GET /approvals", s.page(s.approvals))
	mux.Handle("GET /operations", s.page(s.operations))
	s.mux = mux
	return s, nil
}

// Warm reads the history once, so that the first page is quick.
func (s *Server) Warm(ctx context.Context) error {
	_, err := s.history.get(ctx)
	return err
}

// Organization says which organization the dashboard shows ("" while the
// history holds no audit) and which others the history holds.
func (s *Server) Organization(ctx context.Context) (shown string, others []string, err error) {
	snap, err := s.history.get(ctx)
	if err != nil {
		return "", nil, err
	}
	return snap.org, snap.others, nil
}

// ServeHTTP checks the token, then serves the page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "read-only: only GET", http.StatusMethodNotAllowed)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/static/") {
		s.mux.ServeHTTP(w, r) // the stylesheet and script are not secret
		return
	}
	q := r.URL.Query()
	if q.Has("token") {
		if !s.tokenOK(q.Get("token")) {
			s.unauthorized(w, r)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: q.Get("token"), Path: "/", HttpOnly: true,
			Secure: s.opts.Secure, SameSite: http.SameSiteStrictMode})
		q.Del("token")
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	if !s.authorized(r) {
		s.unauthorized(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) authorized(r *http.Request) bool {
	if c, err := r.Cookie(TokenCookie); err == nil && s.tokenOK(c.Value) {
		return true
	}
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && s.tokenOK(v) {
		return true
	}
	return false
}

// tokenOK compares in constant time; hashing first hides the length too.
func (s *Server) tokenOK(got string) bool {
	h := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(h[:], s.tokenH[:]) == 1
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request) {
	tr := Tr{Lang: ParseLang(r.Header.Get("Accept-Language"))}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintf(w, "<!DOCTYPE html><html lang=%q><meta charset=\"utf-8\"><title>401 rootguard</title><link rel=\"stylesheet\" href=\"/static/app.css\"><main class=\"unauth\"><h1>401</h1><p>%s</p></main></html>\n",
		tr.Lang, html.EscapeString(tr.T("unauthorized")))
}

// lang picks the page language: ?lang=, then the cookie a toggle set,
// then Accept-Language.
func (s *Server) lang(w http.ResponseWriter, r *http.Request) Lang {
	if v := r.URL.Query().Get("lang"); v == string(English) || v == string(Japanese) {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: v, Path: "/", HttpOnly: true,
			Secure: s.opts.Secure, SameSite: http.SameSiteStrictMode, MaxAge: 365 * 24 * 3600})
		return Lang(v)
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == string(English) || c.Value == string(Japanese)) {
		return Lang(c.Value)
	}
	return ParseLang(r.Header.Get("Accept-Language"))
}

// view builds one page's data.
type view func(ctx context.Context, r *http.Request, p *Page) error

// errNotFound makes a view answer 404.
var errNotFound = errors.New("not found")

func (s *Server) page(v view) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.opts.Now()
		p := &Page{L: Tr{Lang: s.lang(w, r)}, Path: r.URL.Path, Query: r.URL.Query(), Now: start}
		snap, err := s.history.get(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p.snap = snap
		p.fill()
		status := http.StatusOK
		if err := v(r.Context(), r, p); errors.Is(err, errNotFound) {
			status = http.StatusNotFound
		} else if err != nil {
			s.fail(w, r, err)
			return
		}
		var buf bytes.Buffer
		if err := pages().ExecuteTemplate(&buf, p.Template, p); err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Language", string(p.L.Lang))
		w.WriteHeader(status)
		_, _ = w.Write(buf.Bytes())
	})
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.opts.Logger.Error("page failed", "path", r.URL.Path, "err", err)
	http.Error(w, err.Error(), http.StatusInternalServerError)
}
