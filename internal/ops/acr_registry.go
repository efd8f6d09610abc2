package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerregistry/armcontainerregistry"

	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/permission"
)

// ActionRegistriesRead is the ARM action that listing registries needs.
const ActionRegistriesRead = "Microsoft.ContainerRegistry/registries/read"

// ActionRegistryPull is the data action behind AcrPull: reading a
// registry's repositories, tags and manifests.
const ActionRegistryPull = "Microsoft.ContainerRegistry/registries/pull/read"

// RegistryRef names a registry. LoginServer (or a Registry that contains a
// dot) is used as it is, through the registry's data plane alone, so AcrPull
// suffices. A bare registry name is looked up among the subscription's
// registries (ARM; needs Reader), as Harness does; when that lookup is
// refused, the conventional login server <name><cloud suffix> is tried.
type RegistryRef struct {
	SubscriptionID string `json:"subscriptionId,omitempty"`
	ResourceGroup  string `json:"resourceGroup,omitempty"`
	Registry       string `json:"registry,omitempty"`
	LoginServer    string `json:"loginServer,omitempty"`
}

// RegistriesParams are acr.registries' parameters.
type RegistriesParams struct {
	SubscriptionID string `json:"subscriptionId"`
	ResourceGroup  string `json:"resourceGroup,omitempty"`
}

// Registries is acr.registries' output, sorted by name.
type Registries struct {
	SubscriptionID string         `json:"subscriptionId"`
	ResourceGroup  string         `json:"resourceGroup,omitempty"`
	Registries     []RegistryInfo `json:"registries"`
}

// RegistryInfo is one container registry.
type RegistryInfo struct {
	Name          string `json:"name"`
	LoginServer   string `json:"loginServer"`
	ResourceGroup string `json:"resourceGroup,omitempty"`
	Location      string `json:"location,omitempty"`
	SKU           string `json:"sku,omitempty"`
	ID            string `json:"id,omitempty"`
}

// ListRegistries lists the container registries of a subscription, or of
// one of its resource groups, through ARM.
func ListRegistries(ctx context.Context, env *Env, in Input) (any, error) {
	var p RegistriesParams
	if err := decodeParams(in.Params, &p); err != nil {
		return nil, err
	}
	p.SubscriptionID, p.ResourceGroup = strings.TrimSpace(p.SubscriptionID), strings.TrimSpace(p.ResourceGroup)
	if p.SubscriptionID == "" {
		return nil, failure.InvalidField("subscriptionId", "is required to list registries; to use one registry without listing, give its login server")
	}
	cred, err := connectorCredential(env, in)
	if err != nil {
		return nil, err
	}
	regs, err := listRegistries(ctx, cred, p.SubscriptionID, p.ResourceGroup)
	if err != nil {
		return nil, err
	}
	logf(in.Log, "%d registr(y/ies) in %s", len(regs), registryScope(p.SubscriptionID, p.ResourceGroup))
	return &Registries{SubscriptionID: p.SubscriptionID, ResourceGroup: p.ResourceGroup, Registries: regs}, nil
}

func registryScope(sub, rg string) string {
	if rg == "" {
		return "/subscriptions/" + sub
	}
	return "/subscriptions/" + sub + "/resourceGroups/" + rg
}

func listRegistries(ctx context.Context, cred *azure.Credential, sub, rg string) ([]RegistryInfo, error) {
	client, err := azure.Client(cred, "armcontainerregistry.registries:"+sub, func(c *azure.Credential) (*armcontainerregistry.RegistriesClient, error) {
		return armcontainerregistry.NewRegistriesClient(sub, c, c.ARMOptions())
	})
	if err != nil {
		return nil, fmt.Errorf("registries client: %w", err)
	}
	out := []RegistryInfo{}
	add := func(v []*armcontainerregistry.Registry) {
		for _, r := range v {
			if r == nil {
				continue
			}
			item := RegistryInfo{Name: deref(r.Name), Location: deref(r.Location), ID: deref(r.ID), ResourceGroup: resourceGroupOf(deref(r.ID))}
			if r.Properties != nil {
				item.LoginServer = strings.ToLower(deref(r.Properties.LoginServer))
			}
			if r.SKU != nil && r.SKU.Name != nil {
				item.SKU = string(*r.SKU.Name)
			}
			out = append(out, item)
		}
	}
	if rg == "" {
		pager := client.NewListPager(nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, registriesError(cred, err, sub, rg)
			}
			add(page.Value)
		}
	} else {
		pager := client.NewListByResourceGroupPager(rg, nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, registriesError(cred, err, sub, rg)
			}
			add(page.Value)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out, nil
}

