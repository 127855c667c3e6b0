package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/audit"
	s3hist "github.com/rootguard/rootguard/internal/history"
	"github.com/rootguard/rootguard/internal/testenv"
)

func TestServeUsage(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "0.0.0.0:0"}, "not a loopback address"},
		{[]string{"--listen", ":0"}, "not a loopback address"},
		{[]string{"--listen", "192.0.2.1:0"}, "not a loopback address"},
		{[]string{"--tls-cert", "c.pem"}, "go together"},
		{[]string{"--token-file", short}, "at least 16 characters"},
		{[]string{"--token-file", filepath.Join(dir, "none")}, "--token-file"},
		{[]string{"--table", "t", "--approvals", "a.yaml"}, "not both"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv("XDG_STATE_HOME", t.TempDir())
			_, errOut, code := runMain(t, append([]string{"serve", "--db", filepath.Join(t.TempDir(), "h.db")}, tc.args...)...)
			if code != ExitUsage || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.want)
			}
		})
	}
}

// TestServe runs the command: it prints a URL with the token, the URL
// opens the dashboard, and without the token the server answers 401.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // no rootguard.yaml here
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var out, errb bytes.Buffer
	cmd := newServeCmdReady(IO{In: strings.NewReader(""), Out: &out, Err: &errb},
		func() *slog.Logger { return slog.New(slog.DiscardHandler) }, func(u string) { ready <- u })
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--db", filepath.Join(dir, "h.db")})
	go func() { done <- cmd.ExecuteContext(ctx) }()
	var u string
	select {
	case u = <-ready:
	case err := <-done:
		t.Fatalf("serve stopped: %v\n%s", err, errb.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	if printed := strings.TrimSpace(out.String()); printed != u {
		t.Errorf("printed %q, want the URL %q", printed, u)
	}
	parsed, err := url.Parse(u)
	if err != nil || len(parsed.Query().Get("token")) < 40 || parsed.Hostname() != "127.0.0.1" {
		t.Fatalf("URL %q", u)
	}
	bare := *parsed
	bare.RawQuery = ""
	resp, err := http.Get(bare.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d", resp.StatusCode)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar}
	resp, err = client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "rootguard audit") {
		t.Errorf("with the token: %d\n%s", resp.StatusCode, body)
	}
	if resp.Request.URL.RawQuery != "" {
		t.Errorf("the token stayed in the URL: %s", resp.Request.URL)
	}
}

// startServe runs serve with args until the test ends and returns its URL
// (token included).
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	u, _ := startServeStderr(t, args...)
	return u
}

