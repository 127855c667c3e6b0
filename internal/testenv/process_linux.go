package testenv

import (
	"os/exec"
	"syscall"
)

// orphanGuard puts the server in a process group of its own, so that stop
// ends it with whatever it started (aws-lambda-rie starts the function),
// and makes Linux kill it if the test binary dies without running its
// cleanups (a test timeout's panic, a kill).
func orphanGuard(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// kill ends the server and its process group.
func kill(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}
