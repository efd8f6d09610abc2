package ops

import "github.com/azimuthcd/azimuth/internal/task"

// The task kinds of subscriptions and resource groups.
const (
	// KindSubscriptions lists the subscriptions the identity can see.
	KindSubscriptions task.Kind = "azure.subscriptions"
	// KindResourceGroups lists the resource groups of a subscription.
	KindResourceGroups task.Kind = "azure.resourcegroups"
)

// azureKinds are the executors of subscriptions and resource groups.
func azureKinds() map[task.Kind]Func {
	return map[task.Kind]Func{
		KindSubscriptions:  ListSubscriptions,
		KindResourceGroups: ListResourceGroups,
	}
}
