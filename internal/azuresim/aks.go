package azuresim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

// AKS: every managed cluster of the world gets a minimal Kubernetes API on
// a loopback TLS listener of its own (kube.go), with a CA of its own, and
// listClusterUserCredential / listClusterAdminCredential return kubeconfigs
// pointing at it, as Azure builds them:
//
//   - admin credentials (clusterAdmin, refused by the ARM route when local
//     accounts are disabled): a client certificate signed by the cluster's
//     CA for CN=masterclient, O=system:masters, and a static token;
//   - user credentials of a cluster without Entra integration: the same
//     kind of certificate for CN=clusterUser, O=system:masters (Azure gives
//     non-Entra users full access too);
//   - user credentials of an Entra cluster: no secret at all, but a
//     kubelogin exec block (format=exec, the default from Kubernetes 1.24)
//     or the legacy azure auth-provider (format=azure).
//
// Local credentials are static, as in Azure: generated once per cluster
// and returned by every call. The server URL is the listener's loopback
// address ("https://127.0.0.1:port"); the certificate also names the
// cluster's FQDN.

// AKSClientAppID is the public client application kubelogin and the Azure
// CLI use for AKS (the client-id of the kubeconfigs Azure returns).
const AKSClientAppID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"

func init() {
	onStart(startAKS)
	clusterKubeconfig = buildKubeconfig
	errorWriters["kube"] = writeKubeErrorShape
}

type aksState struct {
	clusters []*kubeCluster
}

// kubeCluster is one cluster's Kubernetes API.
type kubeCluster struct {
	s        *Sim
	c        *Cluster // read under s.mu
	name     string
	rg       string
	subID    string
	tenantID string
	cloud    cloud.Name
	id       string // ARM resource id
	created  time.Time

	caCert *x509.Certificate
	caKey  crypto.Signer
	caPEM  []byte
	server *tls.Certificate
	addr   string

	mu        sync.Mutex
	creds     map[string]*localCred // "clusterAdmin", "clusterUser"
	callers   map[string]int        // requests per authenticated user
	tokenUses map[[32]byte]int      // requests per bearer token (sha256)
}

// localCred is a static local-account credential of a cluster.
type localCred struct {
	user    string
	groups  []string
	certPEM []byte
	keyPEM  []byte
	token   string
}

func startAKS(s *Sim) error {
	st := &aksState{}
	now := s.Now()
	s.mu.RLock()
	for _, t := range s.world.Tenants {
		for _, sub := range t.Subscriptions {
			for _, g := range sub.ResourceGroups {
				for _, c := range g.Clusters {
					st.clusters = append(st.clusters, &kubeCluster{
						s: s, c: c, name: c.Name, rg: g.Name, subID: sub.ID, tenantID: t.ID, cloud: t.Cloud,
						id:      resScope(sub.ID, g.Name, aksProvider, c.Name),
						created: now.Add(-72 * time.Hour).UTC().Truncate(time.Second),
						creds:   map[string]*localCred{}, callers: map[string]int{}, tokenUses: map[[32]byte]int{},
					})
				}
			}
		}
	}
	s.mu.RUnlock()
	for _, kc := range st.clusters {
		s.mu.RLock()
		fqdn := kc.c.FQDN
		s.mu.RUnlock()
		if err := kc.newCA(now, fqdn); err != nil {
			return fmt.Errorf("cluster %s: %w", kc.name, err)
		}
		pool := x509.NewCertPool()
		pool.AddCert(kc.caCert)
		cfg := &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{*kc.server},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    pool,
		}
		addr, err := s.listenTLSConfig("kube", kc.name, kc.router(), cfg)
		if err != nil {
			return err
		}
		kc.addr = addr
	}
	s.aks = st
	return nil
}

// newCA creates the cluster's CA and the API server's certificate.
func (kc *kubeCluster) newCA(now time.Time, fqdn string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate cluster CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(), Subject: pkix.Name{CommonName: "ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("create cluster CA: %w", err)
	}
	if kc.caCert, err = x509.ParseCertificate(der); err != nil {
		return err
	}
	kc.caKey = key
	kc.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})

	skey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate API server key: %w", err)
	}
	stmpl := &x509.Certificate{
		SerialNumber: randomSerial(), Subject: pkix.Name{CommonName: "apiserver"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(2 * 365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", fqdn},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.IPv4(10, 0, 0, 1)},
	}
	sder, err := x509.CreateCertificate(rand.Reader, stmpl, kc.caCert, &skey.PublicKey, key)
	if err != nil {
		return fmt.Errorf("create API server certificate: %w", err)
	}
	kc.server = &tls.Certificate{Certificate: [][]byte{sder}, PrivateKey: skey}
	return nil
}

// localCredential returns (creating it once) the static credential of a
// local account: "clusterAdmin" or "clusterUser".
func (kc *kubeCluster) localCredential(kind string) (*localCred, error) {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	if c := kc.creds[kind]; c != nil {
		return c, nil
	}
	cn := "masterclient"
	if kind == "clusterUser" {
		cn = "clusterUser"
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate client key: %w", err)
	}
	now := kc.s.Now()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"system:masters"}},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(2 * 365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, kc.caCert, &key.PublicKey, kc.caKey)
	if err != nil {
		return nil, fmt.Errorf("create client certificate: %w", err)
	}
	tok := make([]byte, 32)
	_, _ = rand.Read(tok)
	c := &localCred{
		user: cn, groups: []string{"system:masters", "system:authenticated"},
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		token:   hex.EncodeToString(tok),
	}
	kc.creds[kind] = c
	return c, nil
}

