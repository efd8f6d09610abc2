package api

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/azimuthcd/azimuth/internal/audit"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/store"
)

// Harness's response shapes (harness-go-sdk nextgen models), and ours.

// page is Harness's PageResponse.
type page struct {
	TotalPages    int64 `json:"totalPages"`
	TotalItems    int64 `json:"totalItems"`
	PageItemCount int64 `json:"pageItemCount"`
	PageSize      int64 `json:"pageSize"`
	Content       any   `json:"content"`
	PageIndex     int64 `json:"pageIndex"`
	Empty         bool  `json:"empty"`
}

func newPage[T, U any](l service.List[T], conv func(T) U) page {
	content := make([]U, 0, len(l.Items))
	for _, it := range l.Items {
		content = append(content, conv(it))
	}
	var pages int64
	if l.PageSize > 0 {
		pages = (int64(l.Total) + int64(l.PageSize) - 1) / int64(l.PageSize)
	}
	return page{TotalPages: pages, TotalItems: int64(l.Total), PageItemCount: int64(len(content)), PageSize: int64(l.PageSize),
		Content: content, PageIndex: int64(l.PageIndex), Empty: len(content) == 0}
}

type orgDTO struct {
	AccountIdentifier string            `json:"accountIdentifier,omitempty"`
	Identifier        string            `json:"identifier"`
	Name              string            `json:"name"`
	Description       string            `json:"description"`
	Tags              map[string]string `json:"tags"`
}

type orgRequest struct {
	Organization *orgDTO `json:"organization"`
}

type orgResponse struct {
	Organization   orgDTO `json:"organization"`
	CreatedAt      int64  `json:"createdAt"`
	LastModifiedAt int64  `json:"lastModifiedAt"`
	HarnessManaged bool   `json:"harnessManaged"`
}

func toOrg(o store.Org) orgResponse {
	return orgResponse{
		Organization:   orgDTO{AccountIdentifier: o.Account, Identifier: o.Identifier, Name: o.Name, Description: o.Description, Tags: nonNil(o.Tags)},
		CreatedAt:      o.CreatedAt.UnixMilli(),
		LastModifiedAt: o.UpdatedAt.UnixMilli(),
	}
}

type projectDTO struct {
	OrgIdentifier string            `json:"orgIdentifier"`
	Identifier    string            `json:"identifier"`
	Name          string            `json:"name"`
	Color         string            `json:"color,omitempty"`
	Modules       []string          `json:"modules"`
	Description   string            `json:"description"`
	Tags          map[string]string `json:"tags"`
}

type projectRequest struct {
	Project *projectDTO `json:"project"`
}

type projectResponse struct {
	Project        projectDTO `json:"project"`
	CreatedAt      int64      `json:"createdAt"`
	LastModifiedAt int64      `json:"lastModifiedAt"`
	IsFavorite     bool       `json:"isFavorite"`
}

func toProject(p store.Project) projectResponse {
	mods := p.Modules
	if mods == nil {
		mods = []string{}
	}
	return projectResponse{
		Project: projectDTO{OrgIdentifier: p.Org, Identifier: p.Identifier, Name: p.Name, Color: p.Color, Modules: mods,
			Description: p.Description, Tags: nonNil(p.Tags)},
		CreatedAt: p.CreatedAt.UnixMilli(), LastModifiedAt: p.UpdatedAt.UnixMilli(),
	}
}

// secretSpecIn is the request spec of a secret; Value decodes straight into
// a redacting type.
type secretSpecIn struct {
	SecretManagerIdentifier string        `json:"secretManagerIdentifier"`
	ValueType               string        `json:"valueType"`
	Value                   *secret.Value `json:"value"`
}

type secretIn struct {
	Type              string            `json:"type"`
	Name              string            `json:"name"`
	Identifier        string            `json:"identifier"`
	OrgIdentifier     string            `json:"orgIdentifier"`
	ProjectIdentifier string            `json:"projectIdentifier"`
	Tags              map[string]string `json:"tags"`
	Description       string            `json:"description"`
	Spec              *secretSpecIn     `json:"spec"`
}

