package connector

import (
	"bytes"
	"fmt"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/identifier"
)

// Formats of a connector document.
const (
	FormatJSON = "json"
	FormatYAML = "yaml"
)

// Field names Decode uses for problems that are not about one connector
// field.
const (
	FieldBody     = "body"      // the body as a whole: size, encoding, syntax
	FieldDocument = "connector" // the {"connector": ...} wrapper
)

// Decode reads a connector document, {"connector": {...}}, in JSON or YAML.
//
// mediaType is the request's Content-Type: application/json (or any
// +json type) reads JSON; application/yaml, text/yaml, application/x-yaml,
// text/x-yaml (or +yaml) read YAML; "", text/plain and
// application/octet-stream sniff (a body starting with '{' is JSON, falling
// back to YAML if it does not parse as JSON; anything else is YAML). Other
// media types are refused.
//
// As Harness does (@JsonIgnoreProperties(ignoreUnknown=true)), unknown
// fields are ignored: the UI sends a stray credential.clientId, for one. But
// a value of the wrong JSON type, an unknown credential or auth type
// ("Invalid value: <v>"), a duplicate key, a syntax error, a body over
// MaxDocumentSize (failure.TooLarge), nesting over 32 levels or more than
// 10,000 values are refused, as a *failure.Error whose Fields name each
// problem by its path inside the connector ("spec.credential.type"), or
// "body" / "connector" for problems with the document as a whole.
//
// YAML specifics: aliases, merge keys, custom tags and multi-document
// bodies are refused (so alias bombs cost nothing); plain scalars follow
// YAML 1.2, and an unquoted number or boolean where a string belongs is
// read as written ("0755" stays "0755"); a boolean field also accepts the
// YAML 1.1 spellings yes/no/on/off unquoted, as Harness's reader does.
//
// Decode does not normalise or validate: call Normalize, then Validate.
func Decode(body []byte, mediaType string) (*Connector, error) {
	if len(body) > MaxDocumentSize {
		return nil, &failure.Error{Kind: failure.TooLarge,
			Message: fmt.Sprintf("the connector document is %d bytes; the limit is %d bytes", len(body), MaxDocumentSize)}
	}
	format, err := formatOf(mediaType)
	if err != nil {
		return nil, err
	}
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	if !utf8.Valid(body) {
		return nil, failure.InvalidField(FieldBody, "is not valid UTF-8 text")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, failure.InvalidField(FieldBody, "is empty; send a connector document {\"connector\": {...}}")
	}

	var root *value
	switch format {
	case FormatJSON:
		root, err = parseJSON(body)
	case FormatYAML:
		root, err = parseYAML(body)
	default: // sniff
		format = FormatYAML
		if trimmed := bytes.TrimLeft(body, " \t\r\n"); trimmed[0] == '{' {
			format = FormatJSON
			root, err = parseJSON(body)
			if err != nil && !isLimitError(err) {
				// JSON is a subset of YAML: a flow-style YAML document
				// ({connector: {...}}) also starts with '{'.
				if yroot, yerr := parseYAML(body); yerr == nil {
					root, err, format = yroot, nil, FormatYAML
				}
			}
		} else {
			root, err = parseYAML(body)
		}
	}
	if err != nil {
		return nil, parseFailure(err)
	}
	b := &binder{yaml: format == FormatYAML}
	c := b.document(root)
	if err := b.fs.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// isLimitError reports whether a parse failed on a limit rather than on
// syntax, in which case trying YAML instead is pointless.
func isLimitError(err error) bool {
	pe, ok := err.(*parseError)
	return ok && (strings.HasPrefix(pe.msg, "the document ") || strings.HasPrefix(pe.msg, "duplicate key"))
}

// parseFailure turns a parse error into an Invalid error naming the place.
func parseFailure(err error) error {
	pe, ok := err.(*parseError)
	if !ok {
		return failure.Wrap(failure.Invalid, err, "cannot read the connector document")
	}
	return failure.InvalidField(fieldOf(pe.path), "%s", pe.msg)
}

// fieldOf maps a path in the document to a path in the connector:
// "connector.spec.credential" becomes "spec.credential"; the wrapper itself
// and anything outside it are "connector" and "body".
func fieldOf(path string) string {
	switch {
	case path == "":
		return FieldBody
	case path == FieldDocument:
		return FieldDocument
	case strings.HasPrefix(path, FieldDocument+"."):
		return strings.TrimPrefix(path, FieldDocument+".")
	}
	return FieldBody
}

// formatOf maps a Content-Type to a format; "" means sniff.
func formatOf(mediaType string) (string, error) {
	if strings.TrimSpace(mediaType) == "" {
		return "", nil
	}
	mt, _, err := mime.ParseMediaType(mediaType)
	if err != nil {
		return "", failure.New(failure.Invalid, "invalid media type %q: %v", mediaType, err)
	}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return FormatJSON, nil
	case mt == "application/yaml" || mt == "text/yaml" || mt == "application/x-yaml" || mt == "text/x-yaml" ||
		strings.HasSuffix(mt, "+yaml"):
		return FormatYAML, nil
	case mt == "text/plain" || mt == "application/octet-stream":
		return "", nil
	}
	return "", failure.New(failure.Invalid,
		"unsupported media type %q: send the connector as application/json or application/yaml", mt)
}

