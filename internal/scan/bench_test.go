package scan

import (
	"os"
	"testing"
)

// BenchmarkScanArchive scans the archive named by ROOTGUARD_BENCH_DIR (for
// example one written by ../shared/bench/ctgen); bench/scan.sh compares
// the whole command against gzip, jq and Python.
func BenchmarkScanArchive(b *testing.B) {
	dir := os.Getenv("ROOTGUARD_BENCH_DIR")
	if dir == "" {
		b.Skip("set ROOTGUARD_BENCH_DIR to an archive")
	}
	for b.Loop() {
		res, err := Run(b.Context(), []string{dir}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(res.Stats.Bytes)
	}
}
