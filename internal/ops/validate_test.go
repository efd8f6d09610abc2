package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

const (
	tenantID       = "71000000-0000-4000-8000-000000000001"
	deployerApp    = "72000000-0000-4000-8000-000000000001"
	deployerObject = "73000000-0000-4000-8000-000000000001"
	deployerSecret = "northwind-deployer-secret-planted-0001"
	staleApp       = "72000000-0000-4000-8000-000000000002"
	staleSecret    = "northwind-stale-secret-planted-0002"
	lonelyApp      = "72000000-0000-4000-8000-000000000003"
	lonelySecret   = "northwind-lonely-secret-planted-0003"
	archivistApp   = "72000000-0000-4000-8000-000000000004"
	archSecret     = "northwind-archivist-secret-planted-0004"
	sysPrincipal   = "75000000-0000-4000-8000-000000000001"
	identityHeader = "northwind-identity-header-planted"
)

var planted = []string{deployerSecret, staleSecret, lonelySecret, archSecret, identityHeader}

// syncBuffer is a log sink safe for the executor's goroutines.
type syncBuffer = testenv.Buffer

type harness struct {
	sim  *azuresim.Sim
	logs *syncBuffer
}

func newHarness(t *testing.T, mod func(*azuresim.World)) *harness {
	t.Helper()
	w, err := azuresim.LoadWorld("testdata/world.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(w)
	}
	return &harness{sim: azuresim.StartForTestWith(t, azuresim.Options{World: w, PageSize: 2}), logs: &syncBuffer{}}
}

