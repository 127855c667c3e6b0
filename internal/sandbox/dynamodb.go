package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DynaliteRel is where `npm ci --prefix tools` installs dynalite, relative
// to the repository's root.
var DynaliteRel = filepath.Join("tools", "node_modules", ".bin", "dynalite")

// ErrNoDynalite is returned by [FindDynalite] when dynalite or Node.js is
// not installed.
var ErrNoDynalite = errors.New("sandbox: dynalite is not installed")

// FindDynalite returns dynalite's path: tools/node_modules/.bin/dynalite in
// dir or the nearest parent that has it. It also checks that node is on
// PATH (dynalite is a Node.js program).
func FindDynalite(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, DynaliteRel)
		if _, err := os.Stat(p); err == nil {
			if _, err := exec.LookPath("node"); err != nil {
				return "", fmt.Errorf("%w: node is not on PATH (dynalite needs Node.js)", ErrNoDynalite)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no %s in the working directory or above", ErrNoDynalite, DynaliteRel)
		}
		dir = parent
	}
}

// DynamoDB is dynalite serving DynamoDB on 127.0.0.1 in memory, a child
// process.
type DynamoDB struct {
	// URL is the endpoint (AWS_ENDPOINT_URL_DYNAMODB).
	URL string
	*child
}

// StartDynamoDB runs dynalite (bin, as [FindDynalite] returns it) on a
// free port of 127.0.0.1 and waits until it accepts connections. The
// process is in a process group of its own, so a Ctrl-C at the terminal
// reaches the sandbox, which stops it with [DynamoDB.Close]; on Linux it
// is also killed if the sandbox dies without stopping it.
func StartDynamoDB(ctx context.Context, bin string) (*DynamoDB, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		d, err := startDynalite(ctx, bin, port)
		if err == nil {
			return d, nil
		}
		lastErr = err
		if !errors.Is(err, errExited) {
			break
		}
		// The port was taken between freePort and dynalite's listen.
	}
	return nil, lastErr
}

var errExited = errors.New("exited before it listened")

func startDynalite(ctx context.Context, bin string, port int) (*DynamoDB, error) {
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	c, err := startChild(cmd, nil)
	if err != nil {
		return nil, fmt.Errorf("sandbox: start dynalite: %w", err)
	}
	d := &DynamoDB{URL: "http://127.0.0.1:" + strconv.Itoa(port), child: c}
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for !listening(port) {
		select {
		case <-c.exited:
			return nil, fmt.Errorf("sandbox: dynalite %w (%v): %s", errExited, c.err, strings.TrimSpace(c.out.String()))
		case <-ctx.Done():
			d.Close()
			return nil, fmt.Errorf("sandbox: start dynalite: %w", ctx.Err())
		case <-deadline.C:
			d.Close()
			return nil, fmt.Errorf("sandbox: dynalite did not listen on 127.0.0.1:%d within 30s: %s", port, strings.TrimSpace(c.out.String()))
		case <-time.After(20 * time.Millisecond):
		}
	}
	return d, nil
}

// Close stops dynalite and waits for it to exit.
func (d *DynamoDB) Close() { d.stop() }

// child is a server the sandbox runs as a child process.
type child struct {
	cmd    *exec.Cmd
	out    *lockedBuffer // its stderr, and its stdout unless taken
	exited chan struct{}
	err    error // set before exited is closed
}

// startChild starts cmd with its output collected for error messages;
// stdout, if not nil, takes the standard output instead.
func startChild(cmd *exec.Cmd, stdout io.Writer) (*child, error) {
	c := &child{cmd: cmd, out: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	if stdout != nil {
		cmd.Stdout = stdout
	}
	orphanGuard(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// stop kills the child and waits for it to exit.
func (c *child) stop() {
	kill(c.cmd)
	<-c.exited
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("sandbox: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func listening(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// lockedBuffer collects a child's output for an error message.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 {
		return len(p), nil // enough to explain a failure
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
