// Package jobs runs SupportWhatsApp's durable background work — sending
// WhatsApp messages, downloading media, bot steps — on River, over the same
// database as everything else: a job is inserted in the transaction of the
// change that needs it, so it exists exactly when that change committed.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
)

const (
	// jobTimeout bounds one run of a job without a Timeout of its own.
	jobTimeout = 2 * time.Minute
	// rescueStuckJobsAfter is how long a job may stay running before River
	// takes it for abandoned and retries it; the rescuer looks every 30 s.
	rescueStuckJobsAfter = jobTimeout + 30*time.Second
)

// Queue is the River client of the process.
type Queue struct {
	client *river.Client[*sql.Tx]
	driver riverdriver.Driver[*sql.Tx]
	pool   *sql.DB
	owned  bool // pool was opened for the queue and is closed by Close
}

// Config configures a Queue.
type Config struct {
	Workers    *river.Workers // nil: an insert-only queue that works nothing
	MaxWorkers int            // concurrent jobs (default 10)
	// PollInterval is how often idle workers look for new jobs. The
	// database/sql drivers have no LISTEN/NOTIFY, so this bounds the delay
	// between a commit and the start of its job (default 100 ms).
	PollInterval time.Duration
	// PeriodicJobs are inserted on schedule by the elected leader, so once
	// across replicas.
	PeriodicJobs []*river.PeriodicJob
	Log          *slog.Logger
}

// Open prepares a queue over db and migrates River's tables.
func Open(ctx context.Context, db *store.DB, cfg Config) (*Queue, error) {
	pool, owned, err := db.JobPool()
	if err != nil {
		return nil, err
	}
	q := &Queue{pool: pool, owned: owned}
	switch db.Dialect() {
	case store.DialectSQLite:
		q.driver = riversqlite.New(pool)
	default:
		q.driver = riverdatabasesql.New(pool)
	}
	migrator, err := rivermigrate.New(q.driver, &rivermigrate.Config{Logger: cfg.Log})
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("job queue migrations: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		q.Close()
		return nil, fmt.Errorf("job queue migrations: %w", err)
	}
	poll := cfg.PollInterval
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	rc := &river.Config{
		Logger:            cfg.Log,
		PollOnly:          true,
		FetchPollInterval: poll,
		FetchCooldown:     min(poll, river.FetchCooldownDefault),
		JobTimeout:        jobTimeout,
		// River's default, JobTimeout + 1 h, leaves a job whose process died
		// running, its message queued, for an hour. Past JobTimeout a live
		// worker has been cancelled; the margin lets it record its outcome.
		// The send path is safe to run again (send_attempted_at, status claim).
		// A worker with a longer Timeout of its own is rescued when that has
		// passed, without the margin (InboxReplayWorker: a replay is
		// idempotent, so a second run beside a cancelled one stores nothing
		// twice).
		RescueStuckJobsAfter: rescueStuckJobsAfter,
		Workers:              cfg.Workers,
		PeriodicJobs:         cfg.PeriodicJobs,
	}
	if cfg.Workers != nil {
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: max(cfg.MaxWorkers, 10)}}
	}
	q.client, err = river.NewClient(q.driver, rc)
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return q, nil
}

// Start begins working jobs; it returns at once.
func (q *Queue) Start(ctx context.Context) error { return q.client.Start(ctx) }

// Stop stops fetching and waits for running jobs (bounded by ctx).
func (q *Queue) Stop(ctx context.Context) error {
	err := q.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// Jobs still running are cancelled; River retries them later.
		return q.client.StopAndCancel(context.Background())
	}
	return err
}

// Close releases the queue's own pool (SQLite); call it after Stop.
func (q *Queue) Close() {
	if q.owned {
		_ = q.pool.Close()
	}
}

// Client exposes the River client (tests subscribe to its events).
func (q *Queue) Client() *river.Client[*sql.Tx] { return q.client }

// InsertTx enqueues a job in tx, a Store bound by InTx: the job exists if
// and only if the transaction commits.
func (q *Queue) InsertTx(ctx context.Context, tx helpdesk.Store, args river.JobArgs, opts *river.InsertOpts) error {
	bound, ok := tx.(interface{ Tx() *sql.Tx })
	if !ok || bound.Tx() == nil {
		return errors.New("enqueue: not inside a transaction")
	}
	if _, err := q.client.InsertTx(ctx, bound.Tx(), args, opts); err != nil {
		return fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return nil
}
