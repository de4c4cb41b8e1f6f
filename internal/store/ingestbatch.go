package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// The batch methods below write a whole group commit's rows with one
// statement per step instead of one per message: on PostgreSQL one round
// trip instead of dozens, on SQLite one prepared statement run instead of
// dozens. Their rows travel as one parameter per column (PostgreSQL text
// arrays, unnested) or, on SQLite, as a VALUES list padded to a power of
// two (a JSON array of rows through json_each beyond maxValuesRows), so
// the statement text barely depends on the batch size and a few prepared
// statements serve every batch.

// batchCol is a column of a rowSource: its name and its SQL type.
type batchCol struct {
	name string
	typ  string // "text", "int" or "timestamp"
}

// rowSource appends rows as parameters and returns a FROM item, aliased u,
// with cols as its columns. A row holds strings, ints and time.Times.
func (d *DB) rowSource(p *params, cols []batchCol, rows [][]any) string {
	if d.dialect == DialectPostgres {
		// Times and numbers travel as binary arrays of their own type:
		// as text, the server parsed every time once per row and per
		// mention in the statement (timestamptz_in was ~3 % of its CPU
		// in bench ingest).
		ps, names := make([]string, len(cols)), make([]string, len(cols))
		for i, c := range cols {
			switch c.typ {
			case "timestamp":
				a := make([]time.Time, len(rows))
				for r, row := range rows {
					a[r] = dbTime(row[i].(time.Time))
				}
				ps[i] = p.add(a) + "::timestamptz[]"
			case "int":
				a := make([]int64, len(rows))
				for r, row := range rows {
					a[r] = int64(row[i].(int))
				}
				ps[i] = p.add(a) + "::int[]"
			default:
				a := make([]string, len(rows))
				for r, row := range rows {
					a[r] = d.batchValue(row[i])
				}
				ps[i] = p.add(a) + "::text[]"
			}
			names[i] = c.name
		}
		return "unnest(" + strings.Join(ps, ", ") + ") AS u(" + strings.Join(names, ", ") + ")"
	}
	if len(rows) <= maxValuesRows {
		return d.valuesSource(p, cols, rows)
	}
	enc := make([][]string, len(rows))
	for r, row := range rows {
		enc[r] = make([]string, len(row))
		for i, v := range row {
			enc[r][i] = d.batchValue(v)
		}
	}
	b, _ := json.Marshal(enc) // strings always marshal
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = "value->>" + strconv.Itoa(i) + " AS " + c.name
	}
	return "(SELECT " + strings.Join(sel, ", ") + " FROM json_each(" + p.add(string(b)) + ")) AS u"
}

// maxValuesRows is the most rows SQLite gets as a VALUES list; larger
// batches go as JSON.
const maxValuesRows = 64

// valuesSource is rowSource on SQLite for up to maxValuesRows rows: a VALUES
// list of bound parameters, which SQLite reads faster than a JSON text it
// must parse again for every column. The list is padded with NULL rows to
// the next power of two, so a handful of statement texts serve every batch
// size.
//
// Its parameters are anonymous (?) when they are the statement's first:
// SQLite keeps named ones ($3) in a list it scans on each lookup, and the
// driver looks each one up by number when binding, so a 64-row list of
// $N cost time quadratic in its ~1,000 parameters (a sixth of the commit
// lane). A ? is numbered by its place in the text, so a caller may add
// parameters after the list only for text that follows it.
func (d *DB) valuesSource(p *params, cols []batchCol, rows [][]any) string {
	placeholder := p.add
	if len(*p) == 0 {
		placeholder = p.next
	}
	size := 1
	for size < len(rows) {
		size *= 2
	}
	var b strings.Builder
	b.WriteString("(SELECT ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("column" + strconv.Itoa(i+1) + " AS " + c.name)
	}
	b.WriteString(" FROM (VALUES ")
	for r := range size {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for i := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			var v any // a padding row: NULLs, filtered out below
			if r < len(rows) {
				v = d.batchValue(rows[r][i])
			}
			b.WriteString(placeholder(v))
		}
		b.WriteString(")")
	}
	b.WriteString(") WHERE column1 IS NOT NULL) AS u")
	return b.String()
}

