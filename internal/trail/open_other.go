//go:build !unix

package trail

import (
	"io"
	"io/fs"
	"os"
)

// fileID identifies a folder; without inodes, by its cleaned path's info.
type fileID struct {
	name string
	size int64
	mod  int64
}

func idOf(fi fs.FileInfo) fileID { return fileID{fi.Name(), fi.Size(), fi.ModTime().UnixNano()} }

// openRegular opens path after checking that it is a regular file.
func openRegular(path string) (io.ReadCloser, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(fi.Mode())
	}
	return os.Open(path)
}
