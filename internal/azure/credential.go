package azure

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/failure"
)

// Kind is how a credential authenticates.
type Kind string

// The credential kinds.
const (
	KindClientSecret           Kind = "ServicePrincipalSecret"
	KindClientCertificate      Kind = "ServicePrincipalCertificate"
	KindSystemAssignedIdentity Kind = "SystemAssignedManagedIdentity"
	KindUserAssignedIdentity   Kind = "UserAssignedManagedIdentity"
)

func (k Kind) managed() bool { return k == KindSystemAssignedIdentity || k == KindUserAssignedIdentity }

// InheritFromDelegateMessage is Harness's refusal of a connection test
// run by the server for a managed-identity connector.
const InheritFromDelegateMessage = "Connector with credential type InheritFromDelegate does not support validation through harness"

// credSpec is the part of a connector a credential is built from.
type credSpec struct {
	kind       Kind
	tenantID   string
	clientID   string
	secretPath string // key into the secrets map; "" for managed identity
	secretRef  string // the reference as written, for hints
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// credentialSpec reads the connector's credential, refusing what cannot
// be used.
func credentialSpec(c *connector.Connector) (credSpec, error) {
	invalid := func(msg string) error {
		return newError(ReasonConnectorInvalid, failure.Invalid, msg, "Fix the connector (azimuth connector get ID -o yaml) and save it again.")
	}
	if c == nil || c.Spec == nil || c.Spec.Credential == nil {
		return credSpec{}, invalid("The connector has no credential (spec.credential).")
	}
	cr := c.Spec.Credential
	switch cr.Type {
	case connector.CredentialManual:
		m := cr.Manual
		if m == nil || m.Auth == nil {
			return credSpec{}, invalid("The connector's ManualConfig credential has no auth (spec.credential.spec.auth).")
		}
		if strings.TrimSpace(m.ApplicationID) == "" || strings.TrimSpace(m.TenantID) == "" {
			return credSpec{}, invalid("The connector's ManualConfig credential needs applicationId and tenantId.")
		}
		s := credSpec{tenantID: strings.TrimSpace(m.TenantID), clientID: strings.TrimSpace(m.ApplicationID)}
		switch m.Auth.Type {
		case connector.AuthSecret:
			s.kind, s.secretPath, s.secretRef = KindClientSecret, connector.PathSecretRef, m.Auth.SecretRef
		case connector.AuthCertificate:
			s.kind, s.secretPath, s.secretRef = KindClientCertificate, connector.PathCertificateRef, m.Auth.CertificateRef
		default:
			return credSpec{}, invalid(fmt.Sprintf("Unknown auth type %q (allowed: Secret, Certificate).", m.Auth.Type))
		}
		return s, nil
	case connector.CredentialInherit:
		in := cr.Inherit
		if in == nil || in.Auth == nil {
			return credSpec{}, invalid("The connector's InheritFromDelegate credential has no auth (spec.credential.spec.auth).")
		}
		switch in.Auth.Type {
		case connector.ManagedIdentitySystem:
			return credSpec{kind: KindSystemAssignedIdentity}, nil
		case connector.ManagedIdentityUser:
			id := strings.TrimSpace(in.Auth.ClientID)
			if id == "" {
				return credSpec{}, invalid("A UserAssignedManagedIdentity credential needs the identity's clientId.")
			}
			return credSpec{kind: KindUserAssignedIdentity, clientID: id}, nil
		default:
			return credSpec{}, invalid(fmt.Sprintf("Unknown managed identity type %q (allowed: SystemAssignedManagedIdentity, UserAssignedManagedIdentity).", in.Auth.Type))
		}
	case connector.CredentialOIDC:
		return credSpec{}, newError(ReasonCredentialTypeNotSupported, failure.Invalid,
			"OidcAuthentication connectors are not supported yet: Azimuth does not issue the OIDC token Entra ID would exchange.",
			"Use a service principal (ManualConfig with a secret or a certificate), or a delegate's managed identity (InheritFromDelegate).")
	default:
		return credSpec{}, invalid(fmt.Sprintf("Unknown credential type %q (allowed: ManualConfig, InheritFromDelegate, OidcAuthentication).", cr.Type))
	}
}

// build makes a new credential; f.mu is not held.
func (f *Factory) build(c *connector.Connector, cl *Cloud, spec credSpec, secrets map[string][]byte) (*Credential, error) {
	co := f.ClientOptions(cl)
	cred := &Credential{
		factory:  f,
		cloud:    cl,
		Kind:     spec.kind,
		TenantID: spec.tenantID,
		ClientID: spec.clientID,
		info: credInfo{kind: spec.kind, cloud: cl.Name, authority: cl.AuthorityHost(), armHost: cl.ResourceManagerHost(), tenantID: spec.tenantID,
			clientID: spec.clientID, secretRef: spec.secretRef},
	}
	var inner azcore.TokenCredential
	endpoint := cl.AuthorityHost()
	switch spec.kind {
	case KindClientSecret, KindClientCertificate:
		if !validTenant(spec.tenantID) {
			return nil, newError(ReasonTenantNotFound, failure.Invalid,
				fmt.Sprintf("tenantId %q is neither a tenant ID (a GUID) nor a domain name.", spec.tenantID),
				"Set tenantId to the \"Directory (tenant) ID\" shown on the app registration's overview page (az account show --query tenantId).")
		}
		raw, ok := secrets[spec.secretPath]
		if !ok {
			return nil, newError(ReasonSecretMissing, failure.Invalid,
				fmt.Sprintf("The secret %q (%s) was not resolved for this task.", spec.secretRef, spec.secretPath),
				"Check that the secret exists and that the connector's scope may use it.")
		}
		if spec.kind == KindClientSecret {
			secret := strings.TrimSpace(string(raw))
			if secret == "" {
				return nil, newError(ReasonSecretMissing, failure.Invalid,
					fmt.Sprintf("The secret %q holds no client secret (it is empty).", spec.secretRef),
					"Store the client secret's value (from the app registration's Certificates & secrets) in it.")
			}
			cred.info.secretIsGUID = guidRE.MatchString(secret)
			sc, err := azidentity.NewClientSecretCredential(spec.tenantID, spec.clientID, secret, &azidentity.ClientSecretCredentialOptions{
				ClientOptions:            co,
				DisableInstanceDiscovery: cl.DisableInstanceDiscovery,
			})
			if err != nil {
				return nil, newError(ReasonConnectorInvalid, failure.Invalid, "Cannot use the connector's client secret credential: "+err.Error(), "")
			}
			inner = sc
			break
		}
		pc, err := parseCertificate(raw)
		if err != nil {
			return nil, err
		}
		info := pc.info
		cred.Certificate = &info
		cred.info.thumbprint = info.Thumbprint
		cc, err := azidentity.NewClientCertificateCredential(spec.tenantID, spec.clientID, pc.chain, pc.key, &azidentity.ClientCertificateCredentialOptions{
			ClientOptions:            co,
			DisableInstanceDiscovery: cl.DisableInstanceDiscovery,
		})
		if err != nil {
			return nil, newError(ReasonConnectorInvalid, failure.Invalid, "Cannot use the connector's certificate credential: "+err.Error(), "")
		}
		inner = cc
	case KindSystemAssignedIdentity, KindUserAssignedIdentity:
		if !f.opts.ManagedIdentity {
			return nil, newError(ReasonInheritFromDelegate, failure.Invalid,
				"Connector with credential type InheritFromDelegate does not support running Azure operations through the Azimuth server: a managed identity belongs to the machine a delegate runs on.",
				"Set executeOnDelegate: true and delegateSelectors that match a delegate running on an Azure host with this managed identity.")
		}
		var err error
		inner, endpoint, err = f.managedIdentity(spec, co)
		if err != nil {
			return nil, newError(ReasonManagedIdentityUnavailable, failure.Unavailable, "Cannot use this host's managed identity: "+err.Error(),
				"Run the delegate on an Azure host with a managed identity.")
		}
		cred.info.miEndpoint = endpoint
	}
	cred.tokens = newTokenCache(inner, endpoint, f.opts.TokenTimeout, f.log.With("connector", c.Identifier, "credential", string(spec.kind)))
	cred.tokens.now = f.opts.Now
	return cred, nil
}

// managedIdentity returns the credential of this host's identity: the
// App Service style endpoint of the options or the override when one is
// named, else IMDS (through the transport's dial map).
func (f *Factory) managedIdentity(spec credSpec, co azcore.ClientOptions) (azcore.TokenCredential, string, error) {
	as := f.opts.ManagedIdentityEndpoint
	if o := f.opts.Override; as == nil && o != nil {
		as = o.AppService
	}
	c, err := newManagedIdentityCredential(as, spec.clientID, co)
	if err != nil {
		return nil, "", err
	}
	return c, c.host(), nil
}

func validTenant(t string) bool {
	if t == "" {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// Credential is a connector's credential: an azcore.TokenCredential whose
// tokens are cached and shared by every operation of the connector, with
// what Azimuth knows of it (kind, tenant, client id, certificate) and the
// client options of its cloud. It is shared: treat it as read-only.
type Credential struct {
	factory *Factory
	cloud   *Cloud
	tokens  *tokenCache
	info    credInfo
	clients sync.Map // client name -> SDK client built by Client

	Kind     Kind
	TenantID string // "" for managed identities (known from the token)
	ClientID string // application id, or a user-assigned identity's client id
	// Certificate describes the certificate of a certificate credential.
	Certificate *CertificateInfo
}

var _ azcore.TokenCredential = (*Credential)(nil)

// GetToken returns a cached token or acquires one (single-flight).
func (c *Credential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return c.tokens.GetToken(ctx, opts)
}

// Cloud is the credential's cloud.
func (c *Credential) Cloud() *Cloud { return c.cloud }

// ClientOptions are the azcore options for SDK clients using this
// credential (data-plane clients such as azcontainerregistry).
func (c *Credential) ClientOptions() azcore.ClientOptions { return c.factory.ClientOptions(c.cloud) }

// ARMOptions are the options for arm* clients (and arm.NewClient for raw
// requests): the cloud's ARM endpoint, the shared transport and retry
// policy. Resource-provider auto-registration is off: it would turn a read
// into a write the identity usually may not make.
func (c *Credential) ARMOptions() *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: c.ClientOptions(), DisableRPRegistration: true}
}

// Client returns the credential's SDK client named name, building it with
// build the first time. SDK clients are safe for concurrent use and cost
// tens of microseconds to build (azcore validates each client's module
// version with a regular expression), so executors share one per
// credential:
//
//	subs, err := azure.Client(cred, "armsubscriptions", func(c *azure.Credential) (*armsubscriptions.Client, error) {
//		return armsubscriptions.NewClient(c, c.ARMOptions())
//	})
//
// A name must always be used with the same client type.
func Client[T any](c *Credential, name string, build func(*Credential) (T, error)) (T, error) {
	if v, ok := c.clients.Load(name); ok {
		return v.(T), nil
	}
	client, err := build(c)
	if err != nil {
		var zero T
		return zero, err
	}
	v, _ := c.clients.LoadOrStore(name, client)
	return v.(T), nil
}

// Context bounds one operation by the factory's call timeout, unless ctx
// ends sooner.
func (c *Credential) Context(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.factory.opts.CallTimeout)
}

