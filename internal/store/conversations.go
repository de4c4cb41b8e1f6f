package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// conversationColumns reads a conversation with its customer (alias v for
// conversations, c for customers; see conversationFrom).
const conversationColumns = `v.id, v.channel_id, COALESCE(v.department_id, ''), COALESCE(v.assignee_id, ''), v.status,
	v.last_message_at, v.last_message_preview, v.last_inbound_at, v.unread_count, v.waiting_since, v.closed_at,
	v.created_at, v.updated_at, v.csat_score, COALESCE(v.csat_comment, ''), v.csat_requested_at,
	c.id, c.wa_id, c.name, c.profile_name, c.last_inbound_at, c.created_at, c.updated_at`

const conversationFrom = " FROM conversations v JOIN customers c ON c.id = v.customer_id"

func scanConversation(row scanner) (helpdesk.Conversation, error) {
	var v helpdesk.Conversation
	c := &v.Customer
	err := row.Scan(&v.ID, &v.ChannelID, &v.DepartmentID, &v.AssigneeID, &v.Status,
		scanNullTime(&v.LastMessageAt), &v.LastMessagePreview, scanNullTime(&v.LastInboundAt), &v.UnreadCount,
		scanNullTime(&v.WaitingSince), scanNullTime(&v.ClosedAt), scanTime(&v.CreatedAt), scanTime(&v.UpdatedAt),
		&v.CSATScore, &v.CSATComment, scanNullTime(&v.CSATRequestedAt),
		&c.ID, &c.WAID, &c.Name, &c.ProfileName, scanNullTime(&c.LastInboundAt), scanTime(&c.CreatedAt), scanTime(&c.UpdatedAt))
	return v, err
}

// GetConversation returns a conversation with its customer; ErrNotFound
// when there is none.
func (d *DB) GetConversation(ctx context.Context, id string) (helpdesk.Conversation, error) {
	v, err := scanConversation(d.q.QueryRowContext(ctx, "SELECT "+conversationColumns+conversationFrom+" WHERE v.id = $1", id))
	if err != nil {
		return helpdesk.Conversation{}, fmt.Errorf("get conversation %s: %w", id, d.translate(err))
	}
	return v, nil
}

// ListConversations returns conversations by latest activity, newest
// first; conversations without messages come last. Ties break on id.
func (d *DB) ListConversations(ctx context.Context, f helpdesk.ConversationFilter) ([]helpdesk.Conversation, error) {
	var p params
	var where []string
	if len(f.Statuses) > 0 {
		ss := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			ss[i] = string(s)
		}
		where = append(where, "v.status IN ("+p.list(ss)+")")
	}
	if f.CustomerID != "" {
		where = append(where, "v.customer_id = "+p.add(f.CustomerID))
	}
	if f.DepartmentID != "" {
		where = append(where, "v.department_id = "+p.add(f.DepartmentID))
	}
	if f.AssigneeID != "" {
		where = append(where, "v.assignee_id = "+p.add(f.AssigneeID))
	}
	if f.Unassigned {
		where = append(where, "v.assignee_id IS NULL")
	}
	if f.ChannelID != "" {
		where = append(where, "v.channel_id = "+p.add(f.ChannelID))
	}
	if f.UnreadOnly {
		where = append(where, "v.unread_count > 0")
	}
	if cond := d.searchCondition(&p, f.Query); cond != "" {
		where = append(where, cond)
	}
	if v := f.Viewer; v != nil {
		visible := "(v.assignee_id IS NULL AND v.department_id IS NULL)"
		if len(v.DepartmentIDs) > 0 {
			visible = "(v.assignee_id IS NULL AND (v.department_id IS NULL OR v.department_id IN (" + p.list(v.DepartmentIDs) + ")))"
		}
		where = append(where, "(v.assignee_id = "+p.add(v.UserID)+" OR "+visible+")")
	}
	if a := f.After; a != nil {
		if a.LastMessageAt == nil {
			where = append(where, "(v.last_message_at IS NULL AND v.id < "+p.add(a.ID)+")")
		} else {
			t := p.add(dbTime(*a.LastMessageAt))
			where = append(where, "(v.last_message_at < "+t+" OR v.last_message_at IS NULL OR (v.last_message_at = "+t+" AND v.id < "+p.add(a.ID)+"))")
		}
	}
	q := "SELECT " + conversationColumns + conversationFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY v.last_message_at IS NULL, v.last_message_at DESC, v.id DESC LIMIT " + p.add(pageLimit(f.Limit))
	rows, err := d.q.QueryContext(ctx, q, p...)
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", d.translate(err))
	}
	defer rows.Close()
	out := []helpdesk.Conversation{}
	for rows.Next() {
		v, err := scanConversation(rows)
		if err != nil {
			return nil, fmt.Errorf("list conversations: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list conversations: %w", d.translate(err))
	}
	return out, nil
}

