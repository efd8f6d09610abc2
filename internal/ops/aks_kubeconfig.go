package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"sigs.k8s.io/yaml"

	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/failure"
)

// KubeconfigParams name a cluster and the credentials to get.
type KubeconfigParams struct {
	SubscriptionID string `json:"subscriptionId"`
	ResourceGroup  string `json:"resourceGroup"`
	Cluster        string `json:"cluster"`
	// Namespace becomes the kubeconfig context's namespace.
	Namespace string `json:"namespace,omitempty"`
	// UseClusterAdminCredentials asks for listClusterAdminCredential
	// (Harness's KubernetesAzure field); user credentials otherwise.
	UseClusterAdminCredentials bool `json:"useClusterAdminCredentials,omitempty"`
}

// Check refuses a cluster that is not fully named.
func (p KubeconfigParams) Check() error {
	var fields []failure.FieldError
	for _, f := range []struct{ name, v string }{{"subscriptionId", p.SubscriptionID}, {"resourceGroup", p.ResourceGroup}, {"cluster", p.Cluster}} {
		if strings.TrimSpace(f.v) == "" {
			fields = append(fields, failure.FieldError{Field: f.name, Message: f.name + " is required"})
		}
	}
	if len(fields) > 0 {
		return &failure.Error{Kind: failure.Invalid, Message: "the cluster is not fully named", Fields: fields}
	}
	return nil
}

// Credential forms of a kubeconfig.
const (
	// KubeCredentialClientCertificate: the local account's client
	// certificate and key, as Azure returns them.
	KubeCredentialClientCertificate = "clientCertificate"
	// KubeCredentialToken: the local account's static token.
	KubeCredentialToken = "token"
	// KubeCredentialEntraToken: an Entra access token for the cluster's
	// AKS server application, obtained by Azimuth with the connector's
	// credential; it expires (ExpiresOn).
	KubeCredentialEntraToken = "entraToken"
)

// Kubeconfig is the aks.kubeconfig task's output.
type Kubeconfig struct {
	Cluster       string `json:"cluster"`
	ResourceGroup string `json:"resourceGroup"`
	Server        string `json:"server"`
	Admin         bool   `json:"admin"`
	AAD           bool   `json:"aad"`
	Namespace     string `json:"namespace,omitempty"`
	// Credential says how the kubeconfig authenticates (KubeCredential*).
	Credential string `json:"credential"`
	// ExpiresOn is when an Entra token in the kubeconfig expires.
	ExpiresOn *time.Time `json:"expiresOn,omitempty"`
	// Kubeconfig is the YAML document. It holds the cluster credential
	// (no connector secret ever): treat it as a secret.
	Kubeconfig string `json:"kubeconfig"`
}

// AKSKubeconfig gets a kubeconfig: user credentials by default, admin
// credentials when asked. For a local-account cluster it holds the local
// account's static token (its client certificate and key only when Azure
// gave no token); for an Entra
// cluster, whose kubeconfig from Azure would need kubelogin, the user
// entry is replaced by a short-lived Entra token for the cluster's server
// application that Azimuth obtained with the connector's credential: no
// kubelogin, no Azure CLI, no connector secret in the document. Script
// steps do better (kinds_step.go): their kubeconfig holds no credential
// at all.
func AKSKubeconfig(ctx context.Context, env *Env, in Input) (any, error) {
	var p KubeconfigParams
	if err := decodeParams(in.Params, &p); err != nil {
		return nil, err
	}
	if err := p.Check(); err != nil {
		return nil, err
	}
	cred, err := connectorCredential(env, in)
	if err != nil {
		return nil, err
	}
	acc, err := fetchClusterAccess(ctx, cred, p, in)
	if err != nil {
		return nil, err
	}
	out := &Kubeconfig{Cluster: p.Cluster, ResourceGroup: p.ResourceGroup, Server: acc.Server, Admin: acc.Admin, AAD: acc.AAD, Namespace: p.Namespace}
	u := kubeUser{}
	switch {
	case acc.AAD:
		tok, err := acc.entraToken(ctx, cred)
		if err != nil {
			return nil, err
		}
		u.Token = tok.Token
		exp := tok.ExpiresOn.UTC()
		out.ExpiresOn, out.Credential = &exp, KubeCredentialEntraToken
		logf(in.Log, "Entra token for the cluster's server application %s, valid until %s", acc.ServerID, exp.Format(time.RFC3339))
	case acc.Token != "":
		// Azure gives local accounts a static token as well as a client
		// certificate: the token serves, and no private key is written.
		u.Token = acc.Token
		out.Credential = KubeCredentialToken
	default:
		u.ClientCertificateData, u.ClientKeyData = acc.ClientCert, acc.ClientKey
		out.Credential = KubeCredentialClientCertificate
	}
	b, err := acc.render(p.Namespace, u)
	if err != nil {
		return nil, err
	}
	out.Kubeconfig = string(b)
	return out, nil
}

