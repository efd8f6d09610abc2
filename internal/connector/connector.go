package connector

import (
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/scope"
)

// A connector holds no secret values, only references to secrets and
// public identifiers (application, tenant and client IDs), so it needs no
// redaction: it can be logged and returned as it is.

// Scope is the scope the connector lives in: the request's account and the
// document's organization and project.
func (c *Connector) Scope(account string) scope.Scope {
	return scope.New(account, c.OrgIdentifier, c.ProjectIdentifier)
}

// ExecutesOnDelegate reports whether the connector's tasks run on a
// delegate (true, Harness's default) or in the server ("Connect through
// Harness Platform", executeOnDelegate: false).
func (c *Connector) ExecutesOnDelegate() bool {
	return c.Spec == nil || c.Spec.ExecuteOnDelegate == nil || *c.Spec.ExecuteOnDelegate
}

// Cloud is the connector's Azure cloud: AZURE when unset. On a connector
// that has not passed Validate it may name a cloud cloud.Builtin does not
// know.
func (c *Connector) Cloud() cloud.Name {
	if c.Spec == nil {
		return cloud.Public
	}
	return cloud.Name(c.Spec.environment())
}

// CredentialType is spec.credential.type, or "" when there is none.
func (c *Connector) CredentialType() string {
	if c.Spec == nil || c.Spec.Credential == nil {
		return ""
	}
	return c.Spec.Credential.Type
}

// DelegateSelectors are the selectors a delegate must match to run the
// connector's tasks (nil when any delegate may).
func (c *Connector) DelegateSelectors() []string {
	if c.Spec == nil {
		return nil
	}
	return c.Spec.DelegateSelectors
}

// Clone returns a deep copy, so a caller can change one without touching
// the other.
func (c *Connector) Clone() *Connector {
	if c == nil {
		return nil
	}
	out := *c
	if c.Tags != nil {
		out.Tags = maps.Clone(c.Tags)
	}
	if s := c.Spec; s != nil {
		spec := *s
		spec.DelegateSelectors = slices.Clone(s.DelegateSelectors)
		if s.ExecuteOnDelegate != nil {
			v := *s.ExecuteOnDelegate
			spec.ExecuteOnDelegate = &v
		}
		if cr := s.Credential; cr != nil {
			cred := *cr
			if cr.Manual != nil {
				m := *cr.Manual
				if m.Auth != nil {
					a := *m.Auth
					m.Auth = &a
				}
				cred.Manual = &m
			}
			if cr.Inherit != nil {
				i := *cr.Inherit
				if i.Auth != nil {
					a := *i.Auth
					i.Auth = &a
				}
				cred.Inherit = &i
			}
			if cr.OIDC != nil {
				o := *cr.OIDC
				cred.OIDC = &o
			}
			spec.Credential = &cred
		}
		out.Spec = &spec
	}
	return &out
}

// String names the connector for messages: `Azure connector "id" in org/project`.
func (c *Connector) String() string {
	if c == nil {
		return "<nil connector>"
	}
	var b strings.Builder
	b.WriteString("Azure connector ")
	b.WriteString(`"` + c.Identifier + `"`)
	switch {
	case c.ProjectIdentifier != "":
		b.WriteString(" in project " + c.OrgIdentifier + "/" + c.ProjectIdentifier)
	case c.OrgIdentifier != "":
		b.WriteString(" in organization " + c.OrgIdentifier)
	default:
		b.WriteString(" at account level")
	}
	return b.String()
}

// LogValue gives log lines the connector's identity and shape.
func (c *Connector) LogValue() slog.Value {
	if c == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(
		slog.String("identifier", c.Identifier),
		slog.String("org", c.OrgIdentifier),
		slog.String("project", c.ProjectIdentifier),
		slog.String("credential", c.CredentialType()),
		slog.String("cloud", string(c.Cloud())),
		slog.Bool("executeOnDelegate", c.ExecutesOnDelegate()),
	)
}

var _ slog.LogValuer = (*Connector)(nil)
