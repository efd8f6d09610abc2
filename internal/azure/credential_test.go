package azure

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/failure"
)

// Every credential kind authenticates against the simulator, reports the
// identity its token names, and lists the subscriptions its roles show.
func TestCredentialKinds(t *testing.T) {
	s := startSim(t)
	pemPKCS8 := certPEM(t, s, "main")
	cert, key := splitPEM(t, pemPKCS8)
	pemPKCS1 := append(pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)), pemBlock("CERTIFICATE", cert.Raw)...)
	pfxEmpty, err := pkcs12.Modern.Encode(key, cert, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	pfxNone, err := pkcs12.Passwordless.Encode(key, cert, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	pfxLegacy, err := pkcs12.LegacyDES.Encode(key, cert, nil, "")
	if err != nil {
		t.Fatal(err)
	}

	plain := s.Override()
	tests := []struct {
		name     string
		override *cloud.Override
		mi       bool
		conn     *connector.Connector
		secrets  map[string][]byte
		kind     Kind
		object   string
		app      string
		subs     []string
		certFmt  string
		route    string // the token route that must have served it
	}{
		{name: "client secret", override: plain, conn: secretConnector("sp-secret", secretApp, tenantID),
			secrets: secrets(connector.PathSecretRef, secretValue), kind: KindClientSecret, object: secretObject, app: secretApp,
			subs: []string{sub1, sub2, "b0000000-0000-4000-8000-000000000003"}},
		{name: "client secret, tenant as domain, trailing newline", override: plain, conn: secretConnector("sp-domain", secretApp, tenantDomain),
			secrets: secrets(connector.PathSecretRef, secretValue+"\n"), kind: KindClientSecret, object: secretObject, app: secretApp,
			subs: []string{sub1, sub2, "b0000000-0000-4000-8000-000000000003"}},
		{name: "PEM, PKCS#8 key", override: plain, conn: certConnector("sp-pem8", certApp, tenantID),
			secrets: map[string][]byte{connector.PathCertificateRef: pemPKCS8}, kind: KindClientCertificate, object: certObject, app: certApp,
			subs: []string{sub1}, certFmt: "PEM, PKCS#8 key"},
		{name: "PEM, PKCS#1 key before the certificate", override: plain, conn: certConnector("sp-pem1", certApp, tenantID),
			secrets: map[string][]byte{connector.PathCertificateRef: pemPKCS1}, kind: KindClientCertificate, object: certObject, app: certApp,
			subs: []string{sub1}, certFmt: "PEM, PKCS#1 key"},
		{name: "PKCS#12, empty password", override: plain, conn: certConnector("sp-pfx", certApp, tenantID),
			secrets: map[string][]byte{connector.PathCertificateRef: pfxEmpty}, kind: KindClientCertificate, object: certObject, app: certApp,
			subs: []string{sub1}, certFmt: "PKCS#12"},
		{name: "PKCS#12, no encryption", override: plain, conn: certConnector("sp-pfx-none", certApp, tenantID),
			secrets: map[string][]byte{connector.PathCertificateRef: pfxNone}, kind: KindClientCertificate, object: certObject, app: certApp,
			subs: []string{sub1}, certFmt: "PKCS#12"},
		{name: "PKCS#12, legacy 3DES, base64", override: plain, conn: certConnector("sp-pfx-b64", certApp, tenantID),
			secrets: map[string][]byte{connector.PathCertificateRef: []byte(base64.StdEncoding.EncodeToString(pfxLegacy))}, kind: KindClientCertificate,
			object: certObject, app: certApp, subs: []string{sub1}, certFmt: "PKCS#12, base64-encoded"},
		{name: "system-assigned identity, IMDS", override: hostOverride(t, s, "delegate-vm", false), mi: true, conn: miConnector("mi-sys", ""),
			kind: KindSystemAssignedIdentity, object: sysPrincipal, app: sysClient, subs: []string{sub1}, route: "imds.token"},
		{name: "user-assigned identity, IMDS", override: hostOverride(t, s, "delegate-vm", false), mi: true, conn: miConnector("mi-user", uamiClient),
			kind: KindUserAssignedIdentity, object: uamiPrincipal, app: uamiClient, subs: []string{sub2}, route: "imds.token"},
		{name: "system-assigned identity, App Service endpoint", override: hostOverride(t, s, "delegate-vm", true), mi: true, conn: miConnector("mi-sys-as", ""),
			kind: KindSystemAssignedIdentity, object: sysPrincipal, app: sysClient, subs: []string{sub1}, route: "appservice.token"},
		{name: "user-assigned identity, App Service endpoint", override: hostOverride(t, s, "delegate-vm", true), mi: true, conn: miConnector("mi-user-as", uamiClient),
			kind: KindUserAssignedIdentity, object: uamiPrincipal, app: uamiClient, subs: []string{sub2}, route: "appservice.token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFactory(t, tc.override, func(o *Options) { o.ManagedIdentity = tc.mi })
			ctx := context.Background()
			if tc.route == "" {
				tc.route = "entra.token"
			}
			before := s.RequestCount(tc.route)
			cred, err := f.Credential(tc.conn, tc.secrets, "k1")
			if err != nil {
				t.Fatalf("credential: %v", err)
			}
			if cred.Kind != tc.kind {
				t.Errorf("kind %s, want %s", cred.Kind, tc.kind)
			}
			id, err := cred.Identity(ctx)
			if err != nil {
				t.Fatalf("identity: %v", err)
			}
			if id.TenantID != tenantID || id.ObjectID != tc.object || id.ApplicationID != tc.app {
				t.Errorf("identity %+v, want tenant %s object %s app %s", id, tenantID, tc.object, tc.app)
			}
			subs, err := listSubscriptions(ctx, cred)
			if err != nil {
				t.Fatalf("list subscriptions: %v", cred.Classify(err))
			}
			slices.Sort(subs)
			if !slices.Equal(subs, tc.subs) {
				t.Errorf("subscriptions %v, want %v", subs, tc.subs)
			}
			if n := s.RequestCount(tc.route) - before; n != 1 {
				t.Errorf("%s served %d token requests, want 1 (identity and listing share the token)", tc.route, n)
			}
			if tc.certFmt != "" {
				if cred.Certificate == nil || cred.Certificate.Format != tc.certFmt || cred.Certificate.KeyBits < 2048 {
					t.Errorf("certificate info %+v, want format %q", cred.Certificate, tc.certFmt)
				}
			}
		})
	}
}

