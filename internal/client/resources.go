package client

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// Write options.

// IfMatch makes an update or delete apply only to the given version (the
// Version of what was read); 0 means unconditionally.
type IfMatch int64

func (v IfMatch) header() http.Header {
	if v <= 0 {
		return nil
	}
	return http.Header{"If-Match": {strconv.Quote(strconv.FormatInt(int64(v), 10))}}
}

// Health.

// Ready reports whether the server and its database answer (GET /readyz).
func (c *Client) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.transportError(ctx, "GET /readyz", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &Error{Op: "GET /readyz", StatusCode: resp.StatusCode, Kind: statusKind(resp.StatusCode), Message: "the server is not ready: " + resp.Status}
	}
	return nil
}

// Whoami describes the client's key.
func (c *Client) Whoami(ctx context.Context) (Whoami, error) {
	var w Whoami
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/azimuth/whoami"}, &w)
	return w, err
}

// Organizations.

// CreateOrg creates an organization.
func (c *Client) CreateOrg(ctx context.Context, o OrgInfo) (Org, error) {
	var out Org
	r, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/ng/api/organizations",
		JSON: map[string]any{"organization": o}}, &out)
	return withVersion(out, r, err, func(o *Org, v int64) { o.Version = v })
}

// GetOrg reads an organization.
func (c *Client) GetOrg(ctx context.Context, id string) (Org, error) {
	var out Org
	r, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/organizations/" + pathEscape(id)}, &out)
	return withVersion(out, r, err, func(o *Org, v int64) { o.Version = v })
}

// ListOrgs lists organizations.
func (c *Client) ListOrgs(ctx context.Context, o ListOptions) (Page[Org], error) {
	q := c.query(Scope{})
	o.apply(q)
	var out Page[Org]
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/organizations", Query: q}, &out)
	return out, err
}

// DeleteOrg deletes an empty organization.
func (c *Client) DeleteOrg(ctx context.Context, id string, v IfMatch) error {
	_, err := c.Do(ctx, Request{Method: http.MethodDelete, Path: "/ng/api/organizations/" + pathEscape(id), Header: v.header()}, nil)
	return err
}

// Projects.

// CreateProject creates a project in organization org.
func (c *Client) CreateProject(ctx context.Context, org string, p ProjectInfo) (Project, error) {
	if p.OrgIdentifier == "" {
		p.OrgIdentifier = org
	}
	var out Project
	r, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/ng/api/projects", Query: c.query(Scope{Org: org}),
		JSON: map[string]any{"project": p}}, &out)
	return withVersion(out, r, err, func(p *Project, v int64) { p.Version = v })
}

// GetProject reads a project.
func (c *Client) GetProject(ctx context.Context, org, id string) (Project, error) {
	var out Project
	r, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/projects/" + pathEscape(id), Query: c.query(Scope{Org: org})}, &out)
	return withVersion(out, r, err, func(p *Project, v int64) { p.Version = v })
}

// ListProjects lists projects; org "" lists those of every organization
// the key sees.
func (c *Client) ListProjects(ctx context.Context, org string, o ListOptions) (Page[Project], error) {
	q := c.query(Scope{Org: org})
	o.apply(q)
	var out Page[Project]
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/projects", Query: q}, &out)
	return out, err
}

// DeleteProject deletes an empty project.
func (c *Client) DeleteProject(ctx context.Context, org, id string, v IfMatch) error {
	_, err := c.Do(ctx, Request{Method: http.MethodDelete, Path: "/ng/api/projects/" + pathEscape(id), Query: c.query(Scope{Org: org}), Header: v.header()}, nil)
	return err
}

// Connectors.

// mediaTypeOf labels a connector document: JSON when it starts like JSON,
// YAML otherwise.
func mediaTypeOf(doc []byte) string {
	if bytes.HasPrefix(bytes.TrimSpace(doc), []byte("{")) {
		return "application/json"
	}
	return "application/yaml"
}

// CreateConnector creates a connector from a document ({"connector":
// {...}}, JSON or YAML). Its scope is the document's.
func (c *Client) CreateConnector(ctx context.Context, doc []byte) (Connector, error) {
	var out Connector
	r, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/ng/api/connectors", Body: doc, ContentType: mediaTypeOf(doc)}, &out)
	return withVersion(out, r, err, func(c *Connector, v int64) { c.Version = v })
}

