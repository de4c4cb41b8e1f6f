package realtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/httpapi"
	"github.com/supportwhatsapp/supportwhatsapp/internal/realtime"
)

// What the hub spends on an ingested message (its conversation_update and
// new_message) that no socket on this replica receives, as on a replica
// without dashboards open: the caller's part and the hub's goroutines'
// (B/op, allocs/op and cpu-ns/op, the process's CPU time, count both, and
// unlike ns/op the last does not depend on what else the machine runs).
// One socket of another user ends the run: the event it receives last
// proves every earlier one was handled.
func BenchmarkIngestedNoRecipient(b *testing.B) {
	f := newFixture(b, realtime.Options{Encoder: realtime.Encoder{Conversation: httpapi.ConversationJSON, Message: httpapi.MessageJSON}})
	u, tok := f.user("Barrier")
	c := f.dial(tok)
	now := time.Now()
	conv := helpdesk.Conversation{ID: helpdesk.NewID(), AssigneeID: helpdesk.NewID(), DepartmentID: helpdesk.NewID(), Status: helpdesk.StatusOpen,
		Customer: helpdesk.Customer{ID: helpdesk.NewID(), Name: "Maria", WAID: "5511999990000"}, LastMessageAt: &now,
		LastMessagePreview: "Olá, preciso de ajuda com meu pedido", UnreadCount: 3, CreatedAt: now, UpdatedAt: now}
	msg := helpdesk.Message{ID: helpdesk.NewID(), ConversationID: conv.ID, Direction: helpdesk.DirectionInbound,
		SenderType: helpdesk.SenderCustomer, Type: "text", Text: "Olá, preciso de ajuda com meu pedido",
		WAMessageID: "wamid.HBgLNTUxMTk5OTk5MDAwMBUCABIYFjNFQjBDMEM4RjQ1", Status: helpdesk.MessageReceived, CreatedAt: now}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := realtime.ProcessCPU(b)
	for range b.N {
		f.hub.ConversationChanged(ctx, helpdesk.ActionResult{Conversation: conv, Event: helpdesk.ConversationEvent{ConversationID: conv.ID}})
		f.hub.MessageStored(ctx, conv, msg)
	}
	last := helpdesk.Conversation{ID: helpdesk.NewID(), AssigneeID: u.ID}
	f.hub.MessageStored(ctx, last, helpdesk.Message{ID: helpdesk.NewID(), ConversationID: last.ID})
	for {
		if fr := read(b, c); fr.Event == "new_message" {
			break
		}
	}
	b.ReportMetric(float64(realtime.ProcessCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}
