package store

import (
	"context"
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
