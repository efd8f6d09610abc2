package azuresim

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// The Go API tests use to read and change the world of a running Sim.

// View runs f with the world under the read lock. f must not keep
// references to the world or change it.
func (s *Sim) View(f func(w *World)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	f(s.world)
}

// update runs f with the world under the write lock.
func (s *Sim) update(f func(w *World) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f(s.world)
}

func (w *World) appByName(tenant, app string) (*Tenant, *App, error) {
	t := w.tenant(tenant)
	if t == nil {
		return nil, nil, fmt.Errorf("azuresim: no tenant %q", tenant)
	}
	for _, a := range t.Apps {
		if strings.EqualFold(a.Name, app) || strings.EqualFold(a.AppID, app) {
			return t, a, nil
		}
	}
	return nil, nil, fmt.Errorf("azuresim: no app %q in tenant %s", app, t.Domain)
}

// CertificatePEM returns an app certificate and its private key (PKCS#8)
// as PEM, for certificates generated at start or given with their key.
// tenant is an id or domain; app a name or app id; cert the certificate's
// name ("" for the first).
func (s *Sim) CertificatePEM(tenant, app, cert string) ([]byte, error) {
	c, err := s.appCert(tenant, app, cert)
	if err != nil {
		return nil, err
	}
	if len(c.keyPEM) == 0 {
		return nil, fmt.Errorf("azuresim: certificate %q of app %q has no private key in the world", c.Name, app)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
	return append(out, c.keyPEM...), nil
}

// CertificatePKCS12 returns the same certificate and key as a PKCS#12
// (PFX) file protected by password, in the legacy 3DES/SHA-1 form that
// azidentity.ParseCertificates (golang.org/x/crypto/pkcs12) reads.
func (s *Sim) CertificatePKCS12(tenant, app, cert, password string) ([]byte, error) {
	c, err := s.appCert(tenant, app, cert)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(c.keyPEM)
	if blk == nil {
		return nil, fmt.Errorf("azuresim: certificate %q of app %q has no private key in the world", c.Name, app)
	}
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("azuresim: parse key: %w", err)
	}
	pfx, err := pkcs12.LegacyDES.Encode(key, c.cert, nil, password)
	if err != nil {
		return nil, fmt.Errorf("azuresim: encode PKCS#12: %w", err)
	}
	return pfx, nil
}

func (s *Sim) appCert(tenant, app, cert string) (*AppCertificate, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, a, err := s.world.appByName(tenant, app)
	if err != nil {
		return nil, err
	}
	for _, c := range a.Certificates {
		if cert == "" || strings.EqualFold(c.Name, cert) {
			return c, nil
		}
	}
	return nil, fmt.Errorf("azuresim: app %q has no certificate %q", app, cert)
}

// AddApp registers an app (with its secrets, certificates and federated
// credentials) in a tenant; ids left empty are generated. It returns the
// prepared app's appId and objectId.
func (s *Sim) AddApp(tenant string, a App) (appID, objectID string, err error) {
	if a.AppID == "" {
		a.AppID = newGUID()
	}
	if a.ObjectID == "" {
		a.ObjectID = newGUID()
	}
	now := s.Now()
	err = s.update(func(w *World) error {
		t := w.tenant(tenant)
		if t == nil {
			return fmt.Errorf("azuresim: no tenant %q", tenant)
		}
		if t.principalByRef(a.Name) != nil || t.principalByRef(a.AppID) != nil || t.principalByRef(a.ObjectID) != nil {
			return fmt.Errorf("azuresim: app %q clashes with an existing principal", a.Name)
		}
		for i, sec := range a.Secrets {
			if sec.KeyID == "" {
				sec.KeyID = newGUID()
			}
			if sec.Value == "" {
				return fmt.Errorf("azuresim: secrets[%d] has no value", i)
			}
		}
		for i, c := range a.Certificates {
			if err := c.prepare(&a, now); err != nil {
				return fmt.Errorf("azuresim: certificates[%d]: %w", i, err)
			}
		}
		if err := prepareFederated(a.FederatedCredentials); err != nil {
			return err
		}
		app := a
		t.Apps = append(t.Apps, &app)
		return nil
	})
	return a.AppID, a.ObjectID, err
}

// AddSecret adds a client secret to an app.
func (s *Sim) AddSecret(tenant, app string, value Secret, expiresAt time.Time) (keyID string, err error) {
	keyID = newGUID()
	err = s.update(func(w *World) error {
		_, a, err := w.appByName(tenant, app)
		if err != nil {
			return err
		}
		a.Secrets = append(a.Secrets, &ClientSecret{KeyID: keyID, Value: value, ExpiresAt: expiresAt})
		return nil
	})
	return keyID, err
}

