package azure

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

// The transport follows redirects within a host only, applies the
// override's dial map and sets a User-Agent.
func TestTransportRedirectsAndDialMap(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	var ua atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua.Store(r.Header.Get("User-Agent"))
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/stolen", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/final":
			_, _ = w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	tr, err := newTransport(&cloud.Override{Hosts: map[string]string{"api.azimuth-test.example:80": addr}}, "azimuth/test", nil)
	if err != nil {
		t.Fatal(err)
	}
	do := func(url string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		resp, err := tr.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := do("http://api.azimuth-test.example/away"); resp.StatusCode != http.StatusFound || elsewhere.Load() != 0 {
		t.Fatalf("a redirect to another host was followed (status %d, %d requests there)", resp.StatusCode, elsewhere.Load())
	}
	if resp := do("http://api.azimuth-test.example/here"); resp.StatusCode != http.StatusOK {
		t.Fatalf("a same-host redirect: status %d", resp.StatusCode)
	}
	if got := ua.Load(); got != "azimuth/test" {
		t.Fatalf("User-Agent %q", got)
	}
	if id := applicationID("azimuth/1.2.3 (linux)"); id != "azimuth/1.2.3" {
		t.Fatalf("application id %q", id)
	}
	if id := applicationID(""); id != "azimuth" {
		t.Fatalf("application id %q", id)
	}
}

// Instance discovery is off exactly when the authority is not Azure's.
func TestCloudConfiguration(t *testing.T) {
	f := newFactory(t, nil, nil)
	for _, n := range cloud.Names() {
		c, err := f.Cloud(n)
		if err != nil {
			t.Fatal(err)
		}
		if c.DisableInstanceDiscovery || c.Overridden {
			t.Errorf("%s: discovery disabled %v, overridden %v", n, c.DisableInstanceDiscovery, c.Overridden)
		}
		if c.Config.Services["resourceManager"].Audience == "" || c.Config.Services[ContainerRegistryService].Audience != "https://containerregistry.azure.net" {
			t.Errorf("%s: services %+v", n, c.Config.Services)
		}
	}
	pub, _ := f.Cloud(cloud.Public)
	if pub.ARMScope() != "https://management.core.windows.net//.default" {
		t.Errorf("ARM scope %q", pub.ARMScope())
	}
	// The table agrees with the SDK's own clouds (azcore/cloud, whose ARM
	// entries azcore/arm fills in) and with the ACR login suffixes of
	// azure-protocols.md §3.
	for n, want := range map[cloud.Name]struct {
		sdk       azcloud.Configuration
		acrSuffix string
	}{
		cloud.Public: {azcloud.AzurePublic, ".azurecr.io"},
		cloud.USGov:  {azcloud.AzureGovernment, ".azurecr.us"},
		cloud.China:  {azcloud.AzureChina, ".azurecr.cn"},
	} {
		c, _ := f.Cloud(n)
		sdkARM, ok := want.sdk.Services[azcloud.ResourceManager]
		if !ok || sdkARM.Endpoint == "" {
			t.Fatalf("%s: the SDK's configuration has no ARM entry (azcore/arm not linked?)", n)
		}
		if c.Config.ActiveDirectoryAuthorityHost != want.sdk.ActiveDirectoryAuthorityHost {
			t.Errorf("%s: authority %q, the SDK's %q", n, c.Config.ActiveDirectoryAuthorityHost, want.sdk.ActiveDirectoryAuthorityHost)
		}
		if got := c.Config.Services[azcloud.ResourceManager]; got != sdkARM {
			t.Errorf("%s: ARM %+v, the SDK's %+v", n, got, sdkARM)
		}
		if c.Endpoints.ContainerRegistrySuffix != want.acrSuffix {
			t.Errorf("%s: ACR suffix %q, want %q", n, c.Endpoints.ContainerRegistrySuffix, want.acrSuffix)
		}
		if c.ARMScope() != sdkARM.Audience+"/.default" {
			t.Errorf("%s: ARM scope %q", n, c.ARMScope())
		}
	}
	s := startSim(t)
	sf := newFactory(t, s.Override(), nil)
	c, _ := sf.Cloud(cloud.USGov)
	if !c.DisableInstanceDiscovery || !c.Overridden || !strings.HasPrefix(c.Config.ActiveDirectoryAuthorityHost, "https://127.0.0.1:") {
		t.Errorf("simulated cloud %+v", c)
	}
	if _, err := sf.Cloud("AZURE_GERMANY"); err == nil {
		t.Error("an unknown cloud must be refused")
	}
}
