package api_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azimuthcd/azimuth/internal/api"
	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/conntest"
	"github.com/azimuthcd/azimuth/internal/engine"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
)

// The demo world's ids (internal/azuresim/demo.yaml).
const (
	demoTenant     = "10000000-0000-4000-8000-000000000001"
	demoDomain     = "contoso.onmicrosoft.com"
	demoSub        = "20000000-0000-4000-8000-000000000001"
	readerApp      = "30000000-0000-4000-8000-000000000001"
	readerSecret   = "demo-reader-secret-0001"
	readerSecretID = "31000000-0000-4000-8000-000000000001"
	certApp        = "30000000-0000-4000-8000-000000000002"
	expiredApp     = "30000000-0000-4000-8000-000000000003"
	expiredSecret  = "demo-expired-secret-0003"
	noroleApp      = "30000000-0000-4000-8000-000000000004"
	noroleSecret   = "demo-norole-secret-0004"
	plantedWrong   = "planted-wrong-secret-value-7q2"
	unknownApp     = "99999999-0000-4000-8000-000000000016"
	unknownTenant  = "99999999-0000-4000-8000-000000090002"
)

// requestLog records the simulator's request lines (it logs one per
// request, at debug level, when the request arrives), with their times.
type requestLog struct {
	mu   sync.Mutex
	recs []simRequest
}

type simRequest struct {
	Route string
	Time  time.Time
}

func (l *requestLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *requestLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "request" {
		return nil
	}
	var route string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "route" {
			route = a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	l.recs = append(l.recs, simRequest{Route: route, Time: r.Time})
	l.mu.Unlock()
	return nil
}
func (l *requestLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *requestLog) WithGroup(string) slog.Handler      { return l }

func (l *requestLog) times(route string) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Time
	for _, r := range l.recs {
		if r.Route == route {
			out = append(out, r.Time)
		}
	}
	return out
}

// connEnv is env with the task engine, an Azure factory pointed at a
// simulator and the re-tester wired as the server wires them.
type connEnv struct {
	*env
	sim    *azuresim.Sim
	simLog *requestLog
	az     *azure.Factory
	rt     *conntest.Retester
	eng    *engine.Engine
}

type connOpts struct {
	world    func(*azuresim.World)
	override func(testing.TB, *cloud.Override)
	factory  func(*azure.Options)
	interval time.Duration // re-tester; 0: not run
}

// fastRetry keeps failure paths quick; the Retry-After test uses azcore's
// defaults.
var fastRetry = policy.RetryOptions{MaxRetries: 1, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 5 * time.Second, TryTimeout: 10 * time.Second}

