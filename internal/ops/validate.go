package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/permission"
)

// ValidateTimeout bounds a connection test inside its task, as Harness
// bounds its own at 90 s (the task itself gets 2 minutes).
const ValidateTimeout = 90 * time.Second

// MaxListedSubscriptions caps the subscriptions a connection test returns
// for display; all of them are counted.
const MaxListedSubscriptions = 100

// Statuses of a ValidationResult (Harness's ConnectivityStatus).
const (
	StatusSuccess = "SUCCESS"
	StatusFailure = "FAILURE"
)

// ValidateParams are the connection test's optional parameters: the body
// of POST /ng/api/connectors/testConnection/{identifier}, passed through as
// the task's parameters. With capabilities, the test goes deep: after
// authenticating it checks the identity's permissions for them at scope
// (see PermissionsCheck) and fails, with reason PermissionsMissing, when
// one is denied. Without a body, a connector's tags may name them:
// "azimuth.capabilities" (comma-separated) and "azimuth.scope".
type ValidateParams struct {
	// Scope is a subscription, resource group or resource id; default the
	// connector's "azimuth.scope" tag, else the only subscription the
	// identity can see.
	Scope string `json:"scope,omitempty"`
	// Capabilities are capability ids and aliases (acr, aks, webapp, ...);
	// default the connector's "azimuth.capabilities" tag.
	Capabilities []string `json:"capabilities,omitempty"`
}

// The connector tags that store the capabilities a connector is meant for
// and the scope to check them at.
const (
	TagCapabilities = "azimuth.capabilities"
	TagScope        = "azimuth.scope"
)

// ReasonPermissionsMissing is the connection test's reason when a
// capability asked for is denied.
const ReasonPermissionsMissing = "PermissionsMissing"

// ValidationResult is the connection test's output: Harness's
// ConnectorValidationResult (status, errors, errorSummary, testedAt,
// delegateId, taskId) plus what Azimuth adds: the stable reason, the hint,
// warnings, the identity Azure saw, the subscriptions it can see and the
// cloud.
type ValidationResult struct {
	Status       string        `json:"status"`
	Errors       []ErrorDetail `json:"errors"`
	ErrorSummary *string       `json:"errorSummary"`
	TestedAt     int64         `json:"testedAt"` // Unix milliseconds
	DelegateID   *string       `json:"delegateId"`
	TaskID       string        `json:"taskId"`

	Reason         string                 `json:"reason,omitempty"`
	Hint           string                 `json:"hint,omitempty"`
	Warnings       []azure.Warning        `json:"warnings,omitempty"`
	Identity       *azure.Identity        `json:"identity,omitempty"`
	Subscriptions  *SubscriptionList      `json:"subscriptions,omitempty"`
	Cloud          string                 `json:"cloud"`
	CredentialType string                 `json:"credentialType,omitempty"`
	Certificate    *azure.CertificateInfo `json:"certificate,omitempty"`
	DurationMillis int64                  `json:"durationMs"`
	// Permissions is the permission check of a deep connection test (scope
	// and capabilities given or stored in the connector's tags).
	Permissions *PermissionsCheckResult `json:"permissions,omitempty"`
}

// ErrorDetail is Harness's ErrorDetail: reason, message, code. Reason is
// Azimuth's stable reason; code is the HTTP status that fits the failure's
// kind.
type ErrorDetail struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Code    int    `json:"code"`
}

// SubscriptionList is what the identity can see: every subscription
// counted, at most MaxListedSubscriptions listed.
type SubscriptionList struct {
	Count     int            `json:"count"`
	Items     []Subscription `json:"items"`
	Truncated bool           `json:"truncated,omitempty"`
}

// Subscription is one visible subscription.
type Subscription struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	State       string `json:"state,omitempty"`
}

