package history

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// FuzzParseLocation: HISTORY and `serve --history` either name a bucket,
// whose Location prints back as a URI that parses to the same Location
// (and the key of a run stays below the prefix Keys lists), or are refused with an error
// that quotes them.
func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{
		"s3://rootguard-history/audits", "s3://b", "s3://b/", "s3://b//a//", "s3:///x",
		"s3://", "b/prefix", "https://b.s3.amazonaws.com/x", "s3://b/../../etc", "",
	} {
		f.Add(s)
	}
	at := time.Date(2026, 12, 6, 1, 2, 3, 4_000_000, time.UTC)
	f.Fuzz(func(t *testing.T, uri string) {
		l, err := ParseLocation(uri)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", uri)) {
				t.Fatalf("ParseLocation(%q): error %q does not name the input", uri, err)
			}
			return
		}
		if l.Bucket == "" || strings.Contains(l.Bucket, "/") {
			t.Fatalf("ParseLocation(%q): bucket %q", uri, l.Bucket)
		}
		again, err := ParseLocation(l.String())
		if err != nil || again != l {
			t.Fatalf("ParseLocation(%q) = %+v; its String %q parses to %+v, %v", uri, l, l.String(), again, err)
		}
		// A run is written where Keys lists: below the prefix as given.
		k := l.Key(at)
		if !strings.HasSuffix(k, "/20261206T010203.004Z"+Suffix) || (l.Prefix != "" && !strings.HasPrefix(k, l.Prefix+"/")) {
			t.Fatalf("ParseLocation(%q).Key = %q, not below prefix %q", uri, k, l.Prefix)
		}
	})
}
