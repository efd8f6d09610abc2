package azuresim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// assertionSkew is the clock skew Entra tolerates on client assertions.
const assertionSkew = 5 * time.Minute

// assertionClaims are the claims the token endpoint reads from a client
// assertion.
type assertionClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.ClaimStrings `json:"aud"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	ExpiresAt *jwt.NumericDate `json:"exp,omitempty"`
	IssuedAt  *jwt.NumericDate `json:"iat,omitempty"`
}

func (c *assertionClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c *assertionClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c *assertionClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore, nil }
func (c *assertionClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *assertionClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *assertionClaims) GetAudience() (jwt.ClaimStrings, error)       { return c.Audience, nil }

func malformedAssertion(detail string) *aadError {
	return &aadError{http.StatusUnauthorized, "invalid_client", 50027, "JWT token is invalid or malformed. " + detail}
}

// assertionIsSelfIssued tells a certificate assertion (iss = sub = the
// client id, signed with the app's own key) from a federated one.
func assertionIsSelfIssued(assertion, clientID string) bool {
	var c assertionClaims
	if _, _, err := jwt.NewParser().ParseUnverified(assertion, &c); err != nil {
		return true // reported as malformed by the certificate path
	}
	return strings.EqualFold(c.Issuer, clientID)
}

// verifyCertAssertion checks a certificate client assertion (azure-protocols
// §1.2): PS256 or RS256, key named by x5t#S256 (SHA-256, std or url base64)
// or x5t (SHA-1), signature by a certificate registered on the app,
// iss = sub = client id, aud = this token endpoint, nbf/exp around now.
func (s *Sim) verifyCertAssertion(r *http.Request, t *Tenant, app *App, assertion string, now time.Time) *aadError {
	var c assertionClaims
	tok, _, err := jwt.NewParser().ParseUnverified(assertion, &c)
	if err != nil {
		return malformedAssertion("")
	}
	alg, _ := tok.Header["alg"].(string)
	if alg != "PS256" && alg != "RS256" {
		return malformedAssertion(fmt.Sprintf("Unsupported signing algorithm '%s'.", alg))
	}
	var thumb []byte
	var sha1Thumb bool
	if v, ok := tok.Header["x5t#S256"].(string); ok {
		thumb = decodeB64Any(v)
	} else if v, ok := tok.Header["x5t"].(string); ok {
		thumb, sha1Thumb = decodeB64Any(v), true
	}
	if len(thumb) == 0 {
		return &aadError{http.StatusUnauthorized, "invalid_client", 700027, fmt.Sprintf(
			"Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]", app.AppID)}
	}
	var cert *x509.Certificate
	for _, ac := range app.Certificates {
		sum := sha256.Sum256(ac.cert.Raw)
		want := sum[:]
		if sha1Thumb {
			want = sha1Sum(ac.cert.Raw)
		}
		if bytes.Equal(want, thumb) {
			cert = ac.cert
			break
		}
	}
	thumbHex := strings.ToUpper(hex.EncodeToString(thumb))
	if cert == nil {
		return &aadError{http.StatusUnauthorized, "invalid_client", 700027, fmt.Sprintf(
			"Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/%s']", thumbHex, app.AppID, app.ObjectID)}
	}
	if now.After(cert.NotAfter) {
		return &aadError{http.StatusUnauthorized, "invalid_client", 700027, fmt.Sprintf(
			"Client assertion failed signature validation. [Reason - The key used is expired., Thumbprint of key used by client: '%s', Found key 'Start=%s, End=%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]",
			thumbHex, cert.NotBefore.UTC().Format("01/02/2006 15:04:05"), cert.NotAfter.UTC().Format("01/02/2006 15:04:05"), app.AppID)}
	}
	if _, err := jwt.NewParser(jwt.WithValidMethods([]string{"PS256", "RS256"}), jwt.WithoutClaimsValidation()).
		ParseWithClaims(assertion, &assertionClaims{}, func(*jwt.Token) (any, error) { return cert.PublicKey, nil }); err != nil {
		return &aadError{http.StatusUnauthorized, "invalid_client", 700027, fmt.Sprintf(
			"Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '%s', Found key 'Start=%s, End=%s']",
			thumbHex, cert.NotBefore.UTC().Format("01/02/2006 15:04:05"), cert.NotAfter.UTC().Format("01/02/2006 15:04:05"))}
	}
	if !strings.EqualFold(c.Issuer, app.AppID) || !strings.EqualFold(c.Subject, app.AppID) {
		return &aadError{http.StatusUnauthorized, "invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials ."}
	}
	if !audienceIsTokenEndpoint(c.Audience, r.Host, t) {
		return &aadError{http.StatusUnauthorized, "invalid_client", 700023, "Client assertion audience claim does not match Realm issuer. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials ."}
	}
	return checkAssertionTime(&c, now)
}

func audienceIsTokenEndpoint(aud jwt.ClaimStrings, host string, t *Tenant) bool {
	for _, a := range aud {
		a = strings.ToLower(strings.TrimSuffix(a, "/"))
		for _, ten := range []string{t.ID, t.Domain} {
			base := strings.ToLower("https://" + host + "/" + ten)
			if a == base+"/oauth2/v2.0/token" || a == base+"/oauth2/token" || a == base+"/v2.0" || a == base {
				return true
			}
		}
	}
	return false
}

func checkAssertionTime(c *assertionClaims, now time.Time) *aadError {
	if c.ExpiresAt == nil {
		return malformedAssertion("The assertion has no 'exp' claim.")
	}
	from := time.Unix(0, 0)
	if c.NotBefore != nil {
		from = c.NotBefore.Time
	}
	if now.Add(assertionSkew).Before(from) || now.Add(-assertionSkew).After(c.ExpiresAt.Time) {
		const layout = "2006-01-02 15:04:05Z"
		return &aadError{http.StatusBadRequest, "invalid_client", 700024, fmt.Sprintf(
			"Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
			now.UTC().Format(layout), from.UTC().Format(layout), c.ExpiresAt.UTC().Format(layout))}
	}
	return nil
}

// verifyFederatedAssertion checks a workload-identity assertion against
// federated credentials: issuer, then the issuer's signature, time,
// subject and audience, each matched exactly.
func (s *Sim) verifyFederatedAssertion(ctx context.Context, fics []*FederatedCredential, assertion string, now time.Time) *aadError {
	var c assertionClaims
	if _, _, err := jwt.NewParser().ParseUnverified(assertion, &c); err != nil {
		return malformedAssertion("")
	}
	aud := strings.Join(c.Audience, ",")
	const doc = " Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
	if len(fics) == 0 {
		return &aadError{http.StatusBadRequest, "invalid_request", 70021, fmt.Sprintf(
			"No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'. https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
			c.Issuer, c.Subject, aud)}
	}
	var byIssuer []*FederatedCredential
	for _, fc := range fics {
		if fc.Issuer == c.Issuer {
			byIssuer = append(byIssuer, fc)
		}
	}
	if len(byIssuer) == 0 {
		return &aadError{http.StatusBadRequest, "invalid_client", 700211, fmt.Sprintf(
			"No matching federated identity record found for presented assertion issuer '%s'.%s", c.Issuer, doc)}
	}
	// The issuer's keys are only fetched once the issuer is trusted.
	inline := s.world.FederatedIssuers
	s.mu.RUnlock() // the caller holds the read lock; don't hold it over the network
	keyErr := s.issuers.verify(ctx, inline, c.Issuer, assertion)
	s.mu.RLock()
	if keyErr != nil {
		var fetch *fetchError
		if errors.As(keyErr, &fetch) {
			return &aadError{http.StatusBadRequest, "invalid_request", 50166, fmt.Sprintf(
				"Request to External OIDC endpoint failed. %s", fetch.msg)}
		}
		return &aadError{http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation. " + keyErr.Error()}
	}
	if aerr := checkAssertionTime(&c, now); aerr != nil {
		return aerr
	}
	var bySubject []*FederatedCredential
	for _, fc := range byIssuer {
		if fc.Subject == c.Subject {
			bySubject = append(bySubject, fc)
		}
	}
	if len(bySubject) == 0 {
		return &aadError{http.StatusBadRequest, "invalid_client", 700213, fmt.Sprintf(
			"No matching federated identity record found for presented assertion subject '%s'.%s", c.Subject, doc)}
	}
	for _, fc := range bySubject {
		for _, want := range fc.Audiences {
			for _, got := range c.Audience {
				if want == got {
					return nil
				}
			}
		}
	}
	return &aadError{http.StatusBadRequest, "invalid_client", 700212, fmt.Sprintf(
		"No matching federated identity record found for presented assertion audience '%s'.%s", aud, doc)}
}

func decodeB64Any(s string) []byte {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b
		}
	}
	return nil
}

// ---- issuer keys: inline in the world or discovered over HTTPS ----

type fetchError struct{ msg string }

func (e *fetchError) Error() string { return e.msg }

type issuerKeys struct {
	client *http.Client
	mu     sync.Mutex
	cache  map[string]*issuerKeySet
}

type issuerKeySet struct {
	byKid   map[string]crypto.PublicKey
	all     []crypto.PublicKey
	fetched time.Time
}

func newIssuerKeys(pool *x509.CertPool) *issuerKeys {
	return &issuerKeys{
		client: &http.Client{
			Timeout:   10 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		},
		cache: map[string]*issuerKeySet{},
	}
}

const issuerKeysTTL = 5 * time.Minute

// verify checks an assertion's signature against its issuer's keys.
func (ik *issuerKeys) verify(ctx context.Context, inline []*FederatedIssuer, issuer, assertion string) error {
	var set *issuerKeySet
	isInline := false
	for _, fi := range inline {
		if fi.Issuer == issuer {
			var err error
			if set, err = fi.keys(); err != nil {
				return err
			}
			isInline = true
		}
	}
	if set == nil {
		var err error
		if set, err = ik.discovered(ctx, issuer, false); err != nil {
			return err
		}
	}
	err := verifyWith(set, assertion)
	if err != nil && !isInline && errors.Is(err, errUnknownKid) {
		// The issuer may have rotated its keys: refresh once.
		if fresh, ferr := ik.discovered(ctx, issuer, true); ferr == nil {
			err = verifyWith(fresh, assertion)
		}
	}
	return err
}

var errUnknownKid = errors.New("[Reason - The key was not found.]")

func verifyWith(set *issuerKeySet, assertion string) error {
	p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"}), jwt.WithoutClaimsValidation())
	tok, _, err := p.ParseUnverified(assertion, &assertionClaims{})
	if err != nil {
		return errors.New("[Reason - The token is malformed.]")
	}
	kid, _ := tok.Header["kid"].(string)
	candidates := set.all
	if kid != "" {
		k, ok := set.byKid[kid]
		if !ok {
			return errUnknownKid
		}
		candidates = []crypto.PublicKey{k}
	}
	for _, k := range candidates {
		if _, err := p.ParseWithClaims(assertion, &assertionClaims{}, func(*jwt.Token) (any, error) { return k, nil }); err == nil {
			return nil
		}
	}
	return errors.New("[Reason - The provided signature value did not match the expected signature value.]")
}

func (ik *issuerKeys) discovered(ctx context.Context, issuer string, refresh bool) (*issuerKeySet, error) {
	ik.mu.Lock()
	cached := ik.cache[issuer]
	ik.mu.Unlock()
	if cached != nil && time.Since(cached.fetched) < issuerKeysTTL && (!refresh || time.Since(cached.fetched) < 10*time.Second) {
		return cached, nil
	}
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := ik.getJSON(ctx, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &meta); err != nil {
		return nil, err
	}
	if meta.JWKSURI == "" {
		return nil, &fetchError{"The OIDC discovery document of '" + issuer + "' has no jwks_uri."}
	}
	var raw json.RawMessage
	if err := ik.getJSON(ctx, meta.JWKSURI, &raw); err != nil {
		return nil, err
	}
	set, err := parseJWKS(raw)
	if err != nil {
		return nil, &fetchError{fmt.Sprintf("The keys of '%s' could not be read: %v", issuer, err)}
	}
	set.fetched = time.Now()
	ik.mu.Lock()
	ik.cache[issuer] = set
	ik.mu.Unlock()
	return set, nil
}

func (ik *issuerKeys) getJSON(ctx context.Context, u string, v any) error {
	if !strings.HasPrefix(u, "https://") {
		return &fetchError{fmt.Sprintf("'%s' is not an https URL.", u)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return &fetchError{fmt.Sprintf("Bad URL '%s'.", u)}
	}
	resp, err := ik.client.Do(req)
	if err != nil {
		return &fetchError{fmt.Sprintf("GET %s: %v", u, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &fetchError{fmt.Sprintf("GET %s: HTTP %d", u, resp.StatusCode)}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return &fetchError{fmt.Sprintf("GET %s: %v", u, err)}
	}
	return nil
}

// keys parses an inline issuer's keys.
func (fi *FederatedIssuer) keys() (*issuerKeySet, error) {
	set := &issuerKeySet{byKid: map[string]crypto.PublicKey{}}
	if len(fi.JWKS) > 0 {
		s, err := parseJWKS(fi.JWKS)
		if err != nil {
			return nil, err
		}
		set = s
	}
	rest := []byte(fi.PublicKeysPEM)
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("publicKeysPEM: %w", err)
			}
			set.all = append(set.all, c.PublicKey)
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("publicKeysPEM: %w", err)
			}
			set.all = append(set.all, k)
		}
	}
	if len(set.all) == 0 {
		return nil, fmt.Errorf("jwks or publicKeysPEM must hold at least one key")
	}
	return set, nil
}

func parseJWKS(raw []byte) (*issuerKeySet, error) {
	var doc struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Use string `json:"use"`
			N   string `json:"n"`
			E   string `json:"e"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Y   string `json:"y"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	set := &issuerKeySet{byKid: map[string]crypto.PublicKey{}}
	for _, k := range doc.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		var pub crypto.PublicKey
		switch k.Kty {
		case "RSA":
			n, e := decodeB64Any(k.N), decodeB64Any(k.E)
			if len(n) == 0 || len(e) == 0 {
				return nil, fmt.Errorf("JWK %q: bad n or e", k.Kid)
			}
			pub = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		case "EC":
			var curve elliptic.Curve
			switch k.Crv {
			case "P-256":
				curve = elliptic.P256()
			case "P-384":
				curve = elliptic.P384()
			default:
				return nil, fmt.Errorf("JWK %q: unsupported curve %q", k.Kid, k.Crv)
			}
			x, y := decodeB64Any(k.X), decodeB64Any(k.Y)
			if len(x) == 0 || len(y) == 0 {
				return nil, fmt.Errorf("JWK %q: bad x or y", k.Kid)
			}
			pub = &ecdsa.PublicKey{Curve: curve, X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
		default:
			continue
		}
		set.all = append(set.all, pub)
		if k.Kid != "" {
			set.byKid[k.Kid] = pub
		}
	}
	if len(set.all) == 0 {
		return nil, fmt.Errorf("JWKS holds no usable signing key")
	}
	return set, nil
}
