package trail

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzParseS3URI: an s3:// PATH given to scan either names a bucket and
// round-trips to the text it was read from, or is refused with an error
// that quotes it.
func FuzzParseS3URI(f *testing.F) {
	for _, s := range []string{
		"s3://org-trail-bucket/AWSLogs/", "s3://bucket", "s3://bucket/", "s3:///prefix",
		"s3://", "bucket/prefix", "S3://bucket/x", "s3://b/a//b/", "s3://bu\ncket/\x1b[2J", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		bucket, prefix, err := ParseS3URI(uri)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", uri)) {
				t.Fatalf("ParseS3URI(%q): error %q does not name the input", uri, err)
			}
			return
		}
		if bucket == "" || strings.Contains(bucket, "/") {
			t.Fatalf("ParseS3URI(%q) = bucket %q", uri, bucket)
		}
		back := "s3://" + bucket + "/" + prefix
		if back != uri && back != uri+"/" {
			t.Fatalf("ParseS3URI(%q) = %q, %q: does not round-trip", uri, bucket, prefix)
		}
	})
}
