// Package azuresim is Azimuth's Azure simulator: Entra ID, managed identity
// (IMDS and App Service), ARM with RBAC, and (in files of their own) the ACR
// data plane and AKS's Kubernetes API, served on loopback over TLS with a CA
// generated at every start. It speaks the real wire protocols closely
// enough that the official Azure SDK for Go cannot tell it from Azure for
// the operations Azimuth uses (see shared/reference/azure-protocols.md and
// docs/azuresim.md).
//
// Tests start one with StartForTest; `azimuth azuresim` runs one
// standalone; `azimuth dev` runs one on the embedded demo world. A Sim
// writes a cloud.Override that points Azimuth at it.
//
// Extending it: a file of this package adds listeners and ARM routes by
// registering a start hook in init (onStart). The hook runs after the
// world is prepared and the CA exists, before any listener serves; it can
// call (*Sim).armRoute to add ARM operations (authenticated, counted,
// fault-injectable and RBAC-checked like the built-in ones), listenTLS /
// listenHTTP for listeners of its own, and addHost to map a real-looking
// host name (a registry login server) to one of them. Authenticate checks
// a bearer token; CheckAccess evaluates RBAC at a scope.
package azuresim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

// Options configure a Sim. The zero value serves the demo world.
type Options struct {
	// World is the world to serve; nil means the embedded demo world. The
	// Sim takes ownership of it.
	World *World
	// TokenLifetime is the lifetime of access tokens (default 1h). Tests
	// use seconds to cross a refresh.
	TokenLifetime time.Duration
	// PageSize is the number of items of an ARM list page (default 100).
	PageSize int
	// LROPolls is how many times a long-running operation reports
	// InProgress before it completes (default 1).
	LROPolls int
	// LRORetryAfter is the polling interval long-running operations ask
	// for, sent as Retry-After-Ms (default 10ms).
	LRORetryAfter time.Duration
	// TrustedCAPEM adds CAs (PEM) to the system pool for fetching
	// federated issuers' OIDC discovery documents and keys.
	TrustedCAPEM []byte
	// Logger receives one line per request at debug level and errors; nil
	// discards.
	Logger *slog.Logger
}

// Sim is a running simulator.
type Sim struct {
	opts Options
	log  *slog.Logger
	ca   *authority

	signKey *rsa.PrivateKey
	kid     string

	mu    sync.RWMutex // guards world and the runtime state below
	world *World

	skew atomic.Int64 // clock skew in nanoseconds

	faults   *faultSet
	counters *counters
	arm      []armRouteSpec
	lro      *lroState
	issuers  *issuerKeys

	lmu       sync.Mutex
	listeners []*listener
	clouds    map[cloud.Name]*cloudListeners
	hosts     map[string]*hostListeners // by lower-case host name
	extraHost map[string]string         // Override.Hosts entries added by extensions
	control   string

	// State of the extensions in acr*.go and aks*.go / kube*.go, set by
	// their start hooks.
	acr *acrState
	aks *aksState

	closeOnce sync.Once
}

type cloudListeners struct {
	name      cloud.Name
	real      cloud.Endpoints
	entraAddr string
	armAddr   string
}

type hostListeners struct {
	name       string
	imdsAddr   string
	appSvcAddr string
}

type listener struct {
	kind string
	name string
	addr string
	srv  *http.Server
}

// The token signing key is generated once per process, not per Sim: MSAL
// keeps managed-identity tokens in a process-wide cache, so a test binary
// that starts several simulators would otherwise present tokens signed by
// a closed simulator's key. Entra's keys do not change between requests
// either.
var (
	signKeyOnce sync.Once
	signKey     *rsa.PrivateKey
	signKid     string
	signKeyErr  error
)

func tokenSigningKey() (*rsa.PrivateKey, string, error) {
	signKeyOnce.Do(func() {
		signKey, signKeyErr = rsa.GenerateKey(rand.Reader, 2048)
		if signKeyErr != nil {
			signKeyErr = fmt.Errorf("generate token signing key: %w", signKeyErr)
			return
		}
		der, _ := x509.MarshalPKIXPublicKey(&signKey.PublicKey)
		signKid = base64.RawURLEncoding.EncodeToString(sha1Sum(der))
	})
	return signKey, signKid, signKeyErr
}

// startHooks are run by Start; see the package comment.
var startHooks []func(*Sim) error

// onStart registers a start hook (call it from init).
func onStart(f func(*Sim) error) { startHooks = append(startHooks, f) }

