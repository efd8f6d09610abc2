package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/azimuthcd/azimuth/internal/connector"
)

// connectorRow is one connector as the list and detail pages show it.
type connectorRow struct {
	Connector struct {
		Name              string            `json:"name"`
		Identifier        string            `json:"identifier"`
		Description       string            `json:"description"`
		OrgIdentifier     string            `json:"orgIdentifier"`
		ProjectIdentifier string            `json:"projectIdentifier"`
		Tags              map[string]string `json:"tags"`
		Spec              struct {
			AzureEnvironmentType string   `json:"azureEnvironmentType"`
			ExecuteOnDelegate    *bool    `json:"executeOnDelegate"`
			DelegateSelectors    []string `json:"delegateSelectors"`
			Credential           struct {
				Type string `json:"type"`
				Spec struct {
					ApplicationID string `json:"applicationId"`
					TenantID      string `json:"tenantId"`
					Auth          struct {
						Type string `json:"type"`
					} `json:"auth"`
				} `json:"spec"`
			} `json:"credential"`
		} `json:"spec"`
	} `json:"connector"`
	CreatedAt      int64 `json:"createdAt"`
	LastModifiedAt int64 `json:"lastModifiedAt"`
	Status         struct {
		Status       string  `json:"status"`
		ErrorSummary *string `json:"errorSummary"`
		Errors       []struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
			Code    int    `json:"code"`
		} `json:"errors"`
		TestedAt        int64 `json:"testedAt"`
		LastTestedAt    int64 `json:"lastTestedAt"`
		LastConnectedAt int64 `json:"lastConnectedAt"`
	} `json:"status"`
}

// Through says how the connector reaches Azure.
func (c connectorRow) Through() string {
	s := c.Connector.Spec
	if s.Credential.Type == "InheritFromDelegate" {
		return "delegate (its managed identity)"
	}
	if s.ExecuteOnDelegate != nil && !*s.ExecuteOnDelegate {
		return "server"
	}
	return "delegate"
}

// Auth describes the credential.
func (c connectorRow) Auth() string {
	cr := c.Connector.Spec.Credential
	if cr.Spec.Auth.Type != "" {
		return cr.Type + " / " + cr.Spec.Auth.Type
	}
	return cr.Type
}

// Cloud is the Azure environment.
func (c connectorRow) Cloud() string {
	if c.Connector.Spec.AzureEnvironmentType == "" {
		return "AZURE"
	}
	return c.Connector.Spec.AzureEnvironmentType
}

// StatusText is the status or PENDING.
func (c connectorRow) StatusText() string {
	if c.Status.Status == "" {
		return "PENDING"
	}
	return c.Status.Status
}

// TagList lists tags as k=v in key order.
func (c connectorRow) TagList() []string {
	var out []string
	for _, k := range sortedKeys(c.Connector.Tags) {
		if v := c.Connector.Tags[k]; v != "" {
			out = append(out, k+"="+v)
		} else {
			out = append(out, k)
		}
	}
	return out
}

type pageOf[T any] struct {
	Content    []T   `json:"content"`
	TotalItems int64 `json:"totalItems"`
	TotalPages int64 `json:"totalPages"`
	PageIndex  int64 `json:"pageIndex"`
}

