package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// Two replicas ingest the same delivery at once (Meta redelivers while the
// first replica is still committing): the second looked up which wamids
// were stored before the first committed. The survey answer it carries
// must be stored once and open nothing.
func TestPostgresConcurrentRedeliveryOfSurveyAnswer(t *testing.T) {
	t.Parallel()
	s, ctx := storetest.OpenPostgres(t), t.Context()
	now := helpdesk.Now()
	ch, conv := waitingConversation(t, s, "pn-race-csat", "5511999990001")
	if err := s.SetConversationState(ctx, conv.ID, helpdesk.ConversationState{Status: helpdesk.StatusClosed, ClosedAt: &now}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkCSATRequested(ctx, conv.ID, now); err != nil {
		t.Fatal(err)
	}

	d := helpdesk.WebhookDelivery{Body: []byte(`{"answer":"5"}`), ReceivedAt: helpdesk.Now(), Batches: []helpdesk.ChannelBatch{{
		PhoneNumberID: ch.PhoneNumberID,
		Messages: []helpdesk.InboundMessage{{WAMessageID: "wamid.csat.race", FromWAIDs: []string{conv.Customer.WAID}, Type: "text",
			Text: "5", Timestamp: now, Raw: []byte(`{"id":"wamid.csat.race"}`)}},
	}}}
	p := &pauseAfterLookup{Store: s, paused: make(chan struct{}), resume: make(chan struct{})}
	second := helpdesk.NewIngester(p, helpdesk.IngesterOptions{})
	defer second.Close()
	first := helpdesk.NewIngester(s, helpdesk.IngesterOptions{})
	defer first.Close()

	errs := make(chan error, 1)
	go func() {
		_, err := second.Ingest(ctx, d)
		errs <- err
	}()
	<-p.paused // the second replica has looked the wamid up, and not found it
	done := make(chan error, 1)
	go func() {
		_, err := first.Ingest(ctx, d)
		done <- err
	}()
	select {
	case err := <-done: // the first replica committed
		if err != nil {
			t.Fatal(err)
		}
		close(p.resume)
	case <-time.After(2 * time.Second): // or waits for the second: let it go on
		close(p.resume)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}

	convs, err := s.ListConversations(ctx, helpdesk.ConversationFilter{CustomerID: conv.Customer.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(convs) != 1 {
		for _, c := range convs {
			t.Logf("conversation %s: status %s, preview %q, unread %d", c.ID, c.Status, c.LastMessagePreview, c.UnreadCount)
		}
		t.Fatalf("%d conversations, want 1: the closed one, answered", len(convs))
	}
	if got, err := s.GetConversation(ctx, conv.ID); err != nil || got.CSATScore == nil || *got.CSATScore != 5 {
		t.Errorf("survey conversation = %+v, %v", got, err)
	}
}

// pauseAfterLookup is a Store whose first transaction stops after
// StoredWAMIDs until resume is closed.
type pauseAfterLookup struct {
	helpdesk.Store
	once           sync.Once
	paused, resume chan struct{}
}

func (p *pauseAfterLookup) InTx(ctx context.Context, fn func(tx helpdesk.Store) error) error {
	return p.Store.InTx(ctx, func(tx helpdesk.Store) error { return fn(pausingTx{Store: tx, p: p}) })
}

type pausingTx struct {
	helpdesk.Store
	p *pauseAfterLookup
}

func (t pausingTx) StoredWAMIDs(ctx context.Context, wamids []string) (map[string]bool, error) {
	known, err := t.Store.StoredWAMIDs(ctx, wamids)
	t.p.once.Do(func() {
		close(t.p.paused)
		<-t.p.resume
	})
	return known, err
}

// A status delivered twice, the same bytes both times (Meta retrying a
// webhook it got no 200 for), is told to the dashboards once, as it was
// when the inbox refused a body it had.
func TestRedeliveredStatusNotifiesOnce(t *testing.T) {
	t.Parallel()
	s, ctx := storetest.OpenSQLite(t), t.Context()
	now := helpdesk.Now()
	ch, conv := waitingConversation(t, s, "pn-status-again", "5511999990002")
	if _, err := s.InsertMessage(ctx, helpdesk.Message{ID: helpdesk.NewID(), ConversationID: conv.ID, Direction: helpdesk.DirectionOutbound,
		SenderType: helpdesk.SenderBot, Type: "text", Text: "oi", WAMessageID: "wamid.out.1", Status: helpdesk.MessageSent, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	svc := helpdesk.NewService(s, nil, nil, nil)
	rec := &statusRecorder{}
	svc.SetNotifier(rec)
	in := helpdesk.NewIngester(s, helpdesk.IngesterOptions{})
	defer in.Close()
	d := helpdesk.WebhookDelivery{Body: []byte(`{"status":"delivered"}`), ReceivedAt: now, Batches: []helpdesk.ChannelBatch{{
		PhoneNumberID: ch.PhoneNumberID,
		Statuses:      []helpdesk.StatusUpdate{{WAMessageID: "wamid.out.1", Status: "delivered", Timestamp: now}},
	}}}
	for range 2 {
		res, err := in.Ingest(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		svc.Ingested(ctx, d, res)
	}
	if rec.n != 1 {
		t.Errorf("message_status told %d times for one status delivered twice, want 1", rec.n)
	}
}

type statusRecorder struct {
	n int
}

func (r *statusRecorder) MessageStored(context.Context, helpdesk.Conversation, helpdesk.Message) {}
func (r *statusRecorder) MessageStatusChanged(context.Context, helpdesk.Message)                 { r.n++ }
func (r *statusRecorder) ConversationChanged(context.Context, helpdesk.ActionResult)             {}

// waitingConversation is a channel for phoneNumberID and a waiting
// conversation on it with the customer waID.
func waitingConversation(t *testing.T, s helpdesk.Store, phoneNumberID, waID string) (helpdesk.Channel, helpdesk.Conversation) {
	t.Helper()
	ctx, now := t.Context(), helpdesk.Now()
	ch, err := s.UpsertChannel(ctx, helpdesk.Channel{ID: helpdesk.NewID(), Name: "Main", PhoneNumberID: phoneNumberID,
		AccessToken: "token", AppSecret: "secret", CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	cust, err := s.UpsertCustomer(ctx, []string{waID}, "Ana", now)
	if err != nil {
		t.Fatal(err)
	}
	conv, _, err := s.OpenConversation(ctx, helpdesk.Conversation{ID: helpdesk.NewID(), ChannelID: ch.ID, Customer: cust,
		Status: helpdesk.StatusWaiting, WaitingSince: &now, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	return ch, conv
}

// The wamid locks serialise a status with the send storing its wamid only
// if the statements after the lock take a snapshot of their own, which is
// READ COMMITTED's behaviour. A database (or role) whose DBA set another
// default_transaction_isolation would otherwise give the whole ingest
// transaction the snapshot of its first statement, the one waiting for
// the lock: the status, arriving while the send held the lock, is recorded
// as unknown after the send looked for unknown ones, and is lost.
func TestPostgresWAMIDLockUnderRepeatableReadDefault(t *testing.T) {
	t.Parallel()
	app := "swa-rr-" + helpdesk.NewID()
	s := storetest.OpenPostgresWithSettings(t, map[string]string{
		"default_transaction_isolation": "repeatable read", "application_name": app})
	ctx, now := t.Context(), helpdesk.Now()
	ch, conv := waitingConversation(t, s, "pn-rr-status", "5511999990003")
	out := helpdesk.Message{ID: helpdesk.NewID(), ConversationID: conv.ID, Direction: helpdesk.DirectionOutbound,
		SenderType: helpdesk.SenderAgent, Type: "text", Text: "resposta", Status: helpdesk.MessageQueued, CreatedAt: now}
	if _, err := s.InsertMessage(ctx, out); err != nil {
		t.Fatal(err)
	}
	const wamid = "wamid.rr.status"

	// The send holds the wamid's lock while the status's ingest starts.
	locked, release, sent := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		sent <- s.InTx(ctx, func(tx helpdesk.Store) error {
			if err := tx.LockWAMIDs(ctx, []string{wamid}); err != nil {
				return err
			}
			close(locked)
			<-release
			_, err := tx.MarkMessageSent(ctx, out.ID, wamid, now)
			return err
		})
	}()
	select {
	case <-locked:
	case err := <-sent:
		t.Fatalf("send: %v", err)
	}
	in := helpdesk.NewIngester(s, helpdesk.IngesterOptions{})
	defer in.Close()
	ingested := make(chan error, 1)
	go func() {
		_, err := in.Ingest(ctx, helpdesk.WebhookDelivery{Body: []byte("status " + wamid), ReceivedAt: now, Batches: []helpdesk.ChannelBatch{{
			PhoneNumberID: ch.PhoneNumberID,
			Statuses:      []helpdesk.StatusUpdate{{WAMessageID: wamid, Status: "delivered", Timestamp: now}},
		}}})
		ingested <- err
	}()
	// Wait until the ingest waits for the lock, its statement started.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := s.SQL().QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = $1 AND wait_event_type = 'Lock' AND wait_event = 'advisory'`, app).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ingest never waited for the wamid's lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if err := <-sent; err != nil {
		t.Fatalf("send: %v", err)
	}
	if err := <-ingested; err != nil {
		t.Fatalf("ingest: %v", err)
	}
	m, err := s.GetMessage(ctx, out.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != helpdesk.MessageDelivered {
		t.Errorf("message is %q, want delivered: the status that waited for the send's lock was lost", m.Status)
	}
}
