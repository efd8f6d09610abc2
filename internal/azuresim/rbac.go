package azuresim

import (
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
)

// Permission is one entry of a role definition's permissions, as ARM
// returns it in role definitions and in Microsoft.Authorization/permissions.
type Permission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

// ActionMatches reports whether an action pattern of a role definition
// matches an operation, the way Azure RBAC does: case-insensitive, and "*"
// matches any run of characters, slashes included, wherever it appears
// ("*", "*/read", "Microsoft.Web/*", "Microsoft.Authorization/*/Write").
//
// The pattern is translated into an anchored regular expression (each
// literal run quoted, each "*" as ".*"), compiled once and cached. This is
// deliberately another method than internal/permission's matcher (a
// backtracking glob), so that the simulator is an independent oracle for
// it: tests compare the two on random patterns.
func ActionMatches(pattern, action string) bool {
	return actionRegexp(pattern).MatchString(strings.ToLower(action))
}

// actionRegexps caches compiled patterns by their lower-cased text; it is
// emptied when it grows past maxActionRegexps (role definitions hold a few
// hundred distinct patterns; fuzzing holds many more).
var (
	actionRegexps  sync.Map // string -> *regexp.Regexp
	actionRegexpsN atomic.Int64
)

const maxActionRegexps = 4096

// matchNothing stands for a pattern too large to compile.
var matchNothing = regexp.MustCompile(`\z\A.`)

func actionRegexp(pattern string) *regexp.Regexp {
	p := strings.ToLower(pattern)
	if re, ok := actionRegexps.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	lits := strings.Split(p, "*")
	for i, l := range lits {
		lits[i] = regexp.QuoteMeta(l)
	}
	// (?s): "." also matches a newline; \A and \z anchor the whole name.
	re, err := regexp.Compile(`(?s)\A` + strings.Join(lits, `.*`) + `\z`)
	if err != nil {
		return matchNothing
	}
	if actionRegexpsN.Add(1) > maxActionRegexps {
		actionRegexps.Clear()
		actionRegexpsN.Store(1)
	}
	actionRegexps.Store(p, re)
	return re
}

func anyMatches(patterns []string, action string) bool {
	for _, p := range patterns {
		if ActionMatches(p, action) {
			return true
		}
	}
	return false
}

// Allowed reports whether a set of permission entries (the permissions of
// every role a principal holds at a scope) grants an operation. As in
// Azure, an entry grants the operation when one of its Actions matches it
// and none of the same entry's NotActions does; NotActions are not deny
// rules, so another entry can still grant what one entry excludes.
// dataAction selects DataActions / NotDataActions instead (data-plane
// operations such as Kubernetes reads on an AAD cluster).
func Allowed(perms []Permission, action string, dataAction bool) bool {
	for _, p := range perms {
		allow, deny := p.Actions, p.NotActions
		if dataAction {
			allow, deny = p.DataActions, p.NotDataActions
		}
		if anyMatches(allow, action) && !anyMatches(deny, action) {
			return true
		}
	}
	return false
}

// scopeCovers reports whether a role assignment at scope a applies at
// target scope t (both canonical, leading slash). An assignment applies at
// its own scope and everything below it: "/" covers everything, a
// subscription covers its resource groups and their resources, a resource
// its child resources. Management groups cover their descendant groups and
// the subscriptions in them; mgAncestors lists, for a subscription or
// management group scope, the management groups above it.
func scopeCovers(a, t string, mgAncestors func(scope string) []string) bool {
	if a == "/" {
		return true
	}
	al, tl := strings.ToLower(a), strings.ToLower(t)
	if tl == al || strings.HasPrefix(tl, al+"/") {
		return true
	}
	if !strings.HasPrefix(al, "/providers/microsoft.management/managementgroups/") || mgAncestors == nil {
		return false
	}
	mg := strings.TrimPrefix(al, "/providers/microsoft.management/managementgroups/")
	for _, anc := range mgAncestors(t) {
		if strings.EqualFold(anc, mg) {
			return true
		}
	}
	return false
}
