package api

import (
	"net/http"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/service"
)

// Azimuth's own endpoints live under /ng/api/azimuth/, a name Harness does
// not use, in the same style as Harness's.

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	var req apiKeyRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	k, tok, err := a.svc.APIKeys.Create(r.Context(), p, sc, service.CreateKeyInput{Name: req.Name, Role: req.Role})
	if err != nil {
		return err
	}
	ok(w, r, apiKeyCreated{APIKey: toAPIKey(k), Token: tok.Reveal()})
	return nil
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	pg, err := queryPage(r)
	if err != nil {
		return err
	}
	sub, err := queryBool(r, "includeSubScopes")
	if err != nil {
		return err
	}
	l, err := a.svc.APIKeys.List(r.Context(), p, sc, service.ListKeysInput{IncludeSubScopes: sub, Page: pg})
	if err != nil {
		return err
	}
	ok(w, r, newPage(l, toAPIKey))
	return nil
}

func (a *API) getAPIKey(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	if _, err := account(r); err != nil {
		return err
	}
	k, err := a.svc.APIKeys.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	ok(w, r, toAPIKey(k))
	return nil
}

func (a *API) revokeAPIKey(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	if _, err := account(r); err != nil {
		return err
	}
	k, err := a.svc.APIKeys.Revoke(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	ok(w, r, toAPIKey(k))
	return nil
}

// whoami describes the calling key.
type whoami struct {
	KeyID             string `json:"keyId"`
	Name              string `json:"name"`
	AccountIdentifier string `json:"accountIdentifier"`
	OrgIdentifier     string `json:"orgIdentifier,omitempty"`
	ProjectIdentifier string `json:"projectIdentifier,omitempty"`
	Role              string `json:"role"`
}

func (a *API) whoami(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	ok(w, r, whoami{KeyID: p.KeyID, Name: p.Name, AccountIdentifier: p.Scope.Account, OrgIdentifier: p.Scope.Org,
		ProjectIdentifier: p.Scope.Project, Role: string(p.Role)})
	return nil
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	pg, err := queryPage(r)
	if err != nil {
		return err
	}
	since, err1 := queryTime(r, "since")
	until, err2 := queryTime(r, "until")
	if err1 != nil || err2 != nil {
		return mergeFields(err1, err2)
	}
	q := r.URL.Query()
	l, err := a.svc.Audit.List(r.Context(), p, sc, service.ListAuditInput{ResourceType: q.Get("resourceType"), Action: q.Get("action"),
		Outcome: q.Get("outcome"), ActorKeyID: q.Get("actorKeyId"), Identifier: q.Get("identifier"), Since: since, Until: until, Page: pg})
	if err != nil {
		return err
	}
	ok(w, r, newPage(l, toAudit))
	return nil
}

func (a *API) verifyAudit(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	if _, err := account(r); err != nil {
		return err
	}
	res, err := a.svc.Audit.Verify(r.Context(), p)
	if err != nil {
		return err
	}
	ok(w, r, res)
	return nil
}

func (a *API) keyringStatus(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	if _, err := account(r); err != nil {
		return err
	}
	keys, err := a.svc.Keys.Status(r.Context(), p)
	if err != nil {
		return err
	}
	ok(w, r, map[string]any{"keys": keys})
	return nil
}

func (a *API) rotateKeyring(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	if _, err := account(r); err != nil {
		return err
	}
	res, err := a.svc.Keys.Rotate(r.Context(), p)
	if err != nil {
		return err
	}
	ok(w, r, res)
	return nil
}
