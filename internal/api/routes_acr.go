package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/task"
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

// acrTagsParams reads acr.tags' parameters from the query. pageSize is
// defaulted here (ops.TagPageSize: 1000, 10,000 in the version order) and
// capped at ops.MaxTagPageSize, so no request, whatever it asks, turns one
// task output into the whole repository.
func acrTagsParams(r *http.Request) (ops.TagsParams, error) {
	q := r.URL.Query()
	limit, err1 := queryInt(r, "limit")
	size, err2 := queryInt(r, "pageSize")
	names, err3 := queryBool(r, "namesOnly")
	if err1 != nil || err2 != nil || err3 != nil {
		return ops.TagsParams{}, mergeFields(err1, err2, err3)
	}
	order := q.Get("orderBy")
	if size == 0 {
		size = ops.TagPageSize(strings.ToLower(strings.TrimSpace(order)), 0)
	}
	size = min(size, ops.MaxTagPageSize)
	return ops.TagsParams{RegistryRef: acrRegistryRef(r, ""), Repository: q.Get("repository"), OrderBy: order,
		Filter: q.Get("filter"), Limit: limit, PageSize: size, PageToken: q.Get("pageToken"), NamesOnly: names}, nil
}

// acrTagPage runs one acr.tags page. The output is decoded by TagPage's
// own decoder: encoding/json would first scan it twice (to validate it,
// then to find the value's end) before calling that decoder, which took a
// third of a 100,000-tag listing's CPU.
func (a *API) acrTagPage(r *http.Request, p access.Principal, params ops.TagsParams) (ops.TagPage, error) {
	sc, err := ownerScope(r)
	if err != nil {
		return ops.TagPage{}, err
	}
	ref := r.URL.Query().Get("connectorRef")
	if _, _, err := connectorScope(sc, ref); err != nil {
		return ops.TagPage{}, err
	}
	res, _, err := a.runConnectorTask(r.Context(), p, ConnectorTask{Owner: sc, Ref: ref, Kind: ops.KindACRTags, Params: params})
	if err != nil {
		return ops.TagPage{}, err
	}
	if res.Status != task.Succeeded {
		if res.Error != nil {
			return ops.TagPage{}, res.Error.Failure()
		}
		return ops.TagPage{}, failure.New(failure.Internal, "task %s ended %s", res.TaskID, res.Status)
	}
	var page ops.TagPage
	if err := page.UnmarshalJSON(res.Output); err != nil {
		return ops.TagPage{}, fmt.Errorf("decode %s output of task %s: %w", ops.KindACRTags, res.TaskID, err)
	}
	return page, nil
}

