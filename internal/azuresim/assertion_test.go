package azuresim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

// TestCertificateAssertionVariants builds client assertions by hand: the
// x5t (SHA-1) header of ADFS-style clients, RS256, url-safe thumbprints,
// and the claim checks MSAL never trips.
func TestCertificateAssertionVariants(t *testing.T) {
	s := StartForTest(t, nil)
	pemBytes, err := s.CertificatePEM(demoTenant, "azimuth-cert", "main")
	if err != nil {
		t.Fatal(err)
	}
	certBlk, rest := pem.Decode(pemBytes)
	keyBlk, _ := pem.Decode(rest)
	cert, _ := x509.ParseCertificate(certBlk.Bytes)
	key, _ := x509.ParsePKCS8PrivateKey(keyBlk.Bytes)
	tokenURL := s.Endpoints(cloud.Public).AuthorityHost + demoTenant + "/oauth2/v2.0/token"
	s256 := sha256.Sum256(cert.Raw)
	s1 := sha1.Sum(cert.Raw)

	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signedBy := func(signer any, method jwt.SigningMethod, header map[string]any, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, claims)
		for k, v := range header {
			tok.Header[k] = v
		}
		out, err := tok.SignedString(signer)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	assertion := func(method jwt.SigningMethod, header map[string]any, claims jwt.MapClaims) string {
		return signedBy(key, method, header, claims)
	}
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"aud": tokenURL, "iss": certAppID, "sub": certAppID, "jti": newGUID(), "nbf": time.Now().Unix(), "exp": time.Now().Add(10 * time.Minute).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	tests := []struct {
		name      string
		assertion string
		code      int    // 0: a token
		text      string // in the description, when set
	}{
		{"PS256 x5t#S256 std", assertion(jwt.SigningMethodPS256, map[string]any{"x5t#S256": base64.StdEncoding.EncodeToString(s256[:])}, claims(nil)), 0, ""},
		{"RS256 x5t#S256 url", assertion(jwt.SigningMethodRS256, map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:])}, claims(nil)), 0, ""},
		{"RS256 x5t sha1", assertion(jwt.SigningMethodRS256, map[string]any{"x5t": base64.RawURLEncoding.EncodeToString(s1[:])}, claims(nil)), 0, ""},
		{"no thumbprint", assertion(jwt.SigningMethodRS256, nil, claims(nil)), 700027, ""},
		// The registered certificate's thumbprint, but signed with another
		// key: Entra checks the signature against the certificate.
		{"registered thumbprint, foreign key (PS256)", signedBy(foreign, jwt.SigningMethodPS256, map[string]any{"x5t#S256": base64.StdEncoding.EncodeToString(s256[:])}, claims(nil)), 700027,
			"signature value did not match"},
		{"registered thumbprint, foreign key (RS256, x5t)", signedBy(foreign, jwt.SigningMethodRS256, map[string]any{"x5t": base64.RawURLEncoding.EncodeToString(s1[:])}, claims(nil)), 700027,
			"signature value did not match"},
		{"wrong audience", assertion(jwt.SigningMethodPS256, map[string]any{"x5t#S256": base64.StdEncoding.EncodeToString(s256[:])}, claims(func(c jwt.MapClaims) { c["aud"] = "https://elsewhere/token" })), 700023, ""},
		{"subject is another app", assertion(jwt.SigningMethodPS256, map[string]any{"x5t#S256": base64.StdEncoding.EncodeToString(s256[:])}, claims(func(c jwt.MapClaims) { c["sub"] = readerAppID })), 700021, ""},
		{"not yet valid", assertion(jwt.SigningMethodPS256, map[string]any{"x5t#S256": base64.StdEncoding.EncodeToString(s256[:])}, claims(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() })), 700024, ""},
		{"not a JWT", "nope", 50027, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {certAppID}, "scope": {armScope},
				"client_assertion_type": {jwtBearer}, "client_assertion": {tc.assertion}}
			resp, err := s.HTTPClient().PostForm(tokenURL, form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				AccessToken string `json:"access_token"`
				Codes       []int  `json:"error_codes"`
				Description string `json:"error_description"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			switch {
			case tc.code == 0 && (resp.StatusCode != 200 || body.AccessToken == ""):
				t.Fatalf("want a token, got %d %v", resp.StatusCode, body.Codes)
			case tc.code != 0 && (len(body.Codes) == 0 || body.Codes[0] != tc.code):
				t.Fatalf("want AADSTS%d, got %d %v", tc.code, resp.StatusCode, body.Codes)
			case tc.code == 700027 && resp.StatusCode != http.StatusUnauthorized:
				t.Fatalf("AADSTS700027 answered %d, want 401", resp.StatusCode)
			case tc.code != 0 && !strings.HasPrefix(body.Description, fmt.Sprintf("AADSTS%d: ", tc.code)):
				t.Fatalf("description %q", body.Description)
			case !strings.Contains(body.Description, tc.text):
				t.Fatalf("description %q lacks %q", body.Description, tc.text)
			}
		})
	}
}
