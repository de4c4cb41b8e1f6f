package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// deactPausingStore holds DeactivateUser's transaction after its first
// LockConversation (whose id it keeps in first) until go2 is closed.
type deactPausingStore struct {
	helpdesk.Store
	locked1, go2 chan struct{}
	first        *string
}

func (s deactPausingStore) InTx(ctx context.Context, fn func(tx helpdesk.Store) error) error {
	return s.Store.InTx(ctx, func(tx helpdesk.Store) error { return fn(deactPausingTx{Store: tx, s: s}) })
}

type deactPausingTx struct {
	helpdesk.Store
	s deactPausingStore
}

func (t deactPausingTx) LockConversation(ctx context.Context, id string) (helpdesk.Conversation, error) {
	c, err := t.Store.LockConversation(ctx, id)
	select {
	case <-t.s.locked1:
	default:
		*t.s.first = id
		close(t.s.locked1)
		<-t.s.go2
	}
	return c, err
}

// TestPostgresDeactivationDoesNotDeadlockWithIngest: deactivating an agent
// requeues their conversations, locking them; a group commit's
// NoteInboundMessages locks the conversations it notes by id. When the
// deactivation locked them in activity order, two conversations whose
// orders differ deadlocked and PostgreSQL aborted one transaction (DELETE
// /users/:id → 500, or the webhook batch). Both must now succeed.
func TestPostgresDeactivationDoesNotDeadlockWithIngest(t *testing.T) {
	a := storetest.OpenPostgres(t)
	b, err := store.Open(t.Context(), a.PostgresURL(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ctx, now := t.Context(), helpdesk.Now()
	admin, agent, ids := agentWithOpenConversations(t, a, 2)
	// The larger id has the newer activity: the listing (activity order)
	// and the ids' order are opposite.
	lo, hi := min(ids[0], ids[1]), max(ids[0], ids[1])
	if _, err := a.SQL().ExecContext(ctx, `UPDATE conversations SET last_message_at = CASE WHEN id = $1 THEN $3::timestamptz ELSE $4::timestamptz END WHERE id IN ($1, $2)`,
		lo, hi, now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var first string
	ps := deactPausingStore{Store: a, locked1: make(chan struct{}), go2: make(chan struct{}), first: &first}
	svc := helpdesk.NewService(ps, nil, nil, nil)
	deact := make(chan error, 1)
	go func() { deact <- svc.DeactivateUser(ctx, helpdesk.Actor{User: admin}, agent.ID) }()
	<-ps.locked1
	ingest := make(chan error, 1)
	go func() {
		ingest <- b.InTx(ctx, func(tx helpdesk.Store) error {
			if _, err := tx.StartGroupCommit(ctx, nil, nil, nil); err != nil { // as the ingest does: plans by key
				return err
			}
			_, err := tx.NoteInboundMessages(ctx, []helpdesk.InboundNote{{ConversationID: lo, Count: 1, At: now, Preview: "oi"},
				{ConversationID: hi, Count: 1, At: now, Preview: "oi"}}, now)
			return err
		})
	}()
	time.Sleep(300 * time.Millisecond)
	close(ps.go2)
	errD, errI := <-deact, <-ingest
	t.Logf("lo=%s hi=%s; DeactivateUser locked %s first", lo, hi, first)
	t.Logf("DeactivateUser: %v", errD)
	t.Logf("group commit's NoteInboundMessages: %v", errI)
	var pg *pgconn.PgError
	for _, err := range []error{errD, errI} {
		if errors.As(err, &pg) && pg.Code == "40P01" {
			t.Errorf("deadlock: %v", err)
		} else if err != nil {
			t.Error(err)
		}
	}
}

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
	admin, agent, ids := agentWithOpenConversations(t, a, 101)
	for i, id := range ids {
		// ids[0] has the oldest activity: alone on the second page.
		if _, err := a.SQL().ExecContext(ctx, `UPDATE conversations SET last_message_at = $2 WHERE id = $1`,
			id, now.Add(-time.Hour).Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	oldest := ids[0]
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

// agentWithOpenConversations stores an admin, an agent and n open
// conversations of n customers assigned to the agent, in creation order.
func agentWithOpenConversations(t *testing.T, db *store.DB, n int) (admin, agent helpdesk.User, ids []string) {
	t.Helper()
	ctx, now := t.Context(), helpdesk.Now()
	ch, err := db.UpsertChannel(ctx, helpdesk.Channel{ID: helpdesk.NewID(), Name: "Main", PhoneNumberID: "pn-deact",
		AccessToken: "token", CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(role helpdesk.Role, email string) helpdesk.User {
		u := helpdesk.User{ID: helpdesk.NewID(), Name: email, Email: email, PasswordHash: "x", Role: role, Active: true,
			MaxConversations: n, CreatedAt: now, UpdatedAt: now}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	admin, agent = mk(helpdesk.RoleAdmin, "admin@x.test"), mk(helpdesk.RoleAgent, "agent@x.test")
	for i := range n {
		cust, err := db.UpsertCustomer(ctx, []string{fmt.Sprintf("55119%08d", 70000+i)}, "Cliente", now)
		if err != nil {
			t.Fatal(err)
		}
		conv, _, err := db.OpenConversation(ctx, helpdesk.Conversation{ID: helpdesk.NewID(), ChannelID: ch.ID, Customer: cust,
			Status: helpdesk.StatusOpen, CreatedAt: now, UpdatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SetConversationState(ctx, conv.ID, helpdesk.ConversationState{Status: helpdesk.StatusOpen, AssigneeID: agent.ID}, now); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, conv.ID)
	}
	return admin, agent, ids
}
