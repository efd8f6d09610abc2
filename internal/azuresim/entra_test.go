package azuresim

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

func TestClientSecretTokenAndCaching(t *testing.T) {
	s := StartForTest(t, nil)
	ctx := context.Background()
	cred := secretCred(t, s, demoTenant, readerAppID, readerSecret)
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
	if err != nil {
		t.Fatal(err)
	}
	c := claimsOf(t, tok.Token)
	if c.TenantID != demoTenant || c.ObjectID != readerObjectID || c.AppID != readerAppID || c.Audience != "https://management.core.windows.net/" || c.IDType != "app" {
		t.Fatalf("claims %+v", c)
	}
	if d := time.Until(tok.ExpiresOn); d < 50*time.Minute || d > 61*time.Minute {
		t.Fatalf("expires in %v, want about 1h", d)
	}
	if _, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}}); err != nil {
		t.Fatal(err)
	}
	if n := s.TokenRequests(demoTenant, readerAppID, armScope); n != 1 {
		t.Fatalf("token requests = %d, want 1 (the second GetToken is served from the cache)", n)
	}
	// The domain works as the tenant too, and the token validates.
	cred2 := secretCred(t, s, demoDomain, readerAppID, readerSecret)
	tok2, err := cred2.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
	if err != nil {
		t.Fatal(err)
	}
	caller, terr := s.ValidateToken(tok2.Token, armAudiences(cloud.Public)...)
	if terr != nil || caller.Name != "azimuth-reader" {
		t.Fatalf("validate: %v %+v", terr, caller)
	}
}

func TestTokenLifetimeOption(t *testing.T) {
	s := StartForTestWith(t, Options{TokenLifetime: 90 * time.Second})
	tok, err := secretCred(t, s, demoTenant, readerAppID, readerSecret).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{armScope}})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(tok.ExpiresOn); d > 91*time.Second || d < 60*time.Second {
		t.Fatalf("expires in %v, want about 90s", d)
	}
}

// authRecorder is a per-retry policy that keeps the bearer token of each
// request the SDK sends (it runs after the SDK's bearer policy).
type authRecorder struct {
	mu     sync.Mutex
	tokens []string
}

func (a *authRecorder) Do(req *policy.Request) (*http.Response, error) {
	a.mu.Lock()
	a.tokens = append(a.tokens, strings.TrimPrefix(req.Raw().Header.Get("Authorization"), "Bearer "))
	a.mu.Unlock()
	return req.Next()
}

func (a *authRecorder) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.tokens) == 0 {
		return ""
	}
	return a.tokens[len(a.tokens)-1]
}