// binder builds a Connector from a value tree, recording every problem
// under its field path. Paths are relative to the connector object.
type binder struct {
	fs   failure.Fields
	yaml bool // the tree came from YAML: hint at quoting
}

func (b *binder) add(path, format string, args ...any) {
	if path == "" {
		path = FieldBody
	}
	b.fs.Add(path, format, args...)
}

// wrongType records that v at path is not of the wanted JSON type.
func (b *binder) wrongType(path, want string, v *value) {
	b.add(path, "must be %s, got %s", want, v.describe())
}

// object reports whether v is an object; null and absence are not
// problems (the validator decides what is required), any other type is.
func (b *binder) object(v *value, path string) bool {
	if v == nil || v.kind == kindNull {
		return false
	}
	if v.kind != kindObject {
		b.wrongType(path, "an object", v)
		return false
	}
	return true
}

func (b *binder) str(v *value, path string) string {
	if v == nil {
		return ""
	}
	s, ok := b.text(v)
	if !ok {
		b.wrongType(path, "a string", v)
	}
	return s
}

// text reads a string value; null reads as "". From YAML, an unquoted
// number or boolean written where a string belongs is that string, exactly
// as written ("0755", "1.10", "true"), as Harness's YAML reader coerces it.
func (b *binder) text(v *value) (string, bool) {
	switch {
	case v.kind == kindString:
		return v.str, true
	case v.kind == kindNull:
		return "", true
	case b.yaml && (v.kind == kindNumber || v.kind == kindBool):
		return v.str, true
	}
	return "", false
}

func (b *binder) boolPtr(v *value, path string) *bool {
	if v == nil || v.kind == kindNull {
		return nil
	}
	if b.yaml && v.yamlBool != nil {
		out := *v.yamlBool
		return &out
	}
	if v.kind != kindBool {
		b.wrongType(path, "a boolean (true or false)", v)
		return nil
	}
	out := v.b
	return &out
}

// strList reads an array of strings; null stays nil, [] is an empty list.
func (b *binder) strList(v *value, path string) []string {
	if v == nil || v.kind == kindNull {
		return nil
	}
	if v.kind != kindArray {
		b.wrongType(path, "an array of strings", v)
		return nil
	}
	out := make([]string, 0, len(v.items))
	for i, it := range v.items {
		if s, ok := b.text(it); ok && it.kind != kindNull {
			out = append(out, s)
			continue
		}
		b.wrongType(index(path, i), "a string", it)
	}
	return out
}

// strMap reads an object of strings (tags). A null value is a key-only
// tag, as Harness stores it: "".
func (b *binder) strMap(v *value, path string) map[string]string {
	if !b.object(v, path) {
		return nil
	}
	out := make(map[string]string, len(v.members))
	for _, m := range v.members {
		if s, ok := b.text(m.val); ok {
			out[m.key] = s
			continue
		}
		b.wrongType(identifier.TagPath(path, m.key), "a string", m.val)
	}
	return out
}

// document reads {"connector": {...}}.
func (b *binder) document(root *value) *Connector {
	if root.kind != kindObject {
		b.add(FieldBody, "must be a connector document {\"connector\": {...}}, got %s", root.describe())
		return nil
	}
	v := root.get(FieldDocument)
	if v == nil || v.kind == kindNull {
		b.add(FieldDocument, "must not be null: the body must be a connector document {\"connector\": {...}}")
		return nil
	}
	if !b.object(v, FieldDocument) {
		return nil
	}
	return b.connector(v, "")
}

func (b *binder) connector(v *value, path string) *Connector {
	c := &Connector{
		Name:              b.str(v.get("name"), join(path, "name")),
		Identifier:        b.str(v.get("identifier"), join(path, "identifier")),
		Description:       b.str(v.get("description"), join(path, "description")),
		AccountIdentifier: b.str(v.get("accountIdentifier"), join(path, "accountIdentifier")),
		OrgIdentifier:     b.str(v.get("orgIdentifier"), join(path, "orgIdentifier")),
		ProjectIdentifier: b.str(v.get("projectIdentifier"), join(path, "projectIdentifier")),
		Tags:              b.strMap(v.get("tags"), join(path, "tags")),
		Type:              b.str(v.get("type"), join(path, "type")),
	}
	// The spec's shape follows the type (Jackson EXTERNAL_PROPERTY). Only
	// Azure's is known; Validate refuses other types, so their spec is not
	// read. A missing type still reads the spec, to report all problems.
	if t := strings.TrimSpace(c.Type); t == "" || strings.EqualFold(t, TypeAzure) {
		c.Spec = b.spec(v.get("spec"), join(path, "spec"))
	}
	return c
}

