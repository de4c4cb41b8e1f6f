package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

const channelColumns = "id, name, phone_number_id, display_phone_number, business_account_id, access_token, app_secret, " +
	"verify_token, COALESCE(default_department_id, ''), status, status_reason, messages_per_second, created_at, updated_at"

// channelNulls scans channelColumns where a left join may have made them
// all NULL (StartGroupCommit); keep it in step with scanChannel.
type channelNulls struct {
	text             [11]sql.NullString
	perSecond        sql.NullInt64
	created, updated sql.NullTime
}

func (c *channelNulls) dest() []any {
	out := make([]any, 0, len(c.text)+3)
	for i := range c.text {
		out = append(out, &c.text[i])
	}
	return append(out, &c.perSecond, &c.created, &c.updated)
}

func (c *channelNulls) channel() helpdesk.Channel {
	t := func(i int) string { return c.text[i].String }
	return helpdesk.Channel{ID: t(0), Name: t(1), PhoneNumberID: t(2), DisplayPhoneNumber: t(3), BusinessAccountID: t(4),
		AccessToken: t(5), AppSecret: t(6), VerifyToken: t(7), DefaultDepartmentID: t(8), Status: helpdesk.ChannelStatus(t(9)),
		StatusReason: t(10), MessagesPerSecond: int(c.perSecond.Int64), CreatedAt: c.created.Time.UTC(), UpdatedAt: c.updated.Time.UTC()}
}

func scanChannel(row scanner) (helpdesk.Channel, error) {
	var c helpdesk.Channel
	err := row.Scan(&c.ID, &c.Name, &c.PhoneNumberID, &c.DisplayPhoneNumber, &c.BusinessAccountID, &c.AccessToken,
		&c.AppSecret, &c.VerifyToken, &c.DefaultDepartmentID, &c.Status, &c.StatusReason, &c.MessagesPerSecond,
		scanTime(&c.CreatedAt), scanTime(&c.UpdatedAt))
	return c, err
}

// UpsertChannel creates the channel with c.PhoneNumberID, or updates the
// existing one's name, display number, business account, credentials,
// default department and pace; its id, status and created_at stay.
// ErrNotFound when the default department does not exist.
func (d *DB) UpsertChannel(ctx context.Context, c helpdesk.Channel) (helpdesk.Channel, error) {
	_, err := d.q.ExecContext(ctx, channelInsert+` ON CONFLICT (phone_number_id) DO UPDATE SET name = excluded.name,
		display_phone_number = excluded.display_phone_number, business_account_id = excluded.business_account_id,
		access_token = excluded.access_token, app_secret = excluded.app_secret, verify_token = excluded.verify_token,
		default_department_id = excluded.default_department_id, messages_per_second = excluded.messages_per_second,
		updated_at = excluded.updated_at`, channelInsertArgs(c, c.UpdatedAt)...)
	if err != nil {
		return helpdesk.Channel{}, fmt.Errorf("upsert channel %s: %w", c.PhoneNumberID, d.translate(err))
	}
	return d.GetChannelByPhoneNumberID(ctx, c.PhoneNumberID)
}

// InsertChannel creates a channel; ErrConflict when its number is already
// connected (also when another request connected it a moment ago),
// ErrNotFound when the default department does not exist.
func (d *DB) InsertChannel(ctx context.Context, c helpdesk.Channel) (helpdesk.Channel, error) {
	if _, err := d.q.ExecContext(ctx, channelInsert, channelInsertArgs(c, c.CreatedAt)...); err != nil {
		return helpdesk.Channel{}, fmt.Errorf("insert channel %s: %w", c.PhoneNumberID, d.translate(err))
	}
	return d.GetChannel(ctx, c.ID)
}

const channelInsert = `INSERT INTO channels (id, name, phone_number_id, display_phone_number, business_account_id,
	access_token, app_secret, verify_token, default_department_id, status, status_reason, messages_per_second, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '', $11, $12, $12)`

// channelInsertArgs are channelInsert's arguments, with the defaults of a
// new channel (80 messages/s, active).
func channelInsertArgs(c helpdesk.Channel, at time.Time) []any {
	if c.MessagesPerSecond <= 0 {
		c.MessagesPerSecond = 80
	}
	if c.Status == "" {
		c.Status = helpdesk.ChannelActive
	}
	return []any{c.ID, c.Name, c.PhoneNumberID, c.DisplayPhoneNumber, c.BusinessAccountID, c.AccessToken, c.AppSecret,
		c.VerifyToken, nullString(c.DefaultDepartmentID), c.Status, c.MessagesPerSecond, dbTime(at)}
}

// GetChannel returns a channel by id; ErrNotFound when there is none.
func (d *DB) GetChannel(ctx context.Context, id string) (helpdesk.Channel, error) {
	c, err := scanChannel(d.q.QueryRowContext(ctx, "SELECT "+channelColumns+" FROM channels WHERE id = $1", id))
	if err != nil {
		return helpdesk.Channel{}, fmt.Errorf("get channel %s: %w", id, d.translate(err))
	}
	return c, nil
}

// GetChannelByPhoneNumberID returns the channel of a Meta phone number id;
// ErrNotFound when there is none.
func (d *DB) GetChannelByPhoneNumberID(ctx context.Context, phoneNumberID string) (helpdesk.Channel, error) {
	c, err := scanChannel(d.q.QueryRowContext(ctx, "SELECT "+channelColumns+" FROM channels WHERE phone_number_id = $1", phoneNumberID))
	if err != nil {
		return helpdesk.Channel{}, fmt.Errorf("get channel by phone number id %s: %w", phoneNumberID, d.translate(err))
	}
	return c, nil
}

// ListChannels returns every channel, oldest first.
func (d *DB) ListChannels(ctx context.Context) ([]helpdesk.Channel, error) {
	rows, err := d.q.QueryContext(ctx, "SELECT "+channelColumns+" FROM channels ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", d.translate(err))
	}
	defer rows.Close()
	out := []helpdesk.Channel{}
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, fmt.Errorf("list channels: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list channels: %w", d.translate(err))
	}
	return out, nil
}
