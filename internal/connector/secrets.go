package connector

import (
	"fmt"
	"strings"

	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/identifier"
	"github.com/azimuthcd/azimuth/internal/scope"
)

// Harness's Java field names for the secret fields, used in its messages
// ("Error while validating secretKey field : ...").
const (
	FieldSecretKey     = "secretKey"
	FieldClientCertRef = "clientCertRef"
)

// secretField is one secret reference as written, before parsing.
type secretField struct {
	path, field, ref, kind string
}

func (c *Connector) secretFields() []secretField {
	if c == nil || c.Spec == nil || c.Spec.Credential == nil || c.Spec.Credential.Type != CredentialManual {
		return nil
	}
	m := c.Spec.Credential.Manual
	if m == nil || m.Auth == nil {
		return nil
	}
	switch m.Auth.Type {
	case AuthSecret:
		return []secretField{{PathSecretRef, FieldSecretKey, m.Auth.SecretRef, SecretText}}
	case AuthCertificate:
		return []secretField{{PathCertificateRef, FieldClientCertRef, m.Auth.CertificateRef, SecretFile}}
	}
	return nil
}

// SecretUses lists the secrets the connector refers to: for ManualConfig,
// the client secret (a SecretText, Java field secretKey) or the PEM
// certificate (a SecretFile, Java field clientCertRef). Managed identities
// refer to none. A reference that does not parse is left out: Validate
// reports it, so call SecretUses on a valid connector.
func (c *Connector) SecretUses() []SecretUse {
	var out []SecretUse
	for _, f := range c.secretFields() {
		r, err := scope.ParseRef(f.ref)
		if err != nil {
			continue
		}
		out = append(out, SecretUse{Path: f.path, Field: f.field, Ref: r, Kind: f.kind})
	}
	return out
}

// CheckSecretScopes applies Harness's scope-compatibility rule to every
// secret reference, seen from a connector living at owner: an account
// connector may use only account secrets, an org connector not project
// secrets. Problems are Invalid field errors with Harness's wrapping:
// "Error while validating secretKey field : The org level secret cannot be
// used at account level".
func (c *Connector) CheckSecretScopes(owner scope.Scope) error {
	var fs failure.Fields
	for _, f := range c.secretFields() {
		if strings.TrimSpace(f.ref) == "" {
			fs = append(fs, failure.FieldError{Field: f.path, Message: wrapSecretMessage(f.field, "Invalid Secret Reference")})
			continue
		}
		if msg := refProblem(f.ref); msg != "" {
			fs = append(fs, failure.FieldError{Field: f.path, Message: wrapSecretMessage(f.field, msg)})
			continue
		}
		r, _ := scope.ParseRef(f.ref)
		if err := r.CheckUsableFrom(owner); err != nil {
			fs = append(fs, failure.FieldError{Field: f.path, Message: wrapSecretMessage(f.field, identifier.Message(err))})
		}
	}
	return fs.Err()
}

func wrapSecretMessage(field, msg string) string {
	return "Error while validating " + field + " field : " + msg
}

// Problem returns a field error about this use with Harness's wrapping,
// for the checks the service makes against the store.
func (u SecretUse) Problem(format string, args ...any) failure.FieldError {
	return failure.FieldError{Field: u.Path, Message: wrapSecretMessage(u.Field, fmt.Sprintf(format, args...))}
}

// NotFound is the problem of a referenced secret that does not exist in
// scope at (the scope the reference resolves to), in Harness's words: "Error
// while validating secretKey field : No secret exists with the id x  in
// organization o in project p".
func (u SecretUse) NotFound(at scope.Scope) failure.FieldError {
	where := ""
	if at.Org != "" {
		where += " in organization " + at.Org
	}
	if at.Project != "" {
		where += " in project " + at.Project
	}
	return u.Problem("%s", strings.TrimRight(fmt.Sprintf("No secret exists with the id %s %s", u.Ref.Identifier, where), " "))
}

// WrongKind is the problem of a referenced secret of the wrong type: a
// client secret must be a text secret, a certificate a file secret.
func (u SecretUse) WrongKind(actual string) failure.FieldError {
	return u.Problem("secret %s is a %s secret, but this field needs a %s secret", u.Ref, actual, u.Kind)
}
