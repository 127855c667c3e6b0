package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
