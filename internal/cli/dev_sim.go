package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/service"
)

// Files the simulator part writes into the dev directory.
const (
	devCloudConfigFile = "cloud-config.json"
	devWorldFile       = "azuresim-world.yaml"
)

func init() {
	devParts = append(devParts,
		DevPart{Name: "azure simulator", Order: 10, Before: startDevSim, After: describeDevSim},
		DevPart{Name: "seeded connectors", Order: 30, After: seedDevConnectors},
	)
}

// DevSimulator is dev.json's "simulator": where the Azure simulator of
// this dev run listens and what it serves.
type DevSimulator struct {
	// World is a copy of the world it serves (the embedded demo world,
	// internal/azuresim/demo.yaml), to read; editing it changes nothing.
	World string `json:"world"`
	// CloudConfig is the cloud override the server uses (--cloud-config).
	CloudConfig string `json:"cloudConfig"`
	// Control is the simulator's control API (/_sim/faults, counters).
	Control string `json:"control"`
	// Clouds are each cloud's Entra ID and ARM endpoints.
	Clouds map[string]DevCloud `json:"clouds"`
	// CACert is the PEM file of the CA its TLS certificates chain to.
	CACert string `json:"caCert"`
}

// DevCloud is one simulated cloud's endpoints.
type DevCloud struct {
	AuthorityHost   string `json:"authorityHost"`
	ResourceManager string `json:"resourceManager"`
}

// DevConnector is one entry of dev.json's "connectors": a connector dev
// mode created and what its connection test should say.
type DevConnector struct {
	Identifier string `json:"identifier"`
	// Scope is "account" (the seeded connectors live at account scope);
	// Org and Project name the others.
	Scope   string `json:"scope"`
	Org     string `json:"org,omitempty"`
	Project string `json:"project,omitempty"`
	// Credential is the credential kind (ServicePrincipalSecret,
	// ServicePrincipalCertificate, SystemAssignedManagedIdentity, ...).
	Credential string `json:"credential"`
	// ConnectsThrough is "server" (executeOnDelegate: false) or "delegate".
	ConnectsThrough string `json:"connectsThrough"`
	// Expect is the test's expected status, SUCCESS or FAILURE, and
	// ExpectReason the reason of an expected FAILURE.
	Expect       string `json:"expect"`
	ExpectReason string `json:"expectReason,omitempty"`
	// Secrets are the secrets it refers to (identifiers at its scope).
	Secrets []string `json:"secrets,omitempty"`
	// Note says what it shows.
	Note string `json:"note,omitempty"`
}

// AddConnector appends to dev.json's "connectors" (a []DevConnector):
// every dev part that seeds connectors calls it.
func (i *DevInfo) AddConnector(c DevConnector) {
	list, _ := i.Connectors.([]DevConnector)
	i.Connectors = append(list, c)
}

// DevConnectors returns dev.json's "connectors", decoded.
func (i *DevInfo) DevConnectors() []DevConnector {
	switch v := i.Connectors.(type) {
	case []DevConnector:
		return v
	case nil:
		return nil
	default:
		b, _ := json.Marshal(v)
		var out []DevConnector
		_ = json.Unmarshal(b, &out)
		return out
	}
}

// devSims holds each dev run's simulator, from its Before to the seeds'
// After (tests run dev more than once per process).
var devSims sync.Map // *DevEnv -> *devSimState

type devSimState struct {
	sim  *azuresim.Sim
	info *DevSimulator
}

// DevSim returns the simulator of a dev run (the seeds and later parts
// use it).
func DevSim(env *DevEnv) *azuresim.Sim {
	if v, ok := devSims.Load(env); ok {
		return v.(*devSimState).sim
	}
	return nil
}

// describeDevSim puts the simulator into dev.json (runDev starts Info
// afresh once the server listens, after the Before parts).
func describeDevSim(_ context.Context, env *DevEnv) error {
	if v, ok := devSims.Load(env); ok {
		env.Info.Simulator = v.(*devSimState).info
	}
	return nil
}

