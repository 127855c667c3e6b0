package sandbox

import (
	"os/exec"
	"syscall"
)

// orphanGuard puts the child in a process group of its own and makes
// Linux kill it when the sandbox dies without stopping it (kill -9).
func orphanGuard(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// kill ends the child and its process group.
func kill(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}
