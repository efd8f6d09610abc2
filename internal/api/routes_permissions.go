package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/permission"
	"github.com/azimuthcd/azimuth/internal/scope"
)

// permissionRoutes are Azure permission checks and generated roles.
func (a *API) permissionRoutes() []Route {
	h := func(method, path, summary string, fn Handler) Route {
		return Route{Method: method, Path: path, Summary: summary, handle: fn}
	}
	return []Route{
		h(http.MethodGet, "/ng/api/azimuth/permissions/capabilities", "List the capabilities and aliases permission checks know", a.listCapabilities),
		h(http.MethodPost, "/ng/api/azimuth/permissions/check", "Check a connector's Azure permissions for capabilities at a scope", a.checkPermissions),
		h(http.MethodPost, "/ng/api/azimuth/permissions/role", "Generate least-privilege roles for capabilities at a scope", a.generateRole),
	}
}

// permissionsCheckRequest is the body of POST .../permissions/check.
type permissionsCheckRequest struct {
	ConnectorRef string `json:"connectorRef"`
	// Scope is a subscription, resource group or resource id.
	Scope string `json:"scope"`
	// Capabilities are capability ids or aliases; a comma-separated string
	// in one element is accepted.
	Capabilities []string `json:"capabilities"`
	// DelegateSelectors are ANDed with the connector's own.
	DelegateSelectors []string `json:"delegateSelectors,omitempty"`
}

// permissionsRoleRequest is the body of POST .../permissions/role:
// permission.GenerateRequest, and optionally a connector whose identity
// the commands then name.
type permissionsRoleRequest struct {
	permission.GenerateRequest
	ConnectorRef      string   `json:"connectorRef,omitempty"`
	DelegateSelectors []string `json:"delegateSelectors,omitempty"`
}

// capabilityList is the answer of GET .../permissions/capabilities.
type capabilityList struct {
	Capabilities []permission.Capability `json:"capabilities"`
	Aliases      map[string][]string     `json:"aliases"`
}

func (a *API) listCapabilities(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	if err := authorizeRead(p, sc); err != nil {
		return err
	}
	ok(w, r, capabilityList{Capabilities: permission.Catalogue(), Aliases: permission.Aliases()})
	return nil
}

func (a *API) checkPermissions(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	var req permissionsCheckRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	var fs failure.Fields
	if strings.TrimSpace(req.ConnectorRef) == "" {
		fs.Add("connectorRef", "connectorRef is required")
	}
	if strings.TrimSpace(req.Scope) == "" {
		fs.Add("scope", "a subscription, resource group or resource id is required")
	}
	if len(req.Capabilities) == 0 {
		fs.Add("capabilities", "name at least one capability or alias (GET /ng/api/azimuth/permissions/capabilities lists them)")
	}
	if err := fs.Err(); err != nil {
		return err
	}
	// A bad scope or capability is the caller's: answer it here, with the
	// field, rather than from inside a task.
	if _, err := permission.RequiredScopes(req.Capabilities, req.Scope); err != nil {
		return permissionFieldError(err)
	}
	var out ops.PermissionsCheckResult
	if _, err := a.runConnectorOp(r.Context(), p, ConnectorTask{Owner: sc, Ref: req.ConnectorRef, Kind: ops.KindPermissionsCheck,
		Params: ops.PermissionsCheckParams{Scope: req.Scope, Capabilities: req.Capabilities}, Selectors: req.DelegateSelectors}, &out); err != nil {
		return err
	}
	ok(w, r, out)
	return nil
}

func (a *API) generateRole(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	var req permissionsRoleRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	var plan permission.Plan
	if strings.TrimSpace(req.ConnectorRef) != "" {
		probe := req.GenerateRequest
		if probe.Assignee == "" {
			probe.Assignee = "00000000-0000-0000-0000-000000000000"
		}
		if _, err := permission.Generate(probe); err != nil {
			return permissionFieldError(err)
		}
		if _, err := a.runConnectorOp(r.Context(), p, ConnectorTask{Owner: sc, Ref: req.ConnectorRef, Kind: ops.KindPermissionsRole,
			Params: req.GenerateRequest, Selectors: req.DelegateSelectors}, &plan); err != nil {
			return err
		}
		ok(w, r, plan)
		return nil
	}
	if err := authorizeRead(p, sc); err != nil {
		return err
	}
	// Without a connector generation is pure: it runs here, in the
	// server, with the same code the task kind runs.
	params, err := json.Marshal(req.GenerateRequest)
	if err != nil {
		return err
	}
	out, err := ops.PermissionsRole(r.Context(), nil, ops.Input{Kind: ops.KindPermissionsRole, Params: params})
	if err != nil {
		return permissionFieldError(err)
	}
	ok(w, r, out)
	return nil
}

// permissionFieldError names the request's fields in internal/permission's
// validation errors (it calls the capability list "for", as the CLI does).
func permissionFieldError(err error) error {
	fe, ok := failure.As(err)
	if !ok || fe.Kind != failure.Invalid {
		return err
	}
	out := &failure.Error{Kind: failure.Invalid, Message: fe.Message}
	for _, f := range fe.Fields {
		if f.Field == "for" {
			f.Field = "capabilities"
		}
		out.Fields = append(out.Fields, f)
	}
	if len(out.Fields) == 0 {
		out.Fields = []failure.FieldError{{Field: "scope", Message: fe.Message}}
	}
	return out
}

// authorizeRead lets p read at sc; a scope outside the key's is answered
// as not found, as everywhere else.
func authorizeRead(p access.Principal, sc scope.Scope) error {
	err := p.Authorize(sc, access.Read)
	if errors.Is(err, access.ErrInvisible) {
		return failure.New(failure.NotFound, "%s not found", sc.Describe()).WithCode("RESOURCE_NOT_FOUND")
	}
	return err
}
