package azure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/failure"
)

// Reason is the stable, machine-readable cause of an Azure failure. It is
// what crosses the wire (failure.Error.Code, task.Error.Reason) and what
// the UI and scripts switch on; the message and hint are for people.
type Reason string

// The reasons. Never rename one: stored results and scripts refer to them.
const (
	// Credentials as configured.
	ReasonCredentialTypeNotSupported Reason = "CredentialTypeNotSupported" // OidcAuthentication (not yet)
	ReasonInheritFromDelegate        Reason = "InheritFromDelegateNotSupported"
	ReasonConnectorInvalid           Reason = "ConnectorInvalid"
	ReasonSecretMissing              Reason = "SecretMissing"
	ReasonCertificateFormat          Reason = "CertificateFormat"
	ReasonCertificateExpired         Reason = "CertificateExpired"
	ReasonCertificateNotYetValid     Reason = "CertificateNotYetValid"
	ReasonCertificateExpiresSoon     Reason = "CertificateExpiresSoon" // a warning, not a failure

	// Entra ID's answers (AADSTS codes).
	ReasonClientSecretExpired      Reason = "ClientSecretExpired"         // 7000222
	ReasonClientSecretInvalid      Reason = "ClientSecretInvalid"         // 7000215
	ReasonClientSecretIsSecretID   Reason = "ClientSecretIsSecretID"      // 7000215 with a GUID-shaped secret
	ReasonApplicationNotFound      Reason = "ApplicationNotFound"         // 700016
	ReasonTenantNotFound           Reason = "TenantNotFound"              // 90002, 900023
	ReasonCertificateNotRegistered Reason = "CertificateNotRegistered"    // 700027
	ReasonClockSkew                Reason = "ClockSkew"                   // 700024
	ReasonFederatedMismatch        Reason = "FederatedCredentialMismatch" // 70021, 700211-700213
	ReasonAuthenticationFailed     Reason = "AuthenticationFailed"        // any other AADSTS code

	// Managed identity.
	ReasonManagedIdentityNotAssigned Reason = "ManagedIdentityNotAssigned"
	ReasonManagedIdentityUnavailable Reason = "ManagedIdentityUnavailable"
	ReasonManagedIdentityFailed      Reason = "ManagedIdentityFailed"

	// Azure Resource Manager's answers.
	ReasonAuthorizationFailed   Reason = "AuthorizationFailed"
	ReasonTokenRejected         Reason = "TokenRejected"
	ReasonSubscriptionNotFound  Reason = "SubscriptionNotFound"
	ReasonNotFound              Reason = "ResourceNotFound"
	ReasonProviderNotRegistered Reason = "ProviderNotRegistered"
	ReasonNoSubscriptions       Reason = "NoSubscriptions"
	ReasonThrottled             Reason = "Throttled"
	ReasonServiceUnavailable    Reason = "ServiceUnavailable"
	ReasonAzureError            Reason = "AzureError"

	// The network.
	ReasonCloudUnreachable Reason = "CloudUnreachable"
	ReasonTLSFailure       Reason = "TLSFailure"
	ReasonTimeout          Reason = "Timeout"
	ReasonCanceled         Reason = "Canceled"

	ReasonUnknown Reason = "Unknown"
)

// Error is a classified Azure failure: a stable reason, a message saying
// exactly what is wrong, and a hint saying what to do. It never holds a
// secret value. errors.As finds a *failure.Error view of it (kind, code =
// reason, hint), and the original error stays in the chain.
type Error struct {
	Reason  Reason
	Kind    failure.Kind
	Message string
	Hint    string
	// Host is the host that failed or answered, when known.
	Host string
	// Status is the HTTP status Azure answered (0 for transport failures).
	Status int
	// AADSTS is Entra ID's error code, when Entra answered.
	AADSTS int
	// Code is ARM's error code (AuthorizationFailed, SubscriptionNotFound...).
	Code string
	// Action and Scope name what an AuthorizationFailed refused.
	Action, Scope string

	cause error
	why   string // for transport failures: the short cause ("the connection was refused")
}

func newError(r Reason, k failure.Kind, msg, hint string) *Error {
	return &Error{Reason: r, Kind: k, Message: msg, Hint: hint}
}

func (e *Error) Error() string { return e.Message }

// Unwrap exposes the failure view and the cause.
func (e *Error) Unwrap() []error {
	out := []error{e.Failure()}
	if e.cause != nil {
		out = append(out, e.cause)
	}
	return out
}

