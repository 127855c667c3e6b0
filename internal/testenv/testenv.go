// Package testenv starts the local servers that rootguard's tests talk to
// through the real AWS SDK clients, each on 127.0.0.1 and each stopped by
// the test that started it:
//
//   - DynamoDB: dynalite, a Node.js server installed by `npm ci --prefix
//     tools` (tools/package.json pins it). Without tools/node_modules the
//     test is skipped with the command to run, or fails when the
//     environment variable CI is set, so CI never passes by skipping.
//   - SNS and the SQS queues subscribed to its topics: goaws, served in
//     process (its command listens on every interface; its handler is
//     served here on loopback instead).
//   - Organizations, STS and IAM: internal/awssim.
//   - Lambda: aws-lambda-rie running a function binary built by [Build].
//
// Nothing here is used outside tests.
package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// Region is the region every local server and client uses.
const Region = "us-east-1"

// ModuleRoot returns the directory holding rootguard's go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Missing skips the test because a local prerequisite is absent, or fails
// it when the environment variable CI is set: in CI every prerequisite is
// installed by .ci/run, so its absence is a failure.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("testenv: %s (CI is set: .ci/run must install it)", msg)
	}
	t.Skipf("testenv: %s", msg)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// servers that must be told their port (dynalite, aws-lambda-rie).
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Build compiles a main package of this module (an import path such as
// "github.com/rootguard/rootguard/cmd/rootguard-lambda", or a tool named in
// go.mod) for the local platform into a temporary directory and returns
// the binary's path. Build flags such as -tags go before the package.
func Build(t testing.TB, args ...string) string {
	t.Helper()
	if len(args) == 0 {
		t.Fatal("testenv: Build needs a package")
	}
	pkg := args[len(args)-1]
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	cmdArgs := append([]string{"build", "-o", out}, args...)
	cmd := exec.Command("go", cmdArgs...)
	cmd.Dir = ModuleRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: go %v: %v\n%s", cmdArgs, err, b)
	}
	return out
}

// dial reports whether something accepts connections on 127.0.0.1:port.
func dial(port int) bool {
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// errExited is returned while waiting for a server that has stopped.
var errExited = errors.New("testenv: server exited before it listened")
