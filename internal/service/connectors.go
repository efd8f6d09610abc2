package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
)

// Connectors manages Azure connectors.
type Connectors struct{ *base }

// Connector is a stored connector with its decoded document.
type Connector struct {
	store.Connector
	Doc *connector.Connector
}

var (
	opConnectorCreate = op{"connector.create", "connector"}
	opConnectorUpdate = op{"connector.update", "connector"}
	opConnectorDelete = op{"connector.delete", "connector"}
	opConnectorRead   = op{"connector.read", "connector"}
	opConnectorStatus = op{"connector.status", "connector"}
)

// StatusPending is a connector's status until it is tested.
const StatusPending = "PENDING"

func connectorNotFound(sc scope.Scope, id string) error {
	return failure.New(failure.NotFound, "Connector with identifier [%s] in project [%s], org [%s] not found",
		id, nullable(sc.Project), nullable(sc.Org)).WithCode("RESOURCE_NOT_FOUND_EXCEPTION")
}

// nullable renders an absent scope part the way Harness's Java prints it.
func nullable(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

// Write is a connector create or update request.
type Write struct {
	Account string
	// QueryOrg and QueryProject are the optional query parameters; when set
	// they must agree with the document.
	QueryOrg, QueryProject string
	Body                   []byte
	MediaType              string // application/json or a YAML type; empty sniffs
	IfMatch                *int64 // update only
}

// parse decodes and normalises a document and works out its scope.
func (s *Connectors) parse(w Write) (*connector.Connector, scope.Scope, error) {
	doc, err := connector.Decode(w.Body, w.MediaType)
	if err != nil {
		return nil, scope.Scope{}, err
	}
	doc.Normalize()
	if doc.AccountIdentifier != "" && doc.AccountIdentifier != w.Account {
		return nil, scope.Scope{}, scopeMismatch()
	}
	doc.AccountIdentifier = ""
	sc := doc.Scope(w.Account)
	if (w.QueryOrg != "" || w.QueryProject != "") && (w.QueryOrg != sc.Org || w.QueryProject != sc.Project) {
		return nil, sc, scopeMismatch()
	}
	return doc, sc, nil
}

// validate applies the document rules and the scope rules of its secret
// references.
func validateDoc(doc *connector.Connector, sc scope.Scope) error {
	if err := doc.Validate(); err != nil {
		return err
	}
	if err := sc.Validate(); err != nil {
		return err
	}
	return doc.CheckSecretScopes(sc)
}

// visibleAccount refuses a principal of another account before anything
// else happens, so nothing about the request leaks.
func (b *base) visibleAccount(ctx context.Context, p access.Principal, account string, o op) error {
	acc := scope.Scope{Account: account}
	if strings.TrimSpace(account) == "" {
		return failure.InvalidField("accountIdentifier", "cannot be empty.")
	}
	if !p.Sees(acc) {
		b.denied(ctx, p, o, acc, "", access.ErrInvisible.Error())
		return accountNotFound(account)
	}
	return nil
}

// secretRefs checks that every referenced secret exists and is of the kind
// the field needs, and returns the references to record. Called inside the
// write's transaction, it holds each secret against deletion until commit
// (GetSecretForShare), so a concurrent Secrets.Delete either sees the new
// reference or has deleted the secret before it is read.
func (s *Connectors) secretRefs(ctx context.Context, sc scope.Scope, doc *connector.Connector) ([]store.SecretRef, error) {
	var fs failure.Fields
	var refs []store.SecretRef
	for _, u := range doc.SecretUses() {
		target, err := u.Ref.Resolve(sc)
		if err != nil {
			fs = append(fs, u.Problem("%s", failureMessage(err)))
			continue
		}
		x, err := s.st.GetSecretForShare(ctx, target, u.Ref.Identifier)
		switch {
		case errors.Is(err, store.ErrNotFound):
			fs = append(fs, u.NotFound(target))
			continue
		case err != nil:
			return nil, err
		case u.Kind != "" && x.Type != u.Kind:
			fs = append(fs, u.WrongKind(x.Type))
			continue
		}
		refs = append(refs, store.SecretRef{Field: u.Field, Scope: target, Identifier: u.Ref.Identifier})
	}
	return refs, fs.Err()
}

// prepare runs everything a create and an update share before the write:
// account visibility, parsing, authorization at the document's scope, then
// validation (so a key learns nothing about scopes it cannot write).
func (s *Connectors) prepare(ctx context.Context, p access.Principal, w Write, o op, notFound func(scope.Scope, string) error) (*connector.Connector, scope.Scope, error) {
	if err := s.visibleAccount(ctx, p, w.Account, o); err != nil {
		return nil, scope.Scope{}, err
	}
	doc, sc, err := s.parse(w)
	if err != nil {
		return nil, sc, err
	}
	if err := s.authorize(ctx, p, sc, access.Edit, o, doc.Identifier, notFound(sc, doc.Identifier)); err != nil {
		return nil, sc, err
	}
	if err := validateDoc(doc, sc); err != nil {
		return nil, sc, err
	}
	return doc, sc, nil
}

func (s *Connectors) encode(doc *connector.Connector) ([]byte, error) {
	body, err := connector.Encode(doc, "json")
	if err != nil {
		return nil, fmt.Errorf("encode connector: %w", err)
	}
	return body, nil
}

// Create validates and stores a new connector. Its status is PENDING until
// a connection test sets it.
func (s *Connectors) Create(ctx context.Context, p access.Principal, w Write) (Connector, error) {
	doc, sc, err := s.prepare(ctx, p, w, opConnectorCreate, func(sc scope.Scope, _ string) error { return scopeNotFoundFor(sc) })
	if err != nil {
		return Connector{}, err
	}
	now := s.now()
	var out Connector
	err = s.audited(ctx, p, opConnectorCreate, sc, doc.Identifier, "", func(ctx context.Context) error {
		if err := s.checkScope(ctx, sc); err != nil {
			return err
		}
		if _, err := s.st.GetConnector(ctx, sc, doc.Identifier); err == nil {
			return failure.New(failure.Conflict, "Connector: %s has been given an identifier: %s that already exists. Please enter a unique ID.",
				doc.Name, doc.Identifier).WithCode("DUPLICATE_FIELD")
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		refs, err := s.secretRefs(ctx, sc, doc)
		if err != nil {
			return err
		}
		body, err := s.encode(doc)
		if err != nil {
			return err
		}
		rec := store.Connector{Scope: sc, Identifier: doc.Identifier, Name: doc.Name, Description: doc.Description,
			Tags: doc.Tags, Type: doc.Type, Document: body, CreatedAt: now, UpdatedAt: now,
			Status: store.ConnectorStatus{Status: StatusPending}, SecretRefs: refs}
		if err := s.st.CreateConnector(ctx, &rec); err != nil {
			return err
		}
		out = Connector{Connector: rec, Doc: doc}
		return nil
	})
	if errors.Is(err, store.ErrDuplicate) {
		return out, failure.New(failure.Conflict, "Connector [%s] already exists", doc.Identifier).WithCode("DUPLICATE_FIELD")
	}
	if err == nil {
		s.changed(Change{Resource: "connector", Op: "create", Scope: sc, Identifier: doc.Identifier})
	}
	return out, err
}

func updateNotFound(sc scope.Scope, id string) error {
	return failure.New(failure.NotFound, "No connector exists with the identifier %s in %s", id, sc.Describe()).
		WithCode("RESOURCE_NOT_FOUND_EXCEPTION")
}

// Update replaces a connector with the document (Harness: "provide values
// for all fields"). The document's identifier and scope select the
// connector, so neither can change; neither can its type. The status is
// kept.
func (s *Connectors) Update(ctx context.Context, p access.Principal, w Write) (Connector, error) {
	doc, sc, err := s.prepare(ctx, p, w, opConnectorUpdate, updateNotFound)
	if err != nil {
		return Connector{}, err
	}
	var out Connector
	err = s.audited(ctx, p, opConnectorUpdate, sc, doc.Identifier, "", func(ctx context.Context) error {
		cur, err := s.st.GetConnector(ctx, sc, doc.Identifier)
		if errors.Is(err, store.ErrNotFound) {
			return updateNotFound(sc, doc.Identifier)
		}
		if err != nil {
			return err
		}
		if cur.Type != doc.Type {
			return failure.InvalidField("type", "No connector exists with the identifier %s in %s with type %s", doc.Identifier, sc.Describe(), doc.Type)
		}
		if w.IfMatch != nil && *w.IfMatch != cur.Version {
			return versionConflict("connector "+doc.Identifier, *w.IfMatch)
		}
		refs, err := s.secretRefs(ctx, sc, doc)
		if err != nil {
			return err
		}
		body, err := s.encode(doc)
		if err != nil {
			return err
		}
		cur.Name, cur.Description, cur.Tags, cur.Document, cur.SecretRefs, cur.UpdatedAt = doc.Name, doc.Description, doc.Tags, body, refs, s.now()
		if err := s.st.UpdateConnector(ctx, &cur); err != nil {
			return err
		}
		out = Connector{Connector: cur, Doc: doc}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return out, concurrentChange("connector " + doc.Identifier)
	}
	if err == nil {
		s.changed(Change{Resource: "connector", Op: "update", Scope: sc, Identifier: doc.Identifier})
	}
	return out, err
}

// view decodes a stored connector's document.
func view(rec store.Connector) (Connector, error) {
	doc, err := connector.Decode(rec.Document, "application/json")
	if err != nil {
		return Connector{}, fmt.Errorf("decode stored connector %q: %w", rec.Identifier, err)
	}
	// The account too: the credential cache keys connectors by their full
	// scope, so two accounts' connectors of the same name stay apart.
	doc.AccountIdentifier, doc.OrgIdentifier, doc.ProjectIdentifier = rec.Scope.Account, rec.Scope.Org, rec.Scope.Project
	return Connector{Connector: rec, Doc: doc}, nil
}

// Get returns a connector.
func (s *Connectors) Get(ctx context.Context, p access.Principal, sc scope.Scope, id string) (Connector, error) {
	if err := sc.Validate(); err != nil {
		return Connector{}, err
	}
	if err := s.authorize(ctx, p, sc, access.Read, opConnectorRead, id, connectorNotFound(sc, id)); err != nil {
		return Connector{}, err
	}
	rec, err := s.st.GetConnector(ctx, sc, id)
	if errors.Is(err, store.ErrNotFound) {
		return Connector{}, connectorNotFound(sc, id)
	}
	if err != nil {
		return Connector{}, err
	}
	return view(rec)
}

// ValidateUnique reports whether id is free at sc.
func (s *Connectors) ValidateUnique(ctx context.Context, p access.Principal, sc scope.Scope, id string) (bool, error) {
	if err := sc.Validate(); err != nil {
		return false, err
	}
	if err := s.authorize(ctx, p, sc, access.Read, opConnectorRead, id, scopeNotFoundFor(sc)); err != nil {
		return false, err
	}
	var fs failure.Fields
	checkIdentifier(&fs, "identifier", id, false)
	if err := fs.Err(); err != nil {
		return false, err
	}
	_, err := s.st.GetConnector(ctx, sc, id)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	return false, err
}

// ListConnectorsInput filters a connector list.
type ListConnectorsInput struct {
	SearchTerm  string
	Types       []string
	Identifiers []string
	// IncludeAllScopes adds the connectors of the scope's ancestors that the
	// key may read (includeAllConnectorsAvailableAtScope).
	IncludeAllScopes bool
	Page             PageRequest
}

// List lists connectors at sc.
func (s *Connectors) List(ctx context.Context, p access.Principal, sc scope.Scope, in ListConnectorsInput) (List[Connector], error) {
	if err := sc.Validate(); err != nil {
		return List[Connector]{}, err
	}
	pg, err := in.Page.page()
	if err != nil {
		return List[Connector]{}, err
	}
	if err := s.authorize(ctx, p, sc, access.Read, op{"connector.list", "connector"}, "", scopeNotFoundFor(sc)); err != nil {
		return List[Connector]{}, err
	}
	ms := []store.ScopeMatch{{Scope: sc}}
	if in.IncludeAllScopes {
		for _, a := range sc.Ancestors()[1:] {
			if p.Authorize(a, access.Read) == nil {
				ms = append(ms, store.ScopeMatch{Scope: a})
			}
		}
	}
	recs, total, err := s.st.ListConnectors(ctx, store.ListFilter{Scopes: ms, SearchTerm: in.SearchTerm, Types: in.Types,
		Identifiers: in.Identifiers, Page: pg})
	if err != nil {
		return List[Connector]{}, err
	}
	out := List[Connector]{Total: total, PageIndex: pg.Index, PageSize: pg.Size}
	for _, r := range recs {
		v, err := view(r)
		if err != nil {
			return List[Connector]{}, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

// Delete deletes a connector and its secret references. Nothing refers to
// connectors yet, so force changes nothing today.
func (s *Connectors) Delete(ctx context.Context, p access.Principal, sc scope.Scope, id string, force bool) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	if err := s.authorize(ctx, p, sc, access.Edit, opConnectorDelete, id, connectorNotFound(sc, id)); err != nil {
		return err
	}
	err := s.audited(ctx, p, opConnectorDelete, sc, id, "", func(ctx context.Context) error {
		return s.st.DeleteConnector(ctx, sc, id)
	})
	if errors.Is(err, store.ErrNotFound) {
		return connectorNotFound(sc, id)
	}
	if err == nil {
		s.changed(Change{Resource: "connector", Op: "delete", Scope: sc, Identifier: id})
	}
	return err
}

// SetStatus records a connection test's outcome (for the connection-test
// and heartbeat code). It keeps lastConnectedAt unless the test succeeded.
func (s *Connectors) SetStatus(ctx context.Context, p access.Principal, sc scope.Scope, id string, st store.ConnectorStatus) error {
	if err := s.authorize(ctx, p, sc, access.Read, opConnectorStatus, id, connectorNotFound(sc, id)); err != nil {
		return err
	}
	err := s.audited(ctx, p, opConnectorStatus, sc, id, st.Status, func(ctx context.Context) error {
		return s.st.SetConnectorStatus(ctx, sc, id, st)
	})
	if errors.Is(err, store.ErrNotFound) {
		return connectorNotFound(sc, id)
	}
	return err
}
