package azure

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
	"github.com/golang-jwt/jwt/v5"

	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/failure"
)

// failureCase is one way of failing: it builds what it needs on a fresh
// simulator and returns the error of the operation.
type failureCase struct {
	name string
	// fresh asks for a simulator of its own (the case changes the world,
	// the clock or the faults); the others share one.
	fresh  bool
	run    func(t *testing.T, s *azuresim.Sim) error
	reason Reason
	kind   failure.Kind
	// The message and hint must name these (ids, hosts, commands).
	inMessage, inHint []string
	// within, when set, bounds how long the case may take: a network
	// failure must end within its timeout (plus a generous margin for a
	// loaded machine), never hang.
	within time.Duration
}

// authenticate builds the credential and gets an ARM token the way every
// operation does, then lists subscriptions.
func authenticate(t *testing.T, f *Factory, c *connector.Connector, sec map[string][]byte) error {
	t.Helper()
	cred, err := f.Credential(c, sec, "key")
	if err != nil {
		return err
	}
	ctx, cancel := cred.Context(context.Background())
	defer cancel()
	if _, err := cred.Identity(ctx); err != nil {
		return err
	}
	if _, err := listSubscriptions(ctx, cred); err != nil {
		return cred.Classify(err)
	}
	return nil
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// unregisteredCertPEM is a self-signed RSA certificate no app knows.
func unregisteredCertPEM(t *testing.T) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der := selfSigned(t, key, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	b, _ := x509.MarshalPKCS8PrivateKey(key)
	return append(pemBlock("CERTIFICATE", der), pemBlock("PRIVATE KEY", b)...)
}

func selfSigned(t *testing.T, key any, from, to time.Time) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "azimuth-test"},
		NotBefore: from, NotAfter: to}
	pub := key.(crypto.Signer)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestFailureClasses(t *testing.T) {
	secretSec := func(v string) map[string][]byte { return secrets(connector.PathSecretRef, v) }
	tests := []failureCase{
		{name: "client secret expired", reason: ReasonClientSecretExpired, kind: failure.Invalid,
			run: func(t *testing.T, s *azuresim.Sim) error {
				return authenticate(t, newFactory(t, s.Override(), nil), secretConnector("c", expiredApp, tenantID), secretSec(expiredSecret))
			},
			inMessage: []string{expiredApp, "expired", secretRef}, inHint: []string{"az ad app credential reset --id " + expiredApp, secretRef}},
		{name: "wrong client secret", reason: ReasonClientSecretInvalid, kind: failure.Invalid,
			run: func(t *testing.T, s *azuresim.Sim) error {
				return authenticate(t, newFactory(t, s.Override(), nil), secretConnector("c", secretApp, tenantID), secretSec("not-the-right-secret-value"))
			},
			inMessage: []string{secretApp, tenantID, secretRef}, inHint: []string{"Value", "az ad app credential reset"}},
		{name: "secret ID pasted instead of the value", reason: ReasonClientSecretIsSecretID, kind: failure.Invalid,
			run: func(t *testing.T, s *azuresim.Sim) error {
				return authenticate(t, newFactory(t, s.Override(), nil), secretConnector("c", secretApp, tenantID), secretSec(secretKeyID))
			},
			inMessage: []string{"secret's ID", secretApp}, inHint: []string{"Value", "shown only once"}},
		{name: "application not found", reason: ReasonApplicationNotFound, kind: failure.Invalid,
			run: func(t *testing.T, s *azuresim.Sim) error {
				return authenticate(t, newFactory(t, s.Override(), nil), secretConnector("c", "99999999-0000-4000-8000-000000000099", tenantID), secretSec(secretValue))
			},
			inMessage: []string{"99999999-0000-4000-8000-000000000099", tenantID}, inHint: []string{"Application (client) ID", "az ad sp show"}},
		{name: "tenant not found", reason: ReasonTenantNotFound, kind: failure.Invalid,
			run: func(t *testing.T, s *azuresim.Sim) error {
				return authenticate(t, newFactory(t, s.Override(), nil), secretConnector("c", secretApp, "99999999-0000-4000-8000-0000000000aa"), secretSec(secretValue))
			},
			inMessage: []string{"99999999-0000-4000-8000-0000000000aa", "AZURE"}, inHint: []string{"Directory (tenant) ID", "azureEnvironmentType"}},
		{name: "tenant neither a GUID nor a domain", reason: ReasonTenantNotFound, kind: failure.Invalid,
			run: func(t *testing.T, s *azuresim.Sim) error {
				return authenticate(t, newFactory(t, s.Override(), nil), secretConnector("c", secretApp, "fabrikam"), secretSec(secretValue))
			},
			inMessage: []string{`"fabrikam"`, "AADSTS900023"}, inHint: []string{"Directory (tenant) ID"}},
		{name: "tenant of another cloud", reason: ReasonTenantNotFound, kind: failure.Invalid,
			run: func(t *testing.T, s *azuresim.Sim) error {
				c := secretConnector("c", secretApp, tenantID)
				c.Spec.AzureEnvironmentType = string(cloud.USGov)
				return authenticate(t, newFactory(t, s.Override(), nil), c, secretSec(secretValue))
			},
			inMessage: []string{tenantID, "AZURE_US_GOVERNMENT"}, inHint: []string{"azureEnvironmentType"}},
		{name: "certificate not registered", reason: ReasonCertificateNotRegistered, kind: failure.Invalid,
			run: func(t *testing.T, s *azuresim.Sim) error {
				return authenticate(t, newFactory(t, s.Override(), nil), certConnector("c", certApp, tenantID),
					map[string][]byte{connector.PathCertificateRef: unregisteredCertPEM(t)})
			},
			inMessage: []string{certApp, "thumbprint"}, inHint: []string{"az ad app credential reset --id " + certApp + " --cert"}},
		{name: "assertion outside its time window (clock skew)", fresh: true, reason: ReasonClockSkew, kind: failure.Invalid,
			run: func(t *testing.T, s *azuresim.Sim) error {
				s.SetClockSkew(time.Hour)
				return authenticate(t, newFactory(t, s.Override(), nil), certConnector("c", certApp, tenantID),
					map[string][]byte{connector.PathCertificateRef: certPEM(t, s, "main")})
			},
			inMessage: []string{"clock", "AADSTS700024"}, inHint: []string{"NTP", "date -u"}},
		{name: "certificate expired (its own dates)", reason: ReasonCertificateExpired, kind: failure.Invalid,
			run: func(t *testing.T, s *azuresim.Sim) error {
				return authenticate(t, newFactory(t, s.Override(), nil), certConnector("c", certApp, tenantID),
					map[string][]byte{connector.PathCertificateRef: certPEM(t, s, "old")})
			},
			inMessage: []string{"expired on"}, inHint: []string{"openssl req -x509", certApp}},
		{name: "federated credential mismatch", reason: ReasonFederatedMismatch, kind: failure.Invalid,
			run:       func(t *testing.T, s *azuresim.Sim) error { return federatedFailure(t, s) },
			inMessage: []string{secretApp, "AADSTS70021"}, inHint: []string{"federated-credential list"}},
		{name: "user-assigned identity not on this host (IMDS)", reason: ReasonManagedIdentityNotAssigned, kind: failure.Invalid,
			run: func(t *testing.T, s *azuresim.Sim) error {
				f := newFactory(t, hostOverride(t, s, "delegate-vm", false), func(o *Options) { o.ManagedIdentity = true })
				return authenticate(t, f, miConnector("c", uamiOther), nil)
			},
			inMessage: []string{uamiOther, "169.254.169.254"}, inHint: []string{"az vm identity assign", uamiOther}},
		{name: "user-assigned identity not on this host (App Service)", reason: ReasonManagedIdentityNotAssigned, kind: failure.Invalid,
			run: func(t *testing.T, s *azuresim.Sim) error {
				f := newFactory(t, hostOverride(t, s, "delegate-vm", true), func(o *Options) { o.ManagedIdentity = true })
				return authenticate(t, f, miConnector("c", uamiOther), nil)
			},
			inMessage: []string{uamiOther}, inHint: []string{"az webapp identity assign"}},
		{name: "no system-assigned identity on this host (IMDS)", reason: ReasonManagedIdentityNotAssigned, kind: failure.Invalid,
			run: func(t *testing.T, s *azuresim.Sim) error {
				f := newFactory(t, hostOverride(t, s, "bare-vm", false), func(o *Options) { o.ManagedIdentity = true })
				return authenticate(t, f, miConnector("c", ""), nil)
			},
			inMessage: []string{"no system-assigned managed identity"}, inHint: []string{"az vm identity assign"}},
		{name: "no system-assigned identity on this host (App Service)", reason: ReasonManagedIdentityNotAssigned, kind: failure.Invalid,
			run: func(t *testing.T, s *azuresim.Sim) error {
				f := newFactory(t, hostOverride(t, s, "bare-vm", true), func(o *Options) { o.ManagedIdentity = true })
				return authenticate(t, f, miConnector("c", ""), nil)
			},
			inMessage: []string{"no system-assigned managed identity"}, inHint: []string{"UserAssignedManagedIdentity"}},
		{name: "no managed identity endpoint", reason: ReasonManagedIdentityUnavailable, kind: failure.Unavailable,
			run: func(t *testing.T, s *azuresim.Sim) error {
				o := s.Override()
				o.Hosts["169.254.169.254:80"] = closedAddr(t)
				f := newFactory(t, o, func(o *Options) { o.ManagedIdentity = true; o.CallTimeout = 10 * time.Second })
				return authenticate(t, f, miConnector("c", ""), nil)
			},
			inMessage: []string{"169.254.169.254", "connection was refused"}, inHint: []string{"delegate", "managed identity"},
			within: 10*time.Second + 5*time.Second},
		{name: "authorization failed", reason: ReasonAuthorizationFailed, kind: failure.Forbidden,
			run: func(t *testing.T, s *azuresim.Sim) error {
				f := newFactory(t, s.Override(), nil)
				cred, err := f.Credential(secretConnector("c", rgApp, tenantID), secretSec(rgSecret), "k")
				if err != nil {
					return err
				}
				return cred.Classify(rawGet(t, cred, "/subscriptions/"+sub1+"/resourcegroups/rg-other", "2021-04-01"))
			},
			inMessage: []string{"Microsoft.Resources/subscriptions/resourceGroups/read", "/subscriptions/" + sub1 + "/resourceGroups/rg-other"},
			inHint:    []string{"az role assignment create", "--role Reader", "--scope /subscriptions/" + sub1 + "/resourceGroups/rg-other"}},
		{name: "subscription not found", reason: ReasonSubscriptionNotFound, kind: failure.NotFound,
			run: func(t *testing.T, s *azuresim.Sim) error {
				f := newFactory(t, s.Override(), nil)
				cred, _ := f.Credential(secretConnector("c", secretApp, tenantID), secretSec(secretValue), "k")
				client, _ := armsubscriptions.NewClient(cred, cred.ARMOptions())
				_, err := client.Get(context.Background(), "99999999-0000-4000-8000-0000000000bb", nil)
				return cred.Classify(err)
			},
			inMessage: []string{"99999999-0000-4000-8000-0000000000bb"}, inHint: []string{"az account list"}},
		{name: "throttled until the retries ran out", fresh: true, reason: ReasonThrottled, kind: failure.Unavailable,
			run: func(t *testing.T, s *azuresim.Sim) error {
				if _, err := s.AddFault(azuresim.Fault{Route: "arm.subscriptions.list", Status: http.StatusTooManyRequests, RetryAfter: azuresim.Duration(time.Second)}); err != nil {
					t.Fatal(err)
				}
				return authenticate(t, newFactory(t, s.Override(), nil), secretConnector("c", secretApp, tenantID), secretSec(secretValue))
			},
			inMessage: []string{"429"}, inHint: []string{"throttling"}},
		{name: "cloud unreachable: connection refused", reason: ReasonCloudUnreachable, kind: failure.Unavailable,
			run: func(t *testing.T, s *azuresim.Sim) error {
				o := s.Override()
				e := o.Clouds[cloud.Public]
				dead := closedAddr(t)
				e.AuthorityHost = "https://" + dead + "/"
				o.Clouds[cloud.Public] = e
				f := newFactory(t, o, func(o *Options) { o.CallTimeout = 10 * time.Second })
				return authenticate(t, f, secretConnector("c", secretApp, tenantID), secretSec(secretValue))
			},
			inMessage: []string{"connection was refused"}, inHint: []string{"proxy"},
			within: 10*time.Second + 5*time.Second},
		{name: "cloud unreachable: DNS", reason: ReasonCloudUnreachable, kind: failure.Unavailable,
			run: func(t *testing.T, s *azuresim.Sim) error {
				o := s.Override()
				e := o.Clouds[cloud.Public]
				e.ResourceManager = "https://management.azimuth-test.invalid"
				o.Clouds[cloud.Public] = e
				return authenticate(t, newFactory(t, o, nil), secretConnector("c", secretApp, tenantID), secretSec(secretValue))
			},
			inMessage: []string{"management.azimuth-test.invalid", "DNS"}, inHint: []string{"DNS"}},
		{name: "TLS: unknown authority", reason: ReasonTLSFailure, kind: failure.Unavailable,
			run: func(t *testing.T, s *azuresim.Sim) error {
				o := s.Override()
				o.CABundle = ""
				return authenticate(t, newFactory(t, o, nil), secretConnector("c", secretApp, tenantID), secretSec(secretValue))
			},
			inMessage: []string{"unknown authority"}, inHint: []string{"trust store"}},
		{name: "TLS: certificate for another name", reason: ReasonTLSFailure, kind: failure.Unavailable,
			run: func(t *testing.T, s *azuresim.Sim) error {
				o := s.Override()
				e := o.Clouds[cloud.Public]
				// The simulator's certificate covers 127.0.0.1, not 127.0.0.2.
				o.Hosts["127.0.0.2:443"] = strings.TrimPrefix(e.ResourceManager, "https://")
				e.ResourceManager = "https://127.0.0.2"
				o.Clouds[cloud.Public] = e
				return authenticate(t, newFactory(t, o, nil), secretConnector("c", secretApp, tenantID), secretSec(secretValue))
			},
			inMessage: []string{"127.0.0.2", "not valid for this host name"}},
		{name: "timeout", fresh: true, reason: ReasonTimeout, kind: failure.Timeout,
			run: func(t *testing.T, s *azuresim.Sim) error {
				if _, err := s.AddFault(azuresim.Fault{Route: "arm.subscriptions.list", Latency: azuresim.Duration(time.Hour)}); err != nil {
					t.Fatal(err)
				}
				f := newFactory(t, s.Override(), func(o *Options) {
					o.Retry.TryTimeout = 200 * time.Millisecond
					o.CallTimeout = 5 * time.Second
				})
				return authenticate(t, f, secretConnector("c", secretApp, tenantID), secretSec(secretValue))
			},
			inMessage: []string{"did not answer in time", "127.0.0.1:"}, inHint: []string{"firewall"},
			within: 5*time.Second + 5*time.Second},
		{name: "timeout: the call's deadline ends the retries", fresh: true, reason: ReasonTimeout, kind: failure.Timeout,
			run: func(t *testing.T, s *azuresim.Sim) error {
				if _, err := s.AddFault(azuresim.Fault{Route: "arm.subscriptions.list", Latency: azuresim.Duration(time.Hour)}); err != nil {
					t.Fatal(err)
				}
				// Each try could wait 60 s, four times: the 2 s call
				// timeout ends it, and the host is still named.
				f := newFactory(t, s.Override(), func(o *Options) {
					o.Retry = policy.RetryOptions{}
					o.CallTimeout = 2 * time.Second
				})
				return authenticate(t, f, secretConnector("c", secretApp, tenantID), secretSec(secretValue))
			},
			inMessage: []string{"Azure Resource Manager", "did not answer in time", "127.0.0.1:"}, inHint: []string{"firewall", "127.0.0.1:"},
			within: 2*time.Second + 5*time.Second},
	}
	shared := startSim(t)
	sdk := captureSDKLog(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := shared
			if tc.fresh {
				s = startSim(t)
			}
			start := time.Now()
			err := tc.run(t, s)
			if took := time.Since(start); tc.within > 0 && took > tc.within {
				t.Errorf("the failure took %v, want it within %v", took, tc.within)
			}
			if err == nil {
				t.Fatal("want an error")
			}
			e, ok := AsError(err)
			if !ok {
				t.Fatalf("not classified: %T %v", err, err)
			}
			if e.Reason != tc.reason {
				t.Fatalf("reason %s, want %s: %s (hint: %s)", e.Reason, tc.reason, e.Message, e.Hint)
			}
			t.Logf("reason %s\nmessage: %s\nhint: %s", e.Reason, e.Message, e.Hint)
			if failure.KindOf(err) != tc.kind {
				t.Errorf("kind %s, want %s", failure.KindOf(err), tc.kind)
			}
			if e.Hint == "" && tc.inHint != nil {
				t.Error("no hint")
			}
			for _, w := range tc.inMessage {
				if !strings.Contains(e.Message, w) {
					t.Errorf("message %q does not name %q", e.Message, w)
				}
			}
			for _, w := range tc.inHint {
				if !strings.Contains(e.Hint, w) {
					t.Errorf("hint %q does not name %q", e.Hint, w)
				}
			}
			switch e.Reason {
			case ReasonCloudUnreachable, ReasonTLSFailure, ReasonTimeout, ReasonManagedIdentityUnavailable:
				if e.Host == "" || !strings.Contains(e.Message, e.Host) {
					t.Errorf("message %q does not name the host %q", e.Message, e.Host)
				}
			}
			if strings.Contains(e.Message, "\n") || strings.Contains(e.Hint, "\n") {
				t.Errorf("multi-line message or hint: %q / %q", e.Message, e.Hint)
			}
			for _, text := range []string{e.Message, e.Hint, err.Error(), logsOf(t), sdk.String()} {
				mustNotContain(t, "error or log", text, secretValue, expiredSecret, identityHdr, rgSecret)
			}
		})
	}
}