// batchValue is v as rowSource's text: times in the form the engine
// stores them (on SQLite the driver's own, so that stored times compare
// as text the way they do when bound one by one).
func (d *DB) batchValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case time.Time:
		if d.dialect == DialectPostgres {
			return formatUTC(dbTime(v), 'T', "Z", time.RFC3339Nano)
		}
		return formatUTC(dbTime(v), ' ', "+00:00", "2006-01-02 15:04:05.999999999-07:00")
	}
	panic(fmt.Sprintf("rowSource: unsupported value %T", v))
}

// col is u's column name as its SQL type.
func (d *DB) col(c batchCol) string {
	switch {
	case d.dialect == DialectPostgres:
		return "u." + c.name // unnested from an array of its type
	case c.typ == "int":
		return "CAST(u." + c.name + " AS INTEGER)"
	}
	return "u." + c.name
}

// cols returns col for each of cs, comma separated.
func (d *DB) cols(cs []batchCol) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = d.col(c)
	}
	return strings.Join(out, ", ")
}

// lockOrder sorts rows by the text columns at keys, in turn, on
// PostgreSQL. A multi-row INSERT … ON CONFLICT or UPDATE locks its rows
// (and waits for other transactions' uncommitted ones) one after another,
// in the order its plan produces them: for the statements here, the
// order of the unnested arrays (an INSERT's SELECT is a lone function
// scan; the UPDATE joins the conversations to it in a nested loop, the
// unnest outside, as it is planned for the ~10 rows PostgreSQL assumes of
// an unnested parameter with sequential scans off, see StartGroupCommit).
// Two replicas' group commits listing the same customers in different
// orders each locked a row the other then waited for, and PostgreSQL
// aborted one of them (SQLSTATE 40P01): the whole batch was retried one
// delivery at a time, and a lone delivery answered 500. Rows sorted by the
// key the statement locks them by are taken in one order by every
// transaction, which waits instead. The ingest's group commits also lock
// their customers first (StartGroupCommit), which covers the messages they
// write one at a time too; the sort keeps these statements free of such
// deadlocks on their own, for nothing (a sort of at most a batch's rows,
// the statement unchanged). SQLite has one writer and cannot deadlock this
// way; its rows stay as they are.
func (d *DB) lockOrder(rows [][]any, keys ...int) {
	if d.dialect != DialectPostgres {
		return
	}
	slices.SortFunc(rows, func(a, b []any) int {
		for _, k := range keys {
			if c := strings.Compare(a[k].(string), b[k].(string)); c != 0 {
				return c
			}
		}
		return 0
	})
}

// insertSelect is the SELECT feeding an INSERT … ON CONFLICT: SQLite needs
// a WHERE there, or it reads ON as a join's.
func (d *DB) insertSelect(p *params, cols []batchCol, rows [][]any) string {
	return "SELECT " + d.cols(cols) + " FROM " + d.rowSource(p, cols, rows) + " WHERE true"
}

// InsertInboxEntries implements helpdesk.IngestStore.
func (d *DB) InsertInboxEntries(ctx context.Context, es []helpdesk.InboxEntry) error {
	if len(es) == 0 {
		return nil
	}
	cols := []batchCol{{"id", "text"}, {"body_sha256", "text"}, {"body", "text"}, {"status", "text"}, {"note", "text"}, {"received_at", "timestamp"}, {"signer", "text"}}
	rows := make([][]any, len(es))
	for i, e := range es {
		rows[i] = []any{e.ID, e.BodySHA256, string(e.Body), e.Status, e.Note, dbTime(e.ReceivedAt), e.Signer}
	}
	var p params
	q := `INSERT INTO webhook_inbox (id, body_sha256, body, status, note, received_at, signer) ` + d.insertSelect(&p, cols, rows)
	if _, err := d.q.ExecContext(ctx, q, p...); err != nil {
		return fmt.Errorf("insert inbox entries: %w", d.translate(err))
	}
	return nil
}