func newConnEnv(t testing.TB, o connOpts) *connEnv {
	t.Helper()
	ctx := context.Background()
	w, err := azuresim.DemoWorld()
	if err != nil {
		t.Fatal(err)
	}
	if o.world != nil {
		o.world(w)
	}
	rl := &requestLog{}
	sim := azuresim.StartForTestWith(t, azuresim.Options{World: w, Logger: slog.New(rl)})
	e := &env{t: t, logs: &syncBuffer{}}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.dbPath = filepath.Join(t.TempDir(), "azimuth.db")
	st, err := sqlstore.Open(ctx, sqlstore.Options{URL: e.dbPath, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	m, _ := secret.GenerateMasterKey()
	kr, err := secret.OpenKeyring(ctx, m, st)
	if err != nil {
		t.Fatal(err)
	}
	e.st, e.kr = st, kr
	rt := &conntest.Retester{Store: st, Accounts: []string{acct}, Interval: o.interval, Logger: log}
	e.svc = service.New(service.Deps{Store: st, Keyring: kr, Logger: log, OnChange: rt.OnChange})
	tok, _, _, err := e.svc.Scopes.Bootstrap(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	e.admin = tok.Reveal()
	ov := sim.Override()
	if o.override != nil {
		o.override(t, ov)
	}
	fo := azure.Options{Override: ov, Logger: log, Retry: fastRetry}
	if o.factory != nil {
		o.factory(&fo)
	}
	az, err := azure.NewFactory(fo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(az.Close)
	eng := engine.New(engine.Deps{Secrets: e.svc.Secrets, Env: ops.NewEnv(log, az, ""), Logger: log})
	rt.Connectors, rt.Tasks, rt.Azure = e.svc.Connectors, eng, az
	a := api.New(api.Deps{Services: e.svc, Health: st, Logger: log, Version: "test", Tasks: eng})
	e.srv = httptest.NewServer(a.Handler())
	t.Cleanup(e.srv.Close)
	if o.interval > 0 {
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { _ = rt.Run(rctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	return &connEnv{env: e, sim: sim, simLog: rl, az: az, rt: rt, eng: eng}
}

// spConnector is an account connector of app in tenant that connects
// through the server, with a client secret or a certificate secret.
func spConnector(id, app, tenant, auth, ref string, onDelegate bool) map[string]any {
	key := "secretRef"
	if auth == "Certificate" {
		key = "certificateRef"
	}
	return map[string]any{"connector": map[string]any{"name": id, "identifier": id, "type": "Azure",
		"spec": map[string]any{"azureEnvironmentType": "AZURE", "executeOnDelegate": onDelegate,
			"credential": map[string]any{"type": "ManualConfig", "spec": map[string]any{
				"applicationId": app, "tenantId": tenant,
				"auth": map[string]any{"type": auth, "spec": map[string]any{key: ref}}}}}}}
}

// withSecret creates a text secret and a connector using it.
func (e *connEnv) withSecret(id, app, tenant, value string) {
	e.t.Helper()
	e.must(e.createTextSecret(e.admin, "", "", id+"-secret", value))
	e.must(e.req("POST", "/ng/api/connectors"+q("", ""), e.admin, spConnector(id, app, tenant, "Secret", "account."+id+"-secret", false)))
}

// withCert creates a file secret holding a certificate and a connector
// using it.
func (e *connEnv) withCert(id, app string, pemBytes []byte) {
	e.t.Helper()
	e.must(e.createFileSecret(e.admin, "", "", id+"-pem", pemBytes))
	e.must(e.req("POST", "/ng/api/connectors"+q("", ""), e.admin, spConnector(id, app, demoTenant, "Certificate", "account."+id+"-pem", false)))
}

func (e *connEnv) test(id string) map[string]any {
	e.t.Helper()
	r := e.req("POST", "/ng/api/connectors/testConnection/"+id+q("", ""), e.admin, nil)
	if r.Status != http.StatusOK {
		e.t.Fatalf("testConnection %s: %s", id, r)
	}
	return r.data()
}

func (e *connEnv) status(id string) map[string]any {
	e.t.Helper()
	st, _ := e.must(e.req("GET", "/ng/api/connectors/"+id+q("", ""), e.admin, nil)).data()["status"].(map[string]any)
	return st
}

func (e *connEnv) certPEM(name string) []byte {
	e.t.Helper()
	b, err := e.sim.CertificatePEM(demoDomain, "azimuth-cert", name)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// firstError is the status's or result's first error entry.
func firstError(m map[string]any) map[string]any {
	errs, _ := m["errors"].([]any)
	if len(errs) == 0 {
		return nil
	}
	x, _ := errs[0].(map[string]any)
	return x
}

func unregisteredCert(t *testing.T, notAfter time.Time) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "not-registered"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := x509.MarshalPKCS8PrivateKey(key)
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})...)
}

func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// checkNoLeak fails when a planted value appears in a log line or a
// response of e.
func (e *connEnv) checkNoLeak(t *testing.T, planted ...string) {
	t.Helper()
	logs := e.logs.String()
	e.mu.Lock()
	responses := strings.Join(e.responses, "\n")
	e.mu.Unlock()
	for _, p := range planted {
		if p == "" {
			continue
		}
		if strings.Contains(logs, p) {
			t.Errorf("a log line holds the planted value %.12q...", p)
		}
		if strings.Contains(responses, p) {
			t.Errorf("a response holds the planted value %.12q...", p)
		}
	}
}

// pemKeyLine is a line of a PEM bundle's private key, to look for.
func pemKeyLine(b []byte) string {
	_, rest, _ := strings.Cut(string(b), "PRIVATE KEY-----\n")
	line, _, _ := strings.Cut(rest, "\n")
	return line
}

// TestConnectionTestCredentialKinds: a client secret and a certificate
// (PEM with a PKCS#8 key, and PKCS#12) succeed through the endpoint, with
// Harness's fields and ours, and the connector's status records it.
func TestConnectionTestCredentialKinds(t *testing.T) {
	e := newConnEnv(t, connOpts{})
	e.withSecret("sp_secret", readerApp, demoTenant, readerSecret)
	pemBundle := e.certPEM("main")
	e.withCert("sp_cert", certApp, pemBundle)
	p12, err := e.sim.CertificatePKCS12(demoDomain, "azimuth-cert", "main", "")
	if err != nil {
		t.Fatal(err)
	}
	e.withCert("sp_pfx", certApp, p12)
	for _, tc := range []struct{ id, app, cred string }{
		{"sp_secret", readerApp, "ServicePrincipalSecret"},
		{"sp_cert", certApp, "ServicePrincipalCertificate"},
		{"sp_pfx", certApp, "ServicePrincipalCertificate"},
	} {
		t.Run(tc.id, func(t *testing.T) {
			before := time.Now().UnixMilli()
			d := e.test(tc.id)
			if d["status"] != "SUCCESS" || d["errors"] != nil || d["errorSummary"] != nil || d["delegateId"] != nil {
				t.Fatalf("result %v", d)
			}
			if str(d, "taskId") == "" || d["cloud"] != "AZURE" || d["credentialType"] != tc.cred {
				t.Errorf("result %v", d)
			}
			id, _ := d["identity"].(map[string]any)
			if str(id, "applicationId") != tc.app || str(id, "tenantId") != demoTenant {
				t.Errorf("identity %v", id)
			}
			subs, _ := d["subscriptions"].(map[string]any)
			items, _ := subs["items"].([]any)
			if subs["count"] != float64(1) || len(items) != 1 || str(items[0].(map[string]any), "id") != demoSub {
				t.Errorf("subscriptions %v", subs)
			}
			st := e.status(tc.id)
			tested, _ := st["testedAt"].(float64)
			if st["status"] != "SUCCESS" || int64(tested) < before || st["lastConnectedAt"] != st["testedAt"] || st["lastTestedAt"] != st["testedAt"] {
				t.Errorf("status %v", st)
			}
			if st["errors"] != nil || st["errorSummary"] != nil {
				t.Errorf("status %v", st)
			}
		})
	}
	e.checkNoLeak(t, readerSecret, pemKeyLine(pemBundle))
}

// failureCase is one failure class: how to set it up and what its reason,
// message and hint must say.
type failureCase struct {
	name      string
	setup     func(t *testing.T, e *connEnv) string // returns the connector id
	reason    string
	inMessage []string
	inHint    []string
	planted   []string
}

func runFailure(t *testing.T, e *connEnv, tc failureCase) {
	t.Helper()
	id := tc.setup(t, e)
	before := e.status(id)
	d := e.test(id)
	if d["status"] != "FAILURE" {
		t.Fatalf("status %v, want FAILURE: %v", d["status"], d)
	}
	if d["reason"] != tc.reason {
		t.Fatalf("reason %v, want %s: %v", d["reason"], tc.reason, d)
	}
	fe := firstError(d)
	msg, hint := str(fe, "message"), str(d, "hint")
	t.Logf("%s\nmessage: %s\nhint: %s", tc.reason, msg, hint)
	if str(fe, "reason") != tc.reason || fe["code"] == nil || hint == "" {
		t.Errorf("errors %v, hint %q", d["errors"], hint)
	}
	if sum := str(d, "errorSummary"); !strings.HasPrefix(sum, tc.reason+" (") {
		t.Errorf("errorSummary %q", sum)
	}
	for _, w := range tc.inMessage {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q does not name %q", msg, w)
		}
	}
	for _, w := range tc.inHint {
		if !strings.Contains(hint, w) {
			t.Errorf("hint %q does not say %q", hint, w)
		}
	}
	if strings.Contains(msg, "Please check your Azure connector configuration") {
		t.Error("a generic message")
	}
	// The connector's status shows the same reason, message and hint.
	st := e.status(id)
	se := firstError(st)
	if st["status"] != "FAILURE" || str(se, "reason") != tc.reason || str(se, "message") != msg || str(se, "hint") != hint ||
		!strings.HasPrefix(str(st, "errorSummary"), tc.reason) || st["lastConnectedAt"] != before["lastConnectedAt"] || st["testedAt"] == float64(0) {
		t.Errorf("connector status %v", st)
	}
	e.checkNoLeak(t, tc.planted...)
}

// TestConnectionTestFailureClasses: every failure class has its own
// reason, a message naming what was not found and a hint saying what to
// do, through the endpoint and on the connector's status.
func TestConnectionTestFailureClasses(t *testing.T) {
	tests := []failureCase{
		{name: "client secret expired (AADSTS7000222)", reason: "ClientSecretExpired",
			setup: func(t *testing.T, e *connEnv) string {
				e.withSecret("expired", expiredApp, demoTenant, expiredSecret)
				return "expired"
			},
			inMessage: []string{expiredApp, "AADSTS7000222", "account.expired-secret"}, inHint: []string{"New client secret", "az ad app credential reset --id " + expiredApp},
			planted: []string{expiredSecret}},
		{name: "wrong client secret (AADSTS7000215)", reason: "ClientSecretInvalid",
			setup: func(t *testing.T, e *connEnv) string {
				e.withSecret("wrong", readerApp, demoTenant, plantedWrong)
				return "wrong"
			},
			inMessage: []string{readerApp, demoTenant}, inHint: []string{"Value"}, planted: []string{plantedWrong}},
		{name: "the secret's ID pasted instead of its value (AADSTS7000215)", reason: "ClientSecretIsSecretID",
			setup: func(t *testing.T, e *connEnv) string {
				e.withSecret("secret_id", readerApp, demoTenant, readerSecretID)
				return "secret_id"
			},
			inMessage: []string{"secret's ID", readerApp}, inHint: []string{"Value", "shown only once"}},
		{name: "application not found (AADSTS700016)", reason: "ApplicationNotFound",
			setup: func(t *testing.T, e *connEnv) string {
				e.withSecret("no_app", unknownApp, demoTenant, readerSecret)
				return "no_app"
			},
			inMessage: []string{unknownApp, demoTenant}, inHint: []string{"Application (client) ID"}, planted: []string{readerSecret}},
		{name: "tenant not found (AADSTS90002)", reason: "TenantNotFound",
			setup: func(t *testing.T, e *connEnv) string {
				e.withSecret("no_tenant", readerApp, unknownTenant, readerSecret)
				return "no_tenant"
			},
			inMessage: []string{unknownTenant}, inHint: []string{"Directory (tenant) ID"}},
		{name: "certificate not registered (AADSTS700027)", reason: "CertificateNotRegistered",
			setup: func(t *testing.T, e *connEnv) string {
				e.withCert("unregistered", certApp, unregisteredCert(t, time.Now().Add(365*24*time.Hour)))
				return "unregistered"
			},
			inMessage: []string{certApp, "thumbprint"}, inHint: []string{"az ad app credential reset --id " + certApp + " --cert"}},
		{name: "no subscription visible", reason: "NoSubscriptions",
			setup: func(t *testing.T, e *connEnv) string {
				e.withSecret("norole", noroleApp, demoTenant, noroleSecret)
				return "norole"
			},
			inMessage: []string{noroleApp, demoTenant, "no role"}, inHint: []string{"az role assignment create --assignee " + noroleApp, "Reader"}},
		{name: "certificate in the wrong format", reason: "CertificateFormat",
			setup: func(t *testing.T, e *connEnv) string {
				// A certificate without its private key.
				pemBundle := e.certPEM("main")
				certOnly, _, _ := strings.Cut(string(pemBundle), "-----BEGIN PRIVATE KEY")
				e.withCert("cert_only", certApp, []byte(certOnly))
				return "cert_only"
			},
			inMessage: []string{"without its private key"}, inHint: []string{"cat cert.pem key.pem"}},
		{name: "certificate in the wrong format (not a certificate at all)", reason: "CertificateFormat",
			setup: func(t *testing.T, e *connEnv) string {
				e.withCert("not_cert", certApp, []byte("this is not a certificate\n"))
				return "not_cert"
			},
			inMessage: []string{"neither PEM nor PKCS#12"}, inHint: []string{"cat cert.pem key.pem"}},
		{name: "certificate expired (its own dates)", reason: "CertificateExpired",
			setup: func(t *testing.T, e *connEnv) string {
				e.withCert("cert_old", certApp, e.certPEM("old"))
				return "cert_old"
			},
			inMessage: []string{"expired on"}, inHint: []string{certApp}},
		{name: "connector executes on a delegate", reason: "NoDelegate",
			setup: func(t *testing.T, e *connEnv) string {
				e.must(e.createTextSecret(e.admin, "", "", "deleg-secret", readerSecret))
				e.must(e.req("POST", "/ng/api/connectors"+q("", ""), e.admin, spConnector("deleg", readerApp, demoTenant, "Secret", "account.deleg-secret", true)))
				return "deleg"
			},
			inMessage: []string{"needs a delegate", "executeOnDelegate: true"}, inHint: []string{"azimuth delegate", "executeOnDelegate: false"}},
		{name: "its secret was deleted", reason: "SecretMissing",
			setup: func(t *testing.T, e *connEnv) string {
				e.withSecret("gone", readerApp, demoTenant, readerSecret)
				e.must(e.req("DELETE", "/ng/api/v2/secrets/gone-secret"+q("", "", "forceDelete=true"), e.admin, nil))
				return "gone"
			},
			inMessage: []string{"gone-secret"}, inHint: []string{"secretRef"}},
	}
	e := newConnEnv(t, connOpts{world: func(w *azuresim.World) {
		for _, a := range w.Tenants[0].Apps {
			if a.Name == "azimuth-cert" {
				a.Certificates = append(a.Certificates, &azuresim.AppCertificate{Name: "old", Generate: &azuresim.CertGeneration{ValidFor: azuresim.Duration(-time.Hour)}})
			}
		}
	}})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runFailure(t, e, tc) })
	}
}

