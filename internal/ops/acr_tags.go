package ops

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/containers/azcontainerregistry"

	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/failure"
)

// Page sizes of acr.tags.
const (
	// DefaultTagPageSize is the tags one acr.tags task returns by default
	// in the time and name orders.
	DefaultTagPageSize = 1000
	// MaxTagPageSize bounds one task's output (and its memory). It is
	// also the version order's default page: each page of that order
	// reads the whole repository, so fewer, larger pages cost less.
	MaxTagPageSize = 10000
	// acrPageMax is what one registry request asks for: ACR's largest page.
	acrPageMax = 1000
)

// maxRegex bounds a tag filter or tagRegex (RE2 runs in linear time;
// this bounds its compilation).
const maxRegex = 1024

// NullUsername is the user name docker login takes with an ACR refresh
// token as password.
const NullUsername = "00000000-0000-0000-0000-000000000000"

// RepositoriesParams are acr.repositories' parameters.
type RepositoriesParams struct {
	RegistryRef
}

// Repositories is acr.repositories' output: every repository, in name order.
type Repositories struct {
	LoginServer  string   `json:"loginServer"`
	Repositories []string `json:"repositories"`
}

// TagsParams are acr.tags' parameters. One task returns one page of at most
// PageSize tags and a NextPageToken to continue from; a caller that wants
// every tag follows the tokens. Memory and output stay bounded by the page
// in every order: the time and name orders read the registry page by page
// from the token's cursor; the version order reads the whole repository
// for each page but keeps only the page's tags (the highest ones below
// the cursor).
type TagsParams struct {
	RegistryRef
	Repository string `json:"repository"`
	// OrderBy is timedesc (default: newest first), timeasc, name, or
	// version (highest first, Harness's alphanumeric order).
	OrderBy string `json:"orderBy,omitempty"`
	// Filter is a regular expression (RE2) a tag name must match.
	Filter string `json:"filter,omitempty"`
	// Limit caps the tags returned over all pages; 0 means all.
	Limit int `json:"limit,omitempty"`
	// PageSize caps this page: at most 10,000; 0 means the default,
	// 1000 (10,000 in the version order, see MaxTagPageSize).
	PageSize int `json:"pageSize,omitempty"`
	// PageToken is the previous page's NextPageToken.
	PageToken string `json:"pageToken,omitempty"`
	// NamesOnly lists names without digests and times, from
	// /v2/<repo>/tags/list (what docker and crane read): cheaper for the
	// registry and the wire.
	NamesOnly bool `json:"namesOnly,omitempty"`
}

// TagPage is acr.tags' output.
type TagPage struct {
	LoginServer string    `json:"loginServer"`
	Repository  string    `json:"repository"`
	OrderBy     string    `json:"orderBy"`
	Tags        []TagInfo `json:"tags"`
	// NextPageToken continues the listing; empty on the last page.
	NextPageToken string `json:"nextPageToken,omitempty"`
	// Scanned is how many tags this page read from the registry (more
	// than len(Tags) with a filter).
	Scanned int `json:"scanned"`
}

// TagInfo is one tag in a listing.
type TagInfo struct {
	Name           string    `json:"name"`
	Digest         string    `json:"digest,omitempty"`
	CreatedTime    time.Time `json:"createdTime,omitzero"`
	LastUpdateTime time.Time `json:"lastUpdateTime,omitzero"`
}

// TagPageSize is the page size acr.tags uses for a requested size in an
// order: size itself, or the order's default when size is 0.
func TagPageSize(order string, size int) int {
	switch {
	case size != 0:
		return size
	case order == OrderVersion:
		return MaxTagPageSize
	}
	return DefaultTagPageSize
}

// pageToken is the state a NextPageToken carries: the order it belongs to,
// the last tag returned (in the time and name orders the registry's own
// cursor, in the version order the tag the next page starts below) and
// how many tags earlier pages returned (for Limit).
type pageToken struct {
	Order    string `json:"o"`
	Last     string `json:"l,omitempty"`
	Returned int    `json:"n,omitempty"`
}

func (t pageToken) encode() string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(s string) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || json.Unmarshal(b, &t) != nil || t.Returned < 0 {
		return t, failure.InvalidField("pageToken", "is not a token this server gave out: pass the nextPageToken of the previous page unchanged")
	}
	return t, nil
}

