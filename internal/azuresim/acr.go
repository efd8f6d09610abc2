package azuresim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

// The ACR data plane (azure-protocols §5): one HTTPS listener per registry,
// reached through its login server name (Override().Hosts maps
// "<login>:443" to it; the leaf certificate carries the name). It speaks
// the Docker token-auth challenge, ACR's /oauth2/exchange and
// /oauth2/token, the catalog, tag and manifest APIs of /acr/v1 and /v2.
// Access is Azure RBAC at the registry's scope, inherited from the
// resource group and subscription: pull and metadata reads need
// Microsoft.ContainerRegistry/registries/pull/read (AcrPull, AcrPush,
// Reader, Contributor, Owner), push needs .../push/write, delete needs
// .../artifacts/delete. The admin user (when enabled) may do everything.
//
// Route names (counters, faults): acr.ping, acr.exchange, acr.token,
// acr.catalog, acr.v2.catalog, acr.repository, acr.tags, acr.tag,
// acr.v2.tags, acr.manifest, acr.manifest.properties, acr.blob.

const (
	acrIssuer      = "Azure Container Registry"
	acrDefaultPage = 100
	acrMaxPage     = 1000
	// acrNullUser is the user name that marks an ACR refresh or access
	// token given as a password (docker login, the SDK's password grant).
	acrNullUser = "00000000-0000-0000-0000-000000000000"

	acrPull   = "Microsoft.ContainerRegistry/registries/pull/read"
	acrPush   = "Microsoft.ContainerRegistry/registries/push/write"
	acrDelete = "Microsoft.ContainerRegistry/registries/artifacts/delete"
)

func init() {
	onStart(startACR)
	errorWriters["acr"] = writeACRErrorShape
}

// acrState is the ACR data plane of a Sim.
type acrState struct {
	byLogin map[string]*acrRegistry // lower-case login server
}

// acrRegistry is one registry's data plane.
type acrRegistry struct {
	s        *Sim
	reg      *Registry // read under s.mu
	login    string
	tenantID string
	cloud    cloud.Name
	scope    string // the registry's ARM resource id
	addr     string

	digests    *digestIndex
	orders     sync.Map // *Repository -> *tagOrders
	genDigests sync.Map // generated repository name -> *digestCache
}

func startACR(s *Sim) error {
	st := &acrState{byLogin: map[string]*acrRegistry{}}
	var regs []*acrRegistry
	s.mu.RLock()
	for _, t := range s.world.Tenants {
		for _, sub := range t.Subscriptions {
			for _, g := range sub.ResourceGroups {
				for _, r := range g.Registries {
					regs = append(regs, &acrRegistry{
						s: s, reg: r, login: strings.ToLower(r.LoginServer), tenantID: t.ID, cloud: t.Cloud,
						scope:   resScope(sub.ID, g.Name, acrProvider, r.Name),
						digests: newDigestIndex(10_000),
					})
				}
			}
		}
	}
	s.mu.RUnlock()
	for _, a := range regs {
		if _, dup := st.byLogin[a.login]; dup {
			return fmt.Errorf("two registries have the login server %s", a.login)
		}
		addr, err := s.listenTLS("acr", a.login, a.router())
		if err != nil {
			return err
		}
		a.addr = addr
		st.byLogin[a.login] = a
		s.addHost(a.login+":443", addr)
	}
	s.acr = st
	return nil
}

// RegistryEndpoint returns the endpoint of a registry's data plane,
// "https://<login server>" (reachable with HTTPClient or any client using
// Override().Hosts), by login server or registry name.
func (s *Sim) RegistryEndpoint(nameOrLogin string) (string, error) {
	a := s.acrRegistry(nameOrLogin)
	if a == nil {
		return "", fmt.Errorf("azuresim: no registry %q", nameOrLogin)
	}
	return "https://" + a.login, nil
}

