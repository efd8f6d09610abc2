package azuresim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Template deployments (at resource group, subscription, management group
// and tenant scope) and Blueprint assignments, both long-running.
//
// A deployment succeeds unless its template asks to fail:
//
//	"metadata": {"azuresim": {"fail": {"code": "Conflict", "message": "..."}}}
//
// It then ends Failed with ARM's DeploymentFailed error, whose details
// carry that code and message. A Blueprint assignment fails when its
// parameters hold "azuresimFail": {"value": "<message>"}.

const deploymentsPath = "/providers/Microsoft.Resources/deployments"

func (s *Sim) registerDeploymentRoutes() {
	s.registerOperationRoutes()
	s.armRoute(http.MethodGet, "/{scope...}/providers/Microsoft.Resources/deployments", "arm.deployments.list", "Microsoft.Resources/deployments/read", s.armListDeployments)
	s.armRoute(http.MethodPut, "/{scope...}/providers/Microsoft.Resources/deployments/{name}", "arm.deployments.put", "Microsoft.Resources/deployments/write", s.armPutDeployment)
	s.armRoute(http.MethodGet, "/{scope...}/providers/Microsoft.Resources/deployments/{name}", "arm.deployments.get", "Microsoft.Resources/deployments/read", s.armGetDeployment)
	s.armRoute(http.MethodDelete, "/{scope...}/providers/Microsoft.Resources/deployments/{name}", "arm.deployments.delete", "Microsoft.Resources/deployments/delete", s.armDeleteDeployment)
	s.armRoute(http.MethodPost, "/{scope...}/providers/Microsoft.Resources/deployments/{name}/validate", "arm.deployments.validate", "Microsoft.Resources/deployments/validate/action", s.armValidateDeployment)
	s.armRoute(http.MethodPost, "/{scope...}/providers/Microsoft.Resources/deployments/{name}/whatIf", "arm.deployments.whatif", "Microsoft.Resources/deployments/whatIf/action", s.armWhatIfDeployment)

	s.armRoute(http.MethodGet, "/{scope...}/providers/Microsoft.Blueprint/blueprintAssignments", "arm.blueprintassignments.list", "Microsoft.Blueprint/blueprintAssignments/read", s.armListBlueprintAssignments)
	s.armRoute(http.MethodPut, "/{scope...}/providers/Microsoft.Blueprint/blueprintAssignments/{name}", "arm.blueprintassignments.put", "Microsoft.Blueprint/blueprintAssignments/write", s.armPutBlueprintAssignment)
	s.armRoute(http.MethodGet, "/{scope...}/providers/Microsoft.Blueprint/blueprintAssignments/{name}", "arm.blueprintassignments.get", "Microsoft.Blueprint/blueprintAssignments/read", s.armGetBlueprintAssignment)
	s.armRoute(http.MethodDelete, "/{scope...}/providers/Microsoft.Blueprint/blueprintAssignments/{name}", "arm.blueprintassignments.delete", "Microsoft.Blueprint/blueprintAssignments/delete", s.armDeleteBlueprintAssignment)
}

// DeploymentRecord is what the simulator recorded of a deployment.
type DeploymentRecord struct {
	Scope             string
	Name              string
	Mode              string
	Location          string
	ProvisioningState string
	Template          json.RawMessage
	TemplateLink      string
	Parameters        json.RawMessage
	Timestamp         time.Time
}

type deployment struct {
	DeploymentRecord
	tenantID string
	corr     string
	outputs  map[string]any
	failure  *armErrorBody
	op       *operation
	tags     map[string]string
}

type deploymentBody struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties *struct {
		Mode         string          `json:"mode"`
		Template     json.RawMessage `json:"template"`
		TemplateLink *struct {
			URI string `json:"uri"`
			ID  string `json:"id"`
		} `json:"templateLink"`
		Parameters json.RawMessage `json:"parameters"`
	} `json:"properties"`
}

