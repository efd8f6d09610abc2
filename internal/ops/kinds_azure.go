package ops

import "github.com/azimuthcd/azimuth/internal/task"

// azureKinds are the executors of subscriptions and resource groups.
func azureKinds() map[task.Kind]Func { return nil }
