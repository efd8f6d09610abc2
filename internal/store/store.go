// Package store is the persistence contract: record types, one small
// interface per aggregate, the sentinel errors every implementation returns,
// and the transaction helper. The only implementation is store/sqlstore
// (SQLite and PostgreSQL). Services depend on these interfaces, never on
// sqlstore.
package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/azimuthcd/azimuth/internal/audit"
	"github.com/azimuthcd/azimuth/internal/scope"
)

// Sentinel errors. Implementations wrap them with the operation; callers test
// with errors.Is.
var (
	ErrNotFound   = errors.New("not found")
	ErrDuplicate  = errors.New("already exists")
	ErrConflict   = errors.New("changed since it was read (version conflict)")
	ErrReferenced = errors.New("still referenced")
	// ErrInvalid is a value the database refused as data (PostgreSQL's
	// SQLSTATE class 22: a NUL byte or invalid UTF-8 in text, a number out
	// of range). Services validate input first; this is the backstop.
	ErrInvalid = errors.New("value refused by the database")
)

// HoldsError is the ErrReferenced of a scope deletion: it says what still
// lives in the scope.
type HoldsError struct {
	Scope scope.Scope
	What  []string // e.g. "2 projects", "1 secrets"
}

func (e *HoldsError) Error() string {
	return e.Scope.Describe() + " still holds " + strings.Join(e.What, ", ")
}

// Unwrap makes errors.Is(err, ErrReferenced) hold.
func (e *HoldsError) Unwrap() error { return ErrReferenced }

// Tx runs fn in one transaction carried by the context: every store call
// made with the context fn receives joins it, so a change and its audit
// event commit together or not at all. Nested calls join the outer
// transaction. A nil return commits; an error rolls back and is returned.
type Tx interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Page selects a window of a list. PageSize 0 means the implementation's
// default; callers validate bounds.
type Page struct {
	Index int
	Size  int
}

// Offset is the number of rows before the page.
func (p Page) Offset() int { return p.Index * p.Size }

// ScopeMatch selects records in one scope, or (Subtree) in it and every scope
// below it.
type ScopeMatch struct {
	Scope   scope.Scope
	Subtree bool
}

// Account is the top of the scope tree.
type Account struct {
	Identifier string
	Name       string
	CreatedAt  time.Time
}

