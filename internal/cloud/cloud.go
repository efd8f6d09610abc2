// Package cloud is the one table of Azure clouds Azimuth knows, and the
// server-level override file that replaces their endpoints (how the Azure
// simulator is plugged in for `azimuth dev` and tests). A connector only
// names a cloud; it can never carry an endpoint, so no connector can send
// credentials to an arbitrary host.
package cloud

import (
	"fmt"
	"sort"
	"strings"
)

// Name is a connector's azureEnvironmentType.
type Name string

// The clouds. AZURE and AZURE_US_GOVERNMENT are Harness's values;
// AZURE_CHINA is Azimuth's own.
const (
	Public     Name = "AZURE"
	USGov      Name = "AZURE_US_GOVERNMENT"
	China      Name = "AZURE_CHINA"
	DefaultAKS      = "6dae42f8-4368-4678-94ff-3960e28e3630" // AKS AAD server application id, the same in every cloud
)

// Endpoints are what Azimuth needs to know of one cloud.
type Endpoints struct {
	// AuthorityHost is Entra ID's host, with a trailing slash.
	AuthorityHost string `json:"authorityHost"`
	// ResourceManager is ARM's endpoint, without a trailing slash.
	ResourceManager string `json:"resourceManagerEndpoint"`
	// ResourceManagerAudience is the audience of ARM tokens, with a trailing slash.
	ResourceManagerAudience string `json:"resourceManagerAudience"`
	// ContainerRegistryAudience is the audience of the AAD token exchanged at a registry.
	ContainerRegistryAudience string `json:"containerRegistryAudience"`
	// ContainerRegistrySuffix is the suffix of registry login servers, with its leading dot.
	ContainerRegistrySuffix string `json:"containerRegistrySuffix"`
	// AKSServerAppID is the application id (audience) of AKS's AAD server app.
	AKSServerAppID string `json:"aksServerAppId"`
	// DisplayName is the SDK's name of the cloud (AzurePublicCloud, ...).
	DisplayName string `json:"displayName,omitempty"`
}

var builtin = map[Name]Endpoints{
	Public: {
		AuthorityHost:             "https://login.microsoftonline.com/",
		ResourceManager:           "https://management.azure.com",
		ResourceManagerAudience:   "https://management.core.windows.net/",
		ContainerRegistryAudience: "https://containerregistry.azure.net",
		ContainerRegistrySuffix:   ".azurecr.io",
		AKSServerAppID:            DefaultAKS,
		DisplayName:               "AzurePublicCloud",
	},
	USGov: {
		AuthorityHost:             "https://login.microsoftonline.us/",
		ResourceManager:           "https://management.usgovcloudapi.net",
		ResourceManagerAudience:   "https://management.core.usgovcloudapi.net/",
		ContainerRegistryAudience: "https://containerregistry.azure.net",
		ContainerRegistrySuffix:   ".azurecr.us",
		AKSServerAppID:            DefaultAKS,
		DisplayName:               "AzureUSGovernmentCloud",
	},
	China: {
		AuthorityHost:             "https://login.chinacloudapi.cn/",
		ResourceManager:           "https://management.chinacloudapi.cn",
		ResourceManagerAudience:   "https://management.core.chinacloudapi.cn/",
		ContainerRegistryAudience: "https://containerregistry.azure.net",
		ContainerRegistrySuffix:   ".azurecr.cn",
		AKSServerAppID:            DefaultAKS,
		DisplayName:               "AzureChinaCloud",
	},
}

// Names lists the clouds in a stable order.
func Names() []Name { return []Name{Public, USGov, China} }

// Builtin returns the real endpoints of a cloud.
func Builtin(n Name) (Endpoints, bool) {
	e, ok := builtin[n]
	return e, ok
}

// Parse maps a connector's azureEnvironmentType to a Name. The empty string
// means AZURE, as Harness treats null.
func Parse(s string) (Name, error) {
	if s == "" {
		return Public, nil
	}
	n := Name(s)
	if _, ok := builtin[n]; !ok {
		allowed := make([]string, 0, len(builtin))
		for _, k := range Names() {
			allowed = append(allowed, string(k))
		}
		return "", fmt.Errorf("unknown Azure environment %q; allowed: %s", s, strings.Join(allowed, ", "))
	}
	return n, nil
}

// Validate checks that every endpoint is present and https.
func (e Endpoints) Validate() error {
	for _, f := range []struct{ name, v string }{
		{"authorityHost", e.AuthorityHost},
		{"resourceManagerEndpoint", e.ResourceManager},
		{"resourceManagerAudience", e.ResourceManagerAudience},
		{"containerRegistryAudience", e.ContainerRegistryAudience},
	} {
		if !strings.HasPrefix(f.v, "https://") {
			return fmt.Errorf("%s must be an https URL, got %q", f.name, f.v)
		}
	}
	if !strings.HasSuffix(e.AuthorityHost, "/") {
		return fmt.Errorf("authorityHost must end with a slash, got %q", e.AuthorityHost)
	}
	if e.ContainerRegistrySuffix == "" || !strings.HasPrefix(e.ContainerRegistrySuffix, ".") {
		return fmt.Errorf("containerRegistrySuffix must start with a dot, got %q", e.ContainerRegistrySuffix)
	}
	if e.AKSServerAppID == "" {
		return fmt.Errorf("aksServerAppId is required")
	}
	return nil
}

// sortedHosts is used by Override.String for stable output.
func sortedHosts(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
