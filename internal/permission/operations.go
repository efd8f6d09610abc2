package permission

import (
	"strings"
	"sync"
)

// The reference operations: real operation names from Azure's resource
// provider operations reference (learn.microsoft.com, "Azure permissions
// for ..."), for the providers the catalogue and the built-in roles above
// touch. They serve two purposes: Breadth counts how many of them a role
// grants, and tests use the ones a capability does not need as the
// "everything else" a generated role must not grant. The list is not
// exhaustive; it only names operations that exist.

const referenceActions = `
Microsoft.Authorization/elevateAccess/action
Microsoft.Authorization/classicAdministrators/read
Microsoft.Authorization/classicAdministrators/write
Microsoft.Authorization/classicAdministrators/delete
Microsoft.Authorization/classicAdministrators/operationstatuses/read
Microsoft.Authorization/denyAssignments/read
Microsoft.Authorization/denyAssignments/write
Microsoft.Authorization/denyAssignments/delete
Microsoft.Authorization/diagnosticSettings/read
Microsoft.Authorization/diagnosticSettings/write
Microsoft.Authorization/diagnosticSettings/delete
Microsoft.Authorization/diagnosticSettingsCategories/read
Microsoft.Authorization/locks/read
Microsoft.Authorization/locks/write
Microsoft.Authorization/locks/delete
Microsoft.Authorization/operations/read
Microsoft.Authorization/permissions/read
Microsoft.Authorization/policies/audit/action
Microsoft.Authorization/policies/auditIfNotExists/action
Microsoft.Authorization/policies/deny/action
Microsoft.Authorization/policies/deployIfNotExists/action
Microsoft.Authorization/policyAssignments/read
Microsoft.Authorization/policyAssignments/write
Microsoft.Authorization/policyAssignments/delete
Microsoft.Authorization/policyAssignments/exempt/action
Microsoft.Authorization/policyDefinitions/read
Microsoft.Authorization/policyDefinitions/write
Microsoft.Authorization/policyDefinitions/delete
Microsoft.Authorization/policyExemptions/read
Microsoft.Authorization/policyExemptions/write
Microsoft.Authorization/policyExemptions/delete
Microsoft.Authorization/policySetDefinitions/read
Microsoft.Authorization/policySetDefinitions/write
Microsoft.Authorization/policySetDefinitions/delete
Microsoft.Authorization/providerOperations/read
Microsoft.Authorization/roleAssignments/read
Microsoft.Authorization/roleAssignments/write
Microsoft.Authorization/roleAssignments/delete
Microsoft.Authorization/roleAssignmentScheduleInstances/read
Microsoft.Authorization/roleAssignmentScheduleRequests/read
Microsoft.Authorization/roleAssignmentScheduleRequests/write
Microsoft.Authorization/roleAssignmentScheduleRequests/cancel/action
Microsoft.Authorization/roleAssignmentSchedules/read
Microsoft.Authorization/roleDefinitions/read
Microsoft.Authorization/roleDefinitions/write
Microsoft.Authorization/roleDefinitions/delete
Microsoft.Authorization/roleEligibilityScheduleInstances/read
Microsoft.Authorization/roleEligibilityScheduleRequests/read
Microsoft.Authorization/roleEligibilityScheduleRequests/write
Microsoft.Authorization/roleEligibilityScheduleRequests/cancel/action
Microsoft.Authorization/roleEligibilitySchedules/read
Microsoft.Authorization/roleManagementPolicies/read
Microsoft.Authorization/roleManagementPolicies/write
Microsoft.Authorization/roleManagementPolicyAssignments/read

Microsoft.Blueprint/register/action
Microsoft.Blueprint/blueprintAssignments/read
Microsoft.Blueprint/blueprintAssignments/write
Microsoft.Blueprint/blueprintAssignments/delete
Microsoft.Blueprint/blueprintAssignments/whoisblueprint/action
Microsoft.Blueprint/blueprintAssignments/assignmentOperations/read
Microsoft.Blueprint/blueprints/read
Microsoft.Blueprint/blueprints/write
Microsoft.Blueprint/blueprints/delete
Microsoft.Blueprint/blueprints/artifacts/read
Microsoft.Blueprint/blueprints/artifacts/write
Microsoft.Blueprint/blueprints/artifacts/delete
Microsoft.Blueprint/blueprints/versions/read
Microsoft.Blueprint/blueprints/versions/write
Microsoft.Blueprint/blueprints/versions/delete
Microsoft.Blueprint/blueprints/versions/artifacts/read

Microsoft.Resources/checkResourceName/action
Microsoft.Resources/calculateTemplateHash/action
Microsoft.Resources/changes/read
Microsoft.Resources/checkPolicyCompliance/read
Microsoft.Resources/deployments/read
Microsoft.Resources/deployments/write
Microsoft.Resources/deployments/delete
Microsoft.Resources/deployments/cancel/action
Microsoft.Resources/deployments/validate/action
Microsoft.Resources/deployments/whatIf/action
Microsoft.Resources/deployments/exportTemplate/action
Microsoft.Resources/deployments/operations/read
Microsoft.Resources/deployments/operationstatuses/read
Microsoft.Resources/deploymentScripts/read
Microsoft.Resources/deploymentScripts/write
Microsoft.Resources/deploymentScripts/delete
Microsoft.Resources/deploymentScripts/logs/read
Microsoft.Resources/deploymentStacks/read
Microsoft.Resources/deploymentStacks/write
Microsoft.Resources/deploymentStacks/delete
Microsoft.Resources/deploymentStacks/validate/action
Microsoft.Resources/deploymentStacks/exportTemplate/action
Microsoft.Resources/deploymentStacks/manageDenySetting/action
Microsoft.Resources/links/read
Microsoft.Resources/links/write
Microsoft.Resources/links/delete
Microsoft.Resources/marketplace/purchase/action
Microsoft.Resources/providers/read
Microsoft.Resources/resources/read
Microsoft.Resources/subscriptions/read
Microsoft.Resources/subscriptions/locations/read
Microsoft.Resources/subscriptions/operationresults/read
Microsoft.Resources/subscriptions/providers/read
Microsoft.Resources/subscriptions/resourceGroups/read
Microsoft.Resources/subscriptions/resourceGroups/write
Microsoft.Resources/subscriptions/resourceGroups/delete
Microsoft.Resources/subscriptions/resourceGroups/moveResources/action
Microsoft.Resources/subscriptions/resourceGroups/validateMoveResources/action
Microsoft.Resources/subscriptions/resourcegroups/deployments/read
Microsoft.Resources/subscriptions/resourcegroups/deployments/write
Microsoft.Resources/subscriptions/resourcegroups/deployments/operations/read
Microsoft.Resources/subscriptions/resourcegroups/deployments/operationstatuses/read
Microsoft.Resources/subscriptions/resourcegroups/resources/read
Microsoft.Resources/subscriptions/resources/read
Microsoft.Resources/subscriptions/tagNames/read
Microsoft.Resources/subscriptions/tagNames/write
Microsoft.Resources/subscriptions/tagNames/delete
Microsoft.Resources/tags/read
Microsoft.Resources/tags/write
Microsoft.Resources/tags/delete
Microsoft.Resources/templateSpecs/read
Microsoft.Resources/templateSpecs/write
Microsoft.Resources/templateSpecs/delete
Microsoft.Resources/templateSpecs/versions/read
Microsoft.Resources/templateSpecs/versions/write
Microsoft.Resources/templateSpecs/versions/delete
Microsoft.Resources/tenants/read

Microsoft.Subscription/cancel/action
Microsoft.Subscription/enable/action
Microsoft.Purview/consents/write
Microsoft.Purview/consents/delete
Microsoft.ResourceHealth/AvailabilityStatuses/read
Microsoft.ResourceHealth/AvailabilityStatuses/current/read
Microsoft.ResourceHealth/events/read
Microsoft.ResourceGraph/resources/read
Microsoft.KeyVault/vaults/read
Microsoft.ManagedIdentity/userAssignedIdentities/read
Microsoft.ManagedIdentity/userAssignedIdentities/assign/action
Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read
Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write
Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete
Microsoft.Kubernetes/connectedClusters/Read
Microsoft.Kubernetes/connectedClusters/Write
Microsoft.Kubernetes/connectedClusters/Delete
Microsoft.Kubernetes/connectedClusters/listClusterUserCredential/action

Microsoft.ContainerRegistry/register/action
Microsoft.ContainerRegistry/unregister/action
Microsoft.ContainerRegistry/checkNameAvailability/read
Microsoft.ContainerRegistry/locations/operationResults/read
Microsoft.ContainerRegistry/operations/read
Microsoft.ContainerRegistry/registries/read
Microsoft.ContainerRegistry/registries/write
Microsoft.ContainerRegistry/registries/delete
Microsoft.ContainerRegistry/registries/listCredentials/action
Microsoft.ContainerRegistry/registries/regenerateCredential/action
Microsoft.ContainerRegistry/registries/generateCredentials/action
Microsoft.ContainerRegistry/registries/importImage/action
Microsoft.ContainerRegistry/registries/scheduleRun/action
Microsoft.ContainerRegistry/registries/privateEndpointConnectionsApproval/action
Microsoft.ContainerRegistry/registries/agentpools/read
Microsoft.ContainerRegistry/registries/agentpools/write
Microsoft.ContainerRegistry/registries/agentpools/delete
Microsoft.ContainerRegistry/registries/artifacts/delete
Microsoft.ContainerRegistry/registries/builds/read
Microsoft.ContainerRegistry/registries/builds/write
Microsoft.ContainerRegistry/registries/builds/getLogLink/action
Microsoft.ContainerRegistry/registries/builds/cancel/action
Microsoft.ContainerRegistry/registries/buildTasks/read
Microsoft.ContainerRegistry/registries/buildTasks/write
Microsoft.ContainerRegistry/registries/buildTasks/delete
Microsoft.ContainerRegistry/registries/cacheRules/read
Microsoft.ContainerRegistry/registries/cacheRules/write
Microsoft.ContainerRegistry/registries/cacheRules/delete
Microsoft.ContainerRegistry/registries/connectedRegistries/read
Microsoft.ContainerRegistry/registries/connectedRegistries/write
Microsoft.ContainerRegistry/registries/connectedRegistries/delete
Microsoft.ContainerRegistry/registries/credentialSets/read
Microsoft.ContainerRegistry/registries/credentialSets/write
Microsoft.ContainerRegistry/registries/credentialSets/delete
Microsoft.ContainerRegistry/registries/deleted/read
Microsoft.ContainerRegistry/registries/deleted/restore/action
Microsoft.ContainerRegistry/registries/eventGridFilters/read
Microsoft.ContainerRegistry/registries/exportPipelines/read
Microsoft.ContainerRegistry/registries/importPipelines/read
Microsoft.ContainerRegistry/registries/listPolicies/read
Microsoft.ContainerRegistry/registries/listUsages/read
Microsoft.ContainerRegistry/registries/metadata/read
Microsoft.ContainerRegistry/registries/metadata/write
Microsoft.ContainerRegistry/registries/operationStatuses/read
Microsoft.ContainerRegistry/registries/pipelineRuns/read
Microsoft.ContainerRegistry/registries/privateEndpointConnections/read
Microsoft.ContainerRegistry/registries/privateEndpointConnections/write
Microsoft.ContainerRegistry/registries/privateEndpointConnections/delete
Microsoft.ContainerRegistry/registries/pull/read
Microsoft.ContainerRegistry/registries/push/write
Microsoft.ContainerRegistry/registries/quarantine/read
Microsoft.ContainerRegistry/registries/quarantine/write
Microsoft.ContainerRegistry/registries/replications/read
Microsoft.ContainerRegistry/registries/replications/write
Microsoft.ContainerRegistry/registries/replications/delete
Microsoft.ContainerRegistry/registries/runs/read
Microsoft.ContainerRegistry/registries/runs/write
Microsoft.ContainerRegistry/registries/runs/listLogSasUrl/action
Microsoft.ContainerRegistry/registries/runs/cancel/action
Microsoft.ContainerRegistry/registries/scopeMaps/read
Microsoft.ContainerRegistry/registries/scopeMaps/write
Microsoft.ContainerRegistry/registries/scopeMaps/delete
Microsoft.ContainerRegistry/registries/sign/write
Microsoft.ContainerRegistry/registries/taskruns/read
Microsoft.ContainerRegistry/registries/taskruns/write
Microsoft.ContainerRegistry/registries/taskruns/delete
Microsoft.ContainerRegistry/registries/tasks/read
Microsoft.ContainerRegistry/registries/tasks/write
Microsoft.ContainerRegistry/registries/tasks/delete
Microsoft.ContainerRegistry/registries/tasks/listDetails/action
Microsoft.ContainerRegistry/registries/tokens/read
Microsoft.ContainerRegistry/registries/tokens/write
Microsoft.ContainerRegistry/registries/tokens/delete
Microsoft.ContainerRegistry/registries/updatePolicies/write
Microsoft.ContainerRegistry/registries/webhooks/read
Microsoft.ContainerRegistry/registries/webhooks/write
Microsoft.ContainerRegistry/registries/webhooks/delete
Microsoft.ContainerRegistry/registries/webhooks/getCallbackConfig/action
Microsoft.ContainerRegistry/registries/webhooks/ping/action
Microsoft.ContainerRegistry/registries/webhooks/listEvents/action

Microsoft.ContainerService/register/action
Microsoft.ContainerService/unregister/action
Microsoft.ContainerService/locations/kubernetesversions/read
Microsoft.ContainerService/locations/operationresults/read
Microsoft.ContainerService/locations/operations/read
Microsoft.ContainerService/locations/orchestrators/read
Microsoft.ContainerService/locations/osOptions/read
Microsoft.ContainerService/locations/usages/read
Microsoft.ContainerService/operations/read
Microsoft.ContainerService/managedClusters/read
Microsoft.ContainerService/managedClusters/write
Microsoft.ContainerService/managedClusters/delete
Microsoft.ContainerService/managedClusters/start/action
Microsoft.ContainerService/managedClusters/stop/action
Microsoft.ContainerService/managedClusters/abort/action
Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action
Microsoft.ContainerService/managedClusters/listClusterUserCredential/action
Microsoft.ContainerService/managedClusters/listClusterMonitoringUserCredential/action
Microsoft.ContainerService/managedClusters/resetServicePrincipalProfile/action
Microsoft.ContainerService/managedClusters/resetAADProfile/action
Microsoft.ContainerService/managedClusters/rotateClusterCertificates/action
Microsoft.ContainerService/managedClusters/runCommand/action
Microsoft.ContainerService/managedClusters/privateEndpointConnectionsApproval/action
Microsoft.ContainerService/managedClusters/accessProfiles/read
Microsoft.ContainerService/managedClusters/accessProfiles/listCredential/action
Microsoft.ContainerService/managedClusters/agentPools/read
Microsoft.ContainerService/managedClusters/agentPools/write
Microsoft.ContainerService/managedClusters/agentPools/delete
Microsoft.ContainerService/managedClusters/agentPools/upgradeNodeImageVersion/action
Microsoft.ContainerService/managedClusters/agentPools/upgradeProfiles/read
Microsoft.ContainerService/managedClusters/availableAgentPoolVersions/read
Microsoft.ContainerService/managedClusters/detectors/read
Microsoft.ContainerService/managedClusters/diagnosticsState/read
Microsoft.ContainerService/managedClusters/maintenanceConfigurations/read
Microsoft.ContainerService/managedClusters/maintenanceConfigurations/write
Microsoft.ContainerService/managedClusters/maintenanceConfigurations/delete
Microsoft.ContainerService/managedClusters/privateEndpointConnections/read
Microsoft.ContainerService/managedClusters/privateEndpointConnections/write
Microsoft.ContainerService/managedClusters/privateEndpointConnections/delete
Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings/read
Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings/write
Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings/delete
Microsoft.ContainerService/managedClusters/upgradeProfiles/read
Microsoft.ContainerService/managedclustersnapshots/read
Microsoft.ContainerService/managedclustersnapshots/write
Microsoft.ContainerService/managedclustersnapshots/delete
Microsoft.ContainerService/snapshots/read
Microsoft.ContainerService/snapshots/write
Microsoft.ContainerService/snapshots/delete

Microsoft.Web/listSitesAssignedToHostName/Read
Microsoft.Web/operations/read
Microsoft.Web/publishingusers/read
Microsoft.Web/publishingusers/write
Microsoft.Web/serverfarms/Read
Microsoft.Web/serverfarms/Write
Microsoft.Web/serverfarms/Delete
Microsoft.Web/serverfarms/Join/Action
Microsoft.Web/serverfarms/restartSites/Action
Microsoft.Web/staticSites/Read
Microsoft.Web/staticSites/Write
Microsoft.Web/staticSites/Delete
Microsoft.Web/sites/Read
Microsoft.Web/sites/Write
Microsoft.Web/sites/Delete
Microsoft.Web/sites/backup/Action
Microsoft.Web/sites/publishxml/Action
Microsoft.Web/sites/publish/Action
Microsoft.Web/sites/restart/Action
Microsoft.Web/sites/start/Action
Microsoft.Web/sites/stop/Action
Microsoft.Web/sites/slotsswap/Action
Microsoft.Web/sites/slotsdiffs/Action
Microsoft.Web/sites/applySlotConfig/Action
Microsoft.Web/sites/resetSlotConfig/Action
Microsoft.Web/sites/containerlogs/action
Microsoft.Web/sites/newpassword/action
Microsoft.Web/sites/sync/action
Microsoft.Web/sites/slotcopy/action
Microsoft.Web/sites/basicPublishingCredentialsPolicies/Read
Microsoft.Web/sites/basicPublishingCredentialsPolicies/Write
Microsoft.Web/sites/config/Read
Microsoft.Web/sites/config/list/Action
Microsoft.Web/sites/config/Write
Microsoft.Web/sites/config/delete
Microsoft.Web/sites/config/appsettings/read
Microsoft.Web/sites/config/snapshots/read
Microsoft.Web/sites/deployments/read
Microsoft.Web/sites/deployments/write
Microsoft.Web/sites/deployments/delete
Microsoft.Web/sites/deployments/log/read
Microsoft.Web/sites/extensions/read
Microsoft.Web/sites/extensions/write
Microsoft.Web/sites/extensions/delete
Microsoft.Web/sites/functions/read
Microsoft.Web/sites/functions/write
Microsoft.Web/sites/functions/delete
Microsoft.Web/sites/functions/listkeys/action
Microsoft.Web/sites/functions/listsecrets/action
Microsoft.Web/sites/hostnamebindings/read
Microsoft.Web/sites/hostnamebindings/write
Microsoft.Web/sites/hostnamebindings/delete
Microsoft.Web/sites/instances/read
Microsoft.Web/sites/metrics/read
Microsoft.Web/sites/operationresults/read
Microsoft.Web/sites/operations/read
Microsoft.Web/sites/publishxml/read
Microsoft.Web/sites/restore/read
Microsoft.Web/sites/restore/write
Microsoft.Web/sites/sourcecontrols/Read
Microsoft.Web/sites/sourcecontrols/Write
Microsoft.Web/sites/sourcecontrols/Delete
Microsoft.Web/sites/virtualnetworkconnections/read
Microsoft.Web/sites/virtualnetworkconnections/write
Microsoft.Web/sites/virtualnetworkconnections/delete
Microsoft.Web/sites/webjobs/read
Microsoft.Web/sites/slots/Read
Microsoft.Web/sites/slots/Write
Microsoft.Web/sites/slots/Delete
Microsoft.Web/sites/slots/backup/Action
Microsoft.Web/sites/slots/publishxml/Action
Microsoft.Web/sites/slots/publish/Action
Microsoft.Web/sites/slots/restart/Action
Microsoft.Web/sites/slots/start/Action
Microsoft.Web/sites/slots/stop/Action
Microsoft.Web/sites/slots/slotsswap/Action
Microsoft.Web/sites/slots/slotsdiffs/Action
Microsoft.Web/sites/slots/applySlotConfig/Action
Microsoft.Web/sites/slots/resetSlotConfig/Action
Microsoft.Web/sites/slots/containerlogs/action
Microsoft.Web/sites/slots/newpassword/action
Microsoft.Web/sites/slots/sync/action
Microsoft.Web/sites/slots/slotcopy/action
Microsoft.Web/sites/slots/config/Read
Microsoft.Web/sites/slots/config/list/Action
Microsoft.Web/sites/slots/config/Write
Microsoft.Web/sites/slots/config/delete
Microsoft.Web/sites/slots/config/appsettings/read
Microsoft.Web/sites/slots/config/appsettings/write
Microsoft.Web/sites/slots/deployments/read
Microsoft.Web/sites/slots/deployments/write
Microsoft.Web/sites/slots/deployments/delete
Microsoft.Web/sites/slots/hostnamebindings/read
Microsoft.Web/sites/slots/hostnamebindings/write
Microsoft.Web/sites/slots/hostnamebindings/delete
Microsoft.Web/sites/slots/instances/read
Microsoft.Web/sites/slots/operationresults/read
Microsoft.Web/sites/slots/operations/read
Microsoft.Web/sites/slots/sourcecontrols/Read
Microsoft.Web/sites/slots/sourcecontrols/Write
Microsoft.Web/sites/slots/sourcecontrols/Delete

Microsoft.Compute/virtualMachines/read
Microsoft.Compute/virtualMachines/write
Microsoft.Compute/virtualMachines/start/action
Microsoft.Compute/virtualMachines/restart/action
Microsoft.Compute/virtualMachines/deallocate/action
Microsoft.Compute/virtualMachines/powerOff/action
Microsoft.Compute/virtualMachines/retrieveBootDiagnosticsData/action
Microsoft.Compute/virtualMachines/instanceView/read
Microsoft.Compute/virtualMachines/extensions/read
Microsoft.Compute/virtualMachines/extensions/write
Microsoft.Compute/virtualMachines/extensions/delete
Microsoft.Compute/virtualMachines/vmSizes/read
Microsoft.Compute/virtualMachineScaleSets/read
Microsoft.Compute/virtualMachineScaleSets/write
Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read
Microsoft.Compute/virtualMachineScaleSets/virtualMachines/write
Microsoft.Compute/availabilitySets/write
Microsoft.Compute/disks/read
Microsoft.Compute/disks/write
Microsoft.Compute/disks/delete
Microsoft.Compute/disks/beginGetAccess/action
Microsoft.Compute/images/read
Microsoft.Compute/images/write
Microsoft.Compute/snapshots/read
Microsoft.Compute/snapshots/write
Microsoft.Compute/snapshots/delete
Microsoft.Compute/galleries/share/action
Microsoft.Compute/galleries/images/read
Microsoft.Compute/galleries/images/write
Microsoft.Compute/locations/operations/read

Microsoft.Network/networkInterfaces/read
Microsoft.Network/networkInterfaces/write
Microsoft.Network/networkInterfaces/delete
Microsoft.Network/networkInterfaces/join/action
Microsoft.Network/publicIPAddresses/read
Microsoft.Network/publicIPAddresses/write
Microsoft.Network/publicIPAddresses/delete
Microsoft.Network/publicIPAddresses/join/action
Microsoft.Network/networkSecurityGroups/read
Microsoft.Network/networkSecurityGroups/write
Microsoft.Network/networkSecurityGroups/delete
Microsoft.Network/networkSecurityGroups/join/action
Microsoft.Network/networkSecurityGroups/securityRules/read
Microsoft.Network/networkSecurityGroups/securityRules/write
Microsoft.Network/networkSecurityGroups/securityRules/delete
Microsoft.Network/virtualNetworks/read
Microsoft.Network/virtualNetworks/subnets/read
Microsoft.Network/virtualNetworks/subnets/write
Microsoft.Network/virtualNetworks/subnets/join/action
Microsoft.Network/privateEndpoints/read
Microsoft.Network/privateEndpoints/write
Microsoft.Network/privateEndpoints/delete
Microsoft.Network/privateDnsZones/join/action
Microsoft.Network/routeTables/join/action
Microsoft.Network/natGateways/join/action
Microsoft.Network/locations/operations/read

Microsoft.Storage/storageAccounts/read
Microsoft.Storage/storageAccounts/write
Microsoft.Storage/storageAccounts/delete
Microsoft.Storage/storageAccounts/listKeys/action
Microsoft.Storage/storageAccounts/blobServices/read
Microsoft.Storage/storageAccounts/blobServices/containers/read
Microsoft.Storage/storageAccounts/blobServices/containers/write
Microsoft.Storage/storageAccounts/blobServices/containers/delete
Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action
Microsoft.Storage/storageAccounts/fileServices/read
Microsoft.Storage/storageAccounts/fileServices/shares/read
Microsoft.Storage/storageAccounts/fileServices/shares/write
Microsoft.Storage/storageAccounts/fileServices/shares/delete
`

