package storetest

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// testStatusBeforeWAMID: Meta's "delivered" may arrive while the send job
// is storing the wamid Meta just returned. Whichever commits first, the
// message ends delivered: the ingest records the status as unknown and the
// send replays it, or the send stores the wamid and the ingest finds it.
// Both sides lock the wamid first (the send as MarkMessageSent's caller
// does), which is what makes this hold on PostgreSQL.
func testStatusBeforeWAMID(t *testing.T, open Opener) {
	s, ctx := open(t), t.Context()
	ch := mustUpsertChannel(t, s, "pn-status-race")
	conv := mustOpenConversation(t, s, ch, "5511912340000")
	in := helpdesk.NewIngester(s, helpdesk.IngesterOptions{Lanes: 2})
	defer in.Close()

	const rounds = 40
	for i := range rounds {
		out := helpdesk.Message{ID: helpdesk.NewID(), ConversationID: conv.ID, Direction: helpdesk.DirectionOutbound,
			SenderType: helpdesk.SenderAgent, Type: "text", Text: "resposta", Status: helpdesk.MessageQueued, CreatedAt: helpdesk.Now()}
		if _, err := s.InsertMessage(ctx, out); err != nil {
			t.Fatal(err)
		}
		wamid := fmt.Sprintf("wamid.race.%d.%s", i, out.ID)
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			d := helpdesk.WebhookDelivery{Body: []byte("status " + wamid), ReceivedAt: helpdesk.Now(), Batches: []helpdesk.ChannelBatch{{
				PhoneNumberID: ch.PhoneNumberID,
				Statuses:      []helpdesk.StatusUpdate{{WAMessageID: wamid, Status: "delivered", Timestamp: helpdesk.Now()}},
			}}}
			if _, err := in.Ingest(ctx, d); err != nil {
				t.Errorf("ingest status: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			<-start
			// MarkMessageSent takes the wamid's lock itself.
			if _, err := s.MarkMessageSent(ctx, out.ID, wamid, helpdesk.Now()); err != nil {
				t.Errorf("mark sent: %v", err)
			}
		}()
		close(start)
		wg.Wait()
		m, err := s.GetMessage(ctx, out.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != "delivered" || m.DeliveredAt == nil {
			t.Fatalf("round %d: message is %q (delivered at %v), want delivered: the status was lost", i, m.Status, m.DeliveredAt)
		}
	}
}

// testStartGroupCommit: the statement that opens a group commit returns the
// bot switch as BotConfigValue does and the channels as
// GetChannelByPhoneNumberID does (leaving out numbers without one), with or
// without wamids to lock and numbers to read; on PostgreSQL it holds the
// wamids' locks until the transaction ends (a LockWAMIDs elsewhere waits
// for it), and the customers' (another group commit of one of them waits).
func testStartGroupCommit(t *testing.T, open Opener) {
	s, ctx := open(t), t.Context()
	a := mustUpsertChannel(t, s, "pn-start-a")
	b := mustUpsertChannel(t, s, "pn-start-b")
	a, err := s.GetChannelByPhoneNumberID(ctx, a.PhoneNumberID) // as stored
	if err != nil {
		t.Fatal(err)
	}
	if b, err = s.GetChannelByPhoneNumberID(ctx, b.PhoneNumberID); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"", "true", "false"} {
		if v != "" {
			if err := s.PutBotConfigValue(ctx, helpdesk.BotConfigEnabled, v, "", helpdesk.Now()); err != nil {
				t.Fatal(err)
			}
		}
		for _, wamids := range [][]string{nil, {"wamid.start.b", "wamid.start.a", "wamid.start.b"}} {
			for _, numbers := range [][]string{nil, {"pn-start-missing"}, {"pn-start-b", "pn-start-missing", "pn-start-a"}} {
				var got helpdesk.GroupCommitStart
				err := s.InTx(ctx, func(tx helpdesk.Store) error {
					var err error
					got, err = tx.StartGroupCommit(ctx, wamids, nil, numbers)
					return err
				})
				if err != nil {
					t.Fatalf("switch %q, wamids %v, numbers %v: %v", v, wamids, numbers, err)
				}
				if got.BotSwitch != v {
					t.Errorf("switch stored as %q, wamids %v, numbers %v: StartGroupCommit returned %q", v, wamids, numbers, got.BotSwitch)
				}
				want := map[string]helpdesk.Channel{}
				if len(numbers) == 3 {
					want = map[string]helpdesk.Channel{a.PhoneNumberID: a, b.PhoneNumberID: b}
				}
				if !reflect.DeepEqual(got.Channels, want) {
					t.Errorf("numbers %v: channels\n%+v\nwant\n%+v", numbers, got.Channels, want)
				}
			}
		}
	}
	if d, ok := s.(interface{ Dialect() string }); !ok || d.Dialect() != "postgres" {
		return // SQLite serialises writers: no locks to take
	}
	locked, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.InTx(ctx, func(tx helpdesk.Store) error {
			if _, err := tx.StartGroupCommit(ctx, []string{"wamid.start.held"}, nil, nil); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	select {
	case <-locked:
	case err := <-done:
		t.Fatalf("holding transaction: %v", err)
	}
	waited := make(chan error, 1)
	go func() {
		waited <- s.InTx(ctx, func(tx helpdesk.Store) error { return tx.LockWAMIDs(ctx, []string{"wamid.start.held"}) })
	}()
	select {
	case err := <-waited:
		t.Fatalf("LockWAMIDs returned (%v) while a group commit held the wamid's lock", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatalf("LockWAMIDs after the group commit ended: %v", err)
	}

	// A customer's lock: another group commit of that customer waits.
	locked, release, done = make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.InTx(ctx, func(tx helpdesk.Store) error {
			if _, err := tx.StartGroupCommit(ctx, nil, []string{"551190001111", "551190002222"}, nil); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	select {
	case <-locked:
	case err := <-done:
		t.Fatalf("holding transaction: %v", err)
	}
	waited = make(chan error, 1)
	go func() {
		waited <- s.InTx(ctx, func(tx helpdesk.Store) error {
			_, err := tx.StartGroupCommit(ctx, []string{"wamid.start.other"}, []string{"551190003333", "551190002222"}, nil)
			return err
		})
	}()
	select {
	case err := <-waited:
		t.Fatalf("StartGroupCommit returned (%v) while another group commit held a customer's lock", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatalf("StartGroupCommit after the other group commit ended: %v", err)
	}
}
