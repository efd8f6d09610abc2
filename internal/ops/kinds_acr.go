package ops

import "github.com/azimuthcd/azimuth/internal/task"

// acrKinds are the executors of ACR artifacts.
func acrKinds() map[task.Kind]Func { return nil }
