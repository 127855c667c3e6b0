//go:build unix

package remediate

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process of this host exists (signal 0:
// EPERM means it exists under another user).
func processAlive(pid int) (alive, known bool) {
	if pid <= 0 {
		return false, true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM), true
}
