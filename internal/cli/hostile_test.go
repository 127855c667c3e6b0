package cli

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// rootCall is a CloudTrail record of the root user calling an API: a
// finding every case below must still report.
func rootCall(id string) string {
	return `{"eventVersion":"1.10","eventID":"` + id + `","eventTime":"2026-10-08T01:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1","recipientAccountId":"444444444444","sourceIPAddress":"198.51.100.1","userIdentity":{"type":"Root","arn":"arn:aws:iam::444444444444:root","accountId":"444444444444"}}`
}

func logFile(recs ...string) string { return `{"Records":[` + strings.Join(recs, ",") + `]}` }

// hostileCase is one input an attacker or a broken pipeline can hand to
// rootguard scan.
type hostileCase struct {
	name string
	// setup builds the input in dir and returns the scan arguments.
	setup func(t *testing.T, dir string) []string
	stdin string
	// ids are the root events that must still be reported.
	ids []string
	// problems are substrings that must each appear once on stderr.
	problems []string
	code     int
	// check, if set, looks further at stdout.
	check func(t *testing.T, stdout, stderr string)
	// maxAlloc bounds the bytes the scan allocates, in MiB.
	maxAlloc uint64
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".gz") {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(content))
		zw.Close()
		content = b.String()
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func mkfifo(t *testing.T, p string) {
	t.Helper()
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
}