// rawGet sends a GET through an arm.Client pipeline (as executors do for
// APIs without an SDK module).
func rawGet(t *testing.T, cred *Credential, path, apiVersion string) error {
	t.Helper()
	client, err := arm.NewClient("azimuth-test", "v0.0.1", cred, cred.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	req, err := runtime.NewRequest(context.Background(), http.MethodGet, runtime.JoinPaths(client.Endpoint(), path))
	if err != nil {
		t.Fatal(err)
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", apiVersion)
	req.Raw().URL.RawQuery = q.Encode()
	resp, err := client.Pipeline().Do(req)
	if err != nil {
		return err
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return runtime.NewResponseError(resp)
	}
	return nil
}

// federatedFailure presents a workload-identity assertion from an issuer
// the app does not trust and classifies Entra's answer.
func federatedFailure(t *testing.T, s *azuresim.Sim) error {
	t.Helper()
	f := newFactory(t, s.Override(), nil)
	cl, _ := f.Cloud(cloud.Public)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	assertion := func(context.Context) (string, error) {
		now := time.Now()
		return jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"iss": "https://issuer.azimuth-test.example", "sub": "system:serviceaccount:ns:sa", "aud": "api://AzureADTokenExchange",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		}).SignedString(key)
	}
	inner, err := azidentity.NewClientAssertionCredential(tenantID, secretApp, assertion, &azidentity.ClientAssertionCredentialOptions{
		ClientOptions: f.ClientOptions(cl), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	tc := newTokenCache(inner, cl.AuthorityHost(), time.Minute, f.log)
	_, err = tc.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{cl.ARMScope()}, EnableCAE: true})
	return classify(err, &credInfo{cloud: cloud.Public, tenantID: tenantID, clientID: secretApp, authority: cl.AuthorityHost()})
}