// registriesError says exactly what a refused registry listing lacks: the
// action, the scope, the role that grants it, and that the login server
// avoids the need.
func registriesError(cred *azure.Credential, err error, sub, rg string) error {
	e := cred.Classify(err)
	if e.Reason != azure.ReasonAuthorizationFailed {
		return e
	}
	action, scope := e.Action, e.Scope
	if action == "" {
		action = ActionRegistriesRead
	}
	if scope == "" {
		scope = registryScope(sub, rg)
	}
	role := "Reader"
	if rc, ok := permission.SmallestRole([]permission.Operation{{Name: action}}, nil); ok {
		role = rc.Name
	}
	out := *e
	out.Message = fmt.Sprintf("Listing container registries needs the action %s at %s, and the connector's identity does not hold it there (Azure answered AuthorizationFailed). AcrPull alone does not grant it.",
		action, scope)
	out.Hint = fmt.Sprintf("Either give the registry's login server (for example --login-server <name>%s, or loginServer in the request): repositories and tags are then read from the registry's own API, for which AcrPull on the registry is enough, and no listing is needed. Or assign %s, the smallest built-in role that grants %s: az role assignment create --assignee %s --role %s --scope %s. Role assignments can take a few minutes to apply.",
		cred.Cloud().Endpoints.ContainerRegistrySuffix, role, action, assigneeOf(cred), role, scope)
	return &out
}

func assigneeOf(cred *azure.Credential) string {
	if cred.ClientID != "" {
		return cred.ClientID
	}
	return "<identity client ID>"
}

// resourceGroupOf reads the resource group of an ARM resource id.
func resourceGroupOf(id string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			return parts[i+1]
		}
	}
	return ""
}

// registryTarget is a resolved registry: its login server, and, when it
// was guessed from the name because ARM refused the lookup, that refusal.
type registryTarget struct {
	LoginServer string
	lookupErr   error
}

// resolveRegistry turns a RegistryRef into a login server.
func resolveRegistry(ctx context.Context, cred *azure.Credential, ref RegistryRef, log func(string, ...any)) (*registryTarget, error) {
	ls := strings.ToLower(strings.TrimSpace(ref.LoginServer))
	name := strings.TrimSpace(ref.Registry)
	if ls == "" && strings.Contains(name, ".") {
		ls, name = strings.ToLower(name), ""
	}
	suffix := cred.Cloud().Endpoints.ContainerRegistrySuffix
	if ls != "" {
		// The registry receives the identity's Entra token: only a
		// registry of the connector's cloud may have it.
		if !validLoginServer(ls, suffix) {
			return nil, failure.InvalidField("loginServer", "must be a registry login server of the connector's cloud, <name>%s; got %q (the connector's Entra token is sent to it, so no other host is accepted)", suffix, ls)
		}
		return &registryTarget{LoginServer: ls}, nil
	}
	if name == "" {
		return nil, failure.InvalidField("registry", "give the registry's login server (loginServer) or its name (registry)")
	}
	if !registryNameRE.MatchString(name) {
		return nil, failure.InvalidField("registry", "%q is not a registry name (5-50 letters and digits) or login server", name)
	}
	guess := strings.ToLower(name) + suffix
	sub := strings.TrimSpace(ref.SubscriptionID)
	if sub == "" {
		log("no subscription given: using the login server %s", guess)
		return &registryTarget{LoginServer: guess}, nil
	}
	regs, err := listRegistries(ctx, cred, sub, strings.TrimSpace(ref.ResourceGroup))
	if err != nil {
		if e, ok := azure.AsError(err); ok && e.Reason == azure.ReasonAuthorizationFailed {
			log("cannot list the registries of subscription %s (%s); trying the login server %s", sub, e.Reason, guess)
			return &registryTarget{LoginServer: guess, lookupErr: err}, nil
		}
		return nil, err
	}
	for _, r := range regs {
		if strings.EqualFold(r.Name, name) {
			return &registryTarget{LoginServer: r.LoginServer}, nil
		}
	}
	return nil, &failure.Error{Kind: failure.NotFound, Code: "RegistryNotFound",
		Message: fmt.Sprintf("Not found Azure container registry by name: %s, subscription id: %s", name, sub),
		Hint:    "Please check if the container registry and subscription values are properly configured."}
}

