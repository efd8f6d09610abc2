package azuresim

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

// The Entra ID endpoints of one cloud (azure-protocols §1): instance
// discovery, OpenID metadata with the issuer built from the request's Host,
// signing keys, and the v2 and v1 token endpoints for client secrets,
// certificate assertions and federated (workload identity) assertions.
func (s *Sim) entraRouter(n cloud.Name) *router {
	rt := newRouter("entra")
	rt.handle(http.MethodGet, "/common/discovery/instance", "entra.discovery", s.entraInstanceDiscovery)
	rt.handle(http.MethodGet, "/{tenant}/v2.0/.well-known/openid-configuration", "entra.openid", s.entraOpenID(n, true))
	rt.handle(http.MethodGet, "/{tenant}/.well-known/openid-configuration", "entra.openid.v1", s.entraOpenID(n, false))
	rt.handle(http.MethodGet, "/{tenant}/discovery/v2.0/keys", "entra.keys", s.entraKeys)
	rt.handle(http.MethodGet, "/{tenant}/discovery/keys", "entra.keys.v1", s.entraKeys)
	rt.handle(http.MethodPost, "/{tenant}/oauth2/v2.0/token", "entra.token", s.entraToken(n, true))
	rt.handle(http.MethodPost, "/{tenant}/oauth2/token", "entra.token.v1", s.entraToken(n, false))
	return rt
}

// aadError is an Entra error response.
type aadError struct {
	status int
	oauth  string // the OAuth "error"
	code   int    // the AADSTS number
	desc   string // without the AADSTS prefix
}

func (e *aadError) Error() string { return fmt.Sprintf("AADSTS%d: %s", e.code, e.desc) }

func (s *Sim) writeAAD(w http.ResponseWriter, r *http.Request, e *aadError) {
	now := s.Now().UTC()
	trace := newGUID()
	corr := w.Header().Get("x-ms-correlation-request-id")
	if corr == "" {
		corr = newGUID()
	}
	ts := now.Format("2006-01-02 15:04:05Z")
	writeJSON(w, e.status, map[string]any{
		"error": e.oauth,
		"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			e.code, e.desc, trace, corr, ts),
		"error_codes":    []int{e.code},
		"timestamp":      ts,
		"trace_id":       trace,
		"correlation_id": corr,
		"error_uri":      "https://" + r.Host + "/error?code=" + strconv.Itoa(e.code),
	})
}

// writeEntraErrorShape is the shape of injected faults on Entra listeners.
func writeEntraErrorShape(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	oauth := "server_error"
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		oauth = "temporarily_unavailable"
	}
	writeJSON(w, status, map[string]any{
		"error":             oauth,
		"error_description": "AADSTS90033: " + message,
		"error_codes":       []int{90033},
	})
}

func (s *Sim) entraInstanceDiscovery(w http.ResponseWriter, r *http.Request) {
	tenant := "common"
	if ae := r.URL.Query().Get("authorization_endpoint"); ae != "" {
		if u, err := url.Parse(ae); err == nil {
			if segs := splitPath(u.EscapedPath()); len(segs) > 0 {
				tenant = segs[0]
			}
		}
	}
	host := r.Host
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": "https://" + host + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": host,
			"preferred_cache":   host,
			"aliases":           []string{host},
		}},
	})
}

// resolveTenant finds the tenant of a path segment for a cloud, or the
// Entra error for it (900023 malformed, 90002 unknown).
func (s *Sim) resolveTenant(n cloud.Name, ref string) (*Tenant, *aadError) {
	if !isGUID(ref) && !domainRE.MatchString(ref) {
		return nil, &aadError{http.StatusBadRequest, "invalid_request", 900023,
			fmt.Sprintf("Specified tenant identifier '%s' is neither a valid DNS name, nor a valid external domain.", ref)}
	}
	t := s.world.tenant(ref)
	if t == nil || t.Cloud != n {
		return nil, &aadError{http.StatusBadRequest, "invalid_tenant", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", ref)}
	}
	return t, nil
}

func (s *Sim) entraOpenID(n cloud.Name, v2 bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.RLock()
		t, aerr := s.resolveTenant(n, pathParam(r, "tenant"))
		var tid string
		if t != nil {
			tid = t.ID
		}
		s.mu.RUnlock()
		if aerr != nil {
			s.writeAAD(w, r, aerr)
			return
		}
		base := "https://" + r.Host + "/" + tid
		doc := map[string]any{
			"token_endpoint":                        base + "/oauth2/v2.0/token",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			"jwks_uri":                              base + "/discovery/v2.0/keys",
			"response_modes_supported":              []string{"query", "fragment", "form_post"},
			"subject_types_supported":               []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
			"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
			"issuer":                                base + "/v2.0",
			"request_uri_parameter_supported":       false,
			"userinfo_endpoint":                     "https://graph.microsoft.com/oidc/userinfo",
			"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
			"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
			"http_logout_supported":                 true,
			"frontchannel_logout_supported":         true,
			"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
			"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"},
			"kerberos_endpoint":                     base + "/kerberos",
			"tenant_region_scope":                   "NA",
			"cloud_instance_name":                   strings.TrimSuffix(r.Host, "/"),
		}
		if !v2 {
			doc["token_endpoint"] = base + "/oauth2/token"
			doc["jwks_uri"] = "https://" + r.Host + "/common/discovery/keys"
			doc["issuer"] = issuerFor(tid)
			doc["authorization_endpoint"] = base + "/oauth2/authorize"
		}
		writeJSON(w, http.StatusOK, doc)
	}
}