// SetSecretExpiry changes when an app's secret expires (by key id, or
// every secret of the app when keyID is "").
func (s *Sim) SetSecretExpiry(tenant, app, keyID string, expiresAt time.Time) error {
	return s.update(func(w *World) error {
		_, a, err := w.appByName(tenant, app)
		if err != nil {
			return err
		}
		n := 0
		for _, sec := range a.Secrets {
			if keyID == "" || strings.EqualFold(sec.KeyID, keyID) {
				sec.ExpiresAt = expiresAt
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("azuresim: app %q has no secret %q", app, keyID)
		}
		return nil
	})
}

// AddFederatedCredential trusts an external issuer's subject for an app or
// a user-assigned identity (by name or client id).
func (s *Sim) AddFederatedCredential(tenant, principal string, fc FederatedCredential) error {
	return s.update(func(w *World) error {
		t := w.tenant(tenant)
		if t == nil {
			return fmt.Errorf("azuresim: no tenant %q", tenant)
		}
		if err := prepareFederated([]*FederatedCredential{&fc}); err != nil {
			return err
		}
		if _, a, err := w.appByName(tenant, principal); err == nil {
			a.FederatedCredentials = append(a.FederatedCredentials, &fc)
			return nil
		}
		if mi := t.identity(principal); mi != nil {
			mi.FederatedCredentials = append(mi.FederatedCredentials, &fc)
			return nil
		}
		return fmt.Errorf("azuresim: no app or managed identity %q", principal)
	})
}

// AddRoleAssignment grants a role (name or id) to a principal (name or
// object id) at a scope and returns the assignment's id.
func (s *Sim) AddRoleAssignment(tenant, principal, role, scope string) (string, error) {
	ra := &RoleAssignment{Principal: principal, Role: role, Scope: scope, CreatedOn: s.Now().UTC().Truncate(time.Second)}
	err := s.update(func(w *World) error {
		t := w.tenant(tenant)
		if t == nil {
			return fmt.Errorf("azuresim: no tenant %q", tenant)
		}
		if err := t.resolveAssignment(ra); err != nil {
			return fmt.Errorf("azuresim: %w", err)
		}
		t.RoleAssignments = append(t.RoleAssignments, ra)
		return nil
	})
	return ra.ID, err
}

// RemoveRoleAssignment deletes an assignment by id.
func (s *Sim) RemoveRoleAssignment(tenant, id string) error {
	return s.update(func(w *World) error {
		t := w.tenant(tenant)
		if t == nil {
			return fmt.Errorf("azuresim: no tenant %q", tenant)
		}
		for i, ra := range t.RoleAssignments {
			if strings.EqualFold(ra.ID, id) {
				t.RoleAssignments = append(t.RoleAssignments[:i], t.RoleAssignments[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("azuresim: no role assignment %q", id)
	})
}

// AddCustomRole defines a custom role in a tenant and returns its id.
func (s *Sim) AddCustomRole(tenant string, rd RoleDefinition) (string, error) {
	if rd.ID == "" {
		rd.ID = newGUID()
	}
	if rd.Type == "" {
		rd.Type = "CustomRole"
	}
	err := s.update(func(w *World) error {
		t := w.tenant(tenant)
		if t == nil {
			return fmt.Errorf("azuresim: no tenant %q", tenant)
		}
		if rd.RoleName == "" || t.role(rd.RoleName) != nil || t.role(rd.ID) != nil {
			return fmt.Errorf("azuresim: role %q is unnamed or clashes with an existing role", rd.RoleName)
		}
		if len(rd.AssignableScopes) == 0 {
			for _, sub := range t.Subscriptions {
				rd.AssignableScopes = append(rd.AssignableScopes, subScope(sub.ID))
			}
		}
		r := rd
		t.RoleDefinitions = append(t.RoleDefinitions, &r)
		return nil
	})
	return rd.ID, err
}

// Principal finds a principal by name, app id, client id or object id.
func (s *Sim) Principal(tenant, ref string) (Principal, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.world.tenant(tenant)
	if t == nil {
		return Principal{}, fmt.Errorf("azuresim: no tenant %q", tenant)
	}
	p := t.principalByRef(ref)
	if p == nil {
		return Principal{}, fmt.Errorf("azuresim: no principal %q in tenant %s", ref, t.Domain)
	}
	return *p, nil
}

// IssueToken mints an access token for a principal and audience directly,
// bypassing Entra (for tests of token validation elsewhere).
func (s *Sim) IssueToken(tenant, principal, audience string) (string, time.Time, error) {
	p, err := s.Principal(tenant, principal)
	if err != nil {
		return "", time.Time{}, err
	}
	return s.mint(&p, audience, "1")
}
