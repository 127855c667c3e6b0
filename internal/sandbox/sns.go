package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// SNSServerName is the program that serves SNS for the sandbox:
// cmd/rootguard-sns, goaws in a process of its own.
const SNSServerName = "rootguard-sns"

// ErrNoSNSServer is returned by [FindSNSServer] when rootguard-sns is
// neither installed nor buildable.
var ErrNoSNSServer = errors.New("sandbox: rootguard-sns is not installed")

// FindSNSServer returns the rootguard-sns to run: the one beside exe (the
// running rootguard, as installed with `go install ./cmd/...`), else the
// one on PATH, else the one `go tool -n rootguard-sns` builds in dir or
// above, a rootguard checkout, whose go.mod pins it as a tool.
func FindSNSServer(ctx context.Context, exe, dir string) (string, error) {
	if exe != "" {
		if p := filepath.Join(filepath.Dir(exe), SNSServerName); isExecutable(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath(SNSServerName); err == nil {
		return p, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("%w: not beside rootguard, not on PATH, and go is not on PATH to build it", ErrNoSNSServer)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "tool", "-n", SNSServerName)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("sandbox: go tool -n %s: %w", SNSServerName, ctx.Err())
		}
		return "", fmt.Errorf("%w: not beside rootguard, not on PATH, and `go tool -n %s` in %s: %v: %s",
			ErrNoSNSServer, SNSServerName, dir, err, strings.TrimSpace(errOut.String()))
	}
	p := strings.TrimSpace(out.String())
	if !isExecutable(p) {
		return "", fmt.Errorf("%w: `go tool -n %s` gave %q", ErrNoSNSServer, SNSServerName, p)
	}
	return p, nil
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// SNS is rootguard-sns serving SNS on 127.0.0.1, a child process.
type SNS struct {
	// URL is the endpoint (AWS_ENDPOINT_URL_SNS).
	URL string
	*child
}

// StartSNS runs rootguard-sns (bin, as [FindSNSServer] returns it) on a
// free port of 127.0.0.1, with topics in accountID and region, and waits
// until it serves. Like dynalite, it is in a process group of its own and,
// on Linux, killed if the sandbox dies without stopping it.
func StartSNS(ctx context.Context, bin, accountID, region string) (*SNS, error) {
	cmd := exec.Command(bin, "--account", accountID, "--region", region, "--listen", "127.0.0.1:0")
	first := &firstLine{line: make(chan string, 1)}
	c, err := startChild(cmd, first)
	if err != nil {
		return nil, fmt.Errorf("sandbox: start %s: %w", SNSServerName, err)
	}
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	select {
	case url := <-first.line:
		if !strings.HasPrefix(url, "http://127.0.0.1:") {
			c.stop()
			return nil, fmt.Errorf("sandbox: %s printed %q, want its URL", SNSServerName, url)
		}
		return &SNS{URL: url, child: c}, nil
	case <-c.exited:
		return nil, fmt.Errorf("sandbox: %s %w (%v): %s", SNSServerName, errExited, c.err, strings.TrimSpace(c.out.String()))
	case <-ctx.Done():
		c.stop()
		return nil, fmt.Errorf("sandbox: start %s: %w", SNSServerName, ctx.Err())
	case <-deadline.C:
		c.stop()
		return nil, fmt.Errorf("sandbox: %s did not serve within 30s: %s", SNSServerName, strings.TrimSpace(c.out.String()))
	}
}

// Close stops rootguard-sns and waits for it to exit.
func (s *SNS) Close(context.Context) error {
	s.stop()
	return nil
}

// firstLine is a child's stdout: it hands the first line over, once, and
// drops the rest.
type firstLine struct {
	mu   sync.Mutex
	buf  []byte
	done bool
	line chan string
}

func (f *firstLine) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return len(p), nil
	}
	f.buf = append(f.buf, p...)
	if i := bytes.IndexByte(f.buf, '\n'); i >= 0 {
		f.done = true
		f.line <- strings.TrimSpace(string(f.buf[:i]))
		f.buf = nil
	} else if len(f.buf) > 4096 {
		f.done = true
		f.line <- string(f.buf[:64]) + "..."
		f.buf = nil
	}
	return len(p), nil
}
