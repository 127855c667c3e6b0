package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// RIE is a function binary running under aws-lambda-rie, the Lambda
// Runtime Interface Emulator, on 127.0.0.1.
type RIE struct {
	// URL is the emulator's invoke endpoint
	// (POST /2015-03-31/functions/function/invocations).
	URL  string
	proc *process
}

// BuildRIE builds aws-lambda-rie (pinned by a tool directive in go.mod).
func BuildRIE(t testing.TB) string {
	t.Helper()
	return Build(t, "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie")
}

// StartRIE runs function under the emulator binary rie with env as the
// function's whole environment (plus PATH and a HOME of its own; no AWS
// configuration of the machine leaks in). The emulator starts the function
// at the first invoke, as Lambda does at a cold start.
func StartRIE(t testing.TB, rie, function string, env []string) *RIE {
	t.Helper()
	for attempt := 0; ; attempt++ {
		port, apiPort := FreePort(t), FreePort(t)
		cmd := exec.Command(rie, "--log-level", "error",
			"--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(port),
			"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(apiPort),
			function)
		cmd.Dir = t.TempDir()
		cmd.Env = append([]string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + cmd.Dir,
			"AWS_CONFIG_FILE=" + cmd.Dir + "/no-config", "AWS_SHARED_CREDENTIALS_FILE=" + cmd.Dir + "/no-credentials",
			"AWS_EC2_METADATA_DISABLED=true",
		}, env...)
		p, err := start(t, "aws-lambda-rie", cmd, port, 20*time.Second)
		if errors.Is(err, errExited) && attempt < 2 {
			continue
		}
		if err != nil {
			t.Fatalf("testenv: start aws-lambda-rie: %v", err)
		}
		return &RIE{URL: "http://127.0.0.1:" + strconv.Itoa(port) + "/2015-03-31/functions/function/invocations", proc: p}
	}
}

// Invocation is the emulator's answer to one invoke.
type Invocation struct {
	Status int
	Body   []byte
	// FunctionError is set when the handler returned an error (the
	// emulator answers with the error payload the runtime reported).
	FunctionError bool
}

// Invoke sends one event, as Lambda's Invoke API would, and waits for the
// answer.
func (r *RIE) Invoke(ctx context.Context, event []byte) (Invocation, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(event))
	if err != nil {
		return Invocation{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Invocation{}, fmt.Errorf("testenv: invoke: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	inv := Invocation{Status: resp.StatusCode, Body: b}
	inv.FunctionError = resp.Header.Get("X-Amz-Function-Error") != "" || bytes.Contains(b, []byte(`"errorType"`))
	return inv, err
}

// Logs returns what the emulator and the function printed so far: the
// function's own logs, and START, END and REPORT lines per invoke.
func (r *RIE) Logs() string { return r.proc.out.String() }