func deploymentKey(scope, name string) string { return strings.ToLower(scope + "|" + name) }

var deploymentNameRE = regexp.MustCompile(`^[-\w._()]{1,64}$`)

// Deployments lists the deployments the simulator has recorded.
func (s *Sim) Deployments() []DeploymentRecord {
	s.lro.mu.Lock()
	defer s.lro.mu.Unlock()
	var out []DeploymentRecord
	for _, d := range s.lro.deployments {
		out = append(out, d.DeploymentRecord)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Timestamp.Before(out[j].Timestamp) })
	return out
}

// checkDeployment validates a deployment body as ARM's template
// validation does, and returns the parameter values and the requested
// failure, if any.
func checkDeployment(scope string, b *deploymentBody) (params map[string]any, outputs map[string]any, failure *armErrorBody, err *armErrorBody) {
	bad := func(code, msg string) *armErrorBody { return &armErrorBody{Code: code, Message: msg} }
	if b.Properties == nil {
		return nil, nil, nil, bad("InvalidRequestContent", "The request content was invalid and could not be deserialized: 'Required property 'properties' not found in JSON.'.")
	}
	p := b.Properties
	if p.Mode != "Incremental" && p.Mode != "Complete" {
		return nil, nil, nil, bad("InvalidRequestContent", fmt.Sprintf("The request content was invalid and could not be deserialized: 'Error converting value \"%s\" to type 'DeploymentMode'.'.", p.Mode))
	}
	isRG := strings.Contains(strings.ToLower(scope), "/resourcegroups/")
	if !isRG && b.Location == "" {
		return nil, nil, nil, bad("InvalidDeployment", "The 'location' property must be specified for the deployment at this scope.")
	}
	if !isRG && p.Mode == "Complete" && !strings.HasPrefix(strings.ToLower(scope), "/subscriptions/") {
		return nil, nil, nil, bad("InvalidDeploymentMode", "Complete mode is only supported for resource group deployments.")
	}
	given := map[string]any{}
	if len(p.Parameters) > 0 {
		var raw map[string]struct {
			Value     any             `json:"value"`
			Reference json.RawMessage `json:"reference"`
		}
		if e := json.Unmarshal(p.Parameters, &raw); e != nil {
			return nil, nil, nil, bad("InvalidRequestContent", "The request content was invalid and could not be deserialized: 'parameters must be an object of {\"name\": {\"value\": ...}}'.")
		}
		for k, v := range raw {
			given[k] = v.Value
		}
	}
	if len(p.Template) == 0 {
		if p.TemplateLink == nil || (p.TemplateLink.URI == "" && p.TemplateLink.ID == "") {
			return nil, nil, nil, bad("InvalidRequestContent", "The request content was invalid and could not be deserialized: 'Required property 'template' or 'templateLink' not found in JSON.'.")
		}
		return given, map[string]any{}, nil, nil // a linked template is not fetched
	}
	var tpl struct {
		Schema     string                     `json:"$schema"`
		Parameters map[string]json.RawMessage `json:"parameters"`
		Resources  json.RawMessage            `json:"resources"`
		Outputs    map[string]struct {
			Type  string `json:"type"`
			Value any    `json:"value"`
		} `json:"outputs"`
		Metadata struct {
			Azuresim struct {
				Fail *armErrorBody `json:"fail"`
			} `json:"azuresim"`
		} `json:"metadata"`
	}
	if e := json.Unmarshal(p.Template, &tpl); e != nil {
		return nil, nil, nil, bad("InvalidTemplate", fmt.Sprintf("Deployment template parse failed: '%v'.", e))
	}
	if tpl.Schema == "" || len(tpl.Resources) == 0 {
		return nil, nil, nil, bad("InvalidTemplate", "Deployment template validation failed: 'Required properties '$schema' and 'resources' must be present in the template.'.")
	}
	values := map[string]any{}
	var missing, unknown []string
	for name, decl := range tpl.Parameters {
		var d struct {
			DefaultValue any `json:"defaultValue"`
		}
		_ = json.Unmarshal(decl, &d)
		switch v, ok := given[name]; {
		case ok:
			values[name] = v
		case d.DefaultValue != nil:
			values[name] = d.DefaultValue
		default:
			missing = append(missing, name)
		}
	}
	for name := range given {
		if _, ok := tpl.Parameters[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(missing)
	sort.Strings(unknown)
	if len(missing) > 0 {
		return nil, nil, nil, bad("InvalidTemplate", fmt.Sprintf("Deployment template validation failed: 'The value for the template parameter '%s' at line '1' and column '1' is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details.'.", missing[0]))
	}
	if len(unknown) > 0 {
		return nil, nil, nil, bad("InvalidTemplate", fmt.Sprintf("Deployment template validation failed: 'The template parameters '%s' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time. The only supported parameters for this template are '%s'. Please see https://aka.ms/arm-pass-parameter-values for usage details.'.",
			strings.Join(unknown, ", "), strings.Join(sortedKeys(tpl.Parameters), ", ")))
	}
	outputs = map[string]any{}
	for name, o := range tpl.Outputs {
		v := o.Value
		if expr, ok := v.(string); ok {
			if m := paramExprRE.FindStringSubmatch(expr); m != nil {
				v = values[m[1]]
			}
		}
		outputs[name] = map[string]any{"type": capitalize(o.Type), "value": v}
	}
	if f := tpl.Metadata.Azuresim.Fail; f != nil {
		failure = &armErrorBody{Code: "DeploymentFailed", Message: "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details.",
			Details: []armErrorBody{{Code: f.Code, Message: f.Message}}}
	}
	return values, outputs, failure, nil
}

var paramExprRE = regexp.MustCompile(`^\[parameters\('([^']+)'\)\]$`)

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (d *deployment) json() map[string]any {
	params := map[string]any{}
	var given map[string]struct {
		Value any `json:"value"`
	}
	_ = json.Unmarshal(d.Parameters, &given)
	for k, v := range given {
		typ := "String"
		switch v.Value.(type) {
		case float64:
			typ = "Int"
		case bool:
			typ = "Bool"
		case map[string]any:
			typ = "Object"
		case []any:
			typ = "Array"
		}
		params[k] = map[string]any{"type": typ, "value": v.Value}
	}
	sum := sha256.Sum256(d.Template)
	props := map[string]any{
		"templateHash":      strconv.FormatUint(binary.BigEndian.Uint64(sum[:8])>>1, 10),
		"parameters":        params,
		"mode":              d.Mode,
		"provisioningState": d.ProvisioningState,
		"timestamp":         d.Timestamp.Format(time.RFC3339Nano),
		"duration":          "PT1.5S",
		"correlationId":     d.corr,
		"providers":         []any{},
		"dependencies":      []any{},
		"outputResources":   []any{},
	}
	if d.TemplateLink != "" {
		props["templateLink"] = map[string]string{"uri": d.TemplateLink}
	}
	if d.ProvisioningState == "Succeeded" && len(d.outputs) > 0 {
		props["outputs"] = d.outputs
	}
	if d.ProvisioningState == "Failed" && d.failure != nil {
		props["error"] = d.failure
	}
	out := map[string]any{
		"id":         strings.TrimSuffix(d.Scope, "/") + deploymentsPath + "/" + d.Name,
		"name":       d.Name,
		"type":       "Microsoft.Resources/deployments",
		"properties": props,
	}
	if d.Location != "" {
		out["location"] = d.Location
	}
	if len(d.tags) > 0 {
		out["tags"] = d.tags
	}
	return out
}

// deploymentScope resolves the scope of a deployment route and checks the
// route's action there.
func (c *armCall) deploymentScope() (string, bool) {
	_, scope, ok := c.resolveScope(c.param("scope"), c.spec.action)
	if !ok {
		return "", false
	}
	return scope, true
}

func (s *Sim) armPutDeployment(c *armCall) {
	scope, ok := c.deploymentScope()
	if !ok {
		return
	}
	name := c.param("name")
	if !deploymentNameRE.MatchString(name) {
		c.fail(http.StatusBadRequest, "InvalidDeploymentName", fmt.Sprintf("The deployment name '%s' is invalid. It can contain at most 64 letters, digits, '-', '.', '_', '(' and ')'.", name))
		return
	}
	var body deploymentBody
	if !c.decode(&body) {
		return
	}
	_, outputs, failure, verr := checkDeployment(scope, &body)
	if verr != nil {
		c.reply(http.StatusBadRequest, armError{Error: *verr})
		return
	}
	d := &deployment{
		DeploymentRecord: DeploymentRecord{Scope: scope, Name: name, Mode: body.Properties.Mode, Location: body.Location,
			ProvisioningState: "Accepted", Template: body.Properties.Template, Parameters: body.Properties.Parameters, Timestamp: s.Now().UTC()},
		tenantID: c.caller.TenantID, corr: c.w.Header().Get("x-ms-correlation-request-id"), outputs: outputs, failure: failure, tags: body.Tags,
	}
	if body.Properties.TemplateLink != nil {
		d.TemplateLink = body.Properties.TemplateLink.URI
	}
	d.op = s.startOperation(c.caller.TenantID, "Microsoft.Resources/deployments/read", scope, failure, func(failed bool) {
		s.lro.mu.Lock()
		d.ProvisioningState = "Succeeded"
		if failed {
			d.ProvisioningState = "Failed"
		}
		s.lro.mu.Unlock()
	}, nil)
	s.lro.mu.Lock()
	_, existed := s.lro.deployments[deploymentKey(scope, name)]
	s.lro.deployments[deploymentKey(scope, name)] = d
	body2 := d.json()
	s.lro.mu.Unlock()
	c.lroHeaders(d.op, scope+deploymentsPath+"/"+name)
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	c.reply(status, body2)
}

func (s *Sim) getDeployment(c *armCall) (*deployment, bool) {
	scope, ok := c.deploymentScope()
	if !ok {
		return nil, false
	}
	s.lro.mu.Lock()
	d := s.lro.deployments[deploymentKey(scope, c.param("name"))]
	s.lro.mu.Unlock()
	if d == nil {
		c.fail(http.StatusNotFound, "DeploymentNotFound", fmt.Sprintf("Deployment '%s' could not be found.", c.param("name")))
		return nil, false
	}
	return d, true
}

func (s *Sim) armGetDeployment(c *armCall) {
	d, ok := s.getDeployment(c)
	if !ok {
		return
	}
	s.advance(d.op) // a client polling the resource itself makes progress too
	s.lro.mu.Lock()
	if d.ProvisioningState == "Accepted" {
		d.ProvisioningState = "Running"
	}
	body := d.json()
	s.lro.mu.Unlock()
	c.reply(http.StatusOK, body)
}

func (s *Sim) armDeleteDeployment(c *armCall) {
	d, ok := s.getDeployment(c)
	if !ok {
		return
	}
	s.lro.mu.Lock()
	delete(s.lro.deployments, deploymentKey(d.Scope, d.Name))
	s.lro.mu.Unlock()
	c.written = true
	c.w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) armListDeployments(c *armCall) {
	scope, ok := c.deploymentScope()
	if !ok {
		return
	}
	s.lro.mu.Lock()
	var ds []*deployment
	for _, d := range s.lro.deployments {
		if strings.EqualFold(d.Scope, scope) {
			ds = append(ds, d)
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Timestamp.After(ds[j].Timestamp) })
	items := []any{}
	for _, d := range ds {
		items = append(items, d.json())
	}
	s.lro.mu.Unlock()
	c.page(items)
}

func (s *Sim) armValidateDeployment(c *armCall) {
	scope, ok := c.deploymentScope()
	if !ok {
		return
	}
	var body deploymentBody
	if !c.decode(&body) {
		return
	}
	if _, _, _, verr := checkDeployment(scope, &body); verr != nil {
		c.reply(http.StatusBadRequest, armError{Error: *verr})
		return
	}
	d := &deployment{DeploymentRecord: DeploymentRecord{Scope: scope, Name: c.param("name"), Mode: body.Properties.Mode, Location: body.Location,
		ProvisioningState: "Succeeded", Template: body.Properties.Template, Parameters: body.Properties.Parameters, Timestamp: s.Now().UTC()},
		corr: c.w.Header().Get("x-ms-correlation-request-id")}
	c.reply(http.StatusOK, d.json())
}

func (s *Sim) armWhatIfDeployment(c *armCall) {
	scope, ok := c.deploymentScope()
	if !ok {
		return
	}
	var body deploymentBody
	if !c.decode(&body) {
		return
	}
	if _, _, _, verr := checkDeployment(scope, &body); verr != nil {
		c.reply(http.StatusBadRequest, armError{Error: *verr})
		return
	}
	var tpl struct {
		Resources []struct {
			Type string `json:"type"`
			Name string `json:"name"`
		} `json:"resources"`
	}
	_ = json.Unmarshal(body.Properties.Template, &tpl)
	changes := []any{}
	for _, r := range tpl.Resources {
		changes = append(changes, map[string]any{"resourceId": scope + "/providers/" + r.Type + "/" + r.Name, "changeType": "Create"})
	}
	op := s.startOperation(c.caller.TenantID, "Microsoft.Resources/deployments/read", scope, nil, nil,
		func() any {
			return map[string]any{"status": "Succeeded", "properties": map[string]any{"changes": changes}}
		})
	c.lroHeaders(op, scope+deploymentsPath+"/"+c.param("name"))
	c.w.Header().Del("Azure-AsyncOperation") // whatIf is a Location LRO
	c.written = true
	c.w.WriteHeader(http.StatusAccepted)
}

// ---- Blueprint assignments ----

type blueprintAssignment struct {
	scope, name, tenantID string
	body                  map[string]any
	state                 string
	pollsLeft             int
	fail                  string
	created, modified     time.Time
}

var blueprintSteps = []string{"validating", "waiting", "deploying"}

func (b *blueprintAssignment) json() map[string]any {
	out := map[string]any{}
	for k, v := range b.body {
		out[k] = v
	}
	props, _ := out["properties"].(map[string]any)
	p := map[string]any{}
	for k, v := range props {
		p[k] = v
	}
	p["provisioningState"] = b.state
	p["status"] = map[string]any{"timeCreated": b.created.Format(time.RFC3339Nano), "lastModified": b.modified.Format(time.RFC3339Nano)}
	out["properties"] = p
	out["id"] = strings.TrimSuffix(b.scope, "/") + "/providers/Microsoft.Blueprint/blueprintAssignments/" + b.name
	out["name"] = b.name
	out["type"] = "Microsoft.Blueprint/blueprintAssignments"
	return out
}

func (c *armCall) blueprintScope() (string, bool) {
	_, scope, ok := c.resolveScope(c.param("scope"), c.spec.action)
	if !ok {
		return "", false
	}
	parts := strings.Split(strings.Trim(scope, "/"), "/")
	isSub := len(parts) == 2 && strings.EqualFold(parts[0], "subscriptions")
	isMG := len(parts) == 4 && strings.EqualFold(parts[2], "managementGroups")
	if !isSub && !isMG {
		c.decided = true
		c.fail(http.StatusBadRequest, "InvalidScope", "Blueprint assignments can be made at subscription or management group scope only.")
		return "", false
	}
	return scope, true
}

func (s *Sim) armPutBlueprintAssignment(c *armCall) {
	scope, ok := c.blueprintScope()
	if !ok {
		return
	}
	var body map[string]any
	if !c.decode(&body) {
		return
	}
	props, _ := body["properties"].(map[string]any)
	identity, _ := body["identity"].(map[string]any)
	loc, _ := body["location"].(string)
	bpID, _ := props["blueprintId"].(string)
	switch {
	case loc == "":
		c.fail(http.StatusBadRequest, "InvalidRequestContent", "The 'location' property is required.")
		return
	case identity == nil || identity["type"] == nil:
		c.fail(http.StatusBadRequest, "InvalidRequestContent", "The 'identity' property with a 'type' (SystemAssigned or UserAssigned) is required.")
		return
	case bpID == "":
		c.fail(http.StatusBadRequest, "InvalidRequestContent", "The 'properties.blueprintId' property is required.")
		return
	case strings.Contains(scope, "managementGroups") && props["scope"] == nil:
		c.fail(http.StatusBadRequest, "InvalidRequestContent", "The 'properties.scope' property is required for an assignment at management group scope.")
		return
	}
	fail := ""
	if params, ok := props["parameters"].(map[string]any); ok {
		if f, ok := params["azuresimFail"].(map[string]any); ok {
			fail = fmt.Sprint(f["value"])
		}
	}
	now := s.Now().UTC()
	b := &blueprintAssignment{scope: scope, name: c.param("name"), tenantID: c.caller.TenantID, body: body, state: "creating",
		pollsLeft: s.opts.LROPolls, fail: fail, created: now, modified: now}
	s.lro.mu.Lock()
	if old := s.lro.blueprints[deploymentKey(scope, b.name)]; old != nil {
		b.created = old.created
	}
	s.lro.blueprints[deploymentKey(scope, b.name)] = b
	out := b.json()
	s.lro.mu.Unlock()
	c.w.Header().Set("Retry-After-Ms", strconv.FormatInt(s.opts.LRORetryAfter.Milliseconds(), 10))
	c.reply(http.StatusCreated, out)
}

func (s *Sim) armGetBlueprintAssignment(c *armCall) {
	scope, ok := c.blueprintScope()
	if !ok {
		return
	}
	s.lro.mu.Lock()
	defer s.lro.mu.Unlock()
	b := s.lro.blueprints[deploymentKey(scope, c.param("name"))]
	if b == nil {
		c.fail(http.StatusNotFound, "AssignmentNotFound", fmt.Sprintf("Blueprint assignment '%s' could not be found in '%s'.", c.param("name"), scope))
		return
	}
	switch {
	case b.state == "succeeded" || b.state == "failed":
	case b.pollsLeft > 0:
		b.state = blueprintSteps[min(s.opts.LROPolls-b.pollsLeft, len(blueprintSteps)-1)]
		b.pollsLeft--
	case b.fail != "":
		b.state = "failed"
	default:
		b.state = "succeeded"
	}
	b.modified = s.Now().UTC()
	out := b.json()
	if b.state == "failed" {
		out["properties"].(map[string]any)["error"] = map[string]string{"code": "DeploymentFailed", "message": b.fail}
	}
	c.reply(http.StatusOK, out)
}

func (s *Sim) armDeleteBlueprintAssignment(c *armCall) {
	scope, ok := c.blueprintScope()
	if !ok {
		return
	}
	s.lro.mu.Lock()
	defer s.lro.mu.Unlock()
	key := deploymentKey(scope, c.param("name"))
	b := s.lro.blueprints[key]
	if b == nil {
		c.written = true
		c.w.WriteHeader(http.StatusNoContent)
		return
	}
	delete(s.lro.blueprints, key)
	b.state = "deleting"
	c.reply(http.StatusOK, b.json())
}

func (s *Sim) armListBlueprintAssignments(c *armCall) {
	scope, ok := c.blueprintScope()
	if !ok {
		return
	}
	s.lro.mu.Lock()
	items := []any{}
	for _, b := range s.lro.blueprints {
		if strings.EqualFold(b.scope, scope) {
			items = append(items, b.json())
		}
	}
	s.lro.mu.Unlock()
	c.page(items)
}