// Start prepares the world and starts every listener on 127.0.0.1 with
// random ports. Close stops them.
func Start(ctx context.Context, opts Options) (*Sim, error) {
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 100
	}
	if opts.LROPolls <= 0 {
		opts.LROPolls = 1
	}
	if opts.LRORetryAfter <= 0 {
		opts.LRORetryAfter = 10 * time.Millisecond
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := opts.World
	if w == nil {
		var err error
		if w, err = DemoWorld(); err != nil {
			return nil, err
		}
	}
	now := time.Now()
	if err := w.prepare(now); err != nil {
		return nil, fmt.Errorf("azuresim: %w", err)
	}
	s := &Sim{
		opts:      opts,
		log:       logger.With("component", "azuresim"),
		world:     w,
		faults:    &faultSet{},
		counters:  newCounters(),
		lro:       newLROState(),
		clouds:    map[cloud.Name]*cloudListeners{},
		hosts:     map[string]*hostListeners{},
		extraHost: map[string]string{},
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if len(opts.TrustedCAPEM) > 0 && !pool.AppendCertsFromPEM(opts.TrustedCAPEM) {
		return nil, fmt.Errorf("azuresim: TrustedCAPEM holds no certificate")
	}
	s.issuers = newIssuerKeys(pool)
	if s.signKey, s.kid, err = tokenSigningKey(); err != nil {
		return nil, fmt.Errorf("azuresim: %w", err)
	}
	if s.ca, err = newAuthority(now, s.certNames()); err != nil {
		return nil, fmt.Errorf("azuresim: %w", err)
	}
	s.registerARMRoutes()
	for _, hook := range startHooks {
		if err := hook(s); err != nil {
			s.Close()
			return nil, fmt.Errorf("azuresim: %w", err)
		}
	}
	if err := s.startCore(); err != nil {
		s.Close()
		return nil, fmt.Errorf("azuresim: %w", err)
	}
	_ = ctx // listeners live until Close; ctx bounds nothing at start today
	s.log.Info("azure simulator started", "override", s.Override().String())
	return s, nil
}

// certNames are the names the default leaf certificate covers.
func (s *Sim) certNames() []string {
	names := []string{"127.0.0.1", "::1", "localhost"}
	for _, n := range cloud.Names() {
		e, _ := cloud.Builtin(n)
		for _, u := range []string{e.AuthorityHost, e.ResourceManager} {
			names = append(names, strings.TrimSuffix(strings.TrimPrefix(u, "https://"), "/"))
		}
	}
	for _, t := range s.world.Tenants {
		for _, sub := range t.Subscriptions {
			for _, g := range sub.ResourceGroups {
				for _, r := range g.Registries {
					names = append(names, r.LoginServer)
				}
				for _, c := range g.Clusters {
					names = append(names, c.FQDN)
				}
			}
		}
	}
	return names
}

func (s *Sim) startCore() error {
	for _, n := range cloud.Names() {
		real, _ := cloud.Builtin(n)
		cl := &cloudListeners{name: n, real: real}
		var err error
		if cl.entraAddr, err = s.listenTLS("entra", string(n), s.entraRouter(n)); err != nil {
			return err
		}
		if cl.armAddr, err = s.listenTLS("arm", string(n), s.armRouter(n)); err != nil {
			return err
		}
		s.clouds[n] = cl
	}
	s.mu.RLock()
	var hosts []*Host
	for _, t := range s.world.Tenants {
		hosts = append(hosts, t.Hosts...)
	}
	s.mu.RUnlock()
	for _, h := range hosts {
		if err := s.startHost(h.Name); err != nil {
			return err
		}
	}
	var err error
	s.control, err = s.listenHTTP("control", "control", s.controlRouter())
	return err
}

func (s *Sim) startHost(name string) error {
	hl := &hostListeners{name: name}
	var err error
	if hl.imdsAddr, err = s.listenHTTP("imds", name, s.imdsRouter(name)); err != nil {
		return err
	}
	if hl.appSvcAddr, err = s.listenHTTP("appservice", name, s.appServiceRouter(name)); err != nil {
		return err
	}
	s.lmu.Lock()
	s.hosts[strings.ToLower(name)] = hl
	s.lmu.Unlock()
	return nil
}

// listenTLS serves a router over TLS (the Sim's CA) on a random loopback
// port and returns its address.
func (s *Sim) listenTLS(kind, name string, rt *router) (string, error) {
	return s.listen(kind, name, rt, s.serverTLSConfig())
}

// listenTLSConfig is listenTLS with a TLS configuration of the caller's,
// e.g. serverTLSConfig() with ClientAuth set for client certificates.
func (s *Sim) listenTLSConfig(kind, name string, rt *router, cfg *tls.Config) (string, error) {
	return s.listen(kind, name, rt, cfg)
}

// serverTLSConfig is a fresh TLS configuration serving the Sim's leaf
// certificates; callers may change it before listenTLSConfig.
func (s *Sim) serverTLSConfig() *tls.Config { return s.ca.serverTLSConfig() }

// listenHTTP serves a router over plain HTTP on a random loopback port.
func (s *Sim) listenHTTP(kind, name string, rt *router) (string, error) {
	return s.listen(kind, name, rt, nil)
}

type tlsConnKey struct{}

func (s *Sim) listen(kind, name string, rt *router, tlsCfg *tls.Config) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen for %s %s: %w", kind, name, err)
	}
	srv := &http.Server{
		Handler:           s.serve(kind, rt),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		// HTTP/1.1 only: dropped-connection faults hijack the connection.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		// The lenient wrapper hides the *tls.Conn from net/http; keep it
		// in the context so serve can restore r.TLS (client certificates).
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if lc, ok := c.(*lenientConn); ok {
				if tc, ok := lc.Conn.(*tls.Conn); ok {
					return context.WithValue(ctx, tlsConnKey{}, tc)
				}
			}
			return ctx
		},
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	ln = lenientListener{ln}
	l := &listener{kind: kind, name: name, addr: ln.Addr().String(), srv: srv}
	s.lmu.Lock()
	s.listeners = append(s.listeners, l)
	s.lmu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("listener stopped", "kind", kind, "name", name, "err", err)
		}
	}()
	return l.addr, nil
}

