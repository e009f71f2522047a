package kubetest

import "syscall"

// sysProcAttr makes a child die with the test process, even when that is
// killed (a test timeout, SIGKILL), and puts it in a process group of its
// own so that stopping it reaches whatever it started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