// The server (ManagedIdentity off) refuses InheritFromDelegate; OIDC is
// refused everywhere for now.
func TestRefusedCredentialTypes(t *testing.T) {
	f := newFactory(t, nil, nil)
	_, err := f.Credential(miConnector("mi", ""), nil, "")
	e, ok := AsError(err)
	if !ok || e.Reason != ReasonInheritFromDelegate || !failure.Is(err, failure.Invalid) || e.Hint == "" {
		t.Fatalf("inherit on the server: %v", err)
	}
	oidc := baseConnector("oidc")
	oidc.Spec.Credential = &connector.Credential{Type: connector.CredentialOIDC, OIDC: &connector.OIDCSpec{ApplicationID: secretApp, TenantID: tenantID}}
	_, err = f.Credential(oidc, nil, "")
	if e, ok := AsError(err); !ok || e.Reason != ReasonCredentialTypeNotSupported {
		t.Fatalf("oidc: %v", err)
	}
	// A secret the engine did not resolve, an empty one, a malformed tenant.
	_, err = f.Credential(secretConnector("c", secretApp, tenantID), nil, "")
	if e, ok := AsError(err); !ok || e.Reason != ReasonSecretMissing {
		t.Fatalf("missing secret: %v", err)
	}
	_, err = f.Credential(secretConnector("c", secretApp, tenantID), secrets(connector.PathSecretRef, "  \n"), "")
	if e, ok := AsError(err); !ok || e.Reason != ReasonSecretMissing {
		t.Fatalf("empty secret: %v", err)
	}
	_, err = f.Credential(secretConnector("c", secretApp, "my tenant"), secrets(connector.PathSecretRef, secretValue), "")
	if e, ok := AsError(err); !ok || e.Reason != ReasonTenantNotFound {
		t.Fatalf("malformed tenant: %v", err)
	}
	// The failure view carries the reason as its code.
	fe, ok := failure.As(err)
	if !ok || fe.Code != string(ReasonTenantNotFound) || fe.Hint == "" {
		t.Fatalf("failure view: %+v", fe)
	}
	var target *Error
	if !errors.As(err, &target) {
		t.Fatal("errors.As *Error")
	}
}

