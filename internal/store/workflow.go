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
	q := "SELECT " + d.lists.conversation + conversationFrom + " WHERE v.id = $1"
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

// LockQueue implements helpdesk.AssignStore with a transaction-scoped
// advisory lock keyed by the department, so two replicas do not hand the
// same agent more than their share.
func (d *DB) LockQueue(ctx context.Context, departmentID string) error {
	if d.dialect != DialectPostgres {
		return nil
	}
	if _, err := d.q.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('queue:' || $1))", departmentID); err != nil {
		return fmt.Errorf("lock queue %s: %w", departmentID, d.translate(err))
	}
	return nil
}

// OldestWaiting implements helpdesk.AssignStore.
func (d *DB) OldestWaiting(ctx context.Context, departmentID string) (helpdesk.Conversation, error) {
	q := "SELECT " + d.lists.conversation + conversationFrom + ` WHERE v.department_id = $1 AND v.status = 'waiting'
		AND v.assignee_id IS NULL ORDER BY v.waiting_since IS NULL, v.waiting_since, v.created_at, v.id LIMIT 1`
	if d.dialect == DialectPostgres {
		q += " FOR UPDATE OF v"
	}
	v, err := scanConversation(d.q.QueryRowContext(ctx, q, departmentID))
	if err != nil {
		return helpdesk.Conversation{}, fmt.Errorf("oldest waiting of %s: %w", departmentID, d.translate(err))
	}
	return v, nil
}

// AgentLoads implements helpdesk.AssignStore.
func (d *DB) AgentLoads(ctx context.Context, departmentID string) ([]helpdesk.AgentLoad, error) {
	rows, err := d.q.QueryContext(ctx, `SELECT u.id, u.max_conversations,
		(SELECT COUNT(*) FROM conversations v WHERE v.assignee_id = u.id AND v.status = 'open')
		FROM users u JOIN user_departments ud ON ud.user_id = u.id
		WHERE ud.department_id = $1 AND u.active = TRUE AND u.role = 'agent' ORDER BY u.id`, departmentID)
	if err != nil {
		return nil, fmt.Errorf("agent loads: %w", d.translate(err))
	}
	defer rows.Close()
	var out []helpdesk.AgentLoad
	for rows.Next() {
		var a helpdesk.AgentLoad
		if err := rows.Scan(&a.UserID, &a.MaxConversations, &a.Open); err != nil {
			return nil, fmt.Errorf("agent loads: %w", d.translate(err))
		}
		out = append(out, a)
	}
	return out, d.rowsErr(rows, "agent loads")
}

// QueuePosition implements helpdesk.AssignStore.
func (d *DB) QueuePosition(ctx context.Context, conversationID string) (int, error) {
	var n int
	err := d.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM conversations o, conversations v
		WHERE v.id = $1 AND o.department_id = v.department_id AND o.status = 'waiting' AND o.assignee_id IS NULL
		AND (o.waiting_since < v.waiting_since OR (o.waiting_since = v.waiting_since AND o.id <= v.id))`, conversationID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("queue position: %w", d.translate(err))
	}
	return max(n, 1), nil
}
