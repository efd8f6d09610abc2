package service

import (
	"context"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/audit"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
)

// Audit reads the audit trail.
type Audit struct{ *base }

// ListAuditInput filters the trail.
type ListAuditInput struct {
	ResourceType string
	Action       string
	Outcome      string
	ActorKeyID   string
	Identifier   string
	Since, Until time.Time
	Page         PageRequest
}

// List returns the events of sc and everything below it, newest first. It
// needs the admin role at sc.
func (a *Audit) List(ctx context.Context, p access.Principal, sc scope.Scope, in ListAuditInput) (List[audit.Event], error) {
	if err := sc.Validate(); err != nil {
		return List[audit.Event]{}, err
	}
	pg, err := in.Page.page()
	if err != nil {
		return List[audit.Event]{}, err
	}
	if in.Outcome != "" && in.Outcome != audit.Success && in.Outcome != audit.Denied {
		return List[audit.Event]{}, failure.InvalidField("outcome", "must be success or denied, got %q.", in.Outcome)
	}
	if err := a.authorize(ctx, p, sc, access.Manage, op{"audit.list", "audit"}, "", scopeNotFoundFor(sc)); err != nil {
		return List[audit.Event]{}, err
	}
	items, total, err := a.st.ListAudit(ctx, store.AuditFilter{
		Scopes:       []store.ScopeMatch{{Scope: sc, Subtree: true}},
		ResourceType: in.ResourceType, Action: in.Action, Outcome: in.Outcome, ActorKeyID: in.ActorKeyID,
		Identifier: in.Identifier, Since: in.Since, Until: in.Until, Page: pg,
	})
	return List[audit.Event]{Items: items, Total: total, PageIndex: pg.Index, PageSize: pg.Size}, err
}

// VerifyResult is the outcome of a chain verification.
type VerifyResult struct {
	Events int64  `json:"events"`
	Valid  bool   `json:"valid"`
	Error  string `json:"error,omitempty"`
}

// Verify walks the whole chain. The trail spans every account of the
// installation, so it needs an account admin.
func (a *Audit) Verify(ctx context.Context, p access.Principal) (VerifyResult, error) {
	if !p.IsSystem() {
		acc := scope.Scope{Account: p.Scope.Account}
		if err := a.authorize(ctx, p, acc, access.Manage, op{"audit.verify", "audit"}, "", accountNotFound(acc.Account)); err != nil {
			return VerifyResult{}, err
		}
		if p.Scope.Level() != scope.Account {
			return VerifyResult{}, failure.New(failure.Forbidden, "verifying the audit trail needs an account-level admin key").WithCode("NG_ACCESS_DENIED")
		}
	}
	n, err := a.st.VerifyAudit(ctx)
	if err != nil {
		return VerifyResult{Events: n, Valid: false, Error: err.Error()}, nil
	}
	return VerifyResult{Events: n, Valid: true}, nil
}
