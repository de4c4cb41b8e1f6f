package fanout

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"
)

// DefaultChannel is the NOTIFY channel of the bus.
const DefaultChannel = "swa_fanout"

// Postgres is the Bus of replicas sharing one PostgreSQL database. A
// payload is a row of fanout_messages plus a NOTIFY carrying its id (and
// the payload itself when it fits NOTIFY's 8000-byte limit). The rows let a
// replica whose listening connection dropped read what it missed when it
// reconnects; they are deleted after ten minutes.
type Postgres struct {
	db      *sql.DB
	channel string
	connect func(ctx context.Context) (*pgx.Conn, error)
	log     *slog.Logger

	own ownIDs[int64] // after SkipOwn
}

// SkipOwn makes Run leave out what this bus published itself: its
// publisher delivers those payloads on its own (the real-time hub, as
// values), which saves reading back and decoding every batch it wrote.
// Call it before Publish and Run.
func (p *Postgres) SkipOwn() { p.own.enable() }

// NewPostgres returns a bus publishing through db and listening on its own
// connection to databaseURL, on NOTIFY channel (DefaultChannel unless
// several installations share one database).
func NewPostgres(db *sql.DB, databaseURL, channel string, log *slog.Logger) *Postgres {
	return &Postgres{db: db, channel: channel, log: log, connect: func(ctx context.Context) (*pgx.Conn, error) {
		return pgx.Connect(ctx, databaseURL)
	}}
}

// retention is how long published rows are kept for catching up.
const retention = 10 * time.Minute

// Publish implements Bus. The row and the notification commit together, so
// a listener that gets the notification finds the row.
//
// The commit does not wait for its WAL to reach the disk (synchronous_commit
// off for this transaction only): the rows serve a replica catching up after
// its listening connection dropped, not durability, and a flush per publish
// competed with the webhooks' own commits for the disk. A database crash can
// lose the last fraction of a second of them; the next synchronous commit
// (every webhook's) flushes them anyway.
func (p *Postgres) Publish(ctx context.Context, payload []byte) error {
	return p.own.publish(func() (int64, error) {
		var id int64
		err := p.db.QueryRowContext(ctx, `WITH async AS (SELECT set_config('synchronous_commit', 'off', true)),
			m AS (INSERT INTO fanout_messages (payload, created_at) VALUES ($1, now()) RETURNING id)
			SELECT m.id, pg_notify($2, CASE WHEN octet_length($1) <= 7000 THEN m.id || ':' || $1 ELSE m.id::text END)::text
			FROM m, async`,
			string(payload), p.channel).Scan(&id, new(string))
		if err != nil {
			return 0, fmt.Errorf("fanout publish: %w", err)
		}
		return id, nil
	})
}

// Run implements Bus.
func (p *Postgres) Run(ctx context.Context, deliver func([]byte)) error {
	var start int64
	if err := p.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM fanout_messages").Scan(&start); err != nil {
		return fmt.Errorf("fanout: %w", err)
	}
	r := &pgReceiver{deliver: deliver, maxID: start, seen: newSeenSet[int64](20000), own: p.own.has}
	l := &pgxlisten.Listener{
		Connect:        p.connect,
		ReconnectDelay: time.Second,
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil {
				p.log.WarnContext(ctx, "fanout: PostgreSQL listener", "err", err)
			}
		},
	}
	l.Handle(p.channel, r)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.cleanup(ctx)
	}()
	err := l.Listen(ctx)
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// cleanup deletes rows older than retention every minute.
func (p *Postgres) cleanup(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := p.db.ExecContext(ctx, "DELETE FROM fanout_messages WHERE created_at < now() - $1::interval",
				fmt.Sprintf("%d seconds", int(retention.Seconds()))); err != nil && ctx.Err() == nil {
				p.log.WarnContext(ctx, "fanout: cleanup", "err", err)
			}
		}
	}
}

// pgReceiver turns notifications and backlog rows into deliveries, each
// id once.
type pgReceiver struct {
	deliver func([]byte)
	own     func(id int64) bool // published by this bus, which delivers none of them (SkipOwn)
	maxID   int64               // highest id delivered
	seen    *seenSet[int64]
	// reconnected: a backlog was read before. The first one starts at the
	// highest id when Run began: what was published before this replica
	// started is no one's here (no socket can have been waiting for it),
	// and decoding the look-back's rows cost a start-up a second of CPU.
	reconnected bool
}

// HandleNotification implements pgxlisten.Handler.
func (r *pgReceiver) HandleNotification(ctx context.Context, n *pgconn.Notification, conn *pgx.Conn) error {
	idText, payload, inline := strings.Cut(n.Payload, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return fmt.Errorf("fanout: bad notification %.40q", n.Payload)
	}
	if r.seen.has(id) {
		return nil
	}
	if r.own(id) {
		r.skip(id)
		return nil
	}
	if !inline {
		if err := conn.QueryRow(ctx, "SELECT payload FROM fanout_messages WHERE id = $1", id).Scan(&payload); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // cleaned up already: too old to matter
			}
			return fmt.Errorf("fanout: read %d: %w", id, err)
		}
	}
	r.take(id, payload)
	return nil
}

// HandleBacklog implements pgxlisten.BacklogHandler: after (re)connecting,
// deliver what was published since the last delivery. Ids come from a
// sequence and may commit out of order, so the look-back starts a little
// before the highest id seen; the seen set drops the repeats.
func (r *pgReceiver) HandleBacklog(ctx context.Context, _ string, conn *pgx.Conn) error {
	from := r.maxID
	if r.reconnected {
		from -= backlogLookBack
	}
	r.reconnected = true
	rows, err := conn.Query(ctx, "SELECT id, payload FROM fanout_messages WHERE id > $1 ORDER BY id", from)
	if err != nil {
		return fmt.Errorf("fanout: backlog: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var payload string
		if err := rows.Scan(&id, &payload); err != nil {
			return fmt.Errorf("fanout: backlog: %w", err)
		}
		switch {
		case r.seen.has(id):
		case r.own(id):
			r.skip(id)
		default:
			r.take(id, payload)
		}
	}
	return rows.Err()
}

// backlogLookBack is how far before the highest id seen a reconnection
// looks for rows that committed after it (ids are taken in one order and
// committed in another).
const backlogLookBack = 1000

func (r *pgReceiver) take(id int64, payload string) {
	r.skip(id)
	r.deliver([]byte(payload))
}

// skip marks id as handled without delivering it.
func (r *pgReceiver) skip(id int64) {
	r.seen.add(id)
	r.maxID = max(r.maxID, id)
}

// seenSet remembers the last n ids.
type seenSet[K comparable] struct {
	ids   map[K]struct{}
	order []K
	next  int
}

func newSeenSet[K comparable](n int) *seenSet[K] {
	return &seenSet[K]{ids: make(map[K]struct{}, n), order: make([]K, 0, n)}
}

func (s *seenSet[K]) has(id K) bool { _, ok := s.ids[id]; return ok }

func (s *seenSet[K]) add(id K) {
	if len(s.order) < cap(s.order) {
		s.order = append(s.order, id)
	} else {
		delete(s.ids, s.order[s.next])
		s.order[s.next] = id
		s.next = (s.next + 1) % len(s.order)
	}
	s.ids[id] = struct{}{}
}