// clusterAccess is what a kubeconfig from Azure says about reaching a
// cluster: the API server, its CA, and how its user authenticates.
type clusterAccess struct {
	Name, User, Context string
	Server              string
	CAData              []byte
	Admin               bool
	// AAD: the user entry asks for Entra tokens (kubelogin exec or the
	// azure auth-provider); ServerID is the audience.
	AAD      bool
	ServerID string
	// Local account credentials.
	Token      string
	ClientCert []byte
	ClientKey  []byte
}

// fetchClusterAccess calls listClusterUserCredential (format=exec, which
// only Entra clusters heed) or listClusterAdminCredential and reads the
// kubeconfig Azure returns.
func fetchClusterAccess(ctx context.Context, cred *azure.Credential, p KubeconfigParams, in Input) (*clusterAccess, error) {
	client, err := clustersClient(cred, p.SubscriptionID)
	if err != nil {
		return nil, fmt.Errorf("managed clusters client: %w", err)
	}
	kind := "user"
	if p.UseClusterAdminCredentials {
		kind = "admin"
	}
	logf(in.Log, "getting the %s credentials of cluster %s (resource group %s, subscription %s)", kind, p.Cluster, p.ResourceGroup, p.SubscriptionID)
	var res armcontainerservice.CredentialResults
	if p.UseClusterAdminCredentials {
		r, err := client.ListClusterAdminCredentials(ctx, p.ResourceGroup, p.Cluster, nil)
		if err != nil {
			return nil, credentialsError(cred, err, p.Cluster, true)
		}
		res = r.CredentialResults
	} else {
		r, err := client.ListClusterUserCredentials(ctx, p.ResourceGroup, p.Cluster,
			&armcontainerservice.ManagedClustersClientListClusterUserCredentialsOptions{Format: to.Ptr(armcontainerservice.FormatExec)})
		if err != nil {
			return nil, credentialsError(cred, err, p.Cluster, false)
		}
		res = r.CredentialResults
	}
	if len(res.Kubeconfigs) == 0 || res.Kubeconfigs[0] == nil || len(res.Kubeconfigs[0].Value) == 0 {
		return nil, &azure.Error{Reason: ReasonKubeconfigInvalid, Kind: failure.Internal,
			Message: fmt.Sprintf("Azure returned no kubeconfig for cluster %s.", p.Cluster),
			Hint:    "Kube Config could not be read from cluster: please check your Azure permissions."}
	}
	acc, err := parseClusterAccess(res.Kubeconfigs[0].Value)
	if err != nil {
		return nil, &azure.Error{Reason: ReasonKubeconfigInvalid, Kind: failure.Internal,
			Message: fmt.Sprintf("The kubeconfig Azure returned for cluster %s cannot be used: %v.", p.Cluster, err),
			Hint:    "Kube Config could not be read from cluster: please check your Azure permissions."}
	}
	acc.Admin = p.UseClusterAdminCredentials
	if acc.AAD && acc.ServerID == "" {
		acc.ServerID = cred.Cloud().Endpoints.AKSServerAppID
	}
	how := "local account"
	if acc.AAD {
		how = "Entra ID (server application " + acc.ServerID + ")"
	}
	logf(in.Log, "cluster %s: API server %s, authentication by %s", p.Cluster, acc.Server, how)
	return acc, nil
}

