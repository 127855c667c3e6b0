package newaccount

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/rootguard/rootguard/internal/notify"
)

// FuzzParseLocation: MODE_CONFIG names one object, s3://BUCKET/KEY, that
// prints back as itself, or is an error quoting it.
func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{"s3://cfg/rootguard.yaml", "", "s3://cfg/", "s3://cfg", "s3:///k", "cfg/k", "s3://b/a/b/c.yaml", "s3://b/dir/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLocation(s)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
				t.Fatalf("ParseLocation(%q): %v does not quote it", s, err)
			}
			return
		}
		if s == "" {
			if !l.IsZero() {
				t.Fatalf(`ParseLocation("") = %+v`, l)
			}
			return
		}
		if l.Bucket == "" || l.Key == "" || strings.Contains(l.Bucket, "/") || strings.HasSuffix(l.Key, "/") || l.String() != s {
			t.Fatalf("ParseLocation(%q) = %+v (%s)", s, l, l)
		}
	})
}

// FuzzConfigFromEnv: the function's environment is a configuration whose
// every value is usable (a language it speaks, a finite positive
// AssumeRoot rate) or an error naming each variable that is not.
func FuzzConfigFromEnv(f *testing.F) {
	for _, s := range [][3]string{{"en", "s3://cfg/rootguard.yaml", "20"}, {"", "", ""}, {"fr", "s3://cfg/", "-1"},
		{"both", "s3://b/k", "NaN"}, {"ja", "s3://b/k", "+Inf"}, {"ja", "s3://b/k", "5 per second"}, {"en", "x", "1e400"}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, lang, loc, rate string) {
		env := map[string]string{"TABLE_NAME": "t", "TOPIC_ARN": "arn:aws:sns:us-east-1:1:t", "LANGUAGE": lang, "MODE_CONFIG": loc, "ASSUME_ROOT_RATE": rate}
		c, err := ConfigFromEnv(func(k string) string { return env[k] })
		if err != nil {
			for _, name := range []string{"LANGUAGE", "MODE_CONFIG", "ASSUME_ROOT_RATE"} {
				if strings.Contains(err.Error(), name) {
					return
				}
			}
			t.Fatalf("error %q names no variable", err)
		}
		switch c.Lang {
		case notify.English, notify.Japanese, notify.Both:
		default:
			t.Fatalf("LANGUAGE %q accepted as %q", lang, c.Lang)
		}
		if r := c.Audit.AssumeRootRate; rate != "" && (!(r > 0) || math.IsInf(r, 0)) {
			t.Fatalf("ASSUME_ROOT_RATE %q accepted as %v", rate, r)
		}
	})
}
