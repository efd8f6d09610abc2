package azuresim

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

const uamiResourceID = "/subscriptions/" + demoSub + "/resourcegroups/rg-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/delegate-identity"

func imdsCred(t *testing.T, s *Sim, id azidentity.ManagedIDKind) *azidentity.ManagedIdentityCredential {
	t.Helper()
	hc, err := s.HostHTTPClient("delegate-host")
	if err != nil {
		t.Fatal(err)
	}
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ID:            id,
		ClientOptions: azcore.ClientOptions{Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func TestIMDS(t *testing.T) {
	s := StartForTest(t, nil)
	ctx := context.Background()
	tests := []struct {
		name string
		id   azidentity.ManagedIDKind
		oid  string
	}{
		{"system-assigned", nil, sysPrincipalID},
		// Naming the system-assigned identity explicitly works too.
		{"system-assigned by client id", azidentity.ClientID(sysClientID), sysPrincipalID},
		{"system-assigned by object id", azidentity.ObjectID(sysPrincipalID), sysPrincipalID},
		{"client id", azidentity.ClientID(uamiClientID), uamiPrincipal},
		{"object id", azidentity.ObjectID(uamiPrincipal), uamiPrincipal},
		{"resource id", azidentity.ResourceID(uamiResourceID), uamiPrincipal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := imdsCred(t, s, tc.id).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
			if err != nil {
				t.Fatal(err)
			}
			c := claimsOf(t, tok.Token)
			if c.ObjectID != tc.oid || c.TenantID != demoTenant || c.MIResID == "" || c.Audience != "https://management.core.windows.net/" {
				t.Fatalf("claims %+v", c)
			}
		})
	}
	// MSAL caches managed-identity tokens process-wide: a unique resource
	// shows the cache at work whatever ran before.
	unique := "api://azuresim-" + newGUID()
	sys := imdsCred(t, s, nil)
	for range 2 {
		if _, err := sys.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{unique + "/.default"}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.TokenRequests(demoTenant, sysClientID, unique); n != 1 {
		t.Fatalf("IMDS token requests for the system identity = %d, want 1", n)
	}
	for _, id := range []azidentity.ManagedIDKind{azidentity.ClientID("60000000-0000-4000-8000-00000000dead"), azidentity.ResourceID("/subscriptions/" + demoSub + "/resourcegroups/x/providers/Microsoft.ManagedIdentity/userAssignedIdentities/other")} {
		_, err := imdsCred(t, s, id).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
		var afe *azidentity.AuthenticationFailedError
		if !asAFE(err, &afe) || !strings.Contains(err.Error(), "isn't assigned") || afe.RawResponse.StatusCode != 400 {
			t.Fatalf("unassigned identity: %T %v", err, err)
		}
	}

	// The raw protocol: Metadata: true is required.
	hc, _ := s.HostHTTPClient("delegate-host")
	resp, err := hc.Get("http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("without Metadata: %d", resp.StatusCode)
	}

	// Managed identity tokens work on ARM under the identity's roles: the
	// user-assigned one is Reader on rg-containers only.
	uami := imdsCred(t, s, azidentity.ClientID(uamiClientID))
	rgs, _ := armresources.NewResourceGroupsClient(demoSub, uami, armOptions(s))
	pages, err := drain(t, rgs.NewListPager(nil))
	if err != nil || len(pages[0].Value) != 1 || *pages[0].Value[0].Name != "rg-containers" {
		t.Fatalf("uami sees %v %+v", err, pages)
	}
	sysRGs, _ := armresources.NewResourceGroupsClient(demoSub, imdsCred(t, s, nil), armOptions(s))
	if pages, err = drain(t, sysRGs.NewListPager(nil)); err != nil || len(pages[0].Value) != 4 {
		t.Fatalf("system identity: %v", err)
	}
}

func asAFE(err error, target **azidentity.AuthenticationFailedError) bool {
	return err != nil && errorsAs(err, target)
}

// TestAppService uses process environment variables: not parallel.
func TestAppService(t *testing.T) {
	s := StartForTest(t, nil)
	ctx := context.Background()
	o, err := s.HostOverride("delegate-host")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("IDENTITY_ENDPOINT", o.AppService.Endpoint)
	t.Setenv("IDENTITY_HEADER", o.AppService.Header)
	newCred := func(id azidentity.ManagedIDKind) *azidentity.ManagedIdentityCredential {
		cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
			ID: id, ClientOptions: azcore.ClientOptions{Transport: s.HTTPClient(), Retry: policy.RetryOptions{MaxRetries: -1}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return cred
	}
	// Unique resources: MSAL's managed-identity cache is process-wide.
	scope := func() []string { return []string{"api://azuresim-" + newGUID() + "/.default"} }
	for name, id := range map[string]azidentity.ManagedIDKind{"system": nil, "system by client id": azidentity.ClientID(sysClientID),
		"resource id": azidentity.ResourceID(uamiResourceID), "client id": azidentity.ClientID(uamiClientID)} {
		tok, err := newCred(id).GetToken(ctx, policy.TokenRequestOptions{Scopes: scope()})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c := claimsOf(t, tok.Token); c.TenantID != demoTenant || c.AppIDACR != "0" {
			t.Fatalf("%s: claims %+v", name, c)
		}
	}
	if s.RequestCount("appservice.token") != 4 || s.RequestCount("imds.token") != 0 {
		t.Fatalf("counts %v", s.RequestCounts())
	}
	// The errors as the SDK surfaces them: an AuthenticationFailedError
	// holding the endpoint's 400 and its message.
	refused := func(what string, err error, message string) {
		t.Helper()
		var afe *azidentity.AuthenticationFailedError
		if !asAFE(err, &afe) {
			t.Fatalf("%s: want *azidentity.AuthenticationFailedError, got %T: %v", what, err, err)
		}
		if afe.RawResponse == nil || afe.RawResponse.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s: want the endpoint's 400, got %v", what, afe.RawResponse)
		}
		if !strings.Contains(err.Error(), message) || !strings.Contains(err.Error(), "ManagedIdentityCredential authentication failed") {
			t.Fatalf("%s: the error does not say %q: %v", what, message, err)
		}
	}
	_, err = newCred(azidentity.ClientID("60000000-0000-4000-8000-00000000dead")).GetToken(ctx, policy.TokenRequestOptions{Scopes: scope()})
	refused("an unassigned identity", err, "No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.")
	t.Setenv("IDENTITY_HEADER", "wrong")
	_, err = newCred(nil).GetToken(ctx, policy.TokenRequestOptions{Scopes: scope()})
	refused("a wrong identity header", err, "The request is missing or has an invalid X-IDENTITY-HEADER header.")
}

var _ = cloud.Public
