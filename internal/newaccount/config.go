package newaccount

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rootguard/rootguard/internal/mode"
	"github.com/rootguard/rootguard/internal/org"
)

// Location is where a deployment keeps its rootguard.yaml: an S3 object
// (s3://BUCKET/KEY) in the Audit account.
type Location struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

func (l Location) String() string { return "s3://" + l.Bucket + "/" + l.Key }

// IsZero reports an unset location: no configuration.
func (l Location) IsZero() bool { return l.Bucket == "" }

// ParseLocation reads s3://BUCKET/KEY; "" is the zero Location.
func ParseLocation(s string) (Location, error) {
	if s == "" {
		return Location{}, nil
	}
	rest, ok := strings.CutPrefix(s, "s3://")
	bucket, key, _ := strings.Cut(rest, "/")
	if !ok || bucket == "" || key == "" || strings.HasSuffix(key, "/") {
		return Location{}, fmt.Errorf("%q: want s3://BUCKET/KEY, the rootguard.yaml object", s)
	}
	return Location{Bucket: bucket, Key: key}, nil
}

// S3 is the part of the S3 client LoadConfig uses.
type S3 interface {
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// maxConfig bounds the configuration read: rootguard.yaml is small.
const maxConfig = 1 << 20

// LoadConfig reads and validates the rootguard.yaml at loc: the format
// of `rootguard plan` and `advise` (mode.Parse), the same file.
func LoadConfig(ctx context.Context, c S3, loc Location) (*mode.Config, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key)})
	if err != nil {
		return nil, fmt.Errorf("newaccount: read %s: %w", loc, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, maxConfig+1))
	if err != nil {
		return nil, fmt.Errorf("newaccount: read %s: %w", loc, err)
	}
	if len(b) > maxConfig {
		return nil, fmt.Errorf("newaccount: %s: over %d bytes: not a rootguard.yaml", loc, maxConfig)
	}
	cfg, err := mode.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("newaccount: %s: %w", loc, err)
	}
	return cfg, nil
}

// LoadPolicy reads the configuration and resolves its OU ids with the
// organization's OU tree (read only when the file names ids). The zero
// Location gives nil: no configuration.
func LoadPolicy(ctx context.Context, c S3, awsCfg aws.Config, loc Location) (*mode.Policy, error) {
	if loc.IsZero() {
		return nil, nil
	}
	cfg, err := LoadConfig(ctx, c, loc)
	if err != nil {
		return nil, err
	}
	var paths mode.OUPaths
	if ids := cfg.OUIDs(); len(ids) > 0 {
		tree, err := org.Read(ctx, org.Clients{Org: org.NewOrganizations(awsCfg)}, 0)
		if err != nil {
			return nil, fmt.Errorf("newaccount: %s names OU ids (%s): %w", loc, strings.Join(ids, ", "), err)
		}
		paths = tree.Paths()
	}
	p, err := cfg.Resolve(paths)
	if err != nil {
		return nil, fmt.Errorf("newaccount: %s: %w", loc, err)
	}
	return p, nil
}