// TestConnectionTestClockSkew: a client assertion outside its time window
// (AADSTS700024) says to fix the clock. The simulator's clock moves, so
// it gets its own.
func TestConnectionTestClockSkew(t *testing.T) {
	e := newConnEnv(t, connOpts{})
	runFailure(t, e, failureCase{reason: "ClockSkew",
		setup: func(t *testing.T, e *connEnv) string {
			e.withCert("skewed", certApp, e.certPEM("main"))
			e.sim.SetClockSkew(time.Hour)
			return "skewed"
		},
		inMessage: []string{"clock", "AADSTS700024"}, inHint: []string{"NTP", "date -u"}})
}

// TestConnectionTestTransportFailures: an unreachable cloud, a TLS
// failure and a timeout each name the host that failed.
func TestConnectionTestTransportFailures(t *testing.T) {
	tests := []struct {
		name     string
		opts     func(host *string) connOpts
		reason   string
		inMsg    []string
		fault    *azuresim.Fault
		inHint   []string
		hostOnly bool
	}{
		{name: "login endpoint refuses connections", reason: "CloudUnreachable", opts: func(host *string) connOpts {
			return connOpts{override: func(t testing.TB, o *cloud.Override) {
				*host = closedAddr(t)
				c := o.Clouds[cloud.Public]
				c.AuthorityHost = "https://" + *host + "/"
				o.Clouds[cloud.Public] = c
			}}
		}, inMsg: []string{"connection was refused"}, inHint: []string{"proxy"}},
		{name: "the cloud's certificate is not trusted", reason: "TLSFailure", opts: func(host *string) connOpts {
			return connOpts{override: func(t testing.TB, o *cloud.Override) {
				*host = strings.TrimSuffix(strings.TrimPrefix(o.Clouds[cloud.Public].AuthorityHost, "https://"), "/")
				o.CABundle = ""
			}}
		}, inMsg: []string{"unknown authority"}, inHint: []string{"trust store"}},
		{name: "ARM does not answer in time", reason: "Timeout", opts: func(host *string) connOpts {
			return connOpts{
				override: func(t testing.TB, o *cloud.Override) {
					*host = strings.TrimPrefix(o.Clouds[cloud.Public].ResourceManager, "https://")
				},
				factory: func(fo *azure.Options) {
					fo.Retry.TryTimeout = 300 * time.Millisecond
					fo.CallTimeout = 5 * time.Second
				},
			}
		}, fault: &azuresim.Fault{Route: "arm.subscriptions.list", Latency: azuresim.Duration(time.Hour)},
			inMsg: []string{"did not answer in time"}, inHint: []string{"firewall"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var host string
			e := newConnEnv(t, tc.opts(&host))
			if tc.fault != nil {
				if _, err := e.sim.AddFault(*tc.fault); err != nil {
					t.Fatal(err)
				}
			}
			runFailure(t, e, failureCase{reason: tc.reason,
				setup: func(t *testing.T, e *connEnv) string {
					e.withSecret("net", readerApp, demoTenant, readerSecret)
					return "net"
				},
				inMessage: append([]string{host}, tc.inMsg...), inHint: tc.inHint, planted: []string{readerSecret}})
		})
	}
}

