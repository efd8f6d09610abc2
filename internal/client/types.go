package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Page is Harness's PageResponse.
type Page[T any] struct {
	TotalPages    int64 `json:"totalPages"`
	TotalItems    int64 `json:"totalItems"`
	PageItemCount int64 `json:"pageItemCount"`
	PageSize      int64 `json:"pageSize"`
	Content       []T   `json:"content"`
	PageIndex     int64 `json:"pageIndex"`
	Empty         bool  `json:"empty"`
}

// ListOptions are the paging and search parameters shared by list calls.
type ListOptions struct {
	PageIndex  int
	PageSize   int // 0: the server's default (100); at most 1000
	SearchTerm string
}

func (o ListOptions) apply(q url.Values) {
	if o.PageIndex > 0 {
		q.Set("pageIndex", strconv.Itoa(o.PageIndex))
	}
	if o.PageSize > 0 {
		q.Set("pageSize", strconv.Itoa(o.PageSize))
	}
	if o.SearchTerm != "" {
		q.Set("searchTerm", o.SearchTerm)
	}
}

// maxPages bounds All: 10,000 pages of up to 1,000 items.
const maxPages = 10000

// All fetches every page, starting from page 0, through fetch.
func All[T any](ctx context.Context, fetch func(ctx context.Context, pageIndex int) (Page[T], error)) ([]T, error) {
	var out []T
	for i := 0; i < maxPages; i++ {
		p, err := fetch(ctx, i)
		if err != nil {
			return out, err
		}
		out = append(out, p.Content...)
		if len(p.Content) == 0 || int64(i+1) >= p.TotalPages {
			return out, nil
		}
	}
	return out, fmt.Errorf("stopped after %d pages", maxPages)
}

// Millis is a Unix time in milliseconds, as Harness sends times.
type Millis int64

// Time is the time, zero for 0.
func (m Millis) Time() time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(m))
}

// Org is Harness's OrganizationResponse.
type Org struct {
	Organization   OrgInfo `json:"organization"`
	CreatedAt      Millis  `json:"createdAt"`
	LastModifiedAt Millis  `json:"lastModifiedAt"`
	HarnessManaged bool    `json:"harnessManaged"`
	Version        int64   `json:"-"` // from the ETag
}

// OrgInfo is an organization.
type OrgInfo struct {
	AccountIdentifier string            `json:"accountIdentifier,omitempty"`
	Identifier        string            `json:"identifier"`
	Name              string            `json:"name"`
	Description       string            `json:"description"`
	Tags              map[string]string `json:"tags,omitempty"`
}

// Project is Harness's ProjectResponse.
type Project struct {
	Project        ProjectInfo `json:"project"`
	CreatedAt      Millis      `json:"createdAt"`
	LastModifiedAt Millis      `json:"lastModifiedAt"`
	Version        int64       `json:"-"`
}

// ProjectInfo is a project.
type ProjectInfo struct {
	OrgIdentifier string            `json:"orgIdentifier"`
	Identifier    string            `json:"identifier"`
	Name          string            `json:"name"`
	Color         string            `json:"color,omitempty"`
	Modules       []string          `json:"modules,omitempty"`
	Description   string            `json:"description"`
	Tags          map[string]string `json:"tags,omitempty"`
}

// Secret types.
const (
	SecretText = "SecretText"
	SecretFile = "SecretFile"
)

// Secret is Harness's SecretResponse: metadata only, never a value.
type Secret struct {
	Secret    SecretInfo `json:"secret"`
	CreatedAt Millis     `json:"createdAt"`
	UpdatedAt Millis     `json:"updatedAt"`
	Draft     bool       `json:"draft"`
	Version   int64      `json:"-"`
}

// SecretInfo is a secret's metadata.
type SecretInfo struct {
	Type              string            `json:"type"`
	Name              string            `json:"name"`
	Identifier        string            `json:"identifier"`
	OrgIdentifier     string            `json:"orgIdentifier,omitempty"`
	ProjectIdentifier string            `json:"projectIdentifier,omitempty"`
	Tags              map[string]string `json:"tags"`
	Description       string            `json:"description"`
	Spec              SecretSpec        `json:"spec"`
}

// SecretSpec is a secret's spec as the server reports it.
type SecretSpec struct {
	SecretManagerIdentifier string `json:"secretManagerIdentifier"`
	ValueType               string `json:"valueType,omitempty"`
}

// Connector is Harness's ConnectorResponse.
type Connector struct {
	Connector      ConnectorInfo   `json:"connector"`
	CreatedAt      Millis          `json:"createdAt"`
	LastModifiedAt Millis          `json:"lastModifiedAt"`
	Status         ConnectorStatus `json:"status"`
	HarnessManaged bool            `json:"harnessManaged"`
	Version        int64           `json:"-"`
}