// Failure is the error as internal/failure carries it: kind, the reason
// as code, message and hint.
func (e *Error) Failure() *failure.Error {
	return &failure.Error{Kind: e.Kind, Code: string(e.Reason), Message: e.Message, Hint: e.Hint}
}

// AsError returns the *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Warning is something that works now but will not for long.
type Warning struct {
	Reason  Reason `json:"reason"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// credInfo is what classification knows of the credential in use, to name
// the application, tenant, secret and cloud in messages. It holds no
// secret value.
type credInfo struct {
	kind         Kind
	cloud        cloud.Name
	authority    string // Entra host
	armHost      string // ARM host
	tenantID     string
	clientID     string // application id or managed identity client id
	secretRef    string // the connector's secret reference, for hints
	secretIsGUID bool
	thumbprint   string
	miEndpoint   string // the managed identity endpoint's host
}

// Classify turns any error of an Azure call into an *Error. Errors that
// are already classified are returned as they are.
func Classify(err error) *Error { return classify(err, nil) }

func classify(err error, ci *credInfo) *Error {
	if err == nil {
		return nil
	}
	if e, ok := AsError(err); ok {
		return e
	}
	if ci == nil {
		ci = &credInfo{}
	}
	out := classifyAnswer(err, ci)
	if out == nil {
		out = classifyTransport(err, ci)
	}
	if out == nil {
		out = newError(ReasonUnknown, failure.Internal, "Azure call failed: "+oneLine(err.Error()), "")
	}
	out.cause = err
	return out
}

// classifyAnswer handles failures where Entra ID, a managed identity
// endpoint or ARM answered.
func classifyAnswer(err error, ci *credInfo) *Error {
	var te *tokenError
	isToken := errors.As(err, &te)
	if ci.kind.managed() && isToken {
		if e := classifyManagedIdentity(err, te, ci); e != nil {
			return e
		}
	}
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) && afe.RawResponse != nil {
		if e := classifyEntra(afe.RawResponse, ci); e != nil {
			return e
		}
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return classifyARM(re)
	}
	var me *miError
	if errors.As(err, &me) {
		return classifyManagedIdentityStatus(me.status, me.message, me.host, ci)
	}
	return nil
}

// entraBody is Entra ID's error response.
type entraBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d+)`)

func classifyEntra(resp *http.Response, ci *credInfo) *Error {
	body, err := runtime.Payload(resp)
	if err != nil {
		return nil
	}
	var eb entraBody
	if json.Unmarshal(body, &eb) != nil || (eb.Error == "" && len(eb.Codes) == 0) {
		return nil
	}
	code := 0
	if len(eb.Codes) > 0 {
		code = eb.Codes[0]
	} else if m := aadstsRE.FindStringSubmatch(eb.Description); m != nil {
		code, _ = strconv.Atoi(m[1])
	}
	host := ci.authority
	if resp.Request != nil {
		host = resp.Request.URL.Host
	}
	e := entraError(code, resp.StatusCode, eb, ci)
	e.Host, e.Status, e.AADSTS = host, resp.StatusCode, code
	return e
}

// entraSummary is Entra's own description without its trace lines.
var aadstsPrefixRE = regexp.MustCompile(`^AADSTS\d+:\s*`)

func entraSummary(eb entraBody) string {
	d := aadstsPrefixRE.ReplaceAllString(eb.Description, "")
	if i := strings.Index(d, "\r\n"); i >= 0 {
		d = d[:i]
	} else if i := strings.Index(d, "\n"); i >= 0 {
		d = d[:i]
	}
	return strings.TrimSpace(d)
}