// TestConnectionTestExpiringCertificate: a certificate that expires within
// 30 days passes with a warning, and the connector's status shows it.
func TestConnectionTestExpiringCertificate(t *testing.T) {
	e := newConnEnv(t, connOpts{world: func(w *azuresim.World) {
		for _, a := range w.Tenants[0].Apps {
			if a.Name == "azimuth-cert" {
				a.Certificates = append(a.Certificates, &azuresim.AppCertificate{Name: "soon", Generate: &azuresim.CertGeneration{ValidFor: azuresim.Duration(10 * 24 * time.Hour)}})
			}
		}
	}})
	e.withCert("soon", certApp, e.certPEM("soon"))
	d := e.test("soon")
	ws, _ := d["warnings"].([]any)
	if d["status"] != "SUCCESS" || len(ws) != 1 {
		t.Fatalf("result %v", d)
	}
	w := ws[0].(map[string]any)
	if w["reason"] != "CertificateExpiresSoon" || !strings.Contains(str(w, "message"), "expires on") || str(w, "hint") == "" {
		t.Errorf("warning %v", w)
	}
	st := e.status("soon")
	se := firstError(st)
	if st["status"] != "SUCCESS" || st["errorSummary"] != nil || str(se, "reason") != "CertificateExpiresSoon" || se["level"] != "WARNING" || str(se, "hint") == "" {
		t.Errorf("status %v", st)
	}
}

