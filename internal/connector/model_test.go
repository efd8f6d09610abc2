package connector

import (
	"bytes"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
)

func TestNormalize(t *testing.T) {
	c := &Connector{
		Name: "  azure prod ", Identifier: " azure_prod\n", Description: " d ",
		AccountIdentifier: " acc ", OrgIdentifier: "  ", ProjectIdentifier: "", Type: " Azure ",
		Spec: &AzureSpec{
			Credential: &Credential{Type: " ManualConfig ", Manual: &ManualSpec{
				ApplicationID: " app ", TenantID: " tenant ",
				Auth: &ManualAuth{Type: " Secret ", SecretRef: " ACCOUNT.sp "}}},
			DelegateSelectors: []string{" a", "a", "b", "a ", "", " "},
		},
	}
	c.Normalize()
	tru := true
	want := &Connector{
		Name: "azure prod", Identifier: "azure_prod", Description: "d", AccountIdentifier: "acc",
		Tags: map[string]string{}, Type: "Azure",
		Spec: &AzureSpec{
			Credential: &Credential{Type: "ManualConfig", Manual: &ManualSpec{
				ApplicationID: "app", TenantID: "tenant",
				Auth: &ManualAuth{Type: "Secret", SecretRef: "account.sp"}}},
			DelegateSelectors:    []string{"a", "b", ""},
			AzureEnvironmentType: "AZURE",
			ExecuteOnDelegate:    &tru,
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got\n%#v\nwant\n%#v", c, want)
	}
	again := c.Clone()
	again.Normalize()
	if !reflect.DeepEqual(again, c) {
		t.Fatal("Normalize is not idempotent")
	}

	// Nulls stay unset where unset has a meaning; a bad reference is only trimmed.
	c = &Connector{Spec: &AzureSpec{Credential: &Credential{Type: CredentialManual, Manual: &ManualSpec{
		Auth: &ManualAuth{Type: AuthCertificate, CertificateRef: " vault.x "}}}}}
	c.Normalize()
	if c.Spec.DelegateSelectors != nil {
		t.Fatal("null selectors became a list")
	}
	if got := c.Spec.Credential.Manual.Auth.CertificateRef; got != "vault.x" {
		t.Fatalf("bad reference = %q", got)
	}
	f := false
	c = &Connector{Spec: &AzureSpec{ExecuteOnDelegate: &f, AzureEnvironmentType: "AZURE_CHINA"}}
	c.Normalize()
	if *c.Spec.ExecuteOnDelegate || c.Spec.AzureEnvironmentType != "AZURE_CHINA" {
		t.Fatal("Normalize overrode explicit values")
	}
	var nilConnector *Connector
	nilConnector.Normalize() // must not panic
}

func secretConnector(authType, ref string) *Connector {
	a := &ManualAuth{Type: authType}
	if authType == AuthCertificate {
		a.CertificateRef = ref
	} else {
		a.SecretRef = ref
	}
	return &Connector{Type: TypeAzure, Spec: &AzureSpec{Credential: &Credential{Type: CredentialManual,
		Manual: &ManualSpec{ApplicationID: "app", TenantID: "tenant", Auth: a}}}}
}

func TestSecretUses(t *testing.T) {
	got := secretConnector(AuthSecret, "org.sp").SecretUses()
	want := []SecretUse{{Path: PathSecretRef, Field: "secretKey", Ref: scope.Ref{Level: scope.Org, Identifier: "sp"}, Kind: SecretText}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("secret: %#v", got)
	}
	got = secretConnector(AuthCertificate, "pem").SecretUses()
	want = []SecretUse{{Path: PathCertificateRef, Field: "clientCertRef", Ref: scope.Ref{Level: scope.Project, Identifier: "pem"}, Kind: SecretFile}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("certificate: %#v", got)
	}
	for name, c := range map[string]*Connector{
		"managed identity": shapes()["user-assigned"],
		"bad reference":    secretConnector(AuthSecret, "project.x"),
		"no spec":          {},
	} {
		if got := c.SecretUses(); len(got) != 0 {
			t.Errorf("%s: %#v", name, got)
		}
	}
}

func TestCheckSecretScopes(t *testing.T) {
	account := scope.New("acc", "", "")
	org := scope.New("acc", "o", "")
	project := scope.New("acc", "o", "p")
	tests := []struct {
		name  string
		c     *Connector
		owner scope.Scope
		want  string // "" = allowed
	}{
		{"account uses account", secretConnector(AuthSecret, "account.s"), account, ""},
		{"account uses org", secretConnector(AuthSecret, "org.s"), account, "Error while validating secretKey field : The org level secret cannot be used at account level"},
		{"account uses project", secretConnector(AuthSecret, "s"), account, "Error while validating secretKey field : The project level secret cannot be used at account level"},
		{"org uses account", secretConnector(AuthSecret, "account.s"), org, ""},
		{"org uses org", secretConnector(AuthSecret, "org.s"), org, ""},
		{"org uses project", secretConnector(AuthCertificate, "s"), org, "Error while validating clientCertRef field : The project level secret cannot be used at a org level"},
		{"project uses account", secretConnector(AuthSecret, "account.s"), project, ""},
		{"project uses org", secretConnector(AuthCertificate, "org.s"), project, ""},
		{"project uses project", secretConnector(AuthSecret, "s"), project, ""},
		{"bad reference", secretConnector(AuthSecret, "project.s"), project, "Error while validating secretKey field : Invalid Secret Reference"},
		{"empty reference", secretConnector(AuthSecret, ""), project, "Error while validating secretKey field : Invalid Secret Reference"},
		{"no secrets", shapes()["system-assigned"], account, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.CheckSecretScopes(tt.owner)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			fe, ok := failure.As(err)
			if !ok || fe.Kind != failure.Invalid || len(fe.Fields) != 1 || fe.Fields[0].Message != tt.want {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSecretUseProblems(t *testing.T) {
	u := secretConnector(AuthSecret, "s").SecretUses()[0]
	got := u.NotFound(scope.New("acc", "o", "p"))
	if got.Field != PathSecretRef || got.Message != "Error while validating secretKey field : No secret exists with the id s  in organization o in project p" {
		t.Fatalf("project: %#v", got)
	}
	if got := u.NotFound(scope.New("acc", "", "")); got.Message != "Error while validating secretKey field : No secret exists with the id s" {
		t.Fatalf("account: %q", got.Message)
	}
	c := secretConnector(AuthCertificate, "org.pem").SecretUses()[0]
	if got := c.WrongKind(SecretText); got.Message != "Error while validating clientCertRef field : secret org.pem is a SecretText secret, but this field needs a SecretFile secret" {
		t.Fatalf("wrong kind: %q", got.Message)
	}
}

func TestHelpers(t *testing.T) {
	c := shapes()["manual secret"]
	if got := c.Scope("acc"); got != (scope.Scope{Account: "acc", Org: "o", Project: "p"}) {
		t.Fatalf("Scope = %v", got)
	}
	if c.ExecutesOnDelegate() {
		t.Fatal("executeOnDelegate false reads as true")
	}
	if got := c.Cloud(); got != cloud.USGov {
		t.Fatalf("Cloud = %v", got)
	}
	if got := c.CredentialType(); got != CredentialManual {
		t.Fatalf("CredentialType = %q", got)
	}
	empty := &Connector{}
	if !empty.ExecutesOnDelegate() || empty.Cloud() != cloud.Public || empty.CredentialType() != "" || empty.DelegateSelectors() != nil {
		t.Fatal("defaults of an empty connector")
	}
	if got := (&Connector{Spec: &AzureSpec{}}).Cloud(); got != cloud.Public {
		t.Fatalf("unset cloud = %v", got)
	}
	for want, c := range map[string]*Connector{
		`Azure connector "x" in project o/p`:    {Identifier: "x", OrgIdentifier: "o", ProjectIdentifier: "p"},
		`Azure connector "x" in organization o`: {Identifier: "x", OrgIdentifier: "o"},
		`Azure connector "x" at account level`:  {Identifier: "x"},
	} {
		if got := c.String(); got != want {
			t.Errorf("String = %q, want %q", got, want)
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "connector", c)
	if !strings.Contains(buf.String(), "connector.identifier=no") || !strings.Contains(buf.String(), "connector.cloud=AZURE_US_GOVERNMENT") {
		t.Fatalf("log line: %s", buf.String())
	}
}

func TestClone(t *testing.T) {
	for name, c := range shapes() {
		d := c.Clone()
		if !reflect.DeepEqual(c, d) {
			t.Fatalf("%s: clone differs", name)
		}
		d.Tags["new"] = "x"
		d.Spec.DelegateSelectors = append(d.Spec.DelegateSelectors[:0], "changed")
		*d.Spec.ExecuteOnDelegate = !*d.Spec.ExecuteOnDelegate
		if m := d.Spec.Credential.Manual; m != nil {
			m.Auth.SecretRef = "changed"
			m.TenantID = "changed"
		}
		if i := d.Spec.Credential.Inherit; i != nil {
			i.Auth.ClientID = "changed"
		}
		if reflect.DeepEqual(c, d) || !reflect.DeepEqual(c, shapes()[name]) {
			t.Fatalf("%s: changing the clone changed the original", name)
		}
	}
	var nilConnector *Connector
	if nilConnector.Clone() != nil {
		t.Fatal("Clone(nil) != nil")
	}
}

func TestIsTenant(t *testing.T) {
	for s, want := range map[string]bool{
		"11111111-1111-4111-8111-111111111111": true,
		"contoso.onmicrosoft.com":              true,
		"tenantId":                             true, // Harness's own test value
		"contoso":                              true,
		"a-b.c-d.example":                      true,
		"169.254.169.254":                      false,
		"-contoso.com":                         false,
		"contoso..com":                         false,
		"contoso.com.":                         false,
		"https://login.microsoftonline.com/x":  false,
		"contoso.com/path":                     false,
		"user@contoso.com":                     false,
		strings.Repeat("a", 64) + ".com":       false,
		"":                                     false,
	} {
		if got := IsTenant(s); got != want {
			t.Errorf("IsTenant(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestValidateNil(t *testing.T) {
	var c *Connector
	if err := c.Validate(); !failure.Is(err, failure.Invalid) {
		t.Fatalf("Validate(nil) = %v", err)
	}
}

// TestValidateProgrammaticMisuse: a connector built in code, not decoded,
// can hold combinations a document cannot; Validate still catches them.
func TestValidateProgrammaticMisuse(t *testing.T) {
	c := secretConnector(AuthSecret, "account.s")
	c.Name, c.Identifier = "n", "n"
	c.Spec.Credential.Manual.Auth.CertificateRef = "account.c"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "certificateRef: is not used with auth type Secret") {
		t.Fatalf("both refs: %v", err)
	}
	m := shapes()["system-assigned"].Clone()
	m.Spec.Credential.Inherit.Auth.ClientID = "22222222-2222-4222-8222-222222222222"
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "clientId: is only used with UserAssignedManagedIdentity") {
		t.Fatalf("system-assigned with a client id: %v", err)
	}
}
