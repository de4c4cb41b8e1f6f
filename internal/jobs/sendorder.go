package jobs

import (
	"context"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// Every outbound message is a job of its own and ten run at once, so
// without a rule an agent's r1, r2, r3 reach Meta in any order. The rule
// lives in the database, so it holds across replicas: a message goes only
// when no earlier outbound message of its conversation (created_at, then
// id, the order the inbox shows) is still queued.
const (
	// The first snoozes are short: River makes a job snoozed for less than
	// its scheduler interval (5 s) available at once, and workers poll every
	// 100 ms, so each message of a burst follows the one before within a
	// few hundred milliseconds.
	sendOrderSnoozeMin = 100 * time.Millisecond
	// sendOrderBurst: waits shorter than this are a burst being sent, not an
	// earlier message in trouble, and keep the shortest snooze.
	sendOrderBurst = 5 * time.Second
	// A long wait (the earlier message is in its 5xx backoff) polls less
	// often. Kept under River's scheduler interval, beyond which a snoozed
	// job waits for the scheduler to promote it.
	sendOrderSnoozeMax = 4 * time.Second
	// sendOrderLookBack bounds how old an earlier message may be and still
	// hold later ones. A message whose job runs leaves the queue within
	// sendGiveUpAfter of being written, plus one backoff step or claim wait
	// (minutes). One still queued after that has lost its job (discarded
	// after repeated database errors, or cancelled when Meta accepted it but
	// its wamid could not be stored and no status came); it would otherwise
	// hold its conversation forever, so this bounds the wait it causes.
	sendOrderLookBack = sendGiveUpAfter + time.Hour
	// sendOrderWarnEvery: how often a long wait is logged.
	sendOrderWarnEvery = 10 * time.Minute
)

// awaitEarlierMessages returns how long m must wait for an earlier outbound
// message of its conversation to leave the queue (sent, delivered, read or
// failed); 0 when m may go. An earlier message retrying after 5xx answers
// keeps m waiting: order comes first, and the earlier one gives up within
// sendGiveUpAfter. The snooze is not an attempt (River does not count it),
// but the 24 h budget of m runs from when it was written, waiting included:
// Work fails m once it has waited past it.
func (w *SendWorker) awaitEarlierMessages(ctx context.Context, m helpdesk.Message) (time.Duration, error) {
	now := w.now()
	earlier, err := w.Store.QueuedOutboundBefore(ctx, m.ID, now.Add(-sendOrderLookBack))
	if err != nil || earlier == "" {
		return 0, err
	}
	waited := now.Sub(m.CreatedAt)
	d := sendOrderSnoozeMin
	if waited >= sendOrderBurst {
		d = min(max(waited/8, sendOrderSnoozeMin), sendOrderSnoozeMax)
	}
	if waited >= sendOrderWarnEvery && waited%sendOrderWarnEvery < d {
		w.Log.WarnContext(ctx, "message still waiting for an earlier one of its conversation to be sent",
			"message_id", m.ID, "earlier_id", earlier, "waited", waited.Round(time.Second))
	}
	return d, nil
}
