package azuresim

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerregistry/armcontainerregistry"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

func armOptions(s *Sim) *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: clientOptions(s, cloud.Public), DisableRPRegistration: true}
}

// responseError asserts an *azcore.ResponseError with a status and code.
func responseError(t *testing.T, err error, status int, code string) *azcore.ResponseError {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want *azcore.ResponseError %d %s, got %T: %v", status, code, err, err)
	}
	if re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("got %d %s, want %d %s: %v", re.StatusCode, re.ErrorCode, status, code, err)
	}
	return re
}

func drain[T any](t *testing.T, p *runtime.Pager[T]) ([]T, error) {
	t.Helper()
	var pages []T
	for p.More() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			return pages, err
		}
		pages = append(pages, page)
	}
	return pages, nil
}

func TestSubscriptionsAndTenants(t *testing.T) {
	s := StartForTest(t, nil)
	ctx := context.Background()
	list := func(id, secret string) []string {
		c, err := armsubscriptions.NewClient(secretCred(t, s, demoTenant, id, secret), armOptions(s))
		if err != nil {
			t.Fatal(err)
		}
		pages, err := drain(t, c.NewListPager(nil))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range pages {
			for _, sub := range p.Value {
				ids = append(ids, *sub.SubscriptionID)
				if *sub.TenantID != demoTenant || *sub.State != armsubscriptions.SubscriptionStateEnabled {
					t.Fatalf("subscription %+v", sub)
				}
			}
		}
		return ids
	}
	if got := list(readerAppID, readerSecret); len(got) != 1 || got[0] != demoSub {
		t.Fatalf("reader sees %v", got)
	}
	if got := list(acrpullAppID, acrpullSecret); len(got) != 1 {
		t.Fatalf("a role on a registry makes its subscription visible: %v", got)
	}
	if got := list(noroleAppID, noroleSecret); len(got) != 0 {
		t.Fatalf("no role, no subscription: %v", got)
	}
	c, _ := armsubscriptions.NewClient(secretCred(t, s, demoTenant, readerAppID, readerSecret), armOptions(s))
	got, err := c.Get(ctx, demoSub, nil)
	if err != nil || *got.DisplayName != "Contoso Production" {
		t.Fatalf("get: %v %+v", err, got)
	}
	_, err = c.Get(ctx, demoDevSub, nil)
	responseError(t, err, 404, "SubscriptionNotFound")

	tc, _ := armsubscriptions.NewTenantsClient(secretCred(t, s, demoTenant, noroleAppID, noroleSecret), armOptions(s))
	pages, err := drain(t, tc.NewListPager(nil))
	if err != nil || len(pages) != 1 || len(pages[0].Value) != 1 || *pages[0].Value[0].DefaultDomain != demoDomain {
		t.Fatalf("tenants: %v %+v", err, pages)
	}
}

func TestResourceGroupsPagingAndErrors(t *testing.T) {
	s := StartForTestWith(t, Options{PageSize: 2})
	ctx := context.Background()
	c, err := armresources.NewResourceGroupsClient(demoSub, secretCred(t, s, demoTenant, readerAppID, readerSecret), armOptions(s))
	if err != nil {
		t.Fatal(err)
	}
	pages, err := drain(t, c.NewListPager(nil))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pages {
		for _, g := range p.Value {
			names = append(names, *g.Name)
		}
	}
	if len(pages) != 2 || strings.Join(names, ",") != "rg-containers,rg-web,rg-vms,rg-identities" {
		t.Fatalf("%d pages: %v", len(pages), names)
	}
	if n := s.RequestCount("arm.resourcegroups.list"); n != 2 {
		t.Fatalf("list requests = %d, want 2 (one per page)", n)
	}
	tagged, err := drain(t, c.NewListPager(&armresources.ResourceGroupsClientListOptions{Filter: to.Ptr("tagName eq 'team' and tagValue eq 'platform'")}))
	if err != nil || len(tagged) != 1 || len(tagged[0].Value) != 1 || *tagged[0].Value[0].Name != "rg-containers" {
		t.Fatalf("tag filter: %v %+v", err, tagged)
	}
	_, err = c.Get(ctx, "rg-missing", nil)
	responseError(t, err, 404, "ResourceGroupNotFound")

	nc, _ := armresources.NewResourceGroupsClient(demoSub, secretCred(t, s, demoTenant, noroleAppID, noroleSecret), armOptions(s))
	_, err = nc.Get(ctx, "rg-web", nil)
	re := responseError(t, err, 403, "AuthorizationFailed")
	want := "The client '" + noroleAppID + "' with object id '40000000-0000-4000-8000-000000000004' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/read' over scope '/subscriptions/" + demoSub + "/resourceGroups/rg-web' or the scope is invalid. If access was recently granted, please refresh your credentials."
	if !strings.Contains(re.Error(), want) {
		t.Fatalf("message: %v", re)
	}
	_, err = drain(t, nc.NewListPager(nil))
	responseError(t, err, 403, "AuthorizationFailed")
}

