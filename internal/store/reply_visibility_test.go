package store_test

import (
	"context"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// nopEnqueuer drops jobs: the test looks at what the reply wrote, not at
// its delivery.
type nopEnqueuer struct{}

func (nopEnqueuer) EnqueueSend(context.Context, helpdesk.Store, string) error          { return nil }
func (nopEnqueuer) EnqueueReadReceipt(context.Context, helpdesk.Store, string) error   { return nil }
func (nopEnqueuer) EnqueueMediaDownload(context.Context, helpdesk.Store, string) error { return nil }

// movingStore: a supervisor moves the conversation to another
// department's queue between SendMessage's visibility check and its
// transaction (as a concurrent POST …/transfer would).
type movingStore struct {
	*store.DB
	move func()
}

func (s movingStore) InTx(ctx context.Context, fn func(tx helpdesk.Store) error) error {
	if s.move != nil {
		s.move()
	}
	return s.DB.InTx(ctx, fn)
}

// TestReplyDoesNotTakeOverAConversationMovedAway: a reply takes a queued
// conversation over only if the agent may still see it once it is locked.
// Moved meanwhile to a queue the agent does not serve, the reply is refused
// as not found and changes nothing, as POST …/takeover would be.
func TestReplyDoesNotTakeOverAConversationMovedAway(t *testing.T) {
	db, ctx, now := storetest.OpenSQLite(t), t.Context(), helpdesk.Now()
	vendas := helpdesk.Department{ID: helpdesk.NewID(), Name: "Vendas", Active: true, CreatedAt: now, UpdatedAt: now}
	suporte := helpdesk.Department{ID: helpdesk.NewID(), Name: "Suporte", Active: true, CreatedAt: now, UpdatedAt: now}
	for _, d := range []helpdesk.Department{vendas, suporte} {
		if err := db.CreateDepartment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	agent := helpdesk.User{ID: helpdesk.NewID(), Name: "Ana", Email: "ana@x.test", PasswordHash: "x", Role: helpdesk.RoleAgent, Active: true,
		MaxConversations: 5, DepartmentIDs: []string{vendas.ID}, CreatedAt: now, UpdatedAt: now}
	if err := db.CreateUser(ctx, agent); err != nil {
		t.Fatal(err)
	}
	ch, err := db.UpsertChannel(ctx, helpdesk.Channel{ID: helpdesk.NewID(), Name: "Main", PhoneNumberID: "pn-vis", AccessToken: "t", CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	cust, err := db.UpsertCustomer(ctx, []string{"5511900000009"}, "Cliente", now)
	if err != nil {
		t.Fatal(err)
	}
	conv, _, err := db.OpenConversation(ctx, helpdesk.Conversation{ID: helpdesk.NewID(), ChannelID: ch.ID, Customer: cust,
		DepartmentID: vendas.ID, Status: helpdesk.StatusWaiting, WaitingSince: &now, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.InsertMessage(ctx, helpdesk.Message{ID: helpdesk.NewID(), ConversationID: conv.ID, Direction: helpdesk.DirectionInbound,
		SenderType: helpdesk.SenderCustomer, Type: "text", Text: "oi", WAMessageID: "wamid.vis", Status: "received", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	ms := movingStore{DB: db}
	ms.move = func() {
		if err := db.SetConversationState(ctx, conv.ID, helpdesk.ConversationState{Status: helpdesk.StatusWaiting, DepartmentID: suporte.ID, WaitingSince: &now}, now); err != nil {
			t.Fatal(err)
		}
	}
	svc := helpdesk.NewService(ms, nil, nil, nil)
	svc.SetEnqueuer(nopEnqueuer{})
	_, err = svc.SendMessage(ctx, helpdesk.Actor{User: agent}, helpdesk.OutboundParams{ConversationID: conv.ID, Template: &helpdesk.TemplateRef{Name: "hello_world", Language: "en_US"}})
	if helpdesk.ErrorCode(err) != helpdesk.CodeNotFound {
		t.Errorf("SendMessage = %v, want not_found", err)
	}
	got, _ := db.GetConversation(ctx, conv.ID)
	if got.Status != helpdesk.StatusWaiting || got.DepartmentID != suporte.ID || got.AssigneeID != "" {
		t.Errorf("conversation after the refused reply: %s in %s, assignee %q; want waiting in Suporte's queue, unassigned", got.Status, got.DepartmentID, got.AssigneeID)
	}
	if msgs, _ := db.ListMessages(ctx, helpdesk.MessageFilter{ConversationID: conv.ID, Limit: 10}); len(msgs) != 1 {
		t.Errorf("messages after the refused reply = %d, want only the customer's", len(msgs))
	}
}
