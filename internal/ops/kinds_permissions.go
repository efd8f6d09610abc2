package ops

import "github.com/azimuthcd/azimuth/internal/task"

// permissionKinds are the executors of permission checks.
func permissionKinds() map[task.Kind]Func { return nil }