// Classify turns an error of a call made with this credential into an
// *Error naming this credential's application, tenant and secret.
func (c *Credential) Classify(err error) *Error { return classify(err, &c.info) }

// Warnings are problems that do not fail yet: a certificate that expires
// within 30 days.
func (c *Credential) Warnings() []Warning {
	if c.Certificate == nil {
		return nil
	}
	w, _ := checkCertificateDates(*c.Certificate, c.ClientID, c.factory.opts.Now())
	if w == nil {
		return nil
	}
	return []Warning{*w}
}

func (c *Credential) checkDates() error {
	if c.Certificate == nil {
		return nil
	}
	_, err := checkCertificateDates(*c.Certificate, c.ClientID, c.factory.opts.Now())
	return err
}

// Identity is who a token says the caller is.
type Identity struct {
	TenantID      string `json:"tenantId"`
	ObjectID      string `json:"objectId"`
	ApplicationID string `json:"applicationId"`
	// Type is "app" for service principals and managed identities.
	Type string `json:"type,omitempty"`
	// ManagedIdentityResourceID is a user-assigned identity's resource id
	// when the token names it.
	ManagedIdentityResourceID string `json:"managedIdentityResourceId,omitempty"`
}

// Identity gets an ARM token (the one ARM calls then reuse: same scope,
// CAE on) and reads who it names. The token is not verified (Azure does
// that); it is only read for display.
func (c *Credential) Identity(ctx context.Context) (*Identity, error) {
	tok, err := c.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.cloud.ARMScope()}, EnableCAE: true})
	if err != nil {
		return nil, c.Classify(err)
	}
	id := tokenIdentity(tok.Token)
	if id.TenantID == "" {
		id.TenantID = c.TenantID
	}
	if id.ApplicationID == "" {
		id.ApplicationID = c.ClientID
	}
	return id, nil
}

// tokenIdentity reads the tid, oid, appid/azp, idtyp and xms_mirid claims
// of a JWT access token; anything that is not a JWT yields an empty
// Identity.
func tokenIdentity(tok string) *Identity {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return &Identity{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return &Identity{}
	}
	var cl struct {
		TID   string `json:"tid"`
		OID   string `json:"oid"`
		AppID string `json:"appid"`
		AZP   string `json:"azp"`
		IDTyp string `json:"idtyp"`
		MIRID string `json:"xms_mirid"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if dec.Decode(&cl) != nil {
		return &Identity{}
	}
	app := cl.AppID
	if app == "" {
		app = cl.AZP
	}
	return &Identity{TenantID: cl.TID, ObjectID: cl.OID, ApplicationID: app, Type: cl.IDTyp, ManagedIdentityResourceID: cl.MIRID}
}

// Expire forgets the credential's cached tokens (after Azure rejected one).
func (c *Credential) Expire() { c.tokens.expire() }