// TestConnectionTestRetryAfter: ARM answering 429 with Retry-After: 2 is
// retried no sooner than 2 s later (the simulator's own record of when the
// two requests arrived) and the test then succeeds.
func TestConnectionTestRetryAfter(t *testing.T) {
	e := newConnEnv(t, connOpts{factory: func(o *azure.Options) { o.Retry = policy.RetryOptions{} }})
	e.withSecret("throttled", readerApp, demoTenant, readerSecret)
	if _, err := e.sim.AddFault(azuresim.Fault{Route: "arm.subscriptions.list", Status: http.StatusTooManyRequests, RetryAfter: azuresim.Duration(2 * time.Second), Times: 1}); err != nil {
		t.Fatal(err)
	}
	d := e.test("throttled")
	if d["status"] != "SUCCESS" {
		t.Fatalf("result %v", d)
	}
	times := e.simLog.times("arm.subscriptions.list")
	if len(times) != 2 {
		t.Fatalf("the simulator saw %d subscription listings, want 2 (the 429 and the retry)", len(times))
	}
	if gap := times[1].Sub(times[0]); gap < 2*time.Second {
		t.Fatalf("the retry arrived %v after the 429, before its Retry-After of 2s", gap)
	}
}

// TestConnectionTestParamsAndErrors: the body is passed to the task as its
// parameters (unknown ones are refused there, with 400 and nothing
// recorded); an unknown connector is 404.
func TestConnectionTestParamsAndErrors(t *testing.T) {
	e := newConnEnv(t, connOpts{})
	e.withSecret("p", readerApp, demoTenant, readerSecret)
	if r := e.req("POST", "/ng/api/connectors/testConnection/p"+q("", ""), e.admin, `{}`); r.Status != 200 || r.data()["status"] != "SUCCESS" {
		t.Fatalf("empty object: %s", r)
	}
	before := e.status("p")
	r := e.req("POST", "/ng/api/connectors/testConnection/p"+q("", ""), e.admin, `{"noSuchParameter": 1}`)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Raw), "noSuchParameter") {
		t.Fatalf("unknown parameter: %s", r)
	}
	if after := e.status("p"); after["testedAt"] != before["testedAt"] {
		t.Errorf("a refused test changed the status: %v -> %v", before, after)
	}
	if r := e.req("POST", "/ng/api/connectors/testConnection/nope"+q("", ""), e.admin, nil); r.Status != http.StatusNotFound {
		t.Fatalf("unknown connector: %s", r)
	}
	if r := e.req("POST", "/ng/api/connectors/testConnection/p"+q("", ""), "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("no key: %s", r)
	}
}