func (s *Sim) entraKeys(w http.ResponseWriter, r *http.Request) {
	pub := s.signKey.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]any{{
		"kty": "RSA",
		"use": "sig",
		"kid": s.kid,
		"x5t": s.kid,
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// oidcScopes are added by MSAL to every request and are not resources.
var oidcScopes = map[string]bool{"openid": true, "offline_access": true, "profile": true, "email": true}

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

func (s *Sim) entraToken(n cloud.Name, v2 bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			s.writeAAD(w, r, &aadError{http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."})
			return
		}
		f := r.PostForm
		tenantRef := pathParam(r, "tenant")
		clientID := f.Get("client_id")
		var scope, resource string
		if v2 {
			var rest []string
			for _, sc := range strings.Fields(f.Get("scope")) {
				if !oidcScopes[strings.ToLower(sc)] {
					rest = append(rest, sc)
				}
			}
			scope = strings.Join(rest, " ")
			resource = strings.TrimSuffix(scope, "/.default")
		} else {
			resource = f.Get("resource")
			scope = resource
		}

		s.mu.RLock()
		t, aerr := s.resolveTenant(n, tenantRef)
		tenantKey := tenantRef
		if t != nil {
			tenantKey = t.ID
		}
		s.mu.RUnlock()
		s.counters.token(TokenKey{Tenant: tenantKey, ClientID: clientID, Scope: scope})
		if aerr != nil {
			s.writeAAD(w, r, aerr)
			return
		}
		p, acr, aerr := s.authenticateClient(r, t, f, clientID, scope, resource, v2)
		if aerr != nil {
			s.log.Debug("token refused", "tenant", t.ID, "client_id", clientID, "code", aerr.code)
			s.writeAAD(w, r, aerr)
			return
		}
		tok, exp, err := s.mint(p, resource, acr)
		if err != nil {
			s.writeAAD(w, r, &aadError{http.StatusInternalServerError, "server_error", 90033, "A transient error has occurred. Please try again."})
			return
		}
		secs := int64(time.Until(exp.Add(-time.Duration(s.skew.Load()))) / time.Second)
		secs = max(secs, 1)
		if v2 {
			writeJSON(w, http.StatusOK, map[string]any{
				"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok,
			})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{
			"token_type": "Bearer", "expires_in": strconv.FormatInt(secs, 10), "ext_expires_in": strconv.FormatInt(secs, 10),
			"expires_on": strconv.FormatInt(time.Now().Unix()+secs, 10), "not_before": strconv.FormatInt(time.Now().Unix()-300, 10),
			"resource": resource, "access_token": tok,
		})
	}
}

// authenticateClient checks a client-credentials request and returns the
// principal to issue a token to.
func (s *Sim) authenticateClient(r *http.Request, t *Tenant, f url.Values, clientID, scope, resource string, v2 bool) (*Principal, string, *aadError) {
	if gt := f.Get("grant_type"); gt != "client_credentials" {
		if gt == "" {
			return nil, "", &aadError{http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."}
		}
		return nil, "", &aadError{http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '" + gt + "'."}
	}
	if clientID == "" {
		return nil, "", &aadError{http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."}
	}
	if resource == "" {
		param := "scope"
		if !v2 {
			param = "resource"
		}
		return nil, "", &aadError{http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: '" + param + "'."}
	}
	if v2 && (strings.Contains(scope, " ") || !strings.HasSuffix(scope, "/.default")) {
		return nil, "", &aadError{http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf(
			"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)}
	}
	now := s.Now()
	secret := f.Get("client_secret")
	assertion := f.Get("client_assertion")
	if user, pass, ok := r.BasicAuth(); ok && secret == "" {
		if u, err := url.QueryUnescape(user); err == nil && strings.EqualFold(u, clientID) {
			secret, _ = url.QueryUnescape(pass)
		}
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	app := t.app(clientID)
	var mi *ManagedIdentity
	if app == nil {
		mi = t.identity(clientID)
		if mi != nil && !strings.EqualFold(mi.ClientID, clientID) {
			mi = nil
		}
	}
	if app == nil && mi == nil {
		return nil, "", &aadError{http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf(
			"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
			clientID, t.DisplayName)}
	}
	switch {
	case secret != "":
		if app == nil {
			return nil, "", invalidSecret(clientID)
		}
		for _, sec := range app.Secrets {
			if subtle.ConstantTimeCompare([]byte(sec.Value), []byte(secret)) == 1 {
				if !sec.ExpiresAt.IsZero() && now.After(sec.ExpiresAt) {
					return nil, "", &aadError{http.StatusUnauthorized, "invalid_client", 7000222, fmt.Sprintf(
						"The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", app.AppID)}
				}
				return t.principalByRef(app.ObjectID), "1", nil
			}
		}
		return nil, "", invalidSecret(app.AppID)
	case assertion != "":
		if at := f.Get("client_assertion_type"); at != jwtBearer {
			return nil, "", &aadError{http.StatusBadRequest, "invalid_request", 50027, fmt.Sprintf("Invalid client_assertion_type '%s'; expected '%s'.", at, jwtBearer)}
		}
		if app != nil && assertionIsSelfIssued(assertion, clientID) {
			if aerr := s.verifyCertAssertion(r, t, app, assertion, now); aerr != nil {
				return nil, "", aerr
			}
			return t.principalByRef(app.ObjectID), "2", nil
		}
		var fics []*FederatedCredential
		var objectID string
		if app != nil {
			fics, objectID = app.FederatedCredentials, app.ObjectID
		} else {
			fics, objectID = mi.FederatedCredentials, mi.PrincipalID
		}
		if aerr := s.verifyFederatedAssertion(r.Context(), fics, assertion, now); aerr != nil {
			return nil, "", aerr
		}
		return t.principalByRef(objectID), "2", nil
	default:
		return nil, "", &aadError{http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
	}
}

func invalidSecret(appID string) *aadError {
	return &aadError{http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf(
		"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", appID)}
}
