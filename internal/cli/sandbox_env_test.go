package cli

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSandboxEnvFile: the env file is there, whole, once the sandbox
// serves (no temporary file beside it), and is removed when it stops, so
// that a shell waiting for it never reads a stale or partial one.
func TestSandboxEnvFile(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "sim.env")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := make(chan map[string]string, 1)
	done := make(chan error, 1)
	cmd := newSandboxCmdReady(IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}},
		func() *slog.Logger { return slog.New(slog.DiscardHandler) }, func(env map[string]string) { ready <- env })
	cmd.SetArgs([]string{"--scenario", filepath.Join("..", "awssim", "testdata", "scenario.yaml"), "--env-file", envFile})
	go func() { done <- cmd.ExecuteContext(ctx) }()
	var env map[string]string
	select {
	case env = <-ready:
	case err := <-done:
		t.Fatalf("sandbox stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox did not start")
	}
	b, err := os.ReadFile(envFile)
	if err != nil || !strings.Contains(string(b), env["AWS_ENDPOINT_URL"]) || !strings.Contains(string(b), "ROOTGUARD_TRAIL") {
		t.Errorf("env file: %v\n%s", err, b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files beside the env file, want none", len(ents)-1)
	}
	cancel()
	<-done
	if _, err := os.Stat(envFile); !os.IsNotExist(err) {
		t.Errorf("env file left after the sandbox stopped: %v", err)
	}
}

// TestSandboxRunsOneCommand: sandbox -- CMD runs CMD with the sandbox's
// environment, stops with it, and exits with its code; arguments
// without -- are a usage error.
func TestSandboxRunsOneCommand(t *testing.T) {
	scenario := filepath.Join("..", "awssim", "testdata", "scenario.yaml")
	out, errOut, code := runMain(t, "sandbox", "--scenario", scenario, "--", "sh", "-c", `echo "endpoint=$AWS_ENDPOINT_URL"; exit 4`)
	if code != 4 || !strings.Contains(out, "endpoint=http://127.0.0.1:") || strings.Contains(out, "export ") {
		t.Errorf("exit %d, want 4 and the command's output only\n%s%s", code, out, errOut)
	}
	if _, errOut, code := runMain(t, "sandbox", "--scenario", scenario, "sh"); code != ExitUsage || !strings.Contains(errOut, "goes after --") {
		t.Errorf("without --: exit %d\n%s", code, errOut)
	}
}
