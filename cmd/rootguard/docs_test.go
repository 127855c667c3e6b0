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
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/sandbox"
	"github.com/rootguard/rootguard/internal/testenv"
)

// TestMain runs main instead of the tests when a page TestDocs runs
// calls this test binary as rootguard.
func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
	}
	os.Exit(m.Run())
}

const asMainEnv = "ROOTGUARD_TEST_AS_MAIN"

// goShim is bash's go for the pages: a page's build of rootguard
// (exactly `go build -o PATH ./cmd/rootguard`) links this test binary,
// which runs main (TestMain), to PATH instead of linking a second binary
// of the same packages, and `go run ./cmd/rootguard ARGS` runs it as go
// run would (a failure is "exit status N" on stderr and exit 1); every
// other go command is go's.
const goShim = `go() {
  if [ "$#" = 4 ] && [ "$1" = build ] && [ "$2" = -o ] && [ "$4" = ./cmd/rootguard ]; then
    mkdir -p "$(dirname "$3")" && ln -sf "$ROOTGUARD_TEST_BINARY" "$3"
  elif [ "$#" -ge 2 ] && [ "$1" = run ] && [ "$2" = ./cmd/rootguard ]; then
    shift 2
    "$ROOTGUARD_TEST_BINARY" "$@"
    set -- "$?"
    [ "$1" = 0 ] || { echo "exit status $1" >&2; return 1; }
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
// document, in order. A ```bash, ```shell or ```zsh block is an error: it
// would look runnable and not be run.
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
		case !in && (line == "```bash" || line == "```shell" || line == "```zsh"):
			return nil, fmt.Errorf("line %d: %s: ```sh for commands the test runs, ```console or ```text for a transcript", n, line)
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

// runsRootguard reports whether a command calls rootguard: the binary
// (by its name, as PATH finds it) or `go run ./cmd/rootguard`.
var runsRootguard = regexp.MustCompile(`(^|[\s;&|(])(go run \./cmd/)?rootguard\s`)

// docTest is a document whose shell blocks TestDocs runs.
type docTest struct {
	name, path string
	// min is the fewest commands the document has: fewer means it was
	// misread, not that it is short.
	min int
	// dynalite: the document needs dynalite (npm ci --prefix tools).
	dynalite bool
	// installed: the document calls rootguard as installed, on PATH,
	// without building it; the test puts itself there as rootguard.
	installed bool
	// skip names the commands not run, each shown as such to the reader.
	skip []skipRule
}

// skipRule is a kind of command a test must not run, and why.
type skipRule struct {
	match *regexp.Regexp // the command's text, with its comment
	why   string
}

var docTests = []docTest{
	{name: "walkthrough", path: "docs/walkthrough.md", min: 20, dynalite: true},
	{name: "README", path: "README.md", min: 10, skip: readmeSkips},
	// The reference's blocks run against a generated sandbox; its
	// transcripts are ```console, not run.
	{name: "cli", path: "docs/cli.md", min: 6, installed: true},
}

// readmeSkips: the README shows the test command, and commands that need
// an AWS account, marked so.
var readmeSkips = []skipRule{
	{regexp.MustCompile(`^go test `), "the tests, this one among them"},
	{regexp.MustCompile(`#\s*needs AWS\b`), "needs an AWS account"},
}

// commandsToRun returns the commands of a document a test runs: all but
// those a skip rule matches. It is an error for a rootguard command that
// runs to have no "# exit N" comment, and for a rule to match nothing.
func commandsToRun(cmds []docCommand, skip []skipRule) ([]docCommand, []error) {
	var run []docCommand
	var errs []error
	used := make([]bool, len(skip))
next:
	for _, c := range cmds {
		for i, r := range skip {
			if r.match.MatchString(c.text) {
				used[i] = true
				continue next
			}
		}
		if runsRootguard.MatchString(c.text) && !c.stated {
			errs = append(errs, fmt.Errorf("line %d: a rootguard command without an \"# exit N\" comment:\n%s", c.line, c.text))
		}
		run = append(run, c)
	}
	for i, r := range skip {
		if !used[i] {
			errs = append(errs, fmt.Errorf("no command is skipped as %q (%s): drop the rule", r.match, r.why))
		}
	}
	return run, errs
}

// TestDocs runs every shell block of each document of docTests, in order,
// as one bash script from the module root (all but the commands its skip
// rules name), and checks each command's exit code against the "# exit N"
// comment the page gives it (0 where there is none); every rootguard
// command must state its code. A page builds the binary (goShim: this test
// binary stands in for it) or, installed, finds it on PATH (this test
// binary again), starts its sandboxes and stops them: one still running
// when the page ends fails the test.
func TestDocs(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		testenv.Missing(t, "bash is not on PATH")
	}
	root := testenv.ModuleRoot(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, dt := range docTests {
		t.Run(dt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := sandbox.FindDynalite(root); dt.dynalite && err != nil {
				testenv.Missing(t, "%v: run `npm ci --prefix tools`", err)
			}
			runDoc(t, root, self, dt)
		})
	}
}