// UpdateConnector replaces a connector with a full document; the
// identifier, scope and type name which one and cannot change.
func (c *Client) UpdateConnector(ctx context.Context, doc []byte, v IfMatch) (Connector, error) {
	var out Connector
	r, err := c.Do(ctx, Request{Method: http.MethodPut, Path: "/ng/api/connectors", Body: doc, ContentType: mediaTypeOf(doc), Header: v.header()}, &out)
	return withVersion(out, r, err, func(c *Connector, v int64) { c.Version = v })
}

// GetConnector reads a connector.
func (c *Client) GetConnector(ctx context.Context, sc Scope, id string) (Connector, error) {
	var out Connector
	r, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/connectors/" + pathEscape(id), Query: c.query(sc)}, &out)
	return withVersion(out, r, err, func(c *Connector, v int64) { c.Version = v })
}

// ListConnectorsOptions filter a connector listing.
type ListConnectorsOptions struct {
	ListOptions
	Types []string // e.g. Azure
}

// ListConnectors lists the connectors of one scope.
func (c *Client) ListConnectors(ctx context.Context, sc Scope, o ListConnectorsOptions) (Page[Connector], error) {
	q := c.query(sc)
	o.apply(q)
	for _, t := range o.Types {
		q.Add("type", t)
	}
	var out Page[Connector]
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/connectors", Query: q}, &out)
	return out, err
}

// DeleteConnector deletes a connector.
func (c *Client) DeleteConnector(ctx context.Context, sc Scope, id string, force bool) error {
	q := c.query(sc)
	if force {
		q.Set("forceDelete", "true")
	}
	_, err := c.Do(ctx, Request{Method: http.MethodDelete, Path: "/ng/api/connectors/" + pathEscape(id), Query: q}, nil)
	return err
}

// ConnectorIDFree reports whether no connector of the scope has the
// identifier (Harness's validateUniqueIdentifier).
func (c *Client) ConnectorIDFree(ctx context.Context, sc Scope, id string) (bool, error) {
	q := c.query(sc)
	q.Set("identifier", id)
	var free bool
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/connectors/validateUniqueIdentifier", Query: q}, &free)
	return free, err
}

// Secrets.

// SecretManager is the built-in secret manager every secret uses.
const SecretManager = "harnessSecretManager"

// SecretMeta is what a secret create or update sets besides the value.
type SecretMeta struct {
	Identifier  string
	Name        string // default: the identifier
	Description string
	Tags        map[string]string
}

type secretSpecIn struct {
	SecretManagerIdentifier string  `json:"secretManagerIdentifier"`
	ValueType               string  `json:"valueType,omitempty"`
	Value                   *string `json:"value,omitempty"`
}