const messageColumns = `id, conversation_id, direction, sender_type, COALESCE(sender_id, ''), type, text,
	COALESCE(media_id, ''), COALESCE(media_mime_type, ''), COALESCE(media_file_name, ''), COALESCE(media_size, 0),
	COALESCE(media_sha256, ''), COALESCE(media_path, ''), COALESCE(reply_to_id, ''), reaction, COALESCE(wa_message_id, ''),
	status, COALESCE(error_code, ''), COALESCE(error_message, ''), raw, created_at, sent_at, delivered_at, read_at`

func scanMessage(row scanner) (helpdesk.Message, error) {
	var m helpdesk.Message
	var media helpdesk.Media
	var raw *string
	err := row.Scan(&m.ID, &m.ConversationID, &m.Direction, &m.SenderType, &m.SenderID, &m.Type, &m.Text,
		&media.ID, &media.MimeType, &media.FileName, &media.Size, &media.SHA256, &media.Path, &m.ReplyToID, &m.Reaction,
		&m.WAMessageID, &m.Status, &m.ErrorCode, &m.ErrorMessage, &raw, scanTime(&m.CreatedAt),
		scanNullTime(&m.SentAt), scanNullTime(&m.DeliveredAt), scanNullTime(&m.ReadAt))
	if media.ID != "" || media.Path != "" {
		m.Media = &media
	}
	if raw != nil {
		m.Raw = json.RawMessage(*raw)
	}
	return m, err
}

// GetMessage returns a message by id; ErrNotFound when there is none.
func (d *DB) GetMessage(ctx context.Context, id string) (helpdesk.Message, error) {
	m, err := scanMessage(d.q.QueryRowContext(ctx, "SELECT "+messageColumns+" FROM messages WHERE id = $1", id))
	if err != nil {
		return helpdesk.Message{}, fmt.Errorf("get message %s: %w", id, d.translate(err))
	}
	return m, nil
}

// ListMessages returns one conversation's messages older than f.Before,
// newest first (chat order is created_at, then id).
func (d *DB) ListMessages(ctx context.Context, f helpdesk.MessageFilter) ([]helpdesk.Message, error) {
	var p params
	q := "SELECT " + messageColumns + " FROM messages WHERE conversation_id = " + p.add(f.ConversationID)
	if b := f.Before; b != nil {
		t := p.add(dbTime(b.CreatedAt))
		q += " AND (created_at < " + t + " OR (created_at = " + t + " AND id < " + p.add(b.ID) + "))"
	}
	limit := pageLimit(f.Limit)
	if f.NoPageCap && f.Limit > 0 {
		limit = f.Limit
	}
	q += " ORDER BY created_at DESC, id DESC LIMIT " + p.add(limit)
	rows, err := d.q.QueryContext(ctx, q, p...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", d.translate(err))
	}
	defer rows.Close()
	out := []helpdesk.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("list messages: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list messages: %w", d.translate(err))
	}
	return out, nil
}