func entraError(code, status int, eb entraBody, ci *credInfo) *Error {
	app, tenant := orUnknown(ci.clientID), orUnknown(ci.tenantID)
	secret := "the connector's client secret"
	if ci.secretRef != "" {
		secret = fmt.Sprintf("the client secret in secret %q", ci.secretRef)
	}
	updateSecret := "update the connector's secret with the new value"
	if ci.secretRef != "" {
		updateSecret = fmt.Sprintf("update secret %q with the new value", ci.secretRef)
	}
	newSecret := fmt.Sprintf("az ad app credential reset --id %s --append --display-name azimuth --years 1", app)
	switch code {
	case 7000222:
		return newError(ReasonClientSecretExpired, failure.Invalid,
			fmt.Sprintf("The client secret of application %s has expired (Entra ID AADSTS7000222): %s no longer signs in.", app, secret),
			fmt.Sprintf("Create a new client secret for application %s — Azure portal: Microsoft Entra ID > App registrations > %s > Certificates & secrets > New client secret, or: %s (its \"password\" is the new value) — then %s. Consider a certificate, or a delegate's managed identity, to stop secrets expiring.",
				app, app, newSecret, updateSecret))
	case 7000215:
		if ci.secretIsGUID {
			return newError(ReasonClientSecretIsSecretID, failure.Invalid,
				fmt.Sprintf("Entra ID refused the client secret of application %s (AADSTS7000215), and %s has the shape of a GUID: it is most likely the secret's ID (the \"Secret ID\" column), not its value.", app, secret),
				fmt.Sprintf("A client secret's value is shown only once, when it is created, in the \"Value\" column (about 40 characters, not a GUID). Create a new one (%s, or the portal's Certificates & secrets > New client secret) and %s.", newSecret, updateSecret))
		}
		return newError(ReasonClientSecretInvalid, failure.Invalid,
			fmt.Sprintf("Entra ID refused the client secret of application %s in tenant %s (AADSTS7000215): %s is not a current secret of this application.", app, tenant, secret),
			fmt.Sprintf("Check that the secret belongs to application %s (not another app registration) and that it is the secret's Value, not its Secret ID; or create a new one (%s) and %s.", app, newSecret, updateSecret))
	case 700016:
		return newError(ReasonApplicationNotFound, failure.Invalid,
			fmt.Sprintf("Application %s was not found in tenant %s (Entra ID AADSTS700016).", app, tenant),
			fmt.Sprintf("Check applicationId: it is the app registration's \"Application (client) ID\", not its object ID; and check that the app is registered in tenant %s (az ad sp show --id %s --query appOwnerOrganizationId) — a multi-tenant app must also be consented to in this tenant.", tenant, app))
	case 90002:
		return newError(ReasonTenantNotFound, failure.Invalid,
			fmt.Sprintf("Tenant %s was not found in cloud %s (Entra ID AADSTS90002).", tenant, orUnknown(string(ci.cloud))),
			fmt.Sprintf("Check tenantId: it is the \"Directory (tenant) ID\" (az account show --query tenantId) or a verified domain such as contoso.onmicrosoft.com; and check the connector's azureEnvironmentType (now %s): a tenant exists in one cloud only.", orUnknown(string(ci.cloud))))
	case 900023:
		return newError(ReasonTenantNotFound, failure.Invalid,
			fmt.Sprintf("Tenant %q is neither a tenant ID (a GUID) nor a domain name (Entra ID AADSTS900023).", ci.tenantID),
			"Set tenantId to the \"Directory (tenant) ID\" shown on the app registration's overview page (az account show --query tenantId).")
	case 700027:
		thumb := ""
		if ci.thumbprint != "" {
			thumb = " (thumbprint " + ci.thumbprint + ")"
		}
		return newError(ReasonCertificateNotRegistered, failure.Invalid,
			fmt.Sprintf("The connector's certificate%s is not registered on application %s (Entra ID AADSTS700027).", thumb, app),
			fmt.Sprintf("Upload the certificate (its public part only) to the app registration: Certificates & secrets > Certificates > Upload, or: az ad app credential reset --id %s --cert @cert.pem --append; or put the key of a certificate that is registered into the connector's secret.", app))
	case 700024:
		return newError(ReasonClockSkew, failure.Invalid,
			"Entra ID refused the client assertion as outside its valid time window (AADSTS700024): the clock of the machine running Azimuth is probably wrong.",
			"Compare this machine's clock with a time source (date -u) and keep it synchronised with NTP (timedatectl set-ntp true); the server and every delegate need a correct clock.")
	case 70021, 700211, 700212, 700213:
		return newError(ReasonFederatedMismatch, failure.Invalid,
			fmt.Sprintf("No federated credential of application %s matches the presented token (Entra ID AADSTS%d): %s", app, code, entraSummary(eb)),
			fmt.Sprintf("Compare the issuer, subject and audience of the federated credentials of %s (az ad app federated-credential list --id %s) with the token Azimuth presents.", app, app))
	}
	switch {
	case status == http.StatusTooManyRequests:
		return newError(ReasonThrottled, failure.Unavailable,
			"Entra ID is throttling token requests for application "+app+" and the retries ran out.",
			"Wait a minute and try again; if it persists, look for other systems using the same application heavily.")
	case status >= 500:
		return newError(ReasonServiceUnavailable, failure.Unavailable,
			fmt.Sprintf("Entra ID answered %d to the token request: %s", status, entraSummary(eb)),
			"This is on Azure's side; try again shortly and check https://status.azure.com.")
	}
	msg := entraSummary(eb)
	if msg == "" {
		msg = eb.Error
	}
	return newError(ReasonAuthenticationFailed, failure.Invalid,
		fmt.Sprintf("Entra ID refused to authenticate application %s in tenant %s: %s", app, tenant, msg),
		fmt.Sprintf("Look the code up at https://login.microsoftonline.com/error?code=%d and check the connector's applicationId, tenantId and credential.", codeOr(eb)))
}