// addHost maps a host:port (a registry login server's "name:443") to a
// listener address in Override().Hosts.
func (s *Sim) addHost(hostPort, addr string) {
	s.lmu.Lock()
	s.extraHost[strings.ToLower(hostPort)] = addr
	s.lmu.Unlock()
}

// serve wraps a router: request ids, counters, faults, routing.
func (s *Sim) serve(kind string, rt *router) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			if tc, ok := r.Context().Value(tlsConnKey{}).(*tls.Conn); ok {
				st := tc.ConnectionState()
				r.TLS = &st
			}
		}
		rte, ps, found := rt.match(r.Method, r.URL.EscapedPath())
		name := kind + ".unmatched"
		if rte != nil {
			name = rte.name
		}
		h := w.Header()
		reqID := newGUID()
		h.Set("x-ms-request-id", reqID)
		corr := r.Header.Get("x-ms-correlation-request-id")
		if corr == "" {
			corr = r.Header.Get("client-request-id")
		}
		if corr == "" {
			corr = newGUID()
		}
		h.Set("x-ms-correlation-request-id", corr)
		h.Set("x-ms-routing-request-id", "LOCAL:"+strings.ToUpper(strings.ReplaceAll(reqID, "-", "")))
		if cid := r.Header.Get("client-request-id"); cid != "" {
			h.Set("client-request-id", cid)
		}
		s.counters.route(name)
		s.log.Debug("request", "kind", kind, "route", name, "method", r.Method, "path", r.URL.Path)
		if kind != "control" && s.faults.apply(w, r, kind, name) {
			return
		}
		switch {
		case rte != nil:
			rte.h(w, withRoute(r, name, ps))
		case found:
			writeKindError(kind, w, r, http.StatusMethodNotAllowed, "MethodNotAllowed",
				fmt.Sprintf("The requested resource does not support http method '%s'.", r.Method))
		default:
			writeKindError(kind, w, r, http.StatusNotFound, "NotFound",
				fmt.Sprintf("No HTTP resource was found that matches the request URI '%s'.", r.URL.Path))
		}
	})
}

// Close stops every listener.
func (s *Sim) Close() {
	s.closeOnce.Do(func() {
		s.lmu.Lock()
		ls := s.listeners
		s.lmu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, l := range ls {
			if err := l.srv.Shutdown(ctx); err != nil {
				_ = l.srv.Close()
			}
		}
	})
}

// StartForTest starts a Sim on w (nil: the demo world) with short LRO
// polling, and closes it when the test ends.
func StartForTest(t testing.TB, w *World) *Sim {
	t.Helper()
	return StartForTestWith(t, Options{World: w})
}

