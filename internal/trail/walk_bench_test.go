package trail

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// benchJSON is the decompressed content of up to 40 log files of the
// archive named by ROOTGUARD_BENCH_DIR (written by ../shared/bench/ctgen).
func benchJSON(b *testing.B) [][]byte {
	dir := os.Getenv("ROOTGUARD_BENCH_DIR")
	if dir == "" {
		b.Skip("set ROOTGUARD_BENCH_DIR to an archive")
	}
	var out [][]byte
	var op Opener
	_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || len(out) >= 40 || e.IsDir() || filepath.Ext(p) != ".gz" || filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(p)))))) != "CloudTrail" {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		r, err := op.Reader(p, f)
		if err != nil {
			return nil
		}
		data, err := io.ReadAll(r)
		if err == nil {
			out = append(out, data)
		}
		return nil
	})
	if len(out) == 0 {
		b.Fatalf("no CloudTrail log file under %s", dir)
	}
	return out
}

// BenchmarkDecodeRecords decodes CloudTrail log files already in memory,
// with a Candidate that reads the Head: the decoder's own cost, without
// decompression.
func BenchmarkDecodeRecords(b *testing.B) {
	files := benchJSON(b)
	var size int64
	for _, f := range files {
		size += int64(len(f))
	}
	d := NewDecoder(Options{Candidate: func(h *Head) bool { return string(h.Type) == "Root" && len(h.InvokedBy) == 0 }})
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		for _, f := range files {
			if err := d.Decode(b.Context(), bytes.NewReader(f), func(Record) error { return nil }, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}
