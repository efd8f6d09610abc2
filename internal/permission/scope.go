package permission

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/azimuthcd/azimuth/internal/failure"
)

// Level is where in Azure's hierarchy a scope sits, broadest first.
type Level int

// The levels of an Azure RBAC scope.
const (
	LevelTenant          Level = iota + 1 // "/": the tenant root
	LevelManagementGroup                  // /providers/Microsoft.Management/managementGroups/{mg}
	LevelSubscription                     // /subscriptions/{s}
	LevelResourceGroup                    // /subscriptions/{s}/resourceGroups/{rg}
	LevelResource                         // .../providers/{namespace}/{type}/{name}[/{type}/{name}...]
)

var levelNames = [...]string{"tenant", "managementGroup", "subscription", "resourceGroup", "resource"}

func (l Level) String() string {
	if l >= 1 && int(l) <= len(levelNames) {
		return levelNames[l-1]
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// MarshalText writes the level's name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// Scope is a parsed Azure RBAC scope. The zero value is not a scope; use
// ParseScope or the constructors.
type Scope struct {
	level    Level
	mg       string
	sub      string
	rg       string
	provider string   // resource provider namespace, e.g. Microsoft.Web
	types    []string // resource types, outermost first: [sites slots]
	names    []string // their names: [myapp staging]
}

var (
	guidRE      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	namespaceRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+$`)
)

// validSegment accepts what Azure allows in resource group, resource and
// management group names (letters, digits and . _ - ( ) in practice) and
// rejects anything that could not be part of an ARM path.
func validSegment(s string) bool {
	if s == "" || len(s) > 260 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(`/\?#%"'<>|&;$`+"`", r) {
			return false
		}
	}
	return true
}

// ParseScope reads an Azure scope: "/", a management group
// (/providers/Microsoft.Management/managementGroups/{mg}), a subscription
// (/subscriptions/{guid}), a resource group or a resource id. Keywords are
// case-insensitive; a missing leading slash and a trailing slash are
// tolerated. Errors are failure.Invalid and say what is wrong.
func ParseScope(s string) (Scope, error) {
	raw := s
	s = strings.TrimSpace(s)
	if s == "/" {
		return Scope{level: LevelTenant}, nil
	}
	parts := strings.Split(strings.Trim(s, "/"), "/")
	bad := func(format string, args ...any) (Scope, error) {
		return Scope{}, failure.InvalidField("scope", "%q: %s", raw, fmt.Sprintf(format, args...))
	}
	if s == "" || len(parts) == 0 || parts[0] == "" {
		return bad("a scope is /, /providers/Microsoft.Management/managementGroups/{name}, /subscriptions/{id}, a resource group or a resource id")
	}
	for _, p := range parts {
		if !validSegment(p) {
			return bad("segment %q is empty or holds a character a scope cannot hold", p)
		}
	}
	switch {
	case strings.EqualFold(parts[0], "providers"):
		if len(parts) != 4 || !strings.EqualFold(parts[1], "Microsoft.Management") || !strings.EqualFold(parts[2], "managementGroups") {
			return bad("the only scope under /providers is /providers/Microsoft.Management/managementGroups/{name}")
		}
		return Scope{level: LevelManagementGroup, mg: parts[3]}, nil
	case strings.EqualFold(parts[0], "subscriptions"):
	default:
		return bad("a scope starts with /subscriptions/ or /providers/Microsoft.Management/managementGroups/, or is /")
	}
	if len(parts) < 2 || !guidRE.MatchString(parts[1]) {
		return bad("a subscription id is a GUID")
	}
	sc := Scope{level: LevelSubscription, sub: strings.ToLower(parts[1])}
	if len(parts) == 2 {
		return sc, nil
	}
	if !strings.EqualFold(parts[2], "resourceGroups") || len(parts) < 4 {
		return bad("after the subscription comes resourceGroups/{name}")
	}
	sc.level, sc.rg = LevelResourceGroup, parts[3]
	if len(parts) == 4 {
		return sc, nil
	}
	rest := parts[4:]
	if !strings.EqualFold(rest[0], "providers") || len(rest) < 4 {
		return bad("a resource id continues with providers/{namespace}/{type}/{name}")
	}
	if !namespaceRE.MatchString(rest[1]) {
		return bad("%q is not a resource provider namespace", rest[1])
	}
	pairs := rest[2:]
	if len(pairs)%2 != 0 {
		return bad("a resource id alternates types and names; %q has a type without a name", strings.Join(pairs, "/"))
	}
	sc.level, sc.provider = LevelResource, rest[1]
	for i := 0; i < len(pairs); i += 2 {
		sc.types = append(sc.types, pairs[i])
		sc.names = append(sc.names, pairs[i+1])
	}
	return sc, nil
}

// MustParseScope is ParseScope for constants in tests and tables; it
// panics on a bad scope.
func MustParseScope(s string) Scope {
	sc, err := ParseScope(s)
	if err != nil {
		panic(err)
	}
	return sc
}

// TenantScope is "/".
func TenantScope() Scope { return Scope{level: LevelTenant} }