// startDevSim starts the Azure simulator on the embedded demo world, writes
// its cloud override into the dev directory and points the server at it.
// The simulator stops when dev stops (ctx ends).
func startDevSim(ctx context.Context, env *DevEnv) error {
	if err := os.MkdirAll(env.Dir, 0o700); err != nil {
		return err
	}
	sim, err := azuresim.Start(ctx, azuresim.Options{Logger: env.Log})
	if err != nil {
		return err
	}
	st := &devSimState{sim: sim}
	devSims.Store(env, st)
	go func() {
		<-ctx.Done()
		sim.Close()
		devSims.Delete(env)
	}()
	cc := filepath.Join(env.Dir, devCloudConfigFile)
	if err := sim.Override().Write(cc); err != nil {
		return err
	}
	world := filepath.Join(env.Dir, devWorldFile)
	if err := writePrivate(world, azuresim.DemoYAML()); err != nil {
		return fmt.Errorf("write %s: %w", world, err)
	}
	ca := filepath.Join(env.Dir, "azuresim-ca.pem")
	if err := writePrivate(ca, sim.CACertPEM()); err != nil {
		return fmt.Errorf("write %s: %w", ca, err)
	}
	env.Config.CloudConfig = cc
	info := &DevSimulator{World: world, CloudConfig: cc, Control: sim.ControlURL(), CACert: ca, Clouds: map[string]DevCloud{}}
	for _, n := range cloud.Names() {
		e := sim.Endpoints(n)
		info.Clouds[string(n)] = DevCloud{AuthorityHost: e.AuthorityHost, ResourceManager: e.ResourceManager}
	}
	st.info = info
	env.Info.Simulator = info
	env.Log.Info("Azure simulator started for dev", "world", world, "cloudConfig", cc, "control", sim.ControlURL())
	return nil
}

// The demo world's tenant and the apps the seeds use (demo.yaml).
const (
	demoTenant       = "10000000-0000-4000-8000-000000000001"
	demoTenantDomain = "contoso.onmicrosoft.com"
	demoReaderApp    = "30000000-0000-4000-8000-000000000001"
	demoCertApp      = "30000000-0000-4000-8000-000000000002"
	demoExpiredApp   = "30000000-0000-4000-8000-000000000003"
	demoNoroleApp    = "30000000-0000-4000-8000-000000000004"
)

// devSeed is one seeded connector with its secret.
type devSeed struct {
	id, secretID, secretType, app, auth, credential string
	value                                           func(*azuresim.Sim) ([]byte, error)
	expect, reason, note                            string
}

func demoSecret(v string) func(*azuresim.Sim) ([]byte, error) {
	return func(*azuresim.Sim) ([]byte, error) { return []byte(v), nil }
}

var devSeeds = []devSeed{
	{id: "dev_sp_secret", secretID: "dev-sp-secret", secretType: service.SecretText, app: demoReaderApp, auth: "Secret",
		credential: "ServicePrincipalSecret", value: demoSecret("demo-reader-secret-0001"), expect: "SUCCESS",
		note: "azimuth-reader: a valid client secret, Reader on Contoso Production"},
	{id: "dev_sp_cert", secretID: "dev-sp-cert-pem", secretType: service.SecretFile, app: demoCertApp, auth: "Certificate",
		credential: "ServicePrincipalCertificate", expect: "SUCCESS",
		value: func(s *azuresim.Sim) ([]byte, error) {
			return s.CertificatePEM(demoTenantDomain, "azimuth-cert", "main")
		},
		note: "azimuth-cert: a PEM certificate and key generated by the simulator at start (re-seeded on every start)"},
	{id: "dev_sp_expired", secretID: "dev-sp-expired-secret", secretType: service.SecretText, app: demoExpiredApp, auth: "Secret",
		credential: "ServicePrincipalSecret", value: demoSecret("demo-expired-secret-0003"), expect: "FAILURE", reason: "ClientSecretExpired",
		note: "azimuth-expired: its only client secret expired in 2024 (AADSTS7000222)"},
	{id: "dev_sp_norole", secretID: "dev-sp-norole-secret", secretType: service.SecretText, app: demoNoroleApp, auth: "Secret",
		credential: "ServicePrincipalSecret", value: demoSecret("demo-norole-secret-0004"), expect: "FAILURE", reason: "NoSubscriptions",
		note: "azimuth-norole: valid credentials, but no role on any subscription"},
}