// ARM calls through the SDK cross a token's expiry: with a 2 s lifetime,
// the call made after the first token expired gets a new token from
// Entra (the second token request) and presents it to ARM.
func TestARMCallsCrossATokenRefresh(t *testing.T) {
	const lifetime = 2 * time.Second
	s := StartForTestWith(t, Options{TokenLifetime: lifetime})
	ctx := context.Background()
	rec := &authRecorder{}
	opts := armOptions(s)
	opts.PerRetryPolicies = append(opts.PerRetryPolicies, rec)
	client, err := armsubscriptions.NewClient(secretCred(t, s, demoTenant, readerAppID, readerSecret), opts)
	if err != nil {
		t.Fatal(err)
	}
	list := func() {
		t.Helper()
		for pager := client.NewListPager(nil); pager.More(); {
			if _, err := pager.NextPage(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	list()
	// The SDK's token expires at most the lifetime after it arrived,
	// which was before list returned.
	expired := time.Now().Add(lifetime)
	list() // within the lifetime: the same token
	first := rec.last()
	if n := s.TokenRequests(demoTenant, readerAppID, armScope); n != 1 {
		t.Fatalf("before expiry: %d token requests, want 1", n)
	}
	time.Sleep(time.Until(expired) + 500*time.Millisecond)
	list()
	if n := s.TokenRequests(demoTenant, readerAppID, armScope); n != 2 {
		t.Fatalf("after expiry: %d token requests, want 2 (one refresh)", n)
	}
	second := rec.last()
	if second == first || claimsOf(t, second).ExpiresAt <= claimsOf(t, first).ExpiresAt {
		t.Fatal("the call after expiry did not present a new token")
	}
}

func TestEntraErrors(t *testing.T) {
	s := StartForTest(t, nil)
	ctx := context.Background()
	tests := []struct {
		name            string
		tenant, id, sec string
		status, code    int
		text            string
	}{
		{"wrong secret", demoTenant, readerAppID, "nope", 401, 7000215, "Invalid client secret provided"},
		{"secret id sent as secret", demoTenant, readerAppID, "31000000-0000-4000-8000-000000000001", 401, 7000215, "not the client secret ID"},
		{"expired secret", demoTenant, expiredAppID, expiredSecret, 401, 7000222, "are expired"},
		{"unknown app", demoTenant, "39999999-0000-4000-8000-000000000000", "x", 400, 700016, "was not found in the directory"},
		{"unknown tenant", "19999999-0000-4000-8000-000000000000", readerAppID, readerSecret, 400, 90002, "not found"},
		{"invalid tenant", "bad..tenant", readerAppID, readerSecret, 400, 900023, "neither a valid DNS name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := secretCred(t, s, tc.tenant, tc.id, tc.sec).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
			status, code, desc := aadCode(t, err)
			if status != tc.status || code != tc.code {
				t.Fatalf("got %d AADSTS%d, want %d AADSTS%d: %s", status, code, tc.status, tc.code, desc)
			}
			wantPrefix(t, desc, "AADSTS"+strconv.Itoa(tc.code)+": ")
			if !strings.Contains(desc, tc.text) {
				t.Fatalf("description %q lacks %q", desc, tc.text)
			}
		})
	}
}

func TestMissingCredential(t *testing.T) {
	s := StartForTest(t, nil)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {readerAppID}, "scope": {armScope}}
	resp, err := s.HTTPClient().PostForm(s.Endpoints(cloud.Public).AuthorityHost+demoTenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var buf strings.Builder
	_, _ = ioCopy(&buf, resp)
	if !strings.Contains(buf.String(), `"error_codes":[7000218]`) || !strings.Contains(buf.String(), `"error":"invalid_client"`) {
		t.Fatalf("body %s", buf.String())
	}
}

func certCred(t *testing.T, s *Sim, pemOrPfx []byte, password string, opts *azidentity.ClientCertificateCredentialOptions) *azidentity.ClientCertificateCredential {
	t.Helper()
	certs, key, err := azidentity.ParseCertificates(pemOrPfx, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	if opts == nil {
		opts = &azidentity.ClientCertificateCredentialOptions{}
	}
	opts.ClientOptions = clientOptions(s, cloud.Public)
	opts.DisableInstanceDiscovery = true
	cred, err := azidentity.NewClientCertificateCredential(demoTenant, certAppID, certs, key, opts)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func TestClientCertificate(t *testing.T) {
	s := StartForTest(t, nil)
	ctx := context.Background()
	pemBytes, err := s.CertificatePEM(demoDomain, "azimuth-cert", "main")
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := s.CertificatePKCS12(demoDomain, "azimuth-cert", "main", "pfx-pass")
	if err != nil {
		t.Fatal(err)
	}
	for name, cred := range map[string]*azidentity.ClientCertificateCredential{
		"pem":        certCred(t, s, pemBytes, "", nil),
		"pkcs12":     certCred(t, s, pfx, "pfx-pass", nil),
		"with chain": certCred(t, s, pemBytes, "", &azidentity.ClientCertificateCredentialOptions{SendCertificateChain: true}),
	} {
		t.Run(name, func(t *testing.T) {
			tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
			if err != nil {
				t.Fatal(err)
			}
			if c := claimsOf(t, tok.Token); c.AppID != certAppID || c.AppIDACR != "2" {
				t.Fatalf("claims %+v", c)
			}
		})
	}

	t.Run("unregistered certificate", func(t *testing.T) {
		cert, key, err := selfSignedRSA("CN=stranger", time.Now(), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		stranger := append(pemCert(cert), key...)
		_, err = certCred(t, s, stranger, "", nil).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
		status, code, desc := aadCode(t, err)
		if status != 401 || code != 700027 || !strings.Contains(desc, "The key was not found") {
			t.Fatalf("%d %d %s", status, code, desc)
		}
	})
	t.Run("assertion out of time", func(t *testing.T) {
		s.SetClockSkew(time.Hour)
		defer s.SetClockSkew(0)
		_, err := certCred(t, s, pemBytes, "", nil).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
		status, code, desc := aadCode(t, err)
		if status != 400 || code != 700024 || !strings.Contains(desc, "not within its valid time range") {
			t.Fatalf("%d %d %s", status, code, desc)
		}
	})
}

func TestExpiredCertificateAndSecretBySkew(t *testing.T) {
	w, err := DemoWorld()
	if err != nil {
		t.Fatal(err)
	}
	w.Tenants[0].Apps[1].Certificates = append(w.Tenants[0].Apps[1].Certificates,
		&AppCertificate{Name: "old", Generate: &CertGeneration{ValidFor: Duration(-time.Hour)}})
	s := StartForTest(t, w)
	ctx := context.Background()
	old, err := s.CertificatePEM(demoTenant, "azimuth-cert", "old")
	if err != nil {
		t.Fatal(err)
	}
	_, err = certCred(t, s, old, "", nil).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
	if _, code, desc := aadCode(t, err); code != 700027 || !strings.Contains(desc, "expired") {
		t.Fatalf("%d %s", code, desc)
	}
	// A secret expiring in 30 minutes is expired for a clock one hour ahead.
	if err := s.SetSecretExpiry(demoTenant, "azimuth-reader", "", time.Now().Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	s.SetClockSkew(time.Hour)
	_, err = secretCred(t, s, demoTenant, readerAppID, readerSecret).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
	if _, code, _ := aadCode(t, err); code != 7000222 {
		t.Fatalf("code %d", code)
	}
}

func TestInstanceDiscoveryAndMetadata(t *testing.T) {
	s := StartForTest(t, nil)
	c := s.HTTPClient()
	base := s.Endpoints(cloud.Public).AuthorityHost
	var doc map[string]any
	getJSON(t, c, base+demoDomain+"/v2.0/.well-known/openid-configuration", &doc)
	host := strings.TrimSuffix(strings.TrimPrefix(base, "https://"), "/")
	if doc["issuer"] != "https://"+host+"/"+demoTenant+"/v2.0" || doc["token_endpoint"] != "https://"+host+"/"+demoTenant+"/oauth2/v2.0/token" {
		t.Fatalf("metadata %v", doc)
	}
	var disc map[string]any
	getJSON(t, c, base+"common/discovery/instance?api-version=1.1&authorization_endpoint="+url.QueryEscape(base+demoTenant+"/oauth2/v2.0/authorize"), &disc)
	if disc["tenant_discovery_endpoint"] != "https://"+host+"/"+demoTenant+"/v2.0/.well-known/openid-configuration" {
		t.Fatalf("discovery %v", disc)
	}
	// The China tenant is unknown to the public cloud's Entra.
	resp, err := c.Get(s.Endpoints(cloud.China).AuthorityHost + demoTenant + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// With instance discovery left on, MSAL calls /common/discovery/instance
	// on the authority host, and the simulator answers it.
	cred, err := azidentity.NewClientSecretCredential(demoTenant, readerAppID, readerSecret, &azidentity.ClientSecretCredentialOptions{ClientOptions: clientOptions(s, cloud.Public)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{armScope}}); err != nil {
		t.Fatal(err)
	}
	if s.RequestCount("entra.discovery") == 0 {
		t.Fatal("instance discovery was not called")
	}
}

func pemCert(c *x509.Certificate) []byte {
	return []byte("-----BEGIN CERTIFICATE-----\n" + b64Lines(c.Raw) + "-----END CERTIFICATE-----\n")
}
