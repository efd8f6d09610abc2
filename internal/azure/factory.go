// Package azure is Azimuth's Azure client layer: the clouds (with the
// server-level override applied), the one HTTP transport of the process,
// credentials built from a connector and its resolved secrets, a token
// cache shared by every operation of a connector, the SDK's retry policy
// configured once, and the classification of every failure into a stable
// reason, a message and a hint.
//
// A process builds one Factory at start and hands it to the executors:
//
//	cred, err := f.Credential(in.Connector, in.Secrets, in.CredentialKey)
//	if err != nil { return nil, err }            // already classified
//	ctx, cancel := cred.Context(ctx)              // the per-call timeout
//	defer cancel()
//	client, _ := armsubscriptions.NewClient(cred, cred.ARMOptions())
//	... client calls ...
//	if err != nil { return nil, cred.Classify(err) }
//
// Endpoints come only from internal/cloud and the override file: a
// connector names a cloud and nothing else, so no connector can send a
// credential to a host of its choosing.
package azure

import (
	"container/list"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/failure"
)

// Defaults of Options.
const (
	DefaultMaxRetries     = 3
	DefaultRetryDelay     = 800 * time.Millisecond
	DefaultMaxRetryDelay  = 60 * time.Second
	DefaultTryTimeout     = 60 * time.Second
	DefaultCallTimeout    = 2 * time.Minute
	DefaultTokenTimeout   = time.Minute
	DefaultMaxCredentials = 1024
)

// Options configure a Factory. They are the server's (or delegate's)
// settings; nothing here can come from a connector.
type Options struct {
	// Override replaces clouds' endpoints, adds a CA bundle and a dial map
	// (the simulator; Azure Stack-like setups). nil: Azure itself.
	Override *cloud.Override
	// Logger receives the layer's own log lines (component=azure).
	Logger *slog.Logger
	// UserAgent is sent on requests that carry none; the SDK's requests
	// carry "azimuth" plus its own.
	UserAgent string
	// ManagedIdentity allows InheritFromDelegate connectors: set it in
	// delegates, which run on hosts that may have a managed identity. The
	// server leaves it false and refuses them, as Harness does.
	ManagedIdentity bool
	// ManagedIdentityEndpoint is the App Service style identity endpoint
	// (IDENTITY_ENDPOINT and IDENTITY_HEADER) of the host, when it has
	// one; the override's AppService is used when this is nil, and IMDS
	// when both are. See ManagedIdentityEndpointFromEnv.
	ManagedIdentityEndpoint *cloud.AppServiceEndpoint
	// Retry is azcore's retry policy for every call. Zero fields take
	// 3 retries, 800 ms exponential back-off with jitter, 60 s cap, 60 s
	// per try; retried statuses are azcore's (408, 429, 500, 502, 503,
	// 504), and Retry-After, retry-after-ms and x-ms-retry-after-ms are
	// honoured. 400, 401 and 403 are never retried. Set MaxRetries to -1
	// to disable retries.
	Retry policy.RetryOptions
	// CallTimeout bounds one operation (Credential.Context) and every SDK
	// call whose context has no deadline; default 2 min.
	CallTimeout time.Duration
	// TokenTimeout bounds one token acquisition; default 1 min.
	TokenTimeout time.Duration
	// MaxCredentials bounds the credential cache; default 1024.
	MaxCredentials int
	// Observe, when set, is called after every HTTP exchange (tests,
	// metrics). It must be fast and must not block.
	Observe func(RequestEvent)
	// Now is the clock for certificate dates and the token cache (tests).
	Now func() time.Time
}

// Factory builds credentials and client options. It is safe for
// concurrent use; build one per process.
type Factory struct {
	opts      Options
	log       *slog.Logger
	transport *transport
	clouds    map[cloud.Name]*Cloud
	fpKey     []byte // HMAC key of credential fingerprints, random per process

	mu    sync.Mutex
	lru   *list.List // of *cacheEntry, most recently used first
	byKey map[cacheKey]*list.Element
}

type cacheKey struct {
	connector string // account/org/project/identifier, or the fingerprint for anonymous connectors
	cloud     cloud.Name
}

type cacheEntry struct {
	key         cacheKey
	fingerprint string
	cred        *Credential
}

