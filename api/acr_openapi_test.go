package openapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/azimuthcd/azimuth/internal/azuresim"
)

// TestACRResponsesMatchDocument drives the ACR and Azure helper routes of
// a real server pointed at the simulator and checks every request and
// response (successes, refusals, the streamed tag list) against the
// document.
func TestACRResponsesMatchDocument(t *testing.T) {
	sim := azuresim.StartForTest(t, nil)
	srv, admin := startServer(t, sim)
	v := newValidator(t)
	hc := &http.Client{Transport: v}

	send := func(method, path string, q url.Values, body any, want int) {
		t.Helper()
		if q == nil {
			q = url.Values{}
		}
		q.Set("accountIdentifier", "acme")
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, srv.URL()+path+"?"+q.Encode(), rd)
		req.Header.Set("x-api-key", admin)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, b)
		}
	}
	for _, c := range []struct{ id, app, secret string }{
		{"reader", "30000000-0000-4000-8000-000000000001", "demo-reader-secret-0001"},
		{"acrpull", "30000000-0000-4000-8000-000000000005", "demo-acrpull-secret-0005"},
	} {
		send("POST", "/ng/api/v2/secrets", nil, map[string]any{"secret": map[string]any{"type": "SecretText", "name": c.id, "identifier": c.id,
			"spec": map[string]any{"secretManagerIdentifier": "harnessSecretManager", "valueType": "Inline", "value": c.secret}}}, 200)
		send("POST", "/ng/api/connectors", nil, map[string]any{"connector": map[string]any{"name": c.id, "identifier": c.id, "type": "Azure",
			"spec": map[string]any{"azureEnvironmentType": "AZURE", "executeOnDelegate": false, "credential": map[string]any{"type": "ManualConfig",
				"spec": map[string]any{"applicationId": c.app, "tenantId": "10000000-0000-4000-8000-000000000001",
					"auth": map[string]any{"type": "Secret", "spec": map[string]any{"secretRef": "account." + c.id}}}}}}}, 200)
	}
	const sub = "20000000-0000-4000-8000-000000000001"
	const login = "democontoso.azurecr.io"
	reader := func(kv ...string) url.Values {
		q := url.Values{"connectorRef": {"reader"}}
		for i := 0; i+1 < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return q
	}
	send("GET", "/ng/api/azure/subscriptions", reader(), nil, 200)
	send("GET", "/ng/api/azure/subscriptions/"+sub+"/resourceGroups", reader(), nil, 200)
	send("GET", "/ng/api/artifacts/acr/subscriptions", reader(), nil, 200)
	send("GET", "/ng/api/artifacts/acr/container-registries", reader("subscriptionId", sub), nil, 200)
	send("GET", "/ng/api/artifacts/acr/container-registries", url.Values{"connectorRef": {"acrpull"}, "subscriptionId": {sub}}, nil, 403)
	send("GET", "/ng/api/artifacts/acr/container-registries", url.Values{"subscriptionId": {sub}}, nil, 400)
	send("GET", "/ng/api/artifacts/acr/container-registries/democontoso/repositories", reader("subscriptionId", sub), nil, 200)
	send("GET", "/ng/api/artifacts/acr/getBuildDetails", reader("loginServer", login, "repository", "load/many-tags-0", "limit", "2500"), nil, 200)
	send("POST", "/ng/api/artifacts/acr/getLastSuccessfulBuild", reader("loginServer", login, "repository", "team/api"), map[string]string{"tagRegex": "^v1"}, 200)
	send("POST", "/ng/api/artifacts/acr/getLastSuccessfulBuild", reader("loginServer", login, "repository", "team/api"), map[string]string{"tagRegex": "^v9"}, 404)
	send("GET", "/ng/api/azimuth/acr/tags", reader("loginServer", login, "repository", "load/many-tags-0", "pageSize", "10"), nil, 200)
	send("GET", "/ng/api/azimuth/acr/tags", reader("loginServer", login, "repository", "team/api", "namesOnly", "true", "orderBy", "version", "pageSize", "0"), nil, 200)
	send("GET", "/ng/api/azimuth/acr/tag", reader("loginServer", login, "repository", "team/api", "tag", "v1.2.0"), nil, 200)
	send("POST", "/ng/api/azimuth/acr/login-credentials", reader("loginServer", login), nil, 200)
	for _, e := range v.errs {
		t.Error(e)
	}
}
