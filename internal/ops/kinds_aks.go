package ops

import "github.com/azimuthcd/azimuth/internal/task"

// The AKS task kinds.
const (
	// KindAKSClusters lists the managed clusters of a subscription or of
	// one resource group.
	KindAKSClusters task.Kind = "aks.clusters"
	// KindAKSKubeconfig gets a kubeconfig of one cluster.
	KindAKSKubeconfig task.Kind = "aks.kubeconfig"
)

// aksKinds are the executors of AKS clusters and kubeconfigs.
func aksKinds() map[task.Kind]Func {
	return map[task.Kind]Func{
		KindAKSClusters:   AKSClusters,
		KindAKSKubeconfig: AKSKubeconfig,
	}
}
