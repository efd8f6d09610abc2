package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/service"
)

// The dev-mode delegate: an embedded `azimuth delegate` running "on" the
// simulator's managed-identity host, and the connectors that use it.
const (
	devDelegateName = "dev-delegate"
	devDelegateHost = "delegate-host" // the demo world's host with both identities
	devDelegateTag  = "delegate-host"
	// The demo world's identities and app (internal/azuresim/demo.yaml).
	devTenant        = "10000000-0000-4000-8000-000000000001"
	devUserMIClient  = "60000000-0000-4000-8000-000000000002"
	devReaderApp     = "30000000-0000-4000-8000-000000000001"
	devReaderSecret  = "demo-reader-secret-0001"
	devReaderSecretI = "delegate_reader_secret"
)

// DevDelegate is dev.json's "delegate".
type DevDelegate struct {
	Name    string   `json:"name"`
	Tags    []string `json:"tags"`
	TokenID string   `json:"tokenId"`
	// Token lets scripts start more delegates against this dev server.
	Token string `json:"token"`
	// Host is the simulated host the delegate runs on ("" without a
	// simulator); Cloud says where its cloud override came from.
	Host  string `json:"host,omitempty"`
	Cloud string `json:"cloud"`
}

func init() {
	devParts = append(devParts,
		DevPart{Name: "delegate", Order: 20, After: startDevDelegate},
		DevPart{Name: "delegate connectors", Order: 35, After: seedDelegateConnectors},
	)
}

// startDevDelegate creates an account-level delegate token and runs an
// embedded delegate with it on the simulator's managed-identity host (or,
// without a simulator, with the server's cloud settings).
func startDevDelegate(ctx context.Context, env *DevEnv) error {
	hub := env.Server.Hub
	tok, secretTok, err := hub.CreateToken(ctx, access.System("azimuth dev"), scope.Scope{Account: env.Config.Account},
		fmt.Sprintf("%s-%d", devDelegateName, time.Now().UnixMilli()))
	if err != nil {
		return err
	}
	override, host, from := devDelegateOverride(ctx, env)
	a, closeFn, err := NewAgent(ctx, AgentConfig{Server: env.Info.URL, Token: secretTok.Reveal(), Name: devDelegateName,
		Tags: []string{"dev", devDelegateTag}, Concurrency: 16, Override: override, Logger: env.Log,
		// The embedded delegate stands for a simulated host: the
		// developer's own environment is not its.
		Getenv: func(string) string { return "" }})
	if err != nil {
		return err
	}
	go func() {
		defer closeFn()
		if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			env.Log.Error("the dev delegate stopped", "err", err)
		}
	}()
	env.Info.Delegate = DevDelegate{Name: devDelegateName, Tags: []string{"dev", devDelegateTag}, TokenID: tok.ID,
		Token: secretTok.Reveal(), Host: host, Cloud: from}
	env.Log.Info("dev delegate starting", "name", devDelegateName, "host", host, "cloud", from)
	return nil
}

// devDelegateOverride finds the cloud override of the simulated host: from
// the simulator's control endpoint or a host-config file named in
// dev.json's simulator entry; else the server's cloud config; else none.
func devDelegateOverride(ctx context.Context, env *DevEnv) (*cloud.Override, string, string) {
	if sim := DevSim(env); sim != nil {
		if o, err := sim.HostOverride(devDelegateHost); err == nil {
			return o, devDelegateHost, "simulator host " + devDelegateHost
		}
	}
	control, files := simulatorHints(env.Info.Simulator)
	if f := files[devDelegateHost]; f != "" {
		if o, err := cloud.Load(f); err == nil {
			return o, devDelegateHost, "host config " + f
		}
	}
	if control != "" {
		u := strings.TrimSuffix(strings.TrimSuffix(control, "/"), "/_sim") + "/_sim/hosts/" + devDelegateHost + "/override"
		if o, err := fetchOverride(ctx, u); err == nil {
			return o, devDelegateHost, "simulator host " + devDelegateHost
		} else {
			env.Log.Warn("dev delegate: no override of the simulated host", "url", u, "err", err)
		}
	}
	if env.Config.CloudConfig != "" {
		if o, err := cloud.Load(env.Config.CloudConfig); err == nil {
			return o, "", "server cloud config " + env.Config.CloudConfig + " (no managed identity host)"
		}
	}
	return nil, "", "Azure (no simulator)"
}

