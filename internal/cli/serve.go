package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/escape"
	s3hist "github.com/rootguard/rootguard/internal/history"
	"github.com/rootguard/rootguard/internal/web"
)

type serveOptions struct {
	io        IO
	logger    func() *slog.Logger
	listen    string
	tokenFile string
	tlsCert   string
	tlsKey    string
	db        string
	history   string
	pathStyle bool
	findings  string
	table     string
	approvals string
	config    string
	configSet bool
	runs      int
	org       string
	// ready, if not nil, is called with the URL (token included) once
	// the server accepts connections; tests wait on it.
	ready func(url string)
}

func newServeCmd(io IO, logger func() *slog.Logger) *cobra.Command {
	return newServeCmdReady(io, logger, nil)
}

func newServeCmdReady(io IO, logger func() *slog.Logger, ready func(string)) *cobra.Command {
	o := &serveOptions{io: io, logger: logger, ready: ready}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a read-only web dashboard of the organization's root users",
		Long: `Serve starts a local web dashboard: posture now and its trend over the audit
history, the organization tree coloured by each account's worst control,
each account's root credentials and history, root activity from scan
results, approvals and the operations journal. It never changes AWS: it
reads the history database (or, with --history, the audits the scheduled
audit keeps in S3), the scan results file, the approvals (a
DynamoDB table through Scan/Query, or a file) and, when rootguard.yaml
names OU ids, the organization's OUs.

It shows one organization: the one audited last when it starts, or --org,
named on stderr and in the page with any other the history holds. Audits of
two organizations are never compared or trended, as in 'audit diff'.

It listens on 127.0.0.1 and prints a URL with a random access token, as
Jupyter does: opening it sets a cookie (HttpOnly, SameSite=Strict) and every
request without the token is refused (401). --listen on another address
needs --token-file (a token you keep) or --tls-cert and --tls-key.

English or Japanese follows the browser (Accept-Language) or the toggle in
the page header. It runs until interrupted.`,
		Example: `  rootguard serve
  rootguard serve --findings root-use.jsonl --approvals approvals.yaml
  rootguard serve --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem --token-file ~/.rootguard-token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.configSet = cmd.Flags().Changed("config")
			return runServe(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8787", "address to listen on (not loopback: needs --token-file or TLS)")
	f.StringVar(&o.tokenFile, "token-file", "", "read the access token from this file instead of making a random one")
	f.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this certificate (PEM)")
	f.StringVar(&o.tlsKey, "tls-key", "", "the certificate's private key (PEM)")
	f.StringVar(&o.db, "db", "", "history database (default: rootguard.db under the user's state directory)")
	f.StringVar(&o.history, "history", "", "read the audit history from s3://BUCKET/PREFIX, where the scheduled audit writes it, instead of --db")
	f.BoolVar(&o.pathStyle, "s3-path-style", false, "address S3 buckets by path (for S3-compatible servers)")
	f.StringVar(&o.findings, "findings", "", "scan results, JSON Lines from rootguard scan -o json")
	f.StringVar(&o.table, "table", os.Getenv("ROOTGUARD_TABLE"), "the pipeline's DynamoDB table of approvals (default $ROOTGUARD_TABLE)")
	f.StringVar(&o.approvals, "approvals", "", "approvals file (YAML, as scan --approvals reads) instead of the table")
	f.StringVar(&o.config, "config", "rootguard.yaml", "strict/flexible configuration, for the mode filter")
	f.IntVar(&o.runs, "runs", 30, "audits the trend shows")
	f.StringVar(&o.org, "org", "", "organization whose audits are shown (default: the one audited last; audits of two are never compared)")
	return cmd
}

// loopback reports whether a listen address binds to the local host only.
func loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	return parseToken(b, path)
}

// parseToken reads the token a --token-file holds: one line of at least
// 16 characters, with no space or control character in it (a token
// travels in a cookie and an Authorization header).
func parseToken(b []byte, path string) (string, error) {
	tok := strings.TrimSpace(string(b))
	if len(tok) < 16 || strings.IndexFunc(tok, func(r rune) bool { return !cookieOctet(r) }) >= 0 {
		// The token itself is never printed: it is a secret.
		return "", fmt.Errorf("--token-file %s: want one token of at least 16 characters on one line (printable ASCII without spaces, quotes, commas, semicolons or backslashes)", path)
	}
	return tok, nil
}

// cookieOctet reports whether r may stand in a cookie value as it is
// (RFC 6265, 4.1.1): the token is kept in a cookie, and net/http drops
// any other byte from it, so a token holding one would never match.
func cookieOctet(r rune) bool {
	return r == 0x21 || (r >= 0x23 && r <= 0x2b) || (r >= 0x2d && r <= 0x3a) || (r >= 0x3c && r <= 0x5b) || (r >= 0x5d && r <= 0x7e)
}

func runServe(ctx context.Context, o *serveOptions) error {
	tlsOn := o.tlsCert != "" || o.tlsKey != ""
	if tlsOn && (o.tlsCert == "" || o.tlsKey == "") {
		return usageError("--tls-cert and --tls-key go together")
	}
	if !loopback(o.listen) && o.tokenFile == "" && !tlsOn {
		return usageError("--listen %s is not a loopback address: give --token-file or --tls-cert/--tls-key", o.listen)
	}
	if o.table != "" && o.approvals != "" {
		return usageError("give --table or --approvals, not both")
	}
	log := o.logger()
	token, printToken := "", true
	if o.tokenFile != "" {
		var err error
		if token, err = readToken(o.tokenFile); err != nil {
			return usageError("%v", err)
		}
		printToken = false
	} else {
		var err error
		if token, err = web.NewToken(); err != nil {
			return &exitError{code: ExitError, err: err}
		}
	}
	opts := web.Options{Token: token, Secure: tlsOn, Runs: o.runs, Logger: log}

	st, err := openStore(ctx, o.db)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	defer st.Close()
	opts.History, opts.Journal = st, st
	if o.history != "" {
		loc, err := s3hist.ParseLocation(o.history)
		if err != nil {
			return usageError("--history: %v", err)
		}
		cfg, err := loadAWS(ctx)
		if err != nil {
			return err
		}
		opts.History = web.NewS3History(s3.NewFromConfig(cfg, func(so *s3.Options) {
			so.UsePathStyle = o.pathStyle
			so.DisableLogOutputChecksumValidationSkipped = true
		}), loc)
	}

	if o.org != "" {
		infos, err := opts.History.OrgAudits(ctx, o.org, 1)
		if err != nil {
			return &exitError{code: ExitError, err: err}
		}
		if len(infos) == 0 {
			orgs, err := opts.History.Orgs(ctx)
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			held := strings.Join(orgs, ", ")
			if held == "" {
				held = "no audit at all"
			}
			return usageError("--org %s: the history holds no audit of it (it holds %s)", o.org, held)
		}
		opts.Org = o.org
	}

	if o.findings != "" {
		f, err := os.Open(o.findings)
		if err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("--findings: %w", err)}
		}
		opts.Findings, opts.FindingsProblems, err = web.ReadFindings(f, o.findings)
		f.Close()
		if err != nil {
			return &exitError{code: ExitError, err: err}
		}
		opts.FindingsFile = o.findings
		for _, p := range opts.FindingsProblems {
			fmt.Fprintf(o.io.Err, "rootguard: %s\n", escape.Control(p))
		}
	}
	switch {
	case o.approvals != "":
		set, err := approval.Load(o.approvals)
		if err != nil {
			return usageError("%v", err)
		}
		opts.Approvals = web.ApprovalsFile{Set: set}
	case o.table != "":
		cfg, err := loadAWS(ctx)
		if err != nil {
			return err
		}
		opts.Approvals = alert.NewTable(dynamodb.NewFromConfig(cfg), o.table)
	}
	if _, err := os.Stat(o.config); err == nil || o.configSet {
		pol, err := loadPolicy(ctx, &modeOptions{io: o.io, config: o.config, configSet: o.configSet}, false)
		if err != nil {
			return err
		}
		opts.Policy = pol
	}

	srv, err := web.New(opts)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if err := srv.Warm(ctx); err != nil {
		return &exitError{code: ExitError, err: err}
	}
	org, others, err := srv.Organization(ctx)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("listen: %w", err)}
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	scheme := "http"
	if tlsOn {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			ln.Close()
			return usageError("TLS: %v", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
		scheme = "https"
	}
	host := ln.Addr().String()
	if h, port, err := net.SplitHostPort(host); err == nil && (h == "0.0.0.0" || h == "::") {
		host = net.JoinHostPort("localhost", port)
	}
	u := url.URL{Scheme: scheme, Host: host, Path: "/"}
	shown := u.String()
	if printToken {
		u.RawQuery = url.Values{"token": {token}}.Encode()
		shown = u.String()
	}
	source := st.Path()
	if o.history != "" {
		source = o.history
	}
	if org == "" {
		fmt.Fprintf(o.io.Err, "rootguard: %s holds no audit yet (run rootguard audit); the dashboard shows the first organization audited\n", source)
	} else {
		fmt.Fprintf(o.io.Err, "rootguard: organization %s%s\n", org, otherOrgs(append([]string{org}, others...), org))
	}
	fmt.Fprintf(o.io.Err, "rootguard: serving the dashboard of %s (read-only); open:\n", source)
	fmt.Fprintln(o.io.Out, shown)
	if !printToken {
		fmt.Fprintf(o.io.Err, "rootguard: add ?token=<the token in %s> to the URL once\n", o.tokenFile)
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if o.ready != nil {
		q := url.URL{Scheme: scheme, Host: ln.Addr().String(), Path: "/", RawQuery: url.Values{"token": {token}}.Encode()}
		o.ready(q.String())
	}
	select {
	case err := <-errc:
		return &exitError{code: ExitError, err: fmt.Errorf("serve: %w", err)}
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return &exitError{code: ExitError, err: fmt.Errorf("serve: shut down: %w", err)}
	}
	fmt.Fprintln(o.io.Err, "rootguard: stopped")
	return nil
}
