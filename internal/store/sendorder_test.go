package store_test

import (
	"strings"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// Every send job asks QueuedOutboundBefore first, so in a long conversation
// the look-up must be a bounded range of the conversation's index, never a
// walk of the messages table.
func TestQueuedOutboundBeforeUsesConversationIndex(t *testing.T) {
	t.Parallel()
	q := strings.NewReplacer("$1", "'0190f2a0-0000-7000-8000-000000000001'", "$2", "'2026-01-01 00:00:00+00:00'").
		Replace(store.QueuedOutboundBeforeQuery)
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		db := storetest.OpenSQLite(t)
		rows, err := db.SQL().QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var plan strings.Builder
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(detail + "\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if p := plan.String(); !strings.Contains(p, "messages_conversation_idx (conversation_id=? AND created_at>") || strings.Contains(p, "SCAN") {
			t.Errorf("planned as\n%s\nwant a range of messages_conversation_idx", p)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		db := storetest.OpenPostgres(t)
		// With the planner's defaults, as the send job runs it (not the
		// group commit's enable_seqscan off).
		plan, err := db.Plan(t.Context(), false, q)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "messages_conversation_idx") {
			t.Errorf("planned as\n%s\nwant messages_conversation_idx", plan)
		}
	})
}
