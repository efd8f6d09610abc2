package service

// Input rules shared by orgs, projects, secrets and API keys: Harness's
// validators (reference/harness.md §1.1–1.2), from package identifier.

import (
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/identifier"
)

func checkIdentifier(fs *failure.Fields, field, id string, allowDash bool) {
	check := identifier.Check
	if allowDash {
		check = identifier.CheckSecret
	}
	if err := check(id); err != nil {
		fs.Add(field, "%s", identifier.Message(err))
	}
}

func checkName(fs *failure.Fields, field, name string) {
	if err := identifier.CheckName(name); err != nil {
		fs.Add(field, "%s", identifier.Message(err))
	}
}

func checkDescription(fs *failure.Fields, field, d string) {
	switch {
	case !checkText(fs, field, d):
	case utf8.RuneCountInString(d) > 1024:
		fs.Add(field, "cannot be more than 1024 characters long.")
	}
}

// checkText requires s to be text: valid UTF-8 without NUL characters,
// which PostgreSQL refuses in a text column (and nothing needs). It reports
// whether s passed.
func checkText(fs *failure.Fields, field, s string) bool {
	switch {
	case !utf8.ValidString(s):
		fs.Add(field, "must be valid UTF-8 text.")
	case strings.IndexByte(s, 0) >= 0:
		fs.Add(field, "cannot contain a NUL character.")
	default:
		return true
	}
	return false
}

func checkTags(fs *failure.Fields, field string, tags map[string]string) {
	*fs = append(*fs, identifier.CheckTags(field, tags)...)
	// CheckTags refuses NUL; text that is not UTF-8 would be stored
	// altered (JSON turns it into U+FFFD), so it is refused too.
	keys := make([]string, 0, len(tags))
	for k, v := range tags {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !utf8.ValidString(k) {
			fs.Add(field, "has a tag key that is not valid UTF-8 text.")
		} else {
			fs.Add(identifier.TagPath(field, k), "tag value must be valid UTF-8 text.")
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
