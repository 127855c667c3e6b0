package cli

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzParseTimeFlag: --since and --until never panic, and a duration
// "before now" is never after now (an overflowing "9999999999d" must not
// turn into a future time that filters every finding out).
func FuzzParseTimeFlag(f *testing.F) {
	for _, s := range []string{"", "2026-10-01", "2026-10-01T10:00:00Z", "72h", "30d", "30d ago", "1h30m", "-5d", "9999999999d", "106752d", "yesterday"} {
		f.Add(s, false)
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string, endOfDay bool) {
		got, err := parseTimeFlag(s, now, endOfDay)
		if err != nil {
			return
		}
		if strings.TrimSpace(s) == "" && !got.IsZero() {
			t.Fatalf("parseTimeFlag(%q) = %v, want zero", s, got)
		}
		d := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "ago"))
		isDuration := strings.HasSuffix(d, "d") || strings.ContainsAny(d, "hms")
		if _, perr := time.Parse(time.RFC3339, strings.TrimSpace(s)); perr == nil {
			isDuration = false
		}
		if isDuration && got.After(now) {
			t.Fatalf("parseTimeFlag(%q) = %v, after now %v", s, got, now)
		}
	})
}

// FuzzParseList: --account, --issuer-account, --region (scan) and
// --regions (unlock find) accept only well-formed values, each trimmed and
// none empty, and a bad one is a usage error quoting it: a typo must not
// become a filter that silently matches nothing.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{"123456789012", "123456789012, 210987654321", "12345678901", "us-east-1,eu-west-1",
		"us-east1", "US-EAST-1", " ,, ", "us-gov-west-1", "cn-north-1", "eu-isoe-west-1", "١٢٣٤٥٦٧٨٩٠١٢", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			flag string
			ok   func(string) bool
		}{{"--account", accountIDRE.MatchString}, {"--region", regionRE.MatchString}} {
			vals, err := parseList(c.flag, []string{s}, c.ok, "x")
			if err != nil {
				var ee *exitError
				if !errors.As(err, &ee) || ee.code != ExitUsage || !strings.Contains(err.Error(), c.flag+" ") {
					t.Fatalf("parseList(%s, %q): %v: not a usage error naming the flag", c.flag, s, err)
				}
				continue
			}
			for _, v := range vals {
				if v == "" || v != strings.TrimSpace(v) || strings.Contains(v, ",") || !c.ok(v) {
					t.Fatalf("parseList(%s, %q) accepted %q", c.flag, s, v)
				}
				if c.flag == "--account" && (len(v) != 12 || strings.Trim(v, "0123456789") != "") {
					t.Fatalf("--account %q accepted", v)
				}
				if c.flag == "--region" && (strings.ToLower(v) != v || strings.ContainsAny(v, " /.:")) {
					t.Fatalf("--region %q accepted", v)
				}
			}
		}
	})
}

// FuzzParseWindow: approval request's --from, --until and --for give a
// window or a usage error naming the flag; --for always ends after it
// starts.
func FuzzParseWindow(f *testing.F) {
	f.Add("", "", "1h")
	f.Add("2026-12-06T10:00:00Z", "2026-12-06T12:00:00+09:00", "")
	f.Add("", "2026-12-06T12:00:00Z", "2h")
	f.Add("yesterday", "", "-1h")
	f.Add("", "", "0s")
	f.Add("9999-12-31T23:59:59Z", "", "2562047h")
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, from, until, window string) {
		start, end, err := parseWindow(now, from, until, window)
		if err != nil {
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != ExitUsage || !strings.Contains(err.Error(), "--") {
				t.Fatalf("parseWindow(%q, %q, %q): %v: not a usage error naming a flag", from, until, window, err)
			}
			return
		}
		if from == "" && !start.Equal(now) {
			t.Fatalf("no --from: window starts at %v, not now", start)
		}
		if window != "" && !end.After(start) {
			t.Fatalf("--for %q: window %v to %v", window, start, end)
		}
	})
}

// FuzzParseThrottle: sandbox --throttle takes service:Operation=rate with
// a positive, finite rate ("NaN" and "Inf" parse as floats and are not).
func FuzzParseThrottle(f *testing.F) {
	for _, s := range []string{"sts:AssumeRoot=5", "iam:ListAccessKeys=0.5,organizations:ListAccounts=2", "sts:AssumeRoot=NaN",
		"sts:AssumeRoot=+Inf", "sts:AssumeRoot=0", "AssumeRoot=1", "sts:AssumeRoot", "=1", "a:b=1e309", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		limits, err := parseThrottle([]string{s})
		if err != nil {
			if !strings.Contains(err.Error(), "--throttle") {
				t.Fatalf("parseThrottle(%q): %v does not name the flag", s, err)
			}
			return
		}
		for op, r := range limits {
			if !strings.Contains(op, ":") || !(r > 0) || math.IsInf(r, 0) {
				t.Fatalf("parseThrottle(%q) accepted %s=%v", s, op, r)
			}
		}
	})
}

