package client

import (
	"context"
	"net/http"
)

// ValidationResult is the connection test's result: Harness's
// ConnectorValidationResult plus Azimuth's fields.
type ValidationResult struct {
	Status       string        `json:"status"`
	Errors       []ErrorDetail `json:"errors"`
	ErrorSummary *string       `json:"errorSummary"`
	TestedAt     Millis        `json:"testedAt"`
	DelegateID   *string       `json:"delegateId"`
	TaskID       string        `json:"taskId"`

	Reason         string              `json:"reason,omitempty"`
	Hint           string              `json:"hint,omitempty"`
	Warnings       []ValidationWarning `json:"warnings,omitempty"`
	Identity       *ValidationIdentity `json:"identity,omitempty"`
	Subscriptions  *ValidationSubs     `json:"subscriptions,omitempty"`
	Cloud          string              `json:"cloud"`
	CredentialType string              `json:"credentialType,omitempty"`
	Certificate    *ValidationCert     `json:"certificate,omitempty"`
	DurationMillis int64               `json:"durationMs"`
}

// ErrorDetail is Harness's ErrorDetail.
type ErrorDetail struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Code    int    `json:"code"`
}

// ValidationWarning is something that works now but will not for long.
type ValidationWarning struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// ValidationIdentity is who Azure saw.
type ValidationIdentity struct {
	TenantID      string `json:"tenantId"`
	ObjectID      string `json:"objectId"`
	ApplicationID string `json:"applicationId"`
}

// ValidationSubs are the subscriptions the identity can see.
type ValidationSubs struct {
	Count int `json:"count"`
	Items []struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		State       string `json:"state,omitempty"`
	} `json:"items"`
	Truncated bool `json:"truncated,omitempty"`
}

// ValidationCert describes the connector's certificate.
type ValidationCert struct {
	Subject    string `json:"subject"`
	Thumbprint string `json:"thumbprint"`
	NotBefore  string `json:"notBefore"`
	NotAfter   string `json:"notAfter"`
	Format     string `json:"format,omitempty"`
}

// TestConnector runs a connector's connection test (Harness's
// testConnection). A test that ran and failed is a result with status
// FAILURE, not an error. params, when not nil, is sent as the test's
// parameters.
func (c *Client) TestConnector(ctx context.Context, sc Scope, id string, params any) (ValidationResult, error) {
	var out ValidationResult
	_, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/ng/api/connectors/testConnection/" + pathEscape(id), Query: c.query(sc), JSON: params}, &out)
	return out, err
}
