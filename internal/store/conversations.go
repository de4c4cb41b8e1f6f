package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp"
)

const conversationFrom = " FROM conversations v JOIN customers c ON c.id = v.customer_id"

func scanConversation(row scanner) (helpdesk.Conversation, error) {
	var v helpdesk.Conversation
	c := &v.Customer
	err := row.Scan(append(conversationDest(&v),
		&c.ID, &c.WAID, &c.Name, &c.ProfileName, scanTime(&c.CreatedAt), scanTime(&c.UpdatedAt))...)
	return v, err
}

// scanConversationRow reads columnLists.conversationReturning: a
// conversation without its customer.
func scanConversationRow(row scanner) (helpdesk.Conversation, error) {
	var v helpdesk.Conversation
	err := row.Scan(conversationDest(&v)...)
	return v, err
}

func conversationDest(v *helpdesk.Conversation) []any {
	return []any{&v.ID, &v.ChannelID, &v.DepartmentID, &v.AssigneeID, &v.Status,
		scanNullTime(&v.LastMessageAt), &v.LastMessagePreview, scanNullTime(&v.LastInboundAt), &v.UnreadCount,
		scanNullTime(&v.WaitingSince), scanNullTime(&v.ClosedAt), scanTime(&v.CreatedAt), scanTime(&v.UpdatedAt),
		&v.CSATScore, &v.CSATComment, scanNullTime(&v.CSATRequestedAt)}
}

// GetConversation returns a conversation with its customer; ErrNotFound
// when there is none.
func (d *DB) GetConversation(ctx context.Context, id string) (helpdesk.Conversation, error) {
	v, err := scanConversation(d.q.QueryRowContext(ctx, "SELECT "+d.lists.conversation+conversationFrom+" WHERE v.id = $1", id))
	if err != nil {
		return helpdesk.Conversation{}, fmt.Errorf("get conversation %s: %w", id, d.translate(err))
	}
	return v, nil
}