func (b *binder) spec(v *value, path string) *AzureSpec {
	if !b.object(v, path) {
		return nil
	}
	return &AzureSpec{
		Credential:           b.credential(v.get("credential"), join(path, "credential")),
		DelegateSelectors:    b.strList(v.get("delegateSelectors"), join(path, "delegateSelectors")),
		AzureEnvironmentType: b.str(v.get("azureEnvironmentType"), join(path, "azureEnvironmentType")),
		ExecuteOnDelegate:    b.boolPtr(v.get("executeOnDelegate"), join(path, "executeOnDelegate")),
	}
}

var (
	credentialTypes      = []string{CredentialManual, CredentialInherit, CredentialOIDC}
	manualAuthTypes      = []string{AuthSecret, AuthCertificate}
	managedIdentityTypes = []string{ManagedIdentitySystem, ManagedIdentityUser}
)

// invalidValue is Harness's "Invalid value: <v>" with what is allowed, and a
// hint when only the case is wrong.
func invalidValue(v string, allowed []string) string {
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimSpace(v), a) {
			return fmt.Sprintf("Invalid value: %s; did you mean %s?", v, a)
		}
	}
	return fmt.Sprintf("Invalid value: %s; allowed: %s", v, strings.Join(allowed, ", "))
}

func (b *binder) credential(v *value, path string) *Credential {
	if !b.object(v, path) {
		return nil
	}
	c := &Credential{Type: b.str(v.get("type"), join(path, "type"))}
	spec, specPath := v.get("spec"), join(path, "spec")
	switch strings.TrimSpace(c.Type) {
	case CredentialManual:
		c.Manual = b.manual(spec, specPath)
	case CredentialInherit:
		c.Inherit = b.inherit(spec, specPath)
	case CredentialOIDC:
		c.OIDC = b.oidc(spec, specPath)
	case "":
	default:
		b.add(join(path, "type"), "%s", invalidValue(c.Type, credentialTypes))
	}
	return c
}

func (b *binder) manual(v *value, path string) *ManualSpec {
	if !b.object(v, path) {
		return nil
	}
	return &ManualSpec{
		ApplicationID: b.str(v.get("applicationId"), join(path, "applicationId")),
		TenantID:      b.str(v.get("tenantId"), join(path, "tenantId")),
		Auth:          b.manualAuth(v.get("auth"), join(path, "auth")),
	}
}

func (b *binder) manualAuth(v *value, path string) *ManualAuth {
	if !b.object(v, path) {
		return nil
	}
	a := &ManualAuth{Type: b.str(v.get("type"), join(path, "type"))}
	spec, specPath := v.get("spec"), join(path, "spec")
	switch strings.TrimSpace(a.Type) {
	case AuthSecret:
		if b.object(spec, specPath) {
			a.SecretRef = b.str(spec.get("secretRef"), join(specPath, "secretRef"))
		}
	case AuthCertificate:
		if b.object(spec, specPath) {
			a.CertificateRef = b.str(spec.get("certificateRef"), join(specPath, "certificateRef"))
		}
	case "":
	default:
		b.add(join(path, "type"), "%s", invalidValue(a.Type, manualAuthTypes))
	}
	return a
}

func (b *binder) inherit(v *value, path string) *InheritSpec {
	if !b.object(v, path) {
		return nil
	}
	return &InheritSpec{Auth: b.managedIdentity(v.get("auth"), join(path, "auth"))}
}

func (b *binder) managedIdentity(v *value, path string) *ManagedIdentityAuth {
	if !b.object(v, path) {
		return nil
	}
	a := &ManagedIdentityAuth{Type: b.str(v.get("type"), join(path, "type"))}
	spec, specPath := v.get("spec"), join(path, "spec")
	switch strings.TrimSpace(a.Type) {
	case ManagedIdentityUser:
		if b.object(spec, specPath) {
			a.ClientID = b.str(spec.get("clientId"), join(specPath, "clientId"))
		}
	case ManagedIdentitySystem:
		// No spec: whatever is there is ignored, as Harness ignores it.
	case "":
	default:
		b.add(join(path, "type"), "%s", invalidValue(a.Type, managedIdentityTypes))
	}
	return a
}

func (b *binder) oidc(v *value, path string) *OIDCSpec {
	if !b.object(v, path) {
		return nil
	}
	return &OIDCSpec{
		ApplicationID: b.str(v.get("applicationId"), join(path, "applicationId")),
		TenantID:      b.str(v.get("tenantId"), join(path, "tenantId")),
		Audience:      b.str(v.get("audience"), join(path, "audience")),
	}
}
