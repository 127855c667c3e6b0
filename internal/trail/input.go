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

// FileObject returns the Object for a local file. It is opened without
// blocking and read only if it is a regular file, so that a FIFO or a
// device put in its place cannot hang or flood a scan. size is -1 when
// unknown.
func FileObject(path string, size int64) Object {
	return Object{Name: path, Size: size, open: func(context.Context) (io.ReadCloser, error) { return openRegular(path) }}
}

// ErrNotRegular marks an input that is a FIFO, a socket, a device or
// anything else but a regular file or a folder. It is never opened.
var ErrNotRegular = errors.New("not a regular file")

// notRegular names what a special file is.
func notRegular(m fs.FileMode) error {
	kind := "special file"
	switch {
	case m&fs.ModeNamedPipe != 0:
		kind = "named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		kind = "socket"
	case m&fs.ModeCharDevice != 0:
		kind = "character device"
	case m&fs.ModeDevice != 0:
		kind = "device"
	case m&fs.ModeIrregular != 0:
		kind = "irregular file"
	}
	return fmt.Errorf("%w: %s, skipped unopened", ErrNotRegular, kind)
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
// Symbolic links are followed, to files and folders alike, and a folder
// is read once however many links lead to it, so a link loop ends. A
// special file (FIFO, socket, device) is never opened: given on the
// command line it is the returned error; named as an event file in a
// folder it goes to skip, as do folders that cannot be read and broken
// links.
func WalkLocal(ctx context.Context, root string, f Filter, fn func(Object) error, skip func(path string, err error)) error {
	st, err := os.Stat(root)
	if err != nil {
		return err
	}
	switch {
	case st.Mode().IsRegular():
		return fn(FileObject(root, st.Size()))
	case !st.IsDir():
		return notRegular(st.Mode())
	}
	w := &walker{f: f, fn: fn, skip: skip, seen: map[fileID]bool{}}
	w.seen[idOf(st)] = true
	return w.dir(ctx, root, true)
}

// walker walks local folders.
type walker struct {
	f    Filter
	fn   func(Object) error
	skip func(path string, err error)
	seen map[fileID]bool // folders read, by device and inode
}

// dir reads one folder. Entries come from the folder listing itself; only
// symbolic links, and sub-folders (for their device and inode), cost a
// stat.
func (w *walker) dir(ctx context.Context, p string, root bool) error {
	entries, err := os.ReadDir(p)
	if err != nil {
		if root && len(entries) == 0 {
			return err
		}
		w.skip(p, err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		sub := filepath.Join(p, e.Name())
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			st, err := os.Stat(sub)
			if err != nil {
				w.skip(sub, fmt.Errorf("symbolic link: %w", err))
				continue
			}
			mode = st.Mode().Type()
			if st.IsDir() {
				id := idOf(st)
				if w.seen[id] {
					continue // read already, or a loop
				}
				if !w.keepDir(sub, e.Name()) {
					continue
				}
				w.seen[id] = true
				if err := w.dir(ctx, sub, false); err != nil {
					return err
				}
				continue
			}
		}
		switch {
		case mode.IsDir():
			if !w.keepDir(sub, e.Name()) {
				continue
			}
			st, err := os.Lstat(sub)
			if err != nil {
				w.skip(sub, err)
				continue
			}
			if id := idOf(st); !w.seen[id] {
				w.seen[id] = true
				if err := w.dir(ctx, sub, false); err != nil {
					return err
				}
			}
		case !isEventFile(e.Name()) || !w.f.Keep(sub):
		case !mode.IsRegular():
			w.skip(sub, notRegular(mode))
		default:
			if err := w.fn(FileObject(sub, -1)); err != nil {
				return err
			}
		}
	}
	return nil
}

// keepDir reports whether a sub-folder may hold events the filter wants.
func (w *walker) keepDir(p, name string) bool {
	if name == "CloudTrail-Digest" || name == "CloudTrail-Insight" {
		return false
	}
	if l, ok := ParseLayout(p + "/"); ok {
		if (l.Kind != "" && l.Kind != "CloudTrail") || !w.f.keepAccount(l.Account) || !w.f.keepRegion(l.Region) {
			return false
		}
	}
	return true
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
