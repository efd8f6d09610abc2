package connector

import (
	"strings"

	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/scope"
)

// defaultEnvironment is Harness's entity default for azureEnvironmentType.
const defaultEnvironment = string(cloud.Public)

// Normalize puts a decoded connector into canonical form, in place, before
// Validate:
//   - every string field is trimmed; an empty orgIdentifier or
//     projectIdentifier is cleared (Harness turns "" into null);
//   - tags nil becomes {} (tag keys and values are kept as given);
//   - spec.azureEnvironmentType defaults to AZURE and spec.executeOnDelegate
//     to true;
//   - delegateSelectors are trimmed and de-duplicated, first occurrence
//     kept, order kept (null stays null);
//   - secret references are written in Harness's canonical form
//     ("ACCOUNT.x" becomes "account.x"), as Harness echoes them.
//
// azureEnvironmentType may be omitted: Harness's DTO marks it @NotNull, but
// its entity defaults it to AZURE, its helpers read null as AZURE, the UI
// always sends it and the Terraform provider treats it as optional and
// computed (sending "" when unset). Refusing an omitted value would reject
// documents Harness's own tools produce, so Azimuth applies the default.
func (c *Connector) Normalize() {
	if c == nil {
		return
	}
	c.Name = strings.TrimSpace(c.Name)
	c.Identifier = strings.TrimSpace(c.Identifier)
	c.Description = strings.TrimSpace(c.Description)
	c.AccountIdentifier = strings.TrimSpace(c.AccountIdentifier)
	c.OrgIdentifier = strings.TrimSpace(c.OrgIdentifier)
	c.ProjectIdentifier = strings.TrimSpace(c.ProjectIdentifier)
	c.Type = strings.TrimSpace(c.Type)
	if c.Tags == nil {
		c.Tags = map[string]string{}
	}
	if c.Spec != nil {
		c.Spec.normalize()
	}
}

func (s *AzureSpec) normalize() {
	s.AzureEnvironmentType = strings.TrimSpace(s.AzureEnvironmentType)
	if s.AzureEnvironmentType == "" {
		s.AzureEnvironmentType = defaultEnvironment
	}
	if s.ExecuteOnDelegate == nil {
		t := true
		s.ExecuteOnDelegate = &t
	}
	if s.DelegateSelectors != nil {
		seen := make(map[string]bool, len(s.DelegateSelectors))
		out := make([]string, 0, len(s.DelegateSelectors))
		for _, sel := range s.DelegateSelectors {
			sel = strings.TrimSpace(sel)
			if seen[sel] {
				continue
			}
			seen[sel] = true
			out = append(out, sel)
		}
		s.DelegateSelectors = out
	}
	if s.Credential != nil {
		s.Credential.normalize()
	}
}

func (c *Credential) normalize() {
	c.Type = strings.TrimSpace(c.Type)
	if m := c.Manual; m != nil {
		m.ApplicationID = strings.TrimSpace(m.ApplicationID)
		m.TenantID = strings.TrimSpace(m.TenantID)
		if a := m.Auth; a != nil {
			a.Type = strings.TrimSpace(a.Type)
			a.SecretRef = canonicalRef(a.SecretRef)
			a.CertificateRef = canonicalRef(a.CertificateRef)
		}
	}
	if i := c.Inherit; i != nil && i.Auth != nil {
		i.Auth.Type = strings.TrimSpace(i.Auth.Type)
		i.Auth.ClientID = strings.TrimSpace(i.Auth.ClientID)
	}
	if o := c.OIDC; o != nil {
		o.ApplicationID = strings.TrimSpace(o.ApplicationID)
		o.TenantID = strings.TrimSpace(o.TenantID)
		o.Audience = strings.TrimSpace(o.Audience)
	}
}

// canonicalRef rewrites a secret reference in Harness's output form; one
// that does not parse is only trimmed, for Validate to report.
func canonicalRef(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r, err := scope.ParseRef(s)
	if err != nil {
		return s
	}
	return r.String()
}
