package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
)

const connectorCols = `account, org, project, identifier, name, description, tags, type, document, version, created_at, updated_at,
 status, error_summary, errors, tested_at, last_tested_at, last_connected_at`

func scanConnector(r scanner) (store.Connector, error) {
	var c store.Connector
	var tags, doc, errs string
	var created, updated, tested, lastTested, lastConnected int64
	if err := r.Scan(&c.Scope.Account, &c.Scope.Org, &c.Scope.Project, &c.Identifier, &c.Name, &c.Description, &tags,
		&c.Type, &doc, &c.Version, &created, &updated,
		&c.Status.Status, &c.Status.ErrorSummary, &errs, &tested, &lastTested, &lastConnected); err != nil {
		return c, err
	}
	var err error
	if c.Tags, err = decodeTags(tags); err != nil {
		return c, err
	}
	c.Document = []byte(doc)
	if errs != "" && errs != "[]" {
		if err := json.Unmarshal([]byte(errs), &c.Status.Errors); err != nil {
			return c, fmt.Errorf("decode stored status errors: %w", err)
		}
	}
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	c.Status.TestedAt, c.Status.LastTestedAt, c.Status.LastConnectedAt = fromMS(tested), fromMS(lastTested), fromMS(lastConnected)
	return c, nil
}

func encodeErrors(e []store.ConnectorError) string {
	if len(e) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(e)
	return string(b)
}

// CreateConnector implements store.Connectors. It sets Version to 1 and
// records the secret references; the status starts as given (PENDING when
// empty).
func (s *Store) CreateConnector(ctx context.Context, c *store.Connector) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		c.Version = 1
		if c.Status.Status == "" {
			c.Status.Status = "PENDING"
		}
		st := c.Status
		_, err := s.wq(ctx).ExecContext(ctx,
			`INSERT INTO connectors (`+connectorCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
			c.Scope.Account, c.Scope.Org, c.Scope.Project, c.Identifier, c.Name, c.Description, encodeTags(c.Tags),
			c.Type, string(c.Document), c.Version, ms(c.CreatedAt), ms(c.UpdatedAt),
			st.Status, st.ErrorSummary, encodeErrors(st.Errors), ms(st.TestedAt), ms(st.LastTestedAt), ms(st.LastConnectedAt))
		if err != nil {
			return fmt.Errorf("create connector %q: %w", c.Identifier, s.translate(err))
		}
		return s.putRefs(ctx, c)
	})
}

