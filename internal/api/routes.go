package api

import "net/http"

// routes is the one route table: the control plane's routes below, then
// each feature's own (routes_*.go).
func (a *API) routes() []Route {
	var out []Route
	for _, part := range [][]Route{a.controlPlaneRoutes(), a.engineRoutes(), a.azureRoutes(), a.acrRoutes(), a.aksRoutes(), a.permissionRoutes(), a.connTestRoutes()} {
		out = append(out, part...)
	}
	return out
}

// controlPlaneRoutes are scopes, secrets, connectors, keys, audit.
func (a *API) controlPlaneRoutes() []Route {
	h := func(method, path, summary string, fn Handler) Route {
		return Route{Method: method, Path: path, Summary: summary, handle: fn}
	}
	return []Route{
		{Method: http.MethodGet, Path: "/healthz", Summary: "Liveness: the process serves HTTP", Public: true, raw: a.healthz},
		{Method: http.MethodGet, Path: "/readyz", Summary: "Readiness: the database answers", Public: true, raw: a.readyz},

		// Harness NG: organizations.
		h(http.MethodPost, "/ng/api/organizations", "Create an organization", a.createOrg),
		h(http.MethodGet, "/ng/api/organizations", "List organizations", a.listOrgs),
		h(http.MethodGet, "/ng/api/organizations/{identifier}", "Get an organization", a.getOrg),
		h(http.MethodPut, "/ng/api/organizations/{identifier}", "Update an organization", a.updateOrg),
		h(http.MethodDelete, "/ng/api/organizations/{identifier}", "Delete an empty organization", a.deleteOrg),

		// Harness NG: projects.
		h(http.MethodPost, "/ng/api/projects", "Create a project", a.createProject),
		h(http.MethodGet, "/ng/api/projects", "List projects", a.listProjects),
		h(http.MethodGet, "/ng/api/projects/{identifier}", "Get a project", a.getProject),
		h(http.MethodPut, "/ng/api/projects/{identifier}", "Update a project", a.updateProject),
		h(http.MethodDelete, "/ng/api/projects/{identifier}", "Delete an empty project", a.deleteProject),

		// Harness NG: secrets v2 (values are write-only).
		h(http.MethodPost, "/ng/api/v2/secrets", "Create a text secret", a.createSecret),
		h(http.MethodGet, "/ng/api/v2/secrets", "List secrets", a.listSecrets),
		h(http.MethodPost, "/ng/api/v2/secrets/list", "List secrets with a filter body", a.listSecretsV3),
		{Method: http.MethodPost, Path: "/ng/api/v2/secrets/files", Summary: "Create a file secret (multipart: spec, file)", MaxBody: fileSecretBody, handle: a.createFileSecret},
		h(http.MethodGet, "/ng/api/v2/secrets/validateUniqueIdentifier/{identifier}", "Is a secret identifier free?", a.validateSecretID),
		h(http.MethodGet, "/ng/api/v2/secrets/{identifier}", "Get a secret's metadata", a.getSecret),
		h(http.MethodPut, "/ng/api/v2/secrets/{identifier}", "Update a text secret", a.updateSecret),
		{Method: http.MethodPut, Path: "/ng/api/v2/secrets/files/{identifier}", Summary: "Update a file secret (multipart: spec, file)", MaxBody: fileSecretBody, handle: a.updateFileSecret},
		h(http.MethodDelete, "/ng/api/v2/secrets/{identifier}", "Delete a secret (forceDelete to ignore references)", a.deleteSecret),

		// Harness NG: connectors.
		h(http.MethodPost, "/ng/api/connectors", "Create a connector (JSON or YAML)", a.createConnector),
		h(http.MethodPut, "/ng/api/connectors", "Update a connector (JSON or YAML)", a.updateConnector),
		h(http.MethodGet, "/ng/api/connectors", "List connectors", a.listConnectors),
		h(http.MethodPost, "/ng/api/connectors/listV2", "List connectors with a filter body", a.listConnectorsV2),
		h(http.MethodGet, "/ng/api/connectors/validateUniqueIdentifier", "Is a connector identifier free?", a.validateConnectorID),
		h(http.MethodGet, "/ng/api/connectors/{identifier}", "Get a connector", a.getConnector),
		h(http.MethodDelete, "/ng/api/connectors/{identifier}", "Delete a connector", a.deleteConnector),

		// Azimuth: the API contract, API keys, audit trail, keyring.
		{Method: http.MethodGet, Path: "/ng/api/azimuth/openapi.yaml", Summary: "The OpenAPI document of this API", Public: true, raw: a.openapiDocument},
		h(http.MethodGet, "/ng/api/azimuth/whoami", "Describe the calling API key", a.whoami),
		h(http.MethodPost, "/ng/api/azimuth/apikeys", "Create an API key (the token is shown once)", a.createAPIKey),
		h(http.MethodGet, "/ng/api/azimuth/apikeys", "List API keys", a.listAPIKeys),
		h(http.MethodGet, "/ng/api/azimuth/apikeys/{id}", "Get an API key's record", a.getAPIKey),
		h(http.MethodDelete, "/ng/api/azimuth/apikeys/{id}", "Revoke an API key", a.revokeAPIKey),
		h(http.MethodGet, "/ng/api/azimuth/audit", "List audit events", a.listAudit),
		h(http.MethodGet, "/ng/api/azimuth/audit/verify", "Verify the audit hash chain", a.verifyAudit),
		h(http.MethodGet, "/ng/api/azimuth/keyring", "List the secrets keyring's data keys", a.keyringStatus),
		h(http.MethodPost, "/ng/api/azimuth/keyring/rotate", "Install a new data key and re-encrypt every secret", a.rotateKeyring),
	}
}
