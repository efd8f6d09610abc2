package azure

import (
	"fmt"
	"net/url"
	"strings"

	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

// ContainerRegistryService is the azcore service name under which the ACR
// data-plane client (azcontainerregistry.ServiceName) reads its token
// audience from a cloud.Configuration.
const ContainerRegistryService azcloud.ServiceName = "azcontainerregistry"

// Cloud is one Azure cloud as this process reaches it: the endpoints of
// internal/cloud with the server-level override applied, and the azcore
// configuration built from them.
type Cloud struct {
	Name      cloud.Name
	Endpoints cloud.Endpoints
	// Config is what every SDK client and credential of this cloud is
	// given: the authority host, ARM's endpoint and audience, and ACR's
	// audience.
	Config azcloud.Configuration
	// DisableInstanceDiscovery is set when the authority is not one of
	// Azure's own login hosts (a simulator, an Azure Stack): MSAL would
	// otherwise ask login.microsoftonline.com about it.
	DisableInstanceDiscovery bool
	// Overridden reports whether the endpoints come from the override file.
	Overridden bool
}

// ARMScope is the scope of ARM tokens: the audience plus "/.default"
// (with the double slash ARM's audience implies, as the SDK builds it).
func (c *Cloud) ARMScope() string { return c.Endpoints.ResourceManagerAudience + "/.default" }

// AuthorityHost is the host name (and port, if any) of Entra ID.
func (c *Cloud) AuthorityHost() string { return hostOf(c.Endpoints.AuthorityHost) }

// ResourceManagerHost is the host name (and port, if any) of ARM.
func (c *Cloud) ResourceManagerHost() string { return hostOf(c.Endpoints.ResourceManager) }

// azureLoginHosts are Entra ID hosts MSAL trusts without instance
// discovery (azure-protocols §1.1); any other authority gets discovery
// disabled.
var azureLoginHosts = map[string]bool{
	"login.windows.net":                true,
	"login.microsoftonline.com":        true,
	"login.microsoft.com":              true,
	"sts.windows.net":                  true,
	"login.partner.microsoftonline.cn": true,
	"login.chinacloudapi.cn":           true,
	"login.microsoftonline.de":         true,
	"login-us.microsoftonline.com":     true,
	"login.microsoftonline.us":         true,
	"login.usgovcloudapi.net":          true,
}

func newCloud(o *cloud.Override, n cloud.Name) (*Cloud, error) {
	e, err := o.Endpoints(n)
	if err != nil {
		return nil, err
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("cloud %s: %w", n, err)
	}
	overridden := false
	if o != nil {
		_, overridden = o.Clouds[n]
	}
	return &Cloud{
		Name:      n,
		Endpoints: e,
		Config: azcloud.Configuration{
			ActiveDirectoryAuthorityHost: e.AuthorityHost,
			Services: map[azcloud.ServiceName]azcloud.ServiceConfiguration{
				azcloud.ResourceManager:  {Endpoint: e.ResourceManager, Audience: e.ResourceManagerAudience},
				ContainerRegistryService: {Audience: e.ContainerRegistryAudience},
			},
		},
		DisableInstanceDiscovery: !azureLoginHosts[strings.ToLower(hostName(e.AuthorityHost))],
		Overridden:               overridden,
	}, nil
}

// hostOf returns the host[:port] of a URL, or the string itself.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Host
}

// hostName returns the host of a URL without its port.
func hostName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Hostname()
}