func TestARMAuthenticationErrors(t *testing.T) {
	s := StartForTest(t, nil)
	base := s.Endpoints(cloud.Public).ResourceManager + "/subscriptions?api-version=2022-12-01"
	good, _, err := s.IssueToken(demoTenant, "azimuth-reader", "https://management.core.windows.net/")
	if err != nil {
		t.Fatal(err)
	}
	acr, _, _ := s.IssueToken(demoTenant, "azimuth-reader", "https://containerregistry.azure.net")
	tests := []struct {
		name, url, auth, code string
		status                int
	}{
		{"no header", base, "", "AuthenticationFailed", 401},
		{"garbage", base, "Bearer not-a-jwt", "InvalidAuthenticationToken", 401},
		{"wrong audience", base, "Bearer " + acr, "InvalidAuthenticationTokenAudience", 401},
		{"no api-version", strings.TrimSuffix(base, "?api-version=2022-12-01"), "Bearer " + good, "InvalidApiVersionParameter", 400},
		{"bad api-version", strings.Replace(base, "2022-12-01", "yesterday", 1), "Bearer " + good, "InvalidApiVersionParameter", 400},
		{"ok", base, "Bearer " + good, "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, code := rawARM(t, s, http.MethodGet, tc.url, tc.auth)
			if status != tc.status || code != tc.code {
				t.Fatalf("got %d %q, want %d %q", status, code, tc.status, tc.code)
			}
		})
	}
	s.SetClockSkew(2 * time.Hour)
	if status, code := rawARM(t, s, http.MethodGet, base, "Bearer "+good); status != 401 || code != "ExpiredAuthenticationToken" {
		t.Fatalf("expired: %d %s", status, code)
	}
	s.SetClockSkew(0)
	// A public-cloud token means nothing to the China cloud's ARM.
	cn := s.Endpoints(cloud.China).ResourceManager + "/subscriptions?api-version=2022-12-01"
	if status, code := rawARM(t, s, http.MethodGet, cn, "Bearer "+good); status != 401 || !strings.HasPrefix(code, "InvalidAuthenticationToken") {
		t.Fatalf("cross-cloud: %d %s", status, code)
	}
}

