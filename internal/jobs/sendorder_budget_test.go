package jobs_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/jobs"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp"
)

// TestOrderWaitKeepsTheMessagesOwn24Hours: a message's 24 hours count from
// when it was written, waiting included. A reply held past them behind an
// earlier message still queued (its job lost) fails, rather than snoozing
// on and going to the customer more than a day after the agent wrote it.
func TestOrderWaitKeepsTheMessagesOwn24Hours(t *testing.T) {
	db, ctx := storetest.OpenSQLite(t), t.Context()
	var sends atomic.Int32
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sends.Add(1)
		_, _ = w.Write([]byte(`{"messaging_product":"whatsapp","contacts":[{"input":"+5511955550009","wa_id":"5511955550009"}],"messages":[{"id":"wamid.late"}]}`))
	}))
	t.Cleanup(graph.Close)
	now := helpdesk.Now()
	ch, err := db.UpsertChannel(ctx, helpdesk.Channel{ID: helpdesk.NewID(), Name: "Main", PhoneNumberID: "pn-order-budget",
		AccessToken: "t", CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	cust, err := db.UpsertCustomer(ctx, []string{"5511955550009"}, "Rita", now)
	if err != nil {
		t.Fatal(err)
	}
	conv, _, err := db.OpenConversation(ctx, helpdesk.Conversation{ID: helpdesk.NewID(), ChannelID: ch.ID, Customer: cust,
		Status: helpdesk.StatusOpen, CreatedAt: now.Add(-48 * time.Hour), UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	out := func(text string, at time.Time) helpdesk.Message {
		m := helpdesk.Message{ID: helpdesk.NewID(), ConversationID: conv.ID, Direction: helpdesk.DirectionOutbound,
			SenderType: helpdesk.SenderAgent, Type: "text", Text: text, Status: helpdesk.MessageQueued, CreatedAt: at}
		if ok, err := db.InsertMessage(ctx, m); err != nil || !ok {
			t.Fatalf("insert: %v %v", ok, err)
		}
		return m
	}
	out("m1, its job lost", now.Add(-24*time.Hour-30*time.Minute))
	m2 := out("m2, written 24h10m ago", now.Add(-24*time.Hour-10*time.Minute))

	clock := now
	w := &jobs.SendWorker{Store: db, Client: &whatsapp.Client{BaseURL: graph.URL, Version: "v26.0"},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return clock }}
	job := &river.Job[jobs.SendArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 300, CreatedAt: m2.CreatedAt},
		Args: jobs.SendArgs{MessageID: m2.ID}}

	// Past its 24 hours, still held: it fails, and nothing is sent.
	err = w.Work(ctx, job)
	var snooze *river.JobSnoozeError
	if err == nil || errors.As(err, &snooze) {
		t.Errorf("m2, written %v ago behind a queued m1: Work = %v, want it failed", now.Sub(m2.CreatedAt), err)
	}
	if got, _ := db.GetMessage(ctx, m2.ID); got.Status != helpdesk.MessageFailed || sends.Load() != 0 {
		t.Errorf("m2 = %s, Graph sends %d; want failed and none", got.Status, sends.Load())
	}
}