// lockedBuffer is a bytes.Buffer that a running command writes while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServeStderr is startServe that also returns what serve wrote on
// stderr so far.
func startServeStderr(t *testing.T, args ...string) (string, func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var out bytes.Buffer
	var errb lockedBuffer
	cmd := newServeCmdReady(IO{In: strings.NewReader(""), Out: &out, Err: &errb},
		func() *slog.Logger { return slog.New(slog.DiscardHandler) }, func(u string) { ready <- u })
	cmd.SetArgs(append([]string{"--listen", "127.0.0.1:0"}, args...))
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, errb.String())
		}
	})
	select {
	case u := <-ready:
		return u, errb.String
	case err := <-done:
		done <- err
		t.Fatalf("serve stopped: %v\n%s", err, errb.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	return "", nil
}

// TestServeShowsOneOrganization: with a history of two organizations,
// serve shows the one audited last, or --org's, and says which on stderr
// and in the page, naming the other; --org of an organization the history
// does not hold is a usage error.
func TestServeShowsOneOrganization(t *testing.T) {
	t.Chdir(t.TempDir()) // no rootguard.yaml here
	db := twoOrgHistory(t)
	for _, tt := range []struct {
		name, shown, other string
		args               []string
	}{
		{"the one audited last", "o-otherorg0001", "o-exampleorg1", nil},
		{"--org", "o-exampleorg1", "o-otherorg0001", []string{"--org", "o-exampleorg1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u, stderr := startServeStderr(t, append([]string{"--db", db}, tt.args...)...)
			if want := "rootguard: organization " + tt.shown + " (the history also holds " + tt.other + ": --org chooses)\n"; !strings.Contains(stderr(), want) {
				t.Errorf("stderr does not say %q:\n%s", want, stderr())
			}
			jar, err := cookiejar.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := (&http.Client{Jar: jar}).Get(u)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			page := string(body)
			if !strings.Contains(page, `<span class="org">`+tt.shown+`</span>`) || !strings.Contains(page, "Showing organization "+tt.shown+" only") ||
				!strings.Contains(page, tt.other) {
				t.Errorf("the page does not name %s (shown) and %s:\n%.3000s", tt.shown, tt.other, page)
			}
		})
	}
	_, errOut, code := runMain(t, "serve", "--listen", "127.0.0.1:0", "--db", db, "--org", "o-nosuchorg01")
	if code != ExitUsage || !strings.Contains(errOut, "--org o-nosuchorg01: the history holds no audit of it (it holds o-otherorg0001, o-exampleorg1)") {
		t.Errorf("--org unknown: exit %d\n%s", code, errOut)
	}
}

// TestServeReadsTheApprovalsTableOnly: with --table, serve shows the
// pipeline's approvals from DynamoDB (dynalite, through the SDK's standard
// configuration) and sends it nothing but reads, however many views are
// opened.
func TestServeReadsTheApprovalsTableOnly(t *testing.T) {
	db := testenv.StartDynamoDB(t)
	if err := alert.CreateTable(t.Context(), db.Client, "rootguard"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var calls []string
	target, err := url.Parse(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810."))
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	defer rec.Close()
	useLocalAWS(t, map[string]string{"DYNAMODB": rec.URL})

	now := time.Now().UTC().Truncate(time.Second)
	grant := approval.Approval{ID: "CHG-7001", Account: "333333333333", From: now.Add(-time.Hour), Until: now.Add(2 * time.Hour),
		Requester: "sato", Approver: "ccoe-lead", Reason: "unlock the bucket policy"}
	if _, err := alert.NewTable(db.Client, "rootguard").Grant(t.Context(), grant, "arn:aws:iam::111111111111:user/admin", now); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	calls = nil // the grant's write is the test's, not serve's
	mu.Unlock()

	dir := t.TempDir()
	t.Chdir(dir)
	u := startServe(t, "--table", "rootguard", "--db", filepath.Join(dir, "h.db"))
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar}
	get := func(path string) string {
		t.Helper()
		resp, err := client.Get(path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d\n%s", path, resp.StatusCode, body)
		}
		return string(body)
	}
	get(u)
	base := strings.TrimSuffix(u[:strings.Index(u, "?")], "/")
	page := get(base + "/approvals")
	if !strings.Contains(page, "CHG-7001") || !strings.Contains(page, "unlock the bucket policy") {
		t.Errorf("the approvals page does not show the table's approval:\n%s", page)
	}
	for _, p := range []string{"/", "/tree", "/activity", "/operations", "/account/333333333333"} {
		get(base + p)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(calls) == 0 {
		t.Fatal("serve never read the table")
	}
	reads := map[string]bool{"Scan": true, "Query": true, "GetItem": true, "BatchGetItem": true, "DescribeTable": true}
	for _, c := range calls {
		if !reads[c] {
			t.Errorf("serve called DynamoDB %s: it must only read (calls: %v)", c, calls)
		}
	}
}

// TestServeS3History: --history reads the audits the scheduled audit keeps
// in S3 (gofakes3, through the SDK's standard configuration).
func TestServeS3History(t *testing.T) {
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer srv.Close()
	useLocalAWS(t, map[string]string{"S3": srv.URL})
	c := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	if _, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("rootguard-history")}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	rep := &audit.Report{StartedAt: at, FinishedAt: at.Add(time.Minute), Organization: audit.OrgInfo{ID: "o-s3history1"},
		Accounts: []*audit.Account{{ID: "333333333333", Name: "sandbox-1", State: "ACTIVE", Method: audit.MethodAssumeRoot}}}
	loc := s3hist.Location{Bucket: "rootguard-history", Prefix: "audits"}
	if _, err := s3hist.Put(t.Context(), c, loc, rep); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	u := startServe(t, "--history", "s3://rootguard-history/audits", "--s3-path-style", "--db", filepath.Join(dir, "h.db"))
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Jar: jar}).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "o-s3history1") || !strings.Contains(string(body), "2026-11-30 08:00 UTC") {
		t.Errorf("overview from the S3 history: %d\n%s", resp.StatusCode, body)
	}
	if _, errOut, code := runMain(t, "serve", "--history", "bucket/prefix"); code != ExitUsage || !strings.Contains(errOut, "--history") {
		t.Errorf("--history without s3://: exit %d\n%s", code, errOut)
	}
}
