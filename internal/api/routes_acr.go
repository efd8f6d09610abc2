package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/ops"
)

// acrRoutes are ACR artifacts: Harness's /ng/api/artifacts/acr endpoints
// (without the 500-tag cap and the Reader requirement), Azimuth's paged tag
// listing, tag details and docker login credentials, and Harness's
// /ng/api/azure helpers.
func (a *API) acrRoutes() []Route {
	h := func(method, path, summary string, fn Handler) Route {
		return Route{Method: method, Path: path, Summary: summary, handle: fn}
	}
	return append(a.azureHelperRoutes(),
		// Harness NG: ACR artifacts.
		h(http.MethodGet, "/ng/api/artifacts/acr/subscriptions", "List the subscriptions a connector sees (ACR artifact form)", a.azureSubscriptions),
		h(http.MethodGet, "/ng/api/artifacts/acr/container-registries", "List the container registries of a subscription", a.acrRegistries),
		h(http.MethodGet, "/ng/api/artifacts/acr/container-registries/{registry}/repositories", "List the repositories of a registry", a.acrRepositories),
		h(http.MethodGet, "/ng/api/artifacts/acr/getBuildDetails", "List every tag of a repository, newest first (streamed)", a.acrBuildDetails),
		h(http.MethodPost, "/ng/api/artifacts/acr/getLastSuccessfulBuild", "Check a tag, or find the newest tag matching a regex", a.acrLastSuccessfulBuild),

		// Azimuth: paged tags, tag details, docker login credentials.
		h(http.MethodGet, "/ng/api/azimuth/acr/tags", "List one page of a repository's tags", a.acrTags),
		h(http.MethodGet, "/ng/api/azimuth/acr/tag", "Describe one tag: digest, media type, platforms, times", a.acrTag),
		h(http.MethodPost, "/ng/api/azimuth/acr/login-credentials", "Issue docker login credentials for a registry", a.acrLoginCredentials),
	)
}

// acrRegistryRef reads the registry from subscriptionId, resourceGroup,
// registry (a name or a login server) and loginServer.
func acrRegistryRef(r *http.Request, registry string) ops.RegistryRef {
	q := r.URL.Query()
	if registry == "" {
		registry = q.Get("registry")
	}
	return ops.RegistryRef{SubscriptionID: q.Get("subscriptionId"), ResourceGroup: q.Get("resourceGroup"), Registry: registry, LoginServer: q.Get("loginServer")}
}

// acrRegistryDTO is Harness's AcrRegistryDTO, plus what Azure says of it.
type acrRegistryDTO struct {
	Registry      string `json:"registry"`
	LoginServer   string `json:"loginServer,omitempty"`
	ResourceGroup string `json:"resourceGroup,omitempty"`
	Location      string `json:"location,omitempty"`
	SKU           string `json:"sku,omitempty"`
}

type acrRepositoryDTO struct {
	Repository string `json:"repository"`
}

func (a *API) acrRegistries(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	q := r.URL.Query()
	var out ops.Registries
	if err := a.queryConnectorOp(r, p, ops.KindACRRegistries, ops.RegistriesParams{SubscriptionID: q.Get("subscriptionId"), ResourceGroup: q.Get("resourceGroup")}, &out); err != nil {
		return err
	}
	regs := make([]acrRegistryDTO, 0, len(out.Registries))
	for _, g := range out.Registries {
		regs = append(regs, acrRegistryDTO{Registry: g.Name, LoginServer: g.LoginServer, ResourceGroup: g.ResourceGroup, Location: g.Location, SKU: g.SKU})
	}
	ok(w, r, map[string]any{"registries": regs})
	return nil
}

func (a *API) acrRepositories(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var out ops.Repositories
	if err := a.queryConnectorOp(r, p, ops.KindACRRepositories, ops.RepositoriesParams{RegistryRef: acrRegistryRef(r, r.PathValue("registry"))}, &out); err != nil {
		return err
	}
	repos := make([]acrRepositoryDTO, 0, len(out.Repositories))
	for _, n := range out.Repositories {
		repos = append(repos, acrRepositoryDTO{Repository: n})
	}
	ok(w, r, map[string]any{"loginServer": out.LoginServer, "repositories": repos})
	return nil
}

// acrTagsParams reads acr.tags' parameters from the query.
func acrTagsParams(r *http.Request) (ops.TagsParams, error) {
	q := r.URL.Query()
	limit, err1 := queryInt(r, "limit")
	size, err2 := queryInt(r, "pageSize")
	names, err3 := queryBool(r, "namesOnly")
	if err1 != nil || err2 != nil || err3 != nil {
		return ops.TagsParams{}, mergeFields(err1, err2, err3)
	}
	return ops.TagsParams{RegistryRef: acrRegistryRef(r, ""), Repository: q.Get("repository"), OrderBy: q.Get("orderBy"),
		Filter: q.Get("filter"), Limit: limit, PageSize: size, PageToken: q.Get("pageToken"), NamesOnly: names}, nil
}

func (a *API) acrTags(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	params, err := acrTagsParams(r)
	if err != nil {
		return err
	}
	var out ops.TagPage
	if err := a.queryConnectorOp(r, p, ops.KindACRTags, params, &out); err != nil {
		return err
	}
	ok(w, r, out)
	return nil
}

func (a *API) acrTag(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	q := r.URL.Query()
	var out ops.TagDetails
	if err := a.queryConnectorOp(r, p, ops.KindACRTag, ops.TagParams{RegistryRef: acrRegistryRef(r, ""), Repository: q.Get("repository"), Tag: q.Get("tag")}, &out); err != nil {
		return err
	}
	ok(w, r, out)
	return nil
}