// env builds the executor environment of a server (delegate "") or of a
// delegate running on the simulated host delegate-vm.
func (h *harness) env(t *testing.T, delegate string) *Env {
	t.Helper()
	o := h.sim.Override()
	if delegate != "" {
		var err error
		if o, err = h.sim.HostOverride("delegate-vm"); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f, err := azure.NewFactory(azure.Options{Override: o, Logger: logger, ManagedIdentity: delegate != ""})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return NewEnv(logger, f, delegate)
}

func spConnector(app string, cert bool) *connector.Connector {
	auth := &connector.ManualAuth{Type: connector.AuthSecret, SecretRef: "account.sp"}
	if cert {
		auth = &connector.ManualAuth{Type: connector.AuthCertificate, CertificateRef: "account.pem"}
	}
	return &connector.Connector{Name: "nw", Identifier: "nw_" + app[len(app)-1:], Type: connector.TypeAzure, Spec: &connector.AzureSpec{
		AzureEnvironmentType: string(cloud.Public),
		Credential: &connector.Credential{Type: connector.CredentialManual, Manual: &connector.ManualSpec{
			ApplicationID: app, TenantID: tenantID, Auth: auth}}}}
}

func systemIdentityConnector() *connector.Connector {
	return &connector.Connector{Name: "mi", Identifier: "mi", Type: connector.TypeAzure, Spec: &connector.AzureSpec{
		DelegateSelectors: []string{"vm"},
		Credential: &connector.Credential{Type: connector.CredentialInherit, Inherit: &connector.InheritSpec{
			Auth: &connector.ManagedIdentityAuth{Type: connector.ManagedIdentitySystem}}}}}
}

func secretInput(app, secret string) Input {
	return Input{TaskID: "task-1", Kind: KindValidate, Connector: spConnector(app, false),
		Secrets: Secrets{connector.PathSecretRef: []byte(secret)}, CredentialKey: "v1"}
}

// run executes the test, checks that no planted secret leaked into the
// output, the task log or the logs, and returns the result and its JSON.
func (h *harness) run(t *testing.T, env *Env, in Input) (*ValidationResult, map[string]any) {
	t.Helper()
	var taskLog syncBuffer
	in.Log = &taskLog
	out, err := Validate(context.Background(), env, in)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	res := out.(*ValidationResult)
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if testing.Verbose() {
		t.Logf("result: %s", b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, p := range planted {
		for what, text := range map[string]string{"output": string(b), "task log": taskLog.String(), "log": h.logs.String()} {
			if strings.Contains(text, p) {
				t.Errorf("%s contains the planted secret %q", what, p)
			}
		}
	}
	if !strings.Contains(taskLog.String(), "connection test: "+res.Status) {
		t.Errorf("task log %q", taskLog.String())
	}
	return res, m
}

func TestValidateSuccess(t *testing.T) {
	h := newHarness(t, nil)
	env := h.env(t, "")
	before := time.Now().UnixMilli()
	res, m := h.run(t, env, secretInput(deployerApp, deployerSecret))
	if res.Status != StatusSuccess || res.Reason != "" || res.Errors != nil || res.ErrorSummary != nil {
		t.Fatalf("result %+v", res)
	}
	// Harness's shape: errors and errorSummary are null, testedAt is Unix
	// milliseconds, delegateId null when the server ran it, taskId set.
	for _, k := range []string{"errors", "errorSummary", "delegateId"} {
		if v, ok := m[k]; !ok || v != nil {
			t.Errorf("%s = %v, want null", k, v)
		}
	}
	if ts, ok := m["testedAt"].(float64); !ok || int64(ts) < before || int64(ts) > time.Now().UnixMilli() {
		t.Errorf("testedAt %v", m["testedAt"])
	}
	if m["taskId"] != "task-1" || m["status"] != "SUCCESS" || m["cloud"] != "AZURE" || m["credentialType"] != "ServicePrincipalSecret" {
		t.Errorf("json %v", m)
	}
	if res.Identity == nil || res.Identity.TenantID != tenantID || res.Identity.ApplicationID != deployerApp || res.Identity.ObjectID != deployerObject {
		t.Errorf("identity %+v", res.Identity)
	}
	// Three subscriptions over two pages of two.
	if res.Subscriptions == nil || res.Subscriptions.Count != 3 || len(res.Subscriptions.Items) != 3 || res.Subscriptions.Truncated {
		t.Fatalf("subscriptions %+v", res.Subscriptions)
	}
	if n := h.sim.RequestCount("arm.subscriptions.list"); n != 2 {
		t.Errorf("%d list requests, want 2 pages", n)
	}
	names := map[string]bool{}
	for _, s := range res.Subscriptions.Items {
		names[s.DisplayName] = true
	}
	if !names["Northwind Production"] || !names["Northwind Development"] {
		t.Errorf("subscriptions %+v", res.Subscriptions.Items)
	}
	// The identity's token and the listing share one token request.
	if n := h.sim.TokenRequests(tenantID, deployerApp, "https://management.core.windows.net//.default"); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	// A second test of the same connector reuses the credential and token.
	if res2, _ := h.run(t, env, secretInput(deployerApp, deployerSecret)); res2.Status != StatusSuccess {
		t.Fatal(res2.Status)
	}
	if n := h.sim.TokenRequests(tenantID, deployerApp, "https://management.core.windows.net//.default"); n != 1 {
		t.Errorf("%d token requests after a second test, want 1", n)
	}
}

func TestValidateCertificateAndManagedIdentity(t *testing.T) {
	h := newHarness(t, nil)
	t.Run("certificate expiring soon: success with a warning", func(t *testing.T) {
		pemBytes, err := h.sim.CertificatePEM(tenantID, "deployer", "soon")
		if err != nil {
			t.Fatal(err)
		}
		in := Input{TaskID: "t", Connector: spConnector(deployerApp, true), Secrets: Secrets{connector.PathCertificateRef: pemBytes}}
		res, m := h.run(t, h.env(t, ""), in)
		if res.Status != StatusSuccess || len(res.Warnings) != 1 || res.Warnings[0].Reason != azure.ReasonCertificateExpiresSoon {
			t.Fatalf("result %+v", res)
		}
		if res.Certificate == nil || res.Certificate.Thumbprint == "" || m["certificate"] == nil {
			t.Fatalf("certificate %+v", res.Certificate)
		}
		if strings.Contains(fmt.Sprint(m), "PRIVATE KEY") {
			t.Fatal("the output holds key material")
		}
	})
	t.Run("system-assigned identity on a delegate", func(t *testing.T) {
		in := Input{TaskID: "t2", Connector: systemIdentityConnector()}
		res, m := h.run(t, h.env(t, "delegate-7"), in)
		if res.Status != StatusSuccess || res.Identity.ObjectID != sysPrincipal || res.Subscriptions.Count != 1 {
			t.Fatalf("result %+v", res)
		}
		if m["delegateId"] != "delegate-7" || m["credentialType"] != "SystemAssignedManagedIdentity" {
			t.Fatalf("json %v", m)
		}
	})
	t.Run("managed identity in the server: Harness's refusal", func(t *testing.T) {
		res, _ := h.run(t, h.env(t, ""), Input{TaskID: "t3", Connector: systemIdentityConnector()})
		if res.Status != StatusFailure || res.Errors[0].Message != "Connector with credential type InheritFromDelegate does not support validation through harness" ||
			res.Reason != string(azure.ReasonInheritFromDelegate) || !strings.Contains(res.Hint, "delegateSelectors") {
			t.Fatalf("result %+v", res)
		}
	})
}

func TestValidateFailures(t *testing.T) {
	h := newHarness(t, nil)
	env := h.env(t, "")
	tests := []struct {
		name      string
		in        Input
		reason    azure.Reason
		code      int
		inMessage []string
		inHint    []string
	}{
		{"expired secret", secretInput(staleApp, staleSecret), azure.ReasonClientSecretExpired, 400,
			[]string{staleApp, "expired"}, []string{"az ad app credential reset --id " + staleApp}},
		{"no role on any subscription", secretInput(lonelyApp, lonelySecret), azure.ReasonNoSubscriptions, 403,
			[]string{"holds no role on any subscription", lonelyApp, tenantID},
			[]string{"az role assignment create --assignee " + lonelyApp + " --role Reader --scope /subscriptions/", "Access control (IAM)"}},
		{"certificate in the wrong format", Input{TaskID: "t", Connector: spConnector(deployerApp, true),
			Secrets: Secrets{connector.PathCertificateRef: []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")}},
			azure.ReasonCertificateFormat, 400, []string{"CERTIFICATE block that does not parse"}, []string{"openssl"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, m := h.run(t, env, tc.in)
			if res.Status != StatusFailure || res.Reason != string(tc.reason) || len(res.Errors) != 1 {
				t.Fatalf("result %+v", res)
			}
			e := res.Errors[0]
			if e.Reason != string(tc.reason) || e.Code != tc.code {
				t.Errorf("error detail %+v", e)
			}
			if res.ErrorSummary == nil || !strings.HasPrefix(*res.ErrorSummary, string(tc.reason)+" (") {
				t.Errorf("errorSummary %v", res.ErrorSummary)
			}
			for _, w := range tc.inMessage {
				if !strings.Contains(e.Message, w) {
					t.Errorf("message %q does not name %q", e.Message, w)
				}
			}
			for _, w := range tc.inHint {
				if !strings.Contains(res.Hint, w) {
					t.Errorf("hint %q does not name %q", res.Hint, w)
				}
			}
			if m["testedAt"] == nil {
				t.Error("a failed test has a testedAt too")
			}
		})
	}
}

func TestValidateSubscriptionsCountedInFull(t *testing.T) {
	const extra = MaxListedSubscriptions + 5
	h := newHarness(t, func(w *azuresim.World) {
		tn := w.Tenants[0]
		for i := range extra {
			id := fmt.Sprintf("77000000-0000-4000-8000-%012d", i)
			tn.Subscriptions = append(tn.Subscriptions, &azuresim.Subscription{ID: id, DisplayName: fmt.Sprintf("Team %03d", i)})
			tn.RoleAssignments = append(tn.RoleAssignments, &azuresim.RoleAssignment{Principal: "archivist", Role: "Reader", Scope: "/subscriptions/" + id})
		}
	})
	res, _ := h.run(t, h.env(t, ""), secretInput(archivistApp, archSecret))
	if res.Status != StatusSuccess || res.Subscriptions.Count != extra+1 || len(res.Subscriptions.Items) != MaxListedSubscriptions || !res.Subscriptions.Truncated {
		t.Fatalf("status %s, count %d, listed %d, truncated %v", res.Status, res.Subscriptions.Count, len(res.Subscriptions.Items), res.Subscriptions.Truncated)
	}
	// The disabled subscription is worth a warning.
	if len(res.Warnings) != 1 || res.Warnings[0].Reason != "SubscriptionNotEnabled" || !strings.Contains(res.Warnings[0].Message, "Northwind Archive") {
		t.Fatalf("warnings %+v", res.Warnings)
	}
}

func TestValidateTaskErrors(t *testing.T) {
	h := newHarness(t, nil)
	env := h.env(t, "")
	if _, err := Validate(context.Background(), env, Input{}); !failure.Is(err, failure.Invalid) {
		t.Fatalf("no connector: %v", err)
	}
	in := secretInput(deployerApp, deployerSecret)
	for _, p := range []string{`{"nope": 1}`, `{"scope": "x"}`, `{"capabilities": ["acr", "nope"]}`} {
		in.Params = json.RawMessage(p)
		if _, err := Validate(context.Background(), env, in); !failure.Is(err, failure.Invalid) {
			t.Fatalf("parameters %s: %v", p, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err := Validate(ctx, env, secretInput(deployerApp, deployerSecret))
	if out != nil || !failure.Is(err, failure.Canceled) {
		t.Fatalf("cancelled task: %v %v", out, err)
	}
	if _, err := Validate(context.Background(), &Env{}, secretInput(deployerApp, deployerSecret)); !failure.Is(err, failure.Internal) {
		t.Fatalf("no factory: %v", err)
	}
	if Registry()[KindValidate] == nil {
		t.Fatal("the registry has no azure.validate")
	}
}
