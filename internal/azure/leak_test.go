package azure

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azimuthcd/azimuth/internal/connector"
)

// Planted secret values (a client secret, a private key, the App Service
// identity header) and the access tokens obtained never appear in an
// error, a hint, a log line of the layer (slog at debug) or of azcore
// (every event class), on success or failure.
func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	s := startSim(t)
	sdk := captureSDKLog(t)
	pemBytes := certPEM(t, s, "main")
	_, key := splitPEM(t, pemBytes)
	keyChunk := base64.StdEncoding.EncodeToString(key.D.Bytes())[:24]
	planted := []string{secretValue, identityHdr, keyChunk, "wrong-secret-planted-value"}
	var texts []string
	ctx := context.Background()

	run := func(f *Factory, c *connector.Connector, sec map[string][]byte) {
		cred, err := f.Credential(c, sec, "k")
		if err == nil {
			var tok string
			if tk, terr := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{cred.Cloud().ARMScope()}, EnableCAE: true}); terr == nil {
				tok = tk.Token
				planted = append(planted, tok)
			}
			_, err = listSubscriptions(ctx, cred)
			if err != nil {
				err = cred.Classify(err)
			}
			if tok != "" && len(tok) < 40 {
				t.Fatalf("token %q too short to be a meaningful canary", tok)
			}
		}
		if err != nil {
			texts = append(texts, err.Error())
			if e, ok := AsError(err); ok {
				texts = append(texts, e.Message, e.Hint)
			}
		}
	}
	plain := newFactory(t, s.Override(), nil)
	run(plain, secretConnector("ok", secretApp, tenantID), secrets(connector.PathSecretRef, secretValue))
	run(plain, secretConnector("bad", secretApp, tenantID), secrets(connector.PathSecretRef, "wrong-secret-planted-value"))
	run(plain, certConnector("cert", certApp, tenantID), map[string][]byte{connector.PathCertificateRef: pemBytes})
	mi := newFactory(t, hostOverride(t, s, "delegate-vm", true), func(o *Options) { o.ManagedIdentity = true })
	run(mi, miConnector("mi", ""), nil)
	run(mi, miConnector("mi-bad", uamiOther), nil)

	if len(planted) < 7 {
		t.Fatalf("only %d canaries: some flows did not get a token", len(planted))
	}
	texts = append(texts, logsOf(t), sdk.String())
	if !strings.Contains(sdk.String(), "/oauth2/v2.0/token") {
		t.Fatal("azcore's log did not capture the token requests: the check would prove nothing")
	}
	for _, text := range texts {
		mustNotContain(t, "error or log", text, planted...)
	}
}