func (a *API) acrLoginCredentials(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var out ops.LoginCredentials
	if err := a.queryConnectorOp(r, p, ops.KindACRLoginCredentials, ops.LoginCredentialsParams{RegistryRef: acrRegistryRef(r, "")}, &out); err != nil {
		return err
	}
	ok(w, r, out)
	return nil
}

// acrBuildDetailsDTO is Harness's AcrBuildDetailsDTO (tag, buildUrl,
// metadata with image, tag, registryHostname and SHA, labels, imagePath)
// plus the tag's digest and times.
type acrBuildDetailsDTO struct {
	Tag            string            `json:"tag"`
	BuildURL       string            `json:"buildUrl,omitempty"`
	Metadata       map[string]string `json:"metadata"`
	Labels         map[string]string `json:"labels,omitempty"`
	ImagePath      string            `json:"imagePath"`
	Digest         string            `json:"digest,omitempty"`
	MediaType      string            `json:"mediaType,omitempty"`
	Platforms      []string          `json:"platforms,omitempty"`
	CreatedTime    *time.Time        `json:"createdTime,omitempty"`
	LastUpdateTime *time.Time        `json:"lastUpdateTime,omitempty"`
}

func acrBuildDetailsOf(login, repo, tag, digest string, created, updated time.Time) acrBuildDetailsDTO {
	d := acrBuildDetailsDTO{Tag: tag, ImagePath: repo, Digest: digest,
		Metadata: map[string]string{"image": login + "/" + repo + ":" + tag, "tag": tag, "registryHostname": login}}
	if digest != "" {
		d.Metadata["SHA"] = digest
	}
	if !created.IsZero() {
		d.CreatedTime = &created
	}
	if !updated.IsZero() {
		d.LastUpdateTime = &updated
	}
	return d
}

// acrBuildDetails is Harness's getBuildDetails without its cap: every tag,
// newest first (orderBy and filter as in /ng/api/azimuth/acr/tags), read
// page by page and written as each page arrives, so neither the server nor
// a delegate holds the repository in memory. A failure before the first
// byte is an ordinary error response; a failure later cuts the response
// off, so a client never mistakes a partial list for a whole one.
func (a *API) acrBuildDetails(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	params, err := acrTagsParams(r)
	if err != nil {
		return err
	}
	var page ops.TagPage
	if err := a.queryConnectorOp(r, p, ops.KindACRTags, params, &page); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	buf := []byte(`{"status":"SUCCESS","data":{"buildDetailsList":[`)
	first := true
	for {
		for _, t := range page.Tags {
			b, err := json.Marshal(acrBuildDetailsOf(page.LoginServer, page.Repository, t.Name, t.Digest, t.CreatedTime, t.LastUpdateTime))
			if err != nil {
				panic(http.ErrAbortHandler)
			}
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = append(buf, b...)
			if len(buf) >= 64<<10 {
				if _, err := w.Write(buf); err != nil {
					return nil
				}
				buf = buf[:0]
			}
		}
		if _, err := w.Write(buf); err != nil {
			return nil
		}
		buf = buf[:0]
		_ = rc.Flush()
		if page.NextPageToken == "" {
			break
		}
		params.PageToken = page.NextPageToken
		page = ops.TagPage{}
		if err := a.queryConnectorOp(r, p, ops.KindACRTags, params, &page); err != nil {
			a.log.Warn("tag listing cut off", "correlationId", correlationID(r.Context()), "err", err)
			panic(http.ErrAbortHandler)
		}
	}
	cid, _ := json.Marshal(correlationID(r.Context()))
	_, _ = w.Write([]byte(`]},"metaData":null,"correlationId":` + string(cid) + `}`))
	return nil
}

// acrRequestDTO is Harness's AcrRequestDTO.
type acrRequestDTO struct {
	Tag      string   `json:"tag"`
	TagRegex string   `json:"tagRegex"`
	TagsList []string `json:"tagsList"`
}

// acrLastSuccessfulBuild is Harness's getLastSuccessfulBuild: the tag
// given, or the newest tag (by push time) matching tagRegex.
func (a *API) acrLastSuccessfulBuild(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var body acrRequestDTO
	if raw, err := readBody(r); err != nil {
		return err
	} else if len(strings.TrimSpace(string(raw))) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			return failure.InvalidField("body", "must be an AcrRequestDTO ({\"tag\": ..., \"tagRegex\": ...}): %v", err)
		}
	}
	q := r.URL.Query()
	if body.Tag == "" && body.TagRegex == "" {
		body.Tag, body.TagRegex = q.Get("tag"), q.Get("tagRegex")
	}
	var d ops.TagDetails
	if err := a.queryConnectorOp(r, p, ops.KindACRLatestTag, ops.LatestTagParams{RegistryRef: acrRegistryRef(r, ""), Repository: q.Get("repository"),
		Tag: body.Tag, TagRegex: body.TagRegex}, &d); err != nil {
		return err
	}
	out := acrBuildDetailsOf(d.LoginServer, d.Repository, d.Tag, d.Digest, d.CreatedTime, d.LastUpdateTime)
	out.MediaType, out.Platforms = d.MediaType, d.Platforms
	if d.Size > 0 {
		out.Metadata["size"] = strconv.FormatInt(d.Size, 10)
	}
	ok(w, r, out)
	return nil
}
