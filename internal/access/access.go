// Package access decides who may do what: API-key principals, their roles,
// and the scope rules. A key belongs to a scope and carries a role that
// applies to that scope and every scope below it. A key never sees anything
// outside its scope: what lies in a sibling or a foreign scope is reported as
// not found (so nothing leaks), what lies above it as forbidden (the key
// already knows its ancestors). It is a model package: no I/O.
package access

import (
	"errors"
	"fmt"

	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
)

// Role is what a key may do within its scope.
type Role string

// The roles, weakest first.
const (
	Viewer Role = "viewer" // read
	Editor Role = "editor" // read, create, update, delete
	Admin  Role = "admin"  // editor, plus API keys, the audit trail and key rotation
)

// Roles lists the valid roles, weakest first.
var Roles = []Role{Viewer, Editor, Admin}

func (r Role) rank() int {
	switch r {
	case Viewer:
		return 1
	case Editor:
		return 2
	case Admin:
		return 3
	}
	return 0
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.rank() > 0 }

// Covers reports whether r grants at least what other grants.
func (r Role) Covers(other Role) bool { return r.rank() >= other.rank() && other.Valid() }

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !r.Valid() {
		return "", failure.InvalidField("role", "must be one of viewer, editor, admin; got %q.", s)
	}
	return r, nil
}

// Action is the kind of access an operation needs.
type Action int

// The actions.
const (
	Read   Action = iota // get, list
	Edit                 // create, update, delete
	Manage               // API keys, audit, key rotation
)

func (a Action) String() string {
	switch a {
	case Read:
		return "read"
	case Edit:
		return "edit"
	case Manage:
		return "manage"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Needs returns the weakest role that may perform a.
func (a Action) Needs() Role {
	switch a {
	case Read:
		return Viewer
	case Edit:
		return Editor
	}
	return Admin
}

// Principal is who makes a request: an API key, or the server itself.
type Principal struct {
	KeyID  string      // the API key's id; empty for the system
	Name   string      // the key's name, for the audit trail
	Scope  scope.Scope // where the key applies
	Role   Role
	Source string // the client address, for the audit trail
	system bool
}

// System returns the principal of the server's own work (bootstrap, key
// rotation jobs, tasks): it may do anything.
func System(source string) Principal {
	return Principal{Name: "system", Role: Admin, Source: source, system: true}
}

// IsSystem reports whether p is the server itself.
func (p Principal) IsSystem() bool { return p.system }

// ErrInvisible marks a decision where the target lies outside the key's
// scope and outside its ancestors: the caller must answer exactly as if the
// target did not exist.
var ErrInvisible = errors.New("target not visible to this API key")

// Sees reports whether p may know that target exists: target is p's scope,
// below it, or one of its ancestors.
func (p Principal) Sees(target scope.Scope) bool {
	if p.system {
		return true
	}
	return p.Scope.Contains(target) || target.Contains(p.Scope)
}

// Authorize decides whether p may perform a at target. It returns nil, an
// error wrapping ErrInvisible (answer "not found"), or a Forbidden failure
// that says what is missing.
func (p Principal) Authorize(target scope.Scope, a Action) error {
	if p.system {
		return nil
	}
	if !p.Scope.Contains(target) {
		if target.Contains(p.Scope) {
			return failure.New(failure.Forbidden,
				"API key %q is scoped to %s; it cannot %s at %s", p.KeyID, p.Scope.Describe(), a, target.Describe()).
				WithCode("NG_ACCESS_DENIED").
				WithHint("use a key created at %s or above", target.Describe())
		}
		return ErrInvisible
	}
	if !p.Role.Covers(a.Needs()) {
		return failure.New(failure.Forbidden,
			"API key %q has role %s; %s at %s needs role %s", p.KeyID, p.Role, a, target.Describe(), a.Needs()).
			WithCode("NG_ACCESS_DENIED")
	}
	return nil
}

// CanGrant reports whether p may create a key with role r at target: only
// within its own scope and never with more than it holds.
func (p Principal) CanGrant(target scope.Scope, r Role) error {
	if err := p.Authorize(target, Manage); err != nil {
		return err
	}
	if p.system {
		return nil
	}
	if !p.Role.Covers(r) {
		return failure.New(failure.Forbidden, "API key %q has role %s and cannot grant role %s", p.KeyID, p.Role, r).
			WithCode("NG_ACCESS_DENIED")
	}
	return nil
}
