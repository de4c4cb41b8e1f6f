package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// Two replicas (two store handles on one database, each with its own
// Ingester) group-commit webhooks from the same customers at the same
// moment, listing them in opposite orders. A batch's rows must be locked in
// an order of their keys, whatever order the batch lists them in: else
// each transaction holds a row the other waits for, and PostgreSQL aborts
// one of them (SQLSTATE 40P01), the webhook's 500. Each case makes one
// statement of the group commit contend (the statements before it leave
// the rows alone, or the first one would serialise the replicas), and the
// replicas start that statement together; with the bot on, every message
// is written alone, in the order of the batch.
func TestPostgresReplicasIngestWithoutDeadlock(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// customers' numbers in round (the same ones each round unless
		// the round is in them), their profile name in round, and what to
		// do before the round.
		waID    func(round, i int) string
		profile func(round int) string
		before  func(t *testing.T, s *store.DB)
		at      string // the statement the replicas start together
		// customers is how many write in a round: enough for the
		// statements of the two replicas to overlap.
		customers int
	}{{
		name:    "renamed customers", // UpsertCustomers updates them
		at:      "UpsertCustomers",
		waID:    func(_, i int) string { return fmt.Sprintf("55119%08d", i) },
		profile: func(round int) string { return fmt.Sprintf("Cliente %d", round) },
	}, {
		name:    "new customers", // UpsertCustomers inserts them
		at:      "UpsertCustomers",
		waID:    func(round, i int) string { return fmt.Sprintf("55118%04d%04d", round, i) },
		profile: func(int) string { return "Cliente" },
	}, {
		name:    "returning customers", // NoteInboundMessages updates their conversations
		at:      "NoteInboundMessages",
		waID:    func(_, i int) string { return fmt.Sprintf("55119%08d", i) },
		profile: func(int) string { return "Cliente" },
	}, {
		name:    "closed conversations", // OpenConversations inserts new ones
		at:      "OpenConversations",
		waID:    func(_, i int) string { return fmt.Sprintf("55119%08d", i) },
		profile: func(int) string { return "Cliente" },
		before: func(t *testing.T, s *store.DB) {
			if _, err := s.SQL().ExecContext(t.Context(), "UPDATE conversations SET status = 'closed' WHERE status <> 'closed'"); err != nil {
				t.Fatal(err)
			}
		},
	}, {
		// Every message alone: UpsertCustomer, OpenConversation,
		// NoteInboundMessage, in the order of the messages.
		name:      "bot on",
		waID:      func(_, i int) string { return fmt.Sprintf("55119%08d", i) },
		profile:   func(round int) string { return fmt.Sprintf("Cliente %d", round) },
		customers: 50,
		before: func(t *testing.T, s *store.DB) {
			if err := s.PutBotConfigValue(t.Context(), helpdesk.BotConfigEnabled, "true", "", helpdesk.Now()); err != nil {
				t.Fatal(err)
			}
		},
	}} {
		customers := tc.customers
		if customers == 0 {
			customers = 200
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testReplicasIngest(t, customers, tc.waID, tc.profile, tc.before, tc.at, false)
		})
		if tc.at != "" {
			// The per-customer locks alone would order the replicas; the
			// batch statements must not deadlock on their own either. Not
			// parallel: the test database's connections are shared with
			// the other packages' tests.
			t.Run(tc.name+" without customer locks", func(t *testing.T) {
				testReplicasIngest(t, customers, tc.waID, tc.profile, tc.before, tc.at, true)
			})
		}
	}
}