// hostileCases are the cases of issue 11 and docs/cli.md's promises about
// bad input; each asserts the root events found, the problem lines, the
// exit code and a bound on memory.
var hostileCases = []hostileCase{
	{
		name: "newline in a file name cannot forge a problem line",
		setup: func(t *testing.T, dir string) []string {
			write(t, dir, "ok.json", logFile(rootCall("n-1")))
			write(t, dir, "x.json\n  rootguard: 0 problems\x1b[2K.json", `{"Records":[{"eventID":oops}]}`)
			return []string{"scan", "-o", "json", dir}
		},
		ids: []string{"n-1"}, problems: []string{`x.json\n  rootguard: 0 problems\x1b[2K.json: record 0: invalid JSON`}, code: 1, maxAlloc: 64,
		check: func(t *testing.T, _, stderr string) {
			for _, line := range strings.Split(stderr, "\n") {
				if strings.HasPrefix(line, "  rootguard") || strings.Contains(line, "\x1b") {
					t.Errorf("forged line on stderr: %q", line)
				}
			}
		},
	},
	{
		name: "conflicting duplicate: a forged copy does not hide the real event",
		setup: func(t *testing.T, dir string) []string {
			forged := strings.Replace(rootCall("dup-1"), "CreateAccessKey", "ListUsers", 1)
			write(t, dir, "a/forged.json", logFile(forged))
			write(t, dir, "b/real.json", logFile(rootCall("dup-1")))
			return []string{"scan", "-o", "json", dir}
		},
		ids: []string{"dup-1", "dup-1"}, problems: []string{"2 CONFLICTING copies"}, code: 3, maxAlloc: 64,
		check: func(t *testing.T, stdout, _ string) {
			for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
				var f struct {
					EventName     string `json:"eventName"`
					Conflict      bool   `json:"conflict"`
					Source        struct{ File string }
					ConflictsWith []struct{ File string }
				}
				json.Unmarshal([]byte(line), &f)
				if !f.Conflict || len(f.ConflictsWith) != 1 || f.ConflictsWith[0].File == f.Source.File {
					t.Errorf("copy %s from %s: conflict %v with %v", f.EventName, f.Source.File, f.Conflict, f.ConflictsWith)
				}
				if !strings.Contains(stdout, `"eventName":"CreateAccessKey"`) {
					t.Error("the real CreateAccessKey is hidden")
				}
			}
		},
	},
	{
		name: "identical duplicates merge",
		setup: func(t *testing.T, dir string) []string {
			write(t, dir, "org/a.json", logFile(rootCall("same-1")))
			// The same event with its keys in another order and spacing.
			var v map[string]any
			json.Unmarshal([]byte(rootCall("same-1")), &v)
			b, _ := json.MarshalIndent(v, "", "  ")
			write(t, dir, "acct/b.json", `{"Records":[`+string(b)+`]}`)
			return []string{"scan", "-o", "json", dir}
		},
		ids: []string{"same-1"}, problems: []string{"1 duplicate deliveries merged"}, code: 3, maxAlloc: 64,
	},
	{
		name: "unparseable time with --since is kept",
		setup: func(t *testing.T, dir string) []string {
			bad := strings.Replace(rootCall("t-1"), "2026-10-08T01:00:00Z", "yesterday-ish", 1)
			old := strings.Replace(rootCall("t-2"), "2026-10-08", "2020-01-01", 1)
			return []string{"scan", "-o", "json", "--since", "2026-10-01", "--until", "2026-10-31", write(t, dir, "t.json", logFile(bad, old, rootCall("t-3")))}
		},
		ids: []string{"t-1", "t-3"}, problems: []string{`t.json: record 0: eventTime "yesterday-ish" is not an RFC 3339 time; reported with time unknown`, "1 with time unknown"}, code: 1, maxAlloc: 64,
		check: func(t *testing.T, stdout, _ string) {
			if !strings.Contains(stdout, `"timeUnknown":true`) {
				t.Errorf("no timeUnknown in %s", stdout)
			}
		},
	},
	{
		name: "symlinked trail folder",
		setup: func(t *testing.T, dir string) []string {
			write(t, dir, "real/AWSLogs/444444444444/CloudTrail/us-east-1/2026/10/08/a.json.gz", logFile(rootCall("linked-1")))
			symlink(t, filepath.Join(dir, "real"), filepath.Join(dir, "trail-link"))
			return []string{"scan", "-o", "json", filepath.Join(dir, "trail-link")}
		},
		ids: []string{"linked-1"}, code: 3, maxAlloc: 64,
	},
	{
		name: "symlinked sub-folder and file, and a loop",
		setup: func(t *testing.T, dir string) []string {
			write(t, dir, "elsewhere/sub/b.json", logFile(rootCall("sub-1")))
			write(t, dir, "elsewhere/c.json", logFile(rootCall("file-1")))
			os.MkdirAll(filepath.Join(dir, "scan"), 0o755)
			symlink(t, filepath.Join(dir, "elsewhere/sub"), filepath.Join(dir, "scan/sub"))
			symlink(t, filepath.Join(dir, "elsewhere/c.json"), filepath.Join(dir, "scan/c.json"))
			symlink(t, filepath.Join(dir, "scan"), filepath.Join(dir, "scan/loop"))
			symlink(t, "..", filepath.Join(dir, "scan/up"))
			return []string{"scan", "-o", "json", filepath.Join(dir, "scan")}
		},
		ids: []string{"file-1", "sub-1"}, code: 3, maxAlloc: 64,
	},
	{
		name: "broken link",
		setup: func(t *testing.T, dir string) []string {
			write(t, dir, "a.json", logFile(rootCall("ok-1")))
			symlink(t, filepath.Join(dir, "nowhere"), filepath.Join(dir, "gone.json"))
			return []string{"scan", "-o", "json", dir}
		},
		ids: []string{"ok-1"}, problems: []string{"gone.json: symbolic link: stat"}, code: 1, maxAlloc: 64,
	},
	{
		name: "FIFO named .json in a folder",
		setup: func(t *testing.T, dir string) []string {
			write(t, dir, "a.json", logFile(rootCall("ok-1")))
			mkfifo(t, filepath.Join(dir, "pipe.json"))
			return []string{"scan", "-o", "json", dir}
		},
		ids: []string{"ok-1"}, problems: []string{"pipe.json: not a regular file: named pipe (FIFO), skipped unopened"}, code: 1, maxAlloc: 64,
	},
	{
		name: "FIFO on the command line",
		setup: func(t *testing.T, dir string) []string {
			write(t, dir, "a.json", logFile(rootCall("ok-1")))
			mkfifo(t, filepath.Join(dir, "pipe.json"))
			return []string{"scan", "-o", "json", filepath.Join(dir, "a.json"), filepath.Join(dir, "pipe.json")}
		},
		ids: []string{"ok-1"}, problems: []string{"pipe.json: not a regular file: named pipe (FIFO)"}, code: 1, maxAlloc: 64,
	},
	{
		name: "empty folder",
		setup: func(t *testing.T, dir string) []string {
			os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
			return []string{"scan", "-o", "json", filepath.Join(dir, "empty")}
		},
		problems: []string{"empty: no event file (*.json, *.json.gz) here; nothing was scanned"}, code: 1, maxAlloc: 64,
	},
	{
		name: "folder of nothing but a FIFO",
		setup: func(t *testing.T, dir string) []string {
			os.MkdirAll(filepath.Join(dir, "d"), 0o755)
			mkfifo(t, filepath.Join(dir, "d", "pipe.json.gz"))
			return []string{"scan", "-o", "json", filepath.Join(dir, "d")}
		},
		problems: []string{"pipe.json.gz: not a regular file: named pipe (FIFO)", "d: no event file"}, code: 1, maxAlloc: 64,
	},
	{
		name: "unreadable sub-folder",
		setup: func(t *testing.T, dir string) []string {
			if os.Geteuid() == 0 {
				t.Skip("root reads every folder")
			}
			write(t, dir, "a.json", logFile(rootCall("ok-1")))
			write(t, dir, "locked/b.json", logFile(rootCall("hidden-1")))
			os.Chmod(filepath.Join(dir, "locked"), 0)
			t.Cleanup(func() { os.Chmod(filepath.Join(dir, "locked"), 0o755) })
			return []string{"scan", "-o", "json", dir}
		},
		ids: []string{"ok-1"}, problems: []string{"locked: open"}, code: 1, maxAlloc: 64,
	},
	{
		name: "bad first line of JSON Lines",
		setup: func(t *testing.T, dir string) []string {
			return []string{"scan", "-o", "json", write(t, dir, "l.jsonl", "{\"eventVersion\": oops}\n"+rootCall("l-2")+"\n"+rootCall("l-3")+"\n")}
		},
		ids: []string{"l-2", "l-3"}, problems: []string{"l.jsonl: record 0: invalid JSON at byte 17: unexpected character 'o' (23 bytes at offset 0 not read)"}, code: 1, maxAlloc: 64,
	},
	{
		name: "bad line longer than 1 MiB",
		setup: func(t *testing.T, dir string) []string {
			long := `{"eventID":"` + strings.Repeat("x", 3<<20) + "\n"
			return []string{"scan", "-o", "json", write(t, dir, "l.jsonl.gz", rootCall("l-1")+"\n"+long+rootCall("l-3")+"\n")}
		},
		ids: []string{"l-1", "l-3"}, problems: []string{"l.jsonl.gz: record 1: invalid JSON"}, code: 1, maxAlloc: 96,
	},
	{
		name:  "line over the value cap on standard input",
		setup: func(t *testing.T, dir string) []string { return []string{"scan", "-o", "json", "-"} },
		stdin: rootCall("s-1") + "\n" + `{"eventID":"` + strings.Repeat("y", 40<<20) + `"}` + "\n" + rootCall("s-3") + "\n",
		ids:   []string{"s-1", "s-3"}, problems: []string{"-: record 1: JSON value larger than 33554432 bytes"}, code: 1, maxAlloc: 96,
	},
	{
		name: "over-deep record inside Records",
		setup: func(t *testing.T, dir string) []string {
			deep := strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)
			return []string{"scan", "-o", "json", write(t, dir, "d.json.gz", logFile(rootCall("d-1"), deep, rootCall("d-3")))}
		},
		ids: []string{"d-1", "d-3"}, problems: []string{"d.json.gz: record 1: invalid JSON at byte"}, code: 1, maxAlloc: 64,
	},
	{
		name: "damaged record inside Records",
		setup: func(t *testing.T, dir string) []string {
			return []string{"scan", "-o", "json", write(t, dir, "d.json", logFile(rootCall("d-1"), `{"eventID":[}`, rootCall("d-3")))}
		},
		ids: []string{"d-1", "d-3"}, problems: []string{"d.json: record 1: invalid JSON"}, code: 1, maxAlloc: 64,
	},
	{
		// Pruning trusts where CloudTrail filed a log file. A root event of
		// 2026-10-08 in account 444444444444, filed under another account
		// and a day long past, is not read with --since and --account (as
		// docs/cli.md says); with --no-prune it is.
		name: "misfiled log file read with --no-prune",
		setup: func(t *testing.T, dir string) []string {
			base := "AWSLogs/o-exampleorgid/"
			write(t, dir, base+"444444444444/CloudTrail/us-east-1/2026/10/08/444444444444_CloudTrail_us-east-1_20261008T0100Z_a.json.gz", logFile(rootCall("filed-1")))
			write(t, dir, base+"555555555555/CloudTrail/eu-west-1/2019/01/01/555555555555_CloudTrail_eu-west-1_20190101T0000Z_b.json.gz", logFile(rootCall("misfiled-1")))
			return []string{"scan", "-o", "json", "--since", "2026-10-01", "--account", "444444444444", "--region", "us-east-1", "--no-prune", dir}
		},
		ids: []string{"filed-1", "misfiled-1"}, problems: []string{"scanned 2 inputs ("}, code: 3, maxAlloc: 64,
	},
	{
		name: "misfiled log file pruned without --no-prune",
		setup: func(t *testing.T, dir string) []string {
			base := "AWSLogs/o-exampleorgid/"
			write(t, dir, base+"444444444444/CloudTrail/us-east-1/2026/10/08/444444444444_CloudTrail_us-east-1_20261008T0100Z_a.json.gz", logFile(rootCall("filed-1")))
			write(t, dir, base+"555555555555/CloudTrail/eu-west-1/2019/01/01/555555555555_CloudTrail_eu-west-1_20190101T0000Z_b.json.gz", logFile(rootCall("misfiled-1")))
			return []string{"scan", "-o", "json", "--since", "2026-10-01", "--account", "444444444444", "--region", "us-east-1", dir}
		},
		ids: []string{"filed-1"}, problems: []string{"scanned 1 inputs ("}, code: 3, maxAlloc: 64,
	},
	{
		name: "file that cannot be opened is counted once",
		setup: func(t *testing.T, dir string) []string {
			return []string{"scan", "-o", "json", "--workers", "1", write(t, dir, "a.json", logFile(rootCall("a-1"), rootCall("a-2"))), filepath.Join(dir, "missing.json")}
		},
		ids: []string{"a-1", "a-2"}, problems: []string{"missing.json: stat", "scanned 1 inputs (", "2 records in"}, code: 1, maxAlloc: 64,
	},
}

