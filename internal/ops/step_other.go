//go:build !unix

package ops

import (
	"io/fs"
	"os"
	"os/exec"
)

// ownProcessGroup does nothing where there are no process groups.
func ownProcessGroup(*exec.Cmd) {}

// signalGroup kills the script's process (its children may survive).
func signalGroup(pid int, _ bool) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// ownedByMe cannot tell owners apart here: nothing is swept.
func ownedByMe(fs.FileInfo) bool { return false }
