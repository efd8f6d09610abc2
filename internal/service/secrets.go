package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/store"
)

// Secret types and the one secret manager Azimuth has.
const (
	SecretText           = connector.SecretText
	SecretFile           = connector.SecretFile
	HarnessSecretManager = "harnessSecretManager"
	ValueInline          = "Inline"
	ValueReference       = "Reference"
	// MaxSecretSize caps a secret's value (text or file).
	MaxSecretSize = 1 << 20
)

// Secrets manages text and file secrets. Values are write-only: nothing
// here returns one, except Resolve, which tasks use.
type Secrets struct{ *base }

// SecretInput is a secret create or update.
type SecretInput struct {
	Type              string
	Identifier        string
	Name              string
	Description       string
	OrgIdentifier     string // from the body; must agree with the query
	ProjectIdentifier string
	Tags              map[string]string
	SecretManager     string
	ValueType         string // text secrets: Inline
	// Value is the text secret's value or the file's content. Required on
	// create; on update nil keeps the stored value.
	Value *secret.Value
}

var (
	opSecretCreate  = op{"secret.create", "secret"}
	opSecretUpdate  = op{"secret.update", "secret"}
	opSecretDelete  = op{"secret.delete", "secret"}
	opSecretRead    = op{"secret.read", "secret"}
	opSecretResolve = op{"secret.resolve", "secret"}
)

func secretNotFound(id string) error {
	return failure.New(failure.NotFound, "Secret with identifier [%s] is not found in the given scope", id).WithCode("RESOURCE_NOT_FOUND_EXCEPTION")
}

// bodyScope checks that the body's org and project agree with the query's
// scope (Harness: "scope in payload and params do not match").
func bodyScope(query scope.Scope, org, project string) error {
	org, project = strings.TrimSpace(org), strings.TrimSpace(project)
	if (org != "" || project != "") && (org != query.Org || project != query.Project) {
		return scopeMismatch()
	}
	return nil
}

func (in *SecretInput) validate(creating bool, wantType string) error {
	in.Identifier, in.Name = strings.TrimSpace(in.Identifier), strings.TrimSpace(in.Name)
	in.Tags = normTags(in.Tags)
	var fs failure.Fields
	checkIdentifier(&fs, "secret.identifier", in.Identifier, true)
	checkName(&fs, "secret.name", in.Name)
	checkDescription(&fs, "secret.description", in.Description)
	checkTags(&fs, "secret.tags", in.Tags)
	switch in.Type {
	case "":
		fs.Add("secret.type", "cannot be null; use SecretText or SecretFile.")
	case SecretText, SecretFile:
		if wantType != "" && in.Type != wantType {
			if wantType == SecretFile {
				fs.Add("secret.type", "must be SecretFile on /v2/secrets/files; send text secrets to /ng/api/v2/secrets.")
			} else {
				fs.Add("secret.type", "must be SecretText here; send file secrets as multipart to /ng/api/v2/secrets/files.")
			}
		}
	case "SSHKey", "WinRmCredentials":
		fs.Add("secret.type", "%s secrets are not supported by Azimuth; use SecretText or SecretFile.", in.Type)
	default:
		fs.Add("secret.type", "Invalid value: %s (allowed: SecretText, SecretFile).", in.Type)
	}
	if in.SecretManager == "" {
		in.SecretManager = HarnessSecretManager
	}
	if in.SecretManager != HarnessSecretManager && in.SecretManager != "account."+HarnessSecretManager &&
		in.SecretManager != "org."+HarnessSecretManager {
		fs.Add("secret.spec.secretManagerIdentifier", "secret manager %q is not available: Azimuth keeps secrets in its built-in secret manager, %s.", in.SecretManager, HarnessSecretManager)
	}
	in.SecretManager = HarnessSecretManager
	if in.Type == SecretText {
		switch in.ValueType {
		case "", ValueInline:
			in.ValueType = ValueInline
		case ValueReference:
			fs.Add("secret.spec.valueType", "Reference values live in an external secret manager, which Azimuth does not have; use Inline.")
		default:
			fs.Add("secret.spec.valueType", "Invalid value: %s (allowed: Inline).", in.ValueType)
		}
		if creating && (in.Value == nil || in.Value.Len() == 0) {
			fs.Add("secret.spec.value", "cannot be empty for an Inline text secret.")
		}
		if in.Value != nil && in.Value.Len() == 0 && !creating {
			fs.Add("secret.spec.value", "cannot be empty; omit it to keep the current value.")
		}
	} else {
		in.ValueType = ""
		if creating && (in.Value == nil || in.Value.Len() == 0) {
			fs.Add("file", "is required: send the secret file's content in the multipart part named \"file\".")
		}
	}
	if in.Value != nil && in.Value.Len() > MaxSecretSize {
		fs.Add("secret.spec.value", "is %d bytes; secrets are limited to %d bytes.", in.Value.Len(), MaxSecretSize)
	}
	return fs.Err()
}