func TestRegistries(t *testing.T) {
	s := StartForTest(t, nil)
	ctx := context.Background()
	reader, _ := armcontainerregistry.NewRegistriesClient(demoSub, secretCred(t, s, demoTenant, readerAppID, readerSecret), armOptions(s))
	pages, err := drain(t, reader.NewListPager(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(pages[0].Value) != 2 || *pages[0].Value[0].Properties.LoginServer != "democontoso.azurecr.io" || *pages[0].Value[0].SKU.Name != armcontainerregistry.SKUNamePremium {
		t.Fatalf("registries %+v", pages[0].Value)
	}
	rgPages, err := drain(t, reader.NewListByResourceGroupPager("rg-containers", nil))
	if err != nil || len(rgPages[0].Value) != 2 {
		t.Fatalf("by rg: %v", err)
	}
	_, err = reader.Get(ctx, "rg-containers", "nosuchregistry", nil)
	responseError(t, err, 404, "ResourceNotFound")
	_, err = reader.ListCredentials(ctx, "rg-containers", "democontoso", nil)
	responseError(t, err, 403, "AuthorizationFailed")

	// AcrPull is a data-plane role: no ARM read of the registry.
	pull, _ := armcontainerregistry.NewRegistriesClient(demoSub, secretCred(t, s, demoTenant, acrpullAppID, acrpullSecret), armOptions(s))
	_, err = pull.Get(ctx, "rg-containers", "democontoso", nil)
	responseError(t, err, 403, "AuthorizationFailed")

	// Reader on one registry sees just that one in the subscription list.
	if _, err := s.AddRoleAssignment(demoTenant, "azimuth-norole", "Reader", "/subscriptions/"+demoSub+"/resourceGroups/rg-containers/providers/Microsoft.ContainerRegistry/registries/contosostaging"); err != nil {
		t.Fatal(err)
	}
	partial, _ := armcontainerregistry.NewRegistriesClient(demoSub, secretCred(t, s, demoTenant, noroleAppID, noroleSecret), armOptions(s))
	pp, err := drain(t, partial.NewListPager(nil))
	if err != nil || len(pp) != 1 || len(pp[0].Value) != 1 || *pp[0].Value[0].Name != "contosostaging" {
		t.Fatalf("partial visibility: %v %+v", err, pp)
	}

	owner, _ := armcontainerregistry.NewRegistriesClient(demoSub, secretCred(t, s, demoTenant, ownerAppID, ownerSecret), armOptions(s))
	creds, err := owner.ListCredentials(ctx, "rg-containers", "democontoso", nil)
	if err != nil || *creds.Username != "democontoso" || len(creds.Passwords) != 2 || *creds.Passwords[0].Value == "" {
		t.Fatalf("credentials: %v %+v", err, creds)
	}
	_, err = owner.ListCredentials(ctx, "rg-containers", "contosostaging", nil)
	responseError(t, err, 400, "BadRequest")
}

func TestManagedClusters(t *testing.T) {
	s := StartForTest(t, nil)
	ctx := context.Background()
	c, _ := armcontainerservice.NewManagedClustersClient(demoSub, secretCred(t, s, demoTenant, readerAppID, readerSecret), armOptions(s))
	pages, err := drain(t, c.NewListPager(nil))
	if err != nil || len(pages[0].Value) != 2 {
		t.Fatalf("list: %v", err)
	}
	aad, err := c.Get(ctx, "rg-containers", "aks-aad", nil)
	if err != nil {
		t.Fatal(err)
	}
	p := aad.Properties
	if !*p.DisableLocalAccounts || !*p.AADProfile.Managed || !*p.AADProfile.EnableAzureRBAC || *p.AADProfile.TenantID != demoTenant || *p.KubernetesVersion != "1.31.2" || *p.Fqdn == "" {
		t.Fatalf("aks-aad %+v", p)
	}
	// Reader holds no credential action on aks-aad (it has the user role on aks-local only).
	_, err = c.ListClusterUserCredentials(ctx, "rg-containers", "aks-aad", nil)
	responseError(t, err, 403, "AuthorizationFailed")
	owner, _ := armcontainerservice.NewManagedClustersClient(demoSub, secretCred(t, s, demoTenant, ownerAppID, ownerSecret), armOptions(s))
	_, err = owner.ListClusterAdminCredentials(ctx, "rg-containers", "aks-aad", nil)
	re := responseError(t, err, 400, "BadRequest")
	if !strings.Contains(re.Error(), "Getting static credential is not allowed because this cluster is set to disable local accounts.") {
		t.Fatal(re)
	}
}

func TestComputeAndNetwork(t *testing.T) {
	s := StartForTest(t, nil)
	ctx := context.Background()
	cred := secretCred(t, s, demoTenant, readerAppID, readerSecret)
	vms, _ := armcompute.NewVirtualMachinesClient(demoSub, cred, armOptions(s))
	pages, err := drain(t, vms.NewListAllPager(nil))
	if err != nil || len(pages[0].Value) != 2 {
		t.Fatalf("list all: %v", err)
	}
	vm, err := vms.Get(ctx, "rg-vms", "vm-web-01", &armcompute.VirtualMachinesClientGetOptions{Expand: to.Ptr(armcompute.InstanceViewTypesInstanceView)})
	if err != nil {
		t.Fatal(err)
	}
	nicID := *vm.Properties.NetworkProfile.NetworkInterfaces[0].ID
	if *vm.Properties.HardwareProfile.VMSize != "Standard_D2s_v5" || *vm.Properties.StorageProfile.OSDisk.OSType != armcompute.OperatingSystemTypesLinux || vm.Properties.InstanceView == nil {
		t.Fatalf("vm %+v", vm.Properties)
	}
	nicClient, _ := armnetwork.NewInterfacesClient(demoSub, cred, armOptions(s))
	parts := strings.Split(nicID, "/")
	nic, err := nicClient.Get(ctx, parts[4], parts[len(parts)-1], nil)
	if err != nil {
		t.Fatal(err)
	}
	ipc := nic.Properties.IPConfigurations[0].Properties
	if *ipc.PrivateIPAddress != "10.1.0.4" || ipc.PublicIPAddress == nil || *nic.Properties.VirtualMachine.ID != *vm.ID {
		t.Fatalf("nic %+v", nic.Properties)
	}
	pipClient, _ := armnetwork.NewPublicIPAddressesClient(demoSub, cred, armOptions(s))
	pp, err := drain(t, pipClient.NewListAllPager(nil))
	if err != nil || len(pp[0].Value) != 1 || *pp[0].Value[0].ID != *ipc.PublicIPAddress.ID || *pp[0].Value[0].Properties.IPAddress != "20.85.10.21" {
		t.Fatalf("public ips: %v", err)
	}
	rgVMs, err := drain(t, vms.NewListPager("rg-web", nil))
	if err != nil || len(rgVMs) != 1 || len(rgVMs[0].Value) != 0 {
		t.Fatalf("empty rg: %v %+v", err, rgVMs)
	}
}

func TestAuthorizationAPIs(t *testing.T) {
	s := StartForTest(t, nil)
	ctx := context.Background()
	sub := "/subscriptions/" + demoSub
	readerCred := secretCred(t, s, demoTenant, readerAppID, readerSecret)
	defs, _ := armauthorization.NewRoleDefinitionsClient(readerCred, armOptions(s))
	pages, err := drain(t, defs.NewListPager(sub, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("roleName eq 'AcrPull'")}))
	if err != nil || len(pages[0].Value) != 1 {
		t.Fatalf("filter: %v", err)
	}
	acrPull := pages[0].Value[0]
	if *acrPull.Name != RoleAcrPull || *acrPull.ID != sub+"/providers/Microsoft.Authorization/roleDefinitions/"+RoleAcrPull ||
		*acrPull.Properties.Permissions[0].Actions[0] != "Microsoft.ContainerRegistry/registries/pull/read" {
		t.Fatalf("AcrPull %+v", acrPull)
	}
	byID, err := defs.GetByID(ctx, sub+"/providers/Microsoft.Authorization/roleDefinitions/"+RoleContributor, nil)
	if err != nil || *byID.Properties.RoleName != "Contributor" || len(byID.Properties.Permissions[0].NotActions) != 11 {
		t.Fatalf("by id: %v", err)
	}

	owner := secretCred(t, s, demoTenant, ownerAppID, ownerSecret)
	ra, _ := armauthorization.NewRoleAssignmentsClient(demoSub, owner, armOptions(s))
	rg := sub + "/resourceGroups/rg-web"
	name := newGUID()
	_, err = ra.Create(ctx, rg, name, armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr(sub + "/providers/Microsoft.Authorization/roleDefinitions/" + RoleReader),
		PrincipalID:      to.Ptr("40000000-0000-4000-8000-000000000004"),
		PrincipalType:    to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The new assignment lets azimuth-norole read the group.
	rgc, _ := armresources.NewResourceGroupsClient(demoSub, secretCred(t, s, demoTenant, noroleAppID, noroleSecret), armOptions(s))
	if _, err := rgc.Get(ctx, "rg-web", nil); err != nil {
		t.Fatalf("after assignment: %v", err)
	}
	listed, err := drain(t, ra.NewListForScopePager(rg, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr("principalId eq '40000000-0000-4000-8000-000000000004'")}))
	if err != nil || len(listed[0].Value) != 1 || *listed[0].Value[0].Name != name {
		t.Fatalf("list by principal: %v %+v", err, listed)
	}
	atScope, err := drain(t, ra.NewListForScopePager(rg, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr("atScope()")}))
	if err != nil {
		t.Fatal(err)
	}
	seenSubLevel := false
	for _, a := range atScope[0].Value {
		if *a.Properties.Scope == sub {
			seenSubLevel = true
		}
	}
	if !seenSubLevel {
		t.Fatal("atScope() must include the assignments inherited from the subscription")
	}
	_, err = ra.Create(ctx, rg, newGUID(), armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr(sub + "/providers/Microsoft.Authorization/roleDefinitions/" + RoleReader),
		PrincipalID:      to.Ptr("40000000-0000-4000-8000-000000000004"),
	}}, nil)
	responseError(t, err, 409, "RoleAssignmentExists")
	if _, err := ra.Delete(ctx, rg, name, nil); err != nil {
		t.Fatal(err)
	}
	_, err = rgc.Get(ctx, "rg-web", nil)
	responseError(t, err, 403, "AuthorizationFailed")

	// Reader cannot assign roles.
	rr, _ := armauthorization.NewRoleAssignmentsClient(demoSub, readerCred, armOptions(s))
	_, err = rr.Create(ctx, rg, newGUID(), armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr(sub + "/providers/Microsoft.Authorization/roleDefinitions/" + RoleOwner), PrincipalID: to.Ptr(readerObjectID)}}, nil)
	responseError(t, err, 403, "AuthorizationFailed")

	// Effective permissions at resource group and resource scope.
	perms, _ := armauthorization.NewPermissionsClient(demoSub, readerCred, armOptions(s))
	pp, err := drain(t, perms.NewListForResourceGroupPager("rg-containers", nil))
	if err != nil || len(pp[0].Value) != 1 || *pp[0].Value[0].Actions[0] != "*/read" {
		t.Fatalf("rg permissions: %v %+v", err, pp)
	}
	rp, err := drain(t, perms.NewListForResourcePager("rg-containers", "Microsoft.ContainerRegistry", "", "registries", "democontoso", nil))
	if err != nil || len(rp[0].Value) != 2 {
		t.Fatalf("resource permissions (Reader + AcrPull): %v %+v", err, rp)
	}

	// Subscription-scope permissions: raw arm.Client, as Azimuth does.
	client, err := arm.NewClient("azuresim.test", "v1.0.0", readerCred, armOptions(s))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := runtime.NewRequest(ctx, http.MethodGet, runtime.JoinPaths(client.Endpoint(), sub, "providers/Microsoft.Authorization/permissions"))
	req.Raw().URL.RawQuery = "api-version=2022-04-01"
	resp, err := client.Pipeline().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Value []Permission }
	if err := runtime.UnmarshalAsJSON(resp, &body); err != nil || resp.StatusCode != 200 || len(body.Value) != 1 || !Allowed(body.Value, "Microsoft.Web/sites/read", false) {
		t.Fatalf("subscription permissions: %v %d %+v", err, resp.StatusCode, body)
	}
}

