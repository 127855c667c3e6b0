package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rootguard/rootguard/internal/testenv"
)

// promiseCases back the promises of docs/cli.md about bad input that
// hostileCases did not yet hold; TestHostileInput runs them too. Each
// names, in a comment, the promise it backs.
var promiseCases = []hostileCase{
	{
		// "in a Records, Events or Findings array a bad element ... is
		// skipped as one value and the next element is read"
		name: "damaged finding inside Findings",
		setup: func(t *testing.T, dir string) []string {
			g1, g3 := guardDutyFinding(t, "g-1"), guardDutyFinding(t, "g-3")
			return []string{"scan", "-o", "json", write(t, dir, "gd.json", `{"Findings":[`+g1+`,{"Id": oops},`+g3+`]}`)}
		},
		ids: []string{"g-1", "g-3"}, problems: []string{"gd.json: record 1: invalid JSON"}, code: 1, maxAlloc: 64,
	},
	{
		// "a bad element (invalid, nested too deep, or larger than the
		// value cap) is skipped as one value"; "a single JSON value larger
		// than 32 MiB is skipped (without being held) and named"
		name: "record over the value cap inside Records",
		setup: func(t *testing.T, dir string) []string {
			huge := `{"eventID":"` + strings.Repeat("z", 33<<20) + `"}`
			return []string{"scan", "-o", "json", write(t, dir, "big.json", logFile(rootCall("b-1"), huge, rootCall("b-3")))}
		},
		ids: []string{"b-1", "b-3"}, problems: []string{"big.json: record 1: JSON value larger than 33554432 bytes"}, code: 1, maxAlloc: 96,
	},
	{
		// "Records with missing or oddly typed fields that still identify
		// root use are reported as findings *and* listed as problems."
		name: "oddly typed fields in a root record",
		setup: func(t *testing.T, dir string) []string {
			odd := strings.NewReplacer(`"sourceIPAddress":"198.51.100.1"`, `"sourceIPAddress":198511001`).Replace(rootCall("odd-1"))
			odd = strings.Replace(odd, `"eventVersion":"1.10"`, `"additionalEventData":"MFAUsed=No","eventVersion":"1.10"`, 1)
			return []string{"scan", "-o", "json", write(t, dir, "odd.json", logFile(odd, rootCall("odd-2")))}
		},
		ids: []string{"odd-1", "odd-2"}, problems: []string{"odd.json: record 0: decode record: json: cannot unmarshal"}, code: 1, maxAlloc: 64,
	},
	{
		// "A FIFO, socket or device is never opened, even named *.json: it
		// is listed as a problem"
		name: "socket and device named .json in a folder",
		setup: func(t *testing.T, dir string) []string {
			write(t, dir, "a.json", logFile(rootCall("ok-1")))
			l, err := net.Listen("unix", filepath.Join(dir, "sock.json"))
			if err != nil {
				t.Skipf("unix socket: %v", err)
			}
			t.Cleanup(func() { l.Close() })
			if _, err := os.Stat("/dev/zero"); err != nil {
				t.Skip("no /dev/zero")
			}
			symlink(t, "/dev/zero", filepath.Join(dir, "zero.json")) // endless if ever read
			return []string{"scan", "-o", "json", dir}
		},
		ids: []string{"ok-1"}, problems: []string{"sock.json: not a regular file: socket, skipped unopened", "zero.json: not a regular file: character device, skipped unopened"},
		code: 1, maxAlloc: 64,
	},
	{
		// "a path whose date does not exist (a 31 February, a year outside
		// 1970-9999) is not pruned but read"
		name: "impossible date in the path is read, not pruned",
		setup: func(t *testing.T, dir string) []string {
			write(t, dir, "AWSLogs/444444444444/CloudTrail/us-east-1/2026/02/31/x.json", logFile(rootCall("feb31-1")))
			write(t, dir, "AWSLogs/444444444444/CloudTrail/us-east-1/0000/10/08/y.json", logFile(rootCall("year0-1")))
			// A real date outside the range is pruned unread: the
			// record inside would pass the filter by its own time.
			write(t, dir, "AWSLogs/444444444444/CloudTrail/us-east-1/2026/01/05/z.json", logFile(rootCall("pruned-1")))
			return []string{"scan", "-o", "json", "--since", "2026-10-01", "--until", "2026-10-31", dir}
		},
		ids: []string{"feb31-1", "year0-1"}, problems: []string{"scanned 2 inputs"}, code: 3, maxAlloc: 64,
	},
	{
		// "A duration longer than a Go duration can hold (about 292
		// years) is a usage error, not a time in the future."
		name: "duration past what a Go duration holds",
		setup: func(t *testing.T, dir string) []string {
			return []string{"scan", "-o", "json", "--since", "9999999999d", write(t, dir, "a.json", logFile(rootCall("a-1")))}
		},
		problems: []string{`--since: "9999999999d": more days than rootguard can count back`}, code: 2, maxAlloc: 64,
	},
	{
		// "When inputs were damaged *and* unapproved findings exist, the
		// exit code is 1 (the result is incomplete); the findings are still
		// printed." With JSON Lines, gzip and a Records file at once.
		name: "damage and unapproved findings: exit 1, findings printed",
		setup: func(t *testing.T, dir string) []string {
			write(t, dir, "a.jsonl.gz", rootCall("m-1")+"\n{oops\n")
			write(t, dir, "b.json", logFile(rootCall("m-2")))
			write(t, dir, "c.json.gz", "")
			return []string{"scan", "-o", "json", dir}
		},
		ids: []string{"m-1", "m-2"}, problems: []string{"a.jsonl.gz: record 1: invalid JSON", "c.json.gz: "}, code: 1, maxAlloc: 64,
	},
}

