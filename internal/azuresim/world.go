package azuresim

import (
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

// World is everything the simulator knows: tenants with their app
// registrations, identities, simulated hosts, subscriptions, resources and
// role assignments. It is loaded from YAML (JSON field names; see
// docs/azuresim.md) and owned by one Sim once started: load a fresh World
// for every Sim, and change it afterwards only through the Sim's methods.
type World struct {
	Tenants []*Tenant `json:"tenants"`
	// FederatedIssuers gives the signing keys of workload-identity issuers
	// inline, for issuers the simulator cannot or should not reach over
	// HTTPS. Issuers not listed here are discovered through their
	// /.well-known/openid-configuration.
	FederatedIssuers []*FederatedIssuer `json:"federatedIssuers,omitempty"`

	prepared bool
}

// FederatedIssuer holds the keys of one OIDC issuer.
type FederatedIssuer struct {
	Issuer string `json:"issuer"`
	// JWKS is a JSON Web Key Set ({"keys":[...]}); RSA and EC P-256 keys.
	JWKS json.RawMessage `json:"jwks,omitempty"`
	// PublicKeysPEM holds PEM public keys or certificates, as an
	// alternative to JWKS; they are tried for every token of the issuer.
	PublicKeysPEM string `json:"publicKeysPEM,omitempty"`
}

// Tenant is one Entra ID tenant and everything that lives in it.
type Tenant struct {
	ID          string     `json:"id"`
	Domain      string     `json:"domain"`
	DisplayName string     `json:"displayName,omitempty"`
	Cloud       cloud.Name `json:"cloud,omitempty"` // default AZURE
	CountryCode string     `json:"countryCode,omitempty"`

	Apps              []*App             `json:"apps,omitempty"`
	ManagedIdentities []*ManagedIdentity `json:"managedIdentities,omitempty"`
	Hosts             []*Host            `json:"hosts,omitempty"`
	ManagementGroups  []*ManagementGroup `json:"managementGroups,omitempty"`
	Subscriptions     []*Subscription    `json:"subscriptions,omitempty"`
	RoleDefinitions   []*RoleDefinition  `json:"roleDefinitions,omitempty"` // custom roles; the built-ins are always there
	RoleAssignments   []*RoleAssignment  `json:"roleAssignments,omitempty"`
}

// App is an app registration with its service principal.
type App struct {
	Name                 string                 `json:"name"`
	AppID                string                 `json:"appId"`
	ObjectID             string                 `json:"objectId"` // the service principal's object id
	Secrets              []*ClientSecret        `json:"secrets,omitempty"`
	Certificates         []*AppCertificate      `json:"certificates,omitempty"`
	FederatedCredentials []*FederatedCredential `json:"federatedCredentials,omitempty"`
}

// ClientSecret is one client secret of an app.
type ClientSecret struct {
	KeyID     string    `json:"keyId"`
	Value     Secret    `json:"value"`
	ExpiresAt time.Time `json:"expiresAt,omitempty"` // zero: never
}

// AppCertificate is a certificate credential of an app: either given as PEM
// (the certificate, optionally followed by its key) or generated at start.
type AppCertificate struct {
	Name     string          `json:"name"`
	PEM      string          `json:"pem,omitempty"`
	Generate *CertGeneration `json:"generate,omitempty"`

	cert   *x509.Certificate
	keyPEM []byte // PKCS#8, generated certificates and PEMs that carried a key
}

// CertGeneration asks for a self-signed RSA certificate generated at start.
// Give NotAfter (absolute) or ValidFor (from start; negative for one that
// has already expired).
type CertGeneration struct {
	NotAfter *time.Time `json:"notAfter,omitempty"`
	ValidFor Duration   `json:"validFor,omitempty"`
}

// FederatedCredential trusts tokens of an external issuer (workload identity).
// Issuer, subject and audience are matched exactly, as Entra does.
type FederatedCredential struct {
	Name      string   `json:"name"`
	Issuer    string   `json:"issuer"`
	Subject   string   `json:"subject"`
	Audiences []string `json:"audiences,omitempty"` // default api://AzureADTokenExchange
}

// ManagedIdentity is a user-assigned managed identity.
type ManagedIdentity struct {
	Name                 string                 `json:"name"`
	ClientID             string                 `json:"clientId"`
	PrincipalID          string                 `json:"principalId"` // object id
	SubscriptionID       string                 `json:"subscriptionId,omitempty"`
	ResourceGroup        string                 `json:"resourceGroup,omitempty"`
	ResourceID           string                 `json:"resourceId,omitempty"` // derived when empty
	FederatedCredentials []*FederatedCredential `json:"federatedCredentials,omitempty"`
}

// Host is a simulated Azure compute resource (a VM, an App Service...) on
// which a process can run and ask for managed-identity tokens. Each host
// gets its own IMDS listener and App Service identity endpoint.
type Host struct {
	Name           string          `json:"name"`
	SystemAssigned *SystemIdentity `json:"systemAssigned,omitempty"`
	// UserAssigned names the user-assigned identities attached to the host
	// (by name, client id or resource id).
	UserAssigned   []string `json:"userAssigned,omitempty"`
	SubscriptionID string   `json:"subscriptionId,omitempty"`
	ResourceGroup  string   `json:"resourceGroup,omitempty"`
	ResourceID     string   `json:"resourceId,omitempty"` // derived when empty
	// IdentityHeader is the App Service IDENTITY_HEADER; random when empty.
	IdentityHeader Secret `json:"identityHeader,omitempty"`
}

// SystemIdentity is a host's system-assigned identity.
type SystemIdentity struct {
	PrincipalID string `json:"principalId"`
	ClientID    string `json:"clientId"`
}

// ManagementGroup is a management group. The tenant root group (id = tenant
// id) is implicit; Parent "" means the root.
type ManagementGroup struct {
	Name          string   `json:"name"`
	DisplayName   string   `json:"displayName,omitempty"`
	Parent        string   `json:"parent,omitempty"`
	Subscriptions []string `json:"subscriptions,omitempty"`
}

// Subscription is an Azure subscription.
type Subscription struct {
	ID             string           `json:"id"`
	DisplayName    string           `json:"displayName"`
	State          string           `json:"state,omitempty"` // Enabled (default), Warned, PastDue, Disabled, Deleted
	ResourceGroups []*ResourceGroup `json:"resourceGroups,omitempty"`
}

// ResourceGroup holds the resources the simulator serves.
type ResourceGroup struct {
	Name              string              `json:"name"`
	Location          string              `json:"location,omitempty"` // default eastus
	Tags              map[string]string   `json:"tags,omitempty"`
	Registries        []*Registry         `json:"registries,omitempty"`
	Clusters          []*Cluster          `json:"clusters,omitempty"`
	WebApps           []*WebApp           `json:"webApps,omitempty"`
	VirtualMachines   []*VirtualMachine   `json:"virtualMachines,omitempty"`
	NetworkInterfaces []*NetworkInterface `json:"networkInterfaces,omitempty"`
	PublicIPAddresses []*PublicIPAddress  `json:"publicIPAddresses,omitempty"`
}

// RoleDefinition is a role: a built-in (see builtinRoles) or a custom role.
type RoleDefinition struct {
	ID               string       `json:"id"` // a GUID
	RoleName         string       `json:"roleName"`
	Description      string       `json:"description,omitempty"`
	Type             string       `json:"type,omitempty"` // BuiltInRole or CustomRole (default)
	AssignableScopes []string     `json:"assignableScopes,omitempty"`
	Permissions      []Permission `json:"permissions"`
}

// RoleAssignment grants a role to a principal at a scope.
type RoleAssignment struct {
	ID string `json:"id,omitempty"` // a GUID; random when empty
	// Principal is an object id, or the name of an app, a user-assigned
	// identity or a host (its system-assigned identity) of the tenant.
	Principal string `json:"principal"`
	// Role is a role definition GUID or a role name.
	Role string `json:"role"`
	// Scope is "/", a management group, subscription, resource group or
	// resource id.
	Scope     string    `json:"scope"`
	CreatedOn time.Time `json:"createdOn,omitempty"`

	principalID string
	roleID      string
}

// Registry is a container registry.
type Registry struct {
	Name             string               `json:"name"`
	Location         string               `json:"location,omitempty"`
	SKU              string               `json:"sku,omitempty"`         // Basic, Standard, Premium (default Standard)
	LoginServer      string               `json:"loginServer,omitempty"` // default <name> + the cloud's ACR suffix
	AdminUserEnabled bool                 `json:"adminUserEnabled,omitempty"`
	AdminPasswords   []Secret             `json:"adminPasswords,omitempty"` // two random ones when empty
	CreatedAt        time.Time            `json:"createdAt,omitempty"`
	Repositories     []*Repository        `json:"repositories,omitempty"`
	Generate         *RepositoryGenerator `json:"generate,omitempty"`
}

// Repository is a repository with explicit tags.
type Repository struct {
	Name string `json:"name"`
	Tags []*Tag `json:"tags,omitempty"`
}

// Tag is one tag of a repository.
type Tag struct {
	Name      string    `json:"name"`
	Digest    string    `json:"digest,omitempty"` // derived when empty
	Created   time.Time `json:"created,omitempty"`
	Updated   time.Time `json:"updated,omitempty"`
	MediaType string    `json:"mediaType,omitempty"`
	Platforms []string  `json:"platforms,omitempty"` // os/arch, default linux/amd64
}

// RepositoryGenerator describes repositories whose tags are computed on
// demand: Repositories repositories named RepositoryPrefix + index, each
// with TagsPerRepository tags named TagPrefix + zero-padded index, created
// Interval apart from Start. Nothing is materialised until asked for, so
// 100,000 tags cost nothing.
type RepositoryGenerator struct {
	Repositories      int       `json:"repositories"`
	TagsPerRepository int       `json:"tagsPerRepository"`
	RepositoryPrefix  string    `json:"repositoryPrefix,omitempty"` // default "generated/app-"
	TagPrefix         string    `json:"tagPrefix,omitempty"`        // default "1.0."
	Start             time.Time `json:"start,omitempty"`            // default 2024-01-01T00:00:00Z
	Interval          Duration  `json:"interval,omitempty"`         // default 1m
	MediaType         string    `json:"mediaType,omitempty"`
}

// Cluster is an AKS managed cluster.
type Cluster struct {
	Name                 string       `json:"name"`
	Location             string       `json:"location,omitempty"`
	KubernetesVersion    string       `json:"kubernetesVersion,omitempty"` // default 1.30.6
	DNSPrefix            string       `json:"dnsPrefix,omitempty"`
	FQDN                 string       `json:"fqdn,omitempty"` // derived when empty
	DisableLocalAccounts bool         `json:"disableLocalAccounts,omitempty"`
	EnableRBAC           *bool        `json:"enableRBAC,omitempty"` // default true
	AADProfile           *AADProfile  `json:"aadProfile,omitempty"`
	PowerState           string       `json:"powerState,omitempty"` // default Running
	Namespaces           []*Namespace `json:"namespaces,omitempty"`
}

// AADProfile is a cluster's Entra integration.
type AADProfile struct {
	Managed             bool     `json:"managed"`
	EnableAzureRBAC     bool     `json:"enableAzureRBAC,omitempty"`
	AdminGroupObjectIDs []string `json:"adminGroupObjectIDs,omitempty"`
	TenantID            string   `json:"tenantID,omitempty"` // default the cluster's tenant
}

// Namespace is a Kubernetes namespace of a cluster.
type Namespace struct {
	Name       string       `json:"name"`
	Pods       []*Pod       `json:"pods,omitempty"`
	ConfigMaps []*ConfigMap `json:"configMaps,omitempty"`
}

// Pod is a Kubernetes pod.
type Pod struct {
	Name   string            `json:"name"`
	Image  string            `json:"image,omitempty"`
	Phase  string            `json:"phase,omitempty"` // default Running
	Labels map[string]string `json:"labels,omitempty"`
}

// ConfigMap is a Kubernetes config map.
type ConfigMap struct {
	Name string            `json:"name"`
	Data map[string]string `json:"data,omitempty"`
}

// WebApp is an App Service site with its deployment slots.
type WebApp struct {
	Name      string   `json:"name"`
	Kind      string   `json:"kind,omitempty"` // default app,linux
	Location  string   `json:"location,omitempty"`
	State     string   `json:"state,omitempty"` // default Running
	HostNames []string `json:"hostNames,omitempty"`
	// Content is what the site runs (its linuxFxVersion, e.g.
	// "DOCKER|nginx:1.25"); a slot swap exchanges it with the slot's.
	Content string  `json:"content,omitempty"`
	Slots   []*Slot `json:"slots,omitempty"`
}

// Slot is a deployment slot of a web app.
type Slot struct {
	Name      string   `json:"name"`
	State     string   `json:"state,omitempty"`
	HostNames []string `json:"hostNames,omitempty"`
	Content   string   `json:"content,omitempty"`
}

// VirtualMachine is a VM; its NICs are named in NetworkInterfaces (same RG).
type VirtualMachine struct {
	Name              string            `json:"name"`
	Location          string            `json:"location,omitempty"`
	VMSize            string            `json:"vmSize,omitempty"` // default Standard_B2s
	OSType            string            `json:"osType,omitempty"` // Linux (default) or Windows
	ComputerName      string            `json:"computerName,omitempty"`
	PowerState        string            `json:"powerState,omitempty"` // default running
	VMID              string            `json:"vmId,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
	NetworkInterfaces []string          `json:"networkInterfaces,omitempty"`
}

// NetworkInterface is a NIC; PublicIPAddress names a public IP of the same RG.
type NetworkInterface struct {
	Name             string `json:"name"`
	Location         string `json:"location,omitempty"`
	PrivateIPAddress string `json:"privateIPAddress,omitempty"`
	PublicIPAddress  string `json:"publicIPAddress,omitempty"`
	Subnet           string `json:"subnet,omitempty"` // subnet id; derived when empty
}

// PublicIPAddress is a public IP address resource.
type PublicIPAddress struct {
	Name      string `json:"name"`
	Location  string `json:"location,omitempty"`
	IPAddress string `json:"ipAddress,omitempty"`
	FQDN      string `json:"fqdn,omitempty"`
}

// Secret is a string that never prints: String, GoString, LogValue and
// MarshalJSON redact it. Reveal returns the value.
type Secret string

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string { return redacted(s) }

// GoString redacts.
func (s Secret) GoString() string { return redacted(s) }

// LogValue redacts.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted(s)) }

// MarshalJSON redacts: a World written back never carries its secrets.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(redacted(s)) }

func redacted(s Secret) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// Duration is a time.Duration written as a Go duration string ("90s", "8760h").
type Duration time.Duration

// UnmarshalJSON accepts a duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration must be a string like \"90s\" or a number of seconds, got %s", b)
	}
	*d = Duration(n * float64(time.Second))
	return nil
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

//go:embed demo.yaml
var demoYAML []byte

// DemoYAML returns the embedded demo world's source.
func DemoYAML() []byte { return append([]byte(nil), demoYAML...) }

// DemoWorld parses the embedded demo world (`azimuth dev` uses it). Each
// call returns a fresh World.
func DemoWorld() (*World, error) {
	w, err := ParseWorld(demoYAML)
	if err != nil {
		return nil, fmt.Errorf("demo world: %w", err)
	}
	return w, nil
}

// LoadWorld reads a world file.
func LoadWorld(path string) (*World, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read world: %w", err)
	}
	w, err := ParseWorld(b)
	if err != nil {
		return nil, fmt.Errorf("world %s: %w", path, err)
	}
	return w, nil
}

// ParseWorld decodes a world from YAML or JSON. Unknown fields are errors,
// so a misspelt field never silently does nothing. The world is validated
// when a Sim starts with it.
func ParseWorld(b []byte) (*World, error) {
	var w World
	if err := yaml.UnmarshalStrict(b, &w); err != nil {
		return nil, fmt.Errorf("parse world: %w", err)
	}
	return &w, nil
}

var (
	guidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainRE = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,}$`)
	nameRE   = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._()-]{0,89}$`)
	acrRE    = regexp.MustCompile(`^[a-zA-Z0-9]{5,50}$`)
)

func isGUID(s string) bool { return guidRE.MatchString(s) }

// prepare validates the world, fills defaults and generates what it asks
// for (certificates, secrets). It runs once, when a Sim starts.
func (w *World) prepare(now time.Time) error {
	if w.prepared {
		return fmt.Errorf("world already belongs to a simulator; load a fresh one")
	}
	if len(w.Tenants) == 0 {
		return fmt.Errorf("world: at least one tenant is required")
	}
	seen := map[string]string{} // lower-case ids that must be unique across the world
	unique := func(kind, id string) error {
		k := strings.ToLower(id)
		if prev, ok := seen[k]; ok {
			return fmt.Errorf("%s id %q is already used by %s", kind, id, prev)
		}
		seen[k] = kind
		return nil
	}
	for ti, t := range w.Tenants {
		where := fmt.Sprintf("tenants[%d]", ti)
		if !isGUID(t.ID) {
			return fmt.Errorf("%s.id must be a GUID, got %q", where, t.ID)
		}
		if err := unique("tenant", t.ID); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if !domainRE.MatchString(t.Domain) {
			return fmt.Errorf("%s.domain must be a DNS name like contoso.onmicrosoft.com, got %q", where, t.Domain)
		}
		if t.Cloud == "" {
			t.Cloud = cloud.Public
		}
		if _, ok := cloud.Builtin(t.Cloud); !ok {
			return fmt.Errorf("%s.cloud: unknown cloud %q (AZURE, AZURE_US_GOVERNMENT, AZURE_CHINA)", where, t.Cloud)
		}
		if t.DisplayName == "" {
			t.DisplayName = strings.SplitN(t.Domain, ".", 2)[0]
		}
		if t.CountryCode == "" {
			t.CountryCode = "US"
		}
		if err := w.prepareTenant(t, where, now, unique); err != nil {
			return err
		}
	}
	for i, fi := range w.FederatedIssuers {
		if !strings.HasPrefix(fi.Issuer, "https://") {
			return fmt.Errorf("federatedIssuers[%d].issuer must be an https URL, got %q", i, fi.Issuer)
		}
		if _, err := fi.keys(); err != nil {
			return fmt.Errorf("federatedIssuers[%d] (%s): %w", i, fi.Issuer, err)
		}
	}
	w.prepared = true
	return nil
}

func (w *World) prepareTenant(t *Tenant, where string, now time.Time, unique func(kind, id string) error) error {
	names := map[string]bool{}
	named := func(kind, name string) error {
		if name == "" {
			return fmt.Errorf("%s name is required", kind)
		}
		k := strings.ToLower(name)
		if names[k] {
			return fmt.Errorf("name %q is used twice in the tenant (apps, identities and hosts share one namespace)", name)
		}
		names[k] = true
		return nil
	}
	ends, _ := cloud.Builtin(t.Cloud)
	for si, s := range t.Subscriptions {
		sw := fmt.Sprintf("%s.subscriptions[%d]", where, si)
		if !isGUID(s.ID) {
			return fmt.Errorf("%s.id must be a GUID, got %q", sw, s.ID)
		}
		if err := unique("subscription", s.ID); err != nil {
			return fmt.Errorf("%s: %w", sw, err)
		}
		if s.DisplayName == "" {
			return fmt.Errorf("%s.displayName is required", sw)
		}
		switch s.State {
		case "":
			s.State = "Enabled"
		case "Enabled", "Warned", "PastDue", "Disabled", "Deleted":
		default:
			return fmt.Errorf("%s.state %q: allowed Enabled, Warned, PastDue, Disabled, Deleted", sw, s.State)
		}
		rgs := map[string]bool{}
		for gi, g := range s.ResourceGroups {
			gw := fmt.Sprintf("%s.resourceGroups[%d]", sw, gi)
			if !nameRE.MatchString(g.Name) {
				return fmt.Errorf("%s.name %q is not a valid resource group name", gw, g.Name)
			}
			if rgs[strings.ToLower(g.Name)] {
				return fmt.Errorf("%s: resource group %q is declared twice", gw, g.Name)
			}
			rgs[strings.ToLower(g.Name)] = true
			if g.Location == "" {
				g.Location = "eastus"
			}
			if err := prepareResources(t, s, g, gw, ends, now); err != nil {
				return err
			}
		}
	}
	for ai, a := range t.Apps {
		aw := fmt.Sprintf("%s.apps[%d]", where, ai)
		if err := named("app", a.Name); err != nil {
			return fmt.Errorf("%s: %w", aw, err)
		}
		if !isGUID(a.AppID) || !isGUID(a.ObjectID) {
			return fmt.Errorf("%s (%s): appId and objectId must be GUIDs", aw, a.Name)
		}
		if err := unique("app", a.AppID); err != nil {
			return fmt.Errorf("%s: %w", aw, err)
		}
		if err := unique("principal", a.ObjectID); err != nil {
			return fmt.Errorf("%s: %w", aw, err)
		}
		for i, s := range a.Secrets {
			if s.KeyID == "" {
				s.KeyID = newGUID()
			}
			if s.Value == "" {
				return fmt.Errorf("%s.secrets[%d].value is required", aw, i)
			}
		}
		for i, c := range a.Certificates {
			if err := c.prepare(a, now); err != nil {
				return fmt.Errorf("%s.certificates[%d]: %w", aw, i, err)
			}
		}
		if err := prepareFederated(a.FederatedCredentials); err != nil {
			return fmt.Errorf("%s: %w", aw, err)
		}
	}
	for mi, m := range t.ManagedIdentities {
		mw := fmt.Sprintf("%s.managedIdentities[%d]", where, mi)
		if err := named("identity", m.Name); err != nil {
			return fmt.Errorf("%s: %w", mw, err)
		}
		if !isGUID(m.ClientID) || !isGUID(m.PrincipalID) {
			return fmt.Errorf("%s (%s): clientId and principalId must be GUIDs", mw, m.Name)
		}
		if err := unique("identity", m.ClientID); err != nil {
			return fmt.Errorf("%s: %w", mw, err)
		}
		if err := unique("principal", m.PrincipalID); err != nil {
			return fmt.Errorf("%s: %w", mw, err)
		}
		if m.ResourceID == "" {
			sub, rg := m.SubscriptionID, m.ResourceGroup
			if sub == "" && len(t.Subscriptions) > 0 {
				sub = t.Subscriptions[0].ID
			}
			if rg == "" {
				rg = "identities"
			}
			if sub == "" {
				return fmt.Errorf("%s (%s): resourceId or a subscription is required", mw, m.Name)
			}
			m.ResourceID = "/subscriptions/" + sub + "/resourcegroups/" + rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + m.Name
		}
		if err := prepareFederated(m.FederatedCredentials); err != nil {
			return fmt.Errorf("%s: %w", mw, err)
		}
	}
	for hi, h := range t.Hosts {
		hw := fmt.Sprintf("%s.hosts[%d]", where, hi)
		if err := named("host", h.Name); err != nil {
			return fmt.Errorf("%s: %w", hw, err)
		}
		if h.SystemAssigned != nil {
			if !isGUID(h.SystemAssigned.PrincipalID) || !isGUID(h.SystemAssigned.ClientID) {
				return fmt.Errorf("%s (%s): systemAssigned principalId and clientId must be GUIDs", hw, h.Name)
			}
			if err := unique("principal", h.SystemAssigned.PrincipalID); err != nil {
				return fmt.Errorf("%s: %w", hw, err)
			}
			if err := unique("identity", h.SystemAssigned.ClientID); err != nil {
				return fmt.Errorf("%s: %w", hw, err)
			}
		}
		for _, ref := range h.UserAssigned {
			if t.identity(ref) == nil {
				return fmt.Errorf("%s (%s): userAssigned %q names no managed identity of the tenant", hw, h.Name, ref)
			}
		}
		if h.ResourceID == "" {
			sub, rg := h.SubscriptionID, h.ResourceGroup
			if sub == "" && len(t.Subscriptions) > 0 {
				sub = t.Subscriptions[0].ID
			}
			if rg == "" {
				rg = "hosts"
			}
			if sub == "" {
				return fmt.Errorf("%s (%s): resourceId or a subscription is required", hw, h.Name)
			}
			h.ResourceID = "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/virtualMachines/" + h.Name
		}
		if h.IdentityHeader == "" {
			h.IdentityHeader = Secret(randomToken(24))
		}
	}
	mgs := map[string]bool{strings.ToLower(t.ID): true}
	for i, g := range t.ManagementGroups {
		if !nameRE.MatchString(g.Name) {
			return fmt.Errorf("%s.managementGroups[%d].name %q is not valid", where, i, g.Name)
		}
		mgs[strings.ToLower(g.Name)] = true
	}
	for i, g := range t.ManagementGroups {
		if g.Parent != "" && !mgs[strings.ToLower(g.Parent)] {
			return fmt.Errorf("%s.managementGroups[%d] (%s): parent %q is not a management group", where, i, g.Name, g.Parent)
		}
		for _, sid := range g.Subscriptions {
			if t.subscription(sid) == nil {
				return fmt.Errorf("%s.managementGroups[%d] (%s): subscription %q is not in the tenant", where, i, g.Name, sid)
			}
		}
	}
	roles := map[string]bool{}
	for i, rd := range t.RoleDefinitions {
		rw := fmt.Sprintf("%s.roleDefinitions[%d]", where, i)
		if rd.ID == "" {
			rd.ID = newGUID()
		}
		if !isGUID(rd.ID) {
			return fmt.Errorf("%s.id must be a GUID, got %q", rw, rd.ID)
		}
		if rd.RoleName == "" {
			return fmt.Errorf("%s.roleName is required", rw)
		}
		if builtinRole(rd.ID) != nil || builtinRole(rd.RoleName) != nil || roles[strings.ToLower(rd.RoleName)] {
			return fmt.Errorf("%s: role %q clashes with another role's id or name", rw, rd.RoleName)
		}
		roles[strings.ToLower(rd.RoleName)] = true
		if rd.Type == "" {
			rd.Type = "CustomRole"
		}
		if len(rd.AssignableScopes) == 0 {
			for _, s := range t.Subscriptions {
				rd.AssignableScopes = append(rd.AssignableScopes, "/subscriptions/"+s.ID)
			}
		}
	}
	for i, ra := range t.RoleAssignments {
		if err := t.resolveAssignment(ra); err != nil {
			return fmt.Errorf("%s.roleAssignments[%d]: %w", where, i, err)
		}
		if ra.CreatedOn.IsZero() {
			ra.CreatedOn = now.UTC().Truncate(time.Second)
		}
	}
	return nil
}

// resolveAssignment checks an assignment's principal, role and scope and
// records the ids they resolve to.
func (t *Tenant) resolveAssignment(ra *RoleAssignment) error {
	if ra.ID == "" {
		ra.ID = newGUID()
	}
	if !isGUID(ra.ID) {
		return fmt.Errorf("id must be a GUID, got %q", ra.ID)
	}
	p := t.principalByRef(ra.Principal)
	if p == nil {
		return fmt.Errorf("principal %q is no app, managed identity, host or object id of tenant %s", ra.Principal, t.Domain)
	}
	ra.principalID = p.ObjectID
	rd := t.role(ra.Role)
	if rd == nil {
		return fmt.Errorf("role %q is no role definition name or id", ra.Role)
	}
	ra.roleID = rd.ID
	scope, err := t.canonicalScope(ra.Scope)
	if err != nil {
		return err
	}
	ra.Scope = scope
	return nil
}

// canonicalScope checks that s names something of the tenant and returns it
// with a leading slash and no trailing one.
func (t *Tenant) canonicalScope(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("scope is required")
	}
	if s == "/" {
		return "/", nil
	}
	s = "/" + strings.Trim(s, "/")
	parts := strings.Split(strings.TrimPrefix(s, "/"), "/")
	switch {
	case len(parts) >= 4 && strings.EqualFold(parts[0], "providers") && strings.EqualFold(parts[1], "Microsoft.Management") && strings.EqualFold(parts[2], "managementGroups"):
		if t.managementGroup(parts[3]) == "" {
			return "", fmt.Errorf("scope %q: no management group %q", s, parts[3])
		}
	case strings.EqualFold(parts[0], "subscriptions") && len(parts) >= 2:
		sub := t.subscription(parts[1])
		if sub == nil {
			return "", fmt.Errorf("scope %q: subscription %s is not in tenant %s", s, parts[1], t.Domain)
		}
		if len(parts) >= 4 && strings.EqualFold(parts[2], "resourceGroups") && sub.resourceGroup(parts[3]) == nil {
			return "", fmt.Errorf("scope %q: no resource group %q", s, parts[3])
		}
	default:
		return "", fmt.Errorf("scope %q must be /, a management group, a subscription, a resource group or a resource id", s)
	}
	return s, nil
}

func prepareFederated(fcs []*FederatedCredential) error {
	for i, fc := range fcs {
		if fc.Issuer == "" || fc.Subject == "" {
			return fmt.Errorf("federatedCredentials[%d]: issuer and subject are required", i)
		}
		if fc.Name == "" {
			fc.Name = fmt.Sprintf("federated-%d", i)
		}
		if len(fc.Audiences) == 0 {
			fc.Audiences = []string{"api://AzureADTokenExchange"}
		}
	}
	return nil
}

func prepareResources(t *Tenant, s *Subscription, g *ResourceGroup, gw string, ends cloud.Endpoints, now time.Time) error {
	for i, r := range g.Registries {
		rw := fmt.Sprintf("%s.registries[%d]", gw, i)
		if !acrRE.MatchString(r.Name) {
			return fmt.Errorf("%s.name %q: registry names are 5-50 letters and digits", rw, r.Name)
		}
		if r.Location == "" {
			r.Location = g.Location
		}
		if r.SKU == "" {
			r.SKU = "Standard"
		}
		if r.LoginServer == "" {
			r.LoginServer = strings.ToLower(r.Name) + ends.ContainerRegistrySuffix
		}
		r.LoginServer = strings.ToLower(r.LoginServer)
		if r.CreatedAt.IsZero() {
			r.CreatedAt = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		for len(r.AdminPasswords) < 2 {
			r.AdminPasswords = append(r.AdminPasswords, Secret(randomToken(24)))
		}
		repos := map[string]bool{}
		for ri, repo := range r.Repositories {
			if repo.Name == "" || repos[repo.Name] {
				return fmt.Errorf("%s.repositories[%d]: name missing or repeated", rw, ri)
			}
			repos[repo.Name] = true
			tags := map[string]bool{}
			for ti, tg := range repo.Tags {
				if tg.Name == "" || tags[tg.Name] {
					return fmt.Errorf("%s.repositories[%d].tags[%d]: name missing or repeated", rw, ri, ti)
				}
				tags[tg.Name] = true
				if tg.Created.IsZero() {
					tg.Created = r.CreatedAt.Add(time.Duration(ti) * time.Hour)
				}
				if tg.Updated.IsZero() {
					tg.Updated = tg.Created
				}
				if tg.MediaType == "" {
					tg.MediaType = defaultManifestType
				}
				if len(tg.Platforms) == 0 {
					tg.Platforms = []string{"linux/amd64"}
				}
				if tg.Digest == "" {
					tg.Digest = tagDigest(r.LoginServer, repo.Name, tg)
				}
			}
			sort.SliceStable(repo.Tags, func(a, b int) bool { return repo.Tags[a].Created.Before(repo.Tags[b].Created) })
		}
		if gen := r.Generate; gen != nil {
			if gen.Repositories < 0 || gen.TagsPerRepository < 0 {
				return fmt.Errorf("%s.generate: counts must not be negative", rw)
			}
			if gen.RepositoryPrefix == "" {
				gen.RepositoryPrefix = "generated/app-"
			}
			if gen.TagPrefix == "" {
				gen.TagPrefix = "1.0."
			}
			if gen.Start.IsZero() {
				gen.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			}
			if gen.Interval == 0 {
				gen.Interval = Duration(time.Minute)
			}
			if gen.MediaType == "" {
				gen.MediaType = defaultManifestType
			}
			for j := 0; j < gen.Repositories; j++ {
				if repos[gen.repoName(j)] {
					return fmt.Errorf("%s.generate: generated repository %q clashes with an explicit one", rw, gen.repoName(j))
				}
			}
		}
	}
	for i, c := range g.Clusters {
		cw := fmt.Sprintf("%s.clusters[%d]", gw, i)
		if !nameRE.MatchString(c.Name) {
			return fmt.Errorf("%s.name %q is not valid", cw, c.Name)
		}
		if c.Location == "" {
			c.Location = g.Location
		}
		if c.KubernetesVersion == "" {
			c.KubernetesVersion = "1.30.6"
		}
		if c.DNSPrefix == "" {
			c.DNSPrefix = c.Name + "-dns"
		}
		if c.FQDN == "" {
			sum := sha256.Sum256([]byte(s.ID + "/" + g.Name + "/" + c.Name))
			c.FQDN = strings.ToLower(fmt.Sprintf("%s-%s.hcp.%s.azmk8s.io", c.DNSPrefix, hex.EncodeToString(sum[:4]), c.Location))
		}
		if c.EnableRBAC == nil {
			v := true
			c.EnableRBAC = &v
		}
		if c.PowerState == "" {
			c.PowerState = "Running"
		}
		if c.DisableLocalAccounts && c.AADProfile == nil {
			// AKS refuses it: without Entra integration nobody could sign in.
			return fmt.Errorf("%s (%s): disableLocalAccounts needs aadProfile (AKS: \"Since kubernetes version 1.25, disableLocalAccounts can only be set on Azure AD integration enabled cluster. Please integrate your cluster with AAD.\")", cw, c.Name)
		}
		if c.AADProfile != nil && c.AADProfile.TenantID == "" {
			c.AADProfile.TenantID = t.ID
		}
		if len(c.Namespaces) == 0 {
			c.Namespaces = []*Namespace{{Name: "default"}, {Name: "kube-system"}}
		}
		for _, ns := range c.Namespaces {
			for _, p := range ns.Pods {
				if p.Phase == "" {
					p.Phase = "Running"
				}
			}
		}
	}
	for i, a := range g.WebApps {
		aw := fmt.Sprintf("%s.webApps[%d]", gw, i)
		if !nameRE.MatchString(a.Name) {
			return fmt.Errorf("%s.name %q is not valid", aw, a.Name)
		}
		if a.Kind == "" {
			a.Kind = "app,linux"
		}
		if a.Location == "" {
			a.Location = g.Location
		}
		if a.State == "" {
			a.State = "Running"
		}
		if len(a.HostNames) == 0 {
			a.HostNames = []string{strings.ToLower(a.Name) + ".azurewebsites.net"}
		}
		slots := map[string]bool{"production": true}
		for j, sl := range a.Slots {
			if !nameRE.MatchString(sl.Name) || slots[strings.ToLower(sl.Name)] {
				return fmt.Errorf("%s.slots[%d]: name %q is invalid or repeated", aw, j, sl.Name)
			}
			slots[strings.ToLower(sl.Name)] = true
			if sl.State == "" {
				sl.State = "Running"
			}
			if len(sl.HostNames) == 0 {
				sl.HostNames = []string{strings.ToLower(a.Name+"-"+sl.Name) + ".azurewebsites.net"}
			}
		}
	}
	pips := map[string]bool{}
	for i, p := range g.PublicIPAddresses {
		if !nameRE.MatchString(p.Name) {
			return fmt.Errorf("%s.publicIPAddresses[%d].name %q is not valid", gw, i, p.Name)
		}
		pips[strings.ToLower(p.Name)] = true
		if p.Location == "" {
			p.Location = g.Location
		}
	}
	nics := map[string]bool{}
	for i, n := range g.NetworkInterfaces {
		if !nameRE.MatchString(n.Name) {
			return fmt.Errorf("%s.networkInterfaces[%d].name %q is not valid", gw, i, n.Name)
		}
		nics[strings.ToLower(n.Name)] = true
		if n.Location == "" {
			n.Location = g.Location
		}
		if n.PublicIPAddress != "" && !pips[strings.ToLower(n.PublicIPAddress)] {
			return fmt.Errorf("%s.networkInterfaces[%d] (%s): publicIPAddress %q is not in the resource group", gw, i, n.Name, n.PublicIPAddress)
		}
		if n.PrivateIPAddress == "" {
			n.PrivateIPAddress = fmt.Sprintf("10.0.0.%d", 4+i)
		}
		if n.Subnet == "" {
			n.Subnet = "/subscriptions/" + s.ID + "/resourceGroups/" + g.Name + "/providers/Microsoft.Network/virtualNetworks/" + g.Name + "-vnet/subnets/default"
		}
	}
	for i, v := range g.VirtualMachines {
		vw := fmt.Sprintf("%s.virtualMachines[%d]", gw, i)
		if !nameRE.MatchString(v.Name) {
			return fmt.Errorf("%s.name %q is not valid", vw, v.Name)
		}
		if v.Location == "" {
			v.Location = g.Location
		}
		if v.VMSize == "" {
			v.VMSize = "Standard_B2s"
		}
		if v.OSType == "" {
			v.OSType = "Linux"
		}
		if v.ComputerName == "" {
			v.ComputerName = v.Name
		}
		if v.PowerState == "" {
			v.PowerState = "running"
		}
		if v.VMID == "" {
			v.VMID = newGUID()
		}
		for _, n := range v.NetworkInterfaces {
			if !nics[strings.ToLower(n)] {
				return fmt.Errorf("%s (%s): network interface %q is not in the resource group", vw, v.Name, n)
			}
		}
	}
	return nil
}

const defaultManifestType = "application/vnd.docker.distribution.manifest.v2+json"

// tagDigest derives the digest of a tag the world gives none (explicit
// tags at prepare, generated tags in TagAt). The ACR data plane replaces it
// in its init so that the digest is that of the manifest it serves.
var tagDigest = func(login, repo string, t *Tag) string { return derivedDigest(login, repo, t.Name) }

func derivedDigest(login, repo, tag string) string {
	sum := sha256.Sum256([]byte(login + "/" + repo + ":" + tag))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (c *AppCertificate) prepare(a *App, now time.Time) error {
	switch {
	case c.PEM != "" && c.Generate != nil:
		return fmt.Errorf("give pem or generate, not both")
	case c.PEM != "":
		var rest = []byte(c.PEM)
		for {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			switch {
			case blk.Type == "CERTIFICATE" && c.cert == nil:
				cert, err := x509.ParseCertificate(blk.Bytes)
				if err != nil {
					return fmt.Errorf("parse certificate: %w", err)
				}
				c.cert = cert
			case strings.HasSuffix(blk.Type, "PRIVATE KEY"):
				c.keyPEM = pem.EncodeToMemory(blk)
			}
		}
		if c.cert == nil {
			return fmt.Errorf("pem holds no certificate")
		}
	case c.Generate != nil:
		notAfter := now.Add(time.Duration(c.Generate.ValidFor))
		if c.Generate.NotAfter != nil {
			notAfter = *c.Generate.NotAfter
		} else if c.Generate.ValidFor == 0 {
			notAfter = now.Add(365 * 24 * time.Hour)
		}
		cert, keyPEM, err := selfSignedRSA("CN="+a.Name, now, notAfter)
		if err != nil {
			return err
		}
		c.cert, c.keyPEM = cert, keyPEM
	default:
		return fmt.Errorf("pem or generate is required")
	}
	if c.Name == "" {
		c.Name = thumbprintHex(c.cert)
	}
	return nil
}

// Certificate returns the parsed certificate.
func (c *AppCertificate) Certificate() *x509.Certificate { return c.cert }

// thumbprintHex is the SHA-1 thumbprint Azure shows, upper-case hex.
func thumbprintHex(c *x509.Certificate) string {
	return strings.ToUpper(hex.EncodeToString(sha1Sum(c.Raw)))
}

// ---- lookups (callers hold the Sim's lock) ----

func (w *World) tenant(idOrDomain string) *Tenant {
	for _, t := range w.Tenants {
		if strings.EqualFold(t.ID, idOrDomain) || strings.EqualFold(t.Domain, idOrDomain) {
			return t
		}
	}
	return nil
}

func (w *World) subscription(id string) (*Tenant, *Subscription) {
	for _, t := range w.Tenants {
		if s := t.subscription(id); s != nil {
			return t, s
		}
	}
	return nil, nil
}

func (t *Tenant) subscription(id string) *Subscription {
	for _, s := range t.Subscriptions {
		if strings.EqualFold(s.ID, id) {
			return s
		}
	}
	return nil
}

func (s *Subscription) resourceGroup(name string) *ResourceGroup {
	for _, g := range s.ResourceGroups {
		if strings.EqualFold(g.Name, name) {
			return g
		}
	}
	return nil
}

func (t *Tenant) managementGroup(name string) string {
	if strings.EqualFold(name, t.ID) {
		return t.ID
	}
	for _, g := range t.ManagementGroups {
		if strings.EqualFold(g.Name, name) {
			return g.Name
		}
	}
	return ""
}

func (t *Tenant) app(appID string) *App {
	for _, a := range t.Apps {
		if strings.EqualFold(a.AppID, appID) {
			return a
		}
	}
	return nil
}

// identity finds a user-assigned identity by name, client id, principal id
// or resource id.
func (t *Tenant) identity(ref string) *ManagedIdentity {
	for _, m := range t.ManagedIdentities {
		if strings.EqualFold(m.Name, ref) || strings.EqualFold(m.ClientID, ref) || strings.EqualFold(m.PrincipalID, ref) || strings.EqualFold(m.ResourceID, ref) {
			return m
		}
	}
	return nil
}

func (t *Tenant) host(name string) *Host {
	for _, h := range t.Hosts {
		if strings.EqualFold(h.Name, name) {
			return h
		}
	}
	return nil
}

// Principal is an identity that can hold role assignments and get tokens.
type Principal struct {
	// Kind is "ServicePrincipal" (an app), "UserAssigned" or "SystemAssigned".
	Kind       string
	Name       string
	TenantID   string
	ObjectID   string
	ClientID   string // the appid claim
	ResourceID string // managed identities: xms_mirid
}

// principalByRef resolves an object id or a name of an app, identity or host.
func (t *Tenant) principalByRef(ref string) *Principal {
	for _, a := range t.Apps {
		if strings.EqualFold(a.Name, ref) || strings.EqualFold(a.ObjectID, ref) || strings.EqualFold(a.AppID, ref) {
			return &Principal{Kind: "ServicePrincipal", Name: a.Name, TenantID: t.ID, ObjectID: a.ObjectID, ClientID: a.AppID}
		}
	}
	for _, m := range t.ManagedIdentities {
		if strings.EqualFold(m.Name, ref) || strings.EqualFold(m.PrincipalID, ref) || strings.EqualFold(m.ClientID, ref) {
			return &Principal{Kind: "UserAssigned", Name: m.Name, TenantID: t.ID, ObjectID: m.PrincipalID, ClientID: m.ClientID, ResourceID: m.ResourceID}
		}
	}
	for _, h := range t.Hosts {
		if h.SystemAssigned == nil {
			continue
		}
		if strings.EqualFold(h.Name, ref) || strings.EqualFold(h.SystemAssigned.PrincipalID, ref) || strings.EqualFold(h.SystemAssigned.ClientID, ref) {
			return &Principal{Kind: "SystemAssigned", Name: h.Name, TenantID: t.ID, ObjectID: h.SystemAssigned.PrincipalID, ClientID: h.SystemAssigned.ClientID, ResourceID: h.ResourceID}
		}
	}
	return nil
}

// role finds a role definition (built-in or the tenant's custom) by GUID,
// full id or name.
func (t *Tenant) role(ref string) *RoleDefinition {
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		ref = ref[i+1:]
	}
	if rd := builtinRole(ref); rd != nil {
		return rd
	}
	for _, rd := range t.RoleDefinitions {
		if strings.EqualFold(rd.ID, ref) || strings.EqualFold(rd.RoleName, ref) {
			return rd
		}
	}
	return nil
}

// roles returns the built-ins followed by the tenant's custom roles.
func (t *Tenant) roles() []*RoleDefinition {
	out := append([]*RoleDefinition(nil), builtinRoles...)
	return append(out, t.RoleDefinitions...)
}

// ---- registries: the cheap repository / tag views the ACR data plane uses ----

func (g *RepositoryGenerator) repoName(j int) string {
	return g.RepositoryPrefix + strconv.Itoa(j)
}

func (g *RepositoryGenerator) tagName(i int) string {
	width := len(strconv.Itoa(max(g.TagsPerRepository-1, 0)))
	return fmt.Sprintf("%s%0*d", g.TagPrefix, width, i)
}

// RepositoryNames lists a registry's repositories, sorted.
func (r *Registry) RepositoryNames() []string {
	var names []string
	for _, repo := range r.Repositories {
		names = append(names, repo.Name)
	}
	if g := r.Generate; g != nil {
		for j := 0; j < g.Repositories; j++ {
			names = append(names, g.repoName(j))
		}
	}
	sort.Strings(names)
	return names
}

// Repo returns a view of one repository (exact, case-sensitive name).
func (r *Registry) Repo(name string) (RepoView, bool) {
	for _, repo := range r.Repositories {
		if repo.Name == name {
			return RepoView{Name: name, registry: r, explicit: repo}, true
		}
	}
	if g := r.Generate; g != nil && strings.HasPrefix(name, g.RepositoryPrefix) {
		j, err := strconv.Atoi(strings.TrimPrefix(name, g.RepositoryPrefix))
		if err == nil && j >= 0 && j < g.Repositories && g.repoName(j) == name {
			return RepoView{Name: name, registry: r, gen: g}, true
		}
	}
	return RepoView{}, false
}

// RepoView is a read-only view of a repository whose tags may be generated.
// Tags are ordered by creation time, oldest first; for generated
// repositories that is also name order.
type RepoView struct {
	Name     string
	registry *Registry
	explicit *Repository
	gen      *RepositoryGenerator
}

// TagCount is the number of tags.
func (v RepoView) TagCount() int {
	if v.explicit != nil {
		return len(v.explicit.Tags)
	}
	if v.gen != nil {
		return v.gen.TagsPerRepository
	}
	return 0
}

// TagAt returns the i-th tag, oldest first (0 <= i < TagCount()).
func (v RepoView) TagAt(i int) Tag {
	if v.explicit != nil {
		return *v.explicit.Tags[i]
	}
	g := v.gen
	name := g.tagName(i)
	created := g.Start.Add(time.Duration(i) * time.Duration(g.Interval))
	t := Tag{
		Name:      name,
		Created:   created,
		Updated:   created,
		MediaType: g.MediaType,
		Platforms: []string{"linux/amd64"},
	}
	t.Digest = tagDigest(v.registry.LoginServer, v.Name, &t)
	return t
}

// TagIndex finds a tag by name.
func (v RepoView) TagIndex(name string) (int, bool) {
	if v.explicit != nil {
		for i, t := range v.explicit.Tags {
			if t.Name == name {
				return i, true
			}
		}
		return 0, false
	}
	if v.gen == nil || !strings.HasPrefix(name, v.gen.TagPrefix) {
		return 0, false
	}
	i, err := strconv.Atoi(strings.TrimPrefix(name, v.gen.TagPrefix))
	if err != nil || i < 0 || i >= v.gen.TagsPerRepository || v.gen.tagName(i) != name {
		return 0, false
	}
	return i, true
}

// TagByDigest finds the first tag with a digest. Generated repositories
// are searched linearly, which is fine for tests but not for benchmarks.
func (v RepoView) TagByDigest(digest string) (Tag, bool) {
	for i := 0; i < v.TagCount(); i++ {
		if t := v.TagAt(i); t.Digest == digest {
			return t, true
		}
	}
	return Tag{}, false
}

// RegistryRef is a registry found in the world, with where it lives.
type RegistryRef struct {
	Tenant        *Tenant
	Subscription  *Subscription
	ResourceGroup *ResourceGroup
	Registry      *Registry
}

// ID is the registry's ARM resource id (the RBAC scope of its data plane).
func (r RegistryRef) ID() string {
	return resScope(r.Subscription.ID, r.ResourceGroup.Name, acrProvider, r.Registry.Name)
}

// registryByLoginServer finds a registry by login server (case-insensitive).
func (w *World) registryByLoginServer(login string) (RegistryRef, bool) {
	for _, t := range w.Tenants {
		for _, s := range t.Subscriptions {
			for _, g := range s.ResourceGroups {
				for _, r := range g.Registries {
					if strings.EqualFold(r.LoginServer, login) {
						return RegistryRef{t, s, g, r}, true
					}
				}
			}
		}
	}
	return RegistryRef{}, false
}

// ClusterRef is a managed cluster found in the world, with where it lives.
type ClusterRef struct {
	Tenant        *Tenant
	Subscription  *Subscription
	ResourceGroup *ResourceGroup
	Cluster       *Cluster
}

// ID is the cluster's ARM resource id (the RBAC scope of its Kubernetes API).
func (c ClusterRef) ID() string {
	return resScope(c.Subscription.ID, c.ResourceGroup.Name, aksProvider, c.Cluster.Name)
}

// clusterByFQDN finds a managed cluster by its API server FQDN.
func (w *World) clusterByFQDN(fqdn string) (ClusterRef, bool) {
	for _, t := range w.Tenants {
		for _, s := range t.Subscriptions {
			for _, g := range s.ResourceGroups {
				for _, c := range g.Clusters {
					if strings.EqualFold(c.FQDN, fqdn) {
						return ClusterRef{t, s, g, c}, true
					}
				}
			}
		}
	}
	return ClusterRef{}, false
}
