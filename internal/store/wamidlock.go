package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// LockWAMIDs implements helpdesk.IngestStore. On PostgreSQL it takes one
// transaction-scoped advisory lock per wamid, in sorted order and in a
// statement of its own, so that the statements after it see whatever a
// transaction that held one of them committed. Two writers meet on a wamid:
// the ingest of a status (which records it as unknown when the wamid is not
// stored yet) and MarkMessageSent (which stores the wamid and replays the
// unknown statuses). Without the lock each can miss the other's uncommitted
// row and the status is lost. Two ingests of one message meet on it too
// (a redelivery reaching another replica): the second waits, then finds the
// message stored. Outside a transaction, and on SQLite (whose
// single writer serialises them already), it does nothing.
func (d *DB) LockWAMIDs(ctx context.Context, wamids []string) error {
	if d.dialect != DialectPostgres || d.tx == nil || len(wamids) == 0 {
		return nil
	}
	keys := wamidLockKeys(wamids)
	rows, err := d.q.QueryContext(ctx, "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k", keys)
	if err != nil {
		return fmt.Errorf("lock wamids: %w", d.translate(err))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("lock wamids: %w", d.translate(err))
	}
	return nil
}

// wamidLockKeys are the lock keys of wamids, sorted and without repeats:
// two transactions locking overlapping sets take them in the same order
// and cannot deadlock (unnest returns them in array order).
func wamidLockKeys(wamids []string) []int64 {
	keys := make([]int64, 0, len(wamids))
	for _, w := range wamids {
		keys = append(keys, wamidLockKey(w))
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// StartGroupCommit implements helpdesk.IngestStore. On PostgreSQL, inside a
// transaction, it does four things in one statement: a group commit of a
// few messages made a dozen round trips, each a system call or two and a
// wake-up on both sides and an executor start-up on the server.
//
//   - It prices sequential scans out for the transaction
//     (enable_seqscan off, as SET LOCAL). Each pool connection keeps a
//     prepared statement's generic plan until the table's statistics
//     change. On a fresh install PostgreSQL planned the ingest's lookups by
//     key (stored wamids, customers by wa_id, live conversations) while
//     the tables were nearly empty, chose sequential scans, and kept them
//     while the tables grew, until autovacuum first analysed them: the
//     stored-wamid check alone took 4–8 ms per group commit after 30
//     seconds, and the customer and conversation lookups compared every row
//     with every key of the batch. Every lookup of the ingest is by an
//     indexed key, so plans made in its transaction use the indexes at any
//     table size.
//   - It takes LockWAMIDs' locks, and one per customer key (the batch's
//     customers: two replicas' group commits sharing a customer take
//     turns instead of each locking the customers' and conversations' rows
//     in its own messages' order, and deadlocking), all in key order in one
//     sequence, so that two group commits cannot deadlock on them either.
//     The aggregate returns its one row after the last one, and also when
//     there is none; the channels are joined to that row (no join clause
//     refers to it, so it is the outer side and runs once).
//   - It reads the bot switch and the channels.
//
// SQLite plans without such a cache and serialises writers anyway: there it
// reads the switch and the channels alone.
func (d *DB) StartGroupCommit(ctx context.Context, wamids, customers, phoneNumberIDs []string) (helpdesk.GroupCommitStart, error) {
	start := helpdesk.GroupCommitStart{Channels: map[string]helpdesk.Channel{}}
	if d.dialect != DialectPostgres || d.tx == nil {
		var err error
		if start.BotSwitch, err = d.BotConfigValue(ctx, helpdesk.BotConfigEnabled); err != nil {
			return start, err
		}
		for _, n := range phoneNumberIDs {
			ch, err := d.GetChannelByPhoneNumberID(ctx, n)
			if errors.Is(err, helpdesk.ErrNotFound) {
				continue
			}
			if err != nil {
				return start, err
			}
			start.Channels[n] = ch
		}
		return start, nil
	}
	if phoneNumberIDs == nil {
		phoneNumberIDs = []string{}
	}
	rows, err := d.q.QueryContext(ctx, `SELECT s.bot, ch.id IS NOT NULL, ch.id, ch.name, ch.phone_number_id, ch.display_phone_number,
		ch.business_account_id, ch.access_token, ch.app_secret, ch.verify_token, ch.default_department_id, ch.status,
		ch.status_reason, ch.messages_per_second, ch.created_at, ch.updated_at
		FROM (SELECT set_config('enable_seqscan', 'off', true) AS planner, count(pg_advisory_xact_lock(k)) AS locked,
			(SELECT value FROM bot_configurations WHERE key = $2) AS bot
			FROM unnest($1::bigint[]) AS k) AS s
		LEFT JOIN channels ch ON ch.phone_number_id = ANY($3)`,
		groupCommitLockKeys(wamids, customers), helpdesk.BotConfigEnabled, phoneNumberIDs)
	if err != nil {
		return start, fmt.Errorf("start group commit: %w", d.translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		var bot sql.NullString
		var found bool
		var c channelNulls
		if err := rows.Scan(append([]any{&bot, &found}, c.dest()...)...); err != nil {
			return start, fmt.Errorf("start group commit: %w", err)
		}
		start.BotSwitch = bot.String
		if found {
			ch := c.channel()
			start.Channels[ch.PhoneNumberID] = ch
		}
	}
	if err := rows.Err(); err != nil {
		return start, fmt.Errorf("start group commit: %w", d.translate(err))
	}
	return start, nil
}

// groupCommitLockKeys are the lock keys of wamids and of the customer keys
// customers, sorted and without repeats (see wamidLockKeys).
func groupCommitLockKeys(wamids, customers []string) []int64 {
	keys := make([]int64, 0, len(wamids)+len(customers))
	for _, w := range wamids {
		keys = append(keys, wamidLockKey(w))
	}
	for _, c := range customers {
		keys = append(keys, customerLockKey(c))
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// customerLockKey is the advisory lock key of a customer key (the smallest
// form of the number), in a namespace of its own.
func customerLockKey(key string) int64 {
	h := fnv.New64a()
	h.Write([]byte("supportwhatsapp customer "))
	h.Write([]byte(key))
	return int64(h.Sum64())
}

// wamidLockKey is the advisory lock key of a wamid: a 64-bit hash in a
// namespace of its own (a collision only makes two wamids share a lock).
func wamidLockKey(wamid string) int64 {
	h := fnv.New64a()
	h.Write([]byte("supportwhatsapp wamid "))
	h.Write([]byte(wamid))
	return int64(h.Sum64())
}
