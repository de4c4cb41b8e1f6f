package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

const auditColumns = "id, actor_id, action, entity_type, entity_id, ip, details, created_at"

// InsertAuditLog records a. Details are stored as JSON (NULL when empty) and
// come back as JSON decodes them: numbers as float64. ErrConflict when the id
// exists.
func (d *DB) InsertAuditLog(ctx context.Context, a helpdesk.AuditLog) error {
	var details any // NULL
	if len(a.Details) > 0 {
		b, err := json.Marshal(a.Details)
		if err != nil {
			return fmt.Errorf("insert audit log %s: encode details: %w", a.Action, err)
		}
		details = string(b) // text: what SQLite's TEXT column wants and pgx encodes into JSONB
	}
	_, err := d.q.ExecContext(ctx, "INSERT INTO audit_logs ("+auditColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		a.ID, nullString(a.ActorID), a.Action, a.EntityType, a.EntityID, a.IP, details, dbTime(a.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert audit log %s: %w", a.Action, d.translate(err))
	}
	return nil
}

// ListAuditLogs returns a page of audit rows, newest first (by created_at,
// then id). Zero filter fields do not filter; Before is the id of the last
// row of the previous page, and an unknown Before gives an empty page. Limit
// 0 means 50, more than 100 means 100.
func (d *DB) ListAuditLogs(ctx context.Context, f helpdesk.AuditFilter) ([]helpdesk.AuditLog, error) {
	var (
		p     params
		where []string
	)
	if f.Action != "" {
		where = append(where, "action = "+p.add(f.Action))
	}
	if f.ActorID != "" {
		where = append(where, "actor_id = "+p.add(f.ActorID))
	}
	if f.EntityID != "" {
		where = append(where, "entity_id = "+p.add(f.EntityID))
	}
	if f.Before != "" {
		// Row values compare (created_at, id) as a pair on both engines.
		where = append(where, "(created_at, id) < (SELECT created_at, id FROM audit_logs WHERE id = "+p.add(f.Before)+")")
	}
	query := "SELECT " + auditColumns + " FROM audit_logs"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY created_at DESC, id DESC LIMIT " + p.add(pageLimit(f.Limit))

	rows, err := d.q.QueryContext(ctx, query, p...)
	if err != nil {
		return nil, fmt.Errorf("list audit logs: %w", d.translate(err))
	}
	defer rows.Close()
	logs := []helpdesk.AuditLog{}
	for rows.Next() {
		var (
			a       helpdesk.AuditLog
			actorID sql.NullString
			details []byte
		)
		err := rows.Scan(&a.ID, &actorID, &a.Action, &a.EntityType, &a.EntityID, &a.IP, &details, scanTime(&a.CreatedAt))
		if err != nil {
			return nil, fmt.Errorf("list audit logs: %w", err)
		}
		a.ActorID = actorID.String
		if details != nil {
			if err := json.Unmarshal(details, &a.Details); err != nil {
				return nil, fmt.Errorf("list audit logs: decode details of %s: %w", a.ID, err)
			}
		}
		logs = append(logs, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit logs: %w", d.translate(err))
	}
	return logs, nil
}
