package ops

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/containers/azcontainerregistry"

	"github.com/azimuthcd/azimuth/internal/azure"
)

// acrRegistry is one registry as a credential reaches it: an ACR token cache
// shared by every request of every task of the credential, the SDK's
// data-plane client for the occasional call (repositories, tag and
// manifest properties), and a pipeline of our own for tag listings.
//
// Why a pipeline of our own for listings: the SDK's tag list decoder
// (azcontainerregistry's TagList.UnmarshalJSON, a map of raw messages per
// object) takes 70% of the CPU of a 100,000-tag listing, and the SDK has
// no call for /v2/<repo>/tags/list (names only, what docker and crane
// read). The pipeline is azcore's, with the process's transport and retry
// policy (429 and 5xx retried, Retry-After honoured), so only decoding
// and the URL are ours.
type acrRegistry struct {
	login    string
	endpoint string
	auth     *acrAuth
	pipeline runtime.Pipeline
	sdk      *azcontainerregistry.Client
}

// openACR returns the credential's shared registry for login; now is the
// clock its token cache renews by.
func openACR(cred *azure.Credential, login string, now func() time.Time) (*acrRegistry, error) {
	return azure.Client(cred, "acr:"+login, func(c *azure.Credential) (*acrRegistry, error) {
		endpoint := "https://" + login
		ac, err := azcontainerregistry.NewAuthenticationClient(endpoint, &azcontainerregistry.AuthenticationClientOptions{ClientOptions: c.ClientOptions()})
		if err != nil {
			return nil, err
		}
		auth := &acrAuth{cred: c, login: login, client: ac, now: now, access: map[string]acrToken{},
			aadScope: strings.TrimSuffix(c.Cloud().Endpoints.ContainerRegistryAudience, "/") + "/.default"}
		opts := c.ClientOptions()
		pl, err := azcore.NewClient("azimuth.acr", "v1.0.0", runtime.PipelineOptions{PerRetry: []policy.Policy{auth}}, &opts)
		if err != nil {
			return nil, err
		}
		// The SDK client gets the same tokens: a request that arrives at
		// its own challenge policy with an Authorization header is sent as
		// it is.
		sdkOpts := c.ClientOptions()
		sdkOpts.PerCallPolicies = append(sdkOpts.PerCallPolicies, auth)
		sdk, err := azcontainerregistry.NewClient(endpoint, c, &azcontainerregistry.ClientOptions{ClientOptions: sdkOpts})
		if err != nil {
			return nil, err
		}
		return &acrRegistry{login: login, endpoint: endpoint, auth: auth, pipeline: pl.Pipeline(), sdk: sdk}, nil
	})
}

// tagQuery is one listing request.
type tagQuery struct {
	repo      string
	order     string // OrderTimeDesc, OrderTimeAsc or "" (name)
	last      string
	n         int
	namesOnly bool // /v2/<repo>/tags/list: names, no digests or times
}

// tags reads tags in the registry's order from q.last on, following the
// Link header from page to page, and calls fn for each until fn returns
// false or the tags run out. more reports whether tags remain after the
// last one fn saw (only meaningful when fn stopped).
func (r *acrRegistry) tags(ctx context.Context, q tagQuery, fn func(TagInfo) bool) (more bool, err error) {
	v := url.Values{}
	path := "/acr/v1/" + url.PathEscape(q.repo) + "/_tags"
	if q.namesOnly {
		path = "/v2/" + q.repo + "/tags/list"
	} else {
		v.Set("api-version", "2021-07-01")
	}
	if q.n > 0 {
		v.Set("n", strconv.Itoa(q.n))
	}
	if q.last != "" {
		v.Set("last", q.last)
	}
	if q.order == OrderTimeDesc || q.order == OrderTimeAsc {
		v.Set("orderby", q.order)
	}
	next := r.endpoint + path + "?" + v.Encode()
	for next != "" {
		req, err := runtime.NewRequest(ctx, http.MethodGet, next)
		if err != nil {
			return false, err
		}
		req.Raw().Header.Set("Accept", "application/json")
		resp, err := r.pipeline.Do(req)
		if err != nil {
			return false, err
		}
		if resp.StatusCode != http.StatusOK {
			return false, runtime.NewResponseError(resp)
		}
		next = r.nextLink(resp.Header.Get("Link"))
		page, err := decodeTagPage(resp, q.namesOnly)
		if err != nil {
			return false, err
		}
		for i, t := range page {
			if !fn(t) {
				return i < len(page)-1 || next != "", nil
			}
		}
	}
	return false, nil
}

// nextLink reads `</path?query>; rel="next"`, relative to the registry.
func (r *acrRegistry) nextLink(h string) string {
	if !strings.HasPrefix(h, "<") {
		return ""
	}
	end := strings.IndexByte(h, '>')
	if end < 0 {
		return ""
	}
	link := h[1:end]
	if strings.HasPrefix(link, "https://") {
		return link
	}
	return r.endpoint + "/" + strings.TrimPrefix(link, "/")
}

// decodeTagPage decodes a page the pipeline has already read (azcore's
// body download policy, inside the retry policy, so a body cut off is
// retried like a failed request): runtime.Payload returns those bytes
// without another copy.
func decodeTagPage(resp *http.Response, namesOnly bool) ([]TagInfo, error) {
	defer resp.Body.Close()
	b, err := runtime.Payload(resp)
	if err != nil {
		return nil, err
	}
	if len(b) > maxTagPageBytes {
		return nil, fmt.Errorf("registry %s answered a tag page larger than %d bytes", resp.Request.URL.Host, maxTagPageBytes)
	}
	tags, err := decodeACRTags(b, namesOnly)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", resp.Request.URL.Host, err)
	}
	return tags, nil
}

