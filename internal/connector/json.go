package connector

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/azimuthcd/azimuth/internal/failure"
)

// The wire form of the connector is Harness's exactly. The polymorphic
// parts are {"type": ..., "spec": {...}} objects whose spec follows the
// type; the methods below read and write that form. Reading goes through
// the same binder as Decode, so json.Unmarshal into these types is as strict
// as Decode (case-sensitive keys, wrong types and unknown enum values
// refused, unknown keys ignored) and fails with *failure.Error values whose
// field paths are relative to the value being read.

var (
	_ json.Marshaler   = Connector{}
	_ json.Unmarshaler = (*Connector)(nil)
	_ json.Marshaler   = AzureSpec{}
	_ json.Marshaler   = Credential{}
	_ json.Unmarshaler = (*Credential)(nil)
	_ json.Marshaler   = ManualAuth{}
	_ json.Unmarshaler = (*ManualAuth)(nil)
	_ json.Marshaler   = ManagedIdentityAuth{}
	_ json.Unmarshaler = (*ManagedIdentityAuth)(nil)
)

// marshal is json.Marshal without HTML escaping: Harness writes "R&D", not
// "R\u0026D", and exported files are read by people.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// connectorWire fixes the field order of ConnectorInfo.
type connectorWire struct {
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

// MarshalJSON writes Harness's ConnectorInfo. Tags are always an object
// ({} when there are none), as Harness returns them.
func (c Connector) MarshalJSON() ([]byte, error) {
	w := connectorWire(c)
	if w.Tags == nil {
		w.Tags = map[string]string{}
	}
	return marshal(w)
}

// UnmarshalJSON reads Harness's ConnectorInfo (without the wrapper).
func (c *Connector) UnmarshalJSON(data []byte) error {
	return unmarshalWith(data, func(b *binder, v *value) {
		if b.object(v, "") {
			*c = *b.connector(v, "")
		} else if v.kind == kindNull {
			*c = Connector{}
		}
	})
}

// specWire fixes the field order of the Azure spec (AzureConnectorDTO).
type specWire struct {
	Credential           *Credential `json:"credential"`
	DelegateSelectors    []string    `json:"delegateSelectors"`
	AzureEnvironmentType string      `json:"azureEnvironmentType"`
	ExecuteOnDelegate    bool        `json:"executeOnDelegate"`
}

// MarshalJSON writes the Azure spec with azureEnvironmentType and
// executeOnDelegate always present, carrying their effective values (AZURE
// and true when unset), as Harness's entity defaults do. delegateSelectors
// is written as held: null when never given, [] when given empty, as
// Harness echoes the set it stored.
func (s AzureSpec) MarshalJSON() ([]byte, error) {
	return marshal(specWire{
		Credential:           s.Credential,
		DelegateSelectors:    s.DelegateSelectors,
		AzureEnvironmentType: s.environment(),
		ExecuteOnDelegate:    s.ExecuteOnDelegate == nil || *s.ExecuteOnDelegate,
	})
}

// environment is azureEnvironmentType with Harness's default.
func (s AzureSpec) environment() string {
	if e := strings.TrimSpace(s.AzureEnvironmentType); e != "" {
		return s.AzureEnvironmentType
	}
	return defaultEnvironment
}

type typedWire struct {
	Type string `json:"type"`
	Spec any    `json:"spec"`
}

type typedNoSpecWire struct {
	Type string `json:"type"`
}

// MarshalJSON writes {"type": ..., "spec": {...}}, the spec being the one
// the type selects.
func (c Credential) MarshalJSON() ([]byte, error) {
	w := typedWire{Type: c.Type}
	switch strings.TrimSpace(c.Type) {
	case CredentialManual:
		if c.Manual != nil {
			w.Spec = c.Manual
		}
	case CredentialInherit:
		if c.Inherit != nil {
			w.Spec = c.Inherit
		}
	case CredentialOIDC:
		if c.OIDC != nil {
			w.Spec = c.OIDC
		}
	}
	return marshal(w)
}

// UnmarshalJSON reads {"type": ..., "spec": {...}}; an unknown type is
// "Invalid value: <v>".
func (c *Credential) UnmarshalJSON(data []byte) error {
	return unmarshalWith(data, func(b *binder, v *value) {
		if got := b.credential(v, ""); got != nil {
			*c = *got
		}
	})
}

type secretRefWire struct {
	SecretRef string `json:"secretRef"`
}

type certificateRefWire struct {
	CertificateRef string `json:"certificateRef"`
}

// MarshalJSON writes {"type": "Secret", "spec": {"secretRef": ...}} or
// {"type": "Certificate", "spec": {"certificateRef": ...}}.
func (a ManualAuth) MarshalJSON() ([]byte, error) {
	w := typedWire{Type: a.Type}
	switch strings.TrimSpace(a.Type) {
	case AuthSecret:
		w.Spec = secretRefWire{a.SecretRef}
	case AuthCertificate:
		w.Spec = certificateRefWire{a.CertificateRef}
	}
	return marshal(w)
}

// UnmarshalJSON reads the service-principal auth object.
func (a *ManualAuth) UnmarshalJSON(data []byte) error {
	return unmarshalWith(data, func(b *binder, v *value) {
		if got := b.manualAuth(v, ""); got != nil {
			*a = *got
		}
	})
}

type clientIDWire struct {
	ClientID string `json:"clientId"`
}

// MarshalJSON writes {"type": "UserAssignedManagedIdentity", "spec":
// {"clientId": ...}} or {"type": "SystemAssignedManagedIdentity"}, which has
// no spec.
func (a ManagedIdentityAuth) MarshalJSON() ([]byte, error) {
	if strings.TrimSpace(a.Type) == ManagedIdentityUser {
		return marshal(typedWire{Type: a.Type, Spec: clientIDWire{a.ClientID}})
	}
	return marshal(typedNoSpecWire{Type: a.Type})
}

// UnmarshalJSON reads the managed-identity auth object.
func (a *ManagedIdentityAuth) UnmarshalJSON(data []byte) error {
	return unmarshalWith(data, func(b *binder, v *value) {
		if got := b.managedIdentity(v, ""); got != nil {
			*a = *got
		}
	})
}

// unmarshalWith parses data and binds it with bind, returning the problems
// found as one Invalid error.
func unmarshalWith(data []byte, bind func(*binder, *value)) error {
	v, err := parseJSON(data)
	if err != nil {
		return parseFailureAt(err)
	}
	b := &binder{}
	bind(b, v)
	return b.fs.Err()
}

// parseFailureAt is parseFailure for a value that is not a whole document:
// its paths are already relative to the value.
func parseFailureAt(err error) error {
	if pe, ok := err.(*parseError); ok {
		field := pe.path
		if field == "" {
			field = FieldBody
		}
		return failure.InvalidField(field, "%s", pe.msg)
	}
	return err
}
