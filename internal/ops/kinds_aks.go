package ops

import "github.com/azimuthcd/azimuth/internal/task"

// aksKinds are the executors of AKS clusters and kubeconfigs.
func aksKinds() map[task.Kind]Func { return nil }
