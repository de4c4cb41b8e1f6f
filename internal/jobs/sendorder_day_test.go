package jobs_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/jobs"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
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
	out := queuedReplies(t, db)
	out("m1, its job lost", now.Add(-24*time.Hour-30*time.Minute))
	m2 := out("m2, written 24h10m ago", now.Add(-24*time.Hour-10*time.Minute))

	w := &jobs.SendWorker{Store: db, Client: &whatsapp.Client{BaseURL: graph.URL, Version: "v26.0"},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }}
	job := &river.Job[jobs.SendArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 300, CreatedAt: m2.CreatedAt},
		Args: jobs.SendArgs{MessageID: m2.ID}}

	// Past its 24 hours, still held: it fails, and nothing is sent.
	err := w.Work(ctx, job)
	var snooze *river.JobSnoozeError
	if err == nil || errors.As(err, &snooze) {
		t.Errorf("m2, written %v ago behind a queued m1: Work = %v, want it failed", now.Sub(m2.CreatedAt), err)
	}
	if got, _ := db.GetMessage(ctx, m2.ID); got.Status != helpdesk.MessageFailed || sends.Load() != 0 {
		t.Errorf("m2 = %s, Graph sends %d; want failed and none", got.Status, sends.Load())
	}
}

// TestThrottledPastItsDayFails: a throttled send honours Retry-After, so a
// message throttled late in its day would snooze past its 24 hours and
// past the order's look-back: later replies would stop waiting for it and
// reach Meta first, and it would go a day late. It fails instead, and the
// later ones go.
func TestThrottledPastItsDayFails(t *testing.T) {
	db, ctx := storetest.OpenSQLite(t), t.Context()
	var mu sync.Mutex
	var log []string
	throttled := false
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Text struct {
				Body string `json:"body"`
			} `json:"text"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		defer mu.Unlock()
		if body.Text.Body == "m1" && !throttled {
			throttled = true
			log = append(log, "m1!429")
			w.Header().Set("Retry-After", "7200")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(429)
			_, _ = w.Write([]byte(`{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"fbtrace_id":"A"}}`))
			return
		}
		log = append(log, body.Text.Body)
		_, _ = w.Write([]byte(`{"messaging_product":"whatsapp","contacts":[{"input":"+5511955550010","wa_id":"5511955550010"}],"messages":[{"id":"wamid.` + body.Text.Body + `"}]}`))
	}))
	t.Cleanup(graph.Close)
	now := helpdesk.Now()
	out := queuedReplies(t, db)
	// m1 has been retrying (5xx) for 23h50m; m2 was written a minute after it.
	m1 := out("m1", now.Add(-23*time.Hour-50*time.Minute))
	m2 := out("m2", now.Add(-23*time.Hour-49*time.Minute))

	w := &jobs.SendWorker{Store: db, Client: &whatsapp.Client{BaseURL: graph.URL, Version: "v26.0"},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }}
	job := func(m helpdesk.Message) *river.Job[jobs.SendArgs] {
		return &river.Job[jobs.SendArgs]{JobRow: &rivertype.JobRow{Attempt: 200, MaxAttempts: 300, CreatedAt: m.CreatedAt},
			Args: jobs.SendArgs{MessageID: m.ID}}
	}

	// Meta asks for a wait past m1's 24 hours: m1 fails now, rather than
	// being sent a day late after m2 stopped waiting for it.
	if err := w.Work(ctx, job(m1)); err == nil {
		t.Fatal("m1 throttled past its 24 hours: Work = nil, want it failed")
	}
	if got1, _ := db.GetMessage(ctx, m1.ID); got1.Status != helpdesk.MessageFailed || got1.ErrorCode != "130429" {
		t.Errorf("m1 = %s %q, want failed with Meta's 130429", got1.Status, got1.ErrorCode)
	}
	// m2 no longer waits for it, and goes.
	if err := w.Work(ctx, job(m2)); err != nil {
		t.Fatalf("m2: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(log) != "[m1!429 m2]" {
		t.Errorf("Graph received %v, want m1 refused once and then m2", log)
	}
}

// queuedReplies opens a conversation on a fresh channel and returns how to
// queue an agent's reply in it, written at a given time.
func queuedReplies(t *testing.T, db *store.DB) func(text string, at time.Time) helpdesk.Message {
	t.Helper()
	ctx, now := t.Context(), helpdesk.Now()
	ch, err := db.UpsertChannel(ctx, helpdesk.Channel{ID: helpdesk.NewID(), Name: "Main", PhoneNumberID: "pn-order",
		AccessToken: "t", CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	cust, err := db.UpsertCustomer(ctx, []string{"5511955550010"}, "Rita", now)
	if err != nil {
		t.Fatal(err)
	}
	conv, _, err := db.OpenConversation(ctx, helpdesk.Conversation{ID: helpdesk.NewID(), ChannelID: ch.ID, Customer: cust,
		Status: helpdesk.StatusOpen, CreatedAt: now.Add(-48 * time.Hour), UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	return func(text string, at time.Time) helpdesk.Message {
		m := helpdesk.Message{ID: helpdesk.NewID(), ConversationID: conv.ID, Direction: helpdesk.DirectionOutbound,
			SenderType: helpdesk.SenderAgent, Type: "text", Text: text, Status: helpdesk.MessageQueued, CreatedAt: at}
		if ok, err := db.InsertMessage(ctx, m); err != nil || !ok {
			t.Fatalf("insert: %v %v", ok, err)
		}
		return m
	}
}
