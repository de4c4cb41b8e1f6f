package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// customerMerge is how an inbound message's customer row (excluded) meets
// the stored one: the profile name follows WhatsApp unless empty, the name
// the desk knows them by is kept once set. UpsertCustomer and
// UpsertCustomers both use it, so the batch writer stays what one message
// at a time would do.
const customerMerge = `ON CONFLICT (wa_id) DO UPDATE SET
		profile_name = CASE WHEN excluded.profile_name = '' THEN customers.profile_name ELSE excluded.profile_name END,
		name = CASE WHEN customers.name = '' THEN excluded.name ELSE customers.name END,
		updated_at = excluded.updated_at `

// renames reports whether a message with profileName changes the stored
// customer c under customerMerge.
func renames(c helpdesk.Customer, profileName string) bool {
	return profileName != "" && (profileName != c.ProfileName || c.Name == "")
}

func customerScanDest(c *helpdesk.Customer) []any {
	return []any{&c.ID, &c.WAID, &c.Name, &c.ProfileName, scanTime(&c.CreatedAt), scanTime(&c.UpdatedAt)}
}

// customersByWAID reads the customers stored under any of waIDs.
func (d *DB) customersByWAID(ctx context.Context, waIDs []string) (map[string]helpdesk.Customer, error) {
	var p params
	rows, err := d.q.QueryContext(ctx, "SELECT "+d.lists.customer+" FROM customers WHERE wa_id "+p.anyOf(d.dialect, waIDs), p...)
	if err != nil {
		return nil, d.translate(err)
	}
	defer rows.Close()
	found := map[string]helpdesk.Customer{}
	for rows.Next() {
		var c helpdesk.Customer
		if err := rows.Scan(customerScanDest(&c)...); err != nil {
			return nil, err
		}
		found[c.WAID] = c
	}
	return found, d.translate(rows.Err())
}

// UpsertCustomer finds the customer by any of waIDs (preferring earlier
// ones), else creates it with waIDs[0]; either way it records the profile
// name. A customer it would not rename is only read: most messages come
// from customers the desk knows, and their rows stay as they are.
func (d *DB) UpsertCustomer(ctx context.Context, waIDs []string, profileName string, now time.Time) (helpdesk.Customer, error) {
	if len(waIDs) == 0 {
		return helpdesk.Customer{}, errors.New("upsert customer: no wa_id")
	}
	found, err := d.customersByWAID(ctx, waIDs)
	if err != nil {
		return helpdesk.Customer{}, fmt.Errorf("find customer: %w", err)
	}
	for _, w := range waIDs {
		c, ok := found[w]
		if !ok {
			continue
		}
		if !renames(c, profileName) {
			return c, nil
		}
		err := d.q.QueryRowContext(ctx, `UPDATE customers SET
			profile_name = $1, name = CASE WHEN name = '' THEN $1 ELSE name END, updated_at = $2
			WHERE id = $3 `+d.lists.customerReturning, profileName, dbTime(now), c.ID).Scan(customerScanDest(&c)...)
		if err != nil {
			return helpdesk.Customer{}, fmt.Errorf("update customer: %w", d.translate(err))
		}
		return c, nil
	}
	var c helpdesk.Customer
	// ON CONFLICT covers a concurrent first message of the same number
	// (another replica), with the same effect as the update above.
	err = d.q.QueryRowContext(ctx, `INSERT INTO customers (id, wa_id, name, profile_name, created_at, updated_at)
		VALUES ($1, $2, $3, $3, $4, $4) `+customerMerge+d.lists.customerReturning,
		helpdesk.NewID(), waIDs[0], profileName, dbTime(now)).Scan(customerScanDest(&c)...)
	if err != nil {
		return helpdesk.Customer{}, fmt.Errorf("create customer: %w", d.translate(err))
	}
	return c, nil
}