func testReplicasIngest(t *testing.T, customers int, waID func(round, i int) string, profile func(round int) string, before func(*testing.T, *store.DB), at string, noCustomerLocks bool) {
	a := storetest.OpenPostgres(t)
	b, err := store.Open(t.Context(), a.PostgresURL(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ctx, now := t.Context(), helpdesk.Now()
	if _, err := a.UpsertChannel(ctx, helpdesk.Channel{ID: helpdesk.NewID(), Name: "Main", PhoneNumberID: "pn-deadlock",
		AccessToken: "token", AppSecret: "secret", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	meet := &rendezvous{}
	replicas := []*helpdesk.Ingester{
		helpdesk.NewIngester(meetingStore{Store: a, meet: meet, at: at, noCustomerLocks: noCustomerLocks}, helpdesk.IngesterOptions{}),
		helpdesk.NewIngester(meetingStore{Store: b, meet: meet, at: at, noCustomerLocks: noCustomerLocks}, helpdesk.IngesterOptions{}),
	}
	for _, in := range replicas {
		defer in.Close()
	}

	const rounds = 6
	delivery := func(replica, round int) helpdesk.WebhookDelivery {
		d := helpdesk.WebhookDelivery{Body: fmt.Appendf(nil, "deadlock %d/%d", replica, round), ReceivedAt: helpdesk.Now(),
			Batches: []helpdesk.ChannelBatch{{PhoneNumberID: "pn-deadlock"}}}
		for i := range customers {
			if replica == 1 { // the other order
				i = customers - 1 - i
			}
			w := waID(round, i)
			id := fmt.Sprintf("wamid.deadlock.%d.%d.%s", replica, round, w)
			d.Batches[0].Messages = append(d.Batches[0].Messages, helpdesk.InboundMessage{WAMessageID: id, FromWAIDs: []string{w},
				ProfileName: profile(round), Timestamp: time.Now(), Type: "text", Text: "olá", Raw: fmt.Appendf(nil, `{"id":%q}`, id)})
		}
		return d
	}
	// The customers of the first round, and their conversations, exist
	// before the replicas meet.
	meet.reset(1)
	if _, err := replicas[0].Ingest(ctx, delivery(0, -1)); err != nil {
		t.Fatal(err)
	}

	deadlocks0 := databaseDeadlocks(t, a)
	var mu sync.Mutex
	failed := map[string]int{} // the failing statement → how often
	for round := range rounds {
		if before != nil {
			before(t, a)
		}
		meet.reset(len(replicas))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for r, in := range replicas {
			d := delivery(r, round)
			wg.Go(func() {
				<-start
				// A delivery alone is not retried by the Ingester: its
				// error is the webhook's 500.
				_, err := in.Ingest(ctx, d)
				var pg *pgconn.PgError
				switch {
				case err == nil:
					return
				case errors.As(err, &pg) && pg.Code == "40P01":
					stmt, _, _ := strings.Cut(strings.TrimPrefix(err.Error(), "ingest webhook: "), ":")
					mu.Lock()
					failed[stmt]++
					mu.Unlock()
				default:
					t.Errorf("replica %d, round %d: %v", r, round, err)
				}
			})
		}
		close(start)
		wg.Wait()
	}
	total := 0
	for _, stmt := range slices.Sorted(maps.Keys(failed)) {
		t.Logf("%d deadlocks in %s", failed[stmt], stmt)
		total += failed[stmt]
	}
	t.Logf("pg_stat_database.deadlocks grew by %d (any test's, in the whole database)", databaseDeadlocks(t, a)-deadlocks0)
	if total > 0 {
		t.Errorf("%d of %d group commits were aborted as deadlocked", total, 2*rounds)
	}
}

// databaseDeadlocks is pg_stat_database.deadlocks of the current database,
// as the server's statistics have it now (a backend reports its own a
// moment after its transaction ends).
func databaseDeadlocks(t *testing.T, s *store.DB) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n int64
	if err := s.SQL().QueryRowContext(ctx, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// meetingStore is a replica's Store whose group commits stop before the
// statement at until every replica's has come that far (rendezvous).
type meetingStore struct {
	helpdesk.Store
	meet *rendezvous
	at   string
	// noCustomerLocks leaves out StartGroupCommit's per-customer locks, so
	// only the order of the batch statements' rows keeps the replicas
	// from deadlocking.
	noCustomerLocks bool
}

func (s meetingStore) InTx(ctx context.Context, fn func(tx helpdesk.Store) error) error {
	return s.Store.InTx(ctx, func(tx helpdesk.Store) error { return fn(meetingTx{Store: tx, s: s}) })
}

type meetingTx struct {
	helpdesk.Store
	s meetingStore
}

func (t meetingTx) before(stmt string) {
	if stmt == t.s.at {
		t.s.meet.wait()
	}
}

func (t meetingTx) StartGroupCommit(ctx context.Context, wamids, customers, phoneNumberIDs []string) (helpdesk.GroupCommitStart, error) {
	if t.s.noCustomerLocks {
		customers = nil
	}
	return t.Store.StartGroupCommit(ctx, wamids, customers, phoneNumberIDs)
}

func (t meetingTx) UpsertCustomers(ctx context.Context, us []helpdesk.CustomerUpsert, now time.Time) ([]helpdesk.Customer, error) {
	t.before("UpsertCustomers")
	return t.Store.UpsertCustomers(ctx, us, now)
}

func (t meetingTx) OpenConversations(ctx context.Context, cs []helpdesk.Conversation) ([]helpdesk.Conversation, []bool, error) {
	t.before("OpenConversations")
	return t.Store.OpenConversations(ctx, cs)
}

func (t meetingTx) NoteInboundMessages(ctx context.Context, notes []helpdesk.InboundNote, now time.Time) ([]helpdesk.Conversation, error) {
	t.before("NoteInboundMessages")
	return t.Store.NoteInboundMessages(ctx, notes, now)
}

// rendezvous lets n goroutines go on once all have called wait, or after a
// moment (one of them may be held up by a lock the others hold: then the
// locks order them anyway).
type rendezvous struct {
	mu      sync.Mutex
	waiting int
	all     chan struct{}
}

// reset makes the next n calls of wait meet.
func (r *rendezvous) reset(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waiting, r.all = n, make(chan struct{})
}

func (r *rendezvous) wait() {
	r.mu.Lock()
	all := r.all
	if r.waiting--; r.waiting == 0 {
		close(all)
	}
	r.mu.Unlock()
	select {
	case <-all:
	case <-time.After(100 * time.Millisecond):
	}
}
