package azuresim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/golang-jwt/jwt/v5"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

const (
	wiIssuer  = "https://issuer.azimuth.test"
	wiSubject = "system:serviceaccount:azimuth:delegate"
	wiAppID   = "30000000-0000-4000-8000-000000000099"
)

func jwks(kid string, k *rsa.PublicKey) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "kid": kid,
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
	}}})
	return b
}

func federatedToken(t *testing.T, key *rsa.PrivateKey, kid, iss, sub, aud string, exp time.Time) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": iss, "sub": sub, "aud": aud, "exp": exp.Unix(), "nbf": time.Now().Add(-time.Minute).Unix(), "iat": time.Now().Unix(),
	})
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func workloadCred(t *testing.T, s *Sim, clientID, token string) *azidentity.WorkloadIdentityCredential {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientID: clientID, TenantID: demoTenant, TokenFilePath: path, DisableInstanceDiscovery: true,
		ClientOptions: clientOptions(s, cloud.Public),
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func TestWorkloadIdentityInlineKeys(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	w, err := DemoWorld()
	if err != nil {
		t.Fatal(err)
	}
	w.FederatedIssuers = []*FederatedIssuer{{Issuer: wiIssuer, JWKS: jwks("k1", &key.PublicKey)}}
	w.Tenants[0].Apps = append(w.Tenants[0].Apps, &App{Name: "azimuth-wi", AppID: wiAppID, ObjectID: "40000000-0000-4000-8000-000000000099",
		FederatedCredentials: []*FederatedCredential{{Name: "delegate", Issuer: wiIssuer, Subject: wiSubject}}})
	s := StartForTest(t, w)
	ctx := context.Background()
	hour := time.Now().Add(time.Hour)
	const aud = "api://AzureADTokenExchange"

	tok, err := workloadCred(t, s, wiAppID, federatedToken(t, key, "k1", wiIssuer, wiSubject, aud, hour)).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
	if err != nil {
		t.Fatal(err)
	}
	if c := claimsOf(t, tok.Token); c.AppID != wiAppID || c.ObjectID != "40000000-0000-4000-8000-000000000099" {
		t.Fatalf("claims %+v", c)
	}

	tests := []struct {
		name, clientID, token string
		status, code          int
	}{
		{"issuer mismatch", wiAppID, federatedToken(t, key, "k1", "https://elsewhere.test", wiSubject, aud, hour), 400, 700211},
		{"subject mismatch", wiAppID, federatedToken(t, key, "k1", wiIssuer, "system:serviceaccount:other:sa", aud, hour), 400, 700213},
		{"audience mismatch", wiAppID, federatedToken(t, key, "k1", wiIssuer, wiSubject, "api://other", hour), 400, 700212},
		{"no federated credential", readerAppID, federatedToken(t, key, "k1", wiIssuer, wiSubject, aud, hour), 400, 70021},
		{"bad signature", wiAppID, federatedToken(t, other, "k1", wiIssuer, wiSubject, aud, hour), 401, 700027},
		{"unknown key", wiAppID, federatedToken(t, key, "k2", wiIssuer, wiSubject, aud, hour), 401, 700027},
		{"expired assertion", wiAppID, federatedToken(t, key, "k1", wiIssuer, wiSubject, aud, time.Now().Add(-time.Hour)), 400, 700024},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := workloadCred(t, s, tc.clientID, tc.token).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
			status, code, desc := aadCode(t, err)
			if status != tc.status || code != tc.code {
				t.Fatalf("got %d AADSTS%d, want %d AADSTS%d: %s", status, code, tc.status, tc.code, desc)
			}
		})
	}

	// A user-assigned identity can trust the issuer too.
	if err := s.AddFederatedCredential(demoTenant, "delegate-identity", FederatedCredential{Issuer: wiIssuer, Subject: wiSubject}); err != nil {
		t.Fatal(err)
	}
	tok, err = workloadCred(t, s, uamiClientID, federatedToken(t, key, "k1", wiIssuer, wiSubject, aud, hour)).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
	if err != nil {
		t.Fatal(err)
	}
	if c := claimsOf(t, tok.Token); c.ObjectID != uamiPrincipal {
		t.Fatalf("claims %+v", c)
	}
}

func TestWorkloadIdentityDiscovery(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	var issuer string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			writeJSON(w, 200, map[string]string{"issuer": issuer, "jwks_uri": issuer + "/openid/v1/jwks"})
		case "/openid/v1/jwks":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(jwks("disc", &key.PublicKey))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	issuer = srv.URL
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	start := func(trusted []byte) *Sim {
		w, _ := DemoWorld()
		w.Tenants[0].Apps = append(w.Tenants[0].Apps, &App{Name: "azimuth-wi", AppID: wiAppID, ObjectID: "40000000-0000-4000-8000-000000000099",
			FederatedCredentials: []*FederatedCredential{{Issuer: issuer, Subject: wiSubject}}})
		return StartForTestWith(t, Options{World: w, TrustedCAPEM: trusted})
	}
	token := federatedToken(t, key, "disc", issuer, wiSubject, "api://AzureADTokenExchange", time.Now().Add(time.Hour))
	s := start(caPEM)
	if _, err := workloadCred(t, s, wiAppID, token).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{armScope}}); err != nil {
		t.Fatal(err)
	}
	// Without trusting the issuer's CA the keys cannot be fetched.
	s2 := start(nil)
	_, err := workloadCred(t, s2, wiAppID, token).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{armScope}})
	if _, code, desc := aadCode(t, err); code != 50166 || !strings.Contains(desc, "External OIDC endpoint") {
		t.Fatalf("%d %s", code, desc)
	}
}