// staticToken finds the local credential a static token belongs to.
func (kc *kubeCluster) staticToken(tok string) *localCred {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	for _, c := range kc.creds {
		if c.token == tok {
			return c
		}
	}
	return nil
}

// ---- kubeconfig ----

type kubeconfig struct {
	APIVersion     string         `json:"apiVersion"`
	Clusters       []namedCluster `json:"clusters"`
	Contexts       []namedContext `json:"contexts"`
	CurrentContext string         `json:"current-context"`
	Kind           string         `json:"kind"`
	Preferences    struct{}       `json:"preferences"`
	Users          []namedUser    `json:"users"`
}

type namedCluster struct {
	Cluster struct {
		CertificateAuthorityData []byte `json:"certificate-authority-data"`
		Server                   string `json:"server"`
	} `json:"cluster"`
	Name string `json:"name"`
}

type namedContext struct {
	Context struct {
		Cluster   string `json:"cluster"`
		Namespace string `json:"namespace,omitempty"`
		User      string `json:"user"`
	} `json:"context"`
	Name string `json:"name"`
}

type namedUser struct {
	Name string   `json:"name"`
	User userInfo `json:"user"`
}

type userInfo struct {
	ClientCertificateData []byte        `json:"client-certificate-data,omitempty"`
	ClientKeyData         []byte        `json:"client-key-data,omitempty"`
	Token                 string        `json:"token,omitempty"`
	Exec                  *execConfig   `json:"exec,omitempty"`
	AuthProvider          *authProvider `json:"auth-provider,omitempty"`
}

type execConfig struct {
	APIVersion         string   `json:"apiVersion"`
	Args               []string `json:"args"`
	Command            string   `json:"command"`
	Env                []any    `json:"env"`
	InstallHint        string   `json:"installHint"`
	ProvideClusterInfo bool     `json:"provideClusterInfo"`
}

type authProvider struct {
	Config map[string]string `json:"config"`
	Name   string            `json:"name"`
}

const kubeloginHint = `
kubelogin is not installed which is required to connect to AAD enabled cluster.

To learn more, please go to https://aka.ms/aks/kubelogin
`

// kubeCluster finds the Kubernetes API of a world cluster.
func (s *Sim) kubeClusterOf(c *Cluster) *kubeCluster {
	if s.aks == nil {
		return nil
	}
	for _, kc := range s.aks.clusters {
		if kc.c == c {
			return kc
		}
	}
	return nil
}

