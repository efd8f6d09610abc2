package connector

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/identifier"
	"github.com/azimuthcd/azimuth/internal/scope"
)

// Paths of the fields Validate reports on, relative to the connector.
const (
	PathSpec              = "spec"
	PathCredential        = "spec.credential"
	PathCredentialType    = "spec.credential.type"
	PathCredentialSpec    = "spec.credential.spec"
	PathApplicationID     = "spec.credential.spec.applicationId"
	PathTenantID          = "spec.credential.spec.tenantId"
	PathAuth              = "spec.credential.spec.auth"
	PathAuthType          = "spec.credential.spec.auth.type"
	PathAuthSpec          = "spec.credential.spec.auth.spec"
	PathSecretRef         = "spec.credential.spec.auth.spec.secretRef"
	PathCertificateRef    = "spec.credential.spec.auth.spec.certificateRef"
	PathClientID          = "spec.credential.spec.auth.spec.clientId"
	PathDelegateSelectors = "spec.delegateSelectors"
	PathEnvironment       = "spec.azureEnvironmentType"
	PathExecuteOnDelegate = "spec.executeOnDelegate"
)

// Messages that callers and tests may match on. Harness's where it has one.
const (
	MsgTypeNull          = "Connector type cannot be null"
	MsgInheritSelectors  = "Delegate Selector cannot be null for inherit from delegate credential type"
	MsgInheritOnPlatform = "must be true for InheritFromDelegate: the managed identity exists only on the delegate's host, so only a delegate can connect with it"
	MsgOIDCUnsupported   = "OidcAuthentication connectors are not supported yet: use ManualConfig (a service principal) or InheritFromDelegate (a managed identity) until OIDC support lands"
	msgNotNull           = "must not be null"
	msgEmpty             = "cannot be empty"
	msgUIValue           = "must be at least 2 characters long, start with a letter, digit or underscore, and contain no whitespace"
	msgTenant            = "must be the directory (tenant) ID, a GUID, or a tenant domain name such as contoso.onmicrosoft.com"
	msgClientID          = "must be the client ID of the user-assigned managed identity, a GUID such as 22222222-2222-2222-2222-222222222222"
	msgNUL               = "cannot contain a NUL character"
	msgControl           = "cannot contain control characters"
)

// MaxDescriptionLength is the longest description accepted (Harness's
// @Size(max = 1024) on entity descriptions).
const MaxDescriptionLength = 1024

var (
	// uiValueRE is the UI's rule for applicationId, tenantId and clientId:
	// /^(\w+\S+)$/, at least two characters, no whitespace.
	uiValueRE = regexp.MustCompile(`^\w\S+$`)
	guidRE    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	dnsLabel  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
)

// IsGUID reports whether s is a GUID in its usual 8-4-4-4-12 hex form.
func IsGUID(s string) bool { return guidRE.MatchString(s) }

// isDNSName reports whether s is a host name: labels of letters, digits
// and inner hyphens, at most 253 characters, the last label not all
// digits (so that an IP address is not taken for a domain). A single label
// ("contoso", or Harness's test value "tenantId") is allowed.
func isDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if !dnsLabel.MatchString(l) {
			return false
		}
	}
	last := labels[len(labels)-1]
	return strings.IndexFunc(last, func(r rune) bool { return r < '0' || r > '9' }) >= 0
}

// IsTenant reports whether s is acceptable as a tenant: a GUID or a domain.
func IsTenant(s string) bool { return IsGUID(s) || isDNSName(s) }

