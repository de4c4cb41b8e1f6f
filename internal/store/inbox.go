package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

const inboxColumns = "id, body_sha256, body, status, note, received_at, signer"

// ListInboxEntries implements helpdesk.InboxStore.
func (d *DB) ListInboxEntries(ctx context.Context, f helpdesk.InboxFilter) ([]helpdesk.InboxEntry, error) {
	var (
		p     params
		where []string
	)
	if f.Status != "" {
		where = append(where, "status = "+p.add(f.Status))
		if f.Status != helpdesk.InboxProcessed {
			// Spelled as in the partial index 00016, which SQLite uses only
			// when the query repeats its condition.
			where = append(where, "status <> 'processed'")
		}
	}
	if f.Pending {
		where = append(where, "status <> 'processed'") // the partial index's condition
	}
	if f.BodyContains != "" {
		where = append(where, "body LIKE "+p.add(likeContains(f.BodyContains))+` ESCAPE '\'`)
	}
	order := "received_at DESC, id DESC"
	if f.Oldest {
		order = "received_at, id"
	}
	if c := f.After; c != nil {
		// Row values compare (received_at, id) as a pair on both engines.
		cmp := "<"
		if f.Oldest {
			cmp = ">"
		}
		where = append(where, "(received_at, id) "+cmp+" ("+p.add(dbTime(c.ReceivedAt))+", "+p.add(c.ID)+")")
	}
	q := "SELECT " + inboxColumns + " FROM webhook_inbox"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY " + order + " LIMIT " + p.add(pageLimit(f.Limit))
	rows, err := d.q.QueryContext(ctx, q, p...)
	if err != nil {
		return nil, fmt.Errorf("list inbox entries: %w", d.translate(err))
	}
	defer rows.Close()
	out := []helpdesk.InboxEntry{}
	for rows.Next() {
		e, err := scanInboxEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("list inbox entries: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list inbox entries: %w", d.translate(err))
	}
	return out, nil
}

// GetInboxEntry implements helpdesk.InboxStore.
func (d *DB) GetInboxEntry(ctx context.Context, id string) (helpdesk.InboxEntry, error) {
	e, err := scanInboxEntry(d.q.QueryRowContext(ctx, "SELECT "+inboxColumns+" FROM webhook_inbox WHERE id = $1", id))
	if err != nil {
		return helpdesk.InboxEntry{}, fmt.Errorf("get inbox entry %s: %w", id, d.translate(err))
	}
	return e, nil
}

// SetInboxEntryStatus implements helpdesk.InboxStore.
func (d *DB) SetInboxEntryStatus(ctx context.Context, id, status, note string) error {
	res, err := d.q.ExecContext(ctx, "UPDATE webhook_inbox SET status = $1, note = $2 WHERE id = $3", status, note, id)
	if err != nil {
		return fmt.Errorf("set inbox entry status: %w", d.translate(err))
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("set inbox entry status %s: %w", id, helpdesk.ErrNotFound)
	}
	return nil
}

// NoteInboxEntry implements helpdesk.InboxStore.
func (d *DB) NoteInboxEntry(ctx context.Context, id, status, note string) error {
	if _, err := d.q.ExecContext(ctx, "UPDATE webhook_inbox SET note = $1 WHERE id = $2 AND status = $3 AND note <> $1", note, id, status); err != nil {
		return fmt.Errorf("note inbox entry: %w", d.translate(err))
	}
	return nil
}

// DeleteInboxEntries implements helpdesk.InboxStore.
func (d *DB) DeleteInboxEntries(ctx context.Context, status string, before time.Time, limit int) (int, error) {
	// One bounded statement: a long first run over a large table neither
	// holds the write lock (SQLite) nor builds one huge transaction.
	res, err := d.q.ExecContext(ctx, `DELETE FROM webhook_inbox WHERE id IN (
		SELECT id FROM webhook_inbox WHERE status = $1 AND received_at < $2 ORDER BY received_at LIMIT $3)`,
		status, dbTime(before), limit)
	if err != nil {
		return 0, fmt.Errorf("delete inbox entries: %w", d.translate(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete inbox entries: %w", err)
	}
	return int(n), nil
}

func scanInboxEntry(r scanner) (helpdesk.InboxEntry, error) {
	var (
		e    helpdesk.InboxEntry
		body string
	)
	if err := r.Scan(&e.ID, &e.BodySHA256, &body, &e.Status, &e.Note, scanTime(&e.ReceivedAt), &e.Signer); err != nil {
		return helpdesk.InboxEntry{}, err
	}
	e.Body = []byte(body)
	return e, nil
}
