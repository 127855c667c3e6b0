package trail

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// Object is one input to read: a file, standard input, or an S3 object.
type Object struct {
	// Name identifies the input in findings and errors: a path, "-", or
	// s3://bucket/key.
	Name string
	Size int64
	open func(ctx context.Context) (io.ReadCloser, error)
}

// Open opens the object's raw (possibly compressed) bytes.
func (o Object) Open(ctx context.Context) (io.ReadCloser, error) { return o.open(ctx) }

// NewObject returns an Object read through open.
func NewObject(name string, size int64, open func(ctx context.Context) (io.ReadCloser, error)) Object {
	return Object{Name: name, Size: size, open: open}
}

// FileObject returns the Object for a local file.
func FileObject(path string, size int64) Object {
	return Object{Name: path, Size: size, open: func(context.Context) (io.ReadCloser, error) { return os.Open(path) }}
}

// StdinObject returns the Object for standard input.
func StdinObject(r io.Reader) Object {
	return Object{Name: "-", Size: -1, open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(r), nil }}
}

// isEventFile reports whether a file name is one rootguard reads from a folder.
func isEventFile(name string) bool {
	return strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".json.gz") ||
		strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".jsonl.gz") ||
		strings.HasSuffix(name, ".ndjson") || strings.HasSuffix(name, ".ndjson.gz")
}

// WalkLocal calls fn for every input under a local path: the file itself,
// or every event file below a folder (digests and pruned paths skipped).
// A folder that cannot be listed is reported through fn's error path by
// returning it from WalkLocal only when nothing could be listed at all;
// unreadable sub-folders go to skip.
func WalkLocal(ctx context.Context, root string, f Filter, fn func(Object) error, skip func(path string, err error)) error {
	st, err := os.Stat(root)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fn(FileObject(root, st.Size()))
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			skip(p, err)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			if d.Name() == "CloudTrail-Digest" || d.Name() == "CloudTrail-Insight" {
				return filepath.SkipDir
			}
			if l, ok := ParseLayout(p + "/"); ok && p != root {
				if (l.Kind != "" && l.Kind != "CloudTrail") || !f.keepAccount(l.Account) || !f.keepRegion(l.Region) {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !isEventFile(d.Name()) || !f.Keep(p) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			skip(p, err)
			return nil
		}
		return fn(FileObject(p, info.Size()))
	})
}

// ErrNotGzip marks an input named .gz whose bytes are not gzip.
var ErrNotGzip = errors.New("named .gz but not gzip data")

// Opener decompresses inputs, reusing its gzip state between them. It is
// not safe for concurrent use: keep one per worker.
type Opener struct {
	zr *gzip.Reader
	br *bufio.Reader
}

// Reader returns a reader of the decompressed content of r. Gzip is
// recognised by its magic bytes; an input whose name ends in .gz must be
// gzip.
func (o *Opener) Reader(name string, r io.Reader) (io.Reader, error) {
	if o.br == nil {
		o.br = bufio.NewReaderSize(r, 256<<10)
	} else {
		o.br.Reset(r)
	}
	magic, err := o.br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read: %w", err)
	}
	isGzip := len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
	if !isGzip {
		if strings.HasSuffix(name, ".gz") {
			if len(magic) == 0 {
				return nil, errors.New("empty file")
			}
			return nil, ErrNotGzip
		}
		return o.br, nil
	}
	if o.zr == nil {
		o.zr, err = gzip.NewReader(o.br)
	} else {
		err = o.zr.Reset(o.br)
	}
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return gzipErrors{o.zr}, nil
}

// gzipErrors names gzip failures as such.
type gzipErrors struct{ r io.Reader }

func (g gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("gzip stream truncated")
		}
		err = fmt.Errorf("gzip: %w", err)
	}
	return n, err
}
