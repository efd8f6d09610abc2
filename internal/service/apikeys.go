package service

import (
	"context"
	"errors"
	"strings"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
)

// APIKeys manages API keys and authenticates requests.
type APIKeys struct {
	*base
	fails *authFailures // failed authentications not yet in the audit trail
}

var (
	opKeyCreate = op{"apikey.create", "apikey"}
	opKeyRevoke = op{"apikey.revoke", "apikey"}
	opKeyRead   = op{"apikey.read", "apikey"}
	opAuth      = op{"auth", "apikey"}
)

func keyNotFound(id string) error {
	return failure.New(failure.NotFound, "API key [%s] not found", id).WithCode("RESOURCE_NOT_FOUND_EXCEPTION")
}

// unauthenticated is the one answer to every bad key: it says nothing about
// which part was wrong.
func unauthenticated() error {
	return failure.New(failure.Unauthenticated, "Invalid or missing API key: send a valid key in the x-api-key header").WithCode("INVALID_TOKEN")
}

// dummyHash keeps the work of a lookup miss equal to a hit.
var dummyHash = make([]byte, 32)

// Authenticate turns the x-api-key header into a principal. All failures
// look the same to the caller. They are logged and counted, and reach the
// audit trail as one event per account per interval (FlushAuthFailures),
// under the key's account when the key id exists, else the account the
// request names (accountHint): never a row per request, which anyone could
// send.
func (s *APIKeys) Authenticate(ctx context.Context, header, source, accountHint string) (access.Principal, error) {
	id, tok, ok := access.ParseToken(strings.TrimSpace(header))
	hint := ""
	if fs := (failure.Fields{}); accountHint != "" {
		if checkIdentifier(&fs, "account", accountHint, false); len(fs) == 0 {
			hint = accountHint
		}
	}
	if !ok {
		why := "malformed API key"
		if header == "" {
			why = "no API key"
		}
		s.authFailed(ctx, hint, why, source, "")
		return access.Principal{}, unauthenticated()
	}
	k, err := s.st.GetAPIKey(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return access.Principal{}, err
	}
	hash := k.Hash
	if err != nil {
		hash = dummyHash
	}
	match := tok.Matches(hash)
	switch {
	case err != nil:
		s.authFailed(ctx, hint, "unknown API key id", source, "")
		return access.Principal{}, unauthenticated()
	case !match:
		s.authFailed(ctx, k.Scope.Account, "wrong API key secret", source, id)
		return access.Principal{}, unauthenticated()
	case k.Revoked():
		s.authFailed(ctx, k.Scope.Account, "revoked API key", source, id)
		return access.Principal{}, unauthenticated()
	}
	role, err := access.ParseRole(k.Role)
	if err != nil {
		return access.Principal{}, err
	}
	return access.Principal{KeyID: k.ID, Name: k.Name, Scope: k.Scope, Role: role, Source: source}, nil
}

// CreateKeyInput is an API key request.
type CreateKeyInput struct {
	Name string
	Role string
}

// Create makes a key at sc. The principal needs the admin role at sc (or
// above) and cannot grant more than it holds. The token is returned once.
func (s *APIKeys) Create(ctx context.Context, p access.Principal, sc scope.Scope, in CreateKeyInput) (store.APIKey, access.Token, error) {
	if err := sc.Validate(); err != nil {
		return store.APIKey{}, access.Token{}, err
	}
	var fs failure.Fields
	in.Name = strings.TrimSpace(in.Name)
	checkName(&fs, "name", in.Name)
	role, rerr := access.ParseRole(in.Role)
	if rerr != nil {
		fs.Add("role", "must be one of viewer, editor, admin; got %q.", in.Role)
	}
	if err := p.CanGrant(sc, role); err != nil && rerr == nil {
		s.denied(ctx, p, opKeyCreate, sc, "", err.Error())
		if errors.Is(err, access.ErrInvisible) {
			return store.APIKey{}, access.Token{}, scopeNotFoundFor(sc)
		}
		return store.APIKey{}, access.Token{}, err
	}
	if err := fs.Err(); err != nil {
		return store.APIKey{}, access.Token{}, err
	}
	id, tok, err := access.NewKey(sc.Account)
	if err != nil {
		return store.APIKey{}, access.Token{}, err
	}
	k := store.APIKey{ID: id, Name: in.Name, Scope: sc, Role: string(role), Hash: tok.Hash(), CreatedAt: s.now(), CreatedBy: p.KeyID}
	err = s.audited(ctx, p, opKeyCreate, sc, id, "role "+string(role), func(ctx context.Context) error {
		if err := s.checkScope(ctx, sc); err != nil {
			return err
		}
		return s.st.CreateAPIKey(ctx, &k)
	})
	if err != nil {
		return store.APIKey{}, access.Token{}, err
	}
	return k, tok, nil
}

// ListKeysInput filters the key list.
type ListKeysInput struct {
	IncludeSubScopes bool
	Page             PageRequest
}

// List lists the keys at sc (and below it).
func (s *APIKeys) List(ctx context.Context, p access.Principal, sc scope.Scope, in ListKeysInput) (List[store.APIKey], error) {
	if err := sc.Validate(); err != nil {
		return List[store.APIKey]{}, err
	}
	pg, err := in.Page.page()
	if err != nil {
		return List[store.APIKey]{}, err
	}
	if err := s.authorize(ctx, p, sc, access.Manage, op{"apikey.list", "apikey"}, "", scopeNotFoundFor(sc)); err != nil {
		return List[store.APIKey]{}, err
	}
	items, total, err := s.st.ListAPIKeys(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: sc, Subtree: in.IncludeSubScopes}}, Page: pg})
	return List[store.APIKey]{Items: items, Total: total, PageIndex: pg.Index, PageSize: pg.Size}, err
}

// Get returns a key's record (never the key).
func (s *APIKeys) Get(ctx context.Context, p access.Principal, id string) (store.APIKey, error) {
	k, err := s.st.GetAPIKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		s.denied(ctx, p, opKeyRead, p.Scope, id, "no such key")
		return k, keyNotFound(id)
	}
	if err != nil {
		return k, err
	}
	if err := s.authorize(ctx, p, k.Scope, access.Manage, opKeyRead, id, keyNotFound(id)); err != nil {
		return store.APIKey{}, err
	}
	return k, nil
}

// Revoke disables a key at once.
func (s *APIKeys) Revoke(ctx context.Context, p access.Principal, id string) (store.APIKey, error) {
	k, err := s.st.GetAPIKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		s.denied(ctx, p, opKeyRevoke, p.Scope, id, "no such key")
		return k, keyNotFound(id)
	}
	if err != nil {
		return k, err
	}
	if err := s.authorize(ctx, p, k.Scope, access.Manage, opKeyRevoke, id, keyNotFound(id)); err != nil {
		return store.APIKey{}, err
	}
	if !p.IsSystem() && !p.Role.Covers(access.Role(k.Role)) {
		err := failure.New(failure.Forbidden, "API key %q has role %s and cannot revoke a key with role %s", p.KeyID, p.Role, k.Role).WithCode("NG_ACCESS_DENIED")
		s.denied(ctx, p, opKeyRevoke, k.Scope, id, err.Error())
		return store.APIKey{}, err
	}
	err = s.audited(ctx, p, opKeyRevoke, k.Scope, id, "", func(ctx context.Context) error {
		return s.st.RevokeAPIKey(ctx, id, s.now())
	})
	if err != nil {
		return store.APIKey{}, err
	}
	return s.st.GetAPIKey(ctx, id)
}
