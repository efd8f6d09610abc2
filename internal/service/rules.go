package service

// Input rules shared by orgs, projects, secrets and API keys. These follow
// Harness's validators (reference/harness.md §1.1–1.2). When the identifier
// package (branch conn) lands on main, these functions delegate to it.

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/azimuthcd/azimuth/internal/failure"
)

var (
	entityIDRE = regexp.MustCompile(`^[a-zA-Z_][0-9a-zA-Z_$]{0,127}$`)
	secretIDRE = regexp.MustCompile(`^[a-zA-Z_][0-9a-zA-Z_$-]{0,127}$`)
	entityName = regexp.MustCompile(`^[0-9a-zA-Z_ ./-]*$`)
)

// reserved are Harness's reserved identifiers (EntityIdentifierValidator).
var reserved = map[string]bool{}

func init() {
	for _, w := range strings.Fields("or and eq ne lt gt le ge div mod not null true false new var return step parallel stepGroup org account class shellScriptProvisioner") {
		reserved[w] = true
	}
}

func checkIdentifier(fs *failure.Fields, field, id string, allowDash bool) {
	re, msg := entityIDRE, "can be 128 characters long and can only contain alphanumeric, underscore and $ characters, and not start with a number or $"
	if allowDash {
		re, msg = secretIDRE, "can be 128 characters long and can only contain alphanumeric, underscore, hyphen and $ characters, and not start with a number, hyphen or $"
	}
	switch {
	case strings.TrimSpace(id) == "":
		fs.Add(field, "cannot be empty")
	case !re.MatchString(id):
		fs.Add(field, "%s", msg)
	case reserved[id]:
		fs.Add(field, "%s is a keyword, so cannot be used", id)
	}
}

func checkName(fs *failure.Fields, field, name string) {
	switch {
	case strings.TrimSpace(name) == "":
		fs.Add(field, "cannot be empty.")
	case utf8.RuneCountInString(name) > 128:
		fs.Add(field, "cannot be more than 128 characters long.")
	case !entityName.MatchString(name):
		fs.Add(field, "can only contain alphanumeric, dot, hyphen, forward slash and underscore characters.")
	}
}

func checkDescription(fs *failure.Fields, field, d string) {
	if utf8.RuneCountInString(d) > 1024 {
		fs.Add(field, "cannot be more than 1024 characters long.")
	}
}

func checkTags(fs *failure.Fields, field string, tags map[string]string) {
	if len(tags) > 128 {
		fs.Add(field, "cannot have more than 128 tags.")
	}
	for k, v := range tags {
		switch {
		case strings.TrimSpace(k) == "":
			fs.Add(field, "tag keys cannot be empty.")
		case len(k) > 128 || len(v) > 1024:
			fs.Add(field+"."+k, "tag keys can be 128 and values 1024 characters long.")
		case strings.Contains(k, "<+") || strings.Contains(v, "<+"):
			fs.Add(field+"."+k, "expressions (<+...>) are not supported in tags.")
		}
	}
}

func normTags(t map[string]string) map[string]string {
	out := make(map[string]string, len(t))
	for k, v := range t {
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}