// registryNameRE is a registry's name; loginLabelRE the label before the
// cloud's suffix in a login server (the name, or name-hash with a domain
// name label scope).
var (
	registryNameRE = regexp.MustCompile(`^[a-zA-Z0-9]{1,50}$`)
	loginLabelRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

func validLoginServer(ls, suffix string) bool {
	label, ok := strings.CutSuffix(ls, suffix)
	return ok && suffix != "" && loginLabelRE.MatchString(label)
}

// acrError classifies a data-plane failure: what the registry refused or
// could not find, and what to do about it. what describes the operation
// ("list the tags of team/api").
func acrError(cred *azure.Credential, t *registryTarget, err error, what, repository, tag string) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.RawResponse == nil || re.RawResponse.Request == nil ||
		!strings.EqualFold(re.RawResponse.Request.URL.Host, t.LoginServer) && !strings.EqualFold(re.RawResponse.Request.URL.Hostname(), t.LoginServer) {
		e := cred.Classify(err)
		if t.lookupErr != nil && (e.Reason == azure.ReasonCloudUnreachable || e.Reason == azure.ReasonTLSFailure) {
			// The guessed login server does not exist: the refusal of the
			// lookup is the real problem.
			return t.lookupErr
		}
		return e
	}
	code := acrErrorCode(re)
	base := &azure.Error{Host: t.LoginServer, Status: re.StatusCode, Code: code}
	switch {
	case re.StatusCode == http.StatusUnauthorized || re.StatusCode == http.StatusForbidden:
		base.Reason, base.Kind = azure.ReasonAuthorizationFailed, failure.Forbidden
		base.Action, base.Scope = ActionRegistryPull, t.LoginServer
		base.Message = fmt.Sprintf("Registry %s refused to let the connector's identity %s (%d %s): the identity holds no role on the registry that grants %s.",
			t.LoginServer, what, re.StatusCode, orDash(code), ActionRegistryPull)
		base.Hint = fmt.Sprintf("Assign AcrPull on the registry: az role assignment create --assignee %s --role AcrPull --scope $(az acr show --name %s --query id -o tsv). Role assignments can take a few minutes to apply.",
			assigneeOf(cred), strings.Split(t.LoginServer, ".")[0])
		if t.lookupErr != nil {
			return t.lookupErr
		}
	case re.StatusCode == http.StatusNotFound:
		base.Reason, base.Kind = azure.ReasonNotFound, failure.NotFound
		switch code {
		case "TAG_UNKNOWN", "MANIFEST_UNKNOWN":
			base.Message = fmt.Sprintf("Tag %q of repository %s was not found in registry %s.", tag, repository, t.LoginServer)
			base.Hint = "Please check your ACR repository for artifact tag existence (azimuth azure acr tags)."
		default:
			base.Message = fmt.Sprintf("Repository %q was not found in registry %s.", repository, t.LoginServer)
			base.Hint = "Check the repository's name (azimuth azure acr repositories)."
		}
	case re.StatusCode == http.StatusTooManyRequests:
		base.Reason, base.Kind = azure.ReasonThrottled, failure.Unavailable
		base.Message = fmt.Sprintf("Registry %s is throttling requests (429) and the retries ran out while trying to %s.", t.LoginServer, what)
		base.Hint = "Try again shortly; a paged listing resumes from its pageToken, losing and repeating nothing."
	case re.StatusCode >= 500:
		base.Reason, base.Kind = azure.ReasonServiceUnavailable, failure.Unavailable
		base.Message = fmt.Sprintf("Registry %s answered %d (%s) and the retries ran out while trying to %s.", t.LoginServer, re.StatusCode, orDash(code), what)
		base.Hint = "This is on the registry's side; try again shortly and check https://status.azure.com."
	default:
		base.Reason, base.Kind = azure.ReasonAzureError, failure.Invalid
		base.Message = fmt.Sprintf("Registry %s refused to %s (%d %s).", t.LoginServer, what, re.StatusCode, orDash(code))
		base.Hint = "Unable to list repository tags for registryHost:" + t.LoginServer + " and repositoryName:" + repository
	}
	return base
}

// acrErrorCode reads the code of the Docker error envelope
// {"errors":[{"code":...}]}; azcore cannot.
func acrErrorCode(re *azcore.ResponseError) string {
	if re.ErrorCode != "" {
		return re.ErrorCode
	}
	b, err := runtime.Payload(re.RawResponse)
	if err != nil {
		return ""
	}
	var body struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(b, &body) != nil || len(body.Errors) == 0 {
		return ""
	}
	return body.Errors[0].Code
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