// searchCondition is the WHERE clause of a conversation search, "" for an
// empty one: the customer's number contains the digits of a phone-like
// query, or the customer's folded name contains the folded query, or a
// message's text holds every word of it (as word prefixes) — through FTS5
// on SQLite and the GIN full-text index on PostgreSQL, so it stays an index
// lookup at a million messages.
func (d *DB) searchCondition(p *params, q string) string {
	q = strings.TrimSpace(q)
	if q == "" {
		return ""
	}
	terms := helpdesk.SearchTerms(q)
	var or []string
	if digits := helpdesk.SearchDigits(q); digits != "" {
		or = append(or, "c.wa_id LIKE "+p.add("%"+digits+"%"))
	}
	name := p.add("%" + escapeLike(helpdesk.Fold(q)) + "%")
	or = append(or, "swa_fold(c.name) LIKE "+name+" ESCAPE '\\'", "swa_fold(c.profile_name) LIKE "+name+" ESCAPE '\\'")
	switch {
	case len(terms) == 0: // punctuation only: names can still hold it
	case d.dialect == DialectPostgres:
		words := make([]string, len(terms))
		for i, t := range terms {
			words[i] = t + ":*"
		}
		or = append(or, "v.id IN (SELECT m.conversation_id FROM messages m WHERE to_tsvector('simple', swa_fold(m.text)) @@ to_tsquery('simple', "+
			p.add(strings.Join(words, " & "))+"))")
	default:
		words := make([]string, len(terms))
		for i, t := range terms {
			words[i] = `"` + t + `"*`
		}
		or = append(or, "v.id IN (SELECT m.conversation_id FROM messages m WHERE m.rowid IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH "+
			p.add(strings.Join(words, " "))+"))")
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// escapeLike escapes LIKE's wildcards (and the escape character) in s.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// CountLiveConversations implements helpdesk.StatsStore.
func (d *DB) CountLiveConversations(ctx context.Context) ([]helpdesk.ConversationCounts, error) {
	rows, err := d.q.QueryContext(ctx, `SELECT status, COALESCE(department_id, ''), COUNT(*) FROM conversations
		WHERE status <> 'closed' GROUP BY status, department_id`)
	if err != nil {
		return nil, fmt.Errorf("count conversations: %w", d.translate(err))
	}
	defer rows.Close()
	var out []helpdesk.ConversationCounts
	for rows.Next() {
		var c helpdesk.ConversationCounts
		if err := rows.Scan(&c.Status, &c.DepartmentID, &c.Count); err != nil {
			return nil, fmt.Errorf("count conversations: %w", d.translate(err))
		}
		out = append(out, c)
	}
	return out, d.rowsErr(rows, "count conversations")
}

// WaitingSince implements helpdesk.StatsStore.
func (d *DB) WaitingSince(ctx context.Context) ([]time.Time, error) {
	// Not COALESCE: SQLite would hand back the text, not a timestamp.
	rows, err := d.q.QueryContext(ctx, `SELECT waiting_since, updated_at FROM conversations WHERE status = 'waiting'`)
	if err != nil {
		return nil, fmt.Errorf("waiting conversations: %w", d.translate(err))
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var since *time.Time
		var updated time.Time
		if err := rows.Scan(scanNullTime(&since), scanTime(&updated)); err != nil {
			return nil, fmt.Errorf("waiting conversations: %w", d.translate(err))
		}
		if since == nil {
			since = &updated
		}
		out = append(out, *since)
	}
	return out, d.rowsErr(rows, "waiting conversations")
}

// ClosedSince implements helpdesk.StatsStore.
func (d *DB) ClosedSince(ctx context.Context, since time.Time) ([][2]time.Time, error) {
	rows, err := d.q.QueryContext(ctx, `SELECT created_at, closed_at FROM conversations WHERE status = 'closed' AND closed_at >= $1`, dbTime(since))
	if err != nil {
		return nil, fmt.Errorf("closed conversations: %w", d.translate(err))
	}
	defer rows.Close()
	var out [][2]time.Time
	for rows.Next() {
		var c [2]time.Time
		if err := rows.Scan(scanTime(&c[0]), scanTime(&c[1])); err != nil {
			return nil, fmt.Errorf("closed conversations: %w", d.translate(err))
		}
		out = append(out, c)
	}
	return out, d.rowsErr(rows, "closed conversations")
}

func (d *DB) rowsErr(rows interface{ Err() error }, what string) error {
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, d.translate(err))
	}
	return nil
}