type secretIn struct {
	Type              string            `json:"type"`
	Name              string            `json:"name"`
	Identifier        string            `json:"identifier"`
	OrgIdentifier     string            `json:"orgIdentifier,omitempty"`
	ProjectIdentifier string            `json:"projectIdentifier,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
	Description       string            `json:"description,omitempty"`
	Spec              secretSpecIn      `json:"spec"`
}

func secretBody(sc Scope, typ string, m SecretMeta, value []byte) map[string]any {
	name := m.Name
	if name == "" {
		name = m.Identifier
	}
	in := secretIn{Type: typ, Name: name, Identifier: m.Identifier, OrgIdentifier: sc.Org, ProjectIdentifier: sc.Project,
		Tags: m.Tags, Description: m.Description, Spec: secretSpecIn{SecretManagerIdentifier: SecretManager}}
	if typ == SecretText {
		in.Spec.ValueType = "Inline"
		if value != nil {
			v := string(value)
			in.Spec.Value = &v
		}
	}
	return map[string]any{"secret": in}
}

// CreateTextSecret creates a text secret holding value.
func (c *Client) CreateTextSecret(ctx context.Context, sc Scope, m SecretMeta, value []byte) (Secret, error) {
	if value == nil {
		value = []byte{}
	}
	var out Secret
	r, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/ng/api/v2/secrets", Query: c.query(sc),
		JSON: secretBody(sc, SecretText, m, value)}, &out)
	return withVersion(out, r, err, func(s *Secret, v int64) { s.Version = v })
}

// UpdateTextSecret replaces a text secret's metadata and, when value is not
// nil, its value.
func (c *Client) UpdateTextSecret(ctx context.Context, sc Scope, m SecretMeta, value []byte, v IfMatch) (Secret, error) {
	var out Secret
	r, err := c.Do(ctx, Request{Method: http.MethodPut, Path: "/ng/api/v2/secrets/" + pathEscape(m.Identifier), Query: c.query(sc),
		JSON: secretBody(sc, SecretText, m, value), Header: v.header()}, &out)
	return withVersion(out, r, err, func(s *Secret, v int64) { s.Version = v })
}

// fileForm is Harness's multipart file-secret request: "spec" and "file".
func fileForm(sc Scope, m SecretMeta, content []byte) ([]byte, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	spec, err := jsonBytes(secretBody(sc, SecretFile, m, nil))
	if err != nil {
		return nil, "", err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="spec"`)
	h.Set("Content-Type", "application/json")
	pw, err := mw.CreatePart(h)
	if err != nil {
		return nil, "", err
	}
	if _, err := pw.Write(spec); err != nil {
		return nil, "", err
	}
	if content != nil {
		fw, err := mw.CreateFormFile("file", m.Identifier)
		if err != nil {
			return nil, "", err
		}
		if _, err := fw.Write(content); err != nil {
			return nil, "", err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// CreateFileSecret creates a file secret holding content.
func (c *Client) CreateFileSecret(ctx context.Context, sc Scope, m SecretMeta, content []byte) (Secret, error) {
	if content == nil {
		content = []byte{}
	}
	body, ct, err := fileForm(sc, m, content)
	if err != nil {
		return Secret{}, err
	}
	defer wipe(body)
	var out Secret
	r, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/ng/api/v2/secrets/files", Query: c.query(sc), Body: body, ContentType: ct}, &out)
	return withVersion(out, r, err, func(s *Secret, v int64) { s.Version = v })
}

// UpdateFileSecret replaces a file secret's metadata and, when content is
// not nil, its content.
func (c *Client) UpdateFileSecret(ctx context.Context, sc Scope, m SecretMeta, content []byte, v IfMatch) (Secret, error) {
	body, ct, err := fileForm(sc, m, content)
	if err != nil {
		return Secret{}, err
	}
	defer wipe(body)
	var out Secret
	r, err := c.Do(ctx, Request{Method: http.MethodPut, Path: "/ng/api/v2/secrets/files/" + pathEscape(m.Identifier), Query: c.query(sc),
		Body: body, ContentType: ct, Header: v.header()}, &out)
	return withVersion(out, r, err, func(s *Secret, v int64) { s.Version = v })
}

// GetSecret reads a secret's metadata.
func (c *Client) GetSecret(ctx context.Context, sc Scope, id string) (Secret, error) {
	var out Secret
	r, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/v2/secrets/" + pathEscape(id), Query: c.query(sc)}, &out)
	return withVersion(out, r, err, func(s *Secret, v int64) { s.Version = v })
}

// ListSecretsOptions filter a secret listing.
type ListSecretsOptions struct {
	ListOptions
	Types            []string // SecretText, SecretFile
	IncludeSubScopes bool
}

// ListSecrets lists the secrets of a scope.
func (c *Client) ListSecrets(ctx context.Context, sc Scope, o ListSecretsOptions) (Page[Secret], error) {
	q := c.query(sc)
	o.apply(q)
	if len(o.Types) > 0 {
		q.Set("type", strings.Join(o.Types, ","))
	}
	if o.IncludeSubScopes {
		q.Set("includeSecretsFromEverySubScope", "true")
	}
	var out Page[Secret]
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/v2/secrets", Query: q}, &out)
	return out, err
}

// DeleteSecret deletes a secret; force deletes it even when a connector
// refers to it.
func (c *Client) DeleteSecret(ctx context.Context, sc Scope, id string, force bool) error {
	q := c.query(sc)
	if force {
		q.Set("forceDelete", "true")
	}
	_, err := c.Do(ctx, Request{Method: http.MethodDelete, Path: "/ng/api/v2/secrets/" + pathEscape(id), Query: q}, nil)
	return err
}

// SecretIDFree reports whether no secret of the scope has the identifier.
func (c *Client) SecretIDFree(ctx context.Context, sc Scope, id string) (bool, error) {
	var free bool
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/v2/secrets/validateUniqueIdentifier/" + pathEscape(id), Query: c.query(sc)}, &free)
	return free, err
}

// API keys.

// CreateAPIKey creates a key at sc with a role (viewer, editor, admin). The
// returned token is the key itself: it is shown this once.
func (c *Client) CreateAPIKey(ctx context.Context, sc Scope, name, role string) (APIKey, string, error) {
	var out struct {
		APIKey APIKey `json:"apiKey"`
		Token  string `json:"token"`
	}
	_, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/ng/api/azimuth/apikeys", Query: c.query(sc),
		JSON: map[string]string{"name": name, "role": role}}, &out)
	return out.APIKey, out.Token, err
}