func codeOr(eb entraBody) int {
	if len(eb.Codes) > 0 {
		return eb.Codes[0]
	}
	return 0
}

// classifyManagedIdentity handles token failures of a managed identity.
func classifyManagedIdentity(err error, te *tokenError, ci *credInfo) *Error {
	if te.transport != nil {
		e := classifyTransport(te.transport, ci)
		host := te.endpoint
		if host == "" {
			host = ci.miEndpoint
		}
		detail := ""
		if e != nil && e.why != "" {
			detail = ": " + e.why
		}
		return &Error{Reason: ReasonManagedIdentityUnavailable, Kind: failure.Unavailable, Host: host,
			Message: fmt.Sprintf("No managed identity endpoint answered at %s%s. This process does not run on an Azure host with a managed identity.", host, detail),
			Hint:    "InheritFromDelegate connectors use the managed identity of the machine the delegate runs on: run the delegate on an Azure VM, scale set, AKS node or App Service with a system- or user-assigned identity enabled, and select it with the connector's delegateSelectors."}
	}
	var me *miError
	if errors.As(err, &me) {
		return classifyManagedIdentityStatus(me.status, me.message, me.host, ci)
	}
	return nil
}

func classifyManagedIdentityStatus(status int, detail, host string, ci *credInfo) *Error {
	if host == "" {
		host = ci.miEndpoint
	}
	switch {
	case status == http.StatusBadRequest && ci.kind == KindUserAssignedIdentity:
		return &Error{Reason: ReasonManagedIdentityNotAssigned, Kind: failure.Invalid, Host: host, Status: status,
			Message: fmt.Sprintf("The user-assigned managed identity with client ID %s is not assigned to the host this delegate runs on (the managed identity endpoint %s refused it).", ci.clientID, host),
			Hint:    fmt.Sprintf("Assign the identity to the delegate's host (az vm identity assign --identities <identity resource ID> -g <group> -n <vm>, or az webapp identity assign for App Service), or set the connector's clientId to an identity the host has; check with: az identity list --query \"[?clientId=='%s']\".", ci.clientID)}
	case status == http.StatusBadRequest:
		return &Error{Reason: ReasonManagedIdentityNotAssigned, Kind: failure.Invalid, Host: host, Status: status,
			Message: fmt.Sprintf("The host this delegate runs on has no system-assigned managed identity (the managed identity endpoint %s refused the request).", host),
			Hint:    "Enable the host's system-assigned identity (az vm identity assign -g <group> -n <vm>, or az webapp identity assign), or use a UserAssignedManagedIdentity connector with the client ID of an identity the host has."}
	case status == http.StatusTooManyRequests:
		return &Error{Reason: ReasonThrottled, Kind: failure.Unavailable, Host: host, Status: status,
			Message: "The managed identity endpoint " + host + " is throttling token requests and the retries ran out.",
			Hint:    "Wait a minute and try again."}
	}
	msg := fmt.Sprintf("The managed identity endpoint %s answered %d to the token request", host, status)
	if detail != "" {
		msg += ": " + detail
	}
	return &Error{Reason: ReasonManagedIdentityFailed, Kind: failure.Unavailable, Host: host, Status: status,
		Message: msg + ".", Hint: "Check the identity configuration of the delegate's host and try again."}
}

var authzRE = regexp.MustCompile(`perform action '([^']+)' over scope '([^']+)'`)

