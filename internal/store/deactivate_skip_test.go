package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// listHookStore runs after1 once, right after the first ListConversations
// page inside DeactivateUser's transaction (a customer writing meanwhile).
type listHookStore struct {
	helpdesk.Store
	after1 func()
	done   *bool
}

func (s listHookStore) InTx(ctx context.Context, fn func(tx helpdesk.Store) error) error {
	return s.Store.InTx(ctx, func(tx helpdesk.Store) error { return fn(listHookTx{Store: tx, s: s}) })
}

type listHookTx struct {
	helpdesk.Store
	s listHookStore
}

func (t listHookTx) ListConversations(ctx context.Context, f helpdesk.ConversationFilter) ([]helpdesk.Conversation, error) {
	page, err := t.Store.ListConversations(ctx, f)
	if !*t.s.done {
		*t.s.done = true
		t.s.after1()
	}
	return page, err
}

// TestPostgresDeactivationRequeuesEveryConversation: an agent with more
// than one page (100) of open conversations is deactivated while a
// customer of the last page writes. Listed by a keyset cursor (activity
// order), the conversation whose activity moved above the cursor was never
// listed and stayed open with the deactivated agent; every one must be
// requeued.
func TestPostgresDeactivationRequeuesEveryConversation(t *testing.T) {
	a := storetest.OpenPostgres(t)
	ctx, now := t.Context(), helpdesk.Now()
	ch, err := a.UpsertChannel(ctx, helpdesk.Channel{ID: helpdesk.NewID(), Name: "Main", PhoneNumberID: "pn-deact-skip",
		AccessToken: "token", CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(role helpdesk.Role, email string) helpdesk.User {
		u := helpdesk.User{ID: helpdesk.NewID(), Name: email, Email: email, PasswordHash: "x", Role: role, Active: true,
			MaxConversations: 500, CreatedAt: now, UpdatedAt: now}
		if err := a.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	admin, agent := mk(helpdesk.RoleAdmin, "admin-skip@x.test"), mk(helpdesk.RoleAgent, "agent-skip@x.test")
	var oldest string
	for i := range 101 {
		cust, err := a.UpsertCustomer(ctx, []string{fmt.Sprintf("55119%08d", 70000+i)}, "Cliente", now)
		if err != nil {
			t.Fatal(err)
		}
		conv, _, err := a.OpenConversation(ctx, helpdesk.Conversation{ID: helpdesk.NewID(), ChannelID: ch.ID, Customer: cust,
			Status: helpdesk.StatusOpen, CreatedAt: now, UpdatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.SetConversationState(ctx, conv.ID, helpdesk.ConversationState{Status: helpdesk.StatusOpen, AssigneeID: agent.ID}, now); err != nil {
			t.Fatal(err)
		}
		// i = 0 is the oldest activity: alone on the second page.
		if _, err := a.SQL().ExecContext(ctx, `UPDATE conversations SET last_message_at = $2 WHERE id = $1`,
			conv.ID, now.Add(-time.Hour).Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			oldest = conv.ID
		}
	}
	done := false
	hs := listHookStore{Store: a, done: &done, after1: func() {
		// Committed by another connection (the ingest) between the pages.
		if _, err := a.SQL().ExecContext(context.Background(), `UPDATE conversations SET last_message_at = $2 WHERE id = $1`,
			oldest, now.Add(time.Minute)); err != nil {
			t.Error(err)
		}
	}}
	svc := helpdesk.NewService(hs, nil, nil, nil)
	if err := svc.DeactivateUser(ctx, helpdesk.Actor{User: admin}, agent.ID); err != nil {
		t.Fatal(err)
	}
	c, err := a.GetConversation(ctx, oldest)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != helpdesk.StatusWaiting || c.AssigneeID != "" {
		t.Errorf("conversation %s after its agent was deactivated: status %s, assignee %q (the deactivated agent is %s); want waiting, unassigned",
			oldest, c.Status, c.AssigneeID, agent.ID)
	}
}