// Create stores a new secret at sc. wantType is SecretText for the JSON
// endpoint and SecretFile for the multipart one.
func (s *Secrets) Create(ctx context.Context, p access.Principal, sc scope.Scope, wantType string, in SecretInput) (store.Secret, error) {
	if err := sc.Validate(); err != nil {
		return store.Secret{}, err
	}
	if err := s.authorize(ctx, p, sc, access.Edit, opSecretCreate, in.Identifier, scopeNotFoundFor(sc)); err != nil {
		return store.Secret{}, err
	}
	if err := bodyScope(sc, in.OrgIdentifier, in.ProjectIdentifier); err != nil {
		return store.Secret{}, err
	}
	if err := in.validate(true, wantType); err != nil {
		return store.Secret{}, err
	}
	now := s.now()
	x := store.Secret{Scope: sc, Identifier: in.Identifier, Name: in.Name, Description: in.Description, Tags: in.Tags,
		Type: in.Type, SecretManager: in.SecretManager, ValueType: in.ValueType, CreatedAt: now, UpdatedAt: now}
	var err error
	if x.Ciphertext, x.KeyID, err = s.kr.Encrypt(*in.Value, secret.AAD(sc, x.Identifier, secret.ValueField)); err != nil {
		return x, fmt.Errorf("encrypt secret: %w", err)
	}
	err = s.audited(ctx, p, opSecretCreate, sc, x.Identifier, x.Type, func(ctx context.Context) error {
		if err := s.checkScope(ctx, sc); err != nil {
			return err
		}
		return s.st.CreateSecret(ctx, &x)
	})
	if errors.Is(err, store.ErrDuplicate) {
		return x, failure.New(failure.Conflict, "Secret with identifier [%s] exists in this scope", in.Identifier).WithCode("DUPLICATE_FIELD")
	}
	if err == nil {
		s.changed(Change{Resource: "secret", Op: "create", Scope: sc, Identifier: x.Identifier})
	}
	return x, err
}

// scopeNotFoundFor is what an invisible scope looks like.
func scopeNotFoundFor(sc scope.Scope) error {
	switch sc.Level() {
	case scope.Project:
		return projectNotFound(sc.Org, sc.Project)
	case scope.Org:
		return orgNotFound(sc.Org)
	}
	return accountNotFound(sc.Account)
}

// Get returns a secret's metadata (never its value).
func (s *Secrets) Get(ctx context.Context, p access.Principal, sc scope.Scope, id string) (store.Secret, error) {
	if err := sc.Validate(); err != nil {
		return store.Secret{}, err
	}
	if err := s.authorize(ctx, p, sc, access.Read, opSecretRead, id, secretNotFound(id)); err != nil {
		return store.Secret{}, err
	}
	x, err := s.st.GetSecret(ctx, sc, id)
	if errors.Is(err, store.ErrNotFound) {
		return x, secretNotFound(id)
	}
	return x, err
}

// ValidateUnique reports whether id is free at sc.
func (s *Secrets) ValidateUnique(ctx context.Context, p access.Principal, sc scope.Scope, id string) (bool, error) {
	if err := sc.Validate(); err != nil {
		return false, err
	}
	if err := s.authorize(ctx, p, sc, access.Read, opSecretRead, id, scopeNotFoundFor(sc)); err != nil {
		return false, err
	}
	var fs failure.Fields
	checkIdentifier(&fs, "identifier", id, true)
	if err := fs.Err(); err != nil {
		return false, err
	}
	_, err := s.st.GetSecret(ctx, sc, id)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	return false, err
}

