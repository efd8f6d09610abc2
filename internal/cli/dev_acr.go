package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/service"
)

func init() {
	devParts = append(devParts, DevPart{Name: "acr", Order: 40, After: devACR})
}

// DevACR is dev.json's "acr": the demo world's registries and the
// AcrPull-only identity, with a connector for it, so ACR can be tried at
// once.
type DevACR struct {
	Registries []DevRegistry `json:"registries"`
	// ManyTags is the repository with thousands of tags.
	ManyTags DevRepository `json:"manyTags"`
	// AcrPullOnly holds AcrPull on ManyTags' registry and nothing else: it
	// lists repositories and tags by login server, and is refused the
	// registry listing (which needs Reader).
	AcrPullOnly DevIdentity `json:"acrPullOnly"`
	// Try are commands to run.
	Try []string `json:"try"`
}

// DevRegistry is one registry of the demo world.
type DevRegistry struct {
	Name           string          `json:"name"`
	LoginServer    string          `json:"loginServer"`
	SubscriptionID string          `json:"subscriptionId"`
	ResourceGroup  string          `json:"resourceGroup"`
	Repositories   []DevRepository `json:"repositories"`
}

// DevRepository is one repository and how many tags it has.
type DevRepository struct {
	LoginServer string `json:"loginServer,omitempty"`
	Name        string `json:"name"`
	Tags        int    `json:"tags"`
}

// DevIdentity is a demo identity and the connector seeded for it.
type DevIdentity struct {
	ApplicationID string `json:"applicationId"`
	TenantID      string `json:"tenantId"`
	Connector     string `json:"connector"`
}

// The demo world's AcrPull-only application (internal/azuresim/demo.yaml).
const (
	devACRPullApp    = "30000000-0000-4000-8000-000000000005"
	devACRPullSecret = "demo-acrpull-secret-0005" // a simulator's demo value
	devACRTenant     = "10000000-0000-4000-8000-000000000001"
	devACRConnector  = "acr_pull_only"
)

// acrDevRequest is one API request of the seed.
type acrDevRequest struct {
	path string
	body any
}

// connectorRequests create a text secret and an Azure connector (service
// principal with a secret, connecting through the server) at account level.
func acrSeedRequests(account, id, app, tenant, secretValue string) []acrDevRequest {
	q := "?accountIdentifier=" + url.QueryEscape(account)
	return []acrDevRequest{
		{"/ng/api/v2/secrets" + q, map[string]any{"secret": map[string]any{"type": "SecretText", "name": id + " secret", "identifier": id + "_secret",
			"spec": map[string]any{"secretManagerIdentifier": "harnessSecretManager", "valueType": "Inline", "value": secretValue}}}},
		{"/ng/api/connectors" + q, map[string]any{"connector": map[string]any{"name": id, "identifier": id, "type": "Azure",
			"description": "Demo: an identity holding only AcrPull on democontoso",
			"spec": map[string]any{"azureEnvironmentType": "AZURE", "executeOnDelegate": false,
				"credential": map[string]any{"type": "ManualConfig", "spec": map[string]any{"applicationId": app, "tenantId": tenant,
					"auth": map[string]any{"type": "Secret", "spec": map[string]any{"secretRef": "account." + id + "_secret"}}}}}}}},
	}
}

func devACR(ctx context.Context, env *DevEnv) error {
	if env.Config == nil || env.Config.CloudConfig == "" {
		return nil // no simulator: Azure itself, nothing to describe
	}
	w, err := azuresim.DemoWorld()
	if err != nil {
		return err
	}
	info := &DevACR{AcrPullOnly: DevIdentity{ApplicationID: devACRPullApp, TenantID: devACRTenant, Connector: devACRConnector}}
	for _, tn := range w.Tenants {
		cn := tn.Cloud
		if cn == "" {
			cn = cloud.Public
		}
		ep, _ := cloud.Builtin(cn)
		for _, sub := range tn.Subscriptions {
			for _, rg := range sub.ResourceGroups {
				for _, reg := range rg.Registries {
					if reg.LoginServer == "" { // the simulator's default
						reg.LoginServer = strings.ToLower(reg.Name) + ep.ContainerRegistrySuffix
					}
					dr := DevRegistry{Name: reg.Name, LoginServer: reg.LoginServer, SubscriptionID: sub.ID, ResourceGroup: rg.Name}
					for _, name := range reg.RepositoryNames() {
						v, ok := reg.Repo(name)
						if !ok {
							continue
						}
						r := DevRepository{Name: name, Tags: v.TagCount()}
						dr.Repositories = append(dr.Repositories, r)
						if r.Tags > info.ManyTags.Tags {
							info.ManyTags, info.ManyTags.LoginServer = r, reg.LoginServer
						}
					}
					info.Registries = append(info.Registries, dr)
				}
			}
		}
	}
	if err := seedACRConnector(ctx, env); err != nil {
		return fmt.Errorf("seed the AcrPull-only connector: %w", err)
	}
	m := info.ManyTags
	info.Try = []string{
		fmt.Sprintf("azimuth azure acr tags %s -c %s --login-server %s", m.Name, devACRConnector, m.LoginServer),
		fmt.Sprintf("azimuth azure acr repositories -c %s --login-server %s", devACRConnector, m.LoginServer),
		fmt.Sprintf("azimuth azure acr registries -c %s --subscription %s   # refused: AcrPull is not Reader", devACRConnector, info.Registries[0].SubscriptionID),
		fmt.Sprintf("azimuth azure acr login-credentials -c %s --login-server %s", devACRConnector, m.LoginServer),
	}
	env.Info.ACR = info
	return nil
}

// seedACRConnector creates or refreshes the AcrPull-only connector and its
// secret, through the services: dev parts run before the server serves.
func seedACRConnector(ctx context.Context, env *DevEnv) error {
	if env.Server == nil {
		return nil // unit tests of the description alone
	}
	p := access.System("azimuth dev")
	sc := scope.Scope{Account: env.Config.Account}
	reqs := acrSeedRequests(sc.Account, devACRConnector, devACRPullApp, devACRTenant, devACRPullSecret)
	svc := env.Server.Services
	if err := upsertSecret(ctx, svc.Secrets, p, sc, devACRConnector+"_secret", service.SecretText, []byte(devACRPullSecret)); err != nil {
		return err
	}
	doc, err := json.Marshal(reqs[1].body)
	if err != nil {
		return err
	}
	w := service.Write{Account: sc.Account, Body: doc, MediaType: "application/json"}
	if _, err := svc.Connectors.Create(ctx, p, w); err != nil {
		if failure.KindOf(err) != failure.Conflict {
			return err
		}
		if _, err := svc.Connectors.Update(ctx, p, w); err != nil {
			return err
		}
	}
	env.Info.AddConnector(DevConnector{Identifier: devACRConnector, Scope: "account", Credential: "ServicePrincipalSecret", ConnectsThrough: "server",
		Expect: "SUCCESS", Secrets: []string{devACRConnector + "_secret"},
		Note: "azimuth-acrpull: only AcrPull on democontoso; lists tags by login server, cannot list registries"})
	return nil
}
