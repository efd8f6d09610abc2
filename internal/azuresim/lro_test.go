package azuresim

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

var fastPoll = &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond}

func storageTemplate(fail bool) map[string]any {
	t := map[string]any{
		"$schema":        "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
		"contentVersion": "1.0.0.0",
		"parameters": map[string]any{
			"name":  map[string]any{"type": "string"},
			"count": map[string]any{"type": "int", "defaultValue": 2},
		},
		"resources": []any{map[string]any{"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-01-01", "name": "[parameters('name')]"}},
		"outputs": map[string]any{
			"accountName": map[string]any{"type": "string", "value": "[parameters('name')]"},
			"fixed":       map[string]any{"type": "int", "value": 7},
		},
	}
	if fail {
		t["metadata"] = map[string]any{"azuresim": map[string]any{"fail": map[string]any{"code": "StorageAccountAlreadyTaken", "message": "The storage account named x is already taken."}}}
	}
	return t
}

func TestDeployments(t *testing.T) {
	s := StartForTestWith(t, Options{LROPolls: 2})
	ctx := context.Background()
	owner, err := armresources.NewDeploymentsClient(demoSub, secretCred(t, s, demoTenant, ownerAppID, ownerSecret), armOptions(s))
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]any{"name": map[string]any{"value": "stdemo01"}}
	poller, err := owner.BeginCreateOrUpdate(ctx, "rg-web", "deploy-1", armresources.Deployment{Properties: &armresources.DeploymentProperties{
		Mode: to.Ptr(armresources.DeploymentModeIncremental), Template: storageTemplate(false), Parameters: params}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := poller.PollUntilDone(ctx, fastPoll)
	if err != nil {
		t.Fatal(err)
	}
	if *res.Properties.ProvisioningState != armresources.ProvisioningStateSucceeded {
		t.Fatalf("state %v", *res.Properties.ProvisioningState)
	}
	outputs := res.Properties.Outputs.(map[string]any)
	if outputs["accountName"].(map[string]any)["value"] != "stdemo01" {
		t.Fatalf("outputs %v", outputs)
	}
	if n := s.RequestCount("arm.operations.status"); n != 3 {
		t.Fatalf("status polls = %d, want 3 (2 in progress, then done)", n)
	}
	recs := s.Deployments()
	if len(recs) != 1 || !strings.Contains(string(recs[0].Parameters), "stdemo01") || !strings.Contains(string(recs[0].Template), "storageAccounts") {
		t.Fatalf("records %+v", recs)
	}

	// A template asking to fail fails as ARM does.
	poller, err = owner.BeginCreateOrUpdate(ctx, "rg-web", "deploy-2", armresources.Deployment{Properties: &armresources.DeploymentProperties{
		Mode: to.Ptr(armresources.DeploymentModeIncremental), Template: storageTemplate(true), Parameters: params}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = poller.PollUntilDone(ctx, fastPoll)
	re := responseError(t, err, 200, "DeploymentFailed")
	if !strings.Contains(re.Error(), "StorageAccountAlreadyTaken") {
		t.Fatalf("details missing: %v", re)
	}
	got, err := owner.Get(ctx, "rg-web", "deploy-2", nil)
	if err != nil || *got.Properties.ProvisioningState != armresources.ProvisioningStateFailed || *got.Properties.Error.Code != "DeploymentFailed" {
		t.Fatalf("failed deployment: %v %+v", err, got.Properties)
	}

	// A missing parameter is refused before anything runs.
	_, err = owner.BeginCreateOrUpdate(ctx, "rg-web", "deploy-3", armresources.Deployment{Properties: &armresources.DeploymentProperties{
		Mode: to.Ptr(armresources.DeploymentModeIncremental), Template: storageTemplate(false)}}, nil)
	re = responseError(t, err, 400, "InvalidTemplate")
	if !strings.Contains(re.Error(), "'name'") {
		t.Fatal(re)
	}

	// Subscription scope needs a location.
	sp, err := owner.BeginCreateOrUpdateAtSubscriptionScope(ctx, "sub-deploy", armresources.Deployment{Location: to.Ptr("eastus"), Properties: &armresources.DeploymentProperties{
		Mode: to.Ptr(armresources.DeploymentModeIncremental), Template: storageTemplate(false), Parameters: params}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sp.PollUntilDone(ctx, fastPoll); err != nil {
		t.Fatal(err)
	}
	_, err = owner.BeginCreateOrUpdateAtSubscriptionScope(ctx, "sub-deploy-2", armresources.Deployment{Properties: &armresources.DeploymentProperties{
		Mode: to.Ptr(armresources.DeploymentModeIncremental), Template: storageTemplate(false), Parameters: params}}, nil)
	responseError(t, err, 400, "InvalidDeployment")

	pages, err := drain(t, owner.NewListByResourceGroupPager("rg-web", nil))
	if err != nil || len(pages[0].Value) != 2 {
		t.Fatalf("list: %v", err)
	}

	// Management group and tenant scope: Owner of a subscription holds no
	// role there.
	_, err = owner.BeginCreateOrUpdateAtManagementGroupScope(ctx, "contoso-platform", "mg-deploy", armresources.ScopedDeployment{Location: to.Ptr("eastus"),
		Properties: &armresources.DeploymentProperties{Mode: to.Ptr(armresources.DeploymentModeIncremental), Template: storageTemplate(false), Parameters: params}}, nil)
	responseError(t, err, 403, "AuthorizationFailed")
	if _, err := s.AddRoleAssignment(demoTenant, "azimuth-owner", "Contributor", "/providers/Microsoft.Management/managementGroups/"+demoTenant); err != nil {
		t.Fatal(err)
	}
	mp, err := owner.BeginCreateOrUpdateAtManagementGroupScope(ctx, "contoso-platform", "mg-deploy", armresources.ScopedDeployment{Location: to.Ptr("eastus"),
		Properties: &armresources.DeploymentProperties{Mode: to.Ptr(armresources.DeploymentModeIncremental), Template: storageTemplate(false), Parameters: params}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mp.PollUntilDone(ctx, fastPoll); err != nil {
		t.Fatal(err)
	}
	_, err = owner.BeginCreateOrUpdateAtTenantScope(ctx, "tenant-deploy", armresources.ScopedDeployment{Location: to.Ptr("eastus"),
		Properties: &armresources.DeploymentProperties{Mode: to.Ptr(armresources.DeploymentModeIncremental), Template: storageTemplate(false), Parameters: params}}, nil)
	responseError(t, err, 403, "AuthorizationFailed")

	// Reader may not deploy.
	reader, _ := armresources.NewDeploymentsClient(demoSub, secretCred(t, s, demoTenant, readerAppID, readerSecret), armOptions(s))
	_, err = reader.BeginCreateOrUpdate(ctx, "rg-web", "deploy-4", armresources.Deployment{Properties: &armresources.DeploymentProperties{
		Mode: to.Ptr(armresources.DeploymentModeIncremental), Template: storageTemplate(false), Parameters: params}}, nil)
	responseError(t, err, 403, "AuthorizationFailed")
}

// rawClient is the arm.Client pipeline Azimuth uses where no SDK module is
// served (Microsoft.Web, Blueprints).
func rawClient(t *testing.T, s *Sim, id, secret string) *arm.Client {
	t.Helper()
	c, err := arm.NewClient("azuresim.test", "v1.0.0", secretCred(t, s, demoTenant, id, secret), armOptions(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func rawDo(t *testing.T, c *arm.Client, method, path, apiVersion string, body any) *http.Response {
	t.Helper()
	req, err := runtime.NewRequest(context.Background(), method, runtime.JoinPaths(c.Endpoint(), path))
	if err != nil {
		t.Fatal(err)
	}
	req.Raw().URL.RawQuery = "api-version=" + apiVersion
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := c.Pipeline().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestWebAppsAndSlotSwap(t *testing.T) {
	s := StartForTest(t, nil)
	ctx := context.Background()
	rg := "/subscriptions/" + demoSub + "/resourceGroups/rg-web/providers/Microsoft.Web/sites"
	reader := rawClient(t, s, readerAppID, readerSecret)
	resp := rawDo(t, reader, http.MethodGet, "/subscriptions/"+demoSub+"/providers/Microsoft.Web/sites", "2024-04-01", nil)
	var sites struct {
		Value []struct {
			Name, Kind string
			Properties struct {
				State      string
				HostNames  []string
				SiteConfig struct{ LinuxFxVersion string }
			}
		}
	}
	if err := runtime.UnmarshalAsJSON(resp, &sites); err != nil || len(sites.Value) != 2 || sites.Value[0].Properties.HostNames[0] != "contoso-web.azurewebsites.net" || sites.Value[1].Kind != "functionapp,linux" {
		t.Fatalf("sites: %v %+v", err, sites)
	}
	resp = rawDo(t, reader, http.MethodGet, rg+"/contoso-web/slots", "2024-04-01", nil)
	var slots struct{ Value []struct{ Name string } }
	if err := runtime.UnmarshalAsJSON(resp, &slots); err != nil || len(slots.Value) != 2 || slots.Value[0].Name != "contoso-web/staging" {
		t.Fatalf("slots: %v %+v", err, slots)
	}
	// Reader cannot swap.
	resp = rawDo(t, reader, http.MethodPost, rg+"/contoso-web/slotsswap", "2024-04-01", map[string]any{"targetSlot": "staging", "preserveVnet": true})
	if resp.StatusCode != 403 {
		t.Fatalf("reader swap: %d", resp.StatusCode)
	}

	// azimuth-cert holds Website Contributor on rg-web: it can.
	pemBytes, _ := s.CertificatePEM(demoTenant, "azimuth-cert", "")
	swapper, err := arm.NewClient("azuresim.test", "v1.0.0", certCred(t, s, pemBytes, "", nil), armOptions(s))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := runtime.NewRequest(ctx, http.MethodPost, runtime.JoinPaths(swapper.Endpoint(), rg+"/contoso-web/slotsswap"))
	req.Raw().URL.RawQuery = "api-version=2024-04-01"
	_ = runtime.MarshalAsJSON(req, map[string]any{"targetSlot": "staging", "preserveVnet": true})
	resp, err = swapper.Pipeline().Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("swap: %v %d", err, resp.StatusCode)
	}
	poller, err := runtime.NewPoller[struct{}](resp, swapper.Pipeline(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(ctx, fastPoll); err != nil {
		t.Fatal(err)
	}
	site := getSite(t, reader, rg+"/contoso-web")
	staging := getSite(t, reader, rg+"/contoso-web/slots/staging")
	if site.Properties.SiteConfig.LinuxFxVersion != "DOCKER|democontoso.azurecr.io/team/api:v1.2.0" ||
		staging.Properties.SiteConfig.LinuxFxVersion != "DOCKER|democontoso.azurecr.io/team/api:v1.1.0" ||
		site.Properties.HostNames[0] != "contoso-web.azurewebsites.net" {
		t.Fatalf("after swap: production %+v staging %+v", site.Properties, staging.Properties)
	}
	// Slot to slot: qa (Stopped) <-> staging.
	resp = rawDo(t, swapper, http.MethodPost, rg+"/contoso-web/slots/qa/slotsswap", "2024-04-01", map[string]any{"targetSlot": "staging", "preserveVnet": true})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("slot swap: %d", resp.StatusCode)
	}
	if getSite(t, reader, rg+"/contoso-web/slots/staging").Properties.State != "Stopped" {
		t.Fatal("state not swapped")
	}
	resp = rawDo(t, swapper, http.MethodPost, rg+"/contoso-web/slotsswap", "2024-04-01", map[string]any{"targetSlot": "nope", "preserveVnet": true})
	if resp.StatusCode != 404 {
		t.Fatalf("unknown slot: %d", resp.StatusCode)
	}
}

type siteDoc struct {
	Name       string
	Properties struct {
		State      string
		HostNames  []string
		SiteConfig struct{ LinuxFxVersion string }
	}
}

func getSite(t *testing.T, c *arm.Client, path string) siteDoc {
	t.Helper()
	resp := rawDo(t, c, http.MethodGet, path, "2024-04-01", nil)
	var d siteDoc
	if err := runtime.UnmarshalAsJSON(resp, &d); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %v %d", path, err, resp.StatusCode)
	}
	return d
}

func TestBlueprintAssignments(t *testing.T) {
	s := StartForTestWith(t, Options{LROPolls: 3})
	path := "/subscriptions/" + demoSub + "/providers/Microsoft.Blueprint/blueprintAssignments/assign-1"
	body := map[string]any{
		"identity": map[string]any{"type": "SystemAssigned"},
		"location": "eastus",
		"properties": map[string]any{
			"blueprintId": "/providers/Microsoft.Management/managementGroups/contoso-platform/providers/Microsoft.Blueprint/blueprints/baseline/versions/1.0",
			"parameters":  map[string]any{"owner": map[string]any{"value": "platform"}},
			"locks":       map[string]any{"mode": "None"},
		},
	}
	// Contributor's notActions exclude blueprint assignments.
	if _, err := s.AddRoleAssignment(demoTenant, "azimuth-norole", "Contributor", "/subscriptions/"+demoSub); err != nil {
		t.Fatal(err)
	}
	contrib := rawClient(t, s, noroleAppID, noroleSecret)
	if resp := rawDo(t, contrib, http.MethodPut, path, "2018-11-01-preview", body); resp.StatusCode != 403 {
		t.Fatalf("contributor: %d", resp.StatusCode)
	}
	owner := rawClient(t, s, ownerAppID, ownerSecret)
	resp := rawDo(t, owner, http.MethodPut, path, "2018-11-01-preview", body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("put: %d", resp.StatusCode)
	}
	var states []string
	for range 5 {
		resp := rawDo(t, owner, http.MethodGet, path, "2018-11-01-preview", nil)
		var doc struct {
			Properties struct{ ProvisioningState string }
		}
		if err := runtime.UnmarshalAsJSON(resp, &doc); err != nil {
			t.Fatal(err)
		}
		states = append(states, doc.Properties.ProvisioningState)
	}
	if got := strings.Join(states, ","); got != "validating,waiting,deploying,succeeded,succeeded" {
		t.Fatalf("states %s", got)
	}
	resp = rawDo(t, owner, http.MethodDelete, path, "2018-11-01-preview", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if resp := rawDo(t, owner, http.MethodGet, path, "2018-11-01-preview", nil); resp.StatusCode != 404 {
		t.Fatalf("after delete: %d", resp.StatusCode)
	}
	// The failure convention.
	body["properties"].(map[string]any)["parameters"] = map[string]any{"azuresimFail": map[string]any{"value": "policy denied"}}
	rawDo(t, owner, http.MethodPut, path, "2018-11-01-preview", body)
	var last map[string]any
	for range 4 {
		resp := rawDo(t, owner, http.MethodGet, path, "2018-11-01-preview", nil)
		_ = json.NewDecoder(resp.Body).Decode(&last)
	}
	if last["properties"].(map[string]any)["provisioningState"] != "failed" {
		t.Fatalf("want failed: %v", last)
	}
}
