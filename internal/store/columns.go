package store

import "strings"

// columnLists are the column lists several queries share, written for one
// dialect (see selectList).
type columnLists struct {
	// conversation reads a conversation with its customer (alias v for
	// conversations, c for customers; see conversationFrom), in the order
	// scanConversation reads.
	conversation string
	// conversationReturning is the conversation's own columns for the
	// RETURNING clause of an UPDATE of conversations, qualified by the
	// table's name (PostgreSQL's UPDATE … FROM has an id of its own); see
	// scanConversationRow.
	conversationReturning string
	// customer is a customer's own columns, in the order customerScanDest
	// reads; customerReturning is the same as a RETURNING clause.
	customer, customerReturning string
	// message is what scanMessage reads.
	message string
}

var (
	sqliteColumns   = newColumnLists(DialectSQLite)
	postgresColumns = newColumnLists(DialectPostgres)
)

func columnListsFor(dialect string) *columnLists {
	if dialect == DialectPostgres {
		return postgresColumns
	}
	return sqliteColumns
}

func newColumnLists(dialect string) *columnLists {
	own := func(alias string) []string {
		return []string{alias + "id", alias + "channel_id", "COALESCE(" + alias + "department_id, '')",
			"COALESCE(" + alias + "assignee_id, '')", alias + "status", timeCol(alias + "last_message_at"),
			alias + "last_message_preview", timeCol(alias + "last_inbound_at"), alias + "unread_count",
			timeCol(alias + "waiting_since"), timeCol(alias + "closed_at"), timeCol(alias + "created_at"),
			timeCol(alias + "updated_at"), alias + "csat_score", "COALESCE(" + alias + "csat_comment, '')",
			timeCol(alias + "csat_requested_at")}
	}
	customer := func(alias string) []string {
		return []string{alias + "id", alias + "wa_id", alias + "name", alias + "profile_name",
			timeCol(alias + "created_at"), timeCol(alias + "updated_at")}
	}
	return &columnLists{
		conversation:          selectList(dialect, append(own("v."), customer("c.")...)...),
		conversationReturning: selectList(dialect, own("conversations.")...),
		customer:              selectList(dialect, customer("")...),
		customerReturning:     "RETURNING " + selectList(dialect, customer("")...),
		message: selectList(dialect, "id", "conversation_id", "direction", "sender_type", "COALESCE(sender_id, '')", "type", "text",
			"COALESCE(media_id, '')", "COALESCE(media_mime_type, '')", "COALESCE(media_file_name, '')", "COALESCE(media_size, 0)",
			"COALESCE(media_sha256, '')", "COALESCE(media_path, '')", "COALESCE(reply_to_id, '')", "reaction",
			"COALESCE(wa_message_id, '')", "status", "COALESCE(error_code, '')", "COALESCE(error_message, '')", "raw",
			timeCol("created_at"), timeCol("sent_at"), timeCol("delivered_at"), timeCol("read_at")),
	}
}

// timeMark tags a timestamp column for selectList.
const timeMark = "\x00"

func timeCol(c string) string { return timeMark + c }

// selectList joins columns for dialect. On SQLite, modernc's driver parses
// the text of a column declared TIMESTAMP itself: it first tries Go's
// time.String layout, which never matches what the store writes, then the
// column's format, two time.Parse calls per value, about a tenth of the
// webhook commit lane. A timestamp read as the expression +col (a no-op
// that drops the declared type) reaches scanTime as text, which parses the
// store's one layout directly. PostgreSQL's driver hands over time values.
func selectList(dialect string, cols ...string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		if t, ok := strings.CutPrefix(c, timeMark); ok {
			if dialect == DialectSQLite {
				t = "+" + t
			}
			c = t
		}
		out[i] = c
	}
	return strings.Join(out, ", ")
}
