package api

import (
	"net/http"
	"strings"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/service"
)

func account(r *http.Request) (string, error) {
	a := strings.TrimSpace(r.URL.Query().Get("accountIdentifier"))
	if a == "" {
		return "", failure.InvalidField("accountIdentifier", "cannot be empty: pass ?accountIdentifier=<your account>.")
	}
	return a, nil
}

func (a *API) createOrg(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	acc, err := account(r)
	if err != nil {
		return err
	}
	var req orgRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Organization == nil {
		return failure.InvalidField("organization", "must not be null: the body is {\"organization\": {...}}.")
	}
	o, err := a.svc.Scopes.CreateOrg(r.Context(), p, acc, service.OrgInput{Identifier: req.Organization.Identifier,
		Name: req.Organization.Name, Description: req.Organization.Description, Tags: req.Organization.Tags})
	if err != nil {
		return err
	}
	setETag(w, o.Version)
	ok(w, r, toOrg(o))
	return nil
}

func (a *API) getOrg(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	acc, err := account(r)
	if err != nil {
		return err
	}
	o, err := a.svc.Scopes.GetOrg(r.Context(), p, acc, r.PathValue("identifier"))
	if err != nil {
		return err
	}
	setETag(w, o.Version)
	ok(w, r, toOrg(o))
	return nil
}

func (a *API) listOrgs(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	acc, err := account(r)
	if err != nil {
		return err
	}
	pg, err := queryPage(r)
	if err != nil {
		return err
	}
	l, err := a.svc.Scopes.ListOrgs(r.Context(), p, acc, service.ListOrgsInput{SearchTerm: r.URL.Query().Get("searchTerm"),
		Identifiers: queryList(r, "identifiers"), Page: pg})
	if err != nil {
		return err
	}
	ok(w, r, newPage(l, toOrg))
	return nil
}

func (a *API) updateOrg(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	acc, err := account(r)
	if err != nil {
		return err
	}
	im, err := ifMatch(r)
	if err != nil {
		return err
	}
	var req orgRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Organization == nil {
		return failure.InvalidField("organization", "must not be null: the body is {\"organization\": {...}}.")
	}
	o, err := a.svc.Scopes.UpdateOrg(r.Context(), p, acc, r.PathValue("identifier"), service.OrgInput{
		Identifier: req.Organization.Identifier, Name: req.Organization.Name, Description: req.Organization.Description,
		Tags: req.Organization.Tags}, im)
	if err != nil {
		return err
	}
	setETag(w, o.Version)
	ok(w, r, toOrg(o))
	return nil
}

func (a *API) deleteOrg(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	acc, err := account(r)
	if err != nil {
		return err
	}
	im, err := ifMatch(r)
	if err != nil {
		return err
	}
	if err := a.svc.Scopes.DeleteOrg(r.Context(), p, acc, r.PathValue("identifier"), im); err != nil {
		return err
	}
	ok(w, r, true)
	return nil
}

func projectInput(d *projectDTO) service.ProjectInput {
	return service.ProjectInput{Identifier: d.Identifier, OrgIdentifier: d.OrgIdentifier, Name: d.Name, Description: d.Description,
		Color: d.Color, Modules: d.Modules, Tags: d.Tags}
}

func (a *API) createProject(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	acc, err := account(r)
	if err != nil {
		return err
	}
	var req projectRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Project == nil {
		return failure.InvalidField("project", "must not be null: the body is {\"project\": {...}}.")
	}
	pr, err := a.svc.Scopes.CreateProject(r.Context(), p, acc, r.URL.Query().Get("orgIdentifier"), projectInput(req.Project))
	if err != nil {
		return err
	}
	setETag(w, pr.Version)
	ok(w, r, toProject(pr))
	return nil
}

func (a *API) getProject(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	acc, err := account(r)
	if err != nil {
		return err
	}
	pr, err := a.svc.Scopes.GetProject(r.Context(), p, acc, r.URL.Query().Get("orgIdentifier"), r.PathValue("identifier"))
	if err != nil {
		return err
	}
	setETag(w, pr.Version)
	ok(w, r, toProject(pr))
	return nil
}

func (a *API) listProjects(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	acc, err := account(r)
	if err != nil {
		return err
	}
	pg, err := queryPage(r)
	if err != nil {
		return err
	}
	l, err := a.svc.Scopes.ListProjects(r.Context(), p, acc, service.ListProjectsInput{Org: r.URL.Query().Get("orgIdentifier"),
		SearchTerm: r.URL.Query().Get("searchTerm"), Identifiers: queryList(r, "identifiers"), Page: pg})
	if err != nil {
		return err
	}
	ok(w, r, newPage(l, toProject))
	return nil
}

func (a *API) updateProject(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	acc, err := account(r)
	if err != nil {
		return err
	}
	im, err := ifMatch(r)
	if err != nil {
		return err
	}
	var req projectRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Project == nil {
		return failure.InvalidField("project", "must not be null: the body is {\"project\": {...}}.")
	}
	pr, err := a.svc.Scopes.UpdateProject(r.Context(), p, acc, r.URL.Query().Get("orgIdentifier"), r.PathValue("identifier"), projectInput(req.Project), im)
	if err != nil {
		return err
	}
	setETag(w, pr.Version)
	ok(w, r, toProject(pr))
	return nil
}

func (a *API) deleteProject(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	acc, err := account(r)
	if err != nil {
		return err
	}
	im, err := ifMatch(r)
	if err != nil {
		return err
	}
	if err := a.svc.Scopes.DeleteProject(r.Context(), p, acc, r.URL.Query().Get("orgIdentifier"), r.PathValue("identifier"), im); err != nil {
		return err
	}
	ok(w, r, true)
	return nil
}
