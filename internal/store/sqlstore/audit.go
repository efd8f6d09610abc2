package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/azimuthcd/azimuth/internal/audit"
	"github.com/azimuthcd/azimuth/internal/store"
)

const auditCols = `seq, at, actor_key_id, actor_name, action, resource_type, account, org, project, identifier, outcome, detail, source, prev_hash, hash`

func scanAudit(r scanner) (audit.Event, error) {
	var e audit.Event
	var at int64
	err := r.Scan(&e.Seq, &at, &e.ActorKeyID, &e.ActorName, &e.Action, &e.ResourceType,
		&e.Scope.Account, &e.Scope.Org, &e.Scope.Project, &e.Identifier, &e.Outcome, &e.Detail, &e.Source, &e.PrevHash, &e.Hash)
	e.Time = fromMS(at)
	if e.PrevHash == nil {
		e.PrevHash = []byte{}
	}
	return e, err
}

// AppendAudit implements store.AuditLog. The head row serialises appends:
// on PostgreSQL it is locked FOR UPDATE until the caller's transaction ends;
// on SQLite the single writer already serialises them.
func (s *Store) AppendAudit(ctx context.Context, e *audit.Event) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		lock := ""
		if s.dialect == Postgres {
			lock = " FOR UPDATE"
		}
		var seq int64
		var prev []byte
		if err := s.wq(ctx).QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`+lock).Scan(&seq, &prev); err != nil {
			return fmt.Errorf("append audit event: read head: %w", s.translate(err))
		}
		e.Seq = seq + 1
		e.Seal(prev)
		if _, err := s.wq(ctx).ExecContext(ctx,
			`INSERT INTO audit_events (`+auditCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			e.Seq, ms(e.Time), e.ActorKeyID, e.ActorName, e.Action, e.ResourceType,
			e.Scope.Account, e.Scope.Org, e.Scope.Project, e.Identifier, e.Outcome, e.Detail, e.Source, e.PrevHash, e.Hash); err != nil {
			return fmt.Errorf("append audit event: %w", s.translate(err))
		}
		if _, err := s.wq(ctx).ExecContext(ctx, `UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, e.Seq, e.Hash); err != nil {
			return fmt.Errorf("append audit event: move head: %w", s.translate(err))
		}
		return nil
	})
}

// ListAudit implements store.AuditLog; newest first.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]audit.Event, int, error) {
	var w where
	w.scopes(f.Scopes)
	if f.ResourceType != "" {
		w.add("resource_type = " + w.arg(f.ResourceType))
	}
	if f.Action != "" {
		w.add("action = " + w.arg(f.Action))
	}
	if f.Outcome != "" {
		w.add("outcome = " + w.arg(f.Outcome))
	}
	if f.ActorKeyID != "" {
		w.add("actor_key_id = " + w.arg(f.ActorKeyID))
	}
	if f.Identifier != "" {
		w.add("identifier = " + w.arg(f.Identifier))
	}
	if !f.Since.IsZero() {
		w.add("at >= " + w.arg(ms(f.Since)))
	}
	if !f.Until.IsZero() {
		w.add("at < " + w.arg(ms(f.Until)))
	}
	var total int
	if err := s.rq(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events`+w.sql(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count audit events: %w", s.translate(err))
	}
	rows, err := s.rq(ctx).QueryContext(ctx,
		`SELECT `+auditCols+` FROM audit_events`+w.sql()+` ORDER BY seq DESC`+w.limit(f.Page), w.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list audit events: %w", s.translate(err))
	}
	defer rows.Close()
	var out []audit.Event
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list audit events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list audit events: %w", s.translate(err))
	}
	return out, total, nil
}

// VerifyAudit implements store.AuditLog. It reads one consistent snapshot:
// the head and the events in one read transaction.
func (s *Store) VerifyAudit(ctx context.Context) (int64, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.r.BeginTx(ctx, opts)
	if err != nil {
		return 0, fmt.Errorf("verify audit trail: %w", s.translate(err))
	}
	defer func() { _ = tx.Rollback() }()
	var headSeq int64
	var headHash []byte
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return 0, fmt.Errorf("verify audit trail: read head: %w", s.translate(err))
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+auditCols+` FROM audit_events WHERE seq <= $1 ORDER BY seq`, headSeq)
	if err != nil {
		return 0, fmt.Errorf("verify audit trail: %w", s.translate(err))
	}
	defer rows.Close()
	v := audit.NewVerifier()
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return 0, fmt.Errorf("verify audit trail: %w", err)
		}
		if err := v.Add(e); err != nil {
			return 0, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("verify audit trail: %w", s.translate(err))
	}
	if headHash == nil {
		headHash = []byte{}
	}
	n, err := v.Finish(headSeq, headHash)
	if err != nil {
		return n, err
	}
	// Rows past the head exist only if someone inserted them by hand.
	var extra int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE seq > $1`, headSeq).Scan(&extra); err != nil {
		return n, fmt.Errorf("verify audit trail: %w", s.translate(err))
	}
	if extra > 0 {
		return n, fmt.Errorf("%w: %d event(s) lie beyond the recorded head", audit.ErrBroken, extra)
	}
	return n, nil
}
