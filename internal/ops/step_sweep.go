package ops

import (
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// stepDirPrefix names a step's private directory (os.MkdirTemp pattern).
const stepDirPrefix = "azimuth-step-"

// StepDirMaxAge is the age past which a step directory belongs to no
// running step: a step's task never outlives StepTaskTimeout, and its
// directory's modification time is set when the step writes its
// kubeconfig, script and socket at the start. A margin covers clock
// steps and a slow start.
const StepDirMaxAge = StepTaskTimeout + 10*time.Minute

// SweepStaleStepDirs removes the step directories a delegate that crashed
// (or was killed) mid-step left behind: azimuth-step-* directories in the
// temporary directories steps use, owned by this process's user, last
// modified more than StepDirMaxAge ago. Another delegate of the same user
// on the same host may be running steps: their directories are younger.
// A delegate calls it when it starts. It returns how many it removed;
// what it cannot remove is logged and left.
func SweepStaleStepDirs(logger *slog.Logger) int {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dirs := []string{stepTempBase()}
	if d := os.TempDir(); d != dirs[0] {
		dirs = append(dirs, d)
	}
	return sweepStepDirs(logger, dirs, time.Now().Add(-StepDirMaxAge))
}

// sweepStepDirs removes, in each of dirs, the step directories of this
// user last modified before cutoff.
func sweepStepDirs(logger *slog.Logger, dirs []string, cutoff time.Time) int {
	removed := 0
	for _, base := range dirs {
		entries, err := os.ReadDir(base)
		if err != nil {
			logger.Warn("sweep step directories", "dir", base, "err", err)
			continue
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), stepDirPrefix) || e.Type()&fs.ModeSymlink != 0 || !e.IsDir() {
				continue
			}
			path := filepath.Join(base, e.Name())
			info, err := os.Lstat(path)
			if err != nil || !info.IsDir() || !ownedByMe(info) || !info.ModTime().Before(cutoff) {
				continue
			}
			if err := os.RemoveAll(path); err != nil {
				logger.Warn("stale step directory not removed", "dir", path, "err", err)
				continue
			}
			logger.Info("removed a stale step directory (a step's delegate stopped before cleaning up)", "dir", path, "modified", info.ModTime())
			removed++
		}
	}
	return removed
}
