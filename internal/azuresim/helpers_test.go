package azuresim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/golang-jwt/jwt/v5"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

// The demo world's names and ids used across tests.
const (
	demoTenant     = "10000000-0000-4000-8000-000000000001"
	demoDomain     = "contoso.onmicrosoft.com"
	demoSub        = "20000000-0000-4000-8000-000000000001"
	demoDevSub     = "20000000-0000-4000-8000-000000000002"
	readerAppID    = "30000000-0000-4000-8000-000000000001"
	readerObjectID = "40000000-0000-4000-8000-000000000001"
	readerSecret   = "demo-reader-secret-0001"
	certAppID      = "30000000-0000-4000-8000-000000000002"
	expiredAppID   = "30000000-0000-4000-8000-000000000003"
	expiredSecret  = "demo-expired-secret-0003"
	noroleAppID    = "30000000-0000-4000-8000-000000000004"
	noroleSecret   = "demo-norole-secret-0004"
	acrpullAppID   = "30000000-0000-4000-8000-000000000005"
	acrpullSecret  = "demo-acrpull-secret-0005"
	ownerAppID     = "30000000-0000-4000-8000-000000000006"
	ownerSecret    = "demo-owner-secret-0006"
	sysClientID    = "60000000-0000-4000-8000-000000000001"
	sysPrincipalID = "50000000-0000-4000-8000-000000000001"
	uamiClientID   = "60000000-0000-4000-8000-000000000002"
	uamiPrincipal  = "50000000-0000-4000-8000-000000000002"
	armScope       = "https://management.core.windows.net//.default"
)

// clientOptions points the SDK at the simulator's endpoints for a cloud,
// with retries off so error paths are quick.
func clientOptions(s *Sim, n cloud.Name) azcore.ClientOptions {
	e := s.Endpoints(n)
	return azcore.ClientOptions{
		Cloud: azcloud.Configuration{
			ActiveDirectoryAuthorityHost: e.AuthorityHost,
			Services: map[azcloud.ServiceName]azcloud.ServiceConfiguration{
				azcloud.ResourceManager: {Endpoint: e.ResourceManager, Audience: e.ResourceManagerAudience},
			},
		},
		Transport: s.HTTPClient(),
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}
}

func secretCred(t *testing.T, s *Sim, tenant, clientID, secret string) *azidentity.ClientSecretCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(tenant, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            clientOptions(s, cloud.Public),
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// aadCode returns the AADSTS code and the description of an
// AuthenticationFailedError, failing the test for any other error.
func aadCode(t *testing.T, err error) (int, int, string) {
	t.Helper()
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) {
		t.Fatalf("want *azidentity.AuthenticationFailedError, got %T: %v", err, err)
	}
	if afe.RawResponse == nil {
		t.Fatalf("AuthenticationFailedError without a response: %v", err)
	}
	b, _ := io.ReadAll(afe.RawResponse.Body)
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	if err := json.Unmarshal(b, &body); err != nil || len(body.Codes) == 0 {
		t.Fatalf("error body %q is not an Entra error: %v", b, err)
	}
	return afe.RawResponse.StatusCode, body.Codes[0], body.Description
}

func claimsOf(t *testing.T, token string) AccessClaims {
	t.Helper()
	var c AccessClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		t.Fatalf("token is not a JWT: %v", err)
	}
	return c
}

func wantPrefix(t *testing.T, got, prefix string) {
	t.Helper()
	if !strings.HasPrefix(got, prefix) {
		t.Fatalf("got %q, want prefix %q", got, prefix)
	}
}

func b64Lines(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 64 {
		out.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	out.WriteString(s + "\n")
	return out.String()
}

func ioCopy(w io.Writer, resp *http.Response) (int64, error) { return io.Copy(w, resp.Body) }

func getJSON(t *testing.T, c *http.Client, u string, v any) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// rawARM sends one ARM request and returns its status and error code.
func rawARM(t *testing.T, s *Sim, method, u, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Error.Code
}

func errorsAs[T any](err error, target *T) bool { return errors.As(err, target) }