// Validate is the connection test: build the connector's credential, get
// a token, list every subscription the identity can see. It answers with
// a ValidationResult whose status is FAILURE (with a specific reason,
// message and hint) when Azure or the credential fails; it returns an
// error only when the task itself cannot run (no connector, bad
// parameters, the task cancelled or out of time).
func Validate(ctx context.Context, env *Env, in Input) (any, error) {
	if env == nil || env.Azure == nil {
		return nil, failure.New(failure.Internal, "azure.validate: the executor environment has no Azure factory")
	}
	if in.Connector == nil {
		return nil, failure.New(failure.Invalid, "azure.validate needs a connector")
	}
	params, err := ParseValidateParams(in.Params)
	if err != nil {
		return nil, err
	}
	start := env.now()
	res := &ValidationResult{TaskID: in.TaskID, Cloud: string(in.Connector.Cloud()), CredentialType: in.Connector.CredentialType()}
	if env.DelegateID != "" {
		id := env.DelegateID
		res.DelegateID = &id
	}
	if tagged := params.defaults(in.Connector.Tags); tagged {
		if err := params.Check(); err != nil {
			// The connector's own tags are wrong: the connection is still
			// tested, the permissions are not.
			res.Warnings = append(res.Warnings, azure.Warning{Reason: "PermissionsNotChecked",
				Message: fmt.Sprintf("The connector's tags %s and %s do not name a valid check (%s): the permissions were not checked.", TagCapabilities, TagScope, permFieldText(err))})
			params = ValidateParams{}
		}
	}
	err = validate(ctx, env, in, params, res)
	if ctx.Err() != nil {
		// The task was cancelled or ran out of time: that is the task's
		// outcome, not the connector's.
		return nil, failure.Wrap(failure.KindOf(ctx.Err()), ctx.Err(), "connection test of %s", in.Connector)
	}
	res.TestedAt = env.now().UnixMilli()
	res.DurationMillis = env.now().Sub(start).Milliseconds()
	if err == nil && res.Permissions != nil && !res.Permissions.Allowed {
		permissionsFailure(res)
	} else if err != nil {
		e := azure.Classify(err)
		msg := e.Message
		if e.Reason == azure.ReasonInheritFromDelegate {
			msg = azure.InheritFromDelegateMessage
		}
		res.Status = StatusFailure
		res.Reason, res.Hint = string(e.Reason), e.Hint
		res.Errors = []ErrorDetail{{Reason: string(e.Reason), Message: msg, Code: e.Kind.HTTPStatus()}}
		summary := fmt.Sprintf("%s (%s)", e.Reason, msg)
		res.ErrorSummary = &summary
	} else if res.Status == "" {
		res.Status = StatusSuccess
	}
	logf(in.Log, "connection test: %s", res.Status)
	if res.Status == StatusFailure {
		logf(in.Log, "reason: %s: %s", res.Reason, res.Errors[0].Message)
		if res.Hint != "" {
			logf(in.Log, "hint: %s", res.Hint)
		}
	}
	env.logger().Info("connection test", "task", in.TaskID, "connector", in.Connector, "status", res.Status,
		"reason", res.Reason, "durationMs", res.DurationMillis)
	return res, nil
}

// ParseValidateParams reads the connection test's optional parameters
// (the testConnection body) and checks them before anything is sent to
// Azure: a bad scope, or a capability name that is no capability or alias,
// is failure.Invalid naming the field and the names (the API answers 400).
func ParseValidateParams(raw json.RawMessage) (ValidateParams, error) {
	var p ValidateParams
	if err := decodeParams(raw, &p); err != nil {
		return ValidateParams{}, err
	}
	return p, p.Check()
}

// Check validates the scope and every capability name, whatever the
// scope: "arm" is resolved to a deployment capability only once the scope
// is known, and names after it are checked all the same.
func (p ValidateParams) Check() error {
	var fs failure.Fields
	if p.Scope != "" {
		if _, err := permission.ParseScope(p.Scope); err != nil {
			fs.Add("scope", "%s", permFieldText(err))
		}
	}
	if len(p.Capabilities) > 0 {
		if _, err := permission.Resolve(p.Capabilities, permission.TenantScope()); err != nil {
			fs.Add("capabilities", "%s", permFieldText(err))
		}
	}
	return fs.Err()
}