func TestHostileInput(t *testing.T) {
	for _, tc := range slices.Concat(hostileCases, promiseCases) {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := tc.setup(t, dir)
			var out, errb bytes.Buffer
			io := IO{In: strings.NewReader(tc.stdin), Out: &out, Err: &errb}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			code := Main(t.Context(), args, io)
			runtime.ReadMemStats(&after)
			stderr := errb.String()
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			var ids []string
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if line == "" {
					continue
				}
				var f struct {
					EventID string `json:"eventId"`
				}
				if err := json.Unmarshal([]byte(line), &f); err != nil {
					t.Fatalf("stdout line %q: %v", line, err)
				}
				ids = append(ids, f.EventID)
			}
			slices.Sort(ids)
			if strings.Join(ids, ",") != strings.Join(tc.ids, ",") {
				t.Errorf("root events %v, want %v; stderr:\n%s", ids, tc.ids, stderr)
			}
			for _, p := range tc.problems {
				if n := strings.Count(stderr, p); n != 1 {
					t.Errorf("stderr holds %q %d times, want once:\n%s", p, n, stderr)
				}
			}
			if tc.check != nil {
				tc.check(t, out.String(), stderr)
			}
			if got := (after.TotalAlloc - before.TotalAlloc) >> 20; got > tc.maxAlloc {
				t.Errorf("allocated %d MiB, want at most %d MiB", got, tc.maxAlloc)
			}
		})
	}
}

