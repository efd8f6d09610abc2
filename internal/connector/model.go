// Package connector is the Azure connector: Harness's document shape (JSON
// and YAML), its validation rules and messages, and the secrets it refers to.
// It is a model package: it does no I/O.
package connector

import "github.com/azimuthcd/azimuth/internal/scope"

// TypeAzure is the connector type this package models.
const TypeAzure = "Azure"

// Credential types (spec.credential.type).
const (
	CredentialManual  = "ManualConfig"
	CredentialInherit = "InheritFromDelegate"
	CredentialOIDC    = "OidcAuthentication"
)

// Service-principal auth types (spec.credential.spec.auth.type under ManualConfig).
const (
	AuthSecret      = "Secret"
	AuthCertificate = "Certificate"
)

// Managed-identity types (spec.credential.spec.auth.type under InheritFromDelegate).
const (
	ManagedIdentitySystem = "SystemAssignedManagedIdentity"
	ManagedIdentityUser   = "UserAssignedManagedIdentity"
)

// Secret kinds, as Harness names secret types.
const (
	SecretText = "SecretText"
	SecretFile = "SecretFile"
)

// Document is the request and export wrapper: {"connector": {...}}.
type Document struct {
	Connector *Connector `json:"connector"`
}

// Connector is Harness's ConnectorInfo for type Azure.
type Connector struct {
	Name              string            `json:"name"`
	Identifier        string            `json:"identifier"`
	Description       string            `json:"description"`
	AccountIdentifier string            `json:"accountIdentifier,omitempty"`
	OrgIdentifier     string            `json:"orgIdentifier,omitempty"`
	ProjectIdentifier string            `json:"projectIdentifier,omitempty"`
	Tags              map[string]string `json:"tags"`
	Type              string            `json:"type"`
	Spec              *AzureSpec        `json:"spec"`
}

// AzureSpec is the spec of an Azure connector.
type AzureSpec struct {
	Credential           *Credential `json:"credential"`
	DelegateSelectors    []string    `json:"delegateSelectors"`
	AzureEnvironmentType string      `json:"azureEnvironmentType"`
	ExecuteOnDelegate    *bool       `json:"executeOnDelegate"`
}

// Credential is spec.credential: a type and the spec that type implies.
// Exactly one of Manual, Inherit and OIDC is set after decoding, matching
// Type; the JSON form is {"type": ..., "spec": ...}.
type Credential struct {
	Type    string
	Manual  *ManualSpec
	Inherit *InheritSpec
	OIDC    *OIDCSpec
}

// ManualSpec is the ManualConfig (service principal) credential.
type ManualSpec struct {
	ApplicationID string      `json:"applicationId"`
	TenantID      string      `json:"tenantId"`
	Auth          *ManualAuth `json:"auth"`
}

// ManualAuth is {"type": "Secret"|"Certificate", "spec": {...}}.
type ManualAuth struct {
	Type string
	// SecretRef is spec.secretRef for Secret; CertificateRef is
	// spec.certificateRef for Certificate.
	SecretRef      string
	CertificateRef string
}

// InheritSpec is the InheritFromDelegate (managed identity) credential.
type InheritSpec struct {
	Auth *ManagedIdentityAuth `json:"auth"`
}

// ManagedIdentityAuth is {"type": "...ManagedIdentity", "spec": {"clientId": ...}}.
type ManagedIdentityAuth struct {
	Type     string
	ClientID string // user-assigned only
}

// OIDCSpec is the OidcAuthentication credential (refused until the OIDC issue lands).
type OIDCSpec struct {
	ApplicationID string `json:"applicationId"`
	TenantID      string `json:"tenantId"`
	Audience      string `json:"audience,omitempty"`
}

// SecretUse is one secret the connector refers to.
type SecretUse struct {
	// Path is the JSON path of the field, e.g. "spec.credential.spec.auth.spec.secretRef".
	Path string
	// Field is Harness's Java field name used in its messages
	// ("Error while validating secretKey field : ..."): secretKey or clientCertRef.
	Field string
	// Ref is the parsed reference.
	Ref scope.Ref
	// Kind is the secret type the field needs: SecretText or SecretFile.
	Kind string
}