// LastInboundAt implements helpdesk.ConversationReadStore. A customer has a
// handful of conversations per number, found through
// conversations_customer_idx. Should legacy data hold both forms of a
// Brazilian mobile as two customers, both customers' conversations count:
// WhatsApp knows one person, whichever form their message came under.
func (d *DB) LastInboundAt(ctx context.Context, channelID, customerID string) (*time.Time, error) {
	var waID string
	if err := d.q.QueryRowContext(ctx, "SELECT wa_id FROM customers WHERE id = $1", customerID).Scan(&waID); err != nil {
		if err = d.translate(err); errors.Is(err, helpdesk.ErrNotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("last inbound of %s on %s: %w", customerID, channelID, err)
	}
	// The forms of the number include waID itself, so one statement serves
	// every customer.
	var p params
	pChannel := p.add(channelID)
	var last *time.Time
	err := d.q.QueryRowContext(ctx, "SELECT MAX(v.last_inbound_at) FROM conversations v JOIN customers c ON c.id = v.customer_id WHERE v.channel_id = "+
		pChannel+" AND c.wa_id "+p.anyOf(d.dialect, whatsapp.BrazilianMobileVariants(waID)), p...).Scan(scanNullTime(&last))
	if err != nil {
		return nil, fmt.Errorf("last inbound of %s on %s: %w", customerID, channelID, d.translate(err))
	}
	return last, nil
}

// ListConversations returns conversations by latest activity, newest
// first; conversations without messages come last. Ties break on id.
func (d *DB) ListConversations(ctx context.Context, f helpdesk.ConversationFilter) ([]helpdesk.Conversation, error) {
	out, err := d.listConversations(ctx, f, false)
	if err != nil || f.After == nil || f.After.LastMessageAt == nil || len(out) >= pageLimit(f.Limit) {
		return out, err
	}
	// The page after a cursor with activity ran out of such conversations:
	// those without any come next.
	f.Limit = pageLimit(f.Limit) - len(out)
	tail, err := d.listConversations(ctx, f, true)
	return append(out, tail...), err
}

// listConversations is one query of ListConversations; nullTail lists, in
// place of what follows f.After, the conversations without activity.
func (d *DB) listConversations(ctx context.Context, f helpdesk.ConversationFilter, nullTail bool) ([]helpdesk.Conversation, error) {
	var p params
	var where []string
	// SQLite plans without statistics (nothing runs ANALYZE): given an OR
	// over assignee_id it gathered every unassigned conversation through
	// the assignee index and sorted them, and given several statuses it
	// sorted every open and waiting one. A unary + keeps such a column out
	// of index selection, so it filters a walk of an index that is already
	// in page order (activity, or department or assignee with activity,
	// migration 00011), which meets a page of live conversations at once.
	// PostgreSQL has statistics and chooses by itself.
	noIndex := ""
	if d.dialect == DialectSQLite {
		noIndex = "+"
	}
	if len(f.Statuses) > 0 {
		ss := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			ss[i] = string(s)
		}
		if len(ss) == 1 { // one status may choose the status index; several are kept off indexes
			where = append(where, "v.status = "+p.add(ss[0]))
		} else {
			where = append(where, noIndex+"v.status "+p.anyOf(d.dialect, ss))
		}
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
	if v := f.Viewer; v != nil {
		a, dep := noIndex+"v.assignee_id", noIndex+"v.department_id"
		visible := "(" + a + " IS NULL AND " + dep + " IS NULL)"
		if len(v.DepartmentIDs) > 0 {
			visible = "(" + a + " IS NULL AND (" + dep + " IS NULL OR " + dep + " " + p.anyOf(d.dialect, v.DepartmentIDs) + "))"
		}
		where = append(where, "("+a+" = "+p.add(v.UserID)+" OR "+visible+")")
	}
	// The condition after a cursor is a range of the activity index (no OR
	// with "IS NULL", which made every later page walk all the pages before
	// it); ListConversations appends the conversations without activity.
	switch a := f.After; {
	case a == nil:
	case nullTail:
		where = append(where, "v.last_message_at IS NULL")
	case a.LastMessageAt == nil:
		where = append(where, "(v.last_message_at IS NULL AND v.id < "+p.add(a.ID)+")")
	default:
		t := p.add(dbTime(*a.LastMessageAt))
		where = append(where, "v.last_message_at <= "+t+" AND (v.last_message_at < "+t+" OR v.id < "+p.add(a.ID)+")")
	}
	// Written so the activity index (last_message_at DESC [NULLS LAST], id
	// DESC) gives the order: "last_message_at IS NULL" first in the ORDER BY
	// made both engines sort every visible row for each page. SQLite sorts
	// NULLs last in DESC order already; PostgreSQL is told to.
	order := " ORDER BY v.last_message_at DESC, v.id DESC"
	if d.dialect == DialectPostgres {
		order = " ORDER BY v.last_message_at DESC NULLS LAST, v.id DESC"
	}
	limit := p.add(pageLimit(f.Limit))
	if query := strings.TrimSpace(f.Query); query != "" {
		branches, err := d.searchBranches(ctx, &p, query)
		if err != nil {
			return nil, fmt.Errorf("list conversations: %w", err)
		}
		if len(branches) == 0 {
			return []helpdesk.Conversation{}, nil
		}
		// Each way of matching (the customer; a message) is a query of its
		// own, ordered and limited like the page, so the engine plans each
		// alone: as one OR they were a filter on every conversation, which
		// cost seconds at a million messages. The page is the top of their
		// union.
		parts := make([]string, len(branches))
		for i, b := range branches {
			parts[i] = fmt.Sprintf("SELECT id FROM (SELECT v.id FROM conversations v WHERE %s%s LIMIT %s) s%d",
				strings.Join(append(slices.Clone(where), b), " AND "), order, limit, i)
		}
		where = append(where, "v.id IN ("+strings.Join(parts, " UNION ")+")")
	}
	q := "SELECT " + d.lists.conversation + conversationFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += order + " LIMIT " + limit
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
	m, err := scanMessage(d.q.QueryRowContext(ctx, "SELECT "+d.lists.message+" FROM messages WHERE id = $1", id))
	if err != nil {
		return helpdesk.Message{}, fmt.Errorf("get message %s: %w", id, d.translate(err))
	}
	return m, nil
}

// ListMessages returns one conversation's messages older than f.Before,
// newest first (chat order is created_at, then id).
func (d *DB) ListMessages(ctx context.Context, f helpdesk.MessageFilter) ([]helpdesk.Message, error) {
	var p params
	q := "SELECT " + d.lists.message + " FROM messages WHERE conversation_id = " + p.add(f.ConversationID)
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

// ftsProbeLimit decides how SQLite searches: a query matching at most this
// many messages (or customers) is answered from the list of their ids; one
// matching more walks the conversations newest first and stops at a full
// page (materialising a common word's conversations and sorting them cost
// over a second at a million messages). SQLite has no statistics to make
// this choice itself.
var ftsProbeLimit = 2000

// plannerTrustRows is the planner's estimate of matching messages from
// which PostgreSQL's own choice is kept (see messageBranchPostgres).
var plannerTrustRows float64 = 2000

// searchBranches returns the conditions on conversation v of a search, one
// per way of matching, none when nothing can match: the customer's number
// contains the digits of a phone-like query, or the customer's folded name
// contains the folded query; or a message's text holds every word of it,
// the last one as a word prefix (results come while the word is typed).
// Only the last: a prefix must be looked up across every indexed word it
// begins, and "nao:* & consigo:*" cost PostgreSQL and SQLite several times
// "nao & consigo:*" at a million messages. Each is an index lookup: on SQLite the customers' trigram
// FTS5 table and the messages' FTS5 table, on PostgreSQL trigram indexes on
// the customers and the GIN full-text index on the messages.
func (d *DB) searchBranches(ctx context.Context, p *params, q string) ([]string, error) {
	var out []string
	digits := helpdesk.SearchDigits(q)
	folded := helpdesk.Fold(q)
	if d.dialect == DialectSQLite && utf8.RuneCountInString(folded) >= 3 {
		// A trigram phrase is a substring match; the tokenizer folds case
		// and accents like helpdesk.Fold.
		expr := `{name profile_name} : "` + strings.ReplaceAll(folded, `"`, `""`) + `"`
		if digits != "" {
			expr += ` OR wa_id : "` + digits + `"`
		}
		ids, err := d.ftsRowids(ctx, "customers_fts", expr, ftsProbeLimit+1)
		if err != nil {
			return nil, err
		}
		switch {
		case len(ids) == 0:
		case len(ids) <= ftsProbeLimit:
			out = append(out, "v.customer_id IN (SELECT c2.id FROM customers c2 WHERE c2.rowid "+inJSON(p, ids)+")")
		default:
			// A common name: walk the conversations, newest first, each
			// checked by its customer's rowid (from the covering id index)
			// against the matches. Turning thousands of matching rowids into
			// customer ids first cost 15 ms of rowid lookups per search.
			out = append(out, "EXISTS (SELECT 1 FROM customers c2 WHERE c2.id = v.customer_id AND c2.rowid IN "+
				"(SELECT rowid FROM customers_fts WHERE customers_fts MATCH "+p.add(expr)+"))")
		}
	} else {
		// PostgreSQL's trigram indexes serve these LIKEs; on SQLite a query
		// of one or two characters is too short for trigrams and scans.
		var or []string
		if digits != "" {
			or = append(or, "swa_fold(c2.wa_id) LIKE "+p.add("%"+digits+"%")) // the trigram index is on swa_fold(wa_id) (migration 00013)
		}
		name := p.add("%" + escapeLike(folded) + "%")
		or = append(or, "swa_fold(c2.name) LIKE "+name+" ESCAPE '\\'", "swa_fold(c2.profile_name) LIKE "+name+" ESCAPE '\\'")
		out = append(out, "v.customer_id IN (SELECT c2.id FROM customers c2 WHERE "+strings.Join(or, " OR ")+")")
	}

	terms := helpdesk.SearchTerms(q)
	switch {
	case len(terms) == 0: // punctuation only: names can still hold it
	case d.dialect == DialectPostgres:
		words := slices.Clone(terms)
		words[len(words)-1] += ":*"
		branch, err := d.messageBranchPostgres(ctx, p, strings.Join(words, " & "))
		if err != nil {
			return nil, err
		}
		if branch != "" {
			out = append(out, branch)
		}
	default:
		words := make([]string, len(terms))
		for i, t := range terms {
			words[i] = `"` + t + `"`
		}
		whole := strings.Join(words, " ")
		match := whole + "*"
		// Whole words first: a common word is found common in a millisecond,
		// where listing its prefix matches costs tens.
		ids, err := d.ftsRowids(ctx, "messages_fts", whole, ftsProbeLimit+1)
		if err == nil && len(ids) <= ftsProbeLimit {
			ids, err = d.ftsRowids(ctx, "messages_fts", match, ftsProbeLimit+1)
		}
		if err != nil {
			return nil, err
		}
		switch {
		case len(ids) == 0:
		case len(ids) <= ftsProbeLimit:
			out = append(out, "v.id IN (SELECT m.conversation_id FROM messages m WHERE m.rowid "+inJSON(p, ids)+")")
		default:
			out = append(out, "EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = v.id AND m.rowid IN "+
				"(SELECT rowid FROM messages_fts WHERE messages_fts MATCH "+p.add(match)+"))")
		}
	}
	return out, nil
}

// messageBranchPostgres is the message condition of a search on
// PostgreSQL, "" when no message matches. The planner chooses between
// looking up each matching message's conversation and walking the
// conversations newest first, checking each, by its estimate of the
// matches; for several words that estimate multiplies the words' own
// frequencies and falls far short of common phrases ("nao consigo": 671
// estimated, 4,880 found), so it looked up thousands of conversations
// (40-120 ms at a million messages). Where the estimate is low, the
// matches are counted (up to ftsProbeLimit): few are left to the planner,
// which looks up their conversations; more are answered by a walk that
// checks each conversation against a hash of the matching ones (two to
// four times faster on that phrase). A high estimate is left to the
// planner: counting a word in a tenth of the messages (75 ms) costs more
// than the walk it chooses. EXPLAIN plans with the search's own words each
// time, also as a prepared statement.
func (d *DB) messageBranchPostgres(ctx context.Context, p *params, tsquery string) (string, error) {
	const match = "to_tsvector('simple', swa_fold(m.text)) @@ to_tsquery('simple', $1)"
	var plan []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		}
	}
	var raw []byte
	if err := d.q.QueryRowContext(ctx, "EXPLAIN (FORMAT JSON) SELECT 1 FROM messages m WHERE "+match, tsquery).Scan(&raw); err != nil {
		return "", fmt.Errorf("search: %w", d.translate(err))
	}
	if err := json.Unmarshal(raw, &plan); err != nil || len(plan) == 0 {
		return "", fmt.Errorf("search: reading the plan %.100s: %v", raw, err)
	}
	matching := func() string {
		return "SELECT m.conversation_id FROM messages m WHERE " + strings.Replace(match, "$1", p.add(tsquery), 1)
	}
	if plan[0].Plan.Rows >= plannerTrustRows {
		return "v.id IN (" + matching() + ")", nil
	}
	var n int
	if err := d.q.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM messages m WHERE "+match+" LIMIT $2) s",
		tsquery, ftsProbeLimit+1).Scan(&n); err != nil {
		return "", fmt.Errorf("search: %w", d.translate(err))
	}
	switch {
	case n == 0:
		return "", nil
	case n <= ftsProbeLimit:
		// Not "= ANY(the ids)": the statement is prepared, and against an
		// array of unknown length PostgreSQL's generic plan looked cheaper
		// than the custom ones, took over after five searches and walked
		// every conversation folding its customer's name (0.2 s a search).
		return "v.id IN (" + matching() + ")", nil
	default:
		// Wrapped in IS TRUE, the IN stays a filter the executor runs
		// against a hash of the subquery's rows, instead of a join planned
		// from the low estimate.
		return "(v.id IN (" + matching() + ")) IS TRUE", nil
	}
}