// StartForTestWith is StartForTest with options.
func StartForTestWith(t testing.TB, opts Options) *Sim {
	t.Helper()
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start Azure simulator: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Now is the simulator's clock: the real time plus the skew.
func (s *Sim) Now() time.Time { return time.Now().Add(time.Duration(s.skew.Load())) }

// SetClockSkew moves the simulator's clock: with a positive skew secrets
// and certificates expire early and fresh client assertions look stale
// (AADSTS700024); tokens it issued earlier expire sooner.
func (s *Sim) SetClockSkew(d time.Duration) { s.skew.Store(int64(d)) }

// CACertPEM is the PEM of the CA every TLS listener's certificate chains to.
func (s *Sim) CACertPEM() []byte { return append([]byte(nil), s.ca.certPEM...) }

// CACertPool is a pool holding only the simulator's CA.
func (s *Sim) CACertPool() *x509.CertPool { return s.ca.pool() }

// Endpoints returns the simulator's endpoints for a cloud.
func (s *Sim) Endpoints(n cloud.Name) cloud.Endpoints {
	cl := s.clouds[n]
	e := cl.real
	e.AuthorityHost = "https://" + cl.entraAddr + "/"
	e.ResourceManager = "https://" + cl.armAddr
	return e
}

// ControlURL is the base URL of the control listener (/_sim/...).
func (s *Sim) ControlURL() string { return "http://" + s.control }

// Override is the cloud override that points Azimuth's server at the
// simulator: every cloud's endpoints, the CA bundle and the host map of
// real-looking names (registry login servers) added by extensions.
func (s *Sim) Override() *cloud.Override {
	o := &cloud.Override{Clouds: map[cloud.Name]cloud.Endpoints{}, CABundle: string(s.ca.certPEM), Hosts: map[string]string{}}
	for _, n := range cloud.Names() {
		o.Clouds[n] = s.Endpoints(n)
	}
	s.lmu.Lock()
	for k, v := range s.extraHost {
		o.Hosts[k] = v
	}
	s.lmu.Unlock()
	return o
}

// HostOverride is the override for a process running "on" a simulated
// host (a delegate with a managed identity): Override plus IMDS
// (169.254.169.254:80 mapped to the host's IMDS listener) and the host's
// App Service identity endpoint and header.
func (s *Sim) HostOverride(host string) (*cloud.Override, error) {
	s.lmu.Lock()
	hl := s.hosts[strings.ToLower(host)]
	s.lmu.Unlock()
	if hl == nil {
		return nil, fmt.Errorf("azuresim: no simulated host %q", host)
	}
	s.mu.RLock()
	var header Secret
	for _, t := range s.world.Tenants {
		if h := t.host(host); h != nil {
			header = h.IdentityHeader
		}
	}
	s.mu.RUnlock()
	o := s.Override()
	o.Hosts["169.254.169.254:80"] = hl.imdsAddr
	o.AppService = &cloud.AppServiceEndpoint{Endpoint: "http://" + hl.appSvcAddr + "/msi/token", Header: header.Reveal()}
	return o, nil
}

// HostNames lists the simulated hosts.
func (s *Sim) HostNames() []string {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	var out []string
	for _, h := range s.hosts {
		out = append(out, h.name)
	}
	sort.Strings(out)
	return out
}

// HTTPClient returns a client that trusts the simulator's CA (and the
// system roots) and dials through Override().Hosts. It also sends the
// clouds' real host names (login.microsoftonline.com,
// management.azure.com, ...) to the simulator, so SDK clients left on the
// real endpoints, or MSAL's instance discovery, reach it too. Use it as
// the Azure SDK's ClientOptions.Transport.
func (s *Sim) HTTPClient() *http.Client { return OverrideHTTPClient(s.withRealHosts(s.Override())) }

// withRealHosts adds the clouds' real Entra and ARM host names to o.Hosts.
func (s *Sim) withRealHosts(o *cloud.Override) *cloud.Override {
	for _, n := range cloud.Names() {
		cl := s.clouds[n]
		for _, pair := range [][2]string{{cl.real.AuthorityHost, cl.entraAddr}, {cl.real.ResourceManager, cl.armAddr}} {
			host := strings.TrimSuffix(strings.TrimPrefix(pair[0], "https://"), "/")
			o.Hosts[host+":443"] = pair[1]
		}
	}
	return o
}

// HostHTTPClient is HTTPClient for a process on a simulated host: it also
// reaches the host's IMDS at 169.254.169.254.
func (s *Sim) HostHTTPClient(host string) (*http.Client, error) {
	o, err := s.HostOverride(host)
	if err != nil {
		return nil, err
	}
	return OverrideHTTPClient(s.withRealHosts(o)), nil
}

// OverrideHTTPClient builds an HTTP client from an override: its CA bundle
// on top of the system roots and its host map applied to every dial.
func OverrideHTTPClient(o *cloud.Override) *http.Client {
	pool, err := o.CertPool()
	if err != nil {
		pool, _ = x509.SystemCertPool()
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	hosts := map[string]string{}
	for k, v := range o.Hosts {
		hosts[strings.ToLower(k)] = v
	}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if to, ok := hosts[strings.ToLower(addr)]; ok {
				addr = to
			}
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}