func classifyARM(re *azcore.ResponseError) *Error {
	host := ""
	if re.RawResponse != nil && re.RawResponse.Request != nil {
		host = re.RawResponse.Request.URL.Host
	}
	msg := armMessage(re)
	e := &Error{Host: host, Status: re.StatusCode, Code: re.ErrorCode}
	switch {
	case re.ErrorCode == "AuthorizationFailed" || re.StatusCode == http.StatusForbidden:
		e.Reason, e.Kind = ReasonAuthorizationFailed, failure.Forbidden
		if m := authzRE.FindStringSubmatch(msg); m != nil {
			e.Action, e.Scope = m[1], m[2]
			e.Message = fmt.Sprintf("The connector's identity may not perform %s on %s (AuthorizationFailed).", e.Action, e.Scope)
			role := "a role that includes this action"
			if strings.HasSuffix(strings.ToLower(e.Action), "/read") {
				role = "Reader (or any role that includes this action)"
			}
			e.Hint = fmt.Sprintf("Assign the identity %s at %s or above: az role assignment create --assignee <application or identity client ID> --role Reader --scope %s. Role assignments can take a few minutes to apply.", role, e.Scope, e.Scope)
		} else {
			e.Message = "Azure refused the operation (" + orUnknown(re.ErrorCode) + "): " + msg
			e.Hint = "Give the connector's identity a role that allows this operation at the resource's scope."
		}
	case re.StatusCode == http.StatusUnauthorized:
		e.Reason, e.Kind = ReasonTokenRejected, failure.Invalid
		e.Message = "Azure Resource Manager rejected the access token (" + orUnknown(re.ErrorCode) + "): " + msg
		e.Hint = "Check that the connector's azureEnvironmentType is the cloud of the subscription, and that the subscription belongs to the connector's tenant."
	case re.ErrorCode == "SubscriptionNotFound":
		e.Reason, e.Kind = ReasonSubscriptionNotFound, failure.NotFound
		e.Message = msg
		e.Hint = "Check the subscription ID, that it belongs to the connector's tenant and cloud, and that the identity holds a role on it (az account list --all)."
	case re.StatusCode == http.StatusNotFound:
		e.Reason, e.Kind = ReasonNotFound, failure.NotFound
		e.Message = msg
		e.Hint = "Check the names of the subscription, resource group and resource."
	case re.ErrorCode == "MissingSubscriptionRegistration":
		e.Reason, e.Kind = ReasonProviderNotRegistered, failure.Invalid
		e.Message = msg
		e.Hint = "Register the resource provider in the subscription: az provider register --namespace <namespace> --subscription <subscription>."
	case re.StatusCode == http.StatusTooManyRequests:
		e.Reason, e.Kind = ReasonThrottled, failure.Unavailable
		e.Message = "Azure Resource Manager is throttling requests (429) and the retries ran out: " + msg
		e.Hint = "Wait for the throttling window to pass (ARM refills its request budget every second) and reduce concurrent operations on this subscription."
	case re.StatusCode >= 500:
		e.Reason, e.Kind = ReasonServiceUnavailable, failure.Unavailable
		e.Message = fmt.Sprintf("Azure answered %d (%s) and the retries ran out: %s", re.StatusCode, orUnknown(re.ErrorCode), msg)
		e.Hint = "This is on Azure's side; try again shortly and check https://status.azure.com."
	default:
		e.Reason, e.Kind = ReasonAzureError, failure.Invalid
		e.Message = fmt.Sprintf("Azure refused the request (%d %s): %s", re.StatusCode, orUnknown(re.ErrorCode), msg)
		e.Hint = "See Azure's message above."
	}
	return e
}

// armMessage is error.message of ARM's error body, or the status.
func armMessage(re *azcore.ResponseError) string {
	if re.RawResponse != nil {
		if b, err := runtime.Payload(re.RawResponse); err == nil {
			var body struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if json.Unmarshal(b, &body) == nil && body.Error.Message != "" {
				return body.Error.Message
			}
		}
	}
	return http.StatusText(re.StatusCode)
}