// NewFactory validates the options and builds the process's transport and
// clouds.
func NewFactory(opts Options) (*Factory, error) {
	if opts.Override != nil {
		if err := opts.Override.Validate(); err != nil {
			return nil, err
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Retry.MaxRetries == 0 {
		opts.Retry.MaxRetries = DefaultMaxRetries
	}
	if opts.Retry.RetryDelay == 0 {
		opts.Retry.RetryDelay = DefaultRetryDelay
	}
	if opts.Retry.MaxRetryDelay == 0 {
		opts.Retry.MaxRetryDelay = DefaultMaxRetryDelay
	}
	if opts.Retry.TryTimeout == 0 {
		opts.Retry.TryTimeout = DefaultTryTimeout
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.TokenTimeout <= 0 {
		opts.TokenTimeout = DefaultTokenTimeout
	}
	if opts.MaxCredentials <= 0 {
		opts.MaxCredentials = DefaultMaxCredentials
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	tr, err := newTransport(opts.Override, opts.UserAgent, opts.Observe)
	if err != nil {
		return nil, err
	}
	f := &Factory{
		opts:      opts,
		log:       opts.Logger.With("component", "azure"),
		transport: tr,
		clouds:    map[cloud.Name]*Cloud{},
		fpKey:     make([]byte, 32),
		lru:       list.New(),
		byKey:     map[cacheKey]*list.Element{},
	}
	if _, err := rand.Read(f.fpKey); err != nil {
		return nil, fmt.Errorf("azure: random key: %w", err)
	}
	for _, n := range cloud.Names() {
		c, err := newCloud(opts.Override, n)
		if err != nil {
			return nil, fmt.Errorf("azure: %w", err)
		}
		f.clouds[n] = c
	}
	return f, nil
}

// ManagedIdentityEndpointFromEnv reads the App Service style identity
// endpoint that App Service, Functions and Container Apps give their
// processes (IDENTITY_ENDPOINT and IDENTITY_HEADER), for a delegate to
// pass as Options.ManagedIdentityEndpoint; nil when they are not set.
func ManagedIdentityEndpointFromEnv(getenv func(string) string) *cloud.AppServiceEndpoint {
	ep, hdr := getenv("IDENTITY_ENDPOINT"), getenv("IDENTITY_HEADER")
	if ep == "" || hdr == "" {
		return nil
	}
	return &cloud.AppServiceEndpoint{Endpoint: ep, Header: hdr}
}

// Cloud returns a cloud as this process reaches it.
func (f *Factory) Cloud(n cloud.Name) (*Cloud, error) {
	if n == "" {
		n = cloud.Public
	}
	c, ok := f.clouds[n]
	if !ok {
		_, err := cloud.Parse(string(n))
		return nil, newError(ReasonConnectorInvalid, failure.Invalid, err.Error(), "Set azureEnvironmentType to AZURE, AZURE_US_GOVERNMENT or AZURE_CHINA.")
	}
	return c, nil
}

// CallTimeout is the default bound of one operation.
func (f *Factory) CallTimeout() time.Duration { return f.opts.CallTimeout }

// ClientOptions are the azcore options of every SDK client and credential
// of cloud c: the shared transport, the retry policy, the cloud
// configuration and the telemetry prefix.
func (f *Factory) ClientOptions(c *Cloud) azcore.ClientOptions {
	retry := f.opts.Retry
	if retry.StatusCodes != nil {
		retry.StatusCodes = append([]int(nil), retry.StatusCodes...)
	}
	return azcore.ClientOptions{
		Cloud:           c.Config,
		Transport:       f.transport,
		Retry:           retry,
		Telemetry:       policy.TelemetryOptions{ApplicationID: applicationID(f.opts.UserAgent)},
		PerCallPolicies: []policy.Policy{callTimeoutPolicy{d: f.opts.CallTimeout}},
	}
}

// applicationID is the telemetry prefix: the user agent's product token,
// at most 24 characters as azcore requires.
func applicationID(ua string) string {
	id := strings.Fields(ua + " azimuth")[0]
	if len(id) > 24 {
		id = id[:24]
	}
	return id
}

// Credential returns the credential of a connector: the cached one when the
// connector, its secrets and key are unchanged, else a new one that
// replaces any older credential of the same connector (its tokens go with
// it). secrets are the connector's resolved secret values keyed by
// connector.SecretUse.Path (ops.Secrets); key is the task's CredentialKey
// (connector and secret versions). Errors are *Error, already classified.
//
// An expired or not yet valid certificate fails here, every time, from the
// certificate's own dates, even while a credential is cached.
func (f *Factory) Credential(c *connector.Connector, secrets map[string][]byte, key string) (*Credential, error) {
	spec, err := credentialSpec(c)
	if err != nil {
		return nil, err
	}
	cl, err := f.Cloud(c.Cloud())
	if err != nil {
		return nil, err
	}
	fp := f.fingerprint(c, cl.Name, spec, secrets, key)
	ck := cacheKey{connector: connectorID(c), cloud: cl.Name}
	if ck.connector == "" {
		ck.connector = "anonymous/" + fp
	}
	if cred := f.lookup(ck, fp); cred != nil {
		return cred, cred.checkDates()
	}
	cred, err := f.build(c, cl, spec, secrets)
	if err != nil {
		return nil, err
	}
	cred = f.insert(ck, fp, cred)
	return cred, cred.checkDates()
}

func (f *Factory) lookup(ck cacheKey, fp string) *Credential {
	f.mu.Lock()
	defer f.mu.Unlock()
	el, ok := f.byKey[ck]
	if !ok {
		return nil
	}
	ent := el.Value.(*cacheEntry)
	if !hmac.Equal([]byte(ent.fingerprint), []byte(fp)) {
		return nil
	}
	f.lru.MoveToFront(el)
	return ent.cred
}

// insert caches cred unless an equal one won the race; a different
// credential of the same connector is dropped.
func (f *Factory) insert(ck cacheKey, fp string, cred *Credential) *Credential {
	f.mu.Lock()
	defer f.mu.Unlock()
	if el, ok := f.byKey[ck]; ok {
		ent := el.Value.(*cacheEntry)
		if hmac.Equal([]byte(ent.fingerprint), []byte(fp)) {
			f.lru.MoveToFront(el)
			return ent.cred
		}
		f.lru.Remove(el)
		delete(f.byKey, ck)
		f.log.Debug("credential replaced", "connector", ck.connector, "cloud", ck.cloud)
	}
	f.byKey[ck] = f.lru.PushFront(&cacheEntry{key: ck, fingerprint: fp, cred: cred})
	for f.lru.Len() > f.opts.MaxCredentials {
		old := f.lru.Back()
		f.lru.Remove(old)
		delete(f.byKey, old.Value.(*cacheEntry).key)
	}
	return cred
}

// Forget drops the cached credential of a connector (deleted, or its
// secret changed) in every cloud.
func (f *Factory) Forget(c *connector.Connector) {
	id := connectorID(c)
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, el := range f.byKey {
		if k.connector == id {
			f.lru.Remove(el)
			delete(f.byKey, k)
		}
	}
}

// Cached is the number of credentials in the cache.
func (f *Factory) Cached() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lru.Len()
}

// Close drops idle connections and every cached credential.
func (f *Factory) Close() {
	f.mu.Lock()
	f.lru.Init()
	f.byKey = map[cacheKey]*list.Element{}
	f.mu.Unlock()
	f.transport.close()
}

// connectorID names a stored connector across versions.
func connectorID(c *connector.Connector) string {
	if c == nil || c.Identifier == "" {
		return ""
	}
	return strings.Join([]string{c.AccountIdentifier, c.OrgIdentifier, c.ProjectIdentifier, c.Identifier}, "/")
}

// fingerprint covers everything a credential is built from: the task's
// credential key, the cloud, the credential's fields and the secret
// values. It is an HMAC under a per-process random key, so it reveals
// nothing about a secret even if it were printed.
func (f *Factory) fingerprint(c *connector.Connector, n cloud.Name, spec credSpec, secrets map[string][]byte, key string) string {
	m := hmac.New(sha256.New, f.fpKey)
	field := func(s string) {
		fmt.Fprintf(m, "%d:", len(s))
		_, _ = io.WriteString(m, s)
	}
	field(key)
	field(string(n))
	field(string(spec.kind))
	field(spec.tenantID)
	field(spec.clientID)
	field(spec.secretPath)
	field(spec.secretRef)
	if spec.secretPath != "" {
		v := secrets[spec.secretPath]
		fmt.Fprintf(m, "%d:", len(v))
		_, _ = m.Write(v)
	}
	return hex.EncodeToString(m.Sum(nil))
}
