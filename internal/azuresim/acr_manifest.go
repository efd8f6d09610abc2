package azuresim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The content a registry serves for a tag: a manifest (Docker v2 schema 2
// or OCI), or an index (Docker manifest list or OCI index) of per-platform
// manifests, each with a config blob and one layer. Everything is derived
// deterministically from the login server, repository, tag name, creation
// time, media type and platforms, so nothing is stored and a tag's digest
// is the sha256 of the bytes served for it (clients verify that).

// Manifest and blob media types.
const (
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex       = "application/vnd.oci.image.index.v1+json"

	mediaTypeDockerConfig = "application/vnd.docker.container.image.v1+json"
	mediaTypeOCIConfig    = "application/vnd.oci.image.config.v1+json"
	mediaTypeDockerLayer  = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	mediaTypeOCILayer     = "application/vnd.oci.image.layer.v1.tar+gzip"
)

func init() {
	tagDigest = artifactDigest
}

// platform is an os/architecture[/variant] triple.
type platform struct {
	OS      string `json:"os"`
	Arch    string `json:"architecture"`
	Variant string `json:"variant,omitempty"`
}

func parsePlatform(s string) platform {
	parts := strings.SplitN(s, "/", 3)
	p := platform{OS: "linux", Arch: "amd64"}
	if len(parts) > 0 && parts[0] != "" {
		p.OS = parts[0]
	}
	if len(parts) > 1 && parts[1] != "" {
		p.Arch = parts[1]
	}
	if len(parts) > 2 {
		p.Variant = parts[2]
	}
	return p
}

func (p platform) String() string {
	s := p.OS + "/" + p.Arch
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// artifact is what a tag (or one platform of it) serves.
type artifact struct {
	mediaType string
	body      []byte
	digest    string

	// Single manifests.
	platform     platform
	config       []byte
	configDigest string
	configType   string
	layerSize    int64

	// Indexes.
	children []*artifact
}

// size is the image size ACR reports: config plus layers, summed over the
// platforms of an index.
func (a *artifact) size() int64 {
	if len(a.children) > 0 {
		var n int64
		for _, c := range a.children {
			n += c.size()
		}
		return n
	}
	return int64(len(a.config)) + a.layerSize
}

// find returns the artifact (this one or a platform manifest of it) whose
// manifest or config has digest d; config reports a config blob.
func (a *artifact) find(d string) (found *artifact, config bool) {
	if a.digest == d {
		return a, false
	}
	if a.configDigest == d {
		return a, true
	}
	for _, c := range a.children {
		if f, cfg := c.find(d); f != nil {
			return f, cfg
		}
	}
	return nil, false
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// effectiveMediaType is the media type a tag serves: an index when it has
// several platforms.
func effectiveMediaType(mt string, platforms int) string {
	switch mt {
	case MediaTypeOCIIndex, MediaTypeDockerList:
		return mt
	case MediaTypeOCIManifest:
		if platforms > 1 {
			return MediaTypeOCIIndex
		}
		return mt
	default:
		if platforms > 1 {
			return MediaTypeDockerList
		}
		return MediaTypeDockerManifest
	}
}

func isIndexType(mt string) bool { return mt == MediaTypeOCIIndex || mt == MediaTypeDockerList }

type descriptor struct {
	MediaType string    `json:"mediaType"`
	Size      int64     `json:"size"`
	Digest    string    `json:"digest"`
	Platform  *platform `json:"platform,omitempty"`
}

// manifestDoc and indexDoc are the documents served, for decoding in
// tests; they are written by hand below (this is on the path of every
// tag listed, so it avoids reflection).
type manifestDoc struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

type indexDoc struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendDescriptor(b []byte, mt string, size int64, digest string, p *platform) []byte {
	b = append(b, `{"mediaType":`...)
	b = appendJSONString(b, mt)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, size, 10)
	b = append(b, `,"digest":"`...)
	b = append(b, digest...)
	b = append(b, '"')
	if p != nil {
		b = append(b, `,"platform":{"architecture":`...)
		b = appendJSONString(b, p.Arch)
		b = append(b, `,"os":`...)
		b = appendJSONString(b, p.OS)
		if p.Variant != "" {
			b = append(b, `,"variant":`...)
			b = appendJSONString(b, p.Variant)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// buildArtifact derives what a tag serves.
func buildArtifact(login, repo string, t *Tag) *artifact {
	plats := t.Platforms
	if len(plats) == 0 {
		plats = []string{"linux/amd64"}
	}
	mt := effectiveMediaType(t.MediaType, len(plats))
	ref := login + "/" + repo + ":" + t.Name
	if !isIndexType(mt) {
		return buildManifest(login, repo, ref, mt, t, parsePlatform(plats[0]))
	}
	childType := MediaTypeDockerManifest
	if mt == MediaTypeOCIIndex {
		childType = MediaTypeOCIManifest
	}
	a := &artifact{mediaType: mt}
	b := make([]byte, 0, 128+200*len(plats))
	b = append(b, `{"schemaVersion":2,"mediaType":`...)
	b = appendJSONString(b, mt)
	b = append(b, `,"manifests":[`...)
	for i, ps := range plats {
		p := parsePlatform(ps)
		c := buildManifest(login, repo, ref, childType, t, p)
		a.children = append(a.children, c)
		if i > 0 {
			b = append(b, ',')
		}
		b = appendDescriptor(b, childType, int64(len(c.body)), c.digest, &p)
	}
	a.body = append(b, "]}"...)
	a.digest = digestOf(a.body)
	return a
}

func buildManifest(login, repo, ref, mt string, t *Tag, p platform) *artifact {
	config, body, cfgSum, layerSize := appendManifest(nil, nil, login, repo, mt, t, p)
	configType := mediaTypeOCIConfig
	if mt == MediaTypeDockerManifest {
		configType = mediaTypeDockerConfig
	}
	return &artifact{
		mediaType: mt, platform: p, config: config, configType: configType, layerSize: layerSize,
		configDigest: "sha256:" + hex.EncodeToString(cfgSum[:]),
		body:         body, digest: digestOf(body),
	}
}

// appendManifest appends the image config of one platform to c and its
// manifest to m, and returns them with the config's sha256 and the layer
// size. It allocates nothing when the buffers are large enough, so that
// the digest of every generated tag listed stays cheap.
func appendManifest(c, m []byte, login, repo, mt string, t *Tag, p platform) ([]byte, []byte, [32]byte, int64) {
	// The layer is named by a hash of the reference and platform.
	var rb [256]byte
	r := append(rb[:0], login...)
	r = append(r, '/')
	r = append(r, repo...)
	r = append(r, ':')
	r = append(r, t.Name...)
	r = append(r, '@')
	r = append(r, p.OS...)
	r = append(r, '/')
	r = append(r, p.Arch...)
	if p.Variant != "" {
		r = append(r, '/')
		r = append(r, p.Variant...)
	}
	seed := sha256.Sum256(r)
	diff := sha256.Sum256(seed[:])
	layerSize := int64(1<<20 + binary.BigEndian.Uint32(seed[:4])%(48<<20))

	// The image config, keys in the order encoding/json would write them.
	c = append(c, `{"architecture":`...)
	c = appendJSONString(c, p.Arch)
	c = append(c, `,"config":{"Labels":{"org.opencontainers.image.ref.name":`...)
	c = appendJSONString(c, t.Name)
	c = append(c, `,"org.opencontainers.image.source":"https://`...)
	c = append(c, login...) // login servers and repository names need no escaping
	c = append(c, '/')
	c = append(c, repo...)
	c = append(c, `"}},"created":"`...)
	c = t.Created.UTC().AppendFormat(c, time.RFC3339)
	c = append(c, `","os":`...)
	c = appendJSONString(c, p.OS)
	c = append(c, `,"rootfs":{"type":"layers","diff_ids":["sha256:`...)
	c = hex.AppendEncode(c, diff[:])
	c = append(c, `"]}`...)
	if p.Variant != "" {
		c = append(c, `,"variant":`...)
		c = appendJSONString(c, p.Variant)
	}
	c = append(c, '}')
	cfgSum := sha256.Sum256(c)

	configType, layerType := mediaTypeOCIConfig, mediaTypeOCILayer
	if mt == MediaTypeDockerManifest {
		configType, layerType = mediaTypeDockerConfig, mediaTypeDockerLayer
	}
	m = append(m, `{"schemaVersion":2,"mediaType":`...)
	m = appendJSONString(m, mt)
	m = append(m, `,"config":{"mediaType":"`...)
	m = append(m, configType...)
	m = append(m, `","size":`...)
	m = strconv.AppendInt(m, int64(len(c)), 10)
	m = append(m, `,"digest":"sha256:`...)
	m = hex.AppendEncode(m, cfgSum[:])
	m = append(m, `"},"layers":[{"mediaType":"`...)
	m = append(m, layerType...)
	m = append(m, `","size":`...)
	m = strconv.AppendInt(m, layerSize, 10)
	m = append(m, `,"digest":"sha256:`...)
	m = hex.AppendEncode(m, seed[:])
	m = append(m, `"}]}`...)
	return c, m, cfgSum, layerSize
}

// artifactDigest is the digest of what a tag serves; for single-platform
// tags it is computed without building the artifact.
func artifactDigest(login, repo string, t *Tag) string {
	if len(t.Platforms) > 1 || isIndexType(effectiveMediaType(t.MediaType, len(t.Platforms))) {
		return buildArtifact(login, repo, t).digest
	}
	p := platform{OS: "linux", Arch: "amd64"}
	if len(t.Platforms) == 1 {
		p = parsePlatform(t.Platforms[0])
	}
	var cb, mb [1024]byte
	_, m, _, _ := appendManifest(cb[:0], mb[:0], login, repo, effectiveMediaType(t.MediaType, 1), t, p)
	sum := sha256.Sum256(m)
	var out [7 + 64]byte
	copy(out[:], "sha256:")
	hex.Encode(out[7:], sum[:])
	return string(out[:])
}

// digestIndex remembers which tag of a repository serves a digest (its
// manifest, a platform manifest or a config blob), filled as tags are
// rendered, so a client that lists tags and then asks for a digest is
// answered without scanning the repository. It is bounded: when full it
// starts over.
type digestIndex struct {
	mu  sync.Mutex
	m   map[string]string // repo + "@" + digest -> tag name
	max int
}

func newDigestIndex(max int) *digestIndex {
	return &digestIndex{m: map[string]string{}, max: max}
}

func (d *digestIndex) remember(repo string, a *artifact, tag string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.m) >= d.max {
		d.m = map[string]string{}
	}
	var add func(a *artifact)
	add = func(a *artifact) {
		d.m[repo+"@"+a.digest] = tag
		if a.configDigest != "" {
			d.m[repo+"@"+a.configDigest] = tag
		}
		for _, c := range a.children {
			add(c)
		}
	}
	add(a)
}

func (d *digestIndex) lookup(repo, digest string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.m[repo+"@"+digest]
	return t, ok
}

// rememberTop records only a tag's own digest (tag listings, which do not
// build the platform manifests and configs).
func (d *digestIndex) rememberTop(repo, digest, tag string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.m) >= d.max {
		d.m = map[string]string{}
	}
	d.m[repo+"@"+digest] = tag
}