func (a *API) acrTags(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	params, err := acrTagsParams(r)
	if err != nil {
		return err
	}
	out, err := a.acrTagPage(r, p, params)
	if err != nil {
		return err
	}
	if wantsYAML(r) {
		ok(w, r, out)
		return nil
	}
	// The page's own encoder, without encoding/json's compaction pass.
	data, err := out.MarshalJSON()
	if err != nil {
		return err
	}
	cid, _ := json.Marshal(correlationID(r.Context()))
	b := make([]byte, 0, len(data)+96)
	b = append(b, `{"status":"SUCCESS","data":`...)
	b = append(b, data...)
	b = append(b, `,"metaData":null,"correlationId":`...)
	b = append(append(b, cid...), '}')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
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

// acrLoginCredentials issues docker login credentials: a credential
// handed out, so a use of the connector (Connectors.Use: editor, audited),
// not a read.
func (a *API) acrLoginCredentials(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := ownerScope(r)
	if err != nil {
		return err
	}
	ref := r.URL.Query().Get("connectorRef")
	if _, _, err := connectorScope(sc, ref); err != nil {
		return err
	}
	reg := acrRegistryRef(r, "")
	target := reg.LoginServer
	if target == "" {
		target = reg.Registry
	}
	use := &service.ConnectorUse{Action: "connector.acrcredentials", What: "issuing registry login credentials",
		Detail: fmt.Sprintf("docker login credentials for registry %s", target)}
	var out ops.LoginCredentials
	if _, err := a.runConnectorOp(r.Context(), p, ConnectorTask{Owner: sc, Ref: ref, Kind: ops.KindACRLoginCredentials,
		Params: ops.LoginCredentialsParams{RegistryRef: reg}, Use: use}, &out); err != nil {
		return err
	}
	ok(w, r, out)
	return nil
}

// acrBuildDetailsDTO is Harness's AcrBuildDetailsDTO (tag, buildUrl,
// labels, metadata with image, tag, registryHostname and SHA, repository:
// harness-core's AcrResourceMapper) plus the tag's digest and times, and,
// for one tag, its media type and platforms.
type acrBuildDetailsDTO struct {
	Tag            string            `json:"tag"`
	BuildURL       string            `json:"buildUrl,omitempty"`
	Metadata       map[string]string `json:"metadata"`
	Labels         map[string]string `json:"labels,omitempty"`
	Repository     string            `json:"repository"`
	Digest         string            `json:"digest,omitempty"`
	MediaType      string            `json:"mediaType,omitempty"`
	Platforms      []string          `json:"platforms,omitempty"`
	CreatedTime    *time.Time        `json:"createdTime,omitempty"`
	LastUpdateTime *time.Time        `json:"lastUpdateTime,omitempty"`
}

func acrBuildDetailsOf(login, repo, tag, digest string, created, updated time.Time) acrBuildDetailsDTO {
	d := acrBuildDetailsDTO{Tag: tag, Repository: repo, Digest: digest,
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

// appendBuildDetails writes acrBuildDetailsOf(login, repo, t...) as JSON
// without reflection or a map per tag: getBuildDetails writes one per tag,
// 100,000 for a large repository. TestACRBuildDetailsEncoding checks it
// against encoding/json.
func appendBuildDetails(b []byte, login, repo string, t ops.TagInfo) []byte {
	b = append(b, `{"tag":`...)
	b = ops.AppendJSONString(b, t.Name)
	b = append(b, `,"metadata":{"image":`...)
	b = ops.AppendJSONString(b, login+"/"+repo+":"+t.Name)
	b = append(b, `,"tag":`...)
	b = ops.AppendJSONString(b, t.Name)
	b = append(b, `,"registryHostname":`...)
	b = ops.AppendJSONString(b, login)
	if t.Digest != "" {
		b = append(b, `,"SHA":`...)
		b = ops.AppendJSONString(b, t.Digest)
	}
	b = append(b, `},"repository":`...)
	b = ops.AppendJSONString(b, repo)
	if t.Digest != "" {
		b = append(b, `,"digest":`...)
		b = ops.AppendJSONString(b, t.Digest)
	}
	if !t.CreatedTime.IsZero() {
		b = append(b, `,"createdTime":"`...)
		b = append(ops.AppendTime(b, t.CreatedTime), '"')
	}
	if !t.LastUpdateTime.IsZero() {
		b = append(b, `,"lastUpdateTime":"`...)
		b = append(ops.AppendTime(b, t.LastUpdateTime), '"')
	}
	return append(b, '}')
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
	page, err := a.acrTagPage(r, p, params)
	if err != nil {
		return err
	}
	// The first page found the registry: later pages use its login server
	// rather than resolving a name again (an ARM listing of the
	// subscription's registries per page).
	params.LoginServer, params.Registry = page.LoginServer, ""
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	buf := []byte(`{"status":"SUCCESS","data":{"buildDetailsList":[`)
	first := true
	for {
		for _, t := range page.Tags {
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = appendBuildDetails(buf, page.LoginServer, page.Repository, t)
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
		if page, err = a.acrTagPage(r, p, params); err != nil {
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