// defaults fills what the body left out from the connector's tags and
// reports whether a tag was used.
func (p *ValidateParams) defaults(tags map[string]string) (tagged bool) {
	if len(p.Capabilities) == 0 {
		if v := strings.TrimSpace(tags[TagCapabilities]); v != "" {
			p.Capabilities, tagged = []string{v}, true
		}
	}
	if p.Scope == "" {
		if v := strings.TrimSpace(tags[TagScope]); v != "" {
			p.Scope, tagged = v, true
		}
	}
	return tagged
}

// permissionsFailure makes a deep test with a denied capability fail:
// one error per denied capability, naming what is missing and the fix.
func permissionsFailure(res *ValidationResult) {
	res.Status, res.Reason = StatusFailure, ReasonPermissionsMissing
	var denied []string
	for _, v := range res.Permissions.Verdicts {
		if v.Status != permission.StatusDenied {
			continue
		}
		denied = append(denied, v.Capability)
		msg := fmt.Sprintf("%s needs %s at %s", v.Capability, strings.Join(append(slices.Clone(v.MissingActions), v.MissingDataActions...), ", "), v.Scope)
		if v.Fix != nil {
			msg += fmt.Sprintf("; assign %s at %s", v.Fix.Role.Name, v.Fix.Scope)
		}
		for _, m := range v.Mistakes {
			msg += " " + m.Message
		}
		res.Errors = append(res.Errors, ErrorDetail{Reason: ReasonPermissionsMissing, Message: msg, Code: 403})
	}
	if len(denied) == 0 {
		// Only unknown verdicts: not a failure.
		res.Status, res.Reason = StatusSuccess, ""
		if unknownBeyond(res.Permissions) {
			res.Warnings = append(res.Warnings, azure.Warning{Reason: "PermissionsUnknown", Message: "Some capabilities could not be checked: Azure did not tell the identity's permissions at their scope (see permissions.reads)."})
		}
		return
	}
	res.Hint = "Run `azimuth azure permissions role --for " + strings.Join(denied, ",") + " --scope " + res.Permissions.Scope + "` for the least-privilege role, or assign the built-in roles named."
	summary := fmt.Sprintf("%s (the identity lacks permissions for %s)", ReasonPermissionsMissing, strings.Join(denied, ", "))
	res.ErrorSummary = &summary
}