// Org is an organization in an account.
type Org struct {
	Account     string
	Identifier  string
	Name        string
	Description string
	Tags        map[string]string
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Scope returns the org's own scope.
func (o Org) Scope() scope.Scope { return scope.Scope{Account: o.Account, Org: o.Identifier} }

// Project is a project in an organization.
type Project struct {
	Account     string
	Org         string
	Identifier  string
	Name        string
	Description string
	Color       string
	Modules     []string
	Tags        map[string]string
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Scope returns the project's own scope.
func (p Project) Scope() scope.Scope {
	return scope.Scope{Account: p.Account, Org: p.Org, Project: p.Identifier}
}

// ListFilter narrows a list of orgs, projects, secrets or connectors.
type ListFilter struct {
	Scopes      []ScopeMatch // at least one; ignored by orgs (account only) and projects (org only)
	SearchTerm  string       // case-insensitive substring of name, identifier or tags
	Types       []string     // secret or connector types; empty means all
	Identifiers []string     // exact identifiers; empty means all
	Page        Page
}

// Secret is a secret's metadata and its ciphertext. The plaintext never
// reaches the store.
type Secret struct {
	Scope         scope.Scope
	Identifier    string
	Name          string
	Description   string
	Tags          map[string]string
	Type          string // SecretText or SecretFile
	SecretManager string // harnessSecretManager
	ValueType     string // Inline for text secrets, empty for files
	KeyID         uint32 // the data key that encrypted Ciphertext
	Ciphertext    []byte
	Version       int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// SecretRef is one secret a connector refers to, in the secret's own scope.
type SecretRef struct {
	Field      string // the connector field, e.g. "secretKey"
	Scope      scope.Scope
	Identifier string
}

// ConnectorError is one entry of a connector status's errors list.
type ConnectorError struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Code    int    `json:"code"`
	// Hint says what to do (Azimuth's addition to Harness's ErrorDetail).
	Hint string `json:"hint,omitempty"`
	// Level is "WARNING" for something that works now but will not for
	// long (a certificate about to expire); empty for an error.
	Level string `json:"level,omitempty"`
}

// ConnectorStatus is the connectivity record Harness returns with a
// connector. Zero times mean "never".
type ConnectorStatus struct {
	Status          string // PENDING until tested; SUCCESS, FAILURE, PARTIAL, UNKNOWN
	ErrorSummary    string
	Errors          []ConnectorError
	TestedAt        time.Time
	LastTestedAt    time.Time
	LastConnectedAt time.Time
}

// Connector is a stored connector: its scope and identity, the normalised
// document, its status and the secrets it refers to.
type Connector struct {
	Scope       scope.Scope
	Identifier  string
	Name        string
	Description string
	Tags        map[string]string
	Type        string
	Document    []byte // the normalised connector JSON ({"connector": {...}})
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Status      ConnectorStatus
	SecretRefs  []SecretRef
}

// ConnectorID names a connector.
type ConnectorID struct {
	Scope      scope.Scope
	Identifier string
}

// APIKey is a stored API key: never the key itself, only its hash.
type APIKey struct {
	ID        string
	Name      string
	Scope     scope.Scope
	Role      string
	Hash      []byte
	CreatedAt time.Time
	CreatedBy string // the id of the key that created it; empty for the first admin key
	RevokedAt time.Time
}

// Revoked reports whether the key was revoked.
func (k APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// DataKey is one key of the secrets keyring, wrapped (encrypted) by the
// master key.
type DataKey struct {
	ID        uint32
	Wrapped   []byte
	Active    bool
	CreatedAt time.Time
}

// AuditFilter narrows the audit list. Scopes limits events to those scopes
// (and their subtrees when Subtree is set).
type AuditFilter struct {
	Scopes       []ScopeMatch
	ResourceType string
	Action       string
	Outcome      string
	ActorKeyID   string
	Identifier   string
	Since, Until time.Time
	Page         Page
}

// Accounts stores accounts.
type Accounts interface {
	CreateAccount(ctx context.Context, a Account) error
	GetAccount(ctx context.Context, id string) (Account, error)
}

// Orgs stores organizations.
type Orgs interface {
	CreateOrg(ctx context.Context, o *Org) error
	GetOrg(ctx context.Context, account, id string) (Org, error)
	// ListOrgs lists the account's orgs; only SearchTerm, Identifiers and
	// Page of f apply.
	ListOrgs(ctx context.Context, account string, f ListFilter) ([]Org, int, error)
	// UpdateOrg replaces name, description and tags when o.Version is the
	// stored version, and bumps it; ErrConflict otherwise.
	UpdateOrg(ctx context.Context, o *Org) error
	// DeleteOrg deletes an org that holds no projects, secrets, connectors or
	// API keys; ErrReferenced otherwise.
	DeleteOrg(ctx context.Context, account, id string) error
}

// Projects stores projects.
type Projects interface {
	CreateProject(ctx context.Context, p *Project) error
	GetProject(ctx context.Context, account, org, id string) (Project, error)
	// ListProjects lists projects of one org, or of every org when org is "".
	ListProjects(ctx context.Context, account, org string, f ListFilter) ([]Project, int, error)
	UpdateProject(ctx context.Context, p *Project) error
	DeleteProject(ctx context.Context, account, org, id string) error
	// ScopeExists reports whether sc's account, org and project exist. Within
	// a transaction on PostgreSQL it also locks them against deletion until
	// the transaction ends.
	ScopeExists(ctx context.Context, sc scope.Scope) (bool, error)
}

// Secrets stores secret metadata and ciphertext.
type Secrets interface {
	CreateSecret(ctx context.Context, s *Secret) error
	GetSecret(ctx context.Context, sc scope.Scope, id string) (Secret, error)
	// GetSecretForShare is GetSecret for a secret about to be referred to:
	// within a transaction on PostgreSQL it also locks the secret against
	// deletion until the transaction ends (FOR SHARE), so a delete that
	// checks references waits for the reference and sees it.
	GetSecretForShare(ctx context.Context, sc scope.Scope, id string) (Secret, error)
	ListSecrets(ctx context.Context, f ListFilter) ([]Secret, int, error)
	// UpdateSecret replaces everything but the identity when s.Version is the
	// stored version, and bumps it.
	UpdateSecret(ctx context.Context, s *Secret) error
	// DeleteSecret deletes a secret. Within a transaction the row stays
	// locked until it ends: a caller that deletes first and then checks
	// references (ConnectorsReferencing) sees every reference committed by a
	// writer that held the secret FOR SHARE.
	DeleteSecret(ctx context.Context, sc scope.Scope, id string) error
	// SecretsNotUnderKey returns up to limit secrets whose ciphertext was made
	// with a key other than keyID, for re-encryption.
	SecretsNotUnderKey(ctx context.Context, keyID uint32, limit int) ([]Secret, error)
	// ReplaceCiphertext swaps a secret's ciphertext when its version is still
	// version, without bumping it (re-encryption does not change the value);
	// ErrConflict when the secret changed meanwhile.
	ReplaceCiphertext(ctx context.Context, sc scope.Scope, id string, version int64, keyID uint32, ct []byte) error
	// CountSecretsByKey returns how many secrets each data key encrypts.
	CountSecretsByKey(ctx context.Context) (map[uint32]int, error)
}

// Connectors stores connectors, their status and the secrets they refer to.
type Connectors interface {
	CreateConnector(ctx context.Context, c *Connector) error
	GetConnector(ctx context.Context, sc scope.Scope, id string) (Connector, error)
	ListConnectors(ctx context.Context, f ListFilter) ([]Connector, int, error)
	// UpdateConnector replaces the document, name, description, tags and
	// secret references when c.Version is the stored version, and bumps it.
	// The status is kept.
	UpdateConnector(ctx context.Context, c *Connector) error
	DeleteConnector(ctx context.Context, sc scope.Scope, id string) error
	SetConnectorStatus(ctx context.Context, sc scope.Scope, id string, st ConnectorStatus) error
	// ConnectorsReferencing lists the connectors that refer to the secret id
	// living at sc.
	ConnectorsReferencing(ctx context.Context, sc scope.Scope, id string) ([]ConnectorID, error)
}

// APIKeys stores API keys.
type APIKeys interface {
	CreateAPIKey(ctx context.Context, k *APIKey) error
	GetAPIKey(ctx context.Context, id string) (APIKey, error)
	// ListAPIKeys lists keys in the scopes of f (Scopes and Page apply).
	ListAPIKeys(ctx context.Context, f ListFilter) ([]APIKey, int, error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
}

// AuditLog is the append-only, hash-chained audit trail.
type AuditLog interface {
	// AppendAudit assigns the next sequence number, seals e onto the chain
	// and stores it, in the caller's transaction if there is one.
	AppendAudit(ctx context.Context, e *audit.Event) error
	ListAudit(ctx context.Context, f AuditFilter) ([]audit.Event, int, error)
	// VerifyAudit walks the whole chain and reports how many events hold.
	VerifyAudit(ctx context.Context) (int64, error)
}

// Keyring stores the secrets keyring.
type Keyring interface {
	// KeyringCheck returns the master-key check value; ErrNotFound before
	// the keyring is initialised.
	KeyringCheck(ctx context.Context) ([]byte, error)
	// InitKeyring stores the check value and the first data key, once;
	// ErrDuplicate if another process initialised it first.
	InitKeyring(ctx context.Context, check []byte, first DataKey) error
	DataKeys(ctx context.Context) ([]DataKey, error)
	// AddDataKey stores k as the new active key (its ID must be the next
	// one); the previous keys stay, inactive, to decrypt older data.
	AddDataKey(ctx context.Context, k DataKey) error
}

// Health reports whether the database answers.
type Health interface {
	Ping(ctx context.Context) error
}