// Kubernetes data actions of AKS clusters, without the
// Microsoft.ContainerService/managedClusters/ prefix; r/w/d expands a
// resource to its read, write and delete data actions.
const referenceKubernetes = `
apps/controllerrevisions r/w/d
apps/daemonsets r/w/d
apps/deployments r/w/d
apps/replicasets r/w/d
apps/statefulsets r/w/d
authentication.k8s.io/tokenreviews/write
authentication.k8s.io/userextras/impersonate/action
authorization.k8s.io/localsubjectaccessreviews/write
authorization.k8s.io/selfsubjectaccessreviews/write
authorization.k8s.io/selfsubjectrulesreviews/write
authorization.k8s.io/subjectaccessreviews/write
autoscaling/horizontalpodautoscalers r/w/d
batch/cronjobs r/w/d
batch/jobs r/w/d
bindings/write
certificates.k8s.io/certificatesigningrequests r/w/d
componentstatuses r/w/d
configmaps r/w/d
coordination.k8s.io/leases r/w/d
discovery.k8s.io/endpointslices r/w/d
endpoints r/w/d
events r/w/d
events.k8s.io/events r/w/d
extensions/daemonsets r/w/d
extensions/deployments r/w/d
extensions/ingresses r/w/d
extensions/networkpolicies r/w/d
extensions/podsecuritypolicies r/w/d
extensions/replicasets r/w/d
groups/impersonate/action
healthz/read
limitranges r/w/d
livez/read
logs/read
metrics/read
metrics.k8s.io/nodes/read
metrics.k8s.io/pods/read
namespaces r/w/d
networking.k8s.io/ingressclasses r/w/d
networking.k8s.io/ingresses r/w/d
networking.k8s.io/networkpolicies r/w/d
node.k8s.io/runtimeclasses r/w/d
nodes r/w/d
openapi/v2/read
persistentvolumeclaims r/w/d
persistentvolumes r/w/d
pods r/w/d
pods/exec/action
podtemplates r/w/d
policy/poddisruptionbudgets r/w/d
policy/podsecuritypolicies r/w/d
policy/podsecuritypolicies/use/action
rbac.authorization.k8s.io/clusterrolebindings r/w/d
rbac.authorization.k8s.io/clusterroles r/w/d
rbac.authorization.k8s.io/clusterroles/bind/action
rbac.authorization.k8s.io/clusterroles/escalate/action
rbac.authorization.k8s.io/rolebindings r/w/d
rbac.authorization.k8s.io/roles r/w/d
rbac.authorization.k8s.io/roles/bind/action
rbac.authorization.k8s.io/roles/escalate/action
readyz/read
replicationcontrollers r/w/d
resourcequotas r/w/d
scheduling.k8s.io/priorityclasses r/w/d
secrets r/w/d
serviceaccounts r/w/d
serviceaccounts/impersonate/action
services r/w/d
storage.k8s.io/csidrivers r/w/d
storage.k8s.io/csinodes r/w/d
storage.k8s.io/storageclasses r/w/d
storage.k8s.io/volumeattachments r/w/d
swagger-api/read
ui/read
users/impersonate/action
version/read
`

