package storetest

import (
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// testQueuedOutboundBefore: the send job's question "is an earlier reply of
// this conversation still waiting to leave?".
func testQueuedOutboundBefore(t *testing.T, open Opener) {
	s, ctx := open(t), t.Context()
	ch := mustUpsertChannel(t, s, "5511000007001")
	conv := mustOpenConversation(t, s, ch, "5511900007001")
	other := mustOpenConversation(t, s, ch, "5511900007002")
	base := helpdesk.Now().Add(-time.Minute)
	out := func(convID string, at time.Time) helpdesk.Message {
		t.Helper()
		m := helpdesk.Message{ID: helpdesk.NewID(), ConversationID: convID, Direction: helpdesk.DirectionOutbound,
			SenderType: helpdesk.SenderAgent, Type: "text", Text: "r", Status: helpdesk.MessageQueued, CreatedAt: at}
		if ok, err := s.InsertMessage(ctx, m); err != nil || !ok {
			t.Fatalf("InsertMessage: %v %v", ok, err)
		}
		return m
	}
	before := func(id string, since time.Time) string {
		t.Helper()
		got, err := s.QueuedOutboundBefore(ctx, id, since)
		if err != nil {
			t.Fatalf("QueuedOutboundBefore(%s): %v", id, err)
		}
		return got
	}
	old := base.Add(-time.Hour)

	// Another conversation's queued message, and an inbound one, hold
	// nothing back.
	out(other.ID, base.Add(-time.Second))
	if ok, err := s.InsertMessage(ctx, newInbound(conv.ID, "wamid.order-in", "oi", base.Add(-time.Second))); err != nil || !ok {
		t.Fatalf("inbound: %v %v", ok, err)
	}
	r1 := out(conv.ID, base)
	// The bot stores several replies with one timestamp: their ids order them.
	r2 := out(conv.ID, base.Add(time.Millisecond))
	r3 := out(conv.ID, base.Add(time.Millisecond))
	if r3.ID <= r2.ID {
		t.Fatalf("ids not time-ordered: %s then %s", r2.ID, r3.ID)
	}
	if got := before(r1.ID, old); got != "" {
		t.Errorf("before the first reply: %q, want none", got)
	}
	if got := before(r2.ID, old); got != r1.ID {
		t.Errorf("before r2: %q, want r1 %s", got, r1.ID)
	}
	if got := before(r3.ID, old); got != r1.ID && got != r2.ID {
		t.Errorf("before r3: %q, want r1 or r2", got)
	}
	// A later message never holds an earlier one.
	if ok, err := s.MarkMessageSent(ctx, r1.ID, "wamid.order-r1", helpdesk.Now()); err != nil || !ok {
		t.Fatalf("MarkMessageSent: %v %v", ok, err)
	}
	if got := before(r2.ID, old); got != "" {
		t.Errorf("before r2 once r1 left: %q, want none", got)
	}
	if got := before(r3.ID, old); got != r2.ID {
		t.Errorf("before r3 (same created_at, larger id): %q, want r2 %s", got, r2.ID)
	}
	// A failed message releases the ones after it.
	if ok, err := s.MarkMessageFailed(ctx, r2.ID, "131026", "undeliverable"); err != nil || !ok {
		t.Fatalf("MarkMessageFailed: %v %v", ok, err)
	}
	if got := before(r3.ID, old); got != "" {
		t.Errorf("before r3 once r2 failed: %q, want none", got)
	}
	// since bounds the look-back: a queued message older than it is not seen.
	r4 := out(conv.ID, base.Add(time.Second))
	r5 := out(conv.ID, base.Add(2*time.Second))
	if got := before(r5.ID, base.Add(time.Second)); got != r4.ID {
		t.Errorf("before r5 since r4's time: %q, want r4 %s", got, r4.ID)
	}
	if got := before(r5.ID, base.Add(1500*time.Millisecond)); got != "" {
		t.Errorf("before r5 since after r4: %q, want none", got)
	}
	// Bad input: an unknown or malformed id has nothing before it.
	for _, id := range []string{helpdesk.NewID(), "not-an-id", ""} {
		if got := before(id, old); got != "" {
			t.Errorf("before unknown %q: %q, want none", id, got)
		}
	}
}