// guardDutyFinding is a GuardDuty root-credential finding as get-findings
// returns it (internal/detect's fixture), compact, under the id.
func guardDutyFinding(t *testing.T, id string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "detect", "testdata", "guardduty", "hit-getfindings-pascalcase.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	v["Id"] = id
	out, _ := json.Marshal(v)
	return string(out)
}

// TestScanS3EmptyPrefix backs "A folder or S3 prefix that holds no event
// file is a problem, never a clean scan of nothing": an S3 prefix with
// only other objects exits 1 and says so, through the SDK's client
// against gofakes3 on 127.0.0.1.
func TestScanS3EmptyPrefix(t *testing.T) {
	client := startS3(t, "trail")
	if _, err := client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("trail"), Key: aws.String("AWSLogs/readme.txt"),
		Body: bytes.NewReader([]byte("not an event file"))}); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"s3://trail/AWSLogs/", "s3://trail/nothing-here/"} {
		out, errOut, code := runMain(t, "scan", "--s3-path-style", "-o", "json", prefix)
		if code != ExitError || out != "" || strings.Count(errOut, prefix+": no event file") != 1 {
			t.Errorf("%s: exit %d, stdout %q, stderr:\n%s", prefix, code, out, errOut)
		}
	}
}

// TestServeFindingsProblems backs "`--findings FILE` | scan results, JSON
// Lines from `rootguard scan -o json`; unreadable lines are named on
// stderr and on the page": the readable finding is shown, each bad line
// is named once on stderr (escaped) and on the Root activity page.
func TestServeFindingsProblems(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	good := `{"eventId":"f-1","eventTime":"2026-10-08T01:00:00Z","account":"444444444444","region":"us-east-1","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","category":"access-key-change","severity":"critical","rule":"root-access-key-change","approval":{"status":"unapproved"}}`
	findings := write(t, dir, "f.jsonl", good+"\n{\"eventId\": oops\x1b[2J}\n{\"eventId\":\"f-3\"}\n")
	ctx, cancel := context.WithCancel(t.Context())
	ready, done := make(chan string, 1), make(chan error, 1)
	var out, errb testenv.SyncBuffer
	cmd := newServeCmdReady(IO{In: strings.NewReader(""), Out: &out, Err: &errb},
		func() *slog.Logger { return slog.New(slog.DiscardHandler) }, func(u string) { ready <- u })
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--db", filepath.Join(dir, "h.db"), "--findings", findings})
	go func() { done <- cmd.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	var u string
	select {
	case u = <-ready:
	case err := <-done:
		done <- err
		t.Fatalf("serve stopped: %v\n%s", err, errb.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	stderr := errb.String()
	for _, want := range []string{"f.jsonl:2: invalid character 'o'", "f.jsonl:3: not a finding"} {
		if strings.Count(stderr, want) != 1 {
			t.Errorf("stderr names %q %d times, want once:\n%s", want, strings.Count(stderr, want), stderr)
		}
	}
	if strings.Contains(stderr, "\x1b") {
		t.Errorf("control character on stderr: %q", stderr)
	}
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(u) // sets the token cookie
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = client.Get(parsed.Scheme + "://" + parsed.Host + "/activity")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "f-1") && !strings.Contains(page, "CreateAccessKey") {
		t.Errorf("activity page: %d, the readable finding not shown:\n%.2000s", resp.StatusCode, page)
	}
	for _, want := range []string{"f.jsonl:2: invalid character", "f.jsonl:3: not a finding", "(2)"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not name %q", want)
		}
	}
}

// docPromises maps each promise docs/cli.md makes about bad input (a
// phrase of it, whitespace aside) to the tests that back it:
// "TestHostileInput/<case>", "TestScripts/<script>" or
// "<folder>:<TestOrFuzzFunc>". TestDocPromisesBacked keeps the map true:
// a promise reworded or a test renamed fails it until the map follows.
var docPromises = []struct {
	promise string
	tests   []string
}{
	{"a file filed under another day, account or Region by someone who can write to the archive is not read. With `--no-prune` every input is read and the filters apply to the events only",
		[]string{"TestHostileInput/misfiled log file read with --no-prune", "TestHostileInput/misfiled log file pruned without --no-prune", "internal/trail:TestWalkS3"}},
	{"a bad line is one bad record, however long and wherever it stands, the first line included; the next line is read",
		[]string{"TestHostileInput/bad first line of JSON Lines", "TestHostileInput/bad line longer than 1 MiB",
			"TestHostileInput/line over the value cap on standard input", "internal/trail:TestDecodeHostile"}},
	{"Symbolic links are followed, to files and folders, on the command line and below",
		[]string{"TestHostileInput/symlinked trail folder", "TestHostileInput/symlinked sub-folder and file, and a loop"}},
	{"so a link loop ends. A broken link is a problem.",
		[]string{"TestHostileInput/symlinked sub-folder and file, and a loop", "TestHostileInput/broken link"}},
	{"A FIFO, socket or device is never opened, even named `*.json`",
		[]string{"TestHostileInput/FIFO named .json in a folder", "TestHostileInput/FIFO on the command line",
			"TestHostileInput/socket and device named .json in a folder"}},
	{"A folder or S3 prefix that holds no event file is a problem, never a clean scan of nothing.",
		[]string{"TestHostileInput/empty folder", "TestHostileInput/folder of nothing but a FIFO", "internal/cli:TestScanS3EmptyPrefix"}},
	{"Gzip is recognised by its magic bytes. A file named `.gz` that is not gzip is reported as damaged.",
		[]string{"internal/trail:TestOpener", "TestScripts/scan_bad_input"}},
	{"a path whose date does not exist (a 31 February, a year outside 1970-9999) is not pruned but read",
		[]string{"TestHostileInput/impossible date in the path is read, not pruned", "internal/trail:TestKeepHostileDay", "internal/trail:FuzzParseLayout"}},
	{"A duration longer than a Go duration can hold (about 292 years) is a usage error, not a time in the future.",
		[]string{"TestHostileInput/duration past what a Go duration holds", "internal/cli:FuzzParseTimeFlag"}},
	{"are reported once when their content is the same (whatever the key order and spacing)",
		[]string{"TestHostileInput/identical duplicates merge"}},
	{"Records that share an `eventID` but differ in content are a conflict, never merged",
		[]string{"TestHostileInput/conflicting duplicate: a forged copy does not hide the real event"}},
	{"A root event whose `eventTime` cannot be read is kept, whatever `--since` and `--until` say",
		[]string{"TestHostileInput/unparseable time with --since is kept"}},
	{"Every input or record that could not be read is listed on stderr after the summary as `FILE: error` or `FILE: record N: error`, and makes the exit code 1.",
		[]string{"TestScripts/scan_bad_input", "TestHostileInput/damage and unapproved findings: exit 1, findings printed", "internal/scan:TestBadInputsKeepGoing"}},
	{"the problem ends `(LENGTH bytes at offset OFFSET not read)`",
		[]string{"TestHostileInput/bad first line of JSON Lines", "internal/trail:TestDecodeHostile"}},
	{"in a `Records`, `Events` or `Findings` array a bad element (invalid, nested too deep, or larger than the value cap) is skipped as one value and the next element is read.",
		[]string{"TestHostileInput/over-deep record inside Records", "TestHostileInput/damaged record inside Records",
			"TestHostileInput/record over the value cap inside Records", "TestHostileInput/damaged finding inside Findings", "internal/trail:TestDecodeHostile"}},
	{"a single JSON value larger than 32 MiB is skipped (without being held) and named",
		[]string{"TestHostileInput/line over the value cap on standard input", "TestHostileInput/record over the value cap inside Records",
			"internal/trail:TestDecodeHugeLineBoundedMemory"}},
	{"all workers together hold at most 64 MiB beyond their fixed 1.25 MiB windows.",
		[]string{"internal/trail:TestDecodeBudget"}},
	{"A worker that needs more for a large value waits for its share before it holds any.",
		[]string{"internal/trail:TestBudgetBoundsGrownWindows"}},
	{"Records with missing or oddly typed fields that still identify root use are reported as findings *and* listed as problems.",
		[]string{"TestHostileInput/oddly typed fields in a root record"}},
	{"When inputs were damaged *and* unapproved findings exist, the exit code is 1 (the result is incomplete); the findings are still printed.",
		[]string{"TestScripts/scan_bad_input", "TestHostileInput/damage and unapproved findings: exit 1, findings printed"}},
	{"A malformed `--account`, `--issuer-account` or `--region` value",
		[]string{"TestScripts/scan_usage", "internal/cli:FuzzParseList"}},
	{"so no file name can forge a line or move the cursor",
		[]string{"TestHostileInput/newline in a file name cannot forge a problem line", "internal/cli:TestHostileOutput", "internal/escape:FuzzControl"}},
	{"A CSV cell that starts with `=`, `+`, `-`, `@`, a tab, a carriage return or a NUL is prefixed with `'`",
		[]string{"internal/cli:TestHostileOutput", "TestScripts/scan_bad_input", "internal/escape:FuzzCell"}},
	{"the history database (with its `-wal` and `-shm` files) and plans (`--out`) are created 0600, an existing one readable by others is made 0600",
		[]string{"internal/store:TestStorePrivateFiles", "internal/cli:TestWritePrivate"}},
	{"interrupted (Ctrl-C or SIGTERM): one line, `rootguard: interrupted`; nothing partial is kept",
		[]string{"internal/cli:TestInterruptedPlanNotWritten"}},
	{"Invalid files are rejected (exit 2) naming every bad entry and field; unknown fields are errors.",
		[]string{"TestScripts/scan_usage", "internal/approval:TestParseErrors", "internal/approval:FuzzParse"}},
	{"fails the invocation with `alert: unreadable payload`",
		[]string{"cmd/rootguard-lambda:TestCorpus", "internal/alert:FuzzClassify"}},
	{"the `FunctionErrorsAlarm` and `DeadLetterQueueAlarm` notify the alert topic",
		[]string{"internal/deploy:TestForwarderAlarms"}},
	{"unreadable lines are named on stderr and on the page",
		[]string{"internal/cli:TestServeFindingsProblems", "internal/web:FuzzReadFindings"}},
	{"Every configuration error is reported with entry, line and field.",
		[]string{"internal/mode:TestParseErrors", "internal/mode:FuzzParse"}},
}

func TestDocPromisesBacked(t *testing.T) {
	space := strings.NewReplacer("\n", " ", "\t", " ")
	collapse := func(s string) string { return strings.Join(strings.Fields(space.Replace(s)), " ") }
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := collapse(string(b))
	cases := map[string]bool{}
	for _, tc := range slices.Concat(hostileCases, promiseCases) {
		cases[tc.name] = true
	}
	sources := map[string]string{} // folder: its test files, concatenated
	for _, p := range docPromises {
		if !strings.Contains(doc, collapse(p.promise)) {
			t.Errorf("docs/cli.md no longer says %q", p.promise)
		}
		for _, name := range p.tests {
			switch dir, fn, ok := strings.Cut(name, ":"); {
			case strings.HasPrefix(name, "TestHostileInput/"):
				if !cases[strings.TrimPrefix(name, "TestHostileInput/")] {
					t.Errorf("%q: no such case", name)
				}
			case strings.HasPrefix(name, "TestScripts/"):
				if _, err := os.Stat(filepath.Join("testdata", "script", strings.TrimPrefix(name, "TestScripts/")+".txtar")); err != nil {
					t.Errorf("%q: %v", name, err)
				}
			case ok:
				src, seen := sources[dir]
				if !seen {
					files, _ := filepath.Glob(filepath.Join("..", "..", dir, "*_test.go"))
					for _, f := range files {
						b, _ := os.ReadFile(f)
						src += string(b)
					}
					sources[dir] = src
				}
				if !strings.Contains(src, "func "+fn+"(") {
					t.Errorf("%q: no such test in %s", name, dir)
				}
			default:
				t.Errorf("%q: not a test reference", name)
			}
		}
	}
}
