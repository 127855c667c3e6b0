package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/awssim"
)

// TestUnknownCommandIsUsage: a typo is exit 2 with a suggestion, never help
// and exit 0 (a cron job would read it as success).
func TestUnknownCommandIsUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"org", "stauts"}, "did you mean 'rootguard org status'?"},
		{[]string{"stauts"}, "did you mean 'rootguard org status'?"},
		{[]string{"deploy", "plna"}, "did you mean 'rootguard deploy plan'?"},
		{[]string{"audit", "histroy"}, "did you mean 'rootguard audit history'?"},
		{[]string{"root", "delete-credentials", "aply"}, `unexpected argument "aply"`},
		{[]string{"audit", "diff", "extra"}, `"extra"`},
		{[]string{"frobnicate"}, "'rootguard --help' lists its commands"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, "_"), func(t *testing.T) {
			out, errOut, code := runMain(t, tt.args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want 2\n%s", code, errOut)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, errOut)
			}
		})
	}
	// A bare group still shows its help.
	if out, _, code := runMain(t, "org"); code != ExitOK || !strings.Contains(out, "Available Commands") {
		t.Errorf("rootguard org: exit %d\n%s", code, out)
	}
}

// TestNoCredentials: one line saying how to provide credentials, not the
// last credential provider's error.
func TestNoCredentials(t *testing.T) {
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:1", "XDG_STATE_HOME": t.TempDir(),
	} {
		t.Setenv(k, v)
	}
	for _, args := range [][]string{{"audit"}, {"org", "status"}, {"root", "delete-credentials", "plan", "--all"}} {
		_, errOut, code := runMain(t, args...)
		if code != ExitError {
			t.Errorf("%v: exit %d, want 1", args, code)
		}
		if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "no AWS credentials found: set AWS_PROFILE") || strings.Contains(errOut, "IMDS") {
			t.Errorf("%v: want one line saying how to give credentials, got:\n%s", args, errOut)
		}
	}
}

// startSimWith serves sc through handler wrap (nil: as is) with the
// client environment set, like startSim.
func startSimWith(t *testing.T, sc *awssim.Scenario, wrap func(http.Handler) http.Handler) *awssim.Server {
	t.Helper()
	srv := awssim.New(sc, awssim.Options{ReportDelay: 10 * time.Millisecond})
	var h http.Handler = srv
	if wrap != nil {
		h = wrap(srv)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": hs.URL, "AWS_ACCESS_KEY_ID": akid, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"), "XDG_STATE_HOME": t.TempDir(),
	} {
		t.Setenv(k, v)
	}
	return srv
}

// TestExportPathCheckedFirst: a bad --export path is a usage error before
// any AWS call, and nothing is recorded.
func TestExportPathCheckedFirst(t *testing.T) {
	srv := startSimWith(t, awssim.GenerateScenario(4, 1), nil)
	db := filepath.Join(t.TempDir(), "h.db")
	_, errOut, code := runMain(t, "audit", "--db", db, "--export", "html="+filepath.Join(t.TempDir(), "missing", "a.html"))
	if code != ExitUsage || !strings.Contains(errOut, "--export html=") {
		t.Errorf("exit %d, want 2 naming the export\n%s", code, errOut)
	}
	if n := len(srv.Counts()); n != 0 {
		t.Errorf("%d operations called before the export path was checked: %v", n, srv.Counts())
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("history database written")
	}
	// A good path gets the whole file, and no temporary file is left.
	dir := t.TempDir()
	html := filepath.Join(dir, "a.html")
	if _, errOut, code := runMain(t, "audit", "--db", db, "--export", "html="+html); code == ExitUsage || code == ExitInterrupted {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "a.html" {
		t.Errorf("export dir holds %v, want only a.html", ents)
	}
}

// TestOneErrorPerAccount: an account that cannot be read is reported once
// on stderr (the summary), not once per layer.
func TestOneErrorPerAccount(t *testing.T) {
	sc := awssim.GenerateScenario(8, 1) // one account behind a blocking SCP
	startSimWith(t, sc, nil)
	db := filepath.Join(t.TempDir(), "h.db")
	for _, args := range [][]string{
		{"audit", "--db", db},
		{"root", "delete-credentials", "plan", "--all", "--db", db},
	} {
		_, errOut, code := runMain(t, args...)
		if code != ExitError {
			t.Fatalf("%v: exit %d, want 1 (an account cannot be read)\n%s", args, code, errOut)
		}
		if n := strings.Count(errOut, "is not authorized to perform"); n != 1 {
			t.Errorf("%v: the account's error is on stderr %d times, want once:\n%s", args, n, errOut)
		}
	}
}

// TestInterruptedPlanNotWritten: Ctrl-C while planning ends with one line
// and exit 130, and no plan file is left to apply.
func TestInterruptedPlanNotWritten(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var once sync.Once
	startSimWith(t, awssim.GenerateScenario(40, 1), func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Interrupt once the first member account is being read.
			if r.Header.Get("X-Amz-Target") == "" && strings.Contains(r.Header.Get("Authorization"), "/iam/") {
				once.Do(cancel)
			}
			h.ServeHTTP(w, r)
		})
	})
	plan := filepath.Join(t.TempDir(), "plan.json")
	var out, errb bytes.Buffer
	code := Main(ctx, []string{"root", "delete-credentials", "plan", "--all", "--out", plan}, IO{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != ExitInterrupted {
		t.Errorf("exit %d, want 130\n%s", code, errb.String())
	}
	if errb.String() != "rootguard: interrupted\n" || out.Len() != 0 {
		t.Errorf("want one line on stderr and nothing on stdout, got:\n%s\n--\n%s", errb.String(), out.String())
	}
	if _, err := os.Stat(plan); err == nil {
		t.Errorf("interrupted plan written to %s", plan)
	}
}