func (d devSeed) document(account string) []byte {
	ref := "secretRef"
	if d.auth == "Certificate" {
		ref = "certificateRef"
	}
	doc := map[string]any{"connector": map[string]any{
		"name": d.id, "identifier": d.id, "accountIdentifier": account, "type": "Azure",
		"description": "Seeded by azimuth dev: " + d.note,
		"tags":        map[string]string{"seeded-by": "azimuth-dev"},
		"spec": map[string]any{"azureEnvironmentType": "AZURE", "executeOnDelegate": false,
			"credential": map[string]any{"type": "ManualConfig", "spec": map[string]any{
				"applicationId": d.app, "tenantId": demoTenant,
				"auth": map[string]any{"type": d.auth, "spec": map[string]any{ref: "account." + d.secretID}}}}}}}
	b, _ := json.Marshal(doc)
	return b
}

// seedDevConnectors creates (or brings up to date, on a restart) the
// account-scope secrets and connectors that connect through the server,
// and lists them in dev.json.
func seedDevConnectors(ctx context.Context, env *DevEnv) error {
	sim := DevSim(env)
	if sim == nil || env.Server == nil {
		return errors.New("the Azure simulator is not running")
	}
	p := access.System("azimuth dev")
	sc := scope.Scope{Account: env.Config.Account}
	svc := env.Server.Services
	for _, d := range devSeeds {
		v, err := d.value(sim)
		if err != nil {
			return fmt.Errorf("seed %s: %w", d.id, err)
		}
		if err := upsertSecret(ctx, svc.Secrets, p, sc, d.secretID, d.secretType, v); err != nil {
			return fmt.Errorf("seed secret %s: %w", d.secretID, err)
		}
		w := service.Write{Account: sc.Account, Body: d.document(sc.Account), MediaType: "application/json"}
		if _, err := svc.Connectors.Create(ctx, p, w); err != nil {
			if failure.KindOf(err) != failure.Conflict {
				return fmt.Errorf("seed connector %s: %w", d.id, err)
			}
			if _, err := svc.Connectors.Update(ctx, p, w); err != nil {
				return fmt.Errorf("seed connector %s: %w", d.id, err)
			}
		}
		env.Info.AddConnector(DevConnector{Identifier: d.id, Scope: "account", Credential: d.credential, ConnectsThrough: "server",
			Expect: d.expect, ExpectReason: d.reason, Secrets: []string{d.secretID}, Note: d.note})
	}
	env.Log.Info("seeded connectors (try: azimuth connector test dev_sp_secret)", "count", len(devSeeds))
	return nil
}

func upsertSecret(ctx context.Context, s *service.Secrets, p access.Principal, sc scope.Scope, id, typ string, value []byte) error {
	val := secret.NewValue(value)
	in := service.SecretInput{Type: typ, Identifier: id, Name: id, Description: "Seeded by azimuth dev (a demo value of the Azure simulator; it opens nothing real)",
		Tags: map[string]string{"seeded-by": "azimuth-dev"}, Value: &val}
	_, err := s.Create(ctx, p, sc, typ, in)
	if failure.KindOf(err) == failure.Conflict {
		_, err = s.Update(ctx, p, sc, id, typ, in, nil)
	}
	return err
}
