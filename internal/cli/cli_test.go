package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"rootguard": func() {
			os.Exit(Main(context.Background(), os.Args[1:], StdIO()))
		},
		"rg": func() { os.Exit(rgMain()) },
	})
}

// TestScripts runs the command-line scripts in testdata/script: each
// asserts stdout, stderr and the exit code of real invocations.
func TestScripts(t *testing.T) {
	examples, err := filepath.Abs(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("EXAMPLES", examples)
			return nil
		},
	})
}

// rgMain is the script command "rg CODE ARGS...": it runs rootguard with
// ARGS and succeeds only if the exit code is CODE, so scripts assert exact
// exit codes. Output is passed through for stdout and stderr checks.
func rgMain() int {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: rg CODE ARGS...")
		return 2
	}
	want, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "rg: exit code:", err)
		return 2
	}
	if code := Main(context.Background(), os.Args[2:], StdIO()); code != want {
		fmt.Fprintf(os.Stderr, "rg: rootguard exited %d, want %d\n", code, want)
		return 1
	}
	return 0
}

func TestParseTimeFlag(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		end     bool
		want    string
		wantErr bool
	}{
		{"", false, "0001-01-01T00:00:00Z", false},
		{"2026-10-08T01:00:00+09:00", false, "2026-10-07T16:00:00Z", false},
		{"2026-10-08", false, "2026-10-08T00:00:00Z", false},
		{"2026-10-08", true, "2026-10-08T23:59:59.999999999Z", false},
		{"72h", false, "2026-11-26T12:00:00Z", false},
		{"30d", false, "2026-10-30T12:00:00Z", false},
		{"30d ago", false, "2026-10-30T12:00:00Z", false},
		{"yesterday", false, "", true},
		{"-5h", false, "", true},
		{"3xd", false, "", true},
	}
	for _, tt := range tests {
		got, err := parseTimeFlag(tt.in, now, tt.end)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseTimeFlag(%q): err = %v", tt.in, err)
			continue
		}
		if !tt.wantErr && got.Format(time.RFC3339Nano) != tt.want {
			t.Errorf("parseTimeFlag(%q) = %s, want %s", tt.in, got.Format(time.RFC3339Nano), tt.want)
		}
	}
}
