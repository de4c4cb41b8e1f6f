package store_test

import (
	"context"
	"errors"
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
	ch, err := a.UpsertChannel(ctx, helpdesk.Channel{ID: helpdesk.NewID(), Name: "Main", PhoneNumberID: "pn-deact",
		AccessToken: "token", CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(role helpdesk.Role, email string) helpdesk.User {
		u := helpdesk.User{ID: helpdesk.NewID(), Name: email, Email: email, PasswordHash: "x", Role: role, Active: true,
			MaxConversations: 5, CreatedAt: now, UpdatedAt: now}
		if err := a.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	admin, agent := mk(helpdesk.RoleAdmin, "admin@x.test"), mk(helpdesk.RoleAgent, "agent@x.test")
	var ids []string
	for _, waID := range []string{"5511900000001", "5511900000002"} {
		cust, err := a.UpsertCustomer(ctx, []string{waID}, "Cliente", now)
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
		ids = append(ids, conv.ID)
	}
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