// OpenConversation returns the customer's live conversation on c's
// channel, creating c when there is none. The partial unique index settles
// a race between two first messages: the loser finds the winner's row.
func (d *DB) OpenConversation(ctx context.Context, c helpdesk.Conversation) (helpdesk.Conversation, bool, error) {
	live := func() (helpdesk.Conversation, error) {
		return scanConversation(d.q.QueryRowContext(ctx, "SELECT "+d.lists.conversation+conversationFrom+
			" WHERE v.channel_id = $1 AND v.customer_id = $2 AND v.status <> 'closed'", c.ChannelID, c.Customer.ID))
	}
	// Most messages continue a conversation: look before inserting.
	conv, err := live()
	if err == nil {
		return conv, false, nil
	}
	if err = d.translate(err); !errors.Is(err, helpdesk.ErrNotFound) {
		return helpdesk.Conversation{}, false, fmt.Errorf("open conversation: %w", err)
	}
	res, err := d.q.ExecContext(ctx, `INSERT INTO conversations (id, channel_id, customer_id, department_id, status,
		waiting_since, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
		ON CONFLICT (channel_id, customer_id) WHERE status <> 'closed' DO NOTHING`,
		c.ID, c.ChannelID, c.Customer.ID, nullString(c.DepartmentID), c.Status, dbNullTime(c.WaitingSince), dbTime(c.CreatedAt))
	if err != nil {
		return helpdesk.Conversation{}, false, fmt.Errorf("open conversation: %w", d.translate(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return helpdesk.Conversation{}, false, err
	}
	if conv, err = live(); err != nil {
		return helpdesk.Conversation{}, false, fmt.Errorf("open conversation: %w", d.translate(err))
	}
	return conv, n == 1, nil
}

// MessageIDByWAMID returns the id of the message with this wamid;
// ErrNotFound when there is none.
func (d *DB) MessageIDByWAMID(ctx context.Context, wamid string) (string, error) {
	var id string
	if err := d.q.QueryRowContext(ctx, "SELECT id FROM messages WHERE wa_message_id = $1", wamid).Scan(&id); err != nil {
		return "", fmt.Errorf("find message %s: %w", wamid, d.translate(err))
	}
	return id, nil
}

// InsertMessage stores m; a message whose wamid is stored already is
// skipped (inserted false), which makes webhook redeliveries no-ops.
func (d *DB) InsertMessage(ctx context.Context, m helpdesk.Message) (bool, error) {
	media := m.Media
	if media == nil {
		media = &helpdesk.Media{}
	}
	var raw any
	if len(m.Raw) > 0 {
		raw = string(m.Raw)
	}
	res, err := d.q.ExecContext(ctx, `INSERT INTO messages (id, conversation_id, direction, sender_type, sender_id, type, text,
		media_id, media_mime_type, media_file_name, media_size, media_sha256, media_path, reply_to_id, wa_message_id,
		status, error_code, error_message, raw, created_at, sent_at, delivered_at, read_at, reaction)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)
		ON CONFLICT (wa_message_id) DO NOTHING`,
		m.ID, m.ConversationID, m.Direction, m.SenderType, nullString(m.SenderID), m.Type, m.Text,
		nullString(media.ID), nullString(media.MimeType), nullString(media.FileName), nullInt64(media.Size), nullString(media.SHA256),
		nullString(media.Path), nullString(m.ReplyToID), nullString(m.WAMessageID), m.Status, nullString(m.ErrorCode),
		nullString(m.ErrorMessage), raw, dbTime(m.CreatedAt), dbNullTime(m.SentAt), dbNullTime(m.DeliveredAt), dbNullTime(m.ReadAt), m.Reaction)
	if err != nil {
		return false, fmt.Errorf("insert message: %w", d.translate(err))
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func nullInt64(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// NoteInboundMessage updates the conversation for a new inbound message
// created at: one more unread, last inbound time and last activity moved
// forward (never back, whatever order the messages arrive in).
func (d *DB) NoteInboundMessage(ctx context.Context, conversationID, preview string, at, now time.Time) (helpdesk.Conversation, error) {
	t := dbTime(at)
	c, err := scanConversationRow(d.q.QueryRowContext(ctx, `UPDATE conversations SET
		unread_count = unread_count + 1,
		last_inbound_at = CASE WHEN last_inbound_at IS NULL OR last_inbound_at < $2 THEN $2 ELSE last_inbound_at END,
		last_message_preview = CASE WHEN last_message_at IS NULL OR last_message_at <= $2 THEN $3 ELSE last_message_preview END,
		last_message_at = CASE WHEN last_message_at IS NULL OR last_message_at < $2 THEN $2 ELSE last_message_at END,
		updated_at = $4
		WHERE id = $1 RETURNING `+d.lists.conversationReturning, conversationID, t, preview, dbTime(now)))
	if err != nil {
		return helpdesk.Conversation{}, fmt.Errorf("note inbound message on %s: %w", conversationID, d.translate(err))
	}
	return c, nil
}

// NoteInboundTime implements helpdesk.IngestStore.
func (d *DB) NoteInboundTime(ctx context.Context, conversationID string, at time.Time) error {
	if _, err := d.q.ExecContext(ctx, `UPDATE conversations SET last_inbound_at = $2
		WHERE id = $1 AND (last_inbound_at IS NULL OR last_inbound_at < $2)`, conversationID, dbTime(at)); err != nil {
		return fmt.Errorf("note inbound time on %s: %w", conversationID, d.translate(err))
	}
	return nil
}

// SetMessageReaction records the customer's reaction ("" removes it).
func (d *DB) SetMessageReaction(ctx context.Context, messageID, emoji string) error {
	if _, err := d.q.ExecContext(ctx, "UPDATE messages SET reaction = $2 WHERE id = $1", messageID, emoji); err != nil {
		return fmt.Errorf("set reaction on %s: %w", messageID, d.translate(err))
	}
	return nil
}

// statusRank orders delivery states; a status only ever moves to a higher
// rank. failed sits between sent and delivered: it overrides a send in
// flight, but a later delivered or read report proves the message arrived.
const statusRank = `CASE %s WHEN 'queued' THEN 0 WHEN 'sent' THEN 1 WHEN 'failed' THEN 2 WHEN 'delivered' THEN 3 WHEN 'read' THEN 4 ELSE -1 END`

// ApplyMessageStatus moves the message's status forward and fills the time
// of each stage it reports (read implies delivered). Reports of a lower
// rank still fill a missing time but never lower the status.
func (d *DB) ApplyMessageStatus(ctx context.Context, ev helpdesk.StatusEvent) (bool, error) {
	t := dbTime(ev.OccurredAt)
	rankNew := fmt.Sprintf(statusRank, "$2")
	rankOld := fmt.Sprintf(statusRank, "status")
	res, err := d.q.ExecContext(ctx, `UPDATE messages SET
		status = CASE WHEN `+rankNew+` > `+rankOld+` THEN $2 ELSE status END,
		error_code = CASE WHEN `+rankNew+` > `+rankOld+` THEN (CASE WHEN $2 = 'failed' THEN $4 END) ELSE error_code END,
		error_message = CASE WHEN `+rankNew+` > `+rankOld+` THEN (CASE WHEN $2 = 'failed' THEN $5 END) ELSE error_message END,
		sent_at = CASE WHEN sent_at IS NULL AND $2 IN ('sent', 'delivered', 'read') THEN $3 ELSE sent_at END,
		delivered_at = CASE WHEN delivered_at IS NULL AND $2 IN ('delivered', 'read') THEN $3 ELSE delivered_at END,
		read_at = CASE WHEN read_at IS NULL AND $2 = 'read' THEN $3 ELSE read_at END
		WHERE wa_message_id = $1 AND direction = 'outbound'`,
		ev.WAMessageID, ev.Status, t, nullString(ev.ErrorCode), nullString(ev.ErrorMessage))
	if err != nil {
		return false, fmt.Errorf("apply status %s to %s: %w", ev.Status, ev.WAMessageID, d.translate(err))
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// RecordStatusEvent keeps a status report; a repeat of one wamid and
// status is ignored (recorded false).
func (d *DB) RecordStatusEvent(ctx context.Context, ev helpdesk.StatusEvent) (bool, error) {
	res, err := d.q.ExecContext(ctx, `INSERT INTO message_status_events (wa_message_id, status, occurred_at, error_code,
		error_message, known, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (wa_message_id, status) DO NOTHING`,
		ev.WAMessageID, ev.Status, dbTime(ev.OccurredAt), nullString(ev.ErrorCode), nullString(ev.ErrorMessage), ev.Known, dbTime(ev.ReceivedAt))
	if err != nil {
		return false, fmt.Errorf("record status event: %w", d.translate(err))
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// NoteOutboundMessage makes an outgoing message the conversation's latest
// activity.
func (d *DB) NoteOutboundMessage(ctx context.Context, conversationID, preview string, at, now time.Time) error {
	t := dbTime(at)
	_, err := d.q.ExecContext(ctx, `UPDATE conversations SET
		last_message_preview = CASE WHEN last_message_at IS NULL OR last_message_at <= $2 THEN $3 ELSE last_message_preview END,
		last_message_at = CASE WHEN last_message_at IS NULL OR last_message_at < $2 THEN $2 ELSE last_message_at END,
		updated_at = $4 WHERE id = $1`, conversationID, t, preview, dbTime(now))
	if err != nil {
		return fmt.Errorf("note outbound message on %s: %w", conversationID, d.translate(err))
	}
	return nil
}

// MarkMessageSent records Meta's acceptance of a queued message. A status
// webhook may have arrived first (it cannot match before the wamid is
// stored, so it was recorded as unknown); the message then moves to sent.
func (d *DB) MarkMessageSent(ctx context.Context, id, wamid string, at time.Time) (bool, error) {
	var updated bool
	err := d.inTx(ctx, func(tx *DB) error {
		// Serialised with the ingest of this wamid's statuses, so a status
		// recorded as unknown a moment ago is seen by the replay below.
		if err := tx.LockWAMIDs(ctx, []string{wamid}); err != nil {
			return err
		}
		res, err := tx.q.ExecContext(ctx, `UPDATE messages SET wa_message_id = $2, status = 'sent', sent_at = $3,
			send_attempted_at = NULL WHERE id = $1 AND status = 'queued'`, id, wamid, dbTime(at))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		updated = true
		return tx.replayStatusEvents(ctx, wamid)
	})
	if err != nil {
		return false, fmt.Errorf("mark message %s sent: %w", id, d.translate(err))
	}
	return updated, nil
}

// replayStatusEvents applies the reports Meta sent for wamid before we
// knew it was ours: a fast "delivered" can beat the send's own response.
func (d *DB) replayStatusEvents(ctx context.Context, wamid string) error {
	rows, err := d.q.QueryContext(ctx, `SELECT status, occurred_at, COALESCE(error_code, ''), COALESCE(error_message, '')
		FROM message_status_events WHERE wa_message_id = $1 AND NOT known`, wamid)
	if err != nil {
		return err
	}
	var evs []helpdesk.StatusEvent
	for rows.Next() {
		ev := helpdesk.StatusEvent{WAMessageID: wamid}
		if err := rows.Scan(&ev.Status, scanTime(&ev.OccurredAt), &ev.ErrorCode, &ev.ErrorMessage); err != nil {
			rows.Close()
			return err
		}
		evs = append(evs, ev)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, ev := range evs {
		if _, err := d.ApplyMessageStatus(ctx, ev); err != nil {
			return err
		}
	}
	if len(evs) > 0 {
		_, err = d.q.ExecContext(ctx, "UPDATE message_status_events SET known = $2 WHERE wa_message_id = $1", wamid, true)
	}
	return err
}

// MarkMessageFailed fails a queued message with Meta's reason.
func (d *DB) MarkMessageFailed(ctx context.Context, id, code, message string) (bool, error) {
	res, err := d.q.ExecContext(ctx, `UPDATE messages SET status = 'failed', error_code = $2, error_message = $3,
		send_attempted_at = NULL WHERE id = $1 AND status = 'queued'`, id, code, message)
	if err != nil {
		return false, fmt.Errorf("mark message %s failed: %w", id, d.translate(err))
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetChannelStatus records a channel's health; ErrNotFound for an unknown
// channel.
func (d *DB) SetChannelStatus(ctx context.Context, id string, status helpdesk.ChannelStatus, reason string, now time.Time) error {
	res, err := d.q.ExecContext(ctx, "UPDATE channels SET status = $2, status_reason = $3, updated_at = $4 WHERE id = $1",
		id, status, reason, dbTime(now))
	if err != nil {
		return fmt.Errorf("set channel %s status: %w", id, d.translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set channel %s status: %w", id, helpdesk.ErrNotFound)
	}
	return nil
}

// MarkInboundRead marks the conversation's inbound messages up to and
// including the one created at upTo as read by us, and recounts the
// conversation's unread messages. It returns how many it marked.
func (d *DB) MarkInboundRead(ctx context.Context, conversationID string, upTo, now time.Time) (int, error) {
	var marked int64
	err := d.inTx(ctx, func(tx *DB) error {
		res, err := tx.q.ExecContext(ctx, `UPDATE messages SET read_at = $3
			WHERE conversation_id = $1 AND direction = 'inbound' AND read_at IS NULL AND created_at <= $2`,
			conversationID, dbTime(upTo), dbTime(now))
		if err != nil {
			return err
		}
		if marked, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.q.ExecContext(ctx, `UPDATE conversations SET unread_count = (SELECT COUNT(*) FROM messages
			WHERE conversation_id = $1 AND direction = 'inbound' AND read_at IS NULL) WHERE id = $1`, conversationID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("mark read in %s: %w", conversationID, d.translate(err))
	}
	return int(marked), nil
}

// NewestInboundMessageID implements helpdesk.ConversationReadStore.
func (d *DB) NewestInboundMessageID(ctx context.Context, conversationID string, upTo time.Time) (string, error) {
	var id string
	err := d.q.QueryRowContext(ctx, `SELECT id FROM messages WHERE conversation_id = $1 AND direction = 'inbound'
		AND wa_message_id IS NOT NULL AND created_at <= $2 ORDER BY created_at DESC, id DESC LIMIT 1`,
		conversationID, dbTime(upTo)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("newest inbound message of %s: %w", conversationID, d.translate(err))
	}
	return id, nil
}

// SetMessageMedia records where a message's downloaded file is.
func (d *DB) SetMessageMedia(ctx context.Context, id, path, mimeType string, size int64) error {
	res, err := d.q.ExecContext(ctx, `UPDATE messages SET media_path = $2, media_mime_type = $3, media_size = $4 WHERE id = $1`,
		id, path, mimeType, size)
	if err != nil {
		return fmt.Errorf("set media of %s: %w", id, d.translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set media of %s: %w", id, helpdesk.ErrNotFound)
	}
	return nil
}

// SetMessageMediaError implements helpdesk.Store.
func (d *DB) SetMessageMediaError(ctx context.Context, id, reason string) error {
	if _, err := d.q.ExecContext(ctx, `UPDATE messages SET error_code = $2, error_message = $3
		WHERE id = $1 AND COALESCE(media_path, '') = ''`, id, helpdesk.CodeMediaUnavailable, reason); err != nil {
		return fmt.Errorf("set media error of %s: %w", id, d.translate(err))
	}
	return nil
}

// SetMessageMediaID records the id Meta gave a file we uploaded.
func (d *DB) SetMessageMediaID(ctx context.Context, id, mediaID string) error {
	if _, err := d.q.ExecContext(ctx, "UPDATE messages SET media_id = $2 WHERE id = $1", id, mediaID); err != nil {
		return fmt.Errorf("set media id of %s: %w", id, d.translate(err))
	}
	return nil
}

// StoredWAMIDs returns which of wamids are already stored, in one
// statement.
func (d *DB) StoredWAMIDs(ctx context.Context, wamids []string) (map[string]bool, error) {
	found := map[string]bool{}
	if len(wamids) == 0 {
		return found, nil
	}
	var p params
	rows, err := d.q.QueryContext(ctx, "SELECT wa_message_id FROM messages WHERE wa_message_id "+p.anyOf(d.dialect, wamids), p...)
	if err != nil {
		return nil, fmt.Errorf("stored wamids: %w", d.translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("stored wamids: %w", err)
		}
		found[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stored wamids: %w", d.translate(err))
	}
	return found, nil
}
