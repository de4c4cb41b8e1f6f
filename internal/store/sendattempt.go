package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SendAttemptedAt returns when a send request for outbound message id last
// left for Meta without its answer being recorded; nil when none is
// pending. ErrNotFound for an unknown message.
func (d *DB) SendAttemptedAt(ctx context.Context, id string) (*time.Time, error) {
	var at *time.Time
	err := d.q.QueryRowContext(ctx, "SELECT send_attempted_at FROM messages WHERE id = $1", id).Scan(scanNullTime(&at))
	if err != nil {
		return nil, fmt.Errorf("send attempt of %s: %w", id, d.translate(err))
	}
	return at, nil
}

// SetSendAttempt marks a send request of message id as in flight (at set)
// or answered (at nil).
func (d *DB) SetSendAttempt(ctx context.Context, id string, at *time.Time) error {
	if _, err := d.q.ExecContext(ctx, "UPDATE messages SET send_attempted_at = $2 WHERE id = $1", id, dbNullTime(at)); err != nil {
		return fmt.Errorf("mark send attempt of %s: %w", id, d.translate(err))
	}
	return nil
}

// ClaimWAMID gives wamid to outbound message id when the message has none
// yet and no other message holds it: Meta's status webhook named the
// message (biz_opaque_callback_data) before, or instead of, the send job
// recording Meta's answer. It reports whether the wamid was attached.
func (d *DB) ClaimWAMID(ctx context.Context, id, wamid string) (bool, error) {
	res, err := d.q.ExecContext(ctx, `UPDATE messages SET wa_message_id = $2, send_attempted_at = NULL
		WHERE id = $1 AND direction = 'outbound' AND wa_message_id IS NULL
		AND NOT EXISTS (SELECT 1 FROM messages other WHERE other.wa_message_id = $2)`, id, wamid)
	if err != nil {
		return false, fmt.Errorf("claim wamid %s for %s: %w", wamid, id, d.translate(err))
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// QueuedOutboundBefore returns an outbound message of id's conversation that
// is still queued and comes before id in the conversation's order
// (created_at, then id: UUIDv7, so the bot's replies stored with one
// timestamp keep the order they were written in); "" when there is none,
// or when id is unknown. Messages created before since are not looked at.
// The walk is a range of messages_conversation_idx, from since up to id.
func (d *DB) QueuedOutboundBefore(ctx context.Context, id string, since time.Time) (string, error) {
	var earlier string
	err := d.q.QueryRowContext(ctx, queuedOutboundBeforeQuery, id, dbTime(since)).Scan(&earlier)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("queued messages before %s: %w", id, d.translate(err))
	}
	return earlier, nil
}

const queuedOutboundBeforeQuery = `SELECT e.id FROM messages m JOIN messages e ON e.conversation_id = m.conversation_id
	WHERE m.id = $1 AND e.created_at >= $2 AND e.created_at <= m.created_at
	AND (e.created_at < m.created_at OR e.id < m.id)
	AND e.direction = 'outbound' AND e.status = 'queued'
	LIMIT 1`
