package kubetest

import (
	"os"
	"syscall"
)

// sysProcAttr makes a child die with the test process, even when that is
// killed (a test timeout, SIGKILL), and puts it in a process group of its
// own so that stopping it reaches whatever it started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// signalGroup sends sig to p's process group.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	return syscall.Kill(-p.Pid, sig)
}