// Reasons of AKS failures (azure.Reason values).
const (
	ReasonLocalAccountsDisabled azure.Reason = "LocalAccountsDisabled"
	ReasonKubeconfigInvalid     azure.Reason = "KubeconfigInvalid"
)

// credentialsError classifies a failed list*Credential call: a cluster
// with local accounts disabled refusing admin credentials gets its own
// reason and a hint to use user credentials; anything else is Harness's
// "Failed to retrieve cluster <admin|user> credentials".
func credentialsError(cred *azure.Credential, err error, cluster string, admin bool) error {
	e := cred.Classify(err)
	var re *azcore.ResponseError
	if admin && errors.As(err, &re) && re.StatusCode == 400 && strings.Contains(strings.ToLower(e.Message), "disable local accounts") {
		return &azure.Error{Reason: ReasonLocalAccountsDisabled, Kind: failure.Invalid, Status: 400, Code: re.ErrorCode,
			Message: fmt.Sprintf("Azure refused the admin credentials of cluster %s %s", cluster, strings.TrimPrefix(strings.TrimSpace(e.Message), "Azure refused the request ")),
			Hint:    "This cluster has local accounts disabled, so only Entra ID users exist: use user credentials (drop useClusterAdminCredentials / --admin) with an identity that holds an AKS RBAC role on the cluster (or is in its admin group)."}
	}
	out := *e
	if e.Reason == azure.ReasonAuthorizationFailed {
		role := "Azure Kubernetes Service Cluster User Role"
		if admin {
			role = "Azure Kubernetes Service Cluster Admin Role"
		}
		scope := e.Scope
		if scope == "" {
			scope = "<the cluster's resource id>"
		}
		out.Hint = fmt.Sprintf("Failed to retrieve cluster %s credentials. Give the connector's identity the %q role (it holds listCluster%sCredential) on the cluster: az role assignment create --assignee <application or identity client ID> --role %q --scope %s. Role assignments can take a few minutes to apply.",
			kind(admin), role, upper(kind(admin)), role, scope)
		return &out
	}
	if out.Hint == "" {
		out.Hint = fmt.Sprintf("Failed to retrieve cluster %s credentials: please check assigned permissions in Azure (Microsoft.ContainerService/managedClusters/listCluster%sCredential/action).", kind(admin), upper(kind(admin)))
	}
	return &out
}

func kind(admin bool) string {
	if admin {
		return "admin"
	}
	return "user"
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// kubeconfig documents: what Azure returns and what Azimuth writes.
type kubeconfigDoc struct {
	APIVersion     string         `json:"apiVersion"`
	Kind           string         `json:"kind"`
	Clusters       []namedCluster `json:"clusters"`
	Contexts       []namedContext `json:"contexts"`
	CurrentContext string         `json:"current-context"`
	Users          []namedUser    `json:"users"`
}

type namedCluster struct {
	Name    string      `json:"name"`
	Cluster kubeCluster `json:"cluster"`
}

type kubeCluster struct {
	Server                   string `json:"server"`
	CertificateAuthorityData []byte `json:"certificate-authority-data,omitempty"`
}

type namedContext struct {
	Name    string      `json:"name"`
	Context kubeContext `json:"context"`
}

type kubeContext struct {
	Cluster   string `json:"cluster"`
	User      string `json:"user"`
	Namespace string `json:"namespace,omitempty"`
}

type namedUser struct {
	Name string   `json:"name"`
	User kubeUser `json:"user"`
}

type kubeUser struct {
	ClientCertificateData []byte            `json:"client-certificate-data,omitempty"`
	ClientKeyData         []byte            `json:"client-key-data,omitempty"`
	Token                 string            `json:"token,omitempty"`
	Exec                  *kubeExec         `json:"exec,omitempty"`
	AuthProvider          *kubeAuthProvider `json:"auth-provider,omitempty"`
}

type kubeExec struct {
	APIVersion         string    `json:"apiVersion"`
	Command            string    `json:"command"`
	Args               []string  `json:"args"`
	Env                []kubeEnv `json:"env"`
	InteractiveMode    string    `json:"interactiveMode,omitempty"`
	ProvideClusterInfo bool      `json:"provideClusterInfo"`
	InstallHint        string    `json:"installHint,omitempty"`
}

type kubeEnv struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type kubeAuthProvider struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
}

