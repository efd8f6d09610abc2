package api

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/service"
)

func (a *API) writeConnector(w http.ResponseWriter, r *http.Request, p access.Principal, update bool) error {
	acc, err := account(r)
	if err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		// A JSON document: name the field holding a NUL or non-UTF-8
		// string (the connector decoder would only say "body").
		if err := checkBodyText(body); err != nil {
			return err
		}
	}
	q := r.URL.Query()
	wr := service.Write{Account: acc, QueryOrg: strings.TrimSpace(q.Get("orgIdentifier")), QueryProject: strings.TrimSpace(q.Get("projectIdentifier")),
		Body: body, MediaType: mediaType(r)}
	var c service.Connector
	if update {
		if wr.IfMatch, err = ifMatch(r); err != nil {
			return err
		}
		c, err = a.svc.Connectors.Update(r.Context(), p, wr)
	} else {
		c, err = a.svc.Connectors.Create(r.Context(), p, wr)
	}
	if err != nil {
		return err
	}
	resp, err := toConnector(c)
	if err != nil {
		return err
	}
	setETag(w, c.Version)
	ok(w, r, resp)
	return nil
}

func (a *API) createConnector(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	return a.writeConnector(w, r, p, false)
}

func (a *API) updateConnector(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	return a.writeConnector(w, r, p, true)
}

func (a *API) getConnector(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	c, err := a.svc.Connectors.Get(r.Context(), p, sc, r.PathValue("identifier"))
	if err != nil {
		return err
	}
	resp, err := toConnector(c)
	if err != nil {
		return err
	}
	setETag(w, c.Version)
	ok(w, r, resp)
	return nil
}

func (a *API) listConnectors(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	pg, err := queryPage(r)
	if err != nil {
		return err
	}
	if c := r.URL.Query().Get("category"); c != "" && c != "CLOUD_PROVIDER" {
		return renderConnectors(w, r, service.List[service.Connector]{PageIndex: pg.Index, PageSize: pageSize(pg)})
	}
	l, err := a.svc.Connectors.List(r.Context(), p, sc, service.ListConnectorsInput{SearchTerm: r.URL.Query().Get("searchTerm"),
		Types: queryList(r, "type"), Page: pg})
	if err != nil {
		return err
	}
	return renderConnectors(w, r, l)
}

func pageSize(pg service.PageRequest) int {
	if pg.Size == 0 {
		return service.DefaultPageSize
	}
	return pg.Size
}

func renderConnectors(w http.ResponseWriter, r *http.Request, l service.List[service.Connector]) error {
	out := service.List[connectorResponse]{Total: l.Total, PageIndex: l.PageIndex, PageSize: l.PageSize}
	for _, c := range l.Items {
		resp, err := toConnector(c)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, resp)
	}
	ok(w, r, newPage(out, func(c connectorResponse) connectorResponse { return c }))
	return nil
}

// connectorFilter is Harness's ConnectorFilterProperties (POST listV2).
type connectorFilter struct {
	FilterType           string            `json:"filterType"`
	Types                []string          `json:"types"`
	ConnectorNames       []string          `json:"connectorNames"`
	ConnectorIdentifiers []string          `json:"connectorIdentifiers"`
	Description          string            `json:"description"`
	Categories           []string          `json:"categories"`
	ConnectivityStatuses []string          `json:"connectivityStatuses"`
	Tags                 map[string]string `json:"tags"`
}

func (a *API) listConnectorsV2(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	pg, err := queryPage(r)
	if err != nil {
		return err
	}
	all, err := queryBool(r, "includeAllConnectorsAvailableAtScope")
	if err != nil {
		return err
	}
	var f connectorFilter
	if b, err := readBody(r); err != nil {
		return err
	} else if len(strings.TrimSpace(string(b))) > 0 {
		if err := decodeBytes(b, mediaType(r), &f); err != nil {
			return err
		}
	}
	if f.FilterType != "" && f.FilterType != "Connector" {
		return failure.InvalidField("filterType", "must be Connector, got %q.", f.FilterType)
	}
	if len(f.ConnectorNames) > 0 || f.Description != "" || len(f.ConnectivityStatuses) > 0 || len(f.Tags) > 0 {
		return failure.InvalidField("filter", "Azimuth filters connectors by types, connectorIdentifiers and categories (and searchTerm); connectorNames, description, connectivityStatuses and tags are not supported yet.")
	}
	// Azure connectors are in the CLOUD_PROVIDER category.
	if len(f.Categories) > 0 && !containsString(f.Categories, "CLOUD_PROVIDER") {
		return renderConnectors(w, r, service.List[service.Connector]{PageIndex: pg.Index, PageSize: pageSize(pg)})
	}
	l, err := a.svc.Connectors.List(r.Context(), p, sc, service.ListConnectorsInput{SearchTerm: r.URL.Query().Get("searchTerm"),
		Types: f.Types, Identifiers: f.ConnectorIdentifiers, IncludeAllScopes: all, Page: pg})
	if err != nil {
		return err
	}
	return renderConnectors(w, r, l)
}

func (a *API) deleteConnector(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	force, err := queryBool(r, "forceDelete")
	if err != nil {
		return err
	}
	if err := a.svc.Connectors.Delete(r.Context(), p, sc, r.PathValue("identifier"), force); err != nil {
		return err
	}
	ok(w, r, true)
	return nil
}

func (a *API) validateConnectorID(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	id := r.URL.Query().Get("identifier")
	unique, err := a.svc.Connectors.ValidateUnique(r.Context(), p, sc, id)
	if err != nil {
		return err
	}
	ok(w, r, unique)
	return nil
}

func containsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
