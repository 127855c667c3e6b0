package cli

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestScanS3 uploads the example archive to an S3-compatible server
// (gofakes3 on 127.0.0.1) and scans it through the command line, configured
// the SDK's standard way (AWS_ENDPOINT_URL, static credentials).
func TestScanS3(t *testing.T) {
	ctx := t.Context()
	client := startS3(t, "org-trail")
	root := filepath.Join("..", "..", "examples", "org-trail")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		key, _ := filepath.Rel(root, p)
		_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("org-trail"), Key: aws.String(filepath.ToSlash(key)), Body: bytes.NewReader(b)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The damaged object is named with its s3:// URI and the rest is read.
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("org-trail"),
		Key:  aws.String("AWSLogs/o-exampleorg1/333333333333/CloudTrail/us-east-1/2026/10/09/cut.json.gz"),
		Body: strings.NewReader("not gzip")}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		args     []string
		code     int
		findings int
		stderr   []string
	}{
		{"whole bucket", []string{"scan", "--s3-path-style", "-o", "json", "s3://org-trail/"}, ExitError, 6,
			[]string{"s3://org-trail/AWSLogs/o-exampleorg1/333333333333/CloudTrail/us-east-1/2026/10/09/cut.json.gz: named .gz but not gzip data"}},
		{"one account, its AssumeRoot issuer, one day", []string{"scan", "--s3-path-style", "-o", "json", "--account", "222222222222",
			"--issuer-account", "111111111111", "--since", "2026-10-08", "--until", "2026-10-08", "s3://org-trail/AWSLogs/"}, ExitFindings, 3,
			[]string{"scanned 2 inputs"}},
		{"a region prefix", []string{"scan", "--s3-path-style", "-o", "json", "s3://org-trail/AWSLogs/o-exampleorg1/111111111111/CloudTrail/us-east-1/"}, ExitFindings, 1,
			[]string{"scanned 1 inputs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runMain(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, errOut)
			}
			if n := strings.Count(out, `"eventId"`); n != tt.findings {
				t.Errorf("%d findings, want %d\n%s", n, tt.findings, out)
			}
			if !strings.Contains(out, `"file":"s3://org-trail/AWSLogs/`) {
				t.Errorf("findings do not name their S3 object:\n%s", out)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut)
				}
			}
		})
	}
}