// RegistryAddr returns the loopback address (host:port) a registry's data
// plane listens on, for clients that cannot map host names.
func (s *Sim) RegistryAddr(nameOrLogin string) (string, error) {
	a := s.acrRegistry(nameOrLogin)
	if a == nil {
		return "", fmt.Errorf("azuresim: no registry %q", nameOrLogin)
	}
	return a.addr, nil
}

func (s *Sim) acrRegistry(nameOrLogin string) *acrRegistry {
	if s.acr == nil {
		return nil
	}
	k := strings.ToLower(nameOrLogin)
	if a := s.acr.byLogin[k]; a != nil {
		return a
	}
	for _, a := range s.acr.byLogin {
		if strings.EqualFold(a.reg.Name, nameOrLogin) {
			return a
		}
	}
	return nil
}

func (a *acrRegistry) router() *router {
	rt := newRouter("acr")
	rt.handle(http.MethodGet, "/v2", "acr.ping", a.ping)
	rt.handle(http.MethodPost, "/oauth2/exchange", "acr.exchange", a.exchange)
	rt.handle(http.MethodPost, "/oauth2/token", "acr.token", a.token)
	rt.handle(http.MethodGet, "/oauth2/token", "acr.token", a.token)
	rt.handle(http.MethodGet, "/acr/v1/_catalog", "acr.catalog", a.catalog(false))
	rt.handle(http.MethodGet, "/v2/_catalog", "acr.v2.catalog", a.catalog(true))
	rt.handle(http.MethodGet, "/acr/v1/{repo...}", "acr.repository", a.repository)
	rt.handle(http.MethodGet, "/acr/v1/{repo...}/_tags", "acr.tags", a.tags)
	rt.handle(http.MethodGet, "/acr/v1/{repo...}/_tags/{tag}", "acr.tag", a.tagProperties)
	rt.handle(http.MethodGet, "/acr/v1/{repo...}/_manifests/{digest}", "acr.manifest.properties", a.manifestProperties)
	rt.handle(http.MethodGet, "/v2/{repo...}/tags/list", "acr.v2.tags", a.v2Tags)
	rt.handle(http.MethodGet, "/v2/{repo...}/manifests/{reference}", "acr.manifest", a.manifest)
	rt.handle(http.MethodGet, "/v2/{repo...}/blobs/{digest}", "acr.blob", a.blob)
	return rt
}

// ---- errors ----

// acrErr is one entry of the Docker error envelope.
type acrErr struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

func writeACRError(w http.ResponseWriter, status int, code, message string, detail any) {
	w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
	writeJSON(w, status, map[string][]acrErr{"errors": {{Code: code, Message: message, Detail: detail}}})
}

// writeACRErrorShape answers faults and unmatched routes in the Docker
// envelope.
func writeACRErrorShape(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	switch status {
	case http.StatusTooManyRequests:
		code = "TOOMANYREQUESTS"
	case http.StatusUnauthorized:
		code = "UNAUTHORIZED"
	case http.StatusForbidden:
		code = "DENIED"
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusBadRequest:
		code = "UNSUPPORTED"
	default:
		if status >= 500 {
			code = "UNAVAILABLE"
		}
	}
	writeACRError(w, status, code, message, nil)
}

// ---- tokens ----

// acrAccess is one entry of an access token's access claim (and of a
// challenge's detail).
type acrAccess struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// acrClaims are the claims of the refresh and access tokens a registry
// issues (Azure/acr docs/AAD-OAuth.md).
type acrClaims struct {
	JTI         string       `json:"jti"`
	Subject     string       `json:"sub"`
	NotBefore   int64        `json:"nbf"`
	ExpiresAt   int64        `json:"exp"`
	IssuedAt    int64        `json:"iat"`
	Issuer      string       `json:"iss"`
	Audience    string       `json:"aud"`
	Version     string       `json:"version"`
	GrantType   string       `json:"grant_type"`
	Tenant      string       `json:"tenant,omitempty"`
	Permissions *Permission  `json:"permissions,omitempty"`
	Access      []acrAccess  `json:"access,omitempty"`
	Roles       []string     `json:"roles"`
	Kind        acrTokenKind `json:"-"`
}