func runDoc(t *testing.T, root, self string, dt docTest) {
	doc, err := os.ReadFile(filepath.Join(root, dt.path))
	if err != nil {
		t.Fatal(err)
	}
	all, err := shellCommands(string(doc))
	if err != nil {
		t.Fatalf("%s: %v", dt.path, err)
	}
	if len(all) < dt.min {
		t.Fatalf("%s: %d commands found, want at least %d", dt.path, len(all), dt.min)
	}
	cmds, errs := commandsToRun(all, dt.skip)
	for _, err := range errs {
		t.Errorf("%s: %v", dt.path, err)
	}
	if t.Failed() {
		return
	}
	var script strings.Builder
	script.WriteString(goShim)
	for i, c := range cmds {
		fmt.Fprintf(&script, "echo '@@@ %d' >&2\n%s\nprintf '%d %%d %%s\\n' \"$?\" \"$EPOCHREALTIME\" >&3\n", i, c.text, i)
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
	cmd.Env = append(docEnv(tmp), asMainEnv+"=1", "ROOTGUARD_TEST_BINARY="+self)
	if dt.installed {
		bin := filepath.Join(tmp, "bin")
		if err := os.Mkdir(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(self, filepath.Join(bin, "rootguard")); err != nil {
			t.Fatal(err)
		}
		cmd.Env = append(cmd.Env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.ExtraFiles = []*os.File{codes}
	// Its own process group, so that whatever the page left running (a
	// sandbox in the background) is found and killed with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// Something left running keeps the output open: wait a little for it
	// to stop, then report it.
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	if syscall.Kill(-cmd.Process.Pid, 0) == nil {
		t.Errorf("%s: something it started still runs after its last command: the page must stop what it starts", dt.path)
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if ents, _ := os.ReadDir(filepath.Join(tmp, "reader-state")); len(ents) > 0 {
		t.Errorf("%s: it wrote into the reader's own state directory (XDG_STATE_HOME: the audit history): give it one of its own", dt.path)
	}
	t.Logf("%s: %d commands in %s (%d not run)", dt.path, len(cmds), time.Since(start).Round(time.Millisecond), len(all)-len(cmds))
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within 3 minutes:\n%s", dt.path, out.String())
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
				t.Logf("%s:%d: %.1fs", dt.path, cmds[i].line, at-prev)
			}
			prev = at
		}
	}
	outputs := splitOutput(out.String())
	for i, c := range cmds {
		code, ran := got[i]
		switch {
		case !ran:
			t.Errorf("%s:%d: did not run (bash: %v):\n%s\n%s", dt.path, c.line, runErr, c.text, outputs[i])
		case code != c.want:
			t.Errorf("%s:%d: exit %d, the page says %d:\n%s\n%s", dt.path, c.line, code, c.want, c.text, outputs[i])
		}
	}
}

// docEnv is the test's environment without AWS or rootguard
// configuration, so that only what the page sets applies, with a
// temporary directory of its own for mktemp, and the reader's state
// directory (the audit history) in tmp/reader-state, which a page must
// leave alone.
func docEnv(tmp string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "ROOTGUARD_") || k == "TOPIC_ARN" ||
			k == "CHATBOT_TOPIC_ARN" || k == "LANGUAGE" || k == "XDG_STATE_HOME" || k == "TMPDIR" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "TMPDIR="+tmp, "XDG_STATE_HOME="+filepath.Join(tmp, "reader-state"),
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
// unclosed block or continuation, or a ```bash block, is an error.
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
	for _, bad := range []string{"```sh\nrootguard audit\n", "```sh\nrootguard \\\n```\n", "```bash\nrootguard audit\n```\n"} {
		if _, err := shellCommands(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestCommandsToRun: skip rules take commands out, a rule that takes
// none is an error, and so is a rootguard command that runs without an
// exit comment, called by name or through go run.
func TestCommandsToRun(t *testing.T) {
	doc := "```sh\n" +
		"go run ./cmd/rootguard scan x   # exit 1\n" +
		"go test ./...\n" +
		"rootguard scan s3://b/   # needs AWS\n" +
		"go build -o \"$R/rootguard\" ./cmd/rootguard\n" +
		"```\n"
	cmds, err := shellCommands(doc)
	if err != nil {
		t.Fatal(err)
	}
	run, errs := commandsToRun(cmds, readmeSkips)
	if len(errs) != 0 || len(run) != 2 || run[0].line != 2 || run[1].line != 5 {
		t.Errorf("run %+v, errors %v", run, errs)
	}

	stale := append(slices.Clip(readmeSkips), skipRule{regexp.MustCompile(`^bench/`), "long"})
	unstated := strings.Replace(doc, "# exit 1", "# all of it", 1)
	cmds, _ = shellCommands(unstated)
	if _, errs := commandsToRun(cmds, stale); len(errs) != 2 ||
		!strings.Contains(errs[0].Error(), "line 2: a rootguard command without") || !strings.Contains(errs[1].Error(), `"^bench/"`) {
		t.Errorf("errors %v", errs)
	}
}
