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

	"github.com/azimuthcd/azimuth/internal/cloud"
)

// The managed identity protocols (azure-protocols §2.2, §2.3).
const (
	imdsEndpoint          = "http://169.254.169.254/metadata/identity/oauth2/token"
	imdsAPIVersion        = "2018-02-01"
	appServiceAPIVersion  = "2019-08-01"
	appServiceHeader      = "X-IDENTITY-HEADER"
	managedIdentityModule = "azimuth/managedidentity"
)

// managedIdentityCredential gets tokens from the managed identity endpoint
// of the host this process runs on: IMDS (169.254.169.254, reached through
// the transport's dial map when an override redirects it) or an App
// Service style endpoint (IDENTITY_ENDPOINT + IDENTITY_HEADER) that the
// caller names, so nothing depends on process-global environment
// variables.
//
// It is Azimuth's own rather than azidentity's ManagedIdentityCredential
// because MSAL keeps managed-identity tokens in a package-level cache
// shared by every credential of the process: a process that speaks for
// several hosts (tests, `azimuth dev`) would be handed another host's
// token. Tokens are cached per credential by tokenCache instead. It sends
// through an azcore pipeline, so retry, logging and the transport are the
// SDK's.
type managedIdentityCredential struct {
	pl       runtime.Pipeline
	endpoint string
	header   string // the App Service identity header: a secret, never logged; "" for IMDS
	clientID string // user-assigned identity; "" for system-assigned
}

var _ azcore.TokenCredential = (*managedIdentityCredential)(nil)

// newManagedIdentityCredential returns an IMDS credential when as is nil,
// else one for the App Service endpoint as names.
func newManagedIdentityCredential(as *cloud.AppServiceEndpoint, clientID string, opts azcore.ClientOptions) (*managedIdentityCredential, error) {
	c := &managedIdentityCredential{endpoint: imdsEndpoint, clientID: clientID}
	if as != nil {
		u, err := url.Parse(as.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("managed identity endpoint %q is not an http(s) URL", as.Endpoint)
		}
		if as.Header == "" {
			return nil, fmt.Errorf("managed identity endpoint %q has no identity header", as.Endpoint)
		}
		c.endpoint, c.header = as.Endpoint, as.Header
	}
	if opts.Retry.StatusCodes == nil {
		// The identity endpoints' transient answers (IMDS documentation).
		opts.Retry.StatusCodes = []int{http.StatusNotFound, http.StatusGone, http.StatusTooManyRequests,
			http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
	}
	c.pl = runtime.NewPipeline(managedIdentityModule, "v1.0.0", runtime.PipelineOptions{}, &opts)
	return c, nil
}

// host is the endpoint's host, for messages.
func (c *managedIdentityCredential) host() string { return hostOf(c.endpoint) }

// miError is a non-200 answer of a managed identity endpoint.
type miError struct {
	host    string
	status  int
	message string
}

func (e *miError) Error() string {
	return fmt.Sprintf("managed identity endpoint %s answered %d: %s", e.host, e.status, e.message)
}

// NonRetriable stops azcore's bearer policy from retrying it again.
func (*miError) NonRetriable() {}

// GetToken asks the endpoint for a token for one resource (the scope
// without "/.default").
func (c *managedIdentityCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if len(opts.Scopes) != 1 {
		return azcore.AccessToken{}, fmt.Errorf("managed identity tokens need exactly one scope, got %d", len(opts.Scopes))
	}
	resource := strings.TrimSuffix(opts.Scopes[0], "/.default")
	req, err := runtime.NewRequest(ctx, http.MethodGet, c.endpoint)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	q := req.Raw().URL.Query()
	if c.header != "" {
		q.Set("api-version", appServiceAPIVersion)
		req.Raw().Header.Set(appServiceHeader, c.header)
	} else {
		q.Set("api-version", imdsAPIVersion)
		req.Raw().Header.Set("Metadata", "true")
	}
	q.Set("resource", resource)
	if c.clientID != "" {
		q.Set("client_id", c.clientID)
	}
	req.Raw().URL.RawQuery = q.Encode()
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
		return azcore.AccessToken{}, &miError{host: req.Raw().URL.Host, status: resp.StatusCode, message: identityMessage(body)}
	}
	var tr struct {
		AccessToken string          `json:"access_token"`
		ExpiresOn   json.RawMessage `json:"expires_on"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return azcore.AccessToken{}, &miError{host: req.Raw().URL.Host, status: resp.StatusCode, message: "the answer holds no access token"}
	}
	exp, ok := unixSeconds(tr.ExpiresOn)
	if !ok {
		in, ok2 := unixSeconds(tr.ExpiresIn)
		if !ok2 {
			return azcore.AccessToken{}, &miError{host: req.Raw().URL.Host, status: resp.StatusCode, message: "the answer holds no expires_on"}
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