// ftsRowids returns up to limit rowids of the rows of an FTS5 table (a
// constant of the caller's) matching a query.
func (d *DB) ftsRowids(ctx context.Context, table, match string, limit int) ([]int64, error) {
	rows, err := d.q.QueryContext(ctx, "SELECT rowid FROM "+table+" WHERE "+table+" MATCH $1 LIMIT $2", match, limit)
	if err != nil {
		return nil, fmt.Errorf("search: %w", d.translate(err))
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, d.rowsErr(rows, "search")
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
	rows, err := d.q.QueryContext(ctx, "SELECT "+selectList(d.dialect, timeCol("waiting_since"), timeCol("updated_at"))+
		" FROM conversations WHERE status = 'waiting'")
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

// ClosedSince implements helpdesk.StatsStore. closed_at is set by closing
// and cleared by reopening, so it alone says a conversation is closed; a
// status = 'closed' term led SQLite's planner to the queue index, a walk
// of every conversation ever closed, where conversations_closed_idx reads
// the period's.
func (d *DB) ClosedSince(ctx context.Context, since time.Time) ([][2]time.Time, error) {
	rows, err := d.q.QueryContext(ctx, "SELECT "+selectList(d.dialect, timeCol("created_at"), timeCol("closed_at"))+
		" FROM conversations WHERE closed_at >= $1", dbTime(since))
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