func TestCustomRole(t *testing.T) {
	s := StartForTest(t, nil)
	ctx := context.Background()
	sub := "/subscriptions/" + demoSub
	owner := secretCred(t, s, demoTenant, ownerAppID, ownerSecret)
	defs, _ := armauthorization.NewRoleDefinitionsClient(owner, armOptions(s))
	id := newGUID()
	_, err := defs.CreateOrUpdate(ctx, sub, id, armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
		RoleName:         to.Ptr("Slot Swapper"),
		Description:      to.Ptr("swaps slots"),
		RoleType:         to.Ptr("CustomRole"),
		Permissions:      []*armauthorization.Permission{{Actions: []*string{to.Ptr("Microsoft.Web/sites/*/read"), to.Ptr("Microsoft.Web/sites/read"), to.Ptr("Microsoft.Web/sites/slots/slotsswap/action")}}},
		AssignableScopes: []*string{to.Ptr(sub)},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddRoleAssignment(demoTenant, "azimuth-norole", "Slot Swapper", sub+"/resourceGroups/rg-web"); err != nil {
		t.Fatal(err)
	}
	site := sub + "/resourceGroups/rg-web/providers/Microsoft.Web/sites/contoso-web"
	if !s.CheckAccess(demoTenant, "40000000-0000-4000-8000-000000000004", "Microsoft.Web/sites/slots/slotsswap/action", site+"/slots/staging", false) {
		t.Fatal("custom role not applied")
	}
	if s.CheckAccess(demoTenant, "40000000-0000-4000-8000-000000000004", "Microsoft.Web/sites/slotsswap/action", site, false) {
		t.Fatal("custom role grants more than it says")
	}
	pages, err := drain(t, defs.NewListPager(sub, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("type eq 'CustomRole'")}))
	if err != nil || len(pages[0].Value) != 1 || *pages[0].Value[0].Properties.RoleName != "Slot Swapper" {
		t.Fatalf("custom roles: %v", err)
	}
}

// staticCred hands the SDK a fixed token, to see how ARM's refusals of a
// bad token surface through a generated client.
type staticCred struct{ token string }

func (c staticCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestExpiredTokenThroughTheSDK(t *testing.T) {
	s := StartForTest(t, nil)
	token, _, err := s.IssueToken(demoTenant, "azimuth-reader", "https://management.core.windows.net/")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := armresources.NewResourceGroupsClient(demoSub, staticCred{token}, armOptions(s))
	if _, err := c.Get(context.Background(), "rg-web", nil); err != nil {
		t.Fatal(err)
	}
	s.SetClockSkew(3 * time.Hour)
	_, err = c.Get(context.Background(), "rg-web", nil)
	responseError(t, err, 401, "ExpiredAuthenticationToken")
}