// ListRepositories lists every repository of a registry through its data
// plane (scope registry:catalog:*), following every page.
func ListRepositories(ctx context.Context, env *Env, in Input) (any, error) {
	var p RepositoriesParams
	if err := decodeParams(in.Params, &p); err != nil {
		return nil, err
	}
	cred, t, r, err := openRegistry(ctx, env, in, p.RegistryRef)
	if err != nil {
		return nil, err
	}
	out := &Repositories{LoginServer: t.LoginServer, Repositories: []string{}}
	pager := r.sdk.NewListRepositoriesPager(&azcontainerregistry.ClientListRepositoriesOptions{MaxNum: to.Ptr(int32(acrPageMax))})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, acrError(cred, t, err, "list its repositories", "", "")
		}
		for _, r := range page.Names {
			if r != nil {
				out.Repositories = append(out.Repositories, *r)
			}
		}
	}
	logf(in.Log, "%d repositor(y/ies) in %s", len(out.Repositories), t.LoginServer)
	return out, nil
}

// ListTags returns one page of a repository's tags: a TagPage, as JSON.
func ListTags(ctx context.Context, env *Env, in Input) (any, error) {
	var p TagsParams
	if err := decodeParams(in.Params, &p); err != nil {
		return nil, err
	}
	var fs failure.Fields
	p.Repository = strings.Trim(strings.TrimSpace(p.Repository), "/")
	checkRepository(&fs, p.Repository)
	order, ok := parseOrder(p.OrderBy)
	if !ok {
		fs.Add("orderBy", "must be timedesc, timeasc, name or version, got %q", p.OrderBy)
	}
	var re *regexp.Regexp
	if len(p.Filter) > maxRegex {
		fs.Add("filter", "is longer than %d characters", maxRegex)
	} else if p.Filter != "" {
		var err error
		if re, err = regexp.Compile(p.Filter); err != nil {
			fs.Add("filter", "is not a valid regular expression: %v", err)
		}
	}
	if p.Limit < 0 {
		fs.Add("limit", "must be 0 (all) or more")
	}
	if p.PageSize < 0 || p.PageSize > MaxTagPageSize {
		fs.Add("pageSize", "must be between 1 and %d", MaxTagPageSize)
	}
	var tok pageToken
	if p.PageToken != "" {
		var err error
		if tok, err = decodePageToken(p.PageToken); err != nil {
			return nil, err
		}
		if tok.Order != order {
			fs.Add("pageToken", "belongs to a listing in %s order, not %s", tok.Order, order)
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	cred, t, r, err := openRegistry(ctx, env, in, p.RegistryRef)
	if err != nil {
		return nil, err
	}
	out := &TagPage{LoginServer: t.LoginServer, Repository: p.Repository, OrderBy: order, Tags: []TagInfo{}}
	p.PageSize = TagPageSize(order, p.PageSize)
	if order == OrderVersion {
		err = versionPage(ctx, r, p, re, tok, out)
	} else {
		err = streamPage(ctx, r, p, order, re, tok, out)
	}
	if err != nil {
		return nil, acrError(cred, t, err, "list the tags of "+p.Repository, p.Repository, "")
	}
	logf(in.Log, "%s/%s: %d tag(s) (%d read), order %s, more: %t", t.LoginServer, p.Repository, len(out.Tags), out.Scanned, order, out.NextPageToken != "")
	// Encoded here, without reflection: the engine passes raw JSON on.
	b, err := out.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return json.RawMessage(b), nil
}

// streamPage reads tags in the registry's own order (time or name) from
// the token's cursor until the page is full.
func streamPage(ctx context.Context, r *acrRegistry, p TagsParams, order string, re *regexp.Regexp, tok pageToken, out *TagPage) error {
	need := p.PageSize
	if p.Limit > 0 {
		need = min(need, p.Limit-tok.Returned)
	}
	if need <= 0 {
		return nil
	}
	n := acrPageMax
	if re == nil {
		n = min(n, need)
	}
	q := tagQuery{repo: p.Repository, last: tok.Last, n: n, namesOnly: p.NamesOnly}
	if order != OrderName {
		q.order = order
	}
	out.Tags = make([]TagInfo, 0, min(need, MaxTagPageSize))
	last := tok.Last
	more, err := r.tags(ctx, q, func(t TagInfo) bool {
		last = t.Name
		out.Scanned++
		if re != nil && !re.MatchString(t.Name) {
			return true
		}
		out.Tags = append(out.Tags, t)
		return len(out.Tags) < need
	})
	if err != nil {
		return err
	}
	returned := tok.Returned + len(out.Tags)
	if more && (p.Limit == 0 || returned < p.Limit) {
		out.NextPageToken = pageToken{Order: order, Last: last, Returned: returned}.encode()
	}
	return nil
}

// versionPage reads every tag and keeps the page's: the PageSize highest
// versions below the token's cursor (all of them for the first page), in
// a bounded min-heap, so memory is the page's whatever the repository's
// size. compareAlphanum is a total order, so the cursor is exact: no tag
// is repeated or skipped between pages.
func versionPage(ctx context.Context, r *acrRegistry, p TagsParams, re *regexp.Regexp, tok pageToken, out *TagPage) error {
	need := p.PageSize
	if p.Limit > 0 {
		need = min(need, p.Limit-tok.Returned)
	}
	if need <= 0 {
		return nil
	}
	top := make(tagHeap, 0, min(need, MaxTagPageSize))
	below := 0 // tags below the cursor that pass the filter
	_, err := r.tags(ctx, tagQuery{repo: p.Repository, n: acrPageMax, namesOnly: p.NamesOnly}, func(t TagInfo) bool {
		out.Scanned++
		if re != nil && !re.MatchString(t.Name) {
			return true
		}
		if tok.Last != "" && compareAlphanum(t.Name, tok.Last) >= 0 {
			return true
		}
		below++
		switch {
		case len(top) < need:
			top.push(t)
		case compareAlphanum(t.Name, top[0].Name) > 0:
			top[0] = t
			top.down(0)
		}
		return true
	})
	if err != nil {
		return err
	}
	slices.SortFunc(top, func(a, b TagInfo) int { return -compareAlphanum(a.Name, b.Name) })
	out.Tags = append(out.Tags, top...)
	returned := tok.Returned + len(out.Tags)
	if below > len(out.Tags) && (p.Limit == 0 || returned < p.Limit) {
		out.NextPageToken = pageToken{Order: OrderVersion, Last: out.Tags[len(out.Tags)-1].Name, Returned: returned}.encode()
	}
	return nil
}

// tagHeap is a min-heap of tags by version: its root is the lowest tag
// kept, the one a higher tag replaces.
type tagHeap []TagInfo

func (h *tagHeap) push(t TagInfo) {
	*h = append(*h, t)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if compareAlphanum(s[i].Name, s[parent].Name) >= 0 {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

func (h tagHeap) down(i int) {
	for {
		l, smallest := 2*i+1, i
		if l < len(h) && compareAlphanum(h[l].Name, h[smallest].Name) < 0 {
			smallest = l
		}
		if r := l + 1; r < len(h) && compareAlphanum(h[r].Name, h[smallest].Name) < 0 {
			smallest = r
		}
		if smallest == i {
			return
		}
		h[i], h[smallest] = h[smallest], h[i]
		i = smallest
	}
}

func tagInfo(tg *azcontainerregistry.TagAttributes) TagInfo {
	t := TagInfo{Name: deref(tg.Name), Digest: deref(tg.Digest)}
	if tg.CreatedOn != nil {
		t.CreatedTime = tg.CreatedOn.UTC()
	}
	if tg.LastUpdatedOn != nil {
		t.LastUpdateTime = tg.LastUpdatedOn.UTC()
	}
	return t
}

// TagParams are acr.tag's parameters.
type TagParams struct {
	RegistryRef
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
}

// TagDetails is one tag with its manifest: acr.tag's and acr.latesttag's
// output.
type TagDetails struct {
	LoginServer    string    `json:"loginServer"`
	Repository     string    `json:"repository"`
	Tag            string    `json:"tag"`
	Digest         string    `json:"digest"`
	MediaType      string    `json:"mediaType,omitempty"`
	Size           int64     `json:"size,omitempty"`
	Platforms      []string  `json:"platforms,omitempty"`
	CreatedTime    time.Time `json:"createdTime,omitzero"`
	LastUpdateTime time.Time `json:"lastUpdateTime,omitzero"`
	// Image is <loginServer>/<repository>:<tag>; ImageByDigest pins it.
	Image         string `json:"image"`
	ImageByDigest string `json:"imageByDigest,omitempty"`
}

// GetTag describes one tag: its digest and times, and its manifest's
// media type, size and platforms.
func GetTag(ctx context.Context, env *Env, in Input) (any, error) {
	var p TagParams
	if err := decodeParams(in.Params, &p); err != nil {
		return nil, err
	}
	var fs failure.Fields
	p.Repository, p.Tag = strings.Trim(strings.TrimSpace(p.Repository), "/"), strings.TrimSpace(p.Tag)
	checkRepository(&fs, p.Repository)
	if !tagRE.MatchString(p.Tag) {
		fs.Add("tag", "%q is not a tag (up to 128 letters, digits, _ . -, not starting with . or -)", p.Tag)
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	cred, t, r, err := openRegistry(ctx, env, in, p.RegistryRef)
	if err != nil {
		return nil, err
	}
	d, err := tagDetails(ctx, cred, t, r, p.Repository, p.Tag)
	if err != nil {
		return nil, err
	}
	logf(in.Log, "%s: %s (%s)", d.Image, d.Digest, d.MediaType)
	return d, nil
}

func tagDetails(ctx context.Context, cred *azure.Credential, t *registryTarget, r *acrRegistry, repo, tag string) (*TagDetails, error) {
	client := r.sdk
	what := fmt.Sprintf("read tag %s of %s", tag, repo)
	tp, err := client.GetTagProperties(ctx, repo, tag, nil)
	if err != nil {
		return nil, acrError(cred, t, err, what, repo, tag)
	}
	d := &TagDetails{LoginServer: t.LoginServer, Repository: repo, Tag: tag, Image: t.LoginServer + "/" + repo + ":" + tag}
	if tp.Tag != nil {
		ti := tagInfo(tp.Tag)
		d.Digest, d.CreatedTime, d.LastUpdateTime = ti.Digest, ti.CreatedTime, ti.LastUpdateTime
	}
	if d.Digest == "" {
		return d, nil
	}
	d.ImageByDigest = t.LoginServer + "/" + repo + "@" + d.Digest
	mp, err := client.GetManifestProperties(ctx, repo, d.Digest, nil)
	if err != nil {
		return nil, acrError(cred, t, err, what, repo, tag)
	}
	if m := mp.Manifest; m != nil {
		d.MediaType = deref(m.MediaType)
		if m.Size != nil {
			d.Size = *m.Size
		}
		if m.Architecture != nil || m.OperatingSystem != nil {
			d.Platforms = append(d.Platforms, platformOf(m.OperatingSystem, m.Architecture))
		}
		for _, r := range m.RelatedArtifacts {
			if r != nil && (r.Architecture != nil || r.OperatingSystem != nil) {
				d.Platforms = append(d.Platforms, platformOf(r.OperatingSystem, r.Architecture))
			}
		}
	}
	return d, nil
}

func platformOf(os *azcontainerregistry.ArtifactOperatingSystem, arch *azcontainerregistry.ArtifactArchitecture) string {
	var o, a string
	if os != nil {
		o = string(*os)
	}
	if arch != nil {
		a = string(*arch)
	}
	return o + "/" + a
}

// LatestTagParams are acr.latesttag's parameters: Tag checks one tag;
// TagRegex finds the most recently pushed tag matching it.
type LatestTagParams struct {
	RegistryRef
	Repository string `json:"repository"`
	Tag        string `json:"tag,omitempty"`
	TagRegex   string `json:"tagRegex,omitempty"`
}

// LatestTag is Harness's last successful build, by push time rather than
// by the alphanumeric order of the newest 500: the newest tag whose name
// matches TagRegex, read newest first until the first match.
func LatestTag(ctx context.Context, env *Env, in Input) (any, error) {
	var p LatestTagParams
	if err := decodeParams(in.Params, &p); err != nil {
		return nil, err
	}
	p.Repository, p.Tag = strings.Trim(strings.TrimSpace(p.Repository), "/"), strings.TrimSpace(p.Tag)
	var fs failure.Fields
	checkRepository(&fs, p.Repository)
	if p.Tag != "" && !tagRE.MatchString(p.Tag) {
		fs.Add("tag", "%q is not a tag", p.Tag)
	}
	if p.Tag == "" && p.TagRegex == "" {
		fs.Add("tagRegex", "give a tag or a tagRegex")
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	var re *regexp.Regexp
	if p.Tag == "" {
		var err error
		if len(p.TagRegex) > maxRegex {
			err = fmt.Errorf("longer than %d characters", maxRegex)
		} else {
			re, err = regexp.Compile(p.TagRegex)
		}
		if err != nil {
			return nil, &failure.Error{Kind: failure.Invalid, Code: "InvalidTagRegex",
				Message: fmt.Sprintf("TagRegex field contains an invalid regex value '%s'.", p.TagRegex),
				Hint:    "Please check tagRegex field in ACR artifact configuration.",
				Fields:  []failure.FieldError{{Field: "tagRegex", Message: err.Error()}}}
		}
	}
	cred, t, r, err := openRegistry(ctx, env, in, p.RegistryRef)
	if err != nil {
		return nil, err
	}
	tag := p.Tag
	if re != nil {
		scanned := 0
		_, err := r.tags(ctx, tagQuery{repo: p.Repository, order: OrderTimeDesc, n: acrPageMax, namesOnly: true}, func(ti TagInfo) bool {
			scanned++
			if re.MatchString(ti.Name) {
				tag = ti.Name
				return false
			}
			return true
		})
		if err != nil {
			return nil, acrError(cred, t, err, "list the tags of "+p.Repository, p.Repository, "")
		}
		if tag == "" {
			return nil, &failure.Error{Kind: failure.NotFound, Code: "NoTagMatches",
				Message: fmt.Sprintf("Could not find any tags that match regex [%s] for ACR repository [%s] for subscription [%s] in registry [%s].",
					p.TagRegex, p.Repository, p.SubscriptionID, t.LoginServer),
				Hint: fmt.Sprintf("%d tag(s) were read, newest first; check the regex (it must match the whole tag only if anchored with ^ and $).", scanned)}
		}
		logf(in.Log, "newest tag matching %s: %s (%d read)", p.TagRegex, tag, scanned)
	}
	return tagDetails(ctx, cred, t, r, p.Repository, tag)
}

// LoginCredentialsParams are acr.logincredentials' parameters.
type LoginCredentialsParams struct {
	RegistryRef
}

// LoginCredentials is what docker login / crane auth login take:
// Username is the null GUID and Password an ACR refresh token, valid
// until ExpiresOn. It is a credential: show it only to its requester.
type LoginCredentials struct {
	LoginServer string    `json:"loginServer"`
	Username    string    `json:"username"`
	Password    string    `json:"password"`
	ExpiresOn   time.Time `json:"expiresOn,omitzero"`
}

// String never shows the password.
func (c LoginCredentials) String() string {
	return fmt.Sprintf("LoginCredentials{%s, %s, password redacted}", c.LoginServer, c.Username)
}

// GetLoginCredentials exchanges the identity's Entra token for an ACR
// refresh token of the registry.
func GetLoginCredentials(ctx context.Context, env *Env, in Input) (any, error) {
	var p LoginCredentialsParams
	if err := decodeParams(in.Params, &p); err != nil {
		return nil, err
	}
	cred, err := connectorCredential(env, in)
	if err != nil {
		return nil, err
	}
	t, err := resolveRegistry(ctx, cred, p.RegistryRef, func(f string, a ...any) { logf(in.Log, f, a...) })
	if err != nil {
		return nil, err
	}
	r, err := openACR(cred, t.LoginServer, env.now)
	if err != nil {
		return nil, fmt.Errorf("registry client for %s: %w", t.LoginServer, err)
	}
	refresh, err := r.auth.refreshToken(ctx)
	if err != nil {
		return nil, acrError(cred, t, err, "issue a refresh token", "", "")
	}
	out := &LoginCredentials{LoginServer: t.LoginServer, Username: NullUsername, Password: refresh, ExpiresOn: jwtExpiry(refresh)}
	logf(in.Log, "login credentials for %s issued, valid until %s", t.LoginServer, out.ExpiresOn.Format(time.RFC3339))
	return out, nil
}

// jwtExpiry reads a JWT's exp claim; zero when it has none.
func jwtExpiry(tok string) time.Time {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(b, &c) != nil || c.Exp == 0 {
		return time.Time{}
	}
	return time.Unix(c.Exp, 0).UTC()
}

// openRegistry builds the credential, resolves the registry and returns
// its shared data-plane client.
func openRegistry(ctx context.Context, env *Env, in Input, ref RegistryRef) (*azure.Credential, *registryTarget, *acrRegistry, error) {
	cred, err := connectorCredential(env, in)
	if err != nil {
		return nil, nil, nil, err
	}
	t, err := resolveRegistry(ctx, cred, ref, func(f string, a ...any) { logf(in.Log, f, a...) })
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := openACR(cred, t.LoginServer, env.now)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("registry client for %s: %w", t.LoginServer, err)
	}
	return cred, t, r, nil
}

func ptr[T any](v T) *T { return &v }

// repositoryRE is the Docker grammar of repository names (ACR's are
// lower case); tagRE that of tags.
var (
	repositoryRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	tagRE        = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// checkRepository adds a field error for a missing or malformed repository.
func checkRepository(fs *failure.Fields, repo string) {
	switch {
	case repo == "":
		fs.Add("repository", "is required")
	case len(repo) > 256 || !repositoryRE.MatchString(repo):
		fs.Add("repository", "%q is not a repository name (lower-case letters, digits and separators, e.g. team/api)", repo)
	}
}

var (
	_ Func = ListRepositories
	_ Func = ListTags
	_ Func = GetTag
	_ Func = LatestTag
	_ Func = GetLoginCredentials
)
