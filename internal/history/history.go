// Package history keeps audits of an organization in S3, one object per
// run: the audit's JSON Lines output (`rootguard audit -o json`: the
// organization's record, then one record per account), gzip-compressed,
// under PREFIX/YYYY/MM/DD/YYYYMMDDTHHMMSS.mmmZ.jsonl.gz so that keys sort by
// time. The scheduled audit writes it; `rootguard audit history --from`
// and `audit diff --from` read it.
package history

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/report"
)

// Suffix ends every audit object's key.
const Suffix = ".jsonl.gz"

// maxObject bounds an audit object once decompressed: 5,000 accounts
// take about 10 MB.
const maxObject = 256 << 20

// S3API is the part of the S3 API history uses; *s3.Client implements
// it.
type S3API interface {
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// Location is s3://Bucket/Prefix.
type Location struct {
	Bucket, Prefix string
}

func (l Location) String() string { return "s3://" + l.Bucket + "/" + l.Prefix }

// ParseLocation reads s3://bucket/prefix (the prefix may be empty).
func ParseLocation(uri string) (Location, error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return Location{}, fmt.Errorf("history: %q is not an s3://bucket/prefix URI", uri)
	}
	b, p, _ := strings.Cut(rest, "/")
	if b == "" {
		return Location{}, fmt.Errorf("history: %q names no bucket", uri)
	}
	return Location{Bucket: b, Prefix: strings.Trim(p, "/")}, nil
}

// Key is where the audit that started at t is kept: below the prefix as
// written, never cleaned (Keys lists the prefix as written, so a key
// path.Clean shortened, for "a//b" or "a/./b", would never be found).
func (l Location) Key(t time.Time) string {
	t = t.UTC()
	k := t.Format("2006/01/02") + "/" + t.Format("20060102T150405.000Z") + Suffix
	if l.Prefix == "" {
		return k
	}
	return l.Prefix + "/" + k
}

// KeyTime reads when an audit started from its key, as Key writes it.
func KeyTime(key string) (time.Time, bool) {
	name, ok := strings.CutSuffix(key[strings.LastIndex(key, "/")+1:], Suffix)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102T150405.000Z", name)
	return t, err == nil
}

// Encode writes an audit as gzip-compressed JSON Lines.
func Encode(w io.Writer, rep *audit.Report) error {
	zw := gzip.NewWriter(w)
	if err := report.Audit(zw, rep, report.Options{Format: report.JSON}); err != nil {
		return err
	}
	return zw.Close()
}

// Decode reads an audit Encode wrote (or `rootguard audit -o json`'s
// output, compressed or not).
func Decode(r io.Reader) (*audit.Report, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gunzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(io.LimitReader(zr, maxObject))
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(nil, 16<<20)
	var rep *audit.Report
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var probe struct{ Record string }
		if err := json.Unmarshal(line, &probe); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		switch probe.Record {
		case report.RecordOrganization:
			if rep != nil {
				return nil, fmt.Errorf("line %d: a second organization record", n)
			}
			var o report.OrgRecord
			if err := json.Unmarshal(line, &o); err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			rep = &audit.Report{Organization: o.Organization, OrgControls: o.Controls, Summary: o.Summary}
			var err error
			if rep.StartedAt, err = parseTime(o.StartedAt); err != nil {
				return nil, fmt.Errorf("line %d: startedAt: %w", n, err)
			}
			if rep.FinishedAt, err = parseTime(o.FinishedAt); err != nil {
				return nil, fmt.Errorf("line %d: finishedAt: %w", n, err)
			}
		case report.RecordAccount:
			if rep == nil {
				return nil, fmt.Errorf("line %d: an account record before the organization's", n)
			}
			a := &audit.Account{}
			if err := json.Unmarshal(line, a); err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			if a.ID == "" {
				return nil, fmt.Errorf("line %d: an account record without an account id", n)
			}
			rep.Accounts = append(rep.Accounts, a)
		default:
			return nil, fmt.Errorf("line %d: unknown record %q", n, probe.Record)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if rep == nil {
		return nil, errors.New("no organization record")
	}
	return rep, nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// Put writes an audit to its key and returns the key. The bucket's
// default encryption (SSE-KMS in the deployed bucket) encrypts it.
func Put(ctx context.Context, c S3API, l Location, rep *audit.Report) (string, error) {
	var buf bytes.Buffer
	if err := Encode(&buf, rep); err != nil {
		return "", fmt.Errorf("history: encode: %w", err)
	}
	key := l.Key(rep.StartedAt)
	_, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(l.Bucket), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes()),
		ContentType: aws.String("application/x-ndjson"), ContentEncoding: aws.String("gzip"),
	})
	if err != nil {
		return "", fmt.Errorf("history: put s3://%s/%s: %w", l.Bucket, key, err)
	}
	return key, nil
}

// Keys lists the audit objects, oldest first.
func Keys(ctx context.Context, c S3API, l Location) ([]string, error) {
	prefix := l.Prefix
	if prefix != "" {
		prefix += "/"
	}
	var keys []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(l.Bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("history: list %s: %w", l, err)
		}
		for _, o := range page.Contents {
			if k := aws.ToString(o.Key); strings.HasSuffix(k, Suffix) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// Get reads one audit object.
func Get(ctx context.Context, c S3API, l Location, key string) (*audit.Report, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(l.Bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("history: get s3://%s/%s: %w", l.Bucket, key, err)
	}
	defer out.Body.Close()
	rep, err := Decode(out.Body)
	if err != nil {
		return nil, fmt.Errorf("history: s3://%s/%s: %w", l.Bucket, key, err)
	}
	return rep, nil
}

// Latest reads the n newest audits, newest first. An object that cannot
// be read is an error naming it.
func Latest(ctx context.Context, c S3API, l Location, n int) ([]*audit.Report, []string, error) {
	keys, err := Keys(ctx, c, l)
	if err != nil {
		return nil, nil, err
	}
	var reps []*audit.Report
	var used []string
	for i := len(keys) - 1; i >= 0 && (n <= 0 || len(reps) < n); i-- {
		rep, err := Get(ctx, c, l, keys[i])
		if err != nil {
			return reps, used, err
		}
		reps, used = append(reps, rep), append(used, keys[i])
	}
	return reps, used, nil
}