const referenceDataActions = `
Microsoft.ContainerRegistry/registries/quarantinedArtifacts/read
Microsoft.ContainerRegistry/registries/quarantinedArtifacts/write
Microsoft.ContainerRegistry/registries/repositories/content/read
Microsoft.ContainerRegistry/registries/repositories/content/write
Microsoft.ContainerRegistry/registries/repositories/content/delete
Microsoft.ContainerRegistry/registries/repositories/metadata/read
Microsoft.ContainerRegistry/registries/repositories/metadata/write
Microsoft.ContainerRegistry/registries/repositories/metadata/delete
Microsoft.ContainerRegistry/registries/trustedCollections/write
Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read
Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write
Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete
Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action
Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action
Microsoft.Storage/storageAccounts/queueServices/queues/messages/read
Microsoft.Storage/storageAccounts/queueServices/queues/messages/write
Microsoft.Storage/storageAccounts/queueServices/queues/messages/delete
Microsoft.Storage/storageAccounts/queueServices/queues/messages/add/action
Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action
`

var (
	refOnce sync.Once
	refOps  []Operation
)

func referenceOps() []Operation {
	refOnce.Do(func() {
		seen := map[string]bool{}
		add := func(name string, data bool) {
			key := strings.ToLower(name)
			if data {
				key = "d:" + key
			}
			if !seen[key] {
				seen[key] = true
				refOps = append(refOps, Operation{Name: name, Data: data})
			}
		}
		for _, f := range strings.Fields(referenceActions) {
			add(f, false)
		}
		for _, f := range strings.Fields(referenceDataActions) {
			add(f, true)
		}
		for _, line := range strings.Split(referenceKubernetes, "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) == 1:
				add(aksClusters+"/"+f[0], true)
			case len(f) == 2 && f[1] == "r/w/d":
				for _, v := range []string{"read", "write", "delete"} {
					add(aksClusters+"/"+f[0]+"/"+v, true)
				}
			}
		}
	})
	return refOps
}

// ReferenceOperations returns the reference list of real operations (see
// the comment above referenceActions).
func ReferenceOperations() []Operation {
	return append([]Operation(nil), referenceOps()...)
}