// validate fills res; an error is the reason the test failed.
func validate(ctx context.Context, env *Env, in Input, params ValidateParams, res *ValidationResult) error {
	cred, err := env.Azure.Credential(in.Connector, in.Secrets, in.CredentialKey)
	if err != nil {
		return err
	}
	res.CredentialType = string(cred.Kind)
	res.Certificate = cred.Certificate
	res.Warnings = append(res.Warnings, cred.Warnings()...)
	ctx, cancel := context.WithTimeout(ctx, ValidateTimeout)
	defer cancel()

	logf(in.Log, "authenticating to %s (%s) as %s", cred.Cloud().Name, cred.Cloud().AuthorityHost(), describeCredential(cred))
	id, err := cred.Identity(ctx)
	if err != nil {
		return err
	}
	res.Identity = id
	logf(in.Log, "authenticated: tenant %s, application %s, object %s", id.TenantID, id.ApplicationID, id.ObjectID)

	client, err := azure.Client(cred, "armsubscriptions", func(c *azure.Credential) (*armsubscriptions.Client, error) {
		return armsubscriptions.NewClient(c, c.ARMOptions())
	})
	if err != nil {
		return fmt.Errorf("subscriptions client: %w", err)
	}
	subs := &SubscriptionList{Items: []Subscription{}}
	pager := client.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return cred.Classify(err)
		}
		for _, s := range page.Value {
			if s == nil {
				continue
			}
			subs.Count++
			item := Subscription{ID: deref(s.SubscriptionID), DisplayName: deref(s.DisplayName)}
			if s.State != nil {
				item.State = string(*s.State)
			}
			if len(subs.Items) < MaxListedSubscriptions {
				subs.Items = append(subs.Items, item)
			} else {
				subs.Truncated = true
			}
			if item.State != "" && item.State != string(armsubscriptions.SubscriptionStateEnabled) && len(res.Warnings) < 10 {
				res.Warnings = append(res.Warnings, azure.Warning{Reason: "SubscriptionNotEnabled",
					Message: fmt.Sprintf("Subscription %s (%s) is %s: deployments to it will fail.", item.DisplayName, item.ID, item.State)})
			}
		}
	}
	res.Subscriptions = subs
	logf(in.Log, "%d subscription(s) visible", subs.Count)
	if len(params.Capabilities) > 0 {
		defaulted := false
		if params.Scope == "" && subs.Count == 1 {
			params.Scope, defaulted = "/subscriptions/"+subs.Items[0].ID, true
		}
		if params.Scope == "" {
			res.Warnings = append(res.Warnings, azure.Warning{Reason: "PermissionsNotChecked",
				Message: fmt.Sprintf("Capabilities %s were asked for without a scope, and the identity sees %d subscriptions: give a scope (or the connector tag %s) to check them.", strings.Join(params.Capabilities, ","), subs.Count, TagScope)})
		} else {
			pres, err := deepCheck(ctx, env, in, cred, id, PermissionsCheckParams{Scope: params.Scope, Capabilities: params.Capabilities}, defaulted)
			if err != nil {
				return err
			}
			res.Permissions = pres
			if len(pres.Unscoped) > 0 {
				res.Warnings = append(res.Warnings, azure.Warning{Reason: "PermissionsNeedScope",
					Message: fmt.Sprintf("No scope was given, so the check ran at the only subscription the identity sees (%s); %s are granted on a resource group or a resource and were not checked there, since the whole subscription would ask for more than they need. Give the resource's id as the scope (or the connector tag %s) to check them.",
						params.Scope, strings.Join(pres.Unscoped, ", "), TagScope)})
			}
		}
	}
	if subs.Count == 0 && res.Permissions == nil {
		return noSubscriptions(cred, id)
	}
	return nil
}

// deepCheck runs the permission check of a deep connection test. When the
// scope was not given but defaulted to the only subscription the identity
// sees, the capabilities granted on a resource group or a resource (the
// AKS user role on a cluster, AcrPull on a registry, ...) are not judged at
// the subscription, where a correctly set-up identity would look denied
// and be told to assign roles far too broadly: their verdicts are UNKNOWN,
// named in Unscoped, with a note asking for the resource's scope.
func deepCheck(ctx context.Context, env *Env, in Input, cred *azure.Credential, id *azure.Identity, p PermissionsCheckParams, defaulted bool) (*PermissionsCheckResult, error) {
	if !defaulted {
		return checkPermissions(ctx, env, in, cred, id, p)
	}
	sc, err := permission.ParseScope(p.Scope)
	if err != nil {
		return nil, err
	}
	ids, err := permission.Resolve(p.Capabilities, sc)
	if err != nil {
		return nil, err
	}
	var checked []string
	var unscoped []permission.Verdict
	for _, capID := range ids {
		c, _ := permission.Lookup(capID)
		if c.Level <= permission.LevelSubscription {
			checked = append(checked, capID)
			continue
		}
		where, what := "a resource group", "resource group"
		if c.Level == permission.LevelResource {
			where, what = "a resource (a "+c.ResourceType+")", "resource"
		}
		unscoped = append(unscoped, permission.Verdict{Capability: capID, Status: permission.StatusUnknown, Scope: sc.String(),
			Notes: []string{fmt.Sprintf("Not checked: no scope was given, and %s is granted on %s. Checked at the whole subscription it would ask for a role on every one there; give the %s's id as the scope to check it.",
				capID, where, what)}})
	}
	var res *PermissionsCheckResult
	if len(checked) > 0 {
		if res, err = checkPermissions(ctx, env, in, cred, id, PermissionsCheckParams{Scope: p.Scope, Capabilities: checked}); err != nil {
			return nil, err
		}
	} else {
		res = &PermissionsCheckResult{Identity: id, CredentialType: string(cred.Kind), Reads: []PermissionRead{},
			Report: &permission.Report{Scope: sc.String(), Allowed: true}}
	}
	if len(unscoped) == 0 {
		return res, nil
	}
	order := map[string]int{}
	for i, c := range permission.Catalogue() {
		order[c.ID] = i
	}
	res.Verdicts = append(res.Verdicts, unscoped...)
	sort.SliceStable(res.Verdicts, func(i, j int) bool { return order[res.Verdicts[i].Capability] < order[res.Verdicts[j].Capability] })
	res.Allowed = false
	for _, v := range unscoped {
		res.Unscoped = append(res.Unscoped, v.Capability)
	}
	logf(in.Log, "not checked without a scope: %s", strings.Join(res.Unscoped, ", "))
	return res, nil
}