// simulatorHints walks dev.json's simulator entry, whatever its shape, for
// a control URL and host-config files (host name -> file).
func simulatorHints(v any) (control string, files map[string]string) {
	files = map[string]string{}
	b, err := json.Marshal(v)
	if err != nil || v == nil {
		return "", files
	}
	var root any
	if json.Unmarshal(b, &root) != nil {
		return "", files
	}
	var walk func(key string, x any)
	walk = func(key string, x any) {
		switch t := x.(type) {
		case map[string]any:
			for k, y := range t {
				walk(k, y)
			}
		case []any:
			for _, y := range t {
				walk(key, y)
			}
		case string:
			k := strings.ToLower(key)
			switch {
			case strings.Contains(k, "control") && strings.HasPrefix(t, "http"):
				control = t
			case strings.HasSuffix(t, ".json") && strings.Contains(t, devDelegateHost):
				files[devDelegateHost] = t
			case key == devDelegateHost && strings.HasSuffix(t, ".json"):
				files[devDelegateHost] = t
			}
		}
	}
	walk("", root)
	return control, files
}

func fetchOverride(ctx context.Context, u string) (*cloud.Override, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var o cloud.Override
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &o, nil
}

// seedDelegateConnectors adds, at account scope, connectors that inherit
// the dev delegate's system- and user-assigned identities and a
// service-principal connector that runs through it.
func seedDelegateConnectors(ctx context.Context, env *DevEnv) error {
	p := access.System("azimuth dev")
	acc := scope.Scope{Account: env.Config.Account}
	sels := []string{devDelegateTag}
	if err := upsertSecret(ctx, env.Server.Services.Secrets, p, acc, devReaderSecretI, service.SecretText, []byte(devReaderSecret)); err != nil {
		return fmt.Errorf("seed secret %s: %w", devReaderSecretI, err)
	}
	seeds := []struct {
		DevConnector
		credential string
	}{
		{DevConnector{Identifier: "delegate_system_identity", Credential: "SystemAssignedManagedIdentity",
			Note: "the dev delegate's system-assigned identity (Reader on Contoso Production), through its IMDS / App Service endpoint"},
			`{"type":"InheritFromDelegate","spec":{"auth":{"type":"SystemAssignedManagedIdentity","spec":{}}}}`},
		{DevConnector{Identifier: "delegate_user_identity", Credential: "UserAssignedManagedIdentity",
			Note: "the dev delegate's user-assigned identity delegate-identity (AcrPull, Reader on rg-containers)"},
			`{"type":"InheritFromDelegate","spec":{"auth":{"type":"UserAssignedManagedIdentity","spec":{"clientId":"` + devUserMIClient + `"}}}}`},
		{DevConnector{Identifier: "delegate_service_principal", Credential: "ServicePrincipalSecret", Secrets: []string{devReaderSecretI},
			Note: "azimuth-reader (a client secret), connecting through the dev delegate"},
			`{"type":"ManualConfig","spec":{"applicationId":"` + devReaderApp + `","tenantId":"` + devTenant + `","auth":{"type":"Secret","spec":{"secretRef":"account.` + devReaderSecretI + `"}}}}`},
	}
	for _, s := range seeds {
		sj, _ := json.Marshal(sels)
		doc := fmt.Sprintf(`{"connector":{"name":%q,"identifier":%q,"description":%q,"type":"Azure","tags":{"seeded-by":"azimuth-dev"},"spec":{"credential":%s,"delegateSelectors":%s,"azureEnvironmentType":"AZURE","executeOnDelegate":true}}}`,
			s.Identifier, s.Identifier, "Seeded by azimuth dev: "+s.Note, s.credential, sj)
		_, err := env.Server.Services.Connectors.Create(ctx, p, service.Write{Account: env.Config.Account, Body: []byte(doc), MediaType: "application/json"})
		if err != nil && !failure.Is(err, failure.Conflict) {
			return fmt.Errorf("seed connector %s: %w", s.Identifier, err)
		}
		c := s.DevConnector
		c.Scope, c.ConnectsThrough, c.Expect = "account", "delegate", "SUCCESS"
		env.Info.AddConnector(c)
	}
	return nil
}