// SubscriptionScope is /subscriptions/{id}.
func SubscriptionScope(id string) (Scope, error) { return ParseScope("/subscriptions/" + id) }

// Level returns where the scope sits.
func (s Scope) Level() Level { return s.level }

// IsZero reports whether s is the zero Scope (not parsed).
func (s Scope) IsZero() bool { return s.level == 0 }

// SubscriptionID is the subscription of a subscription, resource group or
// resource scope, lower-cased; "" above it.
func (s Scope) SubscriptionID() string { return s.sub }

// ResourceGroup is the resource group name of a resource group or resource
// scope; "" otherwise.
func (s Scope) ResourceGroup() string { return s.rg }

// ManagementGroup is the name of a management group scope; "" otherwise.
func (s Scope) ManagementGroup() string { return s.mg }

// ResourceType is the full type of a resource scope, e.g.
// "Microsoft.Web/sites/slots"; "" otherwise.
func (s Scope) ResourceType() string {
	if s.level != LevelResource {
		return ""
	}
	return s.provider + "/" + strings.Join(s.types, "/")
}

// Name is the last name of the scope: the resource, resource group,
// subscription id or management group name; "/" for the tenant.
func (s Scope) Name() string {
	switch s.level {
	case LevelManagementGroup:
		return s.mg
	case LevelSubscription:
		return s.sub
	case LevelResourceGroup:
		return s.rg
	case LevelResource:
		return s.names[len(s.names)-1]
	}
	return "/"
}

// String is the canonical form: leading slash, keywords in ARM's casing,
// names as given, subscription ids lower-cased.
func (s Scope) String() string {
	switch s.level {
	case LevelManagementGroup:
		return "/providers/Microsoft.Management/managementGroups/" + s.mg
	case LevelSubscription:
		return "/subscriptions/" + s.sub
	case LevelResourceGroup:
		return "/subscriptions/" + s.sub + "/resourceGroups/" + s.rg
	case LevelResource:
		var b strings.Builder
		b.WriteString("/subscriptions/" + s.sub + "/resourceGroups/" + s.rg + "/providers/" + s.provider)
		for i := range s.types {
			b.WriteString("/" + s.types[i] + "/" + s.names[i])
		}
		return b.String()
	}
	return "/"
}

// MarshalText writes the canonical form.
func (s Scope) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Equal compares two scopes as Azure does (case-insensitively).
func (s Scope) Equal(t Scope) bool { return strings.EqualFold(s.String(), t.String()) }

// Up returns the scope at level l above s (or s itself when it is already
// at l or above). Above a subscription the hierarchy is not in the id: a
// subscription's management group cannot be derived, so asking for
// LevelManagementGroup from a subscription or below fails; LevelTenant
// always works.
func (s Scope) Up(l Level) (Scope, error) {
	if l >= s.level {
		return s, nil
	}
	switch l {
	case LevelTenant:
		return TenantScope(), nil
	case LevelManagementGroup:
		return Scope{}, failure.InvalidField("scope", "%s: the management group of a subscription is not part of its id; give the management group scope", s)
	case LevelSubscription:
		return Scope{level: LevelSubscription, sub: s.sub}, nil
	case LevelResourceGroup:
		return Scope{level: LevelResourceGroup, sub: s.sub, rg: s.rg}, nil
	}
	return Scope{}, fmt.Errorf("scope %s: cannot go up to %s", s, l)
}

// Parent is the scope directly above s: a child resource's parent
// resource, a resource's resource group, a group's subscription, and "/"
// for a subscription or a management group (the tenant root; management
// group nesting is not part of the id).
func (s Scope) Parent() Scope {
	switch s.level {
	case LevelResource:
		if len(s.types) > 1 {
			p := s
			p.types = s.types[:len(s.types)-1]
			p.names = s.names[:len(s.names)-1]
			return p
		}
		return Scope{level: LevelResourceGroup, sub: s.sub, rg: s.rg}
	case LevelResourceGroup:
		return Scope{level: LevelSubscription, sub: s.sub}
	}
	return TenantScope()
}

// Contains reports whether an assignment at s applies at t: s is t or an
// ancestor of t along the resource id ("/" contains everything). A
// management group contains a subscription only through the hierarchy,
// which ids do not carry: pass the management groups above t (innermost
// first, any order works) in mgAncestors; nil means unknown, and a
// management group then contains only itself.
func (s Scope) Contains(t Scope, mgAncestors []string) bool {
	if s.level == LevelTenant {
		return true
	}
	if s.level == LevelManagementGroup {
		if t.level == LevelManagementGroup && strings.EqualFold(s.mg, t.mg) {
			return true
		}
		for _, a := range mgAncestors {
			if strings.EqualFold(a, s.mg) {
				return true
			}
		}
		return false
	}
	if t.level < s.level || t.level < LevelSubscription {
		return false
	}
	ss, ts := strings.ToLower(s.String()), strings.ToLower(t.String())
	return ts == ss || strings.HasPrefix(ts, ss+"/")
}