// maxTagPageBytes bounds one registry page (1000 tags are about 300 KB).
const maxTagPageBytes = 32 << 20

// acrToken is an ACR refresh or access token and when to stop using it.
type acrToken struct {
	value   string
	renewAt time.Time
}

// acrAuth is Docker token authentication for one registry and credential:
// Entra token → ACR refresh token (/oauth2/exchange) → one access token per
// scope (/oauth2/token), each kept until shortly before it expires (a fifth
// of its life, at most five minutes, before). The scope comes from the
// request's path, so no challenge round trip is needed; a 401 drops the
// token and the request is sent once more with a new one.
type acrAuth struct {
	cred     *azure.Credential
	login    string
	client   *azcontainerregistry.AuthenticationClient
	aadScope string
	now      func() time.Time

	mu      sync.Mutex
	refresh acrToken
	access  map[string]acrToken
}

// maxScopes bounds the access-token cache of one registry.
const maxScopes = 1024

func (a *acrAuth) Do(req *policy.Request) (*http.Response, error) {
	if req.Raw().Header.Get("Authorization") != "" {
		return req.Next()
	}
	scope := acrScope(req.Raw().URL)
	if scope == "" {
		return req.Next()
	}
	ctx := req.Raw().Context()
	tok, err := a.token(ctx, scope)
	if err != nil {
		return nil, err
	}
	req.Raw().Header.Set("Authorization", "Bearer "+tok)
	resp, err := req.Next()
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	// Revoked or expired early: once more with new tokens.
	a.forget(scope)
	if tok, err = a.token(ctx, scope); err != nil {
		return nil, err
	}
	if err := req.RewindBody(); err != nil {
		return nil, err
	}
	runtime.Drain(resp)
	req.Raw().Header.Set("Authorization", "Bearer "+tok)
	return req.Next()
}

func (a *acrAuth) forget(scope string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.access, scope)
	a.refresh = acrToken{}
}

// token returns a fresh access token for scope. Acquisitions are serialised
// per registry: the first caller fetches, the others then find it cached.
func (a *acrAuth) token(ctx context.Context, scope string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if t, ok := a.access[scope]; ok && now.Before(t.renewAt) {
		return t.value, nil
	}
	if err := a.refreshLocked(ctx, now); err != nil {
		return "", err
	}
	resp, err := a.client.ExchangeACRRefreshTokenForACRAccessToken(ctx, a.login, scope, a.refresh.value,
		&azcontainerregistry.AuthenticationClientExchangeACRRefreshTokenForACRAccessTokenOptions{GrantType: to.Ptr(azcontainerregistry.TokenGrantTypeRefreshToken)})
	if err != nil {
		return "", err
	}
	if len(a.access) >= maxScopes {
		clear(a.access)
	}
	tok := deref(resp.AccessToken)
	a.access[scope] = acrToken{value: tok, renewAt: renewAt(now, tok)}
	return tok, nil
}

// refreshLocked makes sure a.refresh is fresh: Entra token, then
// /oauth2/exchange. a.mu is held.
func (a *acrAuth) refreshLocked(ctx context.Context, now time.Time) error {
	if now.Before(a.refresh.renewAt) {
		return nil
	}
	aad, err := a.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{a.aadScope}})
	if err != nil {
		return err
	}
	resp, err := a.client.ExchangeAADAccessTokenForACRRefreshToken(ctx, azcontainerregistry.PostContentSchemaGrantTypeAccessToken, a.login,
		&azcontainerregistry.AuthenticationClientExchangeAADAccessTokenForACRRefreshTokenOptions{AccessToken: &aad.Token})
	if err != nil {
		return err
	}
	a.refresh = acrToken{value: deref(resp.RefreshToken), renewAt: renewAt(now, deref(resp.RefreshToken))}
	return nil
}

// refreshToken returns the registry's ACR refresh token (docker login's
// password), from the cache while it has a while to live.
func (a *acrAuth) refreshToken(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.refreshLocked(ctx, a.now()); err != nil {
		return "", err
	}
	return a.refresh.value, nil
}

// renewAt is when to stop using a token issued at now: a fifth of its life
// before it expires, at most five minutes before; a token whose expiry
// cannot be read is used for a minute.
func renewAt(now time.Time, tok string) time.Time {
	exp := jwtExpiry(tok)
	if exp.IsZero() {
		return now.Add(time.Minute)
	}
	margin := min(5*time.Minute, exp.Sub(now)/5)
	return exp.Add(-margin)
}

// acrScope is the token scope a data-plane request needs, from its path.
func acrScope(u *url.URL) string {
	p := u.EscapedPath()
	switch {
	case p == "/acr/v1/_catalog" || p == "/v2/_catalog":
		return "registry:catalog:*"
	case strings.HasPrefix(p, "/acr/v1/"):
		rest := strings.TrimPrefix(p, "/acr/v1/")
		for _, sep := range []string{"/_tags", "/_manifests"} {
			if i := strings.Index(rest, sep); i >= 0 {
				rest = rest[:i]
				break
			}
		}
		return repoScope(rest, "metadata_read")
	case strings.HasPrefix(p, "/v2/"):
		rest := strings.TrimPrefix(p, "/v2/")
		for _, sep := range []string{"/tags/list", "/manifests/", "/blobs/"} {
			if i := strings.LastIndex(rest, sep); i >= 0 {
				return repoScope(rest[:i], "pull")
			}
		}
	}
	return ""
}

func repoScope(escaped, action string) string {
	repo, err := url.PathUnescape(escaped)
	if err != nil || repo == "" {
		return ""
	}
	return "repository:" + repo + ":" + action
}
