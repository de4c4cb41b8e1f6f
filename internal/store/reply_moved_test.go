package store_test

import (
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// TestReplyToOwnConversationMovedAway: an agent's own open conversation
// that a supervisor moves to another agent, or to a queue the agent does
// not serve, between the reply's first read and its transaction: the
// checks are made again on the locked row, and the reply is refused
// instead of going into someone else's conversation.
func TestReplyToOwnConversationMovedAway(t *testing.T) {
	for _, target := range []string{"another agent", "another department's queue"} {
		t.Run(target, func(t *testing.T) {
			db, ctx, now := storetest.OpenSQLite(t), t.Context(), helpdesk.Now()
			vendas := helpdesk.Department{ID: helpdesk.NewID(), Name: "Vendas", Active: true, CreatedAt: now, UpdatedAt: now}
			suporte := helpdesk.Department{ID: helpdesk.NewID(), Name: "Suporte", Active: true, CreatedAt: now, UpdatedAt: now}
			for _, d := range []helpdesk.Department{vendas, suporte} {
				if err := db.CreateDepartment(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			mk := func(name string, dept string) helpdesk.User {
				u := helpdesk.User{ID: helpdesk.NewID(), Name: name, Email: name + "@x.test", PasswordHash: "x", Role: helpdesk.RoleAgent, Active: true,
					MaxConversations: 5, DepartmentIDs: []string{dept}, CreatedAt: now, UpdatedAt: now}
				if err := db.CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
				return u
			}
			ana, bia := mk("ana", vendas.ID), mk("bia", suporte.ID)
			ch, err := db.UpsertChannel(ctx, helpdesk.Channel{ID: helpdesk.NewID(), Name: "Main", PhoneNumberID: "pn-vis2", AccessToken: "t", CreatedAt: now, UpdatedAt: now})
			if err != nil {
				t.Fatal(err)
			}
			cust, err := db.UpsertCustomer(ctx, []string{"5511900000019"}, "Cliente", now)
			if err != nil {
				t.Fatal(err)
			}
			conv, _, err := db.OpenConversation(ctx, helpdesk.Conversation{ID: helpdesk.NewID(), ChannelID: ch.ID, Customer: cust,
				DepartmentID: vendas.ID, Status: helpdesk.StatusOpen, AssigneeID: ana.ID, CreatedAt: now, UpdatedAt: now})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.SetConversationState(ctx, conv.ID, helpdesk.ConversationState{Status: helpdesk.StatusOpen, DepartmentID: vendas.ID, AssigneeID: ana.ID}, now); err != nil {
				t.Fatal(err)
			}
			if _, err := db.InsertMessage(ctx, helpdesk.Message{ID: helpdesk.NewID(), ConversationID: conv.ID, Direction: helpdesk.DirectionInbound,
				SenderType: helpdesk.SenderCustomer, Type: "text", Text: "oi", WAMessageID: "wamid.vis2", Status: "received", CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
			moved := helpdesk.ConversationState{Status: helpdesk.StatusOpen, DepartmentID: suporte.ID, AssigneeID: bia.ID}
			if target != "another agent" {
				moved = helpdesk.ConversationState{Status: helpdesk.StatusWaiting, DepartmentID: suporte.ID, WaitingSince: &now}
			}
			ms := movingStore{DB: db, move: func() {
				if err := db.SetConversationState(ctx, conv.ID, moved, now); err != nil {
					t.Fatal(err)
				}
			}}
			svc := helpdesk.NewService(ms, nil, nil, nil)
			svc.SetEnqueuer(nopEnqueuer{})
			_, err = svc.SendMessage(ctx, helpdesk.Actor{User: ana}, helpdesk.OutboundParams{ConversationID: conv.ID, Template: &helpdesk.TemplateRef{Name: "hello_world", Language: "en_US"}})
			msgs, _ := db.ListMessages(ctx, helpdesk.MessageFilter{ConversationID: conv.ID, Limit: 10})
			if err == nil || len(msgs) != 1 {
				t.Errorf("Ana's reply was stored in a conversation moved to %s (%d messages), want it refused", target, len(msgs))
			}
			if got, _ := db.GetConversation(ctx, conv.ID); got.AssigneeID != moved.AssigneeID || got.Status != moved.Status {
				t.Errorf("conversation after the refused reply: %s, assignee %q; want it as the supervisor left it", got.Status, got.AssigneeID)
			}
		})
	}
}