// ListAPIKeys lists the keys of sc (and of the scopes below it with
// includeSubScopes).
func (c *Client) ListAPIKeys(ctx context.Context, sc Scope, includeSubScopes bool, o ListOptions) (Page[APIKey], error) {
	q := c.query(sc)
	o.apply(q)
	if includeSubScopes {
		q.Set("includeSubScopes", "true")
	}
	var out Page[APIKey]
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/azimuth/apikeys", Query: q}, &out)
	return out, err
}

// GetAPIKey reads a key's record.
func (c *Client) GetAPIKey(ctx context.Context, id string) (APIKey, error) {
	var out APIKey
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/azimuth/apikeys/" + pathEscape(id)}, &out)
	return out, err
}

// RevokeAPIKey revokes a key.
func (c *Client) RevokeAPIKey(ctx context.Context, id string) (APIKey, error) {
	var out APIKey
	_, err := c.Do(ctx, Request{Method: http.MethodDelete, Path: "/ng/api/azimuth/apikeys/" + pathEscape(id)}, &out)
	return out, err
}

// Audit trail.

// AuditFilter selects audit events.
type AuditFilter struct {
	ListOptions
	ResourceType string // connector, secret, ...
	Action       string // e.g. connector.create
	Outcome      string // success, denied, failure
	ActorKeyID   string
	Identifier   string
	Since, Until time.Time
}

// ListAudit lists audit events at sc and below, newest first.
func (c *Client) ListAudit(ctx context.Context, sc Scope, f AuditFilter) (Page[AuditEvent], error) {
	q := c.query(sc)
	f.apply(q)
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("resourceType", f.ResourceType)
	set("action", f.Action)
	set("outcome", f.Outcome)
	set("actorKeyId", f.ActorKeyID)
	set("identifier", f.Identifier)
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.UTC().Format(time.RFC3339))
	}
	var out Page[AuditEvent]
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/azimuth/audit", Query: q}, &out)
	return out, err
}

// VerifyAudit walks the audit hash chain.
func (c *Client) VerifyAudit(ctx context.Context) (AuditVerification, error) {
	var out AuditVerification
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/azimuth/audit/verify"}, &out)
	return out, err
}

// Keyring.

// Keyring lists the data keys of the secrets keyring.
func (c *Client) Keyring(ctx context.Context) ([]DataKey, error) {
	var out struct {
		Keys []DataKey `json:"keys"`
	}
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/azimuth/keyring"}, &out)
	return out.Keys, err
}

// RotateKeyring installs a new data key and re-encrypts every secret.
func (c *Client) RotateKeyring(ctx context.Context) (Rotation, error) {
	var out Rotation
	_, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/ng/api/azimuth/keyring/rotate"}, &out)
	return out, err
}

// helpers

func withVersion[T any](v T, r *Response, err error, set func(*T, int64)) (T, error) {
	if err != nil {
		return v, err
	}
	set(&v, r.Version())
	return v, nil
}

func jsonBytes(v any) ([]byte, error) { return json.Marshal(v) }

func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
