package azuresim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Catalog, tag and manifest routes of the ACR data plane. Tag pages are
// computed from positions, never by materialising a repository: a
// generated repository's tags are in name order and in time order at once
// (zero-padded names, created Interval apart), so a page of 100,000 tags
// costs its own size; explicit repositories keep two small index
// permutations (by name, by update time), built once.

const acrTimeLayout = "2006-01-02T15:04:05.0000000Z"

func acrTime(t time.Time) string { return t.UTC().Format(acrTimeLayout) }

var changeable = map[string]bool{"deleteEnabled": true, "writeEnabled": true, "readEnabled": true, "listEnabled": true}

// pageSize reads n: default 100, at most 1000; anything else is 400.
func pageSize(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("n")
	if v == "" {
		return acrDefaultPage, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		writeACRError(w, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", "invalid number of results requested", map[string]string{"n": v})
		return 0, false
	}
	return min(n, acrMaxPage), true
}

// repoPath is a repository name for a Link path: each segment escaped,
// slashes kept.
func repoPath(repo string) string {
	segs := strings.Split(repo, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func setLink(w http.ResponseWriter, path string, q url.Values) {
	w.Header().Set("Link", "<"+path+"?"+q.Encode()+`>; rel="next"`)
}

// ---- catalog ----

func (a *acrRegistry) catalog(v2 bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !a.authorize(w, r, &acrScope{Type: "registry", Name: "catalog", Actions: []string{"*"}}) {
			return
		}
		n, ok := pageSize(w, r)
		if !ok {
			return
		}
		last := r.URL.Query().Get("last")
		a.s.mu.RLock()
		names := a.reg.RepositoryNames()
		a.s.mu.RUnlock()
		start := sort.Search(len(names), func(i int) bool { return names[i] > last })
		end := min(start+n, len(names))
		page := append([]string{}, names[start:end]...)
		if end < len(names) {
			q := url.Values{"last": {page[len(page)-1]}, "n": {strconv.Itoa(n)}}
			path := "/acr/v1/_catalog"
			if v2 {
				path = "/v2/_catalog"
				q.Set("orderby", "")
			}
			setLink(w, path, q)
		}
		writeJSON(w, http.StatusOK, map[string]any{"repositories": page})
	}
}

// ---- orders ----

// tagOrders are the permutations of an explicit repository's tags.
type tagOrders struct {
	byName, byTime []int // tag indices
	timeRank       []int // tag index -> position in byTime
}

func (a *acrRegistry) explicitOrders(repo *Repository) *tagOrders {
	if o, ok := a.orders.Load(repo); ok {
		return o.(*tagOrders)
	}
	o := &tagOrders{}
	n := len(repo.Tags)
	o.byName, o.byTime, o.timeRank = make([]int, n), make([]int, n), make([]int, n)
	for i := range n {
		o.byName[i], o.byTime[i] = i, i
	}
	sort.SliceStable(o.byName, func(x, y int) bool { return repo.Tags[o.byName[x]].Name < repo.Tags[o.byName[y]].Name })
	sort.SliceStable(o.byTime, func(x, y int) bool {
		tx, ty := repo.Tags[o.byTime[x]], repo.Tags[o.byTime[y]]
		if !tx.Updated.Equal(ty.Updated) {
			return tx.Updated.Before(ty.Updated)
		}
		return tx.Name < ty.Name
	})
	for k, i := range o.byTime {
		o.timeRank[i] = k
	}
	actual, _ := a.orders.LoadOrStore(repo, o)
	return actual.(*tagOrders)
}

// tagOrder is a repository's tags in one order: at(k) is the tag index at
// position k.
type tagOrder struct {
	n     int
	at    func(k int) int
	name  func(i int) string
	after func(last string) int // first position after tag `last`
}

// order returns the tags of v in the order orderby asks for: "" or "none"
// by name, "timeasc" and "timedesc" by last update. Call under s.mu.
func (a *acrRegistry) order(v RepoView, orderby string) (tagOrder, bool) {
	o := tagOrder{n: v.TagCount()}
	if v.explicit != nil {
		tags := v.explicit.Tags
		o.name = func(i int) string { return tags[i].Name }
	} else {
		o.name = v.gen.tagName
	}
	var byName, byTime, timeRank []int
	if v.explicit != nil {
		ords := a.explicitOrders(v.explicit)
		byName, byTime, timeRank = ords.byName, ords.byTime, ords.timeRank
	}
	perm := func(p []int) func(int) int {
		if p == nil {
			return func(k int) int { return k }
		}
		return func(k int) int { return p[k] }
	}
	rank := func(i int) int {
		if timeRank == nil {
			return i
		}
		return timeRank[i]
	}
	switch orderby {
	case "", "none":
		o.at = perm(byName)
		o.after = func(last string) int {
			return sort.Search(o.n, func(k int) bool { return o.name(o.at(k)) > last })
		}
	case "timeasc":
		o.at = perm(byTime)
		o.after = func(last string) int {
			if i, ok := v.TagIndex(last); ok {
				return rank(i) + 1
			}
			return o.n
		}
	case "timedesc":
		asc := perm(byTime)
		o.at = func(k int) int { return asc(o.n - 1 - k) }
		o.after = func(last string) int {
			if i, ok := v.TagIndex(last); ok {
				return o.n - rank(i)
			}
			return o.n
		}
	default:
		return o, false
	}
	return o, true
}

// tagAt is v.TagAt with the digests of generated repositories cached.
// Call under s.mu.
func (a *acrRegistry) tagAt(v RepoView, i int) Tag {
	g := v.gen
	if v.explicit != nil || g == nil || g.TagsPerRepository > maxCachedDigests {
		return v.TagAt(i)
	}
	c, _ := a.genDigests.Load(v.Name)
	if c == nil {
		c, _ = a.genDigests.LoadOrStore(v.Name, &digestCache{sums: make([][32]byte, g.TagsPerRepository), have: make([]uint64, (g.TagsPerRepository+63)/64)})
	}
	dc := c.(*digestCache)
	created := g.Start.Add(time.Duration(i) * time.Duration(g.Interval))
	t := Tag{Name: g.tagName(i), Created: created, Updated: created, MediaType: g.MediaType, Platforms: []string{"linux/amd64"}}
	dc.mu.Lock()
	sum, ok := dc.sums[i], dc.have[i/64]&(1<<(i%64)) != 0
	dc.mu.Unlock()
	if !ok {
		var cb, mb [1024]byte
		_, m, _, _ := appendManifest(cb[:0], mb[:0], a.login, v.Name, effectiveMediaType(t.MediaType, 1), &t, platform{OS: "linux", Arch: "amd64"})
		sum = sha256.Sum256(m)
		dc.mu.Lock()
		dc.sums[i] = sum
		dc.have[i/64] |= 1 << (i % 64)
		dc.mu.Unlock()
	}
	var out [7 + 64]byte
	copy(out[:], "sha256:")
	hex.Encode(out[7:], sum[:])
	t.Digest = string(out[:])
	return t
}

// maxCachedDigests bounds the digest cache of a generated repository: 32
// bytes per tag, allocated on its first listing (3.2 MB for 100,000 tags).
const maxCachedDigests = 1 << 20

// digestCache holds the manifest digests of a generated repository's tags,
// computed once: a listing then costs what encoding the page costs.
type digestCache struct {
	mu   sync.Mutex
	sums [][32]byte
	have []uint64 // bitmap of computed entries
}

// resolve returns tag i of v and what it serves. Call under s.mu.
func (a *acrRegistry) resolve(v RepoView, i int) (Tag, *artifact) {
	var t Tag
	if v.explicit != nil {
		t = *v.explicit.Tags[i]
	} else {
		g := v.gen
		created := g.Start.Add(time.Duration(i) * time.Duration(g.Interval))
		t = Tag{Name: g.tagName(i), Created: created, Updated: created, MediaType: g.MediaType, Platforms: []string{"linux/amd64"}}
	}
	art := buildArtifact(a.login, v.Name, &t)
	if t.Digest == "" {
		t.Digest = art.digest
	}
	return t, art
}

// findDigest finds the tag whose manifest, platform manifest or config
// blob has digest d: first through the digest index, else by scanning the
// repository. Call under s.mu.
func (a *acrRegistry) findDigest(v RepoView, d string) (Tag, *artifact, bool, bool) {
	if name, ok := a.digests.lookup(v.Name, d); ok {
		if i, ok := v.TagIndex(name); ok {
			t, art := a.resolve(v, i)
			if t.Digest == d {
				return t, art, false, true
			}
			if f, cfg := art.find(d); f != nil {
				return t, f, cfg, true
			}
		}
	}
	// Tags' own digests first (cheap), then platform manifests and configs.
	for i := range v.TagCount() {
		if v.TagAt(i).Digest == d {
			t, art := a.resolve(v, i)
			a.digests.remember(v.Name, art, t.Name)
			return t, art, false, true
		}
	}
	for i := range v.TagCount() {
		t, art := a.resolve(v, i)
		if f, cfg := art.find(d); f != nil {
			a.digests.remember(v.Name, art, t.Name)
			return t, f, cfg, true
		}
	}
	return Tag{}, nil, false, false
}

// ---- repository and tags ----

func (a *acrRegistry) repoOr404(w http.ResponseWriter, repo string) (RepoView, bool) {
	v, ok := a.reg.Repo(repo)
	if !ok {
		writeACRError(w, http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry", map[string]string{"name": repo})
	}
	return v, ok
}

func metadataRead(repo string) *acrScope {
	return &acrScope{Type: "repository", Name: repo, Actions: []string{"metadata_read"}}
}

func pullScope(repo string) *acrScope {
	return &acrScope{Type: "repository", Name: repo, Actions: []string{"pull"}}
}

func (a *acrRegistry) repository(w http.ResponseWriter, r *http.Request) {
	repo := strings.TrimPrefix(pathParam(r, "repo"), "/")
	if !a.authorize(w, r, metadataRead(repo)) {
		return
	}
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	v, ok := a.repoOr404(w, repo)
	if !ok {
		return
	}
	created, updated := a.reg.CreatedAt, a.reg.CreatedAt
	manifests := v.TagCount()
	if v.explicit != nil && len(v.explicit.Tags) > 0 {
		created = v.explicit.Tags[0].Created
		digests := map[string]bool{}
		for _, t := range v.explicit.Tags {
			created = minTime(created, t.Created)
			if t.Updated.After(updated) {
				updated = t.Updated
			}
			digests[t.Digest] = true
		}
		manifests = len(digests)
	} else if g := v.gen; g != nil && g.TagsPerRepository > 0 {
		created = g.Start
		updated = g.Start.Add(time.Duration(g.TagsPerRepository-1) * time.Duration(g.Interval))
	}
	attrs := map[string]bool{"teleportEnabled": false}
	for k, b := range changeable {
		attrs[k] = b
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"registry": a.login, "imageName": repo,
		"createdTime": acrTime(created), "lastUpdateTime": acrTime(updated),
		"manifestCount": manifests, "tagCount": v.TagCount(),
		"changeableAttributes": attrs,
	})
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// appendTagJSON appends a tag's attributes as ACR writes them.
func appendTagJSON(b []byte, t Tag) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, t.Name)
	b = append(b, `,"digest":`...)
	b = appendJSONString(b, t.Digest)
	b = append(b, `,"createdTime":"`...)
	b = appendACRTime(b, t.Created)
	b = append(b, `","lastUpdateTime":"`...)
	b = appendACRTime(b, t.Updated)
	return append(b, `","signed":false,"changeableAttributes":{"deleteEnabled":true,"writeEnabled":true,"readEnabled":true,"listEnabled":true}}`...)
}

// appendACRTime appends t in acrTimeLayout (UTC, seven fractional
// digits) without interpreting the layout: a tag page formats two times
// per tag, and AppendFormat was most of a page's encoding.
func appendACRTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return t.AppendFormat(b, acrTimeLayout)
	}
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	var buf [28]byte
	put := func(at, v, n int) {
		for i := at + n - 1; i >= at; i-- {
			buf[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	buf[4] = '-'
	put(5, int(mo), 2)
	buf[7] = '-'
	put(8, d, 2)
	buf[10] = 'T'
	put(11, h, 2)
	buf[13] = ':'
	put(14, mi, 2)
	buf[16] = ':'
	put(17, sec, 2)
	buf[19] = '.'
	put(20, t.Nanosecond()/100, 7)
	buf[27] = 'Z'
	return append(b, buf[:]...)
}

func writeRawJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// tags is /acr/v1/{repo}/_tags: n, last, orderby, digest; Link paging.
func (a *acrRegistry) tags(w http.ResponseWriter, r *http.Request) {
	repo := strings.TrimPrefix(pathParam(r, "repo"), "/")
	if !a.authorize(w, r, metadataRead(repo)) {
		return
	}
	n, ok := pageSize(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	orderby, last, digest := q.Get("orderby"), q.Get("last"), q.Get("digest")
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	v, ok := a.repoOr404(w, repo)
	if !ok {
		return
	}
	o, ok := a.order(v, orderby)
	if !ok {
		writeACRError(w, http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("orderby %q is not supported; use timedesc or timeasc", orderby), nil)
		return
	}
	k := 0
	if last != "" {
		k = o.after(last)
	}
	b := make([]byte, 0, 256+220*min(n, max(o.n-k, 0)))
	b = append(b, `{"registry":`...)
	b = appendJSONString(b, a.login)
	b = append(b, `,"imageName":`...)
	b = appendJSONString(b, repo)
	b = append(b, `,"tags":[`...)
	count, lastName := 0, ""
	for ; k < o.n && count < n; k++ {
		t := a.tagAt(v, o.at(k))
		if digest != "" && t.Digest != digest {
			continue
		}
		if count > 0 {
			b = append(b, ',')
		}
		b = appendTagJSON(b, t)
		count++
		lastName = t.Name
	}
	b = append(b, "]}\n"...)
	if more := k < o.n && count == n; more {
		lq := url.Values{"last": {lastName}, "n": {strconv.Itoa(n)}, "orderby": {orderby}}
		if digest != "" {
			lq.Set("digest", digest)
		}
		setLink(w, "/acr/v1/"+repoPath(repo)+"/_tags", lq)
	}
	writeRawJSON(w, b)
}

// tagProperties is /acr/v1/{repo}/_tags/{tag}.
func (a *acrRegistry) tagProperties(w http.ResponseWriter, r *http.Request) {
	repo := strings.TrimPrefix(pathParam(r, "repo"), "/")
	if !a.authorize(w, r, metadataRead(repo)) {
		return
	}
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	v, ok := a.repoOr404(w, repo)
	if !ok {
		return
	}
	i, ok := v.TagIndex(pathParam(r, "tag"))
	if !ok {
		writeACRError(w, http.StatusNotFound, "TAG_UNKNOWN", "the specified tag does not exist", map[string]string{"tag": pathParam(r, "tag")})
		return
	}
	t := v.TagAt(i)
	a.digests.rememberTop(repo, t.Digest, t.Name)
	b := append([]byte(`{"registry":`), appendJSONString(nil, a.login)...)
	b = append(b, `,"imageName":`...)
	b = appendJSONString(b, repo)
	b = append(b, `,"tag":`...)
	b = appendTagJSON(b, t)
	writeRawJSON(w, append(b, "}\n"...))
}

// v2Tags is /v2/{repo}/tags/list: n, last, orderby; Link paging.
func (a *acrRegistry) v2Tags(w http.ResponseWriter, r *http.Request) {
	repo := strings.TrimPrefix(pathParam(r, "repo"), "/")
	if !a.authorize(w, r, pullScope(repo)) {
		return
	}
	n, ok := pageSize(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	orderby, last := q.Get("orderby"), q.Get("last")
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	v, ok := a.repoOr404(w, repo)
	if !ok {
		return
	}
	o, ok := a.order(v, orderby)
	if !ok {
		writeACRError(w, http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("orderby %q is not supported; use timedesc or timeasc", orderby), nil)
		return
	}
	k := 0
	if last != "" {
		k = o.after(last)
	}
	end := min(k+n, o.n)
	names := make([]string, 0, max(end-k, 0))
	for ; k < end; k++ {
		names = append(names, o.name(o.at(k)))
	}
	if end < o.n && len(names) > 0 {
		setLink(w, "/v2/"+repoPath(repo)+"/tags/list", url.Values{"last": {names[len(names)-1]}, "n": {strconv.Itoa(n)}, "orderby": {orderby}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": repo, "tags": names})
}

// ---- manifests and blobs ----

// acceptable reports whether the request's Accept header admits a
// manifest media type. Headers naming no manifest type admit every one.
func acceptable(r *http.Request, mt string) bool {
	listed := false
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			t := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
			if t == mt {
				return true
			}
			if strings.Contains(t, "manifest") || strings.Contains(t, "image.index") {
				listed = true
			}
		}
	}
	return !listed
}

// lookupRef resolves a tag or digest to what it serves. Call under s.mu.
func (a *acrRegistry) lookupRef(v RepoView, ref string) (Tag, *artifact, bool, bool) {
	if strings.HasPrefix(ref, "sha256:") {
		return a.findDigest(v, ref)
	}
	i, ok := v.TagIndex(ref)
	if !ok {
		return Tag{}, nil, false, false
	}
	t, art := a.resolve(v, i)
	a.digests.remember(v.Name, art, t.Name)
	return t, art, false, true
}

// manifest is GET/HEAD /v2/{repo}/manifests/{reference}.
func (a *acrRegistry) manifest(w http.ResponseWriter, r *http.Request) {
	repo := strings.TrimPrefix(pathParam(r, "repo"), "/")
	ref := pathParam(r, "reference")
	if !a.authorize(w, r, pullScope(repo)) {
		return
	}
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	v, ok := a.repoOr404(w, repo)
	if !ok {
		return
	}
	t, art, isConfig, ok := a.lookupRef(v, ref)
	if !ok || isConfig {
		detail := map[string]string{"Tag": ref}
		if strings.HasPrefix(ref, "sha256:") {
			detail = map[string]string{"Digest": ref}
		}
		writeACRError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown", detail)
		return
	}
	if !acceptable(r, art.mediaType) {
		switch art.mediaType {
		case MediaTypeOCIIndex:
			writeACRError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "OCI index found, but accept header does not support OCI indexes", nil)
			return
		case MediaTypeDockerList:
			writeACRError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest list found, but accept header does not support manifest lists", nil)
			return
		case MediaTypeOCIManifest:
			writeACRError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "OCI manifest found, but accept header does not support OCI manifests", nil)
			return
		}
	}
	digest := art.digest
	if !strings.HasPrefix(ref, "sha256:") {
		digest = t.Digest // a world-given digest wins for the tag
	}
	h := w.Header()
	h.Set("Content-Type", art.mediaType)
	h.Set("Docker-Content-Digest", digest)
	h.Set("ETag", `"`+digest+`"`)
	h.Set("Content-Length", strconv.Itoa(len(art.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(art.body)
	}
}

// blob is GET/HEAD /v2/{repo}/blobs/{digest}: config blobs are served;
// layers are not (BLOB_UNKNOWN).
func (a *acrRegistry) blob(w http.ResponseWriter, r *http.Request) {
	repo := strings.TrimPrefix(pathParam(r, "repo"), "/")
	d := pathParam(r, "digest")
	if !a.authorize(w, r, pullScope(repo)) {
		return
	}
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	v, ok := a.repoOr404(w, repo)
	if !ok {
		return
	}
	_, art, isConfig, ok := a.lookupRef(v, d)
	if !ok || !isConfig || !strings.HasPrefix(d, "sha256:") {
		writeACRError(w, http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown to registry", map[string]string{"digest": d})
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Docker-Content-Digest", d)
	h.Set("Content-Length", strconv.Itoa(len(art.config)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(art.config)
	}
}

// manifestProperties is /acr/v1/{repo}/_manifests/{digest}.
func (a *acrRegistry) manifestProperties(w http.ResponseWriter, r *http.Request) {
	repo := strings.TrimPrefix(pathParam(r, "repo"), "/")
	ref := pathParam(r, "digest")
	if !a.authorize(w, r, metadataRead(repo)) {
		return
	}
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	v, ok := a.repoOr404(w, repo)
	if !ok {
		return
	}
	t, art, isConfig, ok := a.lookupRef(v, ref)
	if !ok || isConfig {
		writeACRError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", fmt.Sprintf("manifest %s is not found", ref), nil)
		return
	}
	top := art.digest == t.Digest || !strings.HasPrefix(ref, "sha256:")
	digest := art.digest
	tags := []string{}
	if top {
		digest = t.Digest
		if v.explicit != nil {
			for _, et := range v.explicit.Tags {
				if et.Digest == digest {
					tags = append(tags, et.Name)
				}
			}
		} else {
			tags = append(tags, t.Name)
		}
	}
	m := map[string]any{
		"digest": digest, "imageSize": art.size(), "mediaType": art.mediaType,
		"createdTime": acrTime(t.Created), "lastUpdateTime": acrTime(t.Updated),
		"tags": tags, "changeableAttributes": changeable, "quarantineState": "Passed",
	}
	if len(art.children) > 0 {
		var refs []map[string]string
		for _, c := range art.children {
			refs = append(refs, map[string]string{"digest": c.digest, "architecture": c.platform.Arch, "os": c.platform.OS})
		}
		m["references"] = refs
	} else {
		m["architecture"], m["os"] = art.platform.Arch, art.platform.OS
		m["configMediaType"] = art.configType
	}
	writeJSON(w, http.StatusOK, map[string]any{"registry": a.login, "imageName": repo, "manifest": m})
}
