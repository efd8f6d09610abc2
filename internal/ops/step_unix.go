//go:build unix

package ops

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup starts cmd in a process group of its own, so the whole
// script (its background children included) can be signalled at once.
func ownProcessGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// signalGroup sends SIGTERM (or SIGKILL) to the process group pgid.
func signalGroup(pgid int, kill bool) error {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	return syscall.Kill(-pgid, sig)
}