// ListSecretsInput filters a secret list.
type ListSecretsInput struct {
	Types       []string
	SearchTerm  string
	Identifiers []string
	// IncludeSubScopes lists the scope's whole subtree
	// (includeSecretsFromEverySubScope), limited to what the key sees.
	IncludeSubScopes bool
	Page             PageRequest
}

// List lists secrets at sc.
func (s *Secrets) List(ctx context.Context, p access.Principal, sc scope.Scope, in ListSecretsInput) (List[store.Secret], error) {
	if err := sc.Validate(); err != nil {
		return List[store.Secret]{}, err
	}
	pg, err := in.Page.page()
	if err != nil {
		return List[store.Secret]{}, err
	}
	for _, t := range in.Types {
		if t != SecretText && t != SecretFile && t != "SSHKey" && t != "WinRmCredentials" {
			return List[store.Secret]{}, failure.InvalidField("type", "Invalid value: %s (allowed: SecretText, SecretFile).", t)
		}
	}
	m := store.ScopeMatch{Scope: sc, Subtree: in.IncludeSubScopes}
	if err := p.Authorize(sc, access.Read); err != nil {
		// A subtree list from an ancestor narrows to the key's own subtree.
		if !(in.IncludeSubScopes && sc.Contains(p.Scope) && p.Role.Covers(access.Viewer)) {
			return List[store.Secret]{}, s.authorize(ctx, p, sc, access.Read, op{"secret.list", "secret"}, "", scopeNotFoundFor(sc))
		}
		m = store.ScopeMatch{Scope: p.Scope, Subtree: true}
	}
	items, total, err := s.st.ListSecrets(ctx, store.ListFilter{Scopes: []store.ScopeMatch{m}, Types: in.Types,
		SearchTerm: in.SearchTerm, Identifiers: in.Identifiers, Page: pg})
	return List[store.Secret]{Items: items, Total: total, PageIndex: pg.Index, PageSize: pg.Size}, err
}

// Update replaces a secret's metadata and, when in.Value is set, its value.
// The identifier and the type cannot change.
func (s *Secrets) Update(ctx context.Context, p access.Principal, sc scope.Scope, id, wantType string, in SecretInput, ifMatch *int64) (store.Secret, error) {
	if err := sc.Validate(); err != nil {
		return store.Secret{}, err
	}
	if err := s.authorize(ctx, p, sc, access.Edit, opSecretUpdate, id, secretNotFound(id)); err != nil {
		return store.Secret{}, err
	}
	if err := bodyScope(sc, in.OrgIdentifier, in.ProjectIdentifier); err != nil {
		return store.Secret{}, err
	}
	if in.Identifier == "" {
		in.Identifier = id
	}
	if err := in.validate(false, wantType); err != nil {
		return store.Secret{}, err
	}
	if in.Identifier != id {
		return store.Secret{}, failure.InvalidField("secret.identifier", "cannot be changed: the path names secret %q and the body %q.", id, in.Identifier)
	}
	var x store.Secret
	err := s.audited(ctx, p, opSecretUpdate, sc, id, "", func(ctx context.Context) error {
		cur, err := s.st.GetSecret(ctx, sc, id)
		if err != nil {
			return err
		}
		if ifMatch != nil && *ifMatch != cur.Version {
			return versionConflict("secret "+id, *ifMatch)
		}
		if cur.Type != in.Type {
			return failure.InvalidField("secret.type", "cannot be changed from %s to %s; delete the secret and create it again.", cur.Type, in.Type)
		}
		cur.Name, cur.Description, cur.Tags, cur.SecretManager, cur.ValueType, cur.UpdatedAt =
			in.Name, in.Description, in.Tags, in.SecretManager, in.ValueType, s.now()
		if in.Value != nil {
			if cur.Ciphertext, cur.KeyID, err = s.kr.Encrypt(*in.Value, secret.AAD(sc, id, secret.ValueField)); err != nil {
				return fmt.Errorf("encrypt secret: %w", err)
			}
		}
		x = cur
		return s.st.UpdateSecret(ctx, &x)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return x, secretNotFound(id)
	case errors.Is(err, store.ErrConflict):
		return x, concurrentChange("secret " + id)
	case err == nil:
		s.changed(Change{Resource: "secret", Op: "update", Scope: sc, Identifier: id})
	}
	return x, err
}

// Delete deletes a secret. A secret a connector refers to is kept unless
// force is set, with Harness's message.
func (s *Secrets) Delete(ctx context.Context, p access.Principal, sc scope.Scope, id string, force bool) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	if err := s.authorize(ctx, p, sc, access.Edit, opSecretDelete, id, secretNotFound(id)); err != nil {
		return err
	}
	detail := ""
	if force {
		detail = "forceDelete"
	}
	err := s.audited(ctx, p, opSecretDelete, sc, id, detail, func(ctx context.Context) error {
		// Delete first, then look for references: the deleted row stays
		// locked until commit, so a connector write that holds the secret
		// (GetSecretForShare) has either committed its reference, which the
		// look then sees, or waits and finds the secret gone. Checking
		// first let both commit under READ COMMITTED.
		if err := s.st.DeleteSecret(ctx, sc, id); err != nil {
			return err
		}
		if force {
			return nil
		}
		refs, err := s.st.ConnectorsReferencing(ctx, sc, id)
		if err != nil {
			return err
		}
		if len(refs) > 0 {
			return failure.New(failure.Conflict, "Could not delete the secret %s as it is referenced by other entities", id).
				WithCode("ENTITY_REFERENCE_EXCEPTION").
				WithHint("referenced by %s; delete or update them first, or pass forceDelete=true", describeRefs(refs))
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return failure.New(failure.NotFound, "Secret with identifier [%s] does not exist in the specified scope", id).WithCode("ENTITY_NOT_FOUND")
	}
	if err == nil {
		s.changed(Change{Resource: "secret", Op: "delete", Scope: sc, Identifier: id})
	}
	return err
}

func describeRefs(refs []store.ConnectorID) string {
	var parts []string
	for i, r := range refs {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(refs)-5))
			break
		}
		parts = append(parts, fmt.Sprintf("connector %s at %s", r.Identifier, r.Scope.Describe()))
	}
	return strings.Join(parts, ", ")
}

