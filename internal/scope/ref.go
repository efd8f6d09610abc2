package scope

import (
	"fmt"
	"strings"

	"github.com/azimuthcd/azimuth/internal/failure"
)

// Ref is a reference to an entity (a secret, a connector) in Harness's string
// form: "id" names the project-level entity of the referrer's own org and
// project, "org.id" the referrer's organization, "account.id" the account.
type Ref struct {
	Level      Level
	Identifier string
}

// ParseRef parses Harness's reference grammar. The prefix is matched without
// regard to case; "project.id" is refused as Harness refuses it.
func ParseRef(s string) (Ref, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Ref{}, failure.New(failure.Invalid, "Invalid Secret Reference")
	}
	prefix, id, found := strings.Cut(s, ".")
	if !found {
		return Ref{Level: Project, Identifier: s}, nil
	}
	switch strings.ToLower(prefix) {
	case "account":
		return Ref{Level: Account, Identifier: id}, checkRefID(id)
	case "org":
		return Ref{Level: Org, Identifier: id}, checkRefID(id)
	case "project":
		return Ref{}, failure.New(failure.Invalid, "Invalid Secret Reference")
	}
	return Ref{}, failure.New(failure.Invalid, "No scope found for string: %s", prefix)
}

func checkRefID(id string) error {
	if strings.TrimSpace(id) == "" {
		return failure.New(failure.Invalid, "Invalid Secret Reference")
	}
	return nil
}

// String renders the reference back in Harness's form.
func (r Ref) String() string {
	switch r.Level {
	case Account:
		return "account." + r.Identifier
	case Org:
		return "org." + r.Identifier
	}
	return r.Identifier
}

// CheckUsableFrom applies Harness's compatibility rule for a reference held by
// an entity at scope owner: an account entity may use only account
// references, an org entity may not use project references, a project entity
// may use any. The messages are Harness's.
func (r Ref) CheckUsableFrom(owner Scope) error {
	switch owner.Level() {
	case Account:
		if r.Level != Account {
			return failure.New(failure.Invalid, "The %s level secret cannot be used at account level", r.Level)
		}
	case Org:
		if r.Level == Project {
			return failure.New(failure.Invalid, "The project level secret cannot be used at a org level")
		}
	}
	return nil
}

// Resolve returns the scope the referenced entity lives in, seen from an
// entity at scope owner. It fails where CheckUsableFrom fails.
func (r Ref) Resolve(owner Scope) (Scope, error) {
	if err := r.CheckUsableFrom(owner); err != nil {
		return Scope{}, err
	}
	return owner.AtLevel(r.Level), nil
}

// RefTo returns the shortest reference by which an entity at owner names an
// entity with identifier id living at target. target must contain owner.
func RefTo(owner, target Scope, id string) (Ref, error) {
	if !target.Contains(owner) {
		return Ref{}, fmt.Errorf("scope %s is not visible from %s", target, owner)
	}
	return Ref{Level: target.Level(), Identifier: id}, nil
}
