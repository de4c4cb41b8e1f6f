package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// InboxReplayArgs is the job that replays the webhooks a number received
// while it had no active channel, once it has one.
type InboxReplayArgs struct {
	PhoneNumberID string `json:"phoneNumberId"`
	ActorID       string `json:"actorId,omitempty"` // the admin whose change triggered it
	Trigger       string `json:"trigger"`           // that change's audit action
}

// Kind implements river.JobArgs.
func (InboxReplayArgs) Kind() string { return "webhook_inbox_replay" }

// InsertOpts: a replay is idempotent (messages are unique by wamid), so a
// retry after a failure or a timeout continues where it stopped; those
// customers must not be lost to a passing database error.
func (InboxReplayArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 25} }

// InboxReplayWorker runs automatic replays.
type InboxReplayWorker struct {
	river.WorkerDefaults[InboxReplayArgs]
	// Inbox is set once the API exists; jobs only run after Start.
	Inbox *helpdesk.Inbox
	Log   *slog.Logger
}

// Timeout: a number may have waited with many webhooks; past it River
// retries, and the entries replayed by then are no longer unrouted (those
// without a signer are only noted, once).
func (w *InboxReplayWorker) Timeout(*river.Job[InboxReplayArgs]) time.Duration {
	return 10 * time.Minute
}

// Work replays the number's unrouted entries, oldest first.
func (w *InboxReplayWorker) Work(ctx context.Context, job *river.Job[InboxReplayArgs]) error {
	a := job.Args
	res, err := w.Inbox.ReplayUnrouted(ctx, a.PhoneNumberID, a.ActorID, a.Trigger)
	if res.Entries > 0 && w.Log != nil {
		w.Log.InfoContext(ctx, "replayed the webhooks a number received before it had an active channel",
			"phone_number_id", a.PhoneNumberID, "entries", res.Entries, "messages", res.MessagesStored, "still_unrouted", res.Unrouted)
	}
	if res.Unsigned > 0 && w.Log != nil {
		w.Log.WarnContext(ctx, "left webhooks stored before the inbox recorded their signer; an admin may replay them explicitly",
			"phone_number_id", a.PhoneNumberID, "entries", res.Unsigned)
	}
	return err
}

// inboxReplaySecondPass is how long after the change the second replay of a
// number runs: past the longest ingest transaction, with a margin.
const inboxReplaySecondPass = helpdesk.MaxIngestTransaction + 5*time.Second

// EnqueueInboxReplay schedules a replay in tx (helpdesk.InboxReplayEnqueuer),
// and a second one once every live ingest that could have missed the change
// has ended: a webhook whose transaction read the number's channels before
// tx committed stores its body unrouted, and on PostgreSQL may commit it
// after the first replay listed the number's entries.
func (e Enqueuer) EnqueueInboxReplay(ctx context.Context, tx helpdesk.Store, phoneNumberID, actorID, trigger string) error {
	args := InboxReplayArgs{PhoneNumberID: phoneNumberID, ActorID: actorID, Trigger: trigger}
	if err := e.Queue.InsertTx(ctx, tx, args, nil); err != nil {
		return err
	}
	return e.Queue.InsertTx(ctx, tx, args, &river.InsertOpts{ScheduledAt: time.Now().Add(inboxReplaySecondPass)})
}

// InboxRetentionArgs is the periodic job that deletes old processed inbox
// entries.
type InboxRetentionArgs struct{}

// Kind implements river.JobArgs.
func (InboxRetentionArgs) Kind() string { return "webhook_inbox_retention" }

// InsertOpts: the next period tries again anyway.
func (InboxRetentionArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

// Retention deletion runs in statements of inboxPruneBatch rows, at most
// inboxPruneBatches of them per run: the first run over a year of webhooks
// spreads over a few periods instead of holding the database.
const (
	inboxPruneBatch   = 1000
	inboxPruneBatches = 100
	// InboxRetentionPeriod is how often the retention job runs.
	InboxRetentionPeriod = time.Hour
)

// InboxRetentionWorker deletes processed entries older than Retention.
type InboxRetentionWorker struct {
	river.WorkerDefaults[InboxRetentionArgs]
	Inbox     *helpdesk.Inbox
	Retention time.Duration
	Now       func() time.Time // nil: the wall clock
	Log       *slog.Logger
}

// Work prunes one run's worth.
func (w *InboxRetentionWorker) Work(ctx context.Context, _ *river.Job[InboxRetentionArgs]) error {
	if w.Retention <= 0 {
		return nil // keep forever
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	n, err := w.Inbox.Prune(ctx, now().Add(-w.Retention), inboxPruneBatch, inboxPruneBatches)
	if n > 0 && w.Log != nil {
		w.Log.InfoContext(ctx, "deleted processed webhook inbox entries past retention", "deleted", n)
	}
	return err
}

// InboxRetentionJob is the periodic job of the retention worker, first run
// when the process starts.
func InboxRetentionJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(InboxRetentionPeriod), func() (river.JobArgs, *river.InsertOpts) {
		return InboxRetentionArgs{}, nil
	}, &river.PeriodicJobOpts{RunOnStart: true, ID: "webhook_inbox_retention"})
}

var _ helpdesk.InboxReplayEnqueuer = Enqueuer{}