func (s *Store) putRefs(ctx context.Context, c *store.Connector) error {
	if _, err := s.wq(ctx).ExecContext(ctx,
		`DELETE FROM connector_secret_refs WHERE account = $1 AND org = $2 AND project = $3 AND connector = $4`,
		c.Scope.Account, c.Scope.Org, c.Scope.Project, c.Identifier); err != nil {
		return fmt.Errorf("replace secret references of %q: %w", c.Identifier, s.translate(err))
	}
	for _, r := range c.SecretRefs {
		if r.Scope.Account != c.Scope.Account {
			return fmt.Errorf("connector %q refers to a secret of another account", c.Identifier)
		}
		if _, err := s.wq(ctx).ExecContext(ctx,
			`INSERT INTO connector_secret_refs (account, org, project, connector, field, secret_org, secret_project, secret)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			c.Scope.Account, c.Scope.Org, c.Scope.Project, c.Identifier, r.Field, r.Scope.Org, r.Scope.Project, r.Identifier); err != nil {
			return fmt.Errorf("record secret reference %s of %q: %w", r.Field, c.Identifier, s.translate(err))
		}
	}
	return nil
}

func (s *Store) loadRefs(ctx context.Context, c *store.Connector) error {
	rows, err := s.rq(ctx).QueryContext(ctx,
		`SELECT field, secret_org, secret_project, secret FROM connector_secret_refs
		 WHERE account = $1 AND org = $2 AND project = $3 AND connector = $4 ORDER BY field`,
		c.Scope.Account, c.Scope.Org, c.Scope.Project, c.Identifier)
	if err != nil {
		return s.translate(err)
	}
	defer rows.Close()
	c.SecretRefs = nil
	for rows.Next() {
		r := store.SecretRef{Scope: scope.Scope{Account: c.Scope.Account}}
		if err := rows.Scan(&r.Field, &r.Scope.Org, &r.Scope.Project, &r.Identifier); err != nil {
			return err
		}
		c.SecretRefs = append(c.SecretRefs, r)
	}
	return s.translate(rows.Err())
}

// GetConnector implements store.Connectors.
func (s *Store) GetConnector(ctx context.Context, sc scope.Scope, id string) (store.Connector, error) {
	c, err := scanConnector(s.rq(ctx).QueryRowContext(ctx,
		`SELECT `+connectorCols+` FROM connectors WHERE account = $1 AND org = $2 AND project = $3 AND identifier = $4`,
		sc.Account, sc.Org, sc.Project, id))
	if err != nil {
		return c, fmt.Errorf("get connector %q: %w", id, s.translate(err))
	}
	if err := s.loadRefs(ctx, &c); err != nil {
		return c, fmt.Errorf("get connector %q: %w", id, err)
	}
	return c, nil
}

// ListConnectors implements store.Connectors. Listed connectors carry no
// SecretRefs (GetConnector loads them).
func (s *Store) ListConnectors(ctx context.Context, f store.ListFilter) ([]store.Connector, int, error) {
	var w where
	w.scopes(f.Scopes)
	w.search(f.SearchTerm, "name", "identifier", "tags")
	w.in("type", f.Types)
	w.in("identifier", f.Identifiers)
	var total int
	if err := s.rq(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM connectors`+w.sql(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count connectors: %w", s.translate(err))
	}
	rows, err := s.rq(ctx).QueryContext(ctx,
		`SELECT `+connectorCols+` FROM connectors`+w.sql()+` ORDER BY updated_at DESC, account, org, project, identifier`+w.limit(f.Page), w.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list connectors: %w", s.translate(err))
	}
	defer rows.Close()
	var out []store.Connector
	for rows.Next() {
		c, err := scanConnector(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list connectors: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list connectors: %w", s.translate(err))
	}
	return out, total, nil
}

// UpdateConnector implements store.Connectors.
func (s *Store) UpdateConnector(ctx context.Context, c *store.Connector) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		res, err := s.wq(ctx).ExecContext(ctx,
			`UPDATE connectors SET name = $1, description = $2, tags = $3, document = $4, version = version + 1, updated_at = $5
			 WHERE account = $6 AND org = $7 AND project = $8 AND identifier = $9 AND version = $10`,
			c.Name, c.Description, encodeTags(c.Tags), string(c.Document), ms(c.UpdatedAt),
			c.Scope.Account, c.Scope.Org, c.Scope.Project, c.Identifier, c.Version)
		if err != nil {
			return fmt.Errorf("update connector %q: %w", c.Identifier, s.translate(err))
		}
		if err := s.oneRow(ctx, res, "connectors", "account = $1 AND org = $2 AND project = $3 AND identifier = $4",
			c.Scope.Account, c.Scope.Org, c.Scope.Project, c.Identifier); err != nil {
			return fmt.Errorf("update connector %q: %w", c.Identifier, err)
		}
		c.Version++
		return s.putRefs(ctx, c)
	})
}

// DeleteConnector implements store.Connectors; its secret references go
// with it.
func (s *Store) DeleteConnector(ctx context.Context, sc scope.Scope, id string) error {
	res, err := s.wq(ctx).ExecContext(ctx,
		`DELETE FROM connectors WHERE account = $1 AND org = $2 AND project = $3 AND identifier = $4`,
		sc.Account, sc.Org, sc.Project, id)
	if err != nil {
		return fmt.Errorf("delete connector %q: %w", id, s.translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete connector %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// SetConnectorStatus implements store.Connectors. It does not bump the
// version: a status is not an edit of the connector.
func (s *Store) SetConnectorStatus(ctx context.Context, sc scope.Scope, id string, st store.ConnectorStatus) error {
	res, err := s.wq(ctx).ExecContext(ctx,
		`UPDATE connectors SET status = $1, error_summary = $2, errors = $3, tested_at = $4, last_tested_at = $5, last_connected_at = $6
		 WHERE account = $7 AND org = $8 AND project = $9 AND identifier = $10`,
		st.Status, st.ErrorSummary, encodeErrors(st.Errors), ms(st.TestedAt), ms(st.LastTestedAt), ms(st.LastConnectedAt),
		sc.Account, sc.Org, sc.Project, id)
	if err != nil {
		return fmt.Errorf("set status of connector %q: %w", id, s.translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set status of connector %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// ConnectorsReferencing implements store.Connectors.
func (s *Store) ConnectorsReferencing(ctx context.Context, sc scope.Scope, id string) ([]store.ConnectorID, error) {
	rows, err := s.rq(ctx).QueryContext(ctx,
		`SELECT DISTINCT account, org, project, connector FROM connector_secret_refs
		 WHERE account = $1 AND secret_org = $2 AND secret_project = $3 AND secret = $4
		 ORDER BY account, org, project, connector`,
		sc.Account, sc.Org, sc.Project, id)
	if err != nil {
		return nil, fmt.Errorf("connectors referencing secret %q: %w", id, s.translate(err))
	}
	defer rows.Close()
	var out []store.ConnectorID
	for rows.Next() {
		var c store.ConnectorID
		if err := rows.Scan(&c.Scope.Account, &c.Scope.Org, &c.Scope.Project, &c.Identifier); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, s.translate(rows.Err())
}