// classifyTransport handles failures where nothing answered: TLS, DNS,
// refused connections, timeouts, cancellation.
func classifyTransport(err error, ci *credInfo) *Error {
	host := failedHost(err)
	where := describeHost(host, ci)
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		recHdr    tls.RecordHeaderError
		alert     tls.AlertError
		dnsErr    *net.DNSError
		opErr     *net.OpError
		netErr    net.Error
	)
	tlsFail := func(why, hint string) *Error {
		return &Error{Reason: ReasonTLSFailure, Kind: failure.Unavailable, Host: host, why: "TLS failed: " + why,
			Message: fmt.Sprintf("The TLS connection to %s failed: %s.", where, why), Hint: hint}
	}
	const proxyHint = "If a TLS-inspecting proxy sits between this machine and Azure, add its CA certificate to the system trust store of the server or delegate."
	switch {
	case errors.As(err, &unknownCA):
		return tlsFail("its certificate is signed by an unknown authority", proxyHint)
	case errors.As(err, &hostErr):
		return tlsFail("its certificate is not valid for this host name", proxyHint)
	case errors.As(err, &invalid):
		why := "its certificate is not valid"
		if invalid.Reason == x509.Expired {
			why = "its certificate has expired or is not yet valid (check this machine's clock: date -u)"
		}
		return tlsFail(why, proxyHint)
	case errors.As(err, &verify):
		return tlsFail("its certificate could not be verified", proxyHint)
	case errors.As(err, &recHdr):
		return tlsFail("it did not answer with TLS (is it a plain-HTTP endpoint or a proxy?)", "Check the endpoint and any proxy settings (HTTPS_PROXY, NO_PROXY).")
	case errors.As(err, &alert):
		return tlsFail("the server ended the handshake ("+alert.Error()+")", proxyHint)
	case errors.Is(err, context.Canceled):
		return &Error{Reason: ReasonCanceled, Kind: failure.Canceled, Host: host, why: "the call was canceled",
			Message: "The call to " + where + " was canceled."}
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return &Error{Reason: ReasonTimeout, Kind: failure.Timeout, Host: host, why: "it did not answer in time",
			Message: fmt.Sprintf("%s did not answer in time.", upperFirst(where)),
			Hint:    "Check that this machine can reach " + orUnknown(host) + " (firewall, proxy, private endpoint) and try again; Azure may also be slow at the moment."}
	case errors.As(err, &dnsErr):
		name := dnsErr.Name
		if name == "" {
			name = host
		}
		return &Error{Reason: ReasonCloudUnreachable, Kind: failure.Unavailable, Host: orDefault(host, name), why: "the name " + name + " does not resolve (DNS)",
			Message: fmt.Sprintf("Cannot reach %s: the name %s does not resolve (DNS).", describeHost(orDefault(host, name), ci), name),
			Hint:    "Check this machine's DNS and proxy settings, and that the connector's azureEnvironmentType names the right cloud."}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &Error{Reason: ReasonCloudUnreachable, Kind: failure.Unavailable, Host: host, why: "the connection was refused",
			Message: fmt.Sprintf("Cannot reach %s: the connection was refused.", where),
			Hint:    "Check firewall and proxy settings (HTTPS_PROXY, NO_PROXY) on the machine running Azimuth."}
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) || errors.As(err, &opErr):
		return &Error{Reason: ReasonCloudUnreachable, Kind: failure.Unavailable, Host: host, why: "the network connection failed",
			Message: fmt.Sprintf("Cannot reach %s: the network connection failed.", where),
			Hint:    "Check routing, firewall and proxy settings on the machine running Azimuth."}
	}
	var te *tokenWaitError
	if errors.As(err, &te) {
		return &Error{Reason: ReasonTimeout, Kind: failure.Timeout, Host: te.endpoint,
			Message: upperFirst(describeHost(te.endpoint, ci)) + " did not issue a token in time.",
			Hint:    "Check that this machine can reach " + te.endpoint + " and try again."}
	}
	return nil
}

// failedHost finds the host a failed call addressed.
func failedHost(err error) string {
	var te *tokenError
	if errors.As(err, &te) && te.endpoint != "" {
		return te.endpoint
	}
	var we *tokenWaitError
	if errors.As(err, &we) {
		return we.endpoint
	}
	var ce *callError
	if errors.As(err, &ce) && ce.host != "" {
		return ce.host
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			return u.Host
		}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.Name != "" {
		return dnsErr.Name
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Addr != nil {
		return opErr.Addr.String()
	}
	return ""
}

// describeHost names a host by its role when it is one the credential
// uses: "Entra ID (login.microsoftonline.com)".
func describeHost(host string, ci *credInfo) string {
	switch {
	case host == "":
		return "the Azure endpoint"
	case ci != nil && strings.EqualFold(host, ci.authority):
		return "Entra ID (" + host + ")"
	case ci != nil && strings.EqualFold(host, ci.armHost):
		return "Azure Resource Manager (" + host + ")"
	case ci != nil && ci.miEndpoint != "" && strings.EqualFold(host, ci.miEndpoint):
		return "the managed identity endpoint (" + host + ")"
	}
	return host
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func orUnknown(s string) string { return orDefault(s, "(unknown)") }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func oneLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}