// FuzzParseExports: audit --export is asff=FILE, html=FILE or securityhub;
// an accepted spec names its file exactly as given (a path may hold '=').
func FuzzParseExports(f *testing.F) {
	for _, s := range []string{"html=audit.html", "asff=findings.json", "securityhub", "html=", "pdf=x", "html=a=b.html", "=x", "html"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ex, err := parseExports([]string{s})
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
				t.Fatalf("parseExports(%q): %v does not quote it", s, err)
			}
			return
		}
		if len(ex) != 1 {
			t.Fatalf("parseExports(%q) = %d targets", s, len(ex))
		}
		e := ex[0]
		switch {
		case e.kind == "securityhub" && s == "securityhub" && e.path == "":
		case (e.kind == "asff" || e.kind == "html") && e.path != "" && e.kind+"="+e.path == s:
		default:
			t.Fatalf("parseExports(%q) = %+v", s, e)
		}
	})
}

// FuzzParseToken: serve --token-file accepts one token that a cookie and
// an Authorization header carry unchanged, and never prints the file's
// content in its error (it is a secret).
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{"3q0Jx9fK2LmN8pQrStUvWxYz_-AbCdEf\n", "short", "two tokens here and there\n", "token;with;semicolons",
		"\ttoken-with-a-tab-in\tit", "tökenwithunicodeletters", "quoted\"token\"of-enough", "", "0123456789abcdef\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := parseToken(b, "token.txt")
		if err != nil {
			// The message does not depend on the content at all.
			if _, other := parseToken([]byte("x"), "token.txt"); err.Error() != other.Error() {
				t.Fatalf("the error %q says something of the token file's content", err)
			}
			return
		}
		if len(tok) < 16 {
			t.Fatalf("parseToken(%q) = %q: too short", b, tok)
		}
		c := &http.Cookie{Name: "rootguard-token", Value: tok}
		if c.Valid() != nil || strings.Contains(c.String(), `"`) {
			t.Fatalf("parseToken(%q) = %q: a cookie does not carry it unchanged (%q)", b, tok, c.String())
		}
		if strings.IndexFunc(tok, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
			t.Fatalf("parseToken(%q) = %q: not printable ASCII, which an Authorization header carries", b, tok)
		}
	})
}

// FuzzLoopback: serve refuses to listen beyond the host without a token
// file or TLS; an address taken for loopback binds only there.
func FuzzLoopback(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8787", "localhost:8787", "[::1]:8787", "0.0.0.0:8787", ":8787", "127.0.0.1.nip.io:80",
		"[::ffff:127.0.0.1]:1", "[::]:1", "10.0.0.1:1", "localhost", "127.0.0.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !loopback(s) {
			return
		}
		host, _, err := net.SplitHostPort(s)
		if err != nil {
			t.Fatalf("loopback(%q) without a host and port", s)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			t.Fatalf("loopback(%q): %q is not a loopback address", s, host)
		}
	})
}

// FuzzAccountCreateFlags: account create sends --name and --email to
// CreateAccount only in the form the Organizations API takes (a name of 1
// to 50 printable ASCII characters, an email of 6 to 64); anything else
// is a usage error naming the flag, before any AWS call.
func FuzzAccountCreateFlags(f *testing.F) {
	for _, s := range [][3]string{{"prod-42", "aws+prod42@example.com", "Root/Workloads"}, {"", "a@b.c", ""},
		{"名前", "root@example.com", "ou-ex12-workload1"}, {"x\ny", "a b@example.com", "r-ab12"},
		{strings.Repeat("n", 51), "@example.com", "Root"}, {" padded ", " x@example.io ", " Root "}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, name, email, ou string) {
		o := &accountCreateOptions{output: "table", poll: time.Second, timeout: time.Minute}
		o.req.Name, o.req.Email, o.req.OU = name, email, ou
		err := o.validate()
		if err != nil {
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != ExitUsage || !strings.Contains(err.Error(), "--") {
				t.Fatalf("validate(%q, %q, %q): %v: not a usage error naming a flag", name, email, ou, err)
			}
			return
		}
		n, e := o.req.Name, o.req.Email
		if n == "" || len(n) > 50 || strings.IndexFunc(n, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 {
			t.Fatalf("--name %q accepted", n)
		}
		if len(e) < 6 || len(e) > 64 || strings.Count(e, "@") != 1 || strings.ContainsAny(e, " \t\r\n") || o.req.OU == "" {
			t.Fatalf("--email %q / --ou %q accepted", e, o.req.OU)
		}
	})
}

// TestAssumeRootRateNotANumber: --assume-root-rate reads "NaN" and "Inf"
// as floats; neither paces anything (the pacer's interval and in-flight
// cap come out of range), so each is a usage error before any AWS call.
func TestAssumeRootRateNotANumber(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_PROFILE", "")
	for _, args := range [][]string{
		{"audit", "--assume-root-rate", "NaN"},
		{"audit", "--assume-root-rate", "0"},
		{"root", "delete-credentials", "plan", "--all", "--assume-root-rate", "+Inf"},
		{"unlock", "find", "--all", "--assume-root-rate", "NaN"},
	} {
		_, errOut, code := runMain(t, args...)
		if code != ExitUsage || !strings.Contains(errOut, "--assume-root-rate must be positive") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
		}
	}
}

// TestSandboxFaultRateNotANumber: --fault-rate is a fraction; NaN, which
// the flag reads as a float, is none and is refused.
func TestSandboxFaultRateNotANumber(t *testing.T) {
	for _, v := range []string{"NaN", "-0.1", "1.5"} {
		_, errOut, code := runMain(t, "sandbox", "--fault-rate", v, "--accounts", "2")
		if code != ExitUsage || !strings.Contains(errOut, "--fault-rate must be between 0 and 1") {
			t.Errorf("--fault-rate %s: exit %d, stderr %q", v, code, errOut)
		}
	}
}
