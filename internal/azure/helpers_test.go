package azure

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

// The test world's ids (testdata/world.yaml).
const (
	tenantID      = "a0000000-0000-4000-8000-000000000001"
	tenantDomain  = "fabrikam.onmicrosoft.com"
	sub1          = "b0000000-0000-4000-8000-000000000001"
	sub2          = "b0000000-0000-4000-8000-000000000002"
	secretApp     = "c0000000-0000-4000-8000-000000000001"
	secretObject  = "d0000000-0000-4000-8000-000000000001"
	secretValue   = "fabrikam-test-secret-value-0001~planted"
	secretKeyID   = "c1000000-0000-4000-8000-000000000001"
	expiredApp    = "c0000000-0000-4000-8000-000000000002"
	expiredSecret = "fabrikam-expired-secret-0002"
	noroleApp     = "c0000000-0000-4000-8000-000000000003"
	noroleSecret  = "fabrikam-norole-secret-0003"
	certApp       = "c0000000-0000-4000-8000-000000000004"
	certObject    = "d0000000-0000-4000-8000-000000000004"
	rgApp         = "c0000000-0000-4000-8000-000000000005"
	rgSecret      = "fabrikam-rg-secret-0005"
	sysClient     = "e0000000-0000-4000-8000-000000000001"
	sysPrincipal  = "f0000000-0000-4000-8000-000000000001"
	uamiClient    = "e0000000-0000-4000-8000-000000000002"
	uamiPrincipal = "f0000000-0000-4000-8000-000000000002"
	uamiOther     = "e0000000-0000-4000-8000-000000000003"
	identityHdr   = "fabrikam-identity-header-planted"
	secretRef     = "account.spSecret"
	certRef       = "account.spCert"
)

// loadWorld reads testdata/world.yaml; every Sim needs a fresh World.
func loadWorld(t testing.TB) *azuresim.World {
	t.Helper()
	w, err := azuresim.LoadWorld("testdata/world.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func startSim(t testing.TB) *azuresim.Sim {
	t.Helper()
	return azuresim.StartForTest(t, loadWorld(t))
}

// fastRetry keeps error paths quick: one retry, short delays.
var fastRetry = policy.RetryOptions{MaxRetries: 1, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 5 * time.Second, TryTimeout: 10 * time.Second}

func newFactory(t testing.TB, o *cloud.Override, mod func(*Options)) *Factory {
	t.Helper()
	opts := Options{Override: o, Retry: fastRetry, Logger: testLogger(t)}
	if mod != nil {
		mod(&opts)
	}
	f, err := NewFactory(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func hostOverride(t testing.TB, s *azuresim.Sim, host string, appService bool) *cloud.Override {
	t.Helper()
	o, err := s.HostOverride(host)
	if err != nil {
		t.Fatal(err)
	}
	if !appService {
		o.AppService = nil
	}
	return o
}

func baseConnector(id string) *connector.Connector {
	return &connector.Connector{Name: id, Identifier: id, AccountIdentifier: "acct", Type: connector.TypeAzure,
		Spec: &connector.AzureSpec{AzureEnvironmentType: string(cloud.Public)}}
}

func secretConnector(id, app, tenant string) *connector.Connector {
	c := baseConnector(id)
	c.Spec.Credential = &connector.Credential{Type: connector.CredentialManual, Manual: &connector.ManualSpec{
		ApplicationID: app, TenantID: tenant, Auth: &connector.ManualAuth{Type: connector.AuthSecret, SecretRef: secretRef}}}
	return c
}

func certConnector(id, app, tenant string) *connector.Connector {
	c := baseConnector(id)
	c.Spec.Credential = &connector.Credential{Type: connector.CredentialManual, Manual: &connector.ManualSpec{
		ApplicationID: app, TenantID: tenant, Auth: &connector.ManualAuth{Type: connector.AuthCertificate, CertificateRef: certRef}}}
	return c
}

func miConnector(id, clientID string) *connector.Connector {
	c := baseConnector(id)
	auth := &connector.ManagedIdentityAuth{Type: connector.ManagedIdentitySystem}
	if clientID != "" {
		auth = &connector.ManagedIdentityAuth{Type: connector.ManagedIdentityUser, ClientID: clientID}
	}
	c.Spec.Credential = &connector.Credential{Type: connector.CredentialInherit, Inherit: &connector.InheritSpec{Auth: auth}}
	c.Spec.DelegateSelectors = []string{"azure"}
	return c
}

func secrets(path, v string) map[string][]byte { return map[string][]byte{path: []byte(v)} }

// listSubscriptions lists every subscription the credential sees.
func listSubscriptions(ctx context.Context, cred *Credential) ([]string, error) {
	client, err := armsubscriptions.NewClient(cred, cred.ARMOptions())
	if err != nil {
		return nil, err
	}
	var ids []string
	pager := client.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range page.Value {
			ids = append(ids, *s.SubscriptionID)
		}
	}
	return ids, nil
}

// certPEM returns a certificate of app-cert and its key as PEM (PKCS#8).
func certPEM(t testing.TB, s *azuresim.Sim, name string) []byte {
	t.Helper()
	b, err := s.CertificatePEM(tenantID, "app-cert", name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// splitPEM returns the certificate and the RSA key of a PEM bundle.
func splitPEM(t testing.TB, b []byte) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	var cert *x509.Certificate
	var key *rsa.PrivateKey
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			cert = c
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			key = k.(*rsa.PrivateKey)
		}
	}
	if cert == nil || key == nil {
		t.Fatal("PEM without certificate or key")
	}
	return cert, key
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// ---- log capture: slog at debug and azcore's logger ----

// logSink collects every log line of a test: the Factory's slog logger at
// debug level and azcore's global logger.
type logSink = testenv.Buffer

var (
	sinkMu sync.Mutex
	sinks  = map[testing.TB]*logSink{}
)

// testLogger returns a debug logger whose output is kept for the test
// (logsOf) and shown when it fails.
func testLogger(t testing.TB) *slog.Logger {
	sinkMu.Lock()
	s, ok := sinks[t]
	if !ok {
		s = &logSink{}
		sinks[t] = s
		t.Cleanup(func() {
			if t.Failed() && testing.Verbose() {
				t.Log(s.String())
			}
			sinkMu.Lock()
			delete(sinks, t)
			sinkMu.Unlock()
		})
	}
	sinkMu.Unlock()
	return slog.New(slog.NewTextHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func logsOf(t testing.TB) string {
	sinkMu.Lock()
	defer sinkMu.Unlock()
	if s, ok := sinks[t]; ok {
		return s.String()
	}
	return ""
}

// captureSDKLog routes azcore's (process-global) logger, every event
// class, into a sink until the test ends. Tests using it must not run in
// parallel.
func captureSDKLog(t testing.TB) *logSink {
	sink := &logSink{}
	azlog.SetListener(func(ev azlog.Event, msg string) {
		fmt.Fprintf(sink, "[%s] %s\n", ev, msg)
	})
	t.Cleanup(func() { azlog.SetListener(nil) })
	return sink
}

// mustNotContain fails when any of the texts holds a planted secret.
func mustNotContain(t testing.TB, what, text string, planted ...string) {
	t.Helper()
	for _, p := range planted {
		if p != "" && strings.Contains(text, p) {
			t.Errorf("%s contains the planted secret %q", what, p)
		}
	}
}
