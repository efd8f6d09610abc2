package azuresim

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

// AccessClaims are the claims of the access tokens the simulator issues
// (an Entra v1-style app token).
type AccessClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	ExpiresAt int64  `json:"exp"`
	TenantID  string `json:"tid"`
	ObjectID  string `json:"oid"`
	AppID     string `json:"appid"`
	AZP       string `json:"azp"`
	IDType    string `json:"idtyp"`
	// AppIDACR is how the client authenticated: "1" secret, "2"
	// certificate or assertion, "0" managed identity.
	AppIDACR string `json:"appidacr"`
	MIResID  string `json:"xms_mirid,omitempty"`
	UTI      string `json:"uti"`
	Version  string `json:"ver"`
}

var _ jwt.Claims = AccessClaims{}

// GetExpirationTime implements jwt.Claims.
func (c AccessClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return unixDate(c.ExpiresAt), nil
}

// GetIssuedAt implements jwt.Claims.
func (c AccessClaims) GetIssuedAt() (*jwt.NumericDate, error) { return unixDate(c.IssuedAt), nil }

// GetNotBefore implements jwt.Claims.
func (c AccessClaims) GetNotBefore() (*jwt.NumericDate, error) { return unixDate(c.NotBefore), nil }

// GetIssuer implements jwt.Claims.
func (c AccessClaims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements jwt.Claims.
func (c AccessClaims) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements jwt.Claims.
func (c AccessClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{c.Audience}, nil
}

func unixDate(v int64) *jwt.NumericDate {
	if v == 0 {
		return nil
	}
	return jwt.NewNumericDate(time.Unix(v, 0))
}

// issuerFor is the iss of tokens for a tenant: Entra's v1 issuer form.
func issuerFor(tenantID string) string { return "https://sts.windows.net/" + tenantID + "/" }

// mint signs an access token for a principal and audience.
func (s *Sim) mint(p *Principal, audience, acr string) (string, time.Time, error) {
	now := s.Now()
	exp := now.Add(s.opts.TokenLifetime)
	c := AccessClaims{
		Issuer:    issuerFor(p.TenantID),
		Subject:   p.ObjectID,
		Audience:  audience,
		IssuedAt:  now.Unix(),
		NotBefore: now.Add(-5 * time.Minute).Unix(),
		ExpiresAt: exp.Unix(),
		TenantID:  p.TenantID,
		ObjectID:  p.ObjectID,
		AppID:     p.ClientID,
		AZP:       p.ClientID,
		IDType:    "app",
		AppIDACR:  acr,
		MIResID:   p.ResourceID,
		UTI:       randomToken(16),
		Version:   "1.0",
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = s.kid
	tok.Header["x5t"] = s.kid
	signed, err := tok.SignedString(s.signKey)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return signed, exp, nil
}

// TokenError says why a bearer token was refused, in ARM's terms: Code is
// AuthenticationFailed, InvalidAuthenticationToken,
// ExpiredAuthenticationToken or InvalidAuthenticationTokenAudience.
type TokenError struct {
	Code    string
	Message string
}

func (e *TokenError) Error() string { return e.Code + ": " + e.Message }

// Caller is an authenticated principal and the claims of its token.
type Caller struct {
	Principal
	Claims AccessClaims
}

// Authenticate validates the bearer token of a request: signature (the
// simulator's key), expiry (the simulator's clock, with ARM's five minutes
// of leeway) and audience (one of audiences, exactly). The principal must
// still exist in the world.
func (s *Sim) Authenticate(r *http.Request, audiences ...string) (*Caller, *TokenError) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, &TokenError{Code: "AuthenticationFailed", Message: "Authentication failed. The 'Authorization' header is missing."}
	}
	scheme, raw, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return nil, &TokenError{Code: "AuthenticationFailed", Message: "Authentication failed. The 'Authorization' header is provided in an invalid format."}
	}
	return s.ValidateToken(strings.TrimSpace(raw), audiences...)
}

// ValidateToken is Authenticate for a raw token.
func (s *Sim) ValidateToken(raw string, audiences ...string) (*Caller, *TokenError) {
	var c AccessClaims
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return &s.signKey.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	if err != nil {
		return nil, &TokenError{Code: "InvalidAuthenticationToken", Message: "The access token is invalid."}
	}
	now := s.Now()
	if exp := time.Unix(c.ExpiresAt, 0); now.After(exp.Add(5 * time.Minute)) {
		const layout = "1/2/2006 3:04:05 PM"
		return nil, &TokenError{Code: "ExpiredAuthenticationToken", Message: fmt.Sprintf(
			"The access token expiry UTC time '%s' is earlier than current UTC time '%s'.", exp.UTC().Format(layout), now.UTC().Format(layout))}
	}
	if len(audiences) > 0 && !containsExact(audiences, c.Audience) {
		return nil, &TokenError{Code: "InvalidAuthenticationTokenAudience", Message: fmt.Sprintf(
			"The access token has been obtained for wrong audience or resource '%s'. It should exactly match with one of the allowed audiences '%s'.",
			c.Audience, strings.Join(audiences, "','"))}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.world.tenant(c.TenantID)
	if t == nil {
		return nil, &TokenError{Code: "InvalidAuthenticationToken", Message: "The access token is invalid."}
	}
	p := t.principalByRef(c.ObjectID)
	if p == nil || !strings.EqualFold(p.ObjectID, c.ObjectID) {
		return nil, &TokenError{Code: "InvalidAuthenticationToken", Message: "The access token is invalid."}
	}
	return &Caller{Principal: *p, Claims: c}, nil
}

func containsExact(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// armAudiences are the token audiences ARM of a cloud accepts.
func armAudiences(n cloud.Name) []string {
	e, _ := cloud.Builtin(n)
	aud := e.ResourceManagerAudience
	ep := e.ResourceManager
	return []string{aud, strings.TrimSuffix(aud, "/"), ep + "/", ep}
}

// tenantCloud returns the cloud of a tenant id ("" if unknown).
func (s *Sim) tenantCloud(tenantID string) cloud.Name {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t := s.world.tenant(tenantID); t != nil {
		return t.Cloud
	}
	return ""
}