type secretRequest struct {
	Secret *secretIn `json:"secret"`
}

// secretSpecOut never has a value: "value" is always null, as Harness
// sends it (its SecretTextSpec has the field, and it is null on reads).
type secretSpecOut struct {
	SecretManagerIdentifier string    `json:"secretManagerIdentifier"`
	ValueType               string    `json:"valueType,omitempty"`
	Value                   *struct{} `json:"value"` // never set: always null
}

type secretOut struct {
	Type              string            `json:"type"`
	Name              string            `json:"name"`
	Identifier        string            `json:"identifier"`
	OrgIdentifier     string            `json:"orgIdentifier,omitempty"`
	ProjectIdentifier string            `json:"projectIdentifier,omitempty"`
	Tags              map[string]string `json:"tags"`
	Description       string            `json:"description"`
	Spec              secretSpecOut     `json:"spec"`
}

type secretResponse struct {
	Secret    secretOut `json:"secret"`
	CreatedAt int64     `json:"createdAt"`
	UpdatedAt int64     `json:"updatedAt"`
	Draft     bool      `json:"draft"`
}

func toSecret(x store.Secret) secretResponse {
	return secretResponse{
		Secret: secretOut{Type: x.Type, Name: x.Name, Identifier: x.Identifier, OrgIdentifier: x.Scope.Org,
			ProjectIdentifier: x.Scope.Project, Tags: nonNil(x.Tags), Description: x.Description,
			Spec: secretSpecOut{SecretManagerIdentifier: x.SecretManager, ValueType: x.ValueType}},
		CreatedAt: x.CreatedAt.UnixMilli(), UpdatedAt: x.UpdatedAt.UnixMilli(),
	}
}

// connectorResponse is Harness's ConnectorResponse.
type connectorResponse struct {
	Connector             json.RawMessage `json:"connector"`
	CreatedAt             int64           `json:"createdAt"`
	LastModifiedAt        int64           `json:"lastModifiedAt"`
	Status                connectorStatus `json:"status"`
	ActivityDetails       activityDetails `json:"activityDetails"`
	HarnessManaged        bool            `json:"harnessManaged"`
	GitDetails            gitDetails      `json:"gitDetails"`
	EntityValidityDetails validityDetails `json:"entityValidityDetails"`
	GovernanceMetadata    any             `json:"governanceMetadata"`
	IsFavorite            bool            `json:"isFavorite"`
}

type connectorStatus struct {
	Status          string                 `json:"status"`
	ErrorSummary    *string                `json:"errorSummary"`
	Errors          []store.ConnectorError `json:"errors"`
	TestedAt        int64                  `json:"testedAt"`
	LastTestedAt    int64                  `json:"lastTestedAt"`
	LastConnectedAt int64                  `json:"lastConnectedAt"`
	LastAlertSent   *int64                 `json:"lastAlertSent"`
}

type activityDetails struct {
	LastActivityTime int64 `json:"lastActivityTime"`
}

type gitDetails struct {
	ObjectID       *string `json:"objectId"`
	Branch         *string `json:"branch"`
	RepoIdentifier *string `json:"repoIdentifier"`
	RootFolder     *string `json:"rootFolder"`
	FilePath       *string `json:"filePath"`
	RepoName       *string `json:"repoName"`
	CommitID       *string `json:"commitId"`
	FileURL        *string `json:"fileUrl"`
	RepoURL        *string `json:"repoUrl"`
}

type validityDetails struct {
	Valid       bool    `json:"valid"`
	InvalidYaml *string `json:"invalidYaml"`
}

