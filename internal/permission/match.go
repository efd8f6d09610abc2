package permission

import "strings"

// Permission is one entry of a role definition's permissions, and one
// element of what Microsoft.Authorization/permissions returns for a scope.
// The JSON names are ARM's.
type Permission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

// Operation is an Azure operation: a control-plane action such as
// "Microsoft.Web/sites/read", or, when Data is set, a data action such as
// "Microsoft.ContainerService/managedClusters/pods/read".
type Operation struct {
	Name string `json:"name"`
	Data bool   `json:"dataAction,omitempty"`
}

func (o Operation) String() string {
	if o.Data {
		return o.Name + " (data action)"
	}
	return o.Name
}

// ActionMatches reports whether a permission pattern matches an operation
// name as Azure RBAC matches them: case-insensitively, with "*" standing for
// any run of characters, slashes included, wherever it appears ("*",
// "*/read", "Microsoft.Web/*", "Microsoft.Authorization/*/Write",
// "Microsoft.CostManagement/*/query/*").
func ActionMatches(pattern, action string) bool {
	return glob(strings.ToLower(pattern), strings.ToLower(action))
}

// glob matches s against p, where '*' matches any run of bytes. Iterative
// with one backtracking point: linear for patterns with one star, and
// O(len(p)*len(s)) at worst. (The simulator matches with regular
// expressions instead; the tests compare the two.)
func glob(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func anyMatch(patterns []string, action string) bool {
	for _, p := range patterns {
		if glob(p, action) {
			return true
		}
	}
	return false
}

// Grants reports whether this one entry grants op: an Actions (or, for a
// data action, DataActions) pattern matches and no NotActions (or
// NotDataActions) pattern of the same entry does.
func (p Permission) Grants(op Operation) bool {
	return compileOne(p).grants(strings.ToLower(op.Name), op.Data)
}

// Allowed reports whether a set of permission entries grants op. An entry's
// NotActions only subtract from that entry's Actions; another entry can
// still grant what one excludes.
func Allowed(perms []Permission, op Operation) bool {
	return Compile(perms).Allows(op)
}

// Set is a compiled, lower-cased set of permission entries, for evaluating
// many operations against the same permissions.
type Set struct {
	entries []entry
}

type entry struct {
	actions, notActions, dataActions, notDataActions []string
}

func lowerAll(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(s)
	}
	return out
}

func compileOne(p Permission) entry {
	return entry{lowerAll(p.Actions), lowerAll(p.NotActions), lowerAll(p.DataActions), lowerAll(p.NotDataActions)}
}

// Compile prepares perms for repeated evaluation.
func Compile(perms []Permission) *Set {
	s := &Set{entries: make([]entry, len(perms))}
	for i, p := range perms {
		s.entries[i] = compileOne(p)
	}
	return s
}

func (e entry) grants(lowerName string, data bool) bool {
	allow, deny := e.actions, e.notActions
	if data {
		allow, deny = e.dataActions, e.notDataActions
	}
	return anyMatch(allow, lowerName) && !anyMatch(deny, lowerName)
}

// Allows reports whether the set grants op.
func (s *Set) Allows(op Operation) bool {
	name := strings.ToLower(op.Name)
	for _, e := range s.entries {
		if e.grants(name, op.Data) {
			return true
		}
	}
	return false
}

// Missing returns the operations of ops the set does not grant, in order.
func (s *Set) Missing(ops []Operation) []Operation {
	var out []Operation
	for _, op := range ops {
		if !s.Allows(op) {
			out = append(out, op)
		}
	}
	return out
}

// Empty reports whether the set holds no entry at all.
func (s *Set) Empty() bool { return len(s.entries) == 0 }
