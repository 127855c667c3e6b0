//go:build unix

package trail

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// fileID identifies a folder by device and inode.
type fileID struct{ dev, ino uint64 }

func idOf(fi fs.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{uint64(st.Dev), st.Ino}
	}
	return fileID{}
}

// openRegular opens path for reading without blocking (a FIFO swapped in
// after the listing cannot hang the open) and checks, on the open file,
// that it is a regular file. It uses the descriptor directly: open, fstat,
// read, close, with none of the poller registration of os.Open, which
// regular files do not need.
func openRegular(path string) (io.ReadCloser, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		syscall.Close(fd)
		fi, err := os.Lstat(path)
		if err != nil {
			return nil, fmt.Errorf("%w", ErrNotRegular)
		}
		return nil, notRegular(fi.Mode())
	}
	return &fdFile{fd: fd}, nil
}

// fdFile reads a regular file through its descriptor.
type fdFile struct{ fd int }

func (f *fdFile) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := syscall.Read(f.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, fmt.Errorf("read: %w", err)
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *fdFile) Close() error {
	if f.fd < 0 {
		return nil
	}
	err := syscall.Close(f.fd)
	f.fd = -1
	return err
}