type acrTokenKind int

const (
	acrRefreshToken acrTokenKind = iota + 1
	acrAccessToken
)

// signACR signs claims as an RS256 JWT whose payload segment is also valid
// standard base64 (no '-' or '_'): the Go SDK decodes the refresh token's
// exp with base64.StdEncoding. For ASCII JSON only '>', '?', '~' and DEL at
// every third byte can produce those characters; leading spaces shift
// them until none does.
func (s *Sim) signACR(c acrClaims) (string, error) {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"` + s.kid + `","typ":"JWT"}`))
	body, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode registry token: %w", err)
	}
	var payload string
	for pad := 0; ; pad++ {
		if pad == 3 {
			return "", errors.New("encode registry token: no padding gives a std-base64-safe payload")
		}
		payload = base64.RawURLEncoding.EncodeToString(append([]byte(strings.Repeat(" ", pad)), body...))
		if !strings.ContainsAny(payload, "-_") {
			break
		}
	}
	sum := sha256.Sum256([]byte(header + "." + payload))
	sig, err := rsa.SignPKCS1v15(nil, s.signKey, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign registry token: %w", err)
	}
	return header + "." + payload + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// verifyACR checks a registry token: signature, issuer, audience (this
// registry), kind and expiry (the simulator's clock, no leeway, so clients
// refresh exactly when a token expires).
func (a *acrRegistry) verifyACR(raw string, kind acrTokenKind) (*acrClaims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("the token is not a JWT")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, errors.New("the token signature is malformed")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&a.s.signKey.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return nil, errors.New("the token signature is invalid")
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("the token payload is malformed")
	}
	var c acrClaims
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, errors.New("the token payload is malformed")
	}
	switch {
	case c.Issuer != acrIssuer || !strings.EqualFold(c.Audience, a.login):
		return nil, errors.New("the token was not issued by this registry")
	case kind == acrRefreshToken && c.GrantType != "refresh_token":
		return nil, errors.New("the token is not a refresh token")
	case kind == acrAccessToken && c.GrantType == "refresh_token":
		return nil, errors.New("the token is not an access token")
	case !a.s.Now().Before(time.Unix(c.ExpiresAt, 0)):
		return nil, errors.New("the token has expired")
	}
	c.Kind = kind
	return &c, nil
}

func (a *acrRegistry) newClaims(sub, grant, tenant string) acrClaims {
	now := a.s.Now()
	return acrClaims{
		JTI: newGUID(), Subject: sub, NotBefore: now.Unix(), IssuedAt: now.Unix(),
		ExpiresAt: now.Add(a.s.opts.TokenLifetime).Unix(), Issuer: acrIssuer, Audience: a.login,
		Version: "1.0", GrantType: grant, Tenant: tenant, Roles: []string{},
	}
}

// ---- identities ----

// acrIdentity is who a request or token request acts as: the admin user, a
// principal of the registry's tenant (RBAC decides), or the holder of an
// access token (its access claim decides).
type acrIdentity struct {
	admin    bool
	objectID string
	token    *acrClaims
}

// allows reports whether the identity may do action on a resource
// ("registry"/"catalog" or "repository"/<name>).
func (a *acrRegistry) allows(id *acrIdentity, typ, name, action string) bool {
	switch {
	case id.admin:
		return true
	case id.token != nil:
		for _, acc := range id.token.Access {
			if acc.Type == typ && acc.Name == name && (containsExact(acc.Actions, action) || containsExact(acc.Actions, "*")) {
				return true
			}
		}
		return false
	}
	rbac := acrRBACAction(typ, action)
	return rbac != "" && a.s.CheckAccess(a.tenantID, id.objectID, rbac, a.scope, false)
}

// acrRBACAction maps a token scope's action to the Azure RBAC action that
// grants it ("" when none does).
func acrRBACAction(typ, action string) string {
	switch {
	case typ == "registry":
		return acrPull // registry:catalog:* — AcrPull lists repositories
	case typ != "repository":
		return ""
	}
	switch action {
	case "pull", "metadata_read":
		return acrPull
	case "push", "metadata_write":
		return acrPush
	case "delete":
		return acrDelete
	}
	return ""
}

// basicIdentity resolves user name and password: the admin user and one of
// its passwords; a service principal's client id and secret; or the null
// GUID and an ACR refresh or access token. nil when nothing matches.
func (a *acrRegistry) basicIdentity(user, pass string) *acrIdentity {
	if user == "" || pass == "" {
		return nil
	}
	if user == acrNullUser {
		if c, err := a.verifyACR(pass, acrRefreshToken); err == nil {
			return &acrIdentity{objectID: c.Subject}
		}
		if c, err := a.verifyACR(pass, acrAccessToken); err == nil {
			return &acrIdentity{token: c}
		}
		return nil
	}
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	if strings.EqualFold(user, a.reg.Name) {
		if !a.reg.AdminUserEnabled {
			return nil
		}
		for _, p := range a.reg.AdminPasswords {
			if subtle.ConstantTimeCompare([]byte(p), []byte(pass)) == 1 {
				return &acrIdentity{admin: true}
			}
		}
		return nil
	}
	t := a.s.world.tenant(a.tenantID)
	if t == nil {
		return nil
	}
	app := t.app(user)
	if app == nil {
		return nil
	}
	now := a.s.Now()
	for _, sec := range app.Secrets {
		if subtle.ConstantTimeCompare([]byte(sec.Value), []byte(pass)) == 1 && (sec.ExpiresAt.IsZero() || now.Before(sec.ExpiresAt)) {
			return &acrIdentity{objectID: app.ObjectID}
		}
	}
	return nil
}

// ---- scopes and challenges ----

// acrScope is one requested scope, "type:name:action[,action...]".
type acrScope struct {
	Type, Name string
	Actions    []string
}

func (sc acrScope) String() string {
	return sc.Type + ":" + sc.Name + ":" + strings.Join(sc.Actions, ",")
}

// parseScopes reads every scope parameter; one parameter may hold several
// scopes separated by spaces. Malformed scopes are dropped.
func parseScopes(values []string) []acrScope {
	var out []acrScope
	for _, v := range values {
		for _, f := range strings.Fields(v) {
			i, j := strings.Index(f, ":"), strings.LastIndex(f, ":")
			if i <= 0 || j <= i+1 || j == len(f)-1 {
				continue
			}
			out = append(out, acrScope{Type: f[:i], Name: f[i+1 : j], Actions: strings.Split(f[j+1:], ",")})
		}
	}
	return out
}

// challenge answers 401 with the Bearer challenge for a scope ("" for the
// /v2/ ping). The header has no space after commas, which the Go SDK's
// parser requires.
func (a *acrRegistry) challenge(w http.ResponseWriter, r *http.Request, need *acrScope, tokenError string) {
	v := fmt.Sprintf(`Bearer realm="https://%s/oauth2/token",service="%s"`, requestHost(r, a.login), a.login)
	var detail any
	if need != nil {
		v += fmt.Sprintf(`,scope="%s"`, need.String())
		var d []map[string]string
		for _, act := range need.Actions {
			d = append(d, map[string]string{"Type": need.Type, "Name": need.Name, "Action": act})
		}
		detail = d
	}
	if tokenError != "" {
		v += fmt.Sprintf(`,error="%s"`, tokenError)
	}
	w.Header().Set("WWW-Authenticate", v)
	writeACRError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required, visit https://aka.ms/acr/authorization for more information.", detail)
}

// requestHost is the host the client addressed (the login server, or a
// loopback address for clients that dial the listener directly).
func requestHost(r *http.Request, fallback string) string {
	h := r.Host
	if h == "" {
		return fallback
	}
	return strings.TrimSuffix(h, ":443")
}

// authorize checks a data-plane request's credentials for one action on a
// resource; nil need asks only for valid credentials (the /v2/ ping). It
// answers 401 with a challenge (no credentials, an invalid or expired
// token, or a token without this access) or 403 DENIED (Basic credentials
// without the role), and reports whether the request may go on.
func (a *acrRegistry) authorize(w http.ResponseWriter, r *http.Request, need *acrScope) bool {
	w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	var id *acrIdentity
	switch {
	case h == "":
		a.challenge(w, r, need, "")
		return false
	case strings.EqualFold(scheme, "Bearer"):
		c, err := a.verifyACR(strings.TrimSpace(cred), acrAccessToken)
		if err != nil {
			a.challenge(w, r, need, "invalid_token")
			return false
		}
		id = &acrIdentity{token: c}
	case strings.EqualFold(scheme, "Basic"):
		user, pass, ok := r.BasicAuth()
		if ok {
			id = a.basicIdentity(user, pass)
		}
		if id == nil {
			a.challenge(w, r, need, "")
			return false
		}
	default:
		a.challenge(w, r, need, "")
		return false
	}
	if need == nil {
		return true
	}
	for _, act := range need.Actions {
		if a.allows(id, need.Type, need.Name, act) {
			continue
		}
		if id.token != nil {
			// Clients (the Go SDK among them) reuse one access token and
			// fetch another only on a 401 challenge.
			a.challenge(w, r, need, "insufficient_scope")
			return false
		}
		writeACRError(w, http.StatusForbidden, "DENIED", "requested access to the resource is denied", nil)
		return false
	}
	return true
}

// ---- /oauth2 ----

func (a *acrRegistry) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		writeACRError(w, http.StatusBadRequest, "UNSUPPORTED", "the request body could not be parsed as a form", nil)
		return false
	}
	if svc := r.Form.Get("service"); svc != "" && !strings.EqualFold(svc, a.login) {
		writeACRError(w, http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("the service %q does not match the registry %q", svc, a.login), nil)
		return false
	}
	return true
}

// exchange trades an Entra access token (audience
// https://containerregistry.azure.net, or ARM's, as Azure accepts both) of
// the registry's tenant for an ACR refresh token.
func (a *acrRegistry) exchange(w http.ResponseWriter, r *http.Request) {
	if !a.parseForm(w, r) {
		return
	}
	f := r.PostForm
	if f.Get("service") == "" {
		writeACRError(w, http.StatusBadRequest, "UNSUPPORTED", "the service parameter is required", nil)
		return
	}
	switch gt := f.Get("grant_type"); gt {
	case "access_token", "access_token_refresh_token":
	case "":
		writeACRError(w, http.StatusBadRequest, "UNSUPPORTED", "the grant_type parameter is required", nil)
		return
	default:
		writeACRError(w, http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("grant type %q is not supported; use access_token", gt), nil)
		return
	}
	raw := f.Get("access_token")
	if raw == "" {
		writeACRError(w, http.StatusBadRequest, "UNSUPPORTED", "the access_token parameter is required", nil)
		return
	}
	ends, _ := cloud.Builtin(a.cloud)
	audiences := append([]string{ends.ContainerRegistryAudience, ends.ContainerRegistryAudience + "/"}, armAudiences(a.cloud)...)
	caller, terr := a.s.ValidateToken(raw, audiences...)
	if terr != nil {
		writeACRError(w, http.StatusUnauthorized, "UNAUTHORIZED", "the Azure Active Directory access token is not valid: "+terr.Message, nil)
		return
	}
	if !strings.EqualFold(caller.TenantID, a.tenantID) {
		writeACRError(w, http.StatusUnauthorized, "UNAUTHORIZED", fmt.Sprintf("the access token is from tenant %s, but the registry belongs to tenant %s", caller.TenantID, a.tenantID), nil)
		return
	}
	if t := f.Get("tenant"); t != "" && !strings.EqualFold(t, a.tenantID) {
		writeACRError(w, http.StatusUnauthorized, "UNAUTHORIZED", fmt.Sprintf("tenant %s is not the registry's tenant", t), nil)
		return
	}
	c := a.newClaims(caller.ObjectID, "refresh_token", a.tenantID)
	perms := a.s.EffectivePermissions(a.tenantID, caller.ObjectID, a.scope)
	c.Permissions = &Permission{Actions: []string{}, NotActions: []string{}}
	for _, p := range perms {
		c.Permissions.Actions = append(c.Permissions.Actions, p.Actions...)
		c.Permissions.NotActions = append(c.Permissions.NotActions, p.NotActions...)
	}
	tok, err := a.s.signACR(c)
	if err != nil {
		writeACRError(w, http.StatusInternalServerError, "UNKNOWN", err.Error(), nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"refresh_token": tok})
}

// token issues an access token for the requested scopes, granting the
// actions the identity holds: grant_type=refresh_token with an ACR
// refresh token; grant_type=password with a user name and password; or
// Basic credentials (GET or POST, as docker does). An identity granted
// nothing of what it asked for gets 401 here.
func (a *acrRegistry) token(w http.ResponseWriter, r *http.Request) {
	if !a.parseForm(w, r) {
		return
	}
	f := r.Form
	scopes := parseScopes(f["scope"])
	var id *acrIdentity
	anonymous := false
	if user, pass, ok := r.BasicAuth(); ok {
		id = a.basicIdentity(user, pass)
	} else {
		switch gt := f.Get("grant_type"); gt {
		case "refresh_token":
			c, err := a.verifyACR(f.Get("refresh_token"), acrRefreshToken)
			if err != nil {
				writeACRError(w, http.StatusUnauthorized, "UNAUTHORIZED", "the refresh token is not valid: "+err.Error(), nil)
				return
			}
			id = &acrIdentity{objectID: c.Subject}
		case "password":
			user, pass := f.Get("username"), f.Get("password")
			anonymous = user == "" && pass == ""
			id = a.basicIdentity(user, pass)
		case "":
			anonymous = true
		default:
			writeACRError(w, http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("grant type %q is not supported", gt), nil)
			return
		}
	}
	if id == nil {
		msg := "authentication required, visit https://aka.ms/acr/authorization for more information."
		if anonymous {
			msg = "anonymous pull is not enabled for this registry; " + msg
		}
		writeACRError(w, http.StatusUnauthorized, "UNAUTHORIZED", msg, nil)
		return
	}
	var granted []acrAccess
	var refused []map[string]string
	for _, sc := range scopes {
		acts := sc.Actions
		if containsExact(acts, "*") {
			if sc.Type == "registry" {
				acts = []string{"*"}
			} else {
				acts = []string{"pull", "push", "delete", "metadata_read", "metadata_write"}
			}
		}
		acc := acrAccess{Type: sc.Type, Name: sc.Name, Actions: []string{}}
		for _, act := range acts {
			if a.allows(id, sc.Type, sc.Name, act) {
				acc.Actions = append(acc.Actions, act)
			} else {
				refused = append(refused, map[string]string{"Type": sc.Type, "Name": sc.Name, "Action": act})
			}
		}
		if len(acc.Actions) > 0 {
			granted = append(granted, acc)
		}
	}
	if len(scopes) > 0 && len(granted) == 0 {
		writeACRError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required, visit https://aka.ms/acr/authorization for more information.", refused)
		return
	}
	sub, tenant := id.objectID, a.tenantID
	switch {
	case id.admin:
		sub, tenant = a.reg.Name, ""
	case id.token != nil:
		sub, tenant = id.token.Subject, id.token.Tenant
	}
	c := a.newClaims(sub, "access_token", tenant)
	c.Access = granted
	if c.Access == nil {
		c.Access = []acrAccess{}
	}
	sort.SliceStable(c.Access, func(i, j int) bool { return c.Access[i].Name < c.Access[j].Name })
	tok, err := a.s.signACR(c)
	if err != nil {
		writeACRError(w, http.StatusInternalServerError, "UNKNOWN", err.Error(), nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"access_token": tok})
}

func (a *acrRegistry) ping(w http.ResponseWriter, r *http.Request) {
	if !a.authorize(w, r, nil) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}
