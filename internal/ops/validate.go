package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
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
	var params ValidateParams
	if err := decodeParams(in.Params, &params); err != nil {
		return nil, err
	}
	params.defaults(in.Connector.Tags)
	if params.Scope != "" {
		if _, err := permission.ParseScope(params.Scope); err != nil {
			return nil, failure.InvalidField("scope", "%s", permFieldText(err))
		}
	}
	if len(params.Capabilities) > 0 {
		if _, err := permission.Resolve(params.Capabilities, permission.Scope{}); err != nil && !strings.Contains(permFieldText(err), "\"arm\"") {
			return nil, failure.InvalidField("capabilities", "%s", permFieldText(err))
		}
	}
	start := env.now()
	res := &ValidationResult{TaskID: in.TaskID, Cloud: string(in.Connector.Cloud()), CredentialType: in.Connector.CredentialType()}
	if env.DelegateID != "" {
		id := env.DelegateID
		res.DelegateID = &id
	}
	err := validate(ctx, env, in, params, res)
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
		res.Errors = []ErrorDetail{{Reason: string(e.Reason), Message: msg, Code: httpCode(e.Kind)}}
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

// defaults fills what the body left out from the connector's tags.
func (p *ValidateParams) defaults(tags map[string]string) {
	if len(p.Capabilities) == 0 {
		if v := strings.TrimSpace(tags[TagCapabilities]); v != "" {
			p.Capabilities = []string{v}
		}
	}
	if p.Scope == "" {
		p.Scope = strings.TrimSpace(tags[TagScope])
	}
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
		res.Warnings = append(res.Warnings, azure.Warning{Reason: "PermissionsUnknown", Message: "Some capabilities could not be checked: Azure did not tell the identity's permissions at their scope (see permissions.reads)."})
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
	res.Warnings = cred.Warnings()
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
		if params.Scope == "" && subs.Count == 1 {
			params.Scope = "/subscriptions/" + subs.Items[0].ID
		}
		if params.Scope == "" {
			res.Warnings = append(res.Warnings, azure.Warning{Reason: "PermissionsNotChecked",
				Message: fmt.Sprintf("Capabilities %s were asked for without a scope, and the identity sees %d subscriptions: give a scope (or the connector tag %s) to check them.", strings.Join(params.Capabilities, ","), subs.Count, TagScope)})
		} else {
			pres, err := checkPermissions(ctx, env, in, cred, id, PermissionsCheckParams{Scope: params.Scope, Capabilities: params.Capabilities})
			if err != nil {
				return err
			}
			res.Permissions = pres
		}
	}
	if subs.Count == 0 && res.Permissions == nil {
		return noSubscriptions(cred, id)
	}
	return nil
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

// httpCode is the HTTP status that fits a failure kind, for Harness's
// ErrorDetail.code.
func httpCode(k failure.Kind) int {
	switch k {
	case failure.Invalid:
		return 400
	case failure.Unauthenticated:
		return 401
	case failure.Forbidden:
		return 403
	case failure.NotFound:
		return 404
	case failure.Conflict:
		return 409
	case failure.Unavailable:
		return 503
	case failure.Timeout:
		return 504
	}
	return 500
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