// TestConnectionRetestAndForget: a secret change re-tests the connectors
// using it in the background and drops their cached credential; deleting
// a connector drops its credential at once.
func TestConnectionRetestAndForget(t *testing.T) {
	e := newConnEnv(t, connOpts{interval: time.Hour})
	e.withSecret("rot", expiredApp, demoTenant, expiredSecret)
	if d := e.test("rot"); d["reason"] != "ClientSecretExpired" {
		t.Fatalf("result %v", d)
	}
	e.withSecret("keep", readerApp, demoTenant, readerSecret)
	if d := e.test("keep"); d["status"] != "SUCCESS" {
		t.Fatalf("result %v", d)
	}
	if n := e.az.Cached(); n != 2 {
		t.Fatalf("%d cached credentials, want 2", n)
	}
	// Rotate: the app gets a new secret and the connector's secret takes
	// its value.
	if _, err := e.sim.AddSecret(demoDomain, "azimuth-expired", azuresim.Secret("planted-rotated-secret-0003"), time.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	tested := e.rt.Tested()
	e.must(e.req("PUT", "/ng/api/v2/secrets/rot-secret"+q("", ""), e.admin, map[string]any{"secret": map[string]any{
		"type": "SecretText", "name": "rot-secret", "identifier": "rot-secret",
		"spec": map[string]any{"secretManagerIdentifier": "harnessSecretManager", "valueType": "Inline", "value": "planted-rotated-secret-0003"}}}))
	waitFor(t, "the background re-test after the secret change", func() bool { return e.rt.Tested() > tested })
	st := e.status("rot")
	if st["status"] != "SUCCESS" || st["errors"] != nil {
		t.Fatalf("status after the re-test %v", st)
	}
	// Updating a connector drops its credential at once.
	if d := e.test("keep"); d["status"] != "SUCCESS" {
		t.Fatalf("result %v", d)
	}
	n := e.az.Cached()
	upd := spConnector("keep", readerApp, demoTenant, "Secret", "account.keep-secret", false)
	upd["connector"].(map[string]any)["description"] = "updated"
	e.must(e.req("PUT", "/ng/api/connectors"+q("", ""), e.admin, upd))
	if got := e.az.Cached(); got != n-1 {
		t.Fatalf("%d cached credentials after updating a connector, want %d", got, n-1)
	}
	if d := e.test("keep"); d["status"] != "SUCCESS" {
		t.Fatalf("result %v", d)
	}
	e.must(e.req("DELETE", "/ng/api/connectors/keep"+q("", ""), e.admin, nil))
	if got := e.az.Cached(); got != n-1 {
		t.Fatalf("%d cached credentials after deleting a connector, want %d", got, n-1)
	}
	e.checkNoLeak(t, "planted-rotated-secret-0003", readerSecret, expiredSecret)
}

// TestRetesterPeriodic: every connector is re-tested each interval: a
// certificate about to expire shows as a warning on its connector without
// anyone testing it, and a connector whose secret expired meanwhile shows
// that.
func TestRetesterPeriodic(t *testing.T) {
	e := newConnEnv(t, connOpts{interval: 50 * time.Millisecond, world: func(w *azuresim.World) {
		for _, a := range w.Tenants[0].Apps {
			if a.Name == "azimuth-cert" {
				a.Certificates = append(a.Certificates, &azuresim.AppCertificate{Name: "soon", Generate: &azuresim.CertGeneration{ValidFor: azuresim.Duration(5 * 24 * time.Hour)}})
			}
		}
	}})
	e.withSecret("tick", readerApp, demoTenant, readerSecret)
	e.withCert("soon", certApp, e.certPEM("soon"))
	waitFor(t, "a periodic re-test", func() bool { return e.status("tick")["status"] == "SUCCESS" })
	waitFor(t, "the expiring certificate's warning", func() bool {
		st := e.status("soon")
		return st["status"] == "SUCCESS" && str(firstError(st), "reason") == "CertificateExpiresSoon" && firstError(st)["level"] == "WARNING"
	})
	if err := e.sim.SetSecretExpiry(demoDomain, "azimuth-reader", readerSecretID, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	// The cached token hides the expiry until it is refreshed, as in
	// Azure; a change to the connector drops it at once.
	e.rt.OnChange(service.Change{Resource: "connector", Op: "update", Scope: scope.Scope{Account: acct}, Identifier: "tick"})
	waitFor(t, "the re-test to see the expired secret", func() bool {
		return str(firstError(e.status("tick")), "reason") == "ClientSecretExpired"
	})
}

// waitFor polls cond until it holds (a deadline bounds a broken build; it
// asserts no timing).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDeepConnectionTest: a testConnection body with a scope and
// capabilities runs the permission check after authenticating; a denied
// capability fails the test with PermissionsMissing and the verdicts.
func TestDeepConnectionTest(t *testing.T) {
	e := newConnEnv(t, connOpts{})
	e.withSecret("deep", readerApp, demoTenant, readerSecret)
	sub := "/subscriptions/20000000-0000-4000-8000-000000000001"
	for _, tc := range []struct {
		caps    string
		status  string
		allowed bool
	}{
		{`["acr"]`, "SUCCESS", true},
		{`["webapp"]`, "FAILURE", false},
	} {
		r := e.req("POST", "/ng/api/connectors/testConnection/deep"+q("", ""), e.admin, `{"scope": "`+sub+`", "capabilities": `+tc.caps+`}`)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %s", tc.caps, r)
		}
		d := r.data()
		perms, _ := d["permissions"].(map[string]any)
		if d["status"] != tc.status || perms == nil || perms["allowed"] != tc.allowed {
			t.Fatalf("%s: status %v permissions %v", tc.caps, d["status"], perms)
		}
		if !tc.allowed {
			if d["reason"] != "PermissionsMissing" || firstError(d)["code"] != float64(403) {
				t.Fatalf("%s: %v", tc.caps, d)
			}
			if st := e.status("deep"); st["status"] != "FAILURE" || !strings.Contains(str(st, "errorSummary"), "PermissionsMissing") {
				t.Fatalf("status not recorded: %v", st)
			}
		}
	}
}