// Validate checks every rule Harness applies to an Azure connector
// document, and Azimuth's own, without I/O. It returns nil or a
// *failure.Error of kind Invalid with one FieldError per problem, the field
// being the JSON path inside the connector ("spec.credential.spec.tenantId")
// and the message Harness's text where Harness has one.
//
// Call Normalize first. Whether referenced secrets exist, are of the right
// kind and are visible from the connector's scope is for the service to
// check against the store; see SecretUses and CheckSecretScopes (whose scope
// rule Validate does not apply, as it needs the account of the request).
func (c *Connector) Validate() error {
	var fs failure.Fields
	if c == nil {
		fs.Add(FieldDocument, msgNotNull)
		return fs.Err()
	}
	if err := identifier.CheckName(c.Name); err != nil {
		fs.Add("name", "%s", identifier.Message(err))
	}
	if err := identifier.CheckConnector(c.Identifier); err != nil {
		fs.Add("identifier", "%s", identifier.Message(err))
	}
	switch {
	case utf8.RuneCountInString(c.Description) > MaxDescriptionLength:
		fs.Add("description", "size must be between 0 and %d", MaxDescriptionLength)
	case strings.ContainsRune(c.Description, 0):
		fs.Add("description", msgNUL)
	}
	if hasControl(c.AccountIdentifier) {
		fs.Add("accountIdentifier", msgControl)
	}
	if c.OrgIdentifier != "" {
		if err := identifier.Check(c.OrgIdentifier); err != nil {
			fs.Add("orgIdentifier", "%s", identifier.Message(err))
		}
	}
	if c.ProjectIdentifier != "" {
		if err := identifier.Check(c.ProjectIdentifier); err != nil {
			fs.Add("projectIdentifier", "%s", identifier.Message(err))
		}
		if c.OrgIdentifier == "" {
			fs.Add("orgIdentifier", "is required when projectIdentifier is given.")
		}
	}
	fs = append(fs, identifier.CheckTags("tags", c.Tags)...)

	switch t := c.Type; {
	case t == "":
		fs.Add("type", MsgTypeNull)
	case t != TypeAzure:
		if strings.EqualFold(t, TypeAzure) {
			fs.Add("type", "Invalid value: %s; did you mean %s?", t, TypeAzure)
		} else {
			fs.Add("type", "Invalid value: %s; Azimuth serves only Azure connectors (type: %s)", t, TypeAzure)
		}
		return fs.Err() // the spec of another type is not ours to judge
	}
	if c.Spec == nil {
		fs.Add(PathSpec, msgNotNull)
		return fs.Err()
	}
	c.Spec.validate(&fs)
	return fs.Err()
}

func (s *AzureSpec) validate(fs *failure.Fields) {
	if _, err := cloud.Parse(strings.TrimSpace(s.AzureEnvironmentType)); err != nil {
		fs.Add(PathEnvironment, "%s", err.Error())
	}
	for i, sel := range s.DelegateSelectors {
		path := fmt.Sprintf("%s[%d]", PathDelegateSelectors, i)
		switch {
		case strings.TrimSpace(sel) == "":
			fs.Add(path, msgEmpty)
		case hasControl(sel):
			fs.Add(path, msgControl)
		}
	}
	c := s.Credential
	if c == nil {
		fs.Add(PathCredential, msgNotNull)
		return
	}
	switch c.Type {
	case CredentialManual:
		validateManual(c.Manual, fs)
	case CredentialInherit:
		validateInherit(c.Inherit, fs)
		if len(s.DelegateSelectors) == 0 {
			fs.Add(PathDelegateSelectors, MsgInheritSelectors)
		}
		if s.ExecuteOnDelegate != nil && !*s.ExecuteOnDelegate {
			fs.Add(PathExecuteOnDelegate, MsgInheritOnPlatform)
		}
	case CredentialOIDC:
		fs.Add(PathCredentialType, MsgOIDCUnsupported)
	case "":
		fs.Add(PathCredentialType, "%s; one of %s, %s", msgNotNull, CredentialManual, CredentialInherit)
	default:
		fs.Add(PathCredentialType, "%s", invalidValue(c.Type, credentialTypes))
	}
}

