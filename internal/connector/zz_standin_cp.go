// STAND-IN, to be deleted: a minimal implementation of the connector API the
// control plane codes against (Decode, Normalize, Validate, SecretUses,
// CheckSecretScopes, Encode, Scope), written by the cp branch so it can
// build and test before the real package (branch conn) lands. When it lands
// on main, `git rm internal/connector/zz_standin_cp.go`.

package connector

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
)

type typed struct {
	Type string          `json:"type"`
	Spec json.RawMessage `json:"spec,omitempty"`
}

// MarshalJSON renders {"type", "spec"}.
func (c *Credential) MarshalJSON() ([]byte, error) {
	var spec any
	switch {
	case c.Manual != nil:
		spec = c.Manual
	case c.Inherit != nil:
		spec = c.Inherit
	case c.OIDC != nil:
		spec = c.OIDC
	}
	return json.Marshal(struct {
		Type string `json:"type"`
		Spec any    `json:"spec"`
	}{c.Type, spec})
}

// UnmarshalJSON reads {"type", "spec"}.
func (c *Credential) UnmarshalJSON(b []byte) error {
	var t typed
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	c.Type = t.Type
	if len(t.Spec) == 0 || string(t.Spec) == "null" {
		return nil
	}
	switch t.Type {
	case CredentialManual:
		c.Manual = &ManualSpec{}
		return json.Unmarshal(t.Spec, c.Manual)
	case CredentialInherit:
		c.Inherit = &InheritSpec{}
		return json.Unmarshal(t.Spec, c.Inherit)
	case CredentialOIDC:
		c.OIDC = &OIDCSpec{}
		return json.Unmarshal(t.Spec, c.OIDC)
	}
	return nil // Validate reports the unknown type
}

// MarshalJSON renders {"type", "spec": {"secretRef"|"certificateRef"}}.
func (a *ManualAuth) MarshalJSON() ([]byte, error) {
	spec := map[string]string{}
	if a.Type == AuthCertificate {
		spec["certificateRef"] = a.CertificateRef
	} else {
		spec["secretRef"] = a.SecretRef
	}
	return json.Marshal(struct {
		Type string            `json:"type"`
		Spec map[string]string `json:"spec"`
	}{a.Type, spec})
}

// UnmarshalJSON reads {"type", "spec"}.
func (a *ManualAuth) UnmarshalJSON(b []byte) error {
	var t struct {
		Type string `json:"type"`
		Spec struct {
			SecretRef      string `json:"secretRef"`
			CertificateRef string `json:"certificateRef"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	a.Type, a.SecretRef, a.CertificateRef = t.Type, t.Spec.SecretRef, t.Spec.CertificateRef
	return nil
}

// MarshalJSON renders {"type", "spec"?: {"clientId"}}.
func (m *ManagedIdentityAuth) MarshalJSON() ([]byte, error) {
	if m.Type == ManagedIdentityUser {
		return json.Marshal(map[string]any{"type": m.Type, "spec": map[string]string{"clientId": m.ClientID}})
	}
	return json.Marshal(map[string]any{"type": m.Type})
}

// UnmarshalJSON reads {"type", "spec"}.
func (m *ManagedIdentityAuth) UnmarshalJSON(b []byte) error {
	var t struct {
		Type string `json:"type"`
		Spec struct {
			ClientID string `json:"clientId"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	m.Type, m.ClientID = t.Type, t.Spec.ClientID
	return nil
}

// Decode reads the {"connector": {...}} document in JSON or YAML.
func Decode(body []byte, mediaType string) (*Connector, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, failure.InvalidField("connector", "the request body is empty.")
	}
	j := body
	if strings.Contains(mediaType, "yaml") || (mediaType == "" && !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{"))) {
		var err error
		if j, err = yaml.YAMLToJSON(body); err != nil {
			return nil, failure.InvalidField("connector", "the YAML body cannot be parsed: %v", err)
		}
	}
	var d Document
	dec := json.NewDecoder(bytes.NewReader(j))
	if err := dec.Decode(&d); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, failure.InvalidField(te.Field, "must be a %s.", te.Type)
		}
		return nil, failure.InvalidField("connector", "the body is not a valid connector document: %v", err)
	}
	if d.Connector == nil {
		return nil, failure.InvalidField("connector", "the body must be {\"connector\": {...}}.")
	}
	return d.Connector, nil
}

// Encode renders the wrapped document.
func Encode(c *Connector, format string) ([]byte, error) {
	j, err := json.Marshal(Document{Connector: c})
	if err != nil {
		return nil, err
	}
	if format == "yaml" {
		return yaml.JSONToYAML(j)
	}
	return j, nil
}

// Normalize applies defaults.
func (c *Connector) Normalize() {
	c.Name, c.Identifier = strings.TrimSpace(c.Name), strings.TrimSpace(c.Identifier)
	c.OrgIdentifier, c.ProjectIdentifier = strings.TrimSpace(c.OrgIdentifier), strings.TrimSpace(c.ProjectIdentifier)
	if c.Tags == nil {
		c.Tags = map[string]string{}
	}
	if c.Spec == nil {
		return
	}
	if c.Spec.ExecuteOnDelegate == nil {
		t := true
		c.Spec.ExecuteOnDelegate = &t
	}
	if c.Spec.AzureEnvironmentType == "" {
		c.Spec.AzureEnvironmentType = string(cloud.Public)
	}
}

var idRE = regexp.MustCompile(`^[a-zA-Z_][0-9a-zA-Z_$]{0,127}$`)
var nameRE = regexp.MustCompile(`^[0-9a-zA-Z_ ./-]*$`)

