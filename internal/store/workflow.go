package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// LockConversation implements helpdesk.WorkflowStore. FOR UPDATE OF v locks
// only the conversation row (not its customer): a concurrent action waits
// here and then reads the state the winner committed.
func (d *DB) LockConversation(ctx context.Context, id string) (helpdesk.Conversation, error) {
	q := "SELECT " + conversationColumns + conversationFrom + " WHERE v.id = $1"
	if d.dialect == DialectPostgres {
		q += " FOR UPDATE OF v"
	}
	v, err := scanConversation(d.q.QueryRowContext(ctx, q, id))
	if err != nil {
		return helpdesk.Conversation{}, fmt.Errorf("lock conversation %s: %w", id, d.translate(err))
	}
	return v, nil
}

// SetConversationState implements helpdesk.WorkflowStore.
func (d *DB) SetConversationState(ctx context.Context, id string, st helpdesk.ConversationState, now time.Time) error {
	res, err := d.q.ExecContext(ctx, `UPDATE conversations SET status = $1, assignee_id = $2, department_id = $3,
		waiting_since = $4, closed_at = $5, closed_by = $6, updated_at = $7 WHERE id = $8`,
		string(st.Status), nullString(st.AssigneeID), nullString(st.DepartmentID),
		dbNullTime(st.WaitingSince), dbNullTime(st.ClosedAt), nullString(st.ClosedBy), dbTime(now), id)
	if err != nil {
		return fmt.Errorf("set conversation state %s: %w", id, d.translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set conversation state %s: %w", id, helpdesk.ErrNotFound)
	}
	return nil
}

// InsertTransfer implements helpdesk.WorkflowStore.
func (d *DB) InsertTransfer(ctx context.Context, t helpdesk.Transfer) error {
	_, err := d.q.ExecContext(ctx, `INSERT INTO conversation_transfers (id, conversation_id, from_user_id, to_user_id,
		from_department_id, to_department_id, reason, transferred_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		t.ID, t.ConversationID, nullString(t.FromUserID), nullString(t.ToUserID), nullString(t.FromDepartmentID),
		nullString(t.ToDepartmentID), t.Reason, nullString(t.TransferredBy), dbTime(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert transfer: %w", d.translate(err))
	}
	return nil
}

// InsertConversationEvent implements helpdesk.WorkflowStore.
func (d *DB) InsertConversationEvent(ctx context.Context, e helpdesk.ConversationEvent) error {
	data, err := json.Marshal(e.Data)
	if err != nil {
		return fmt.Errorf("insert conversation event: %w", err)
	}
	if e.Data == nil {
		data = []byte("{}")
	}
	_, err = d.q.ExecContext(ctx, `INSERT INTO conversation_events (id, conversation_id, type, actor_id, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, e.ID, e.ConversationID, e.Type, nullString(e.ActorID), string(data), dbTime(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert conversation event: %w", d.translate(err))
	}
	return nil
}

// ListConversationEvents implements helpdesk.WorkflowStore.
func (d *DB) ListConversationEvents(ctx context.Context, conversationID string) ([]helpdesk.ConversationEvent, error) {
	rows, err := d.q.QueryContext(ctx, `SELECT id, conversation_id, type, COALESCE(actor_id, ''), data, created_at
		FROM conversation_events WHERE conversation_id = $1 ORDER BY created_at, id`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("list conversation events: %w", d.translate(err))
	}
	defer rows.Close()
	out := []helpdesk.ConversationEvent{}
	for rows.Next() {
		var e helpdesk.ConversationEvent
		var data []byte
		if err := rows.Scan(&e.ID, &e.ConversationID, &e.Type, &e.ActorID, &data, scanTime(&e.CreatedAt)); err != nil {
			return nil, fmt.Errorf("list conversation events: %w", d.translate(err))
		}
		if err := json.Unmarshal(data, &e.Data); err != nil {
			return nil, fmt.Errorf("list conversation events: data of %s: %w", e.ID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list conversation events: %w", d.translate(err))
	}
	return out, nil
}
