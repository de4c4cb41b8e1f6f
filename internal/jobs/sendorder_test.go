package jobs

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// orderStore answers QueuedOutboundBefore as scripted and records its since.
type orderStore struct {
	helpdesk.Store
	earlier string
	err     error
	since   time.Time
}

func (s *orderStore) QueuedOutboundBefore(_ context.Context, _ string, since time.Time) (string, error) {
	s.since = since
	return s.earlier, s.err
}

// The wait for an earlier message: none when nothing is queued before, the
// shortest snooze during a burst, longer ones (never past River's 5 s
// scheduler interval, beyond which a snoozed job waits for the scheduler)
// when the earlier message is in trouble, a warning now and then, and a
// look-back that lets a message without a job go after a day.
func TestAwaitEarlierMessages(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var logs bytes.Buffer
	st := &orderStore{}
	w := &SendWorker{Store: st, Log: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return now }}
	msg := func(age time.Duration) helpdesk.Message { return helpdesk.Message{ID: "m", CreatedAt: now.Add(-age)} }

	if d, err := w.awaitEarlierMessages(t.Context(), msg(0)); d != 0 || err != nil {
		t.Errorf("nothing before: wait %v, %v; want 0", d, err)
	}
	if want := now.Add(-sendOrderLookBack); !st.since.Equal(want) || sendOrderLookBack <= sendGiveUpAfter {
		t.Errorf("look-back since %v, want %v (beyond the %v a running job may keep a message queued)", st.since, want, sendGiveUpAfter)
	}
	st.earlier = "e"
	for _, c := range []struct {
		age      time.Duration
		min, max time.Duration
	}{
		{0, sendOrderSnoozeMin, sendOrderSnoozeMin},
		{4 * time.Second, sendOrderSnoozeMin, sendOrderSnoozeMin},
		{10 * time.Second, time.Second, 2 * time.Second},
		{time.Hour, time.Second, 5 * time.Second},
		{-time.Minute, sendOrderSnoozeMin, sendOrderSnoozeMin}, // a clock behind the message's
	} {
		d, err := w.awaitEarlierMessages(t.Context(), msg(c.age))
		if err != nil || d < c.min || d > c.max || d >= 5*time.Second {
			t.Errorf("waited %v: snooze %v, %v; want %v..%v", c.age, d, err, c.min, c.max)
		}
	}
	if !strings.Contains(logs.String(), "earlier_id=e") {
		t.Errorf("an hour's wait was not logged: %q", logs.String())
	}
	logs.Reset()
	if _, err := w.awaitEarlierMessages(t.Context(), msg(time.Hour+5*time.Minute)); err != nil || logs.Len() != 0 {
		t.Errorf("logged again between warnings: %q", logs.String())
	}
	st.err = errors.New("database down")
	if _, err := w.awaitEarlierMessages(t.Context(), msg(0)); !errors.Is(err, st.err) {
		t.Errorf("store error: %v", err)
	}
}
