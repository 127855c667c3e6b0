package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// renewBefore is how long before a session ends the endpoint opens the
// next one: the SDKs ask again shortly before the expiration they were
// given.
const renewBefore = 5 * time.Minute

// renewer serves root-session credentials in the shape of the container
// credentials endpoint (AccessKeyId, SecretAccessKey, Token, Expiration),
// opening a new session when the current one is about to end. open
// refuses past the approval's window, and then the endpoint answers 503.
type renewer struct {
	mu    sync.Mutex
	open  func(context.Context) (aws.Credentials, error)
	creds aws.Credentials
	now   func() time.Time
	until time.Time // the approval's window ends
	token string
}

func newRenewer(first aws.Credentials, until time.Time, open func(context.Context) (aws.Credentials, error), now func() time.Time) *renewer {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return &renewer{open: open, creds: first, until: until, now: now, token: hex.EncodeToString(b)}
}

func (r *renewer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Header.Get("Authorization") != r.token {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// A new session when this one nears its end, unless it already ends
	// with the window.
	if r.now().After(r.creds.Expires.Add(-renewBefore)) && r.creds.Expires.Before(r.until.Add(-minSessionLeft)) {
		c, err := r.open(req.Context())
		switch {
		case err == nil:
			r.creds = c
		case r.now().Before(r.creds.Expires):
			// The current session still works: hand it out to its end.
		default:
			http.Error(w, "rootguard: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	if !r.now().Before(r.creds.Expires) {
		// Never hand out a session that has ended: the SDK would only
		// fail later, with a less clear error.
		http.Error(w, "rootguard: the root session ended with the approval's window at "+r.until.UTC().Format(time.RFC3339), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"AccessKeyId": r.creds.AccessKeyID, "SecretAccessKey": r.creds.SecretAccessKey, "Token": r.creds.SessionToken,
		"Expiration": r.creds.Expires.UTC().Format(time.RFC3339),
	})
}

// runWithRenewal runs a command whose AWS credentials come from the
// renewer, served on 127.0.0.1 while the command runs.
func runWithRenewal(ctx context.Context, io IO, args []string, r *renewer, account string) (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 1, fmt.Errorf("credentials endpoint: %w", err)
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = io.In, io.Out, io.Err
	cmd.Env = append(withoutCredentials(os.Environ()),
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://"+ln.Addr().String()+"/credentials",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN="+r.token, "ROOTGUARD_ROOT_SESSION_ACCOUNT="+account)
	return exitCode(args[0], cmd.Run())
}

// withoutCredentials drops the variables that would give a command other
// AWS credentials than the root session's.
func withoutCredentials(environ []string) []string {
	var env []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION",
			"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
			"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE":
			continue
		}
		env = append(env, kv)
	}
	return env
}

func exitCode(name string, err error) (int, error) {
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode(), nil
	}
	if err != nil {
		return 1, fmt.Errorf("run %s: %w", name, err)
	}
	return 0, nil
}