func ms(t interface {
	UnixMilli() int64
	IsZero() bool
}) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// connectorInfo is the "connector" object of a response: the inner object
// of the stored document, which the service wrote normalised and with the
// connector's scope in it.
func connectorInfo(c service.Connector) (json.RawMessage, error) {
	var wrapper struct {
		Connector json.RawMessage `json:"connector"`
	}
	if err := json.Unmarshal(c.Document, &wrapper); err != nil || len(wrapper.Connector) == 0 {
		return nil, fmt.Errorf("stored document of connector %q is not a connector document", c.Identifier)
	}
	return wrapper.Connector, nil
}

func toConnector(c service.Connector) (connectorResponse, error) {
	info, err := connectorInfo(c)
	if err != nil {
		return connectorResponse{}, err
	}
	st := connectorStatus{Status: c.Status.Status, Errors: c.Status.Errors, TestedAt: ms(c.Status.TestedAt),
		LastTestedAt: ms(c.Status.LastTestedAt), LastConnectedAt: ms(c.Status.LastConnectedAt)}
	if c.Status.ErrorSummary != "" {
		s := c.Status.ErrorSummary
		st.ErrorSummary = &s
	}
	return connectorResponse{
		Connector: info, CreatedAt: c.CreatedAt.UnixMilli(), LastModifiedAt: c.UpdatedAt.UnixMilli(), Status: st,
		ActivityDetails:       activityDetails{LastActivityTime: c.UpdatedAt.UnixMilli()},
		EntityValidityDetails: validityDetails{Valid: true},
	}, nil
}

// Ours.

type apiKeyDTO struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	AccountIdentifier string `json:"accountIdentifier"`
	OrgIdentifier     string `json:"orgIdentifier,omitempty"`
	ProjectIdentifier string `json:"projectIdentifier,omitempty"`
	Role              string `json:"role"`
	CreatedAt         int64  `json:"createdAt"`
	CreatedBy         string `json:"createdBy,omitempty"`
	RevokedAt         int64  `json:"revokedAt,omitempty"`
}

func toAPIKey(k store.APIKey) apiKeyDTO {
	return apiKeyDTO{ID: k.ID, Name: k.Name, AccountIdentifier: k.Scope.Account, OrgIdentifier: k.Scope.Org,
		ProjectIdentifier: k.Scope.Project, Role: k.Role, CreatedAt: k.CreatedAt.UnixMilli(), CreatedBy: k.CreatedBy,
		RevokedAt: ms(k.RevokedAt)}
}

type apiKeyRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

type apiKeyCreated struct {
	APIKey apiKeyDTO `json:"apiKey"`
	// Token is the key itself, shown this once.
	Token string `json:"token"`
}

type auditDTO struct {
	Seq               int64  `json:"seq"`
	Time              int64  `json:"time"`
	ActorKeyID        string `json:"actorKeyId,omitempty"`
	ActorName         string `json:"actorName"`
	Action            string `json:"action"`
	ResourceType      string `json:"resourceType"`
	AccountIdentifier string `json:"accountIdentifier,omitempty"`
	OrgIdentifier     string `json:"orgIdentifier,omitempty"`
	ProjectIdentifier string `json:"projectIdentifier,omitempty"`
	Identifier        string `json:"identifier,omitempty"`
	Outcome           string `json:"outcome"`
	Detail            string `json:"detail,omitempty"`
	Source            string `json:"source,omitempty"`
	PrevHash          string `json:"prevHash"`
	Hash              string `json:"hash"`
}

func toAudit(e audit.Event) auditDTO {
	return auditDTO{Seq: e.Seq, Time: e.Time.UnixMilli(), ActorKeyID: e.ActorKeyID, ActorName: e.ActorName, Action: e.Action,
		ResourceType: e.ResourceType, AccountIdentifier: e.Scope.Account, OrgIdentifier: e.Scope.Org,
		ProjectIdentifier: e.Scope.Project, Identifier: e.Identifier, Outcome: e.Outcome, Detail: e.Detail, Source: e.Source,
		PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash)}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