// queryStrings runs a query returning one text column, as a set.
func (d *DB) queryStrings(ctx context.Context, q string, p params) (map[string]bool, error) {
	rows, err := d.q.QueryContext(ctx, q, p...)
	if err != nil {
		return nil, d.translate(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out[s] = true
	}
	return out, d.translate(rows.Err())
}

// UpsertCustomers implements helpdesk.IngestStore: UpsertCustomer for many
// messages at once.
func (d *DB) UpsertCustomers(ctx context.Context, us []helpdesk.CustomerUpsert, now time.Time) ([]helpdesk.Customer, error) {
	out := make([]helpdesk.Customer, len(us))
	if len(us) == 0 {
		return out, nil
	}
	// Which forms of the numbers are stored, and as what: a customer is
	// found under the first stored form of its number, else created under
	// the first form; one whose names the batch leaves as they are is not
	// written at all (most messages come from customers the desk knows).
	var all []string
	for _, u := range us {
		all = append(all, u.WAIDs...)
	}
	stored, err := d.customersByWAID(ctx, all)
	if err != nil {
		return nil, fmt.Errorf("upsert customers: %w", err)
	}
	// One row per customer, folding its messages the way one UpsertCustomer
	// per message would: the name is the first non-empty profile name, the
	// profile name the last.
	type agg struct{ first, last string }
	keys := make([]string, len(us))
	aggs := map[string]*agg{}
	var order []string
	for i, u := range us {
		if len(u.WAIDs) == 0 {
			return nil, fmt.Errorf("upsert customers: no wa_id")
		}
		// Stored forms first, then a form a message earlier in the batch
		// creates (one by one, that customer would be stored by now).
		key := ""
		for _, w := range u.WAIDs {
			if _, ok := stored[w]; ok {
				key = w
				break
			}
		}
		for _, w := range u.WAIDs {
			if _, ok := aggs[w]; ok && key == "" {
				key = w
			}
		}
		if key == "" {
			key = u.WAIDs[0]
		}
		keys[i] = key
		a, ok := aggs[key]
		if !ok {
			a = &agg{}
			aggs[key] = a
			order = append(order, key)
		}
		if a.first == "" {
			a.first = u.ProfileName
		}
		if u.ProfileName != "" {
			a.last = u.ProfileName
		}
	}
	byWAID := map[string]helpdesk.Customer{}
	cols := []batchCol{{"id", "text"}, {"wa_id", "text"}, {"name", "text"}, {"profile_name", "text"}, {"now", "timestamp"}, {"now2", "timestamp"}}
	rows := make([][]any, 0, len(order))
	for _, key := range order {
		a := aggs[key]
		if c, ok := stored[key]; ok && !renames(c, a.last) {
			byWAID[key] = c
			continue
		}
		rows = append(rows, []any{helpdesk.NewID(), key, a.first, a.last, now, now})
	}
	// By wa_id, the key ON CONFLICT finds (and locks) a stored customer by,
	// and a concurrent insert of a new one waits on. The rows come back
	// by wa_id, whatever their order.
	d.lockOrder(rows, 1)
	if len(rows) > 0 {
		var p params
		q := `INSERT INTO customers (id, wa_id, name, profile_name, created_at, updated_at) ` + d.insertSelect(&p, cols, rows) +
			` ` + customerMerge + d.lists.customerReturning
		res, err := d.q.QueryContext(ctx, q, p...)
		if err != nil {
			return nil, fmt.Errorf("upsert customers: %w", d.translate(err))
		}
		defer res.Close()
		for res.Next() {
			var c helpdesk.Customer
			if err := res.Scan(customerScanDest(&c)...); err != nil {
				return nil, fmt.Errorf("upsert customers: %w", err)
			}
			byWAID[c.WAID] = c
		}
		if err := res.Err(); err != nil {
			return nil, fmt.Errorf("upsert customers: %w", d.translate(err))
		}
	}
	for i, key := range keys {
		c, ok := byWAID[key]
		if !ok {
			return nil, fmt.Errorf("upsert customers: %s not returned", key)
		}
		out[i] = c
	}
	return out, nil
}

// OpenConversations implements helpdesk.IngestStore: OpenConversation for
// many customers at once. cs must not name one customer and channel twice.
func (d *DB) OpenConversations(ctx context.Context, cs []helpdesk.Conversation) ([]helpdesk.Conversation, []bool, error) {
	out, created := make([]helpdesk.Conversation, len(cs)), make([]bool, len(cs))
	if len(cs) == 0 {
		return out, created, nil
	}
	pair := func(channelID, customerID string) string { return channelID + "\x00" + customerID }
	// The customers come with cs, as this transaction left them: the
	// conversations are read without joining them again. A conversation
	// that was live already is read as its id only (see the interface).
	live := func(idx []int, full bool) (map[string]helpdesk.Conversation, error) {
		ids := make([]string, len(idx))
		customers := make(map[string]helpdesk.Customer, len(idx))
		for i, j := range idx {
			ids[i] = cs[j].Customer.ID
			customers[ids[i]] = cs[j].Customer
		}
		cols := "conversations.id, conversations.channel_id"
		if full {
			cols = d.lists.conversationReturning
		}
		var p params
		rows, err := d.q.QueryContext(ctx, "SELECT "+cols+", conversations.customer_id FROM conversations"+
			" WHERE customer_id "+p.anyOf(d.dialect, ids)+" AND status <> 'closed'", p...)
		if err != nil {
			return nil, d.translate(err)
		}
		defer rows.Close()
		found := map[string]helpdesk.Conversation{}
		for rows.Next() {
			var c helpdesk.Conversation
			var customerID string
			dest := []any{&c.ID, &c.ChannelID}
			if full {
				dest = conversationDest(&c)
			}
			if err := rows.Scan(append(dest, &customerID)...); err != nil {
				return nil, err
			}
			c.Customer = customers[customerID]
			found[pair(c.ChannelID, customerID)] = c
		}
		return found, d.translate(rows.Err())
	}
	all := make([]int, len(cs))
	for i := range cs {
		all[i] = i
	}
	found, err := live(all, false)
	if err != nil {
		return nil, nil, fmt.Errorf("open conversations: %w", err)
	}
	var missing []int
	var rows [][]any
	for i, c := range cs {
		if conv, ok := found[pair(c.ChannelID, c.Customer.ID)]; ok {
			out[i] = conv
			continue
		}
		missing = append(missing, i)
		var waiting time.Time
		if c.WaitingSince != nil {
			waiting = *c.WaitingSince
		}
		rows = append(rows, []any{c.ID, c.ChannelID, c.Customer.ID, c.DepartmentID, string(c.Status), waiting, c.CreatedAt})
	}
	if len(missing) == 0 {
		return out, created, nil
	}
	cols := []batchCol{{"id", "text"}, {"channel_id", "text"}, {"customer_id", "text"}, {"department_id", "text"},
		{"status", "text"}, {"waiting_since", "timestamp"}, {"created_at", "timestamp"}}
	// By channel and customer, the live conversations' unique key, which a
	// concurrent insert of the same conversation waits on. missing keeps
	// cs's order: the rows are matched back by that key below.
	d.lockOrder(rows, 1, 2)
	var p params
	src := d.rowSource(&p, cols, rows)
	q := `INSERT INTO conversations (id, channel_id, customer_id, department_id, status, waiting_since, created_at, updated_at)
		SELECT u.id, u.channel_id, u.customer_id, NULLIF(u.department_id, ''), u.status, ` + d.col(cols[5]) + `, ` + d.col(cols[6]) + `, ` + d.col(cols[6]) + `
		FROM ` + src + ` WHERE true
		ON CONFLICT (channel_id, customer_id) WHERE status <> 'closed' DO NOTHING RETURNING id`
	made, err := d.queryStrings(ctx, q, p)
	if err != nil {
		return nil, nil, fmt.Errorf("open conversations: %w", err)
	}
	if found, err = live(missing, true); err != nil {
		return nil, nil, fmt.Errorf("open conversations: %w", err)
	}
	for _, i := range missing {
		conv, ok := found[pair(cs[i].ChannelID, cs[i].Customer.ID)]
		if !ok {
			return nil, nil, fmt.Errorf("open conversations: none for customer %s", cs[i].Customer.ID)
		}
		out[i], created[i] = conv, made[conv.ID]
	}
	return out, created, nil
}

// InsertInboundMessages implements helpdesk.IngestStore: InsertMessage for
// many inbound messages at once.
func (d *DB) InsertInboundMessages(ctx context.Context, ms []helpdesk.Message) ([]bool, error) {
	inserted := make([]bool, len(ms))
	if len(ms) == 0 {
		return inserted, nil
	}
	cols := []batchCol{{"id", "text"}, {"conversation_id", "text"}, {"sender_id", "text"}, {"type", "text"}, {"text", "text"},
		{"media_id", "text"}, {"media_mime_type", "text"}, {"media_file_name", "text"}, {"media_sha256", "text"},
		{"reply_to_id", "text"}, {"wa_message_id", "text"}, {"status", "text"}, {"raw", "text"}, {"created_at", "timestamp"},
		{"sent_at", "timestamp"}}
	rows := make([][]any, len(ms))
	for i, m := range ms {
		media := m.Media
		if media == nil {
			media = &helpdesk.Media{}
		}
		sent := m.CreatedAt
		if m.SentAt != nil {
			sent = *m.SentAt
		}
		rows[i] = []any{m.ID, m.ConversationID, m.SenderID, m.Type, m.Text, media.ID, media.MimeType, media.FileName, media.SHA256,
			m.ReplyToID, m.WAMessageID, m.Status, string(m.Raw), m.CreatedAt, sent}
	}
	raw := "NULLIF(u.raw, '')"
	if d.dialect == DialectPostgres {
		raw += "::jsonb"
	}
	var p params
	src := d.rowSource(&p, cols, rows)
	q := `INSERT INTO messages (id, conversation_id, direction, sender_type, sender_id, type, text,
		media_id, media_mime_type, media_file_name, media_sha256, reply_to_id, wa_message_id, status, raw, created_at, sent_at)
		SELECT u.id, u.conversation_id, 'inbound', 'customer', NULLIF(u.sender_id, ''), u.type, u.text,
		NULLIF(u.media_id, ''), NULLIF(u.media_mime_type, ''), NULLIF(u.media_file_name, ''), NULLIF(u.media_sha256, ''),
		NULLIF(u.reply_to_id, ''), u.wa_message_id, u.status, ` + raw + `, ` + d.col(cols[13]) + `, ` + d.col(cols[14]) + `
		FROM ` + src + ` WHERE true
		ON CONFLICT (wa_message_id) DO NOTHING RETURNING id`
	fresh, err := d.queryStrings(ctx, q, p)
	if err != nil {
		return nil, fmt.Errorf("insert messages: %w", err)
	}
	for i, m := range ms {
		inserted[i] = fresh[m.ID]
	}
	return inserted, nil
}

// NoteInboundMessages implements helpdesk.IngestStore:
// NoteInboundMessage for many conversations at once.
func (d *DB) NoteInboundMessages(ctx context.Context, notes []helpdesk.InboundNote, now time.Time) ([]helpdesk.Conversation, error) {
	if len(notes) == 0 {
		return nil, nil
	}
	// now is a column, not a parameter of its own: it is used before the
	// rows in the text (see valuesSource).
	cols := []batchCol{{"id", "text"}, {"n", "int"}, {"at", "timestamp"}, {"preview", "text"}, {"now", "timestamp"}}
	rows := make([][]any, len(notes))
	for i, n := range notes {
		rows[i] = []any{n.ConversationID, n.Count, n.At, n.Preview, now}
	}
	// By conversation id: the plan locks the conversations in the order of
	// the rows (see lockOrder).
	d.lockOrder(rows, 0)
	var p params
	src := d.rowSource(&p, cols, rows)
	n, at, nowCol := d.col(cols[1]), d.col(cols[2]), d.col(cols[4])
	q := `UPDATE conversations SET
		unread_count = unread_count + ` + n + `,
		last_inbound_at = CASE WHEN last_inbound_at IS NULL OR last_inbound_at < ` + at + ` THEN ` + at + ` ELSE last_inbound_at END,
		last_message_preview = CASE WHEN last_message_at IS NULL OR last_message_at <= ` + at + ` THEN u.preview ELSE last_message_preview END,
		last_message_at = CASE WHEN last_message_at IS NULL OR last_message_at < ` + at + ` THEN ` + at + ` ELSE last_message_at END,
		updated_at = ` + nowCol + `
		FROM ` + src + ` WHERE conversations.id = u.id RETURNING ` + d.lists.conversationReturning
	res, err := d.q.QueryContext(ctx, q, p...)
	if err != nil {
		return nil, fmt.Errorf("note inbound messages: %w", d.translate(err))
	}
	defer res.Close()
	out := make([]helpdesk.Conversation, 0, len(notes))
	for res.Next() {
		c, err := scanConversationRow(res)
		if err != nil {
			return nil, fmt.Errorf("note inbound messages: %w", err)
		}
		out = append(out, c)
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("note inbound messages: %w", d.translate(err))
	}
	// The update returns its rows in the order it wrote them: on
	// PostgreSQL lockOrder's, on SQLite the table's.
	place := make(map[string]int, len(notes))
	for i, n := range notes {
		place[n.ConversationID] = i
	}
	slices.SortFunc(out, func(a, b helpdesk.Conversation) int { return place[a.ID] - place[b.ID] })
	return out, nil
}
