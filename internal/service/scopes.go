package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
)

// DefaultOrg is the organization every account starts with.
const DefaultOrg = "default"

// Scopes manages accounts, organizations and projects.
type Scopes struct{ *base }

// Bootstrap creates the account with its default organization and a first
// admin API key, once. It returns the key's token when it created the
// account; on every later start (or when another replica was first) it
// returns created == false and no token.
func (s *Scopes) Bootstrap(ctx context.Context, account string) (tok access.Token, keyID string, created bool, err error) {
	return s.BootstrapSaving(ctx, account, nil)
}

// BootstrapSaving is Bootstrap with save called on the new admin key inside
// the transaction, before it commits: when save fails nothing is created
// (the next start tries again), so the only admin key is never committed
// without having been kept somewhere. The caller undoes what save did if
// BootstrapSaving then fails.
func (s *Scopes) BootstrapSaving(ctx context.Context, account string, save func(tok access.Token, keyID string) error) (tok access.Token, keyID string, created bool, err error) {
	var fs failure.Fields
	checkIdentifier(&fs, "account", account, false)
	if err := fs.Err(); err != nil {
		return tok, "", false, err
	}
	if _, err := s.st.GetAccount(ctx, account); err == nil {
		return tok, "", false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return tok, "", false, err
	}
	sys := access.System("bootstrap")
	acc := scope.Scope{Account: account}
	now := s.now()
	err = s.st.InTx(ctx, func(ctx context.Context) error {
		if err := s.st.CreateAccount(ctx, store.Account{Identifier: account, Name: account, CreatedAt: now}); err != nil {
			return err
		}
		if err := s.st.CreateOrg(ctx, &store.Org{Account: account, Identifier: DefaultOrg, Name: DefaultOrg,
			Description: "Default organization", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		id, t, err := access.NewKey(account)
		if err != nil {
			return err
		}
		if err := s.st.CreateAPIKey(ctx, &store.APIKey{ID: id, Name: "admin", Scope: acc, Role: string(access.Admin),
			Hash: t.Hash(), CreatedAt: now}); err != nil {
			return err
		}
		tok, keyID = t, id
		for _, e := range []struct {
			o  op
			sc scope.Scope
			id string
		}{
			{op{"account.create", "account"}, acc, account},
			{op{"org.create", "organization"}, acc, DefaultOrg},
			{op{"apikey.create", "apikey"}, acc, id},
		} {
			if err := s.st.AppendAudit(ctx, s.event(sys, e.o, e.sc, e.id, "success", "first start")); err != nil {
				return err
			}
		}
		if save != nil {
			if err := save(t, id); err != nil {
				return fmt.Errorf("keep the admin API key: %w", err)
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrDuplicate) {
		return access.Token{}, "", false, nil // another replica bootstrapped it first
	}
	if err != nil {
		return access.Token{}, "", false, fmt.Errorf("bootstrap account %q: %w", account, err)
	}
	return tok, keyID, true, nil
}

// OrgInput is the body of an org create or update.
type OrgInput struct {
	Identifier  string
	Name        string
	Description string
	Tags        map[string]string
}

func (in *OrgInput) validate() error {
	in.Identifier, in.Name = strings.TrimSpace(in.Identifier), strings.TrimSpace(in.Name)
	in.Tags = normTags(in.Tags)
	var fs failure.Fields
	checkIdentifier(&fs, "identifier", in.Identifier, false)
	checkName(&fs, "name", in.Name)
	checkDescription(&fs, "description", in.Description)
	checkTags(&fs, "tags", in.Tags)
	return fs.Err()
}

var (
	opOrgCreate = op{"org.create", "organization"}
	opOrgUpdate = op{"org.update", "organization"}
	opOrgDelete = op{"org.delete", "organization"}
	opOrgRead   = op{"org.read", "organization"}
)

// CreateOrg creates an organization in account.
func (s *Scopes) CreateOrg(ctx context.Context, p access.Principal, account string, in OrgInput) (store.Org, error) {
	acc := scope.Scope{Account: account}
	if err := s.authorize(ctx, p, acc, access.Edit, opOrgCreate, in.Identifier, accountNotFound(account)); err != nil {
		return store.Org{}, err
	}
	if err := in.validate(); err != nil {
		return store.Org{}, err
	}
	now := s.now()
	o := store.Org{Account: account, Identifier: in.Identifier, Name: in.Name, Description: in.Description, Tags: in.Tags,
		CreatedAt: now, UpdatedAt: now}
	err := s.audited(ctx, p, opOrgCreate, acc, o.Identifier, "", func(ctx context.Context) error {
		return s.st.CreateOrg(ctx, &o)
	})
	switch {
	case errors.Is(err, store.ErrDuplicate):
		return o, failure.New(failure.Conflict, "An organization with identifier [%s] is already present", in.Identifier).WithCode("DUPLICATE_FIELD")
	case errors.Is(err, store.ErrNotFound):
		return o, accountNotFound(account)
	}
	return o, err
}

func accountNotFound(account string) error {
	return failure.New(failure.NotFound, "Account with identifier [%s] not found", account).WithCode("RESOURCE_NOT_FOUND_EXCEPTION")
}

// GetOrg returns an organization the principal can see (its own scope's
// ancestors included).
func (s *Scopes) GetOrg(ctx context.Context, p access.Principal, account, id string) (store.Org, error) {
	sc := scope.Scope{Account: account, Org: id}
	if !p.Sees(sc) {
		s.denied(ctx, p, opOrgRead, sc, id, access.ErrInvisible.Error())
		return store.Org{}, orgNotFound(id)
	}
	o, err := s.st.GetOrg(ctx, account, id)
	if errors.Is(err, store.ErrNotFound) {
		return o, orgNotFound(id)
	}
	return o, err
}

// ListOrgsInput filters the list of organizations.
type ListOrgsInput struct {
	SearchTerm  string
	Identifiers []string
	Page        PageRequest
}

// ListOrgs lists the organizations of account the principal can see.
func (s *Scopes) ListOrgs(ctx context.Context, p access.Principal, account string, in ListOrgsInput) (List[store.Org], error) {
	pg, err := in.Page.page()
	if err != nil {
		return List[store.Org]{}, err
	}
	acc := scope.Scope{Account: account}
	if !p.Sees(acc) {
		s.denied(ctx, p, op{"org.list", "organization"}, acc, "", access.ErrInvisible.Error())
		return List[store.Org]{}, accountNotFound(account)
	}
	f := store.ListFilter{SearchTerm: in.SearchTerm, Identifiers: in.Identifiers, Page: pg}
	if !p.IsSystem() && p.Scope.Level() != scope.Account {
		// A key below the account sees only its own organization.
		if len(f.Identifiers) > 0 && !contains(f.Identifiers, p.Scope.Org) {
			return List[store.Org]{PageIndex: pg.Index, PageSize: pg.Size}, nil
		}
		f.Identifiers = []string{p.Scope.Org}
	}
	items, total, err := s.st.ListOrgs(ctx, account, f)
	return List[store.Org]{Items: items, Total: total, PageIndex: pg.Index, PageSize: pg.Size}, err
}

// UpdateOrg replaces an organization's name, description and tags. A
// non-nil ifMatch must be the current version.
func (s *Scopes) UpdateOrg(ctx context.Context, p access.Principal, account, id string, in OrgInput, ifMatch *int64) (store.Org, error) {
	sc := scope.Scope{Account: account, Org: id}
	if err := s.authorize(ctx, p, sc, access.Edit, opOrgUpdate, id, orgNotFound(id)); err != nil {
		return store.Org{}, err
	}
	if in.Identifier == "" {
		in.Identifier = id
	}
	if err := in.validate(); err != nil {
		return store.Org{}, err
	}
	if in.Identifier != id {
		return store.Org{}, failure.InvalidField("identifier", "cannot be changed: the path names organization %q and the body %q.", id, in.Identifier)
	}
	var o store.Org
	err := s.audited(ctx, p, opOrgUpdate, scope.Scope{Account: account}, id, "", func(ctx context.Context) error {
		cur, err := s.st.GetOrg(ctx, account, id)
		if err != nil {
			return err
		}
		if ifMatch != nil && *ifMatch != cur.Version {
			return versionConflict("organization "+id, *ifMatch)
		}
		cur.Name, cur.Description, cur.Tags, cur.UpdatedAt = in.Name, in.Description, in.Tags, s.now()
		o = cur
		return s.st.UpdateOrg(ctx, &o)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return o, orgNotFound(id)
	case errors.Is(err, store.ErrConflict):
		return o, concurrentChange("organization " + id)
	}
	return o, err
}

// DeleteOrg deletes an empty organization. Azimuth refuses to delete one
// that still holds projects, secrets, connectors or API keys (Harness
// deletes them asynchronously; we say what is left instead).
func (s *Scopes) DeleteOrg(ctx context.Context, p access.Principal, account, id string, ifMatch *int64) error {
	sc := scope.Scope{Account: account, Org: id}
	if !p.Sees(sc) {
		s.denied(ctx, p, opOrgDelete, sc, id, access.ErrInvisible.Error())
		return orgNotFound(id)
	}
	if err := s.authorize(ctx, p, scope.Scope{Account: account}, access.Edit, opOrgDelete, id, orgNotFound(id)); err != nil {
		return err
	}
	if id == DefaultOrg {
		return failure.New(failure.Invalid, "Delete operation not supported for Default Organization").WithCode("INVALID_REQUEST")
	}
	err := s.audited(ctx, p, opOrgDelete, scope.Scope{Account: account}, id, "", func(ctx context.Context) error {
		if ifMatch != nil {
			cur, err := s.st.GetOrg(ctx, account, id)
			if err != nil {
				return err
			}
			if cur.Version != *ifMatch {
				return versionConflict("organization "+id, *ifMatch)
			}
		}
		return s.st.DeleteOrg(ctx, account, id)
	})
	return scopeDeleteErr(err, orgNotFound(id))
}

func scopeDeleteErr(err, notFound error) error {
	var holds *store.HoldsError
	switch {
	case errors.As(err, &holds):
		return failure.New(failure.Conflict, "%s; delete them first", holds.Error()).WithCode("ENTITY_REFERENCE_EXCEPTION")
	case errors.Is(err, store.ErrNotFound):
		return notFound
	}
	return err
}

// ProjectInput is the body of a project create or update.
type ProjectInput struct {
	Identifier    string
	OrgIdentifier string // from the body; must agree with the query when both are given
	Name          string
	Description   string
	Color         string
	Modules       []string
	Tags          map[string]string
}

var colorRE = func(c string) bool {
	if c == "" {
		return true
	}
	if len(c) != 7 || c[0] != '#' {
		return false
	}
	for _, r := range c[1:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

func (in *ProjectInput) validate() error {
	in.Identifier, in.Name = strings.TrimSpace(in.Identifier), strings.TrimSpace(in.Name)
	in.Tags = normTags(in.Tags)
	var fs failure.Fields
	checkIdentifier(&fs, "identifier", in.Identifier, false)
	checkName(&fs, "name", in.Name)
	checkDescription(&fs, "description", in.Description)
	checkTags(&fs, "tags", in.Tags)
	if !colorRE(in.Color) {
		fs.Add("color", "must be a colour like #0063f7, got %q.", in.Color)
	}
	for i, m := range in.Modules {
		checkText(&fs, fmt.Sprintf("modules[%d]", i), m)
	}
	return fs.Err()
}

var (
	opProjectCreate = op{"project.create", "project"}
	opProjectUpdate = op{"project.update", "project"}
	opProjectDelete = op{"project.delete", "project"}
	opProjectRead   = op{"project.read", "project"}
)

// resolveOrg picks the project's org from the query and the body: Harness
// defaults it to "default"; when both are given they must agree.
func resolveOrg(query, body string) (string, error) {
	query, body = strings.TrimSpace(query), strings.TrimSpace(body)
	switch {
	case query != "" && body != "" && query != body:
		return "", scopeMismatch()
	case query != "":
		return query, nil
	case body != "":
		return body, nil
	}
	return DefaultOrg, nil
}

func scopeMismatch() error {
	return failure.New(failure.Invalid, "Invalid request, scope in payload and params do not match.").WithCode("INVALID_REQUEST")
}

// CreateProject creates a project in an organization.
func (s *Scopes) CreateProject(ctx context.Context, p access.Principal, account, queryOrg string, in ProjectInput) (store.Project, error) {
	org, err := resolveOrg(queryOrg, in.OrgIdentifier)
	if err != nil {
		return store.Project{}, err
	}
	osc := scope.Scope{Account: account, Org: org}
	if err := s.authorize(ctx, p, osc, access.Edit, opProjectCreate, in.Identifier, orgNotFound(org)); err != nil {
		return store.Project{}, err
	}
	if err := in.validate(); err != nil {
		return store.Project{}, err
	}
	now := s.now()
	pr := store.Project{Account: account, Org: org, Identifier: in.Identifier, Name: in.Name, Description: in.Description,
		Color: in.Color, Modules: in.Modules, Tags: in.Tags, CreatedAt: now, UpdatedAt: now}
	err = s.audited(ctx, p, opProjectCreate, osc, pr.Identifier, "", func(ctx context.Context) error {
		return s.st.CreateProject(ctx, &pr)
	})
	switch {
	case errors.Is(err, store.ErrDuplicate):
		return pr, failure.New(failure.Conflict, "A project with identifier [%s] and orgIdentifier [%s] is already present", in.Identifier, org).WithCode("DUPLICATE_FIELD")
	case errors.Is(err, store.ErrNotFound):
		return pr, orgNotFound(org)
	}
	return pr, err
}

// GetProject returns a project the principal can see.
func (s *Scopes) GetProject(ctx context.Context, p access.Principal, account, org, id string) (store.Project, error) {
	if org == "" {
		org = DefaultOrg
	}
	sc := scope.Scope{Account: account, Org: org, Project: id}
	if !p.Sees(sc) {
		s.denied(ctx, p, opProjectRead, sc, id, access.ErrInvisible.Error())
		return store.Project{}, projectNotFound(org, id)
	}
	pr, err := s.st.GetProject(ctx, account, org, id)
	if errors.Is(err, store.ErrNotFound) {
		return pr, projectNotFound(org, id)
	}
	return pr, err
}

// ListProjectsInput filters the list of projects.
type ListProjectsInput struct {
	Org         string // empty: every org the principal sees
	SearchTerm  string
	Identifiers []string
	Page        PageRequest
}

// ListProjects lists projects the principal can see.
func (s *Scopes) ListProjects(ctx context.Context, p access.Principal, account string, in ListProjectsInput) (List[store.Project], error) {
	pg, err := in.Page.page()
	if err != nil {
		return List[store.Project]{}, err
	}
	sc := scope.Scope{Account: account, Org: in.Org}
	if !p.Sees(sc) {
		s.denied(ctx, p, op{"project.list", "project"}, sc, "", access.ErrInvisible.Error())
		if in.Org != "" {
			return List[store.Project]{}, orgNotFound(in.Org)
		}
		return List[store.Project]{}, accountNotFound(account)
	}
	org := in.Org
	f := store.ListFilter{SearchTerm: in.SearchTerm, Identifiers: in.Identifiers, Page: pg}
	if !p.IsSystem() {
		switch p.Scope.Level() {
		case scope.Org:
			org = p.Scope.Org
		case scope.Project:
			org = p.Scope.Org
			if len(f.Identifiers) > 0 && !contains(f.Identifiers, p.Scope.Project) {
				return List[store.Project]{PageIndex: pg.Index, PageSize: pg.Size}, nil
			}
			f.Identifiers = []string{p.Scope.Project}
		}
	}
	items, total, err := s.st.ListProjects(ctx, account, org, f)
	return List[store.Project]{Items: items, Total: total, PageIndex: pg.Index, PageSize: pg.Size}, err
}

// UpdateProject replaces a project's mutable fields.
func (s *Scopes) UpdateProject(ctx context.Context, p access.Principal, account, queryOrg, id string, in ProjectInput, ifMatch *int64) (store.Project, error) {
	org, err := resolveOrg(queryOrg, in.OrgIdentifier)
	if err != nil {
		return store.Project{}, err
	}
	sc := scope.Scope{Account: account, Org: org, Project: id}
	if err := s.authorize(ctx, p, sc, access.Edit, opProjectUpdate, id, projectNotFound(org, id)); err != nil {
		return store.Project{}, err
	}
	if in.Identifier == "" {
		in.Identifier = id
	}
	if err := in.validate(); err != nil {
		return store.Project{}, err
	}
	if in.Identifier != id {
		return store.Project{}, failure.InvalidField("identifier", "cannot be changed: the path names project %q and the body %q.", id, in.Identifier)
	}
	var pr store.Project
	err = s.audited(ctx, p, opProjectUpdate, sc.Parent(), id, "", func(ctx context.Context) error {
		cur, err := s.st.GetProject(ctx, account, org, id)
		if err != nil {
			return err
		}
		if ifMatch != nil && *ifMatch != cur.Version {
			return versionConflict("project "+id, *ifMatch)
		}
		cur.Name, cur.Description, cur.Color, cur.Modules, cur.Tags, cur.UpdatedAt = in.Name, in.Description, in.Color, in.Modules, in.Tags, s.now()
		pr = cur
		return s.st.UpdateProject(ctx, &pr)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return pr, projectNotFound(org, id)
	case errors.Is(err, store.ErrConflict):
		return pr, concurrentChange("project " + id)
	}
	return pr, err
}

// DeleteProject deletes an empty project.
func (s *Scopes) DeleteProject(ctx context.Context, p access.Principal, account, org, id string, ifMatch *int64) error {
	if org == "" {
		org = DefaultOrg
	}
	sc := scope.Scope{Account: account, Org: org, Project: id}
	if !p.Sees(sc) {
		s.denied(ctx, p, opProjectDelete, sc, id, access.ErrInvisible.Error())
		return projectNotFound(org, id)
	}
	if err := s.authorize(ctx, p, sc.Parent(), access.Edit, opProjectDelete, id, projectNotFound(org, id)); err != nil {
		return err
	}
	err := s.audited(ctx, p, opProjectDelete, sc.Parent(), id, "", func(ctx context.Context) error {
		if ifMatch != nil {
			cur, err := s.st.GetProject(ctx, account, org, id)
			if err != nil {
				return err
			}
			if cur.Version != *ifMatch {
				return versionConflict("project "+id, *ifMatch)
			}
		}
		return s.st.DeleteProject(ctx, account, org, id)
	})
	return scopeDeleteErr(err, projectNotFound(org, id))
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
