package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// BotConfigValues implements helpdesk.BotStore.
func (d *DB) BotConfigValues(ctx context.Context) (map[string]string, error) {
	rows, err := d.q.QueryContext(ctx, `SELECT key, value FROM bot_configurations`)
	if err != nil {
		return nil, fmt.Errorf("bot config: %w", d.translate(err))
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("bot config: %w", d.translate(err))
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bot config: %w", d.translate(err))
	}
	return out, nil
}

// BotConfigValue implements helpdesk.BotStore.
func (d *DB) BotConfigValue(ctx context.Context, key string) (string, error) {
	var v string
	err := d.translate(d.q.QueryRowContext(ctx, `SELECT value FROM bot_configurations WHERE key = $1`, key).Scan(&v))
	if errors.Is(err, helpdesk.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("bot config %s: %w", key, err)
	}
	return v, nil
}

// PutBotConfigValue implements helpdesk.BotStore.
func (d *DB) PutBotConfigValue(ctx context.Context, key, value, userID string, now time.Time) error {
	_, err := d.q.ExecContext(ctx, `INSERT INTO bot_configurations (key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		key, value, nullString(userID), dbTime(now))
	if err != nil {
		return fmt.Errorf("put bot config %s: %w", key, d.translate(err))
	}
	return nil
}

// InsertBotFlow implements helpdesk.BotStore.
func (d *DB) InsertBotFlow(ctx context.Context, f helpdesk.BotFlow) error {
	_, err := d.q.ExecContext(ctx, `INSERT INTO bot_flows (version, definition, created_by, created_at) VALUES ($1, $2, $3, $4)`,
		f.Version, string(f.Definition), nullString(f.CreatedBy), dbTime(f.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert bot flow %d: %w", f.Version, d.translate(err))
	}
	return nil
}

const botFlowColumns = `SELECT version, definition, COALESCE(created_by, ''), created_at FROM bot_flows`

func scanBotFlow(s scanner) (helpdesk.BotFlow, error) {
	var f helpdesk.BotFlow
	var def string
	if err := s.Scan(&f.Version, &def, &f.CreatedBy, scanTime(&f.CreatedAt)); err != nil {
		return helpdesk.BotFlow{}, err
	}
	f.Definition = json.RawMessage(def)
	return f, nil
}

// GetBotFlow implements helpdesk.BotStore.
func (d *DB) GetBotFlow(ctx context.Context, version int) (helpdesk.BotFlow, error) {
	f, err := scanBotFlow(d.q.QueryRowContext(ctx, botFlowColumns+` WHERE version = $1`, version))
	if err != nil {
		return helpdesk.BotFlow{}, fmt.Errorf("bot flow %d: %w", version, d.translate(err))
	}
	return f, nil
}

// LatestBotFlow implements helpdesk.BotStore.
func (d *DB) LatestBotFlow(ctx context.Context) (helpdesk.BotFlow, error) {
	f, err := scanBotFlow(d.q.QueryRowContext(ctx, botFlowColumns+` ORDER BY version DESC LIMIT 1`))
	if err != nil {
		return helpdesk.BotFlow{}, fmt.Errorf("latest bot flow: %w", d.translate(err))
	}
	return f, nil
}

// ListBotFlows implements helpdesk.BotStore.
func (d *DB) ListBotFlows(ctx context.Context, limit int) ([]helpdesk.BotFlow, error) {
	rows, err := d.q.QueryContext(ctx, botFlowColumns+` ORDER BY version DESC LIMIT $1`, pageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list bot flows: %w", d.translate(err))
	}
	defer rows.Close()
	out := []helpdesk.BotFlow{}
	for rows.Next() {
		f, err := scanBotFlow(rows)
		if err != nil {
			return nil, fmt.Errorf("list bot flows: %w", d.translate(err))
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list bot flows: %w", d.translate(err))
	}
	return out, nil
}

// GetBotSession implements helpdesk.BotStore.
func (d *DB) GetBotSession(ctx context.Context, conversationID string) (helpdesk.BotSession, error) {
	var s helpdesk.BotSession
	var vars, path string
	err := d.q.QueryRowContext(ctx, `SELECT conversation_id, flow_version, node, variables, path, mode, invalid_count, seq,
		last_message_id, last_activity_at, ended_at, ended_reason, created_at FROM bot_sessions WHERE conversation_id = $1`, conversationID).
		Scan(&s.ConversationID, &s.FlowVersion, &s.Node, &vars, &path, &s.Mode, &s.InvalidCount, &s.Seq, &s.LastMessageID,
			scanTime(&s.LastActivityAt), scanNullTime(&s.EndedAt), &s.EndedReason, scanTime(&s.CreatedAt))
	if err != nil {
		return helpdesk.BotSession{}, fmt.Errorf("bot session %s: %w", conversationID, d.translate(err))
	}
	if err := json.Unmarshal([]byte(vars), &s.Variables); err != nil {
		return helpdesk.BotSession{}, fmt.Errorf("bot session %s variables: %w", conversationID, err)
	}
	if err := json.Unmarshal([]byte(path), &s.Path); err != nil {
		return helpdesk.BotSession{}, fmt.Errorf("bot session %s path: %w", conversationID, err)
	}
	return s, nil
}

// SaveBotSession implements helpdesk.BotStore.
func (d *DB) SaveBotSession(ctx context.Context, s helpdesk.BotSession) error {
	if s.Variables == nil {
		s.Variables = map[string]string{}
	}
	if s.Path == nil {
		s.Path = []string{}
	}
	vars, err := json.Marshal(s.Variables)
	if err != nil {
		return fmt.Errorf("save bot session: %w", err)
	}
	path, err := json.Marshal(s.Path)
	if err != nil {
		return fmt.Errorf("save bot session: %w", err)
	}
	_, err = d.q.ExecContext(ctx, `INSERT INTO bot_sessions (conversation_id, flow_version, node, variables, path, mode,
		invalid_count, seq, last_message_id, last_activity_at, ended_at, ended_reason, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (conversation_id) DO UPDATE SET flow_version = excluded.flow_version, node = excluded.node,
		variables = excluded.variables, path = excluded.path, mode = excluded.mode, invalid_count = excluded.invalid_count,
		seq = excluded.seq, last_message_id = excluded.last_message_id, last_activity_at = excluded.last_activity_at,
		ended_at = excluded.ended_at, ended_reason = excluded.ended_reason`,
		s.ConversationID, s.FlowVersion, s.Node, string(vars), string(path), s.Mode, s.InvalidCount, s.Seq, s.LastMessageID,
		dbTime(s.LastActivityAt), dbNullTime(s.EndedAt), s.EndedReason, dbTime(s.CreatedAt))
	if err != nil {
		return fmt.Errorf("save bot session %s: %w", s.ConversationID, d.translate(err))
	}
	return nil
}

// ResetCSAT implements helpdesk.BotStore.
func (d *DB) ResetCSAT(ctx context.Context, conversationID string) error {
	if _, err := d.q.ExecContext(ctx, `UPDATE conversations SET csat_requested_at = NULL, csat_score = NULL,
		csat_comment = NULL, csat_answered_at = NULL WHERE id = $1`, conversationID); err != nil {
		return fmt.Errorf("reset csat %s: %w", conversationID, d.translate(err))
	}
	return nil
}

// MarkCSATRequested implements helpdesk.BotStore.
func (d *DB) MarkCSATRequested(ctx context.Context, conversationID string, now time.Time) error {
	_, err := d.q.ExecContext(ctx, `UPDATE conversations SET csat_requested_at = $1 WHERE id = $2`, dbTime(now), conversationID)
	if err != nil {
		return fmt.Errorf("mark csat requested %s: %w", conversationID, d.translate(err))
	}
	return nil
}

// PendingCSAT implements helpdesk.BotStore.
func (d *DB) PendingCSAT(ctx context.Context, channelID, customerID string, since time.Time) (helpdesk.Conversation, error) {
	v, err := scanConversation(d.q.QueryRowContext(ctx, "SELECT "+d.lists.conversation+conversationFrom+
		` WHERE v.channel_id = $1 AND v.customer_id = $2 AND v.status = 'closed' AND v.csat_requested_at >= $3
		AND v.csat_answered_at IS NULL ORDER BY v.csat_requested_at DESC LIMIT 1`, channelID, customerID, dbTime(since)))
	if err != nil {
		return helpdesk.Conversation{}, fmt.Errorf("pending csat: %w", d.translate(err))
	}
	return v, nil
}

// RecordCSAT implements helpdesk.BotStore.
func (d *DB) RecordCSAT(ctx context.Context, conversationID string, score int, comment string, now time.Time) (bool, error) {
	res, err := d.q.ExecContext(ctx, `UPDATE conversations SET csat_score = $1, csat_comment = $2, csat_answered_at = $3
		WHERE id = $4 AND csat_answered_at IS NULL`, score, nullString(comment), dbTime(now), conversationID)
	if err != nil {
		return false, fmt.Errorf("record csat %s: %w", conversationID, d.translate(err))
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
