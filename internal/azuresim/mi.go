package azuresim

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Managed identity endpoints of one simulated host (azure-protocols §2.2,
// §2.3): IMDS and the App Service identity endpoint, both plain HTTP.

func (s *Sim) imdsRouter(host string) *router {
	rt := newRouter("imds")
	rt.handle(http.MethodGet, "/metadata/identity/oauth2/token", "imds.token", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Header.Get("Metadata") != "true" {
			writeOAuthErrorShape(w, r, http.StatusBadRequest, "invalid_request", "Required metadata header not specified")
			return
		}
		if q.Get("api-version") == "" {
			writeOAuthErrorShape(w, r, http.StatusBadRequest, "invalid_request", "Required query variable 'api-version' is missing")
			return
		}
		s.miToken(w, r, host, "imds", q.Get("resource"), q.Get("client_id"), q.Get("object_id"), q.Get("msi_res_id"))
	})
	return rt
}

func (s *Sim) appServiceRouter(host string) *router {
	rt := newRouter("appservice")
	rt.handle(http.MethodGet, "/msi/token", "appservice.token", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		got := r.Header.Get("X-IDENTITY-HEADER")
		s.mu.RLock()
		var want Secret
		for _, t := range s.world.Tenants {
			if h := t.host(host); h != nil {
				want = h.IdentityHeader
			}
		}
		s.mu.RUnlock()
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			writeJSON(w, http.StatusBadRequest, map[string]any{"statusCode": 400, "message": "The request is missing or has an invalid X-IDENTITY-HEADER header.", "correlationId": w.Header().Get("x-ms-correlation-request-id")})
			return
		}
		if v := q.Get("api-version"); v != "2019-08-01" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"statusCode": 400, "message": fmt.Sprintf("The api-version '%s' is not supported; use 2019-08-01.", v), "correlationId": w.Header().Get("x-ms-correlation-request-id")})
			return
		}
		s.miToken(w, r, host, "appservice", q.Get("resource"), q.Get("client_id"), q.Get("object_id"), q.Get("mi_res_id"))
	})
	return rt
}

// miToken issues a managed-identity token for a host: the system-assigned
// identity when no id is given (or the only user-assigned one when there is
// no system-assigned identity) or when its client id or object id is given,
// else the user-assigned identity named by client id, object id or
// resource id, which must be attached to the host.
func (s *Sim) miToken(w http.ResponseWriter, r *http.Request, host, kind, resource, clientID, objectID, resID string) {
	fail := func(msg string) {
		if kind == "imds" {
			writeOAuthErrorShape(w, r, http.StatusBadRequest, "invalid_request", msg)
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"statusCode": 400, "message": msg, "correlationId": w.Header().Get("x-ms-correlation-request-id")})
	}
	if resource == "" {
		fail("Required query variable 'resource' is missing")
		return
	}
	ids := 0
	for _, v := range []string{clientID, objectID, resID} {
		if v != "" {
			ids++
		}
	}
	if ids > 1 {
		fail("Only one of client_id, object_id and msi_res_id may be given")
		return
	}
	s.mu.RLock()
	var p *Principal
	var tenantID, countID string
	for _, t := range s.world.Tenants {
		h := t.host(host)
		if h == nil {
			continue
		}
		tenantID = t.ID
		ref := clientID + objectID + resID
		countID = ref
		switch {
		case ref == "" && h.SystemAssigned != nil:
			p = t.principalByRef(h.SystemAssigned.PrincipalID)
		case ref == "" && len(h.UserAssigned) == 1:
			p = t.principalByRef(t.identity(h.UserAssigned[0]).PrincipalID)
		case ref == "" && len(h.UserAssigned) > 1:
			s.mu.RUnlock()
			s.counters.token(TokenKey{Tenant: tenantID, ClientID: "", Scope: resource})
			fail("Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request")
			return
		case ref != "" && h.SystemAssigned != nil && (strings.EqualFold(clientID, h.SystemAssigned.ClientID) || strings.EqualFold(objectID, h.SystemAssigned.PrincipalID)):
			// The system-assigned identity named explicitly, as Azure
			// accepts it.
			p = t.principalByRef(h.SystemAssigned.PrincipalID)
		case ref != "":
			mi := t.identity(ref)
			if mi != nil && attached(t, h, mi) && (clientID == "" || strings.EqualFold(mi.ClientID, clientID)) &&
				(objectID == "" || strings.EqualFold(mi.PrincipalID, objectID)) && (resID == "" || strings.EqualFold(mi.ResourceID, resID)) {
				p = t.principalByRef(mi.PrincipalID)
			}
		}
	}
	s.mu.RUnlock()
	if p != nil {
		countID = p.ClientID
	}
	s.counters.token(TokenKey{Tenant: tenantID, ClientID: countID, Scope: resource})
	if p == nil {
		if kind == "imds" {
			fail("Identity not found")
		} else {
			fail("No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.")
		}
		return
	}
	tok, exp, err := s.mint(p, resource, "0")
	if err != nil {
		fail("token signing failed")
		return
	}
	secs := max(int64(time.Until(exp.Add(-time.Duration(s.skew.Load())))/time.Second), 1)
	now := time.Now().Unix()
	body := map[string]string{
		"access_token":   tok,
		"client_id":      p.ClientID,
		"expires_in":     strconv.FormatInt(secs, 10),
		"expires_on":     strconv.FormatInt(now+secs, 10),
		"ext_expires_in": strconv.FormatInt(secs, 10),
		"not_before":     strconv.FormatInt(now-300, 10),
		"resource":       resource,
		"token_type":     "Bearer",
	}
	if kind == "appservice" {
		delete(body, "ext_expires_in")
		delete(body, "expires_in")
	}
	writeJSON(w, http.StatusOK, body)
}

func attached(t *Tenant, h *Host, mi *ManagedIdentity) bool {
	for _, ref := range h.UserAssigned {
		if t.identity(ref) == mi {
			return true
		}
	}
	return false
}