// ConnectorStatus is the result of the last connection test.
type ConnectorStatus struct {
	Status          string           `json:"status"`
	ErrorSummary    *string          `json:"errorSummary"`
	Errors          []ConnectorError `json:"errors"`
	TestedAt        Millis           `json:"testedAt"`
	LastTestedAt    Millis           `json:"lastTestedAt"`
	LastConnectedAt Millis           `json:"lastConnectedAt"`
}

// ConnectorError is one error of a connection test.
type ConnectorError struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Code    int    `json:"code"`
}

// ConnectorInfo is the connector document's inner object. Raw keeps it as
// the server sent it, so an export carries every field, known here or not.
type ConnectorInfo struct {
	Name              string            `json:"name"`
	Identifier        string            `json:"identifier"`
	Description       string            `json:"description,omitempty"`
	OrgIdentifier     string            `json:"orgIdentifier,omitempty"`
	ProjectIdentifier string            `json:"projectIdentifier,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
	Type              string            `json:"type"`
	Spec              json.RawMessage   `json:"spec"`
	Raw               json.RawMessage   `json:"-"`
}

// UnmarshalJSON decodes the fields and keeps the raw object.
func (c *ConnectorInfo) UnmarshalJSON(b []byte) error {
	type plain ConnectorInfo
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*c = ConnectorInfo(p)
	c.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes the raw object when there is one.
func (c ConnectorInfo) MarshalJSON() ([]byte, error) {
	if len(c.Raw) > 0 {
		return c.Raw, nil
	}
	type plain ConnectorInfo
	return json.Marshal(plain(c))
}

// Document is the connector as a document that create and update accept:
// {"connector": {...}} without the server's fields.
func (c Connector) Document() ([]byte, error) {
	return json.Marshal(struct {
		Connector ConnectorInfo `json:"connector"`
	}{c.Connector})
}

// AzureSpec is the spec of an Azure connector, as much as a listing needs.
type AzureSpec struct {
	Credential struct {
		Type string `json:"type"`
		Spec struct {
			ApplicationID string `json:"applicationId"`
			TenantID      string `json:"tenantId"`
			Auth          struct {
				Type string `json:"type"`
				Spec struct {
					SecretRef      string `json:"secretRef"`
					CertificateRef string `json:"certificateRef"`
					ClientID       string `json:"clientId"`
				} `json:"spec"`
			} `json:"auth"`
		} `json:"spec"`
	} `json:"credential"`
	DelegateSelectors    []string `json:"delegateSelectors"`
	AzureEnvironmentType string   `json:"azureEnvironmentType"`
	ExecuteOnDelegate    *bool    `json:"executeOnDelegate"`
}

// Azure decodes the spec of an Azure connector.
func (c ConnectorInfo) Azure() (AzureSpec, error) {
	var s AzureSpec
	if len(c.Spec) == 0 {
		return s, nil
	}
	err := json.Unmarshal(c.Spec, &s)
	return s, err
}

// Whoami describes the calling API key.
type Whoami struct {
	KeyID             string `json:"keyId"`
	Name              string `json:"name"`
	AccountIdentifier string `json:"accountIdentifier"`
	OrgIdentifier     string `json:"orgIdentifier,omitempty"`
	ProjectIdentifier string `json:"projectIdentifier,omitempty"`
	Role              string `json:"role"`
}

// APIKey is an API key's record (never the key itself).
type APIKey struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	AccountIdentifier string `json:"accountIdentifier"`
	OrgIdentifier     string `json:"orgIdentifier,omitempty"`
	ProjectIdentifier string `json:"projectIdentifier,omitempty"`
	Role              string `json:"role"`
	CreatedAt         Millis `json:"createdAt"`
	CreatedBy         string `json:"createdBy,omitempty"`
	RevokedAt         Millis `json:"revokedAt,omitempty"`
}

// AuditEvent is one entry of the audit trail.
type AuditEvent struct {
	Seq               int64  `json:"seq"`
	Time              Millis `json:"time"`
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

// AuditVerification is the result of walking the audit hash chain.
type AuditVerification struct {
	Events int64  `json:"events"`
	Valid  bool   `json:"valid"`
	Error  string `json:"error,omitempty"`
}

// DataKey is one data key of the secrets keyring.
type DataKey struct {
	ID      uint32 `json:"id"`
	Active  bool   `json:"active"`
	Secrets int    `json:"secrets"`
}

// Rotation is what a keyring rotation did.
type Rotation struct {
	PreviousKeyID uint32    `json:"previousKeyId"`
	ActiveKeyID   uint32    `json:"activeKeyId"`
	Reencrypted   int       `json:"reencrypted"`
	Skipped       int       `json:"skipped"`
	Keys          []DataKey `json:"keys"`
}