// parseClusterAccess reads Azure's kubeconfig: its current context's
// cluster and user (Harness's checks: a server URL and CA data, and an
// exec block, an auth-provider or local credentials).
func parseClusterAccess(b []byte) (*clusterAccess, error) {
	var kc kubeconfigDoc
	if err := yaml.Unmarshal(b, &kc); err != nil {
		return nil, fmt.Errorf("not a kubeconfig: %w", err)
	}
	ctxName := kc.CurrentContext
	var ctx *kubeContext
	for i := range kc.Contexts {
		if kc.Contexts[i].Name == ctxName || ctxName == "" {
			ctx, ctxName = &kc.Contexts[i].Context, kc.Contexts[i].Name
			break
		}
	}
	if ctx == nil {
		return nil, errors.New("no current context")
	}
	acc := &clusterAccess{Context: ctxName, Name: ctx.Cluster, User: ctx.User}
	for _, c := range kc.Clusters {
		if c.Name == ctx.Cluster {
			acc.Server, acc.CAData = c.Cluster.Server, c.Cluster.CertificateAuthorityData
		}
	}
	if acc.Server == "" {
		return nil, errors.New("server url was not found in the kube config content")
	}
	if len(acc.CAData) == 0 {
		return nil, errors.New("no certificate-authority-data for the server")
	}
	var user *kubeUser
	for i := range kc.Users {
		if kc.Users[i].Name == ctx.User {
			user = &kc.Users[i].User
		}
	}
	if user == nil {
		return nil, fmt.Errorf("no user %q", ctx.User)
	}
	switch {
	case user.Exec != nil:
		acc.AAD = true
		args := user.Exec.Args
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "--server-id" {
				acc.ServerID = args[i+1]
			}
		}
	case user.AuthProvider != nil:
		acc.AAD = true
		acc.ServerID = user.AuthProvider.Config["apiserver-id"]
	case len(user.ClientCertificateData) > 0 && len(user.ClientKeyData) > 0, user.Token != "":
		acc.Token, acc.ClientCert, acc.ClientKey = user.Token, user.ClientCertificateData, user.ClientKeyData
	default:
		return nil, errors.New("the user has no exec block, auth-provider, client certificate or token")
	}
	return acc, nil
}

// entraToken gets an Entra token for the cluster's server application
// through the connector's credential (cached and refreshed by it). The
// scope is the server id with /.default, which managed identities turn
// into the resource.
func (a *clusterAccess) entraToken(ctx context.Context, cred *azure.Credential) (azcore.AccessToken, error) {
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{a.ServerID + "/.default"}})
	if err != nil {
		return azcore.AccessToken{}, cred.Classify(err)
	}
	return tok, nil
}

// render writes a kubeconfig for the cluster with user u.
func (a *clusterAccess) render(namespace string, u kubeUser) ([]byte, error) {
	kc := kubeconfigDoc{
		APIVersion: "v1", Kind: "Config",
		Clusters:       []namedCluster{{Name: a.Name, Cluster: kubeCluster{Server: a.Server, CertificateAuthorityData: a.CAData}}},
		Contexts:       []namedContext{{Name: a.Context, Context: kubeContext{Cluster: a.Name, User: a.User, Namespace: namespace}}},
		CurrentContext: a.Context,
		Users:          []namedUser{{Name: a.User, User: u}},
	}
	return yaml.Marshal(kc)
}
