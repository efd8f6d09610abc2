package azure

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// appServiceAPIVersion is the App Service managed identity protocol's
// version (azure-protocols §2.3).
const appServiceAPIVersion = "2019-08-01"

// appServiceCredential gets managed-identity tokens from an App Service
// style endpoint (IDENTITY_ENDPOINT + IDENTITY_HEADER) given by the
// server-level override, so the process does not have to set those
// process-global environment variables for azidentity to find them. It
// sends through an azcore pipeline, so retry, logging and the transport
// are the SDK's.
type appServiceCredential struct {
	pl       runtime.Pipeline
	endpoint string
	header   string // the identity header: a secret, never logged
	clientID string // user-assigned identity; "" for system-assigned
}

var _ azcore.TokenCredential = (*appServiceCredential)(nil)

func newAppServiceCredential(endpoint, header, clientID string, opts azcore.ClientOptions) (*appServiceCredential, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("managed identity endpoint %q is not an http(s) URL", endpoint)
	}
	if opts.Retry.StatusCodes == nil {
		// As for IMDS: the identity endpoint's transient answers.
		opts.Retry.StatusCodes = []int{http.StatusNotFound, http.StatusGone, http.StatusTooManyRequests,
			http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
	}
	pl := runtime.NewPipeline("azimuth/managedidentity", "v1.0.0", runtime.PipelineOptions{}, &opts)
	return &appServiceCredential{pl: pl, endpoint: endpoint, header: header, clientID: clientID}, nil
}

// appServiceError is a non-200 answer of the identity endpoint.
type appServiceError struct {
	host    string
	status  int
	message string
}

func (e *appServiceError) Error() string {
	return fmt.Sprintf("managed identity endpoint %s answered %d: %s", e.host, e.status, e.message)
}

// NonRetriable stops azcore's bearer policy from retrying it again.
func (*appServiceError) NonRetriable() {}

// GetToken asks the endpoint for a token for one resource.
func (c *appServiceCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if len(opts.Scopes) != 1 {
		return azcore.AccessToken{}, fmt.Errorf("managed identity tokens need exactly one scope, got %d", len(opts.Scopes))
	}
	resource := strings.TrimSuffix(opts.Scopes[0], "/.default")
	req, err := runtime.NewRequest(ctx, http.MethodGet, c.endpoint)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", appServiceAPIVersion)
	q.Set("resource", resource)
	if c.clientID != "" {
		q.Set("client_id", c.clientID)
	}
	req.Raw().URL.RawQuery = q.Encode()
	req.Raw().Header.Set("X-IDENTITY-HEADER", c.header)
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := c.pl.Do(req)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	body, err := runtime.Payload(resp)
	if err != nil {
		return azcore.AccessToken{}, fmt.Errorf("read managed identity token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return azcore.AccessToken{}, &appServiceError{host: req.Raw().URL.Host, status: resp.StatusCode, message: identityMessage(body)}
	}
	var tr struct {
		AccessToken string          `json:"access_token"`
		ExpiresOn   json.RawMessage `json:"expires_on"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return azcore.AccessToken{}, &appServiceError{host: req.Raw().URL.Host, status: resp.StatusCode, message: "the answer holds no access token"}
	}
	exp, ok := unixSeconds(tr.ExpiresOn)
	if !ok {
		in, ok2 := unixSeconds(tr.ExpiresIn)
		if !ok2 {
			return azcore.AccessToken{}, &appServiceError{host: req.Raw().URL.Host, status: resp.StatusCode, message: "the answer holds no expires_on"}
		}
		exp = time.Now().Unix() + in
	}
	return azcore.AccessToken{Token: tr.AccessToken, ExpiresOn: time.Unix(exp, 0).UTC()}, nil
}

// unixSeconds reads a JSON number or numeric string.
func unixSeconds(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	s := strings.Trim(string(raw), `"`)
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 {
		return int64(f), true
	}
	return 0, false
}

// identityMessage extracts the message of an identity endpoint's error
// body (App Service: {"message"}; IMDS-like: {"error_description"}).
func identityMessage(body []byte) string {
	var m struct {
		Message     string `json:"message"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &m) == nil {
		if m.Message != "" {
			return m.Message
		}
		if m.Description != "" {
			return m.Description
		}
	}
	return strings.TrimSpace(string(body))
}
