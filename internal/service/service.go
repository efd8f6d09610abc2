// Package service holds Azimuth's use cases: scopes (accounts, orgs,
// projects), secrets, connectors, API keys, the audit trail and the keyring.
// Every method takes the acting principal, decides access (internal/access),
// validates, calls the store inside one transaction together with its audit
// event, and returns records or errors with a failure kind. HTTP lives in
// internal/api; nothing here knows about it.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/audit"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/store"
)

// Store is what the services need from persistence.
type Store interface {
	store.Tx
	store.Accounts
	store.Orgs
	store.Projects
	store.Secrets
	store.Connectors
	store.APIKeys
	store.AuditLog
}

// Change describes a committed change, for caches that must drop what they
// derived from the old state (credentials built from a connector and its
// secrets, for instance).
type Change struct {
	Resource   string // "connector" or "secret"
	Op         string // "create", "update", "delete", "rotate"
	Scope      scope.Scope
	Identifier string
}

// Deps are the services' dependencies.
type Deps struct {
	Store   Store
	Keyring *secret.Keyring
	Logger  *slog.Logger
	Now     func() time.Time // default time.Now
	// OnChange, if set, is called after each committed change to a connector
	// or a secret. It must not block.
	OnChange func(Change)
}

// Services bundles the use cases.
type Services struct {
	Scopes     *Scopes
	Secrets    *Secrets
	Connectors *Connectors
	APIKeys    *APIKeys
	Audit      *Audit
	Keys       *Keys
}

// New builds the services.
func New(d Deps) *Services {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	b := &base{st: d.Store, kr: d.Keyring, log: d.Logger.With("component", "service"), now: d.Now, onChange: d.OnChange}
	return &Services{
		Scopes:     &Scopes{b},
		Secrets:    &Secrets{b},
		Connectors: &Connectors{b},
		APIKeys:    &APIKeys{base: b, fails: &authFailures{}},
		Audit:      &Audit{b},
		Keys:       &Keys{b},
	}
}

// base is shared by every service.
type base struct {
	st       Store
	kr       *secret.Keyring
	log      *slog.Logger
	now      func() time.Time
	onChange func(Change)
}

// op names an operation in the audit trail: action "connector.create",
// resource "connector".
type op struct{ action, resource string }

func (b *base) event(p access.Principal, o op, sc scope.Scope, id, outcome, detail string) *audit.Event {
	name := p.Name
	if p.IsSystem() {
		name = audit.SystemActor
	}
	return &audit.Event{Time: b.now(), ActorKeyID: p.KeyID, ActorName: name, Action: o.action, ResourceType: o.resource,
		Scope: sc, Identifier: id, Outcome: outcome, Detail: detail, Source: p.Source}
}

// audited runs fn and, in the same transaction, appends the success event:
// both commit or neither does (fail-closed).
func (b *base) audited(ctx context.Context, p access.Principal, o op, sc scope.Scope, id, detail string, fn func(ctx context.Context) error) error {
	return b.st.InTx(ctx, func(ctx context.Context) error {
		if err := fn(ctx); err != nil {
			return err
		}
		if err := b.st.AppendAudit(ctx, b.event(p, o, sc, id, audit.Success, detail)); err != nil {
			return fmt.Errorf("%s: write audit event: %w", o.action, err)
		}
		return nil
	})
}

// authorize decides p's access to target. A denial is recorded in the audit
// trail; an invisible target is answered with notFound so nothing leaks.
func (b *base) authorize(ctx context.Context, p access.Principal, target scope.Scope, a access.Action, o op, id string, notFound error) error {
	err := p.Authorize(target, a)
	if err == nil {
		return nil
	}
	b.denied(ctx, p, o, target, id, err.Error())
	if errors.Is(err, access.ErrInvisible) {
		return notFound
	}
	return err
}

// denied records a refused attempt. The refusal stands even if the audit
// write fails; the failure is logged.
func (b *base) denied(ctx context.Context, p access.Principal, o op, sc scope.Scope, id, why string) {
	if err := b.st.AppendAudit(context.WithoutCancel(ctx), b.event(p, o, sc, id, audit.Denied, why)); err != nil {
		b.log.Error("write audit event for a denied request", "action", o.action, "err", err)
	}
}

func (b *base) changed(c Change) {
	if b.onChange != nil {
		b.onChange(c)
	}
}

// checkScope verifies the scope's shape and that its org and project exist,
// with Harness's messages. Inside a transaction on PostgreSQL it also locks
// them against deletion until commit.
func (b *base) checkScope(ctx context.Context, sc scope.Scope) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	ok, err := b.st.ScopeExists(ctx, sc)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	switch sc.Level() {
	case scope.Project:
		if ok, _ := b.st.ScopeExists(ctx, sc.Parent()); !ok {
			return orgNotFound(sc.Org)
		}
		return projectNotFound(sc.Org, sc.Project)
	case scope.Org:
		return orgNotFound(sc.Org)
	}
	return failure.New(failure.NotFound, "Account with identifier [%s] not found", sc.Account).WithCode("RESOURCE_NOT_FOUND_EXCEPTION")
}

func orgNotFound(id string) error {
	return failure.New(failure.NotFound, "Organization with identifier [%s] not found", id).WithCode("RESOURCE_NOT_FOUND_EXCEPTION")
}

func projectNotFound(org, id string) error {
	return failure.New(failure.NotFound, "Project with identifier [%s] and orgIdentifier [%s] not found", id, org).WithCode("RESOURCE_NOT_FOUND_EXCEPTION")
}

// Page bounds: Harness's default page size is 100 and its maximum 1000.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// PageRequest is a page asked for by a client.
type PageRequest struct {
	Index int
	Size  int
}

func (pr PageRequest) page() (store.Page, error) {
	var fs failure.Fields
	if pr.Index < 0 {
		fs.Add("pageIndex", "must be 0 or more, got %d.", pr.Index)
	}
	if pr.Size < 0 || pr.Size > MaxPageSize {
		fs.Add("pageSize", "must be between 1 and %d, got %d.", MaxPageSize, pr.Size)
	}
	if err := fs.Err(); err != nil {
		return store.Page{}, err
	}
	size := pr.Size
	if size == 0 {
		size = DefaultPageSize
	}
	return store.Page{Index: pr.Index, Size: size}, nil
}

// List is one page of results.
type List[T any] struct {
	Items     []T
	Total     int
	PageIndex int
	PageSize  int
}

// concurrentChange is a store-detected conflict: the row changed between
// the read and the write of this request.
func concurrentChange(what string) error {
	return failure.New(failure.Conflict, "%s was changed by someone else while this request ran; read it again and retry", what).
		WithCode("OPTIMISTIC_LOCKING_EXCEPTION")
}

// versionConflict is a stale If-Match.
func versionConflict(what string, got int64) error {
	return failure.New(failure.Conflict, "%s was changed by someone else (If-Match version %d is not the current one); read it again and retry", what, got).
		WithCode("OPTIMISTIC_LOCKING_EXCEPTION")
}
