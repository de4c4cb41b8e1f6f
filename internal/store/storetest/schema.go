package storetest

import (
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// testSchema checks rules the schema enforces for tables that have no Store
// methods yet.
func testSchema(t *testing.T, open Opener) {
	t.Run("OneLiveConversationPerCustomerAndChannel", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		db := rawDB(t, s)
		channel, customer := mustInsertChannel(t, db), mustInsertCustomer(t, db)

		if _, err := insertConversation(ctx, db, channel, customer, "", "bot"); err != nil {
			t.Fatalf("first live conversation: %v", err)
		}
		for _, status := range []string{"bot", "waiting", "open"} {
			_, err := insertConversation(ctx, db, channel, customer, "", status)
			if !isUniqueViolation(err) {
				t.Fatalf("second live conversation (%s): %v, want a unique violation", status, err)
			}
		}

		// Closed ones do not count: close the live one, then open another.
		if _, err := db.ExecContext(ctx, "UPDATE conversations SET status = 'closed'"); err != nil {
			t.Fatalf("close: %v", err)
		}
		if _, err := insertConversation(ctx, db, channel, customer, "", "closed"); err != nil {
			t.Fatalf("another closed conversation: %v", err)
		}
		if _, err := insertConversation(ctx, db, channel, customer, "", "waiting"); err != nil {
			t.Fatalf("new live conversation after closing: %v", err)
		}

		// The same customer on another channel is another conversation.
		if _, err := insertConversation(ctx, db, mustInsertChannel(t, db), customer, "", "open"); err != nil {
			t.Fatalf("live conversation on another channel: %v", err)
		}
	})

	t.Run("ConversationStatusChecked", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		db := rawDB(t, s)
		_, err := insertConversation(ctx, db, mustInsertChannel(t, db), mustInsertCustomer(t, db), "", "aberta")
		if err == nil {
			t.Fatal("status 'aberta' accepted, want a CHECK violation")
		}
	})

	t.Run("ConversationDepartmentMustExist", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		db := rawDB(t, s)
		_, err := insertConversation(ctx, db, mustInsertChannel(t, db), mustInsertCustomer(t, db), helpdesk.NewID(), "waiting")
		if err == nil {
			t.Fatal("unknown department accepted, want a foreign-key violation (are SQLite's foreign keys on?)")
		}
	})
}