// TestHostileOutput: a forged record whose account is a spreadsheet
// formula and whose source address carries a terminal escape and a
// newline is still reported, in CSV with the formula neutralised and in
// the table with the control characters escaped: one row each.
func TestHostileOutput(t *testing.T) {
	rec := strings.NewReplacer(`"recipientAccountId":"444444444444"`, `"recipientAccountId":"=HYPERLINK(\"http://evil.example/\",\"ok\")"`,
		`"sourceIPAddress":"198.51.100.1"`, `"sourceIPAddress":"@198.51.100.1\u001b[2K\nforged"`).Replace(rootCall("o-1"))
	path := write(t, t.TempDir(), "o.json", logFile(rec))
	for _, tt := range []struct {
		format string
		want   []string
	}{
		{"csv", []string{`"'=HYPERLINK(""http://evil.example/"",""ok"")"`, `'@198.51.100.1\x1b[2K\nforged`}},
		{"table", []string{`=HYPERLINK("http://evil.example/","ok")`, `@198.51.100.1\x1b[2K\nforged`}},
	} {
		t.Run(tt.format, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(t.Context(), []string{"scan", "-o", tt.format, path}, IO{In: strings.NewReader(""), Out: &out, Err: &errb})
			if code != ExitFindings {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, ExitFindings, errb.String())
			}
			if n := strings.Count(out.String(), "\n"); n != 2 {
				t.Errorf("%d lines, want a header and one row:\n%s", n, out.String())
			}
			if strings.ContainsAny(out.String(), "\x1b\r") {
				t.Errorf("control character on stdout: %q", out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %s:\n%s", w, out.String())
				}
			}
		})
	}
}
