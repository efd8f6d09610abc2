package service

// Input rules shared by orgs, projects, secrets and API keys: Harness's
// validators (reference/harness.md §1.1–1.2), from package identifier.

import (
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
	if utf8.RuneCountInString(d) > 1024 {
		fs.Add(field, "cannot be more than 1024 characters long.")
	}
}

func checkTags(fs *failure.Fields, field string, tags map[string]string) {
	*fs = append(*fs, identifier.CheckTags(field, tags)...)
}

func normTags(t map[string]string) map[string]string {
	out := make(map[string]string, len(t))
	for k, v := range t {
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}