func pageIndex(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func (u *UI) overview(w http.ResponseWriter, r *http.Request, s *session) {
	sel := selected(r)
	q := sel.apiQuery()
	q.Set("pageSize", "1")
	var conns pageOf[connectorRow]
	var secrets pageOf[json.RawMessage]
	_, cerr := u.call(r.Context(), s, http.MethodGet, "/ng/api/connectors", q, nil, &conns)
	_, serr := u.call(r.Context(), s, http.MethodGet, "/ng/api/v2/secrets", q, nil, &secrets)
	data := map[string]any{"Connectors": conns.TotalItems, "Secrets": secrets.TotalItems}
	if err := errors.Join(cerr, serr); err != nil {
		data["Error"] = err.Error()
	}
	u.render(w, r, http.StatusOK, "overview", s, data)
}

func (u *UI) connectors(w http.ResponseWriter, r *http.Request, s *session) {
	sel := selected(r)
	q := sel.apiQuery()
	q.Set("pageSize", "50")
	q.Set("pageIndex", strconv.Itoa(pageIndex(r)))
	if term := r.URL.Query().Get("q"); term != "" {
		q.Set("searchTerm", term)
	}
	var list pageOf[connectorRow]
	if st, err := u.call(r.Context(), s, http.MethodGet, "/ng/api/connectors", q, nil, &list); err != nil {
		u.fail(w, r, s, st, err)
		return
	}
	u.render(w, r, http.StatusOK, "connectors", s, map[string]any{"List": list, "Search": r.URL.Query().Get("q"),
		"Prev": pageIndex(r) - 1, "Next": nextPage(pageIndex(r), list.TotalPages)})
}

func nextPage(cur int, total int64) int {
	if int64(cur+1) >= total {
		return -1
	}
	return cur + 1
}

func (u *UI) loadConnector(r *http.Request, s *session) (connectorRow, string, int, error) {
	id := r.PathValue("id")
	var c connectorRow
	st, err := u.call(r.Context(), s, http.MethodGet, "/ng/api/connectors/"+url.PathEscape(id), selected(r).apiQuery(), nil, &c)
	if err != nil {
		return c, "", st, err
	}
	// The document as `azimuth connector export` writes it: Harness's
	// YAML, ready to apply elsewhere.
	var raw struct {
		Connector json.RawMessage `json:"connector"`
	}
	if _, err := u.call(r.Context(), s, http.MethodGet, "/ng/api/connectors/"+url.PathEscape(id), selected(r).apiQuery(), nil, &raw); err != nil {
		return c, "", st, nil
	}
	doc, err := connector.Decode([]byte(`{"connector":`+string(raw.Connector)+`}`), "application/json")
	if err != nil {
		return c, "", st, nil
	}
	yaml, err := connector.Encode(doc, "yaml")
	if err != nil {
		return c, "", st, nil
	}
	return c, string(yaml), st, nil
}

func (u *UI) connector(w http.ResponseWriter, r *http.Request, s *session) {
	c, yaml, st, err := u.loadConnector(r, s)
	if err != nil {
		u.fail(w, r, s, st, err)
		return
	}
	u.render(w, r, http.StatusOK, "connector", s, map[string]any{"C": c, "YAML": yaml})
}

// testResult is the part of the connection test's answer the page shows.
type testResult struct {
	Status       string  `json:"status"`
	ErrorSummary *string `json:"errorSummary"`
	Errors       []struct {
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"errors"`
	Reason   string `json:"reason"`
	Hint     string `json:"hint"`
	Warnings []struct {
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"warnings"`
	Identity *struct {
		TenantID      string `json:"tenantId"`
		ApplicationID string `json:"applicationId"`
		ObjectID      string `json:"objectId"`
	} `json:"identity"`
	Subscriptions *struct {
		Count int `json:"count"`
		Items []struct {
			ID          string `json:"id"`
			DisplayName string `json:"displayName"`
			State       string `json:"state"`
		} `json:"items"`
	} `json:"subscriptions"`
	DelegateID     *string `json:"delegateId"`
	TaskID         string  `json:"taskId"`
	DurationMillis int64   `json:"durationMs"`
}

func (u *UI) testConnector(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	var res testResult
	st, terr := u.call(r.Context(), s, http.MethodPost, "/ng/api/connectors/testConnection/"+url.PathEscape(id), selected(r).apiQuery(), nil, &res)
	c, yaml, st2, err := u.loadConnector(r, s)
	if err != nil {
		u.fail(w, r, s, st2, err)
		return
	}
	data := map[string]any{"C": c, "YAML": yaml, "Test": &res}
	if terr != nil {
		data["Test"] = nil
		data["Error"] = terr.Error()
		w.Header().Set("X-Test-Status", strconv.Itoa(st))
	}
	u.render(w, r, http.StatusOK, "connector", s, data)
}

type secretRow struct {
	Secret struct {
		Type              string            `json:"type"`
		Name              string            `json:"name"`
		Identifier        string            `json:"identifier"`
		OrgIdentifier     string            `json:"orgIdentifier"`
		ProjectIdentifier string            `json:"projectIdentifier"`
		Description       string            `json:"description"`
		Tags              map[string]string `json:"tags"`
	} `json:"secret"`
	CreatedAt int64 `json:"createdAt"`
	UpdatedAt int64 `json:"updatedAt"`
}

func (u *UI) secrets(w http.ResponseWriter, r *http.Request, s *session) {
	q := selected(r).apiQuery()
	q.Set("pageSize", "100")
	q.Set("pageIndex", strconv.Itoa(pageIndex(r)))
	var list pageOf[secretRow]
	if st, err := u.call(r.Context(), s, http.MethodGet, "/ng/api/v2/secrets", q, nil, &list); err != nil {
		u.fail(w, r, s, st, err)
		return
	}
	u.render(w, r, http.StatusOK, "secrets", s, map[string]any{"List": list,
		"Prev": pageIndex(r) - 1, "Next": nextPage(pageIndex(r), list.TotalPages)})
}

// delegateRow is one delegate as the API lists it.
type delegateRow struct {
	ID                string            `json:"id"`
	Name              string            `json:"name"`
	OrgIdentifier     string            `json:"orgIdentifier"`
	ProjectIdentifier string            `json:"projectIdentifier"`
	Tags              []string          `json:"tags"`
	Version           string            `json:"version"`
	Capabilities      map[string]string `json:"capabilities"`
	Concurrency       int               `json:"concurrency"`
	RegisteredAt      int64             `json:"registeredAt"`
	LastHeartbeat     int64             `json:"lastHeartbeat"`
	Connected         bool              `json:"connected"`
}

// Offers lists what the delegate reports, but the task kinds (too long
// for a table; the API has them).
func (d delegateRow) Offers() []string {
	var out []string
	for _, k := range sortedKeys(d.Capabilities) {
		if k != "kinds" && d.Capabilities[k] != "" {
			out = append(out, k+"="+d.Capabilities[k])
		}
	}
	return out
}

// ScopeLabel is where the delegate's token lives.
func (d delegateRow) ScopeLabel() string {
	return scopeSel{Org: d.OrgIdentifier, Project: d.ProjectIdentifier}.Label()
}

func (u *UI) delegates(w http.ResponseWriter, r *http.Request, s *session) {
	var list []delegateRow
	st, err := u.call(r.Context(), s, http.MethodGet, "/ng/api/azimuth/delegates", selected(r).apiQuery(), nil, &list)
	if err != nil {
		u.fail(w, r, s, st, err)
		return
	}
	u.render(w, r, http.StatusOK, "delegates", s, map[string]any{"List": list})
}

// taskRow is one task as the API lists it.
type taskRow struct {
	ID                  string   `json:"id"`
	Type                string   `json:"type"`
	Status              string   `json:"status"`
	ConnectorIdentifier string   `json:"connectorIdentifier"`
	Selectors           []string `json:"selectors"`
	DelegateName        string   `json:"delegateName"`
	Attempts            int      `json:"attempts"`
	CreatedAt           int64    `json:"createdAt"`
	DurationMs          int64    `json:"durationMs"`
	Error               *struct {
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"error"`
}

func (u *UI) tasks(w http.ResponseWriter, r *http.Request, s *session) {
	q := selected(r).apiQuery()
	q.Set("pageSize", "100")
	q.Set("pageIndex", strconv.Itoa(pageIndex(r)))
	var list pageOf[taskRow]
	if st, err := u.call(r.Context(), s, http.MethodGet, "/ng/api/azimuth/tasks", q, nil, &list); err != nil {
		u.fail(w, r, s, st, err)
		return
	}
	u.render(w, r, http.StatusOK, "tasks", s, map[string]any{"List": list,
		"Prev": pageIndex(r) - 1, "Next": nextPage(pageIndex(r), list.TotalPages)})
}

type auditRow struct {
	Seq               int64  `json:"seq"`
	Time              int64  `json:"time"`
	ActorName         string `json:"actorName"`
	Action            string `json:"action"`
	ResourceType      string `json:"resourceType"`
	OrgIdentifier     string `json:"orgIdentifier"`
	ProjectIdentifier string `json:"projectIdentifier"`
	Identifier        string `json:"identifier"`
	Outcome           string `json:"outcome"`
	Detail            string `json:"detail"`
	Source            string `json:"source"`
}

func (u *UI) audit(w http.ResponseWriter, r *http.Request, s *session) {
	q := selected(r).apiQuery()
	q.Set("pageSize", "100")
	q.Set("pageIndex", strconv.Itoa(pageIndex(r)))
	var list pageOf[auditRow]
	if st, err := u.call(r.Context(), s, http.MethodGet, "/ng/api/azimuth/audit", q, nil, &list); err != nil {
		u.fail(w, r, s, st, err)
		return
	}
	u.render(w, r, http.StatusOK, "audit", s, map[string]any{"List": list,
		"Prev": pageIndex(r) - 1, "Next": nextPage(pageIndex(r), list.TotalPages)})
}