// One credential object per connector and key; a new key (connector or
// secret version) or a new secret value replaces it; Forget drops it.
func TestCredentialCache(t *testing.T) {
	f := newFactory(t, nil, func(o *Options) { o.MaxCredentials = 3 })
	c := secretConnector("cached", secretApp, tenantID)
	sec := secrets(connector.PathSecretRef, secretValue)
	a, err := f.Credential(c, sec, "v1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := f.Credential(c.Clone(), sec, "v1")
	if a != b {
		t.Fatal("same connector and key: want the same credential object")
	}
	c2, _ := f.Credential(c, sec, "v2")
	if c2 == a {
		t.Fatal("new key: want a new credential")
	}
	if again, _ := f.Credential(c, sec, "v2"); again != c2 {
		t.Fatal("the new credential is cached")
	}
	if f.Cached() != 1 {
		t.Fatalf("cached %d, want 1: the older credential of the connector is dropped", f.Cached())
	}
	c3, _ := f.Credential(c, secrets(connector.PathSecretRef, "another-value"), "v2")
	if c3 == c2 {
		t.Fatal("new secret value under the same key: want a new credential")
	}
	other := secretConnector("other", secretApp, tenantID)
	other.OrgIdentifier = "org"
	if o, _ := f.Credential(other, sec, "v1"); o == c3 {
		t.Fatal("another connector shares a credential")
	}
	gov := secretConnector("cached", secretApp, tenantID)
	gov.Spec.AzureEnvironmentType = string(cloud.USGov)
	if g, _ := f.Credential(gov, sec, "v2"); g.Cloud().Name != cloud.USGov {
		t.Fatal("cloud")
	}
	if f.Cached() != 3 {
		t.Fatalf("cached %d, want 3", f.Cached())
	}
	f.Forget(c)
	if f.Cached() != 1 {
		t.Fatalf("after Forget: cached %d, want 1 (both clouds of the connector dropped)", f.Cached())
	}
	for i := range 5 {
		x := secretConnector("many", secretApp, tenantID)
		x.Identifier = "many" + string(rune('a'+i))
		if _, err := f.Credential(x, sec, "v1"); err != nil {
			t.Fatal(err)
		}
	}
	if f.Cached() != 3 {
		t.Fatalf("cached %d, want the bound 3", f.Cached())
	}
}

// Client builds an SDK client once per credential and name.
func TestSharedClients(t *testing.T) {
	f := newFactory(t, nil, nil)
	cred, err := f.Credential(secretConnector("c", secretApp, tenantID), secrets(connector.PathSecretRef, secretValue), "k")
	if err != nil {
		t.Fatal(err)
	}
	builds := 0
	build := func(c *Credential) (*armsubscriptions.Client, error) {
		builds++
		return armsubscriptions.NewClient(c, c.ARMOptions())
	}
	a, err := Client(cred, "subs", build)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Client(cred, "subs", build)
	if a != b || builds != 1 {
		t.Fatalf("same name: %d builds, same client %v", builds, a == b)
	}
	if _, err := Client(cred, "subs-2", build); err != nil || builds != 2 {
		t.Fatalf("another name: %d builds", builds)
	}
	if _, err := Client(cred, "broken", func(*Credential) (*armsubscriptions.Client, error) { return nil, errors.New("boom") }); err == nil {
		t.Fatal("a build error must be returned")
	}
	if _, err := Client(cred, "broken", build); err != nil {
		t.Fatal("a failed build is not cached")
	}
}