// Resolved is one secret a task needs, decrypted.
type Resolved struct {
	Use    connector.SecretUse
	Scope  scope.Scope // where the secret lives
	Type   string      // SecretText or SecretFile
	Value  secret.Value
	Secret string // the identifier
}

// Resolve decrypts the secrets a connector at owner refers to: the path
// tasks take to build credentials. It applies the same scope and kind rules
// as connector validation, and records one audit event per secret read.
// The values redact themselves; callers wipe them when done.
func (s *Secrets) Resolve(ctx context.Context, p access.Principal, owner scope.Scope, uses []connector.SecretUse) ([]Resolved, error) {
	out := make([]Resolved, 0, len(uses))
	for _, u := range uses {
		target, err := u.Ref.Resolve(owner)
		if err != nil {
			return nil, &failure.Error{Kind: failure.Invalid, Fields: []failure.FieldError{u.Problem("%s", failureMessage(err))}}
		}
		var r Resolved
		err = s.audited(ctx, p, opSecretResolve, target, u.Ref.Identifier, "for "+u.Field+" of a connector at "+owner.String(), func(ctx context.Context) error {
			x, err := s.st.GetSecret(ctx, target, u.Ref.Identifier)
			if errors.Is(err, store.ErrNotFound) {
				return &failure.Error{Kind: failure.Invalid, Fields: []failure.FieldError{u.NotFound(target)}}
			}
			if err != nil {
				return err
			}
			if u.Kind != "" && x.Type != u.Kind {
				return &failure.Error{Kind: failure.Invalid, Fields: []failure.FieldError{u.WrongKind(x.Type)}}
			}
			v, err := s.kr.Decrypt(ctx, x.Ciphertext, secret.AAD(target, x.Identifier, secret.ValueField))
			if err != nil {
				return fmt.Errorf("decrypt secret %q at %s: %w", x.Identifier, target, err)
			}
			r = Resolved{Use: u, Scope: target, Type: x.Type, Value: v, Secret: x.Identifier}
			return nil
		})
		if err != nil {
			for _, o := range out {
				o.Value.Wipe()
			}
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// failureMessage is an error's message without its kind's decoration.
func failureMessage(err error) string {
	if fe, ok := failure.As(err); ok && fe.Message != "" {
		return fe.Message
	}
	return err.Error()
}