// buildKubeconfig is the kubeconfig builder of the credential routes.
func buildKubeconfig(s *Sim, req ClusterCredentialRequest) (string, []byte, error) {
	kc := s.kubeClusterOf(req.Cluster)
	if kc == nil {
		return "", nil, errNotServed
	}
	s.mu.RLock()
	aad := req.Cluster.AADProfile
	var aadTenant string
	if aad != nil {
		aadTenant = aad.TenantID
	}
	disabled := req.Cluster.DisableLocalAccounts
	version := req.Cluster.KubernetesVersion
	s.mu.RUnlock()

	kind := "clusterUser"
	if req.Admin {
		kind = "clusterAdmin"
	}
	userName := kind + "_" + kc.rg + "_" + kc.name
	ctxName := kc.name
	if req.Admin {
		ctxName += "-admin"
	}
	var u userInfo
	switch {
	case req.Admin || aad == nil:
		if disabled {
			return "", nil, errors.New("local accounts are disabled and the cluster has no Entra integration")
		}
		cred, err := kc.localCredential(kind)
		if err != nil {
			return "", nil, err
		}
		u = userInfo{ClientCertificateData: cred.certPEM, ClientKeyData: cred.keyPEM, Token: cred.token}
	default:
		ends, _ := cloud.Builtin(kc.cloud)
		format := req.Format
		if format == "" {
			format = "azure"
			if versionAtLeast(version, 1, 24) {
				format = "exec"
			}
		}
		if format == "exec" {
			u.Exec = &execConfig{
				APIVersion: "client.authentication.k8s.io/v1beta1",
				Args: []string{"get-token", "--environment", ends.DisplayName, "--server-id", ends.AKSServerAppID,
					"--client-id", AKSClientAppID, "--tenant-id", aadTenant, "--login", "devicecode"},
				Command:     "kubelogin",
				InstallHint: kubeloginHint,
			}
		} else {
			u.AuthProvider = &authProvider{Name: "azure", Config: map[string]string{
				"apiserver-id": ends.AKSServerAppID, "client-id": AKSClientAppID, "config-mode": "1",
				"environment": ends.DisplayName, "tenant-id": aadTenant,
			}}
		}
	}
	cfg := kubeconfig{APIVersion: "v1", Kind: "Config", CurrentContext: ctxName}
	var nc namedCluster
	nc.Name = kc.name
	nc.Cluster.CertificateAuthorityData = kc.caPEM
	nc.Cluster.Server = "https://" + kc.addr
	cfg.Clusters = []namedCluster{nc}
	var nctx namedContext
	nctx.Name = ctxName
	nctx.Context.Cluster, nctx.Context.User = kc.name, userName
	cfg.Contexts = []namedContext{nctx}
	cfg.Users = []namedUser{{Name: userName, User: u}}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return "", nil, fmt.Errorf("encode kubeconfig: %w", err)
	}
	return kind, b, nil
}

// versionAtLeast compares a "major.minor[.patch]" version.
func versionAtLeast(v string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(strings.TrimPrefix(v, "v"), "%d.%d", &ma, &mi); err != nil {
		return true
	}
	return ma > major || (ma == major && mi >= minor)
}

// ---- the Go API tests use ----

// KubeCluster describes the Kubernetes API of a simulated cluster.
type KubeCluster struct {
	Name       string
	ResourceID string
	// Server is the API server URL, "https://127.0.0.1:port".
	Server string
	// CAPEM is the cluster CA that signs the server and client
	// certificates (the kubeconfig's certificate-authority-data).
	CAPEM []byte
}

// KubeCluster finds a cluster's Kubernetes API by name or ARM resource id.
func (s *Sim) KubeCluster(nameOrID string) (KubeCluster, error) {
	kc := s.findKube(nameOrID)
	if kc == nil {
		return KubeCluster{}, fmt.Errorf("azuresim: no cluster %q", nameOrID)
	}
	return KubeCluster{Name: kc.name, ResourceID: kc.id, Server: "https://" + kc.addr, CAPEM: append([]byte(nil), kc.caPEM...)}, nil
}

// KubeClusters lists the Kubernetes APIs of every cluster (for printing
// endpoints).
func (s *Sim) KubeClusters() []KubeCluster {
	if s.aks == nil {
		return nil
	}
	out := make([]KubeCluster, 0, len(s.aks.clusters))
	for _, kc := range s.aks.clusters {
		out = append(out, KubeCluster{Name: kc.name, ResourceID: kc.id, Server: "https://" + kc.addr, CAPEM: append([]byte(nil), kc.caPEM...)})
	}
	return out
}

func (s *Sim) findKube(nameOrID string) *kubeCluster {
	if s.aks == nil {
		return nil
	}
	for _, kc := range s.aks.clusters {
		if strings.EqualFold(kc.name, nameOrID) || strings.EqualFold(kc.id, nameOrID) {
			return kc
		}
	}
	return nil
}

// KubeRequests is the number of authenticated requests a caller made to a
// cluster's Kubernetes API. caller is the Kubernetes user name (a
// certificate's CN such as "masterclient" or "clusterUser", or an Entra
// caller's object id) or, for Entra callers, a principal's name or client
// id.
func (s *Sim) KubeRequests(cluster, caller string) int {
	kc := s.findKube(cluster)
	if kc == nil {
		return 0
	}
	key := caller
	s.mu.RLock()
	if t := s.world.tenant(kc.tenantID); t != nil {
		if p := t.principalByRef(caller); p != nil {
			key = p.ObjectID
		}
	}
	s.mu.RUnlock()
	kc.mu.Lock()
	defer kc.mu.Unlock()
	return kc.callers[strings.ToLower(key)]
}

// KubeTokenUses is the number of authenticated requests that presented a
// bearer token (an Entra token or a static one) to a cluster.
func (s *Sim) KubeTokenUses(cluster, token string) int {
	kc := s.findKube(cluster)
	if kc == nil {
		return 0
	}
	kc.mu.Lock()
	defer kc.mu.Unlock()
	return kc.tokenUses[sha256.Sum256([]byte(token))]
}
