// Package scope models Harness's three scopes (account, organization,
// project) and secret references ("x", "org.x", "account.x") with Harness's
// grammar and compatibility rules.
package scope

import (
	"fmt"
	"strings"

	"github.com/azimuthcd/azimuth/internal/failure"
)

// Level is the depth of a scope.
type Level int

// The levels, outermost first.
const (
	Account Level = iota
	Org
	Project
)

func (l Level) String() string {
	switch l {
	case Account:
		return "account"
	case Org:
		return "org"
	case Project:
		return "project"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// Scope names an account, an organization in it, or a project in that
// organization. Org is empty for the account scope; Project is empty for the
// account and org scopes.
type Scope struct {
	Account string `json:"accountIdentifier"`
	Org     string `json:"orgIdentifier,omitempty"`
	Project string `json:"projectIdentifier,omitempty"`
}

// New builds a scope from Harness's three query parameters, normalising
// whitespace-only values to empty as Harness normalises empty strings to null.
func New(account, org, project string) Scope {
	return Scope{Account: strings.TrimSpace(account), Org: strings.TrimSpace(org), Project: strings.TrimSpace(project)}
}

// Level reports the scope's depth.
func (s Scope) Level() Level {
	switch {
	case s.Project != "":
		return Project
	case s.Org != "":
		return Org
	}
	return Account
}

// Validate checks the shape: an account is required and a project needs an
// organization. It does not check that the scope exists.
func (s Scope) Validate() error {
	var fs failure.Fields
	if s.Account == "" {
		fs.Add("accountIdentifier", "cannot be empty.")
	}
	if s.Project != "" && s.Org == "" {
		fs.Add("orgIdentifier", "is required when projectIdentifier is given.")
	}
	return fs.Err()
}

// Parent returns the enclosing scope; the account scope is its own parent.
func (s Scope) Parent() Scope {
	switch s.Level() {
	case Project:
		return Scope{Account: s.Account, Org: s.Org}
	default:
		return Scope{Account: s.Account}
	}
}

// AtLevel returns the ancestor (or s itself) at level l. l must not be deeper
// than s.
func (s Scope) AtLevel(l Level) Scope {
	switch l {
	case Account:
		return Scope{Account: s.Account}
	case Org:
		return Scope{Account: s.Account, Org: s.Org}
	}
	return s
}

// Contains reports whether other is s or lies below s.
func (s Scope) Contains(other Scope) bool {
	if s.Account != other.Account {
		return false
	}
	switch s.Level() {
	case Account:
		return true
	case Org:
		return other.Org == s.Org
	}
	return other.Org == s.Org && other.Project == s.Project
}

// Ancestors returns s and the scopes above it, innermost first.
func (s Scope) Ancestors() []Scope {
	out := []Scope{s}
	for c := s; c.Level() != Account; {
		c = c.Parent()
		out = append(out, c)
	}
	return out
}

// String renders the scope as "account[/org[/project]]".
func (s Scope) String() string {
	switch s.Level() {
	case Project:
		return s.Account + "/" + s.Org + "/" + s.Project
	case Org:
		return s.Account + "/" + s.Org
	}
	return s.Account
}

// Describe renders the scope for messages, the way Harness names it:
// "account A", "account A, organisation O", "account A, organisation O, project P".
func (s Scope) Describe() string {
	out := "account " + s.Account
	if s.Org != "" {
		out += ", organisation " + s.Org
	}
	if s.Project != "" {
		out += ", project " + s.Project
	}
	return out
}