// Validate checks the rules (a subset, in the stand-in).
func (c *Connector) Validate() error {
	var fs failure.Fields
	switch {
	case c.Identifier == "":
		fs.Add("identifier", "cannot be empty")
	case !idRE.MatchString(c.Identifier):
		fs.Add("identifier", "can be 128 characters long and can only contain alphanumeric, underscore and $ characters, and not start with a number or $")
	case standinReserved[c.Identifier]:
		fs.Add("identifier", "%s is a keyword, so cannot be used", c.Identifier)
	case c.Identifier == "harnessSecretManager":
		fs.Add("identifier", "harnessSecretManager cannot be used as a connector identifier")
	}
	switch {
	case c.Name == "":
		fs.Add("name", "cannot be empty.")
	case len(c.Name) > 128:
		fs.Add("name", "cannot be more than 128 characters long.")
	case !nameRE.MatchString(c.Name):
		fs.Add("name", "can only contain alphanumeric, dot, hyphen, forward slash and underscore characters.")
	}
	if c.ProjectIdentifier != "" && c.OrgIdentifier == "" {
		fs.Add("orgIdentifier", "is required when projectIdentifier is given.")
	}
	switch c.Type {
	case "":
		fs.Add("type", "Connector type cannot be null")
	case TypeAzure:
	default:
		fs.Add("type", "only Azure connectors are served by Azimuth, got %q", c.Type)
	}
	if c.Spec == nil {
		fs.Add("spec", "must not be null")
		return fs.Err()
	}
	if _, err := cloud.Parse(c.Spec.AzureEnvironmentType); err != nil {
		fs.Add("spec.azureEnvironmentType", "Invalid value: %s", c.Spec.AzureEnvironmentType)
	}
	cr := c.Spec.Credential
	if cr == nil {
		fs.Add("spec.credential", "must not be null")
		return fs.Err()
	}
	switch cr.Type {
	case CredentialManual:
		m := cr.Manual
		if m == nil {
			fs.Add("spec.credential.spec", "must not be null")
			break
		}
		if m.ApplicationID == "" {
			fs.Add("spec.credential.spec.applicationId", "must not be null")
		}
		if m.TenantID == "" {
			fs.Add("spec.credential.spec.tenantId", "must not be null")
		}
		if m.Auth == nil {
			fs.Add("spec.credential.spec.auth", "must not be null")
			break
		}
		switch m.Auth.Type {
		case AuthSecret:
			if _, err := scope.ParseRef(m.Auth.SecretRef); err != nil {
				fs.Add("spec.credential.spec.auth.spec.secretRef", "%v", err)
			}
		case AuthCertificate:
			if _, err := scope.ParseRef(m.Auth.CertificateRef); err != nil {
				fs.Add("spec.credential.spec.auth.spec.certificateRef", "%v", err)
			}
		default:
			fs.Add("spec.credential.spec.auth.type", "Invalid value: %s", m.Auth.Type)
		}
	case CredentialInherit:
		if len(c.Spec.DelegateSelectors) == 0 {
			fs.Add("spec.delegateSelectors", "Delegate Selector cannot be null for inherit from delegate credential type")
		}
		if cr.Inherit == nil || cr.Inherit.Auth == nil {
			fs.Add("spec.credential.spec.auth", "must not be null")
			break
		}
		switch cr.Inherit.Auth.Type {
		case ManagedIdentitySystem:
		case ManagedIdentityUser:
			if cr.Inherit.Auth.ClientID == "" {
				fs.Add("spec.credential.spec.auth.spec.clientId", "must not be null")
			}
		default:
			fs.Add("spec.credential.spec.auth.type", "Invalid value: %s", cr.Inherit.Auth.Type)
		}
	case CredentialOIDC:
		fs.Add("spec.credential.type", "OidcAuthentication connectors are not supported yet")
	default:
		fs.Add("spec.credential.type", "Invalid value: %s", cr.Type)
	}
	return fs.Err()
}

// SecretUses lists the secrets the connector refers to.
func (c *Connector) SecretUses() []SecretUse {
	if c.Spec == nil || c.Spec.Credential == nil || c.Spec.Credential.Manual == nil || c.Spec.Credential.Manual.Auth == nil {
		return nil
	}
	a := c.Spec.Credential.Manual.Auth
	var u SecretUse
	switch a.Type {
	case AuthSecret:
		u = SecretUse{Path: "spec.credential.spec.auth.spec.secretRef", Field: "secretKey", Kind: SecretText}
		u.Ref, _ = scope.ParseRef(a.SecretRef)
	case AuthCertificate:
		u = SecretUse{Path: "spec.credential.spec.auth.spec.certificateRef", Field: "clientCertRef", Kind: SecretFile}
		u.Ref, _ = scope.ParseRef(a.CertificateRef)
	default:
		return nil
	}
	return []SecretUse{u}
}

// CheckSecretScopes applies Harness's scope-compatibility rule.
func (c *Connector) CheckSecretScopes(owner scope.Scope) error {
	var fs failure.Fields
	for _, u := range c.SecretUses() {
		if err := u.Ref.CheckUsableFrom(owner); err != nil {
			fs.Add(u.Path, "Error while validating %s field : %v", u.Field, err)
		}
	}
	return fs.Err()
}

// Scope returns the connector's scope in account.
func (c *Connector) Scope(account string) scope.Scope {
	return scope.New(account, c.OrgIdentifier, c.ProjectIdentifier)
}

var standinReserved = map[string]bool{"or": true, "and": true, "eq": true, "ne": true, "lt": true, "gt": true, "le": true, "ge": true,
	"div": true, "mod": true, "not": true, "null": true, "true": true, "false": true, "new": true, "var": true, "return": true,
	"step": true, "parallel": true, "stepGroup": true, "org": true, "account": true, "class": true, "shellScriptProvisioner": true}