func validateManual(m *ManualSpec, fs *failure.Fields) {
	if m == nil {
		fs.Add(PathCredentialSpec, msgNotNull)
		return
	}
	switch {
	case m.ApplicationID == "":
		fs.Add(PathApplicationID, msgEmpty)
	case !uiValueRE.MatchString(m.ApplicationID) || hasControl(m.ApplicationID):
		fs.Add(PathApplicationID, msgUIValue)
	}
	switch {
	case m.TenantID == "":
		fs.Add(PathTenantID, msgEmpty)
	case !uiValueRE.MatchString(m.TenantID):
		fs.Add(PathTenantID, msgUIValue)
	case !IsTenant(m.TenantID):
		fs.Add(PathTenantID, msgTenant)
	}
	a := m.Auth
	if a == nil {
		fs.Add(PathAuth, msgNotNull)
		return
	}
	switch a.Type {
	case AuthSecret:
		checkRef(fs, PathSecretRef, a.SecretRef)
		if a.CertificateRef != "" {
			fs.Add(PathCertificateRef, "is not used with auth type %s; set secretRef", AuthSecret)
		}
	case AuthCertificate:
		checkRef(fs, PathCertificateRef, a.CertificateRef)
		if a.SecretRef != "" {
			fs.Add(PathSecretRef, "is not used with auth type %s; set certificateRef", AuthCertificate)
		}
	case "":
		fs.Add(PathAuthType, "%s; one of %s, %s", msgNotNull, AuthSecret, AuthCertificate)
	default:
		fs.Add(PathAuthType, "%s", invalidValue(a.Type, manualAuthTypes))
	}
}

func validateInherit(i *InheritSpec, fs *failure.Fields) {
	if i == nil {
		fs.Add(PathCredentialSpec, msgNotNull)
		return
	}
	a := i.Auth
	if a == nil {
		fs.Add(PathAuth, msgNotNull)
		return
	}
	switch a.Type {
	case ManagedIdentityUser:
		switch {
		case a.ClientID == "":
			fs.Add(PathClientID, msgEmpty)
		case !IsGUID(a.ClientID):
			fs.Add(PathClientID, msgClientID)
		}
	case ManagedIdentitySystem:
		if a.ClientID != "" {
			fs.Add(PathClientID, "is only used with %s", ManagedIdentityUser)
		}
	case "":
		fs.Add(PathAuthType, "%s; one of %s, %s", msgNotNull, ManagedIdentitySystem, ManagedIdentityUser)
	default:
		fs.Add(PathAuthType, "%s", invalidValue(a.Type, managedIdentityTypes))
	}
}

// checkRef applies the secret-reference grammar ("x", "org.x",
// "account.x") with Harness's messages, and the secret identifier rule to
// the identifier it names.
func checkRef(fs *failure.Fields, path, ref string) {
	if strings.TrimSpace(ref) == "" {
		fs.Add(path, msgNotNull)
		return
	}
	if msg := refProblem(ref); msg != "" {
		fs.Add(path, "%s", msg)
	}
}

// plainWordRE is what a mistyped scope prefix looks like; anything else
// before the dot may be a pasted secret value and is not echoed.
var plainWordRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,31}$`)

// refProblem returns what is wrong with a non-empty secret reference, or
// "". A reference that is really a pasted secret value (client secrets
// hold '.' and '~') must not come back in an error, so the identifier is
// never quoted and an unknown prefix is named only when it is a plain word.
func refProblem(ref string) string {
	r, err := scope.ParseRef(ref)
	if err != nil {
		msg := identifier.Message(err)
		if prefix, ok := strings.CutPrefix(msg, "No scope found for string: "); ok && !plainWordRE.MatchString(prefix) {
			return "No scope found for the reference: the part before the first '.' must be account or org"
		}
		return msg
	}
	if err := identifier.CheckSecret(r.Identifier); err != nil {
		return "Invalid Secret Reference: the secret identifier " + identifier.Message(err)
	}
	return ""
}

// hasControl reports whether s holds a control character (NUL, newline,
// escape, ...), none of which belongs in a one-line field.
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}
