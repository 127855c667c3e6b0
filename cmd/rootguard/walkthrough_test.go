//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/sandbox"
	"github.com/rootguard/rootguard/internal/testenv"
)

// TestMain runs main instead of the tests when the walkthrough calls this
// test binary as rootguard.
func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
	}
	os.Exit(m.Run())
}

const asMainEnv = "ROOTGUARD_TEST_AS_MAIN"

// goShim is bash's go for the walkthrough: the page's build of rootguard
// (exactly `go build -o PATH ./cmd/rootguard`) links this test binary,
// which runs main (TestMain), to PATH instead of linking a second binary
// of the same packages; every other go command is go's.
const goShim = `go() {
  if [ "$#" = 4 ] && [ "$1" = build ] && [ "$2" = -o ] && [ "$4" = ./cmd/rootguard ]; then
    mkdir -p "$(dirname "$3")" && ln -sf "$ROOTGUARD_TEST_BINARY" "$3"
  else
    command go "$@"
  fi
}
`

// docCommand is one command of a shell block of a document: one line, or
// several joined by a trailing backslash.
type docCommand struct {
	line int // of the document, 1-based, where the command starts
	text string
	want int // the exit code its "# exit N" comment states (0 without one)
	// stated is whether the comment states it.
	stated bool
}

var exitComment = regexp.MustCompile(`#\s*exit (\d+)\b`)

// shellCommands returns the commands of the ```sh blocks of a Markdown
// document, in order.
func shellCommands(doc string) ([]docCommand, error) {
	var cmds []docCommand
	in := false
	var cur *docCommand
	sc := bufio.NewScanner(strings.NewReader(doc))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t")
		switch {
		case !in && line == "```sh":
			in = true
			continue
		case in && line == "```":
			if cur != nil {
				return nil, fmt.Errorf("line %d: the block ends inside a command continued with a backslash", n)
			}
			in = false
			continue
		case !in:
			continue
		}
		trimmed := strings.TrimSpace(line)
		if cur == nil && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur == nil {
			cur = &docCommand{line: n}
		} else {
			cur.text += "\n"
		}
		cur.text += line
		if strings.HasSuffix(line, `\`) {
			continue
		}
		if m := exitComment.FindStringSubmatch(line); m != nil {
			cur.want, _ = strconv.Atoi(m[1])
			cur.stated = true
		}
		cmds = append(cmds, *cur)
		cur = nil
	}
	if in {
		return nil, fmt.Errorf("an ```sh block is not closed")
	}
	return cmds, sc.Err()
}

// runsRootguard reports whether a command calls rootguard.
var runsRootguard = regexp.MustCompile(`(^|[\s;&|(])rootguard\s`)

// TestWalkthrough runs every shell block of docs/walkthrough.md, in order,
// as one bash script from the module root, and checks each command's exit
// code against the "# exit N" comment the page gives it (0 where there is
// none); every rootguard command must state its code. The page builds the
// binary (goShim: this test binary stands in for it), starts its
// sandboxes and stops them.
func TestWalkthrough(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		testenv.Missing(t, "bash is not on PATH")
	}
	if _, err := sandbox.FindDynalite("."); err != nil {
		testenv.Missing(t, "%v: run `npm ci --prefix tools`", err)
	}
	root := testenv.ModuleRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "walkthrough.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := shellCommands(string(doc))
	if err != nil {
		t.Fatalf("docs/walkthrough.md: %v", err)
	}
	if len(cmds) < 20 {
		t.Fatalf("docs/walkthrough.md: %d commands found, want the whole story", len(cmds))
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	script.WriteString(goShim)
	for i, c := range cmds {
		if runsRootguard.MatchString(c.text) && !c.stated {
			t.Errorf("docs/walkthrough.md:%d: a rootguard command without an \"# exit N\" comment:\n%s", c.line, c.text)
		}
		fmt.Fprintf(&script, "echo '@@@ %d' >&2\n%s\nprintf '%d %%d %%s\\n' \"$?\" \"$EPOCHREALTIME\" >&3\n", i, c.text, i)
	}
	if t.Failed() {
		return
	}

	tmp := t.TempDir()
	codes, err := os.Create(filepath.Join(tmp, "codes"))
	if err != nil {
		t.Fatal(err)
	}
	defer codes.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir = root
	cmd.Env = append(walkthroughEnv(tmp), asMainEnv+"=1", "ROOTGUARD_TEST_BINARY="+self)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.ExtraFiles = []*os.File{codes}
	// Its own process group, so that whatever the page left running (a
	// sandbox in the background) is killed with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	start := time.Now()
	runErr := cmd.Run()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	t.Logf("docs/walkthrough.md: %d commands in %s", len(cmds), time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil {
		t.Fatalf("the walkthrough did not finish within 3 minutes:\n%s", out.String())
	}

	got := map[int]int{}
	b, err := os.ReadFile(codes.Name())
	if err != nil {
		t.Fatal(err)
	}
	prev := float64(start.UnixMicro()) / 1e6
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var i, code int
		var at float64
		if _, err := fmt.Sscanf(l, "%d %d %f", &i, &code, &at); err == nil {
			got[i] = code
			if at-prev > 2 {
				t.Logf("docs/walkthrough.md:%d: %.1fs", cmds[i].line, at-prev)
			}
			prev = at
		}
	}
	outputs := splitOutput(out.String())
	for i, c := range cmds {
		code, ran := got[i]
		switch {
		case !ran:
			t.Errorf("docs/walkthrough.md:%d: did not run (bash: %v):\n%s\n%s", c.line, runErr, c.text, outputs[i])
		case code != c.want:
			t.Errorf("docs/walkthrough.md:%d: exit %d, the page says %d:\n%s\n%s", c.line, code, c.want, c.text, outputs[i])
		}
	}
}

// walkthroughEnv is the test's environment without AWS or rootguard
// configuration, so that only what the page sets applies, and with a
// temporary directory of its own for mktemp.
func walkthroughEnv(tmp string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "ROOTGUARD_") || k == "TOPIC_ARN" ||
			k == "CHATBOT_TOPIC_ARN" || k == "LANGUAGE" || k == "XDG_STATE_HOME" || k == "TMPDIR" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "TMPDIR="+tmp,
		"AWS_CONFIG_FILE="+filepath.Join(tmp, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(tmp, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true")
}

// splitOutput splits the script's output at the markers printed before
// each command.
func splitOutput(out string) map[int]string {
	parts := map[int]string{}
	cur := -1
	for _, l := range strings.SplitAfter(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "@@@ "); ok {
			if i, err := strconv.Atoi(strings.TrimSpace(rest)); err == nil {
				cur = i
				continue
			}
		}
		parts[cur] += l
	}
	return parts
}

// TestShellCommands: commands are found only in ```sh blocks, continued
// lines are joined, the exit comment is read from the last line, and an
// unclosed block or continuation is an error.
func TestShellCommands(t *testing.T) {
	doc := "text\n```sh\nA=1\n# a comment\n\nrootguard audit   # exit 1: why\nrootguard x \\\n  --y   # exit 3\n```\n```go\nnot run\n```\n"
	cmds, err := shellCommands(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []docCommand{
		{line: 3, text: "A=1"},
		{line: 6, text: "rootguard audit   # exit 1: why", want: 1, stated: true},
		{line: 7, text: "rootguard x \\\n  --y   # exit 3", want: 3, stated: true},
	}
	if fmt.Sprint(cmds) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", cmds, want)
	}
	for _, bad := range []string{"```sh\nrootguard audit\n", "```sh\nrootguard \\\n```\n"} {
		if _, err := shellCommands(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
