package testenv

import (
	"bytes"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// process is a server this package started; the test's cleanup kills it
// (by its own pid) and waits for it.
type process struct {
	name   string
	cmd    *exec.Cmd
	out    *SyncBuffer
	exited chan struct{}
	err    error // set before exited is closed
}

// start runs cmd, registers its cleanup and waits until it accepts
// connections on port. It returns errExited (with the output in the test
// log) when the process stops first, so a caller can retry on another
// port.
func start(t testing.TB, name string, cmd *exec.Cmd, port int, timeout time.Duration) (*process, error) {
	t.Helper()
	p := &process{name: name, cmd: cmd, out: &SyncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	orphanGuard(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.stop)
	deadline := time.Now().Add(timeout)
	for !dial(port) {
		select {
		case <-p.exited:
			t.Logf("testenv: %s exited (%v):\n%s", name, p.err, p.out.String())
			return nil, errExited
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: %s did not listen on 127.0.0.1:%d within %s:\n%s", name, port, timeout, p.out.String())
		}
	}
	return p, nil
}

func (p *process) stop() {
	kill(p.cmd) // the group too, even if the server itself has exited
	<-p.exited
}

// SyncBuffer is a bytes.Buffer safe for a process's or a server
// goroutine's writes and a test's reads at once.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