// unknownBeyond reports whether some verdict is UNKNOWN for another reason
// than a missing scope (Azure did not tell the permissions).
func unknownBeyond(p *PermissionsCheckResult) bool {
	for _, v := range p.Verdicts {
		if v.Status == permission.StatusUnknown && !slices.Contains(p.Unscoped, v.Capability) {
			return true
		}
	}
	return false
}

// noSubscriptions is the failure of an identity that authenticates but
// holds no role on any subscription.
func noSubscriptions(cred *azure.Credential, id *azure.Identity) *azure.Error {
	who := fmt.Sprintf("application %s (object %s)", id.ApplicationID, id.ObjectID)
	assignee := "--assignee " + id.ApplicationID
	if cred.Kind == azure.KindSystemAssignedIdentity || cred.Kind == azure.KindUserAssignedIdentity {
		who = fmt.Sprintf("managed identity %s (object %s)", id.ApplicationID, id.ObjectID)
		assignee = "--assignee-object-id " + id.ObjectID + " --assignee-principal-type ServicePrincipal"
	}
	return &azure.Error{
		Reason: azure.ReasonNoSubscriptions, Kind: failure.Forbidden,
		Message: fmt.Sprintf("The credentials are valid: %s signed in to tenant %s. But it holds no role on any subscription, so it can see none and cannot deploy anything.", who, id.TenantID),
		Hint: fmt.Sprintf("Assign it a role on the subscription it should use, or on a resource group in it — Reader to look, Contributor to deploy: az role assignment create %s --role Reader --scope /subscriptions/<subscription-id> (Azure portal: Subscriptions > your subscription > Access control (IAM) > Add role assignment). New assignments can take a few minutes to apply.",
			assignee),
	}
}

func describeCredential(cred *azure.Credential) string {
	switch cred.Kind {
	case azure.KindClientSecret:
		return fmt.Sprintf("application %s (client secret) in tenant %s", cred.ClientID, cred.TenantID)
	case azure.KindClientCertificate:
		return fmt.Sprintf("application %s (certificate %s) in tenant %s", cred.ClientID, cred.Certificate.Thumbprint, cred.TenantID)
	case azure.KindUserAssignedIdentity:
		return "user-assigned managed identity " + cred.ClientID
	default:
		return "this host's system-assigned managed identity"
	}
}

// decodeParams reads a task's JSON parameters strictly; empty means none.
func decodeParams(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return failure.Wrap(failure.Invalid, err, "task parameters")
	}
	return nil
}

func logf(w io.Writer, format string, args ...any) {
	if w == nil {
		return
	}
	fmt.Fprintf(w, format+"\n", args...)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

var _ Func = Validate
